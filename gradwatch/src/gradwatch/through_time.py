"""Gradient through time: how much the loss depends on a recurrent layer's early inputs.

A recurrent net's weight gradients sum over every time step, so they can look healthy while the
gradient reaching the first steps has vanished (Bengio, Simard & Frasconi, 1994; Pascanu,
Mikolov & Bengio, 2013). The hooks here read ‖∂L/∂x_t‖ for the input sequence of each
``nn.RNN/LSTM/GRU`` in the measured steps' forward passes and keep one number per layer and
step: the **time ratio**, the median of ‖∂L/∂x_t‖ over the earliest tenth of the sequence
divided by the median over the latest tenth. Below 1e-3, the early inputs no longer reach the
loss.
"""

import math

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from gradwatch.layers import Hooks


def recurrent_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.RNNBase)]


def time_ratio(grad: torch.Tensor, time_dim: int) -> float:
    """median ‖g_t‖ over the first ⌈T/10⌉ steps / median over the last ⌈T/10⌉ (NaN if T < 2)."""
    steps = grad.shape[time_dim]
    if steps < 2:
        return math.nan
    dims = [d for d in range(grad.dim()) if d != time_dim]
    per_step = torch.linalg.vector_norm(grad.double(), dim=dims)
    k = max(1, math.ceil(steps / 10))
    late = float(per_step[-k:].median())
    early = float(per_step[:k].median())
    return early / late if late > 0 else math.nan


class TimeHooks(Hooks):
    """Pre-hooks on every recurrent module; ``take()`` returns the latest time ratio of each
    (NaN where no graph-building forward pass was seen). A data input that does not require a
    gradient is replaced by an equal leaf that does, so its gradient can be read."""

    def __init__(self, model: nn.Module):
        found = recurrent_modules(model)
        self.names = [name for name, _ in found]
        self.modules = [module for _, module in found]
        self._grads: list = [None] * len(found)
        self.handles = []
        self.attach()

    def _register(self):
        for i, module in enumerate(self.modules):
            yield module.register_forward_pre_hook(self._pre_hook(i))

    def _pre_hook(self, index: int):
        def hook(module, inputs):
            if not inputs or not torch.is_grad_enabled():
                return None
            x = inputs[0]
            if isinstance(x, PackedSequence) or not torch.is_tensor(x) or x.dim() < 2:
                return None
            time_dim = 1 if (module.batch_first and x.dim() == 3) else 0
            replaced = None
            if not x.requires_grad:
                x = x.detach().requires_grad_(True)
                replaced = (x, *inputs[1:])

            def keep(grad):
                self._grads[index] = (grad.detach(), time_dim)

            x.register_hook(keep)
            return replaced

        return hook

    def take(self) -> list[float]:
        out = [math.nan if g is None else time_ratio(*g) for g in self._grads]
        self._grads = [None] * len(self._grads)
        return out
