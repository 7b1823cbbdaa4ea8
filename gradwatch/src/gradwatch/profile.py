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
    """A batch tensor from ``value``; floating values take the model's dtype (integers stay, e.g.
    class labels for CrossEntropyLoss). Refuses non-numbers, an empty batch and NaN/inf."""
    if isinstance(value, str | bytes | bool):
        raise TypeError(f"{argument} must be a tensor or an array of numbers, got {value!r}")
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{argument} must be a tensor or an array of numbers, got {type(value).__name__}"
        ) from None
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{argument} must hold real numbers, got a tensor of dtype {tensor.dtype}")
    if tensor.dim() == 0 or tensor.shape[0] == 0:
        raise ValueError(
            f"{argument} is empty (shape {tuple(tensor.shape)}): a gradient needs at least one "
            "example; an empty batch would report every gradient as 0"
        )
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise ValueError(
            f"{argument} contains NaN or inf (shape {tuple(tensor.shape)}): every input must be "
            "a finite number"
        )
    return tensor.to(dtype) if tensor.is_floating_point() else tensor


def _forward(model: nn.Module, x: torch.Tensor):
    """``model(x)``; a RuntimeError of the forward pass (a shape or dtype the model cannot take)
    becomes a ValueError naming x and its shape."""
    try:
        return model(x)
    except RuntimeError as err:
        raise ValueError(
            f"x of shape {tuple(x.shape)} and dtype {x.dtype} does not fit the model: {err}"
        ) from err


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
    output = _first_output(_forward(model, x))
    if not torch.is_tensor(output):
        raise TypeError(f"model(x) must return a tensor, got {type(output).__name__}")
    if loss_fn is None:
        if output.shape != y.shape:
            raise ValueError(
                f"y has shape {tuple(y.shape)} but the model's output for x of shape "
                f"{tuple(x.shape)} has shape {tuple(output.shape)}; MSELoss needs them equal"
            )
        loss_fn = nn.MSELoss()
    try:
        loss = loss_fn(output, y)
    except RuntimeError as err:
        raise ValueError(
            f"loss_fn(model(x), y) failed for an output of shape {tuple(output.shape)} and y of "
            f"shape {tuple(y.shape)}: {err}"
        ) from err
    if not torch.is_tensor(loss) or loss.numel() != 1 or not loss.is_floating_point():
        what = f"shape {tuple(loss.shape)}" if torch.is_tensor(loss) else type(loss).__name__
        raise TypeError(
            f"loss_fn must return the loss as a real scalar tensor, got {what} from {loss_fn!r}"
        )
    return loss.reshape(())


def _gradient_pass(model: nn.Module, x, y, loss_fn) -> np.ndarray:
    """Validate, run one forward/backward pass with autograd.grad, return per-layer norms in the
    order the forward pass reached the layers (registration order for layers it did not reach)."""
    _tracked_or_raise(model)
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (e.g. nn.MSELoss()), got {loss_fn!r}")
    dtype = _model_dtype(model)
    x = _as_input(x, "x", dtype)
    y = _as_input(y, "y", dtype)
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
