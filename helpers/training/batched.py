"""Many copies of one small network, across seeds and learning rates, trained as one computation.

The course's comparisons train hundreds of networks of a few thousand parameters each; one at a
time, the per-step overhead of PyTorch dominates. Here the copies' weights are stacked along a
new leading axis (as ``torch.func.stack_module_state`` does) and every layer runs as one batched
matrix product over the copies: Linear layers, elementwise activations, batch norm (its running
statistics updated explicitly, which ``torch.vmap`` cannot do), layer norm and the course's
residual blocks. SGD (with optional momentum) and Adam are written out element by element with a
learning rate per copy, following torch's own update formulas, so each copy follows the path it
would follow alone, up to float rounding (the tests compare it with :func:`helpers.training.train`).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers import _validate
from helpers.course import course_threads, progress
from helpers.models import ResidualBlock
from helpers.training.backprop import Chain

ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.SELU, nn.Identity)
SUPPORTED = (nn.Sequential, nn.Linear, nn.BatchNorm1d, nn.LayerNorm, ResidualBlock, *ELEMENTWISE)
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8


def check_supported(model: nn.Module) -> None:
    """Raise TypeError naming the first module the stacked forward pass cannot run."""
    for name, module in model.named_modules():
        if not isinstance(module, SUPPORTED):
            kinds = ", ".join(t.__name__ for t in SUPPORTED)
            raise TypeError(
                f"train_many cannot batch module {name or 'model'!r} ({type(module).__name__}); "
                f"it supports {kinds}. Train such models one at a time with training.train."
            )


class Stack:
    """The parameters and buffers of ``models`` (one architecture) stacked along axis 0."""

    def __init__(self, models: Sequence[nn.Module]):
        self.models, self.template = list(models), models[0]
        check_supported(self.template)
        self.params = {
            name: torch.stack([m.get_parameter(name).detach() for m in self.models])
            for name, _ in self.template.named_parameters()
        }
        for stacked in self.params.values():
            stacked.requires_grad_()
        self.buffers = {
            name: torch.stack([m.get_buffer(name).detach() for m in self.models]).clone()
            for name, _ in self.template.named_buffers()
        }

    def __len__(self) -> int:
        return len(self.models)

    def forward(self, x: torch.Tensor, *, training: bool = True) -> torch.Tensor:
        """Outputs of every copy, shape (copies, batch, out). ``x``: (batch, in) shared by all
        copies, or (copies, batch, in), one batch per copy."""
        h = x.expand(len(self), *x.shape) if x.dim() == 2 else x
        return self._run(self.template, "", h, training)

    def _run(self, module: nn.Module, prefix: str, h: torch.Tensor, training: bool):
        p = self.params
        if isinstance(module, nn.Sequential):
            for name, child in module.named_children():
                h = self._run(child, f"{prefix}{name}.", h, training)
            return h
        if isinstance(module, nn.Linear):
            weight = p[f"{prefix}weight"].transpose(1, 2)
            bias = p.get(f"{prefix}bias")
            out = torch.bmm(h, weight)
            return out if bias is None else out.add_(bias[:, None])  # cheaper than baddbmm
        if isinstance(module, ResidualBlock):
            z = self._run(module.linear, f"{prefix}linear.", h, training)
            if hasattr(module, "norm"):
                z = self._run(module.norm, f"{prefix}norm.", z, training)
            return h + module.branch(module.act(z))
        if isinstance(module, nn.BatchNorm1d):
            return self._batch_norm(module, prefix, h, training)
        if isinstance(module, nn.LayerNorm):
            h = F.layer_norm(h, module.normalized_shape, eps=module.eps)
            if module.elementwise_affine:
                h = h * p[f"{prefix}weight"][:, None] + p[f"{prefix}bias"][:, None]
            return h
        return module(h)  # elementwise activation

    def _batch_norm(self, module: nn.BatchNorm1d, prefix: str, h, training: bool):
        """Ioffe & Szegedy (2015), through torch's fused kernel: with the batch axis first, each
        (copy, unit) pair is one channel of ``F.batch_norm``, which normalizes over the batch
        (biased variance) and moves the running statistics (views of the stacked buffers)
        towards the batch mean and unbiased variance by ``momentum``, or by 1/batches seen when
        ``momentum`` is None (a cumulative average), as ``nn.BatchNorm1d`` does."""
        copies, batch, units = h.shape
        flat = h.transpose(0, 1).reshape(batch, copies * units)
        tracked = module.track_running_stats
        factor = module.momentum
        if tracked and training:
            seen = self.buffers[f"{prefix}num_batches_tracked"].add_(1)
            factor = 1.0 / float(seen[0]) if factor is None else factor
        mean = self.buffers[f"{prefix}running_mean"].view(-1) if tracked else None
        var = self.buffers[f"{prefix}running_var"].view(-1) if tracked else None
        weight = self.params[f"{prefix}weight"].reshape(-1) if module.affine else None
        bias = self.params[f"{prefix}bias"].reshape(-1) if module.affine else None
        use_batch = training or not tracked
        out = F.batch_norm(flat, mean, var, weight, bias, use_batch, factor or 0.0, module.eps)
        return out.reshape(batch, copies, units).transpose(0, 1)

    def write_back(self) -> None:
        """Copy every copy's trained parameters and buffers into its original module."""
        with torch.no_grad():
            for i, model in enumerate(self.models):
                for name, stacked in self.params.items():
                    model.get_parameter(name).copy_(stacked[i])
                for name, stacked in self.buffers.items():
                    model.get_buffer(name).copy_(stacked[i])


def _per_copy(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape a (copies,) vector to broadcast against a stacked tensor ``like``."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


class StackedOptimizer:
    """SGD (torch's update, optional momentum) or Adam (torch's defaults: betas (0.9, 0.999),
    ε = 1e-8, bias-corrected), element by element, with one learning rate per copy. Each update
    is a handful of fused ``torch._foreach_*`` calls over all parameters."""

    def __init__(self, params: dict, lrs: torch.Tensor, name: str, momentum: float = 0.0):
        self.params, self.name, self.momentum = list(params.values()), name, momentum
        self.lrs = [_per_copy(lrs, p).to(p.dtype) for p in self.params]
        self.buffers = None  # momentum buffers (SGD) or first moments (Adam)
        self.second = None  # Adam's second moments
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        grads = [p.grad for p in self.params]
        if self.name == "sgd":
            if self.momentum:
                if self.buffers is None:
                    self.buffers = [g.clone() for g in grads]
                else:
                    torch._foreach_mul_(self.buffers, self.momentum)
                    torch._foreach_add_(self.buffers, grads)
                grads = self.buffers
            torch._foreach_sub_(self.params, torch._foreach_mul(grads, self.lrs))
            return
        (b1, b2), t = ADAM_BETAS, self.steps
        if self.buffers is None:
            self.buffers = [torch.zeros_like(p) for p in self.params]
            self.second = [torch.zeros_like(p) for p in self.params]
        torch._foreach_lerp_(self.buffers, grads, 1 - b1)
        torch._foreach_mul_(self.second, b2)
        torch._foreach_addcmul_(self.second, grads, grads, value=1 - b2)
        denom = torch._foreach_sqrt(self.second)
        torch._foreach_div_(denom, math.sqrt(1 - b2**t))
        torch._foreach_add_(denom, ADAM_EPS)
        steps = torch._foreach_mul(self.buffers, self.lrs)
        torch._foreach_div_(steps, denom)
        torch._foreach_sub_(self.params, torch._foreach_div(steps, 1 - b1**t))


def clip_per_copy(params: dict, max_norm: float) -> torch.Tensor:
    """Clip each copy's global gradient norm to ``max_norm`` (torch's clip_grad_norm_ rule,
    coefficient max_norm / (norm + 1e-6), at most 1); return each copy's norm before clipping."""
    grads = [p.grad for p in params.values()]
    norms = torch.sqrt(sum(g.flatten(1).double().pow(2).sum(dim=1) for g in grads))
    coef = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    for g in grads:
        g.mul_(_per_copy(coef, g).to(g.dtype))
    return norms


LOSSES = ("mse", "bce")


def per_copy_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean loss of each copy, shape (copies,): MSE or binary cross-entropy on logits."""
    y = y.expand_as(out)
    if loss == "mse":
        return ((out - y) ** 2).flatten(1).mean(dim=1)
    return F.binary_cross_entropy_with_logits(out, y, reduction="none").flatten(1).mean(dim=1)


@dataclass
class ManyResult:
    """Copies are seed-major: copy k has seed ``seeds[k]`` and learning rate ``lrs[k]``.

    losses (copies, steps): the loss before each step, NaN from a copy's divergence on;
    final_loss, held_out (copies,): training / held-out loss after training (NaN if diverged);
    models: the trained copies (their weights written back).
    """

    seeds: np.ndarray
    lrs: np.ndarray
    losses: np.ndarray
    final_loss: np.ndarray
    held_out: np.ndarray
    diverged: np.ndarray
    models: list

    def grid(self, values: np.ndarray) -> np.ndarray:
        """Reshape a per-copy array to (seeds, learning rates)."""
        return np.asarray(values).reshape(len(np.unique(self.seeds)), -1)


def _stacked_data(data, seeds) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) shared by every copy, or ``data(seed)`` per copy, stacked."""
    if callable(data):
        pairs = [data(int(s)) for s in seeds]
        return torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs])
    return data


def train_many(
    build: Callable[[int], nn.Module],
    data,
    *,
    seeds: Sequence[int],
    lrs: Sequence[float],
    steps: int,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    loss: str = "mse",
    clip: float | None = None,
    held_out=None,
) -> ManyResult:
    """Train ``build(seed)`` for every seed × learning rate, full batch, as one computation.

    data, held_out: (x, y) shared by every copy, or a callable seed -> (x, y) (each seed its
    own data). Equal to training each copy alone with :func:`helpers.training.train` up to float
    rounding; a copy whose loss turns NaN or infinite stops there (its gradient is zeroed).
    """
    seeds = [int(s) for s in seeds]
    lrs = [_validate.positive(lr, "lrs") for lr in lrs]
    if not seeds or not lrs:
        raise ValueError("seeds and lrs must each name at least one value")
    steps = _validate.positive_int(steps, "steps")
    optimizer = _validate.choice(optimizer, ("sgd", "adam"), "optimizer")
    loss = _validate.choice(loss, LOSSES, "loss")
    copy_seeds = np.repeat(seeds, len(lrs))
    copy_lrs = np.tile(lrs, len(seeds))
    stack = Stack([build(int(s)) for s in copy_seeds])
    opt = StackedOptimizer(stack.params, torch.tensor(copy_lrs), optimizer, momentum)
    x, y = _stacked_data(data, copy_seeds)
    losses = np.full((len(stack), steps), np.nan)
    alive = torch.ones(len(stack), dtype=torch.bool)
    chain = Chain.of(stack)  # a plain Linear/activation chain: backprop by hand, no autograd
    with course_threads():
        for step in progress(range(steps), desc="batched", leave=False):
            if chain is None:
                for p in stack.params.values():
                    p.grad = None
                per_copy = per_copy_loss(stack.forward(x), y, loss)
            else:
                per_copy = chain.loss_and_gradients(x, y, loss)
            alive &= torch.isfinite(per_copy.detach())
            losses[alive.numpy(), step] = per_copy.detach()[alive].double().numpy()
            if not alive.any():
                break
            if chain is None:
                per_copy[alive].sum().backward()  # independent copies: each its own gradient
            elif not alive.all():
                chain.zero_dead(~alive)
            if clip is not None:
                clip_per_copy(stack.params, clip)
            opt.step()
        final = _evaluate(stack, x, y, loss, training=True)
        held = _evaluate(stack, *_stacked_data(held_out, copy_seeds), loss) if held_out else None
    stack.write_back()
    dead = ~alive.numpy()
    final[dead] = np.nan
    held = np.full(len(stack), np.nan) if held is None else np.where(dead, np.nan, held)
    return ManyResult(copy_seeds, copy_lrs, losses, final, held, dead, stack.models)


def _evaluate(stack: Stack, x, y, loss: str, training: bool = False) -> np.ndarray:
    with torch.no_grad():
        buffers = {k: v.clone() for k, v in stack.buffers.items()}
        values = per_copy_loss(stack.forward(x, training=training), y, loss).double().numpy()
        stack.buffers = buffers  # an evaluation pass leaves batch norm's statistics alone
    return values
