"""Gradient clipping by norm and by value, for tensors, arrays or lists of them (notebook 09).

Clipping by norm rescales the whole gradient g by min(1, max_norm / ‖g‖): its direction is kept
and only its length is capped (Pascanu, Mikolov & Bengio 2013, algorithm 1). Clipping by value
clamps every component to [−max_value, max_value], which bends the direction whenever some
components are clipped and others are not. :mod:`helpers.recurrent` re-exports the public names.
"""

import math

import numpy as np
import torch

from helpers import _validate


def _as_list(tensors):
    single = isinstance(tensors, torch.Tensor | np.ndarray)
    return ([tensors] if single else list(tensors)), single


def global_norm(tensors) -> float:
    """‖g‖ = √(Σ_i ‖g_i‖²): the L2 norm of all tensors (or arrays) taken as one long vector."""
    items, _ = _as_list(tensors)
    if items and all(isinstance(g, torch.Tensor) for g in items):
        # One fused call, accumulated in float64 (the training loop calls this every step).
        norms = torch._foreach_norm([g.detach() for g in items], 2, dtype=torch.float64)
        return float(torch.linalg.vector_norm(torch.stack(norms)))
    return math.sqrt(sum(float(np.sum(np.square(g))) for g in _numpy(items)))


def clip_factor(norm: float, max_norm: float) -> float:
    """The scale clipping by norm applies: 1 if ‖g‖ ≤ max_norm, else max_norm / ‖g‖ (< 1)."""
    if not math.isfinite(norm):
        raise ValueError(
            f"the gradient norm is {norm}; clipping cannot rescue a non-finite gradient"
        )
    return 1.0 if norm <= max_norm else max_norm / norm


def clip_by_norm(tensors, max_norm: float):
    """Return (g · min(1, max_norm / ‖g‖), ‖g‖) for a tensor/array or a list of them.

    Clipping by norm (Pascanu, Mikolov & Bengio 2013, algorithm 1) rescales the whole gradient
    by one factor ≤ 1: the update keeps its direction (cosine 1 with the original) and only its
    length is capped at ``max_norm``. Below the threshold it is the identity. It never makes a
    small gradient larger, so it does nothing for vanishing gradients. Inputs are not modified.
    """
    max_norm = _validate.positive(max_norm, "max_norm")
    items, single = _as_list(tensors)
    norm = global_norm(items)
    scale = clip_factor(norm, max_norm)
    clipped = [g * scale for g in items]  # a new tensor/array even when scale is 1
    return (clipped[0] if single else clipped), norm


def clip_grad_norm(parameters, max_norm: float) -> float:
    """In-place clipping of the parameters' ``.grad`` by their global norm; returns the norm
    before clipping. Same contract as ``torch.nn.utils.clip_grad_norm_`` (which adds 1e-6 to
    the norm in its factor, so the two agree to about 1e-6 relative)."""
    max_norm = _validate.positive(max_norm, "max_norm")
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = global_norm(grads)
    scale = clip_factor(norm, max_norm)
    if scale != 1.0:
        for g in grads:
            g.mul_(scale)
    return norm


def clip_by_value(tensors, max_value: float):
    """Clip every component to [−max_value, max_value] (element-wise clipping, for contrast).

    Unlike clipping by norm this changes the direction of the update whenever some components
    are clipped and others are not: large components shrink, small ones stay.
    """
    max_value = _validate.positive(max_value, "max_value")
    items, single = _as_list(tensors)
    clipped = [
        np.clip(g, -max_value, max_value)
        if isinstance(g, np.ndarray)
        else g.clamp(-max_value, max_value)
        for g in items
    ]
    return clipped[0] if single else clipped


def cosine(a, b) -> float:
    """cos ∠(a, b) = ⟨a, b⟩ / (‖a‖ ‖b‖) for two tensors/arrays (or lists of them) of equal shape."""
    a_items, _ = _as_list(a)
    b_items, _ = _as_list(b)
    dot = sum(float(np.sum(u * v)) for u, v in zip(_numpy(a_items), _numpy(b_items), strict=True))
    denom = global_norm(a_items) * global_norm(b_items)
    if denom == 0:
        raise ValueError("cosine is undefined for a zero vector")
    return dot / denom


def _numpy(items) -> list[np.ndarray]:
    """Each tensor or array as a float64 ndarray (for exact norms and dot products)."""
    return [
        g.detach().double().numpy() if isinstance(g, torch.Tensor) else np.asarray(g, np.float64)
        for g in items
    ]
