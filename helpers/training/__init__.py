"""The course's one training loop, and many copies of a network trained as one computation.

Every notebook and experiment trains through :func:`train`: the loop a monitor is made for
(zero_grad, forward, loss, backward, ``monitor.record(loss)``, optional clipping, step), full
batch or mini-batch, SGD (with optional momentum) or Adam, an optional learning-rate warm-up,
float16/bfloat16 autocast with optional loss scaling, an optional held-out evaluation and a
progress bar in JupyterLab. Comparisons over seeds and learning rates use :func:`train_many`
(``helpers.training.batched``), which trains all the copies side by side as one computation.
"""

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from helpers import _validate
from helpers.course import course_threads, progress
from helpers.training.batched import ManyResult, train_many

__all__ = [
    "AUTOCAST",
    "LOSSES",
    "OPTIMIZERS",
    "ManyResult",
    "TrainResult",
    "evaluate",
    "full_batch",
    "loss_function",
    "make_optimizer",
    "minibatches",
    "train",
    "train_many",
]

OPTIMIZERS = ("sgd", "adam")
AUTOCAST = ("float16", "bfloat16")  # torch.autocast("cpu", dtype=...) for the forward pass
LOSSES: dict[str, Callable[[], nn.Module]] = {
    "mse": nn.MSELoss,
    "bce": nn.BCEWithLogitsLoss,
    "cross_entropy": nn.CrossEntropyLoss,
}


@dataclass
class TrainResult:
    """What one run leaves behind (the model itself is trained in place).

    losses      training loss of each step, before its update, shape (steps run,)
    grad_norms  global gradient norm of each step before clipping (empty unless measured)
    clipped     how many steps the clipping shortened
    diverged    the loss became NaN or infinite and training stopped there
    final_loss  loss on the training data after the last step (full-batch runs), else NaN
    held_out    loss on the held-out data after training, NaN without held-out data
    """

    losses: np.ndarray
    grad_norms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    clipped: int = 0
    diverged: bool = False
    final_loss: float = math.nan
    held_out: float = math.nan


def make_optimizer(name: str, params, lr: float, momentum: float = 0.0) -> torch.optim.Optimizer:
    """Plain SGD (``momentum`` 0 unless given) or Adam at torch's defaults otherwise.

    ``foreach=True`` updates all parameters in one fused call (the same arithmetic, faster here).
    """
    name = _validate.choice(name, OPTIMIZERS, "optimizer")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, foreach=True)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, foreach=True)


def loss_function(loss) -> Callable:
    """A loss name of :data:`LOSSES` ("mse", "bce", "cross_entropy") or a callable as is."""
    if callable(loss):
        return loss
    return LOSSES[_validate.choice(loss, LOSSES, "loss")]()


def full_batch(x, y) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The same (x, y) at every step."""
    while True:
        yield x, y


def minibatches(x, y, batch_size: int, *, seed: int = 0):
    """Endless shuffled mini-batches of ``batch_size`` rows, a new permutation every epoch, from a
    ``torch.Generator`` seeded with ``seed`` (the global generator is untouched)."""
    batch_size = _validate.positive_int(batch_size, "batch_size")
    generator = torch.Generator().manual_seed(int(seed))
    while True:
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x) - batch_size + 1, batch_size):
            rows = order[start : start + batch_size]
            yield x[rows], y[rows]


def _batches(data, batch_size, seed) -> tuple[Iterator, bool]:
    """(batch iterator, full batch?) from a pair (x, y) or an iterator of pairs."""
    if isinstance(data, tuple | list) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        x, y = data
        if len(x) == 0:
            raise ValueError("data is empty: x has 0 rows; pass at least one example")
        if len(x) != len(y):
            raise ValueError(f"data: x has {len(x)} rows but y has {len(y)}")
        if batch_size is None or batch_size >= len(x):
            return full_batch(x, y), True
        return minibatches(x, y, batch_size, seed=seed), False
    if isinstance(data, Iterable):
        return iter(data), False
    raise TypeError(f"data must be a pair (x, y) of tensors or an iterator of pairs, got {data!r}")


def evaluate(model: nn.Module, x, y, loss="mse", *, train_mode: bool = False) -> float:
    """Loss of ``model`` on (x, y) without gradients, in eval mode (batch norm uses its running
    statistics) unless ``train_mode`` (batch statistics). The model's mode and buffers (batch
    norm's running statistics) are left as they were."""
    was_training = model.training
    buffers = [b.clone() for b in model.buffers()]
    model.train(train_mode)
    try:
        with torch.no_grad():
            return float(loss_function(loss)(model(x), y))
    finally:
        model.train(was_training)
        with torch.no_grad():
            for buffer, saved in zip(model.buffers(), buffers, strict=True):
                buffer.copy_(saved)


def _forward_loss(model, x, y, loss_fn, low):
    """The loss of one forward pass, under float16/bfloat16 autocast when ``low`` is a dtype
    (the output cast back to float32 before the loss)."""
    if low is None:
        return loss_fn(model(x), y)
    with torch.autocast("cpu", dtype=low):
        out = model(x)
    return loss_fn(out.float(), y)


def _backward_record(loss_value, scaler, monitor) -> None:
    """Backward (of the scaled loss under a GradScaler), then ``monitor.record`` if a monitor is
    given: with the scaler, so that it reads the unscaled gradients."""
    if scaler is None:
        loss_value.backward()
        if monitor is not None:
            monitor.record(loss_value)
        return
    scaler.scale(loss_value).backward()
    if monitor is not None:
        monitor.record(loss_value, scaler=scaler)


def train(
    model: nn.Module,
    data,
    *,
    steps: int,
    lr: float,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    loss="mse",
    batch_size: int | None = None,
    seed: int = 0,
    clip: float | None = None,
    measure_grad_norm: bool = False,
    monitor=None,
    record_nonfinite: bool = False,
    held_out=None,
    label: str = "training",
    warmup_steps: int = 0,
    autocast: str | None = None,
    loss_scaling: bool = False,
) -> TrainResult:
    """Train ``model`` in place for ``steps`` optimizer steps; return a :class:`TrainResult`.

    data: (x, y) tensors (full batch, or shuffled mini-batches of ``batch_size`` drawn with
        ``seed``), or an iterator of (x, y) batches (one per step, e.g. fresh sequences).
    optimizer: "sgd" (plain, or with ``momentum``) or "adam"; loss: "mse", "bce",
        "cross_entropy" or a callable(output, target).
    clip: if given, global gradient-norm clipping to ``clip`` before every step (the norm is
        then measured and stored in ``grad_norms`` too, as with ``measure_grad_norm``).
    monitor: a ``GradientMonitor`` (or anything with ``record(loss)``), called after backward
        and before clipping and the step, once per optimizer step.
    record_nonfinite: with a monitor, the step whose loss is NaN or infinite is still
        backpropagated and recorded (no update) before training stops, so the monitor's record
        ends with the step that diverged (what diagnose's overflow rule reads).
    held_out: (x, y) to evaluate on after training (``TrainResult.held_out``).
    warmup_steps: linear learning-rate warm-up, lr · min(1, (t + 1)/warmup_steps) at step t
        (``helpers.transformers.warmup_scheduler``); 0, the default, keeps lr constant.
    autocast: "float16" or "bfloat16" runs the forward pass under ``torch.autocast("cpu",
        dtype=...)`` (mixed precision: weights, optimizer and the loss in float32); None, the
        default, runs in float32.
    loss_scaling: dynamic loss scaling with ``torch.amp.GradScaler("cpu")`` (float16 autocast
        only): backward of the scaled loss, the monitor gets ``scaler=`` (it reads unscaled
        gradients), the gradients are unscaled before clipping, ``scaler.step`` skips a step
        whose gradients overflowed.
    A NaN or infinite loss stops training (every later step would be NaN too).
    """
    steps = _validate.positive_int(steps, "steps")
    lr = _validate.positive(lr, "lr")
    momentum = _validate.nonnegative(momentum, "momentum")
    if clip is not None:
        clip = _validate.positive(clip, "clip")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be an integer >= 0, got {warmup_steps!r}")
    low = (
        None
        if autocast is None
        else getattr(torch, _validate.choice(autocast, AUTOCAST, "autocast"))
    )
    if not isinstance(loss_scaling, bool):
        raise TypeError(f"loss_scaling must be True or False, got {loss_scaling!r}")
    if loss_scaling and autocast != "float16":
        raise ValueError(
            f"loss_scaling=True is for autocast='float16' (got autocast={autocast!r}); float32 "
            "and bfloat16 have float32's range and need no loss scaling"
        )
    loss_fn = loss_function(loss)
    batches, is_full = _batches(data, batch_size, seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, params, lr, momentum)
    schedule = None
    if warmup_steps:
        from helpers.transformers import warmup_scheduler

        schedule = warmup_scheduler(opt, warmup_steps)
    scaler = torch.amp.GradScaler("cpu") if loss_scaling else None
    losses, norms, clipped, diverged = [], [], 0, False
    with course_threads():
        for _ in progress(range(steps), desc=label, leave=False):
            x, y = next(batches)
            opt.zero_grad()
            loss_value = _forward_loss(model, x, y, loss_fn, low)
            losses.append(float(loss_value.detach()))
            if not math.isfinite(losses[-1]):
                diverged = True
                if record_nonfinite and monitor is not None:
                    _backward_record(loss_value, scaler, monitor)
                break
            _backward_record(loss_value, scaler, monitor)
            if clip is not None or measure_grad_norm:
                if scaler is not None:
                    scaler.unscale_(opt)
                limit = clip if clip is not None else math.inf
                norm = float(nn.utils.clip_grad_norm_(params, limit, foreach=True))
                norms.append(norm)
                clipped += clip is not None and norm > clip
            if scaler is None:
                opt.step()
            else:
                scaler.step(opt)  # skipped if a gradient overflowed; then the scale halves
                scaler.update()
            if schedule is not None:
                schedule.step()
        result = TrainResult(np.array(losses), np.array(norms), int(clipped), diverged)
        if is_full and not diverged:
            result.final_loss = evaluate(model, x, y, loss_fn, train_mode=True)
        if held_out is not None and not diverged:
            result.held_out = evaluate(model, *held_out, loss_fn)
    return result
