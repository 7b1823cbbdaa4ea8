"""Watching gradients and activations inside any ``nn.Module``, layer by layer.

The monitor, the gradient profile and the forward statistics live in the course's toolkit,
``gradwatch`` (its own package in this repository, torch and numpy only); they are importable
from here under the course's names. Notebook 03 adds :func:`layer_profile` (gradients and forward
statistics from one pass) and :func:`layer_factor` (the average per-layer factor of a profile).
"""

import math

import numpy as np
from torch import nn

from gradwatch.forward import ForwardProfile, _ActivationHooks, forward_profile
from gradwatch.layers import (
    ACTIVATION_MODULES,
    DEAD_UNIT_ACTIVATIONS,
    TRACKED_TYPES,
    activation_modules,
    layer_weights,
    tracked_layers,
)
from gradwatch.monitor import GradientMonitor, relative_change, snapshot_weights
from gradwatch.profile import _gradient_pass, gradient_profile
from helpers import _validate

__all__ = [
    "ACTIVATION_MODULES",
    "DEAD_UNIT_ACTIVATIONS",
    "TRACKED_TYPES",
    "ForwardProfile",
    "GradientMonitor",
    "activation_modules",
    "forward_profile",
    "gradient_profile",
    "layer_factor",
    "layer_profile",
    "layer_weights",
    "relative_change",
    "snapshot_weights",
    "tracked_layers",
]


def layer_factor(grads) -> float:
    """The average factor by which the gradient norm changes per layer, going down from the
    output layer to layer 2: (‖∂L/∂W_2‖ / ‖∂L/∂W_out‖)^(1/(n − 2)) for n layers, the geometric
    mean of the ratios of neighbouring layers. Layer 1 is left out: its input is the data, not a
    layer of activations, so its gradient sits off the line (see notebook 03).

    For a sigmoid net with small weights N(0, s²) and width n it is ≈ 0.25·s·√n.
    """
    grads = _validate.real_array(grads, "grads", "a 1-D array of gradient norms")
    if grads.ndim != 1 or grads.size < 3:
        raise ValueError(
            f"grads must be a 1-D profile of at least 3 layers, got shape {grads.shape}"
        )
    if not (np.isfinite(grads).all() and (grads >= 0).all()):
        raise ValueError(f"grads must be finite norms >= 0, got {grads}")
    if not (grads[1:] > 0).all():
        return 0.0 if grads[1] == 0 else math.nan
    return float((grads[1] / grads[-1]) ** (1.0 / (grads.size - 2)))


def layer_profile(
    model: nn.Module, x, y, loss_fn=None, *, slopes: bool = True
) -> tuple[np.ndarray, ForwardProfile]:
    """:func:`gradient_profile` and :func:`forward_profile` from one forward/backward pass.
    ``slopes=False`` skips the derivative RMS (``slope_rms`` is then NaN), which saves an
    autograd pass."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    hooks = _ActivationHooks(model, always=True, slopes=slopes)
    try:
        grads = _gradient_pass(model, x, y, loss_fn)
        return grads, hooks.profile()
    finally:
        hooks.close()
