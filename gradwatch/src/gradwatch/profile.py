"""One forward/backward pass that leaves the model as it was: the gradient profile.

:func:`gradient_profile` gives ‖∂L/∂W‖₂ of every tracked layer, first layer first. Weights,
``.grad`` fields, buffers and train/eval mode are as they were afterwards.
"""

import numpy as np
import torch
from torch import nn

from gradwatch.layers import (
    ForwardOrder,
    _tracked_or_raise,
    in_data_flow_order,
    parameter_groups,
)


def _norms(tensors: list[torch.Tensor]) -> list[float]:
    """‖t‖₂ of each tensor, accumulated in float64 (float32 squares of gradients below 1e-19
    underflow to 0, and deep sigmoid nets have gradients far smaller than that)."""
    if not tensors:
        return []
    return torch.stack(torch._foreach_norm(tensors, 2, dtype=torch.float64)).tolist()


def _as_input(value, argument: str, dtype: torch.dtype) -> torch.Tensor:
    """A tensor from ``value``; floating values take the model's dtype (integers stay, e.g. class
    labels for CrossEntropyLoss)."""
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{argument} must be a tensor or an array of numbers, got {type(value).__name__}"
        ) from None
    return tensor.to(dtype) if tensor.is_floating_point() else tensor


def _first_output(output):
    """The prediction of ``model(x)``: the first element when a module returns a tuple, as
    ``nn.RNN/LSTM/GRU`` do (output, hidden)."""
    while isinstance(output, tuple | list):
        output = output[0]
    return output


def _model_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


class _Preserved:
    """Context manager: restore ``requires_grad``, buffers (e.g. BatchNorm's running statistics)
    and train/eval mode of ``model`` on exit."""

    def __init__(self, model: nn.Module, weights: list[torch.Tensor] = ()):
        self.model = model
        self.weights = weights

    def __enter__(self):
        self.requires = [w.requires_grad for w in self.weights]
        self.buffers = [(b, b.detach().clone()) for b in self.model.buffers()]
        self.modes = [(m, m.training) for m in self.model.modules()]
        for w in self.weights:
            w.requires_grad_(True)
        return self

    def __exit__(self, *exc):
        for w, flag in zip(self.weights, self.requires, strict=True):
            w.requires_grad_(flag)
        with torch.no_grad():
            for buffer, saved in self.buffers:
                buffer.copy_(saved)
        for module, training in self.modes:
            module.training = training
        return False


def _loss(model: nn.Module, x, y, loss_fn) -> torch.Tensor:
    """Forward pass and loss (inside the caller's grad mode)."""
    output = _first_output(model(x))
    if loss_fn is None:
        if output.shape != y.shape:
            raise ValueError(
                f"y has shape {tuple(y.shape)} but the model's output has shape "
                f"{tuple(output.shape)}; MSELoss needs them equal"
            )
        loss_fn = nn.MSELoss()
    return loss_fn(output, y)


def _gradient_pass(model: nn.Module, x, y, loss_fn) -> np.ndarray:
    """Validate, run one forward/backward pass with autograd.grad, return per-layer norms in the
    order the forward pass reached the layers (registration order for layers it did not reach)."""
    _tracked_or_raise(model)
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (e.g. nn.MSELoss()), got {loss_fn!r}")
    dtype = _model_dtype(model)
    x = _as_input(x, "x", dtype)
    y = _as_input(y, "y", dtype)
    for name, value in (("x", x), ("y", y)):
        if value.dim() == 0 or value.shape[0] == 0:
            raise ValueError(
                f"{name} is empty (shape {tuple(value.shape)}): a gradient needs at least one "
                "example; an empty batch would report every gradient as 0"
            )
    groups = [g for g in parameter_groups(model) if g.is_layer]
    weights = [w for g in groups for _, w in g.weights]
    order = ForwardOrder(model)
    try:
        with _Preserved(model, weights), torch.enable_grad():
            loss = _loss(model, x, y, loss_fn)
            grads = torch.autograd.grad(loss, weights, allow_unused=True)
    finally:
        order.close()
    present = [g for g in grads if g is not None]
    norms = iter(_norms(present))
    squares = [next(norms) ** 2 if g is not None else 0.0 for g in grads]
    owner = np.repeat(np.arange(len(groups)), [len(g.weights) for g in groups])
    per_layer = np.sqrt(np.bincount(owner, weights=squares, minlength=len(groups)))
    rank = {id(g.module): k for k, g in enumerate(groups)}
    return per_layer[[rank[id(g.module)] for g in in_data_flow_order(groups, order)]]


def gradient_profile(model: nn.Module, x, y, loss_fn=None) -> np.ndarray:
    """‖∂L/∂W‖₂ of every tracked layer for one forward/backward pass, first layer first: in the
    order the forward pass reaches the layers (registration order for any it does not reach).

    L = ``loss_fn(model(x), y)``; ``loss_fn`` defaults to ``nn.MSELoss()`` (mean over all
    elements). For an RNN-family layer the norm covers all its ``weight*`` matrices together.
    A module returning a tuple (``nn.LSTM``) is scored on its first element.

    The gradients come from ``torch.autograd.grad``, so nothing is accumulated into ``.grad``:
    the model's weights, ``.grad`` fields, buffers and train/eval mode are untouched (a
    BatchNorm in train mode normalises with batch statistics, as in training, and its running
    statistics are restored). Frozen weights (``requires_grad=False``) are differentiated too.
    A weight the loss does not depend on has gradient 0.
    """
    return _gradient_pass(model, x, y, loss_fn)
