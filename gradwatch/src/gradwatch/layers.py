"""Which modules of a model the toolkit watches: layers with weight matrices and activations.

A *tracked layer* owns a weight matrix the gradient flows through: ``nn.Linear``,
``nn.Conv1d/2d/3d``, ``nn.RNN/LSTM/GRU`` and their ``*Cell`` versions, found in registration
order (``model.named_modules()``), first layer first. Activation modules are hooked for forward
statistics (saturated and dead units).
"""

import torch
from torch import nn

TRACKED_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase, nn.RNNCellBase)

# Activation modules the forward statistics hook, and the name of each.
ACTIVATION_MODULES = {
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.ELU: "elu",
    nn.GELU: "gelu",
    nn.SELU: "selu",
}
# |z| beyond which a unit counts as saturated: there f'(z) is under 2.7% of its peak
# (sigmoid: σ'(5) = 0.0066 of a peak 0.25; tanh: tanh'(2.5) = 0.027 of a peak 1).
SATURATION_THRESHOLDS = {"sigmoid": 5.0, "tanh": 2.5}
# Activations whose units can die: output exactly 0 for every input of the batch.
DEAD_UNIT_ACTIVATIONS = ("relu", "leaky_relu", "elu")


def tracked_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of every tracked layer in registration order, first layer first.

    Tracked: ``nn.Linear``, ``nn.Conv1d/2d/3d``, ``nn.RNN/LSTM/GRU`` and ``nn.RNNCell/LSTMCell/
    GRUCell``. A module registered twice (weight sharing) appears once.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [(name, m) for name, m in model.named_modules() if isinstance(m, TRACKED_TYPES)]


def layer_weights(layer: nn.Module) -> list[torch.Tensor]:
    """The weight tensors of one tracked layer: ``weight`` for Linear/Conv; every parameter whose
    name starts with "weight" (``weight_ih_l0``, ``weight_hh_l0``, ...) for the RNN family."""
    if isinstance(layer, nn.RNNBase | nn.RNNCellBase):
        return [p for name, p in layer.named_parameters(recurse=False) if name.startswith("weight")]
    return [layer.weight]


def _tracked_or_raise(model) -> list[tuple[str, nn.Module]]:
    layers = tracked_layers(model)
    if not layers:
        raise ValueError(
            f"model has no layer to track: gradient_profile and GradientMonitor look for "
            f"nn.Linear, nn.Conv1d/2d/3d and nn.RNN/LSTM/GRU (or their cells); "
            f"{type(model).__name__} has none"
        )
    return layers


def activation_modules(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """(qualified name, module, course activation name) of every activation module in ``model``
    that the forward statistics hook: nn.Sigmoid/Tanh/ReLU/LeakyReLU/ELU/GELU/SELU."""
    found = []
    for name, module in model.named_modules():
        kind = ACTIVATION_MODULES.get(type(module))
        if kind is not None:
            found.append((name, module, kind))
    return found
