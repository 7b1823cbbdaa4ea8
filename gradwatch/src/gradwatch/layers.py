"""Which parts of a model the toolkit watches, and in which order.

Every parameter belongs to the module that registers it. A module that owns a *weight matrix*
(a parameter with two or more dimensions whose name does not contain "bias") is a **layer**:
``nn.Linear``, ``nn.Conv*``, ``nn.ConvTranspose*``, the RNN family, ``nn.Embedding``,
``nn.MultiheadAttention`` (its input projection; ``out_proj`` is a Linear of its own) and any
custom module with such a parameter. A layer's other parameters are its *biases*. A module with
parameters but no weight matrix (LayerNorm, BatchNorm, GroupNorm, RMSNorm, PReLU, a bias-only
module) is a **norm** group. A parameter shared by two modules (tied embeddings) belongs to the
first that registers it.

Layers are ordered by data flow: the order in which a forward pass first reaches the module
(:class:`ForwardOrder`), with registration order (``model.named_modules()``) as the fallback.
"""

import warnings
from dataclasses import dataclass

import torch
from torch import nn

# The modules the course's notebooks call "tracked layers"; any module with a weight matrix is
# tracked, these are the common ones.
TRACKED_TYPES = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.RNNBase,
    nn.RNNCellBase,
    nn.Embedding,
    nn.MultiheadAttention,
)

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


def _is_weight(name: str, parameter: torch.Tensor) -> bool:
    return parameter.dim() >= 2 and "bias" not in name


@dataclass
class Group:
    """The parameters of one module: ``weights`` (its weight matrices) and ``others`` (biases, or
    a norm's scale and shift), each as (name within the module, parameter)."""

    name: str
    module: nn.Module
    weights: list
    others: list

    @property
    def is_layer(self) -> bool:
        return bool(self.weights)


def _check_model(model, argument: str = "model") -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{argument} must be a torch.nn.Module, got {type(model).__name__}")


def parameter_groups(model: nn.Module, *, trainable_only: bool = False) -> list[Group]:
    """One :class:`Group` per module that owns parameters, in registration order. Every
    parameter appears exactly once; with ``trainable_only`` those with ``requires_grad=False``
    are left out (and a module left with none is dropped)."""
    _check_model(model)
    seen: set[int] = set()
    groups = []
    for name, module in model.named_modules():
        weights, others = [], []
        for pname, p in module.named_parameters(recurse=False, remove_duplicate=False):
            if id(p) in seen or (trainable_only and not p.requires_grad):
                continue
            seen.add(id(p))
            (weights if _is_weight(pname, p) else others).append((pname, p))
        if weights or others:
            groups.append(Group(name, module, weights, others))
    return groups


class ForwardOrder:
    """Observes the order in which a forward pass first reaches each module.

    Forward pre-hooks on every module are removed when the model's own forward returns (a hook
    on ``model``), or by :meth:`close`. ``order`` maps a module to its rank (modules not
    reached have none); ``seen`` is True once a forward pass of ``model`` completed.
    """

    def __init__(self, model: nn.Module):
        self.order: dict[int, int] = {}
        self.seen = False
        self._name_of = {id(m): name for name, m in model.named_modules()}
        self._handles = [
            module.register_forward_pre_hook(self._reached) for module in model.modules()
        ]
        self._handles.append(model.register_forward_hook(self._finished))

    def _reached(self, module, inputs):
        self.order.setdefault(id(module), len(self.order))

    def _finished(self, module, inputs, output):
        self.seen = True
        self.close()

    def rank(self, module: nn.Module) -> int | None:
        return self.order.get(id(module))

    @property
    def names(self) -> dict[str, int]:
        """Rank of each reached module by qualified name ("" is the model itself)."""
        return {self._name_of[i]: r for i, r in self.order.items() if i in self._name_of}

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def in_data_flow_order(groups: list[Group], order: ForwardOrder | None) -> list[Group]:
    """``groups`` sorted by when the forward pass reached their module. A module the pass did not
    call itself (e.g. ``MultiheadAttention.out_proj``, whose weights its parent uses directly)
    goes right after its nearest reached ancestor below the model; one with no such ancestor (an
    unused module) goes last. The registration order breaks ties."""
    if order is None or not order.order:
        return list(groups)
    rank_of = {g.name: order.rank(g.module) for g in groups}

    def key(item):
        index, group = item
        if rank_of[group.name] is not None:
            return (rank_of[group.name], 0, index)
        parts = group.name.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # not the model itself: that says nothing
            rank = order.names.get(".".join(parts[:cut]))
            if rank is not None:
                return (rank, 1, index)
        return (len(order.order), 1, index)

    return [g for _, g in sorted(enumerate(groups), key=key)]


def tracked_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of every layer (a module owning a weight matrix), registration
    order. A module registered twice (weight sharing) appears once."""
    return [(g.name, g.module) for g in parameter_groups(model) if g.is_layer]


def layer_weights(layer: nn.Module) -> list[torch.Tensor]:
    """The weight matrices a layer owns itself: ``weight`` for Linear/Conv/Embedding;
    ``weight_ih_l0``, ``weight_hh_l0``, ... for the RNN family; ``in_proj_weight`` (or the
    separate q/k/v projections) for MultiheadAttention. Biases are not weights."""
    _check_model(layer, "layer")
    return [p for n, p in layer.named_parameters(recurse=False) if _is_weight(n, p)]


def _tracked_or_raise(model) -> list[tuple[str, nn.Module]]:
    layers = tracked_layers(model)
    if not layers:
        raise ValueError(
            f"model has no layer to track: gradient_profile and GradientMonitor look for modules "
            f"that own a weight matrix (Linear, Conv, RNN, Embedding, attention, ...); "
            f"{type(model).__name__} has none"
        )
    return layers


def activation_modules(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """(qualified name, module, course activation name) of every activation module in ``model``
    that the forward statistics hook: nn.Sigmoid/Tanh/ReLU/LeakyReLU/ELU/GELU/SELU."""
    _check_model(model)
    found = []
    for name, module in model.named_modules():
        kind = ACTIVATION_MODULES.get(type(module))
        if kind is not None:
            found.append((name, module, kind))
    return found


class Hooks:
    """Hook handles attached for the measured steps and removed between them: subclasses say
    what to register in ``_register`` (an iterable of handles)."""

    handles: list

    @property
    def attached(self) -> bool:
        return bool(self.handles)

    def attach(self) -> None:
        """Register the hooks (again, after :meth:`close`); a no-op while attached."""
        if not self.handles:
            self.handles = list(self._register())

    def _register(self):
        raise NotImplementedError

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def warn(message: str) -> None:
    """A gradwatch warning, pointing at the caller's line rather than at gradwatch."""
    warnings.warn(message, GradwatchWarning, stacklevel=3)


class GradwatchWarning(UserWarning):
    """What the monitor saw that makes its record less trustworthy (see the README)."""
