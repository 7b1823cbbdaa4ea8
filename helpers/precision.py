"""Float16 underflow, loss scaling and bfloat16 (notebook 10; the capstone's mystery F).

Mixed-precision training (Micikevicius et al. 2018, "Mixed precision training", ICLR) runs the
forward and backward passes in float16 and keeps a float32 master copy of the weights. Float16
has 5 exponent bits and 11 significant bits (10 stored), so (:func:`float_format`):

* its largest value is 65504; anything larger becomes inf (overflow);
* its smallest normal number is 2⁻¹⁴ ≈ 6.1e-5, its smallest subnormal 2⁻²⁴ ≈ 6.0e-8; a value
  below half of that, 2⁻²⁵ ≈ 3e-8, rounds to exactly 0 (underflow);
* 1 + 2⁻¹¹ rounds to 1 (machine epsilon 2⁻¹⁰).

Gradients are small numbers. Micikevicius et al. (§3.2, Fig. 3) found that many activation
gradients of their SSD detector fell below 2⁻²⁴ and became 0 in float16, while most of float16's
range above them went unused; a layer whose gradient is 0 stops learning. Their remedy is
**loss scaling**: multiply the loss by S before the backward pass, so that every gradient is
multiplied by S (the chain rule is linear) and moves up into float16's range, then divide the
float32 weight gradients by S before the update. Dynamic loss scaling
(``torch.amp.GradScaler``) starts at S = 2¹⁶, halves S and skips the step when a gradient
overflows, and doubles S after 2000 clean steps.

bfloat16 keeps float32's 8 exponent bits (range about 1e-38 to 3e38, so no underflow of
ordinary gradients) but only 8 significant bits: 1 + 2⁻⁸ rounds to 1, and an update Δ added to a
weight w stored in bfloat16 is lost (w + Δ rounds back to w) when |Δ| is below half the spacing
of bfloat16 numbers at w, that is below 2⁻⁹ to 2⁻⁸ of |w| (:func:`lost_update_fraction`). That is
why mixed precision keeps a float32 master copy of the weights (Micikevicius et al. §3.1 make the
same argument for float16, where the bound is 2⁻¹¹).

What works on the CPU with torch 2.13 (checked by the tests): ``torch.autocast("cpu",
dtype=torch.float16)`` (matrix products in float16, weights and their gradients in float32,
the float16 gradient of each product cast to float32), ``model.half()`` (everything float16),
and ``torch.amp.GradScaler("cpu")`` together with autocast. GradScaler refuses float16 weights
("Attempting to unscale FP16 gradients"), so the training runs use autocast, the recipe of
mixed-precision training.
"""

import copy
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers import _validate
from helpers.data import split
from helpers.models import mlp

FORMATS = ("float32", "float16", "bfloat16")
LOW_PRECISION = ("float16", "bfloat16")
MODES = ("autocast", "half")
LOSS_SCALING = ("none", "dynamic")
PRECISIONS = ("float32", "float16", "bfloat16")
DEFAULT_LOSS_SCALE = 2.0**16  # GradScaler's initial scale


def _dtype(name, argument: str, allowed=FORMATS) -> torch.dtype:
    if isinstance(name, torch.dtype):
        name = str(name).removeprefix("torch.")
    return getattr(torch, _validate.choice(name, allowed, argument))


# --- (a) the formats ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FloatFormat:
    """The facts of one floating-point format, from ``torch.finfo``.

    bits: storage size. precision_bits: significant bits, the implicit leading 1 included
    (24, 11, 8). eps: 2^(1 − precision_bits), the gap between 1 and the next number.
    smallest_subnormal: 2^(min exponent − precision_bits + 1), the smallest positive number;
    half of it rounds to 0. smallest_normal: the smallest number with full precision
    (``finfo.tiny``). max: the largest finite number; above it, rounding gives inf.
    """

    name: str
    bits: int
    precision_bits: int
    eps: float
    smallest_subnormal: float
    smallest_normal: float
    max: float

    @property
    def underflow_below(self) -> float:
        """Half the smallest subnormal: positive values below it round to exactly 0 (a value of
        exactly half rounds to 0 too, by round-half-to-even)."""
        return self.smallest_subnormal / 2

    @property
    def relative_half_gap(self) -> float:
        """2^(−precision_bits) = eps/2: an update below this share of a weight at a power of
        two is lost; just below the next power of two the share is half as large."""
        return self.eps / 2


def float_format(dtype) -> FloatFormat:
    """:class:`FloatFormat` of "float32", "float16" or "bfloat16" (or the torch dtype)."""
    dt = _dtype(dtype, "dtype")
    info = torch.finfo(dt)
    precision = int(round(-math.log2(info.eps))) + 1
    subnormal = info.tiny * info.eps  # 2^(emin) · 2^(1 − p)
    return FloatFormat(
        str(dt).removeprefix("torch."), info.bits, precision, float(info.eps), float(subnormal),
        float(info.tiny), float(info.max),
    )  # fmt: skip


def stored(values, dtype) -> np.ndarray:
    """What ``values`` become when stored in ``dtype`` (round to nearest, ties to even), returned
    as float64 so the rounding is visible: 1e-8 → 0 and 7e4 → inf in float16, 1 + 2⁻⁸ → 1 in
    bfloat16."""
    dt = _dtype(dtype, "dtype")
    array = _validate.real_array(values, "values")
    return torch.from_numpy(array).to(dt).to(torch.float64).numpy()


# --- (b) underflow of the gradients ---------------------------------------------------------------


def zero_share(reference, low) -> tuple[int, int]:
    """(entries nonzero in ``reference`` but exactly 0 in ``low``, entries nonzero in
    ``reference``): the count behind every underflow fraction. Tensors or arrays of one shape."""
    ref = torch.as_tensor(reference)
    small = torch.as_tensor(low)
    if ref.shape != small.shape:
        raise ValueError(
            f"reference and low must have the same shape, got {tuple(ref.shape)} and "
            f"{tuple(small.shape)}"
        )
    nonzero = ref != 0
    return int((nonzero & (small == 0)).sum()), int(nonzero.sum())


@dataclass(frozen=True)
class Underflow:
    """Which gradient entries a low-precision backward pass turns into exact zeros.

    layers: the modules that own a weight matrix, in registration order (first layer first).
    zeroed, counted: per layer, the entries (weight and bias) nonzero in float32 but exactly 0
    in low precision, and the entries nonzero in float32. per_layer = zeroed / counted;
    overall = Σ zeroed / Σ counted. overflowed: entries that became inf or NaN (a loss scale
    too large). median_magnitude: per layer, the median |g| of the float32 entries that are
    nonzero (NaN if none). relative_error: per layer, ‖g_low − g₃₂‖ / ‖g₃₂‖ over the finite entries
    (NaN if it has none). dtype, mode, loss_scale: how the low-precision pass was run.
    """

    layers: tuple[str, ...]
    zeroed: np.ndarray
    counted: np.ndarray
    overflowed: int
    median_magnitude: np.ndarray
    relative_error: np.ndarray
    dtype: str
    mode: str
    loss_scale: float

    @property
    def per_layer(self) -> np.ndarray:
        return np.where(self.counted > 0, self.zeroed / np.maximum(self.counted, 1), np.nan)

    @property
    def overall(self) -> float:
        total = int(self.counted.sum())
        return float(self.zeroed.sum()) / total if total else math.nan


def _layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    found = [
        (name, m) for name, m in model.named_modules()
        if any(p.ndim >= 2 for p in m.parameters(recurse=False))
    ]  # fmt: skip
    if not found:
        raise ValueError("model has no layer with a weight matrix (a parameter of 2+ dimensions)")
    return found


def _loss_fn(loss_fn):
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(output, y), got {loss_fn!r}")
    return loss_fn


def _gradients(model, layers, x, y, loss_fn, *, dtype=None, mode="autocast", scale=1.0):
    """The float64 weight and bias gradients of each layer after one backward pass of
    loss_fn(model(x), y) · scale, divided by scale; low precision as asked."""
    model.zero_grad(set_to_none=True)
    if dtype is None:
        out = model(x)
    elif mode == "autocast":
        with torch.autocast("cpu", dtype=dtype):
            out = model(x)
    else:
        out = model(x.to(dtype) if x.is_floating_point() else x)
    loss = loss_fn(out.float(), y)
    (loss * scale).backward()
    grads = []
    for _, module in layers:
        parts = [p.grad.reshape(-1) for p in module.parameters(recurse=False) if p.grad is not None]
        flat = torch.cat(parts).to(torch.float64) if parts else torch.zeros(0, dtype=torch.float64)
        grads.append(flat / scale)
    model.zero_grad(set_to_none=True)
    return grads


def float32_gradients(model: nn.Module, x, y, loss_fn) -> dict[str, np.ndarray]:
    """{layer name: the float32 gradient entries of its weight and bias, as one float64 array}
    after one backward pass of ``loss_fn(model(x), y)``; layers as in :func:`underflow_fraction`.
    For a histogram of gradient magnitudes beside float16's thresholds."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = _layers(model)
    grads = _gradients(model, layers, x, y, _loss_fn(loss_fn))
    return {name: g.numpy() for (name, _), g in zip(layers, grads, strict=True)}


def underflow_fraction(
    model: nn.Module, x, y, loss_fn, *, loss_scale: float = 1.0, dtype: str = "float16",
    mode: str = "autocast",
) -> Underflow:  # fmt: skip
    """The share of gradient entries that are nonzero in float32 but exactly 0 in low precision.

    Runs one float32 forward/backward pass of ``loss_fn(model(x), y)`` and the same pass in
    ``dtype`` ("float16" or "bfloat16") with the loss multiplied by ``loss_scale`` S, then divides
    the low-precision gradients by S (in float64, so the division adds no rounding of its own).
    ``mode="autocast"`` runs the forward pass under ``torch.autocast("cpu", dtype=...)``: weights
    stay float32, products run in low precision and their gradients are rounded to it, as in
    mixed-precision training; ``mode="half"`` runs a copy of the model converted to ``dtype``.
    The loss itself is computed in float32 (``output.float()``). The model is left as it was:
    its ``.grad`` cleared, its buffers (batch-norm statistics) restored. Counts weight and bias
    entries per layer (:class:`Underflow`).

    With S = 1 an entry becomes 0 when it is below 2⁻²⁵ ≈ 3e-8 in float16 (Micikevicius et al.
    2018, §3.2); with S = 2¹⁶ only entries below about 5e-13 do, and entries above 65504/S ≈ 1
    overflow.
    """
    dt = _dtype(dtype, "dtype", LOW_PRECISION)
    mode = _validate.choice(mode, MODES, "mode")
    loss_scale = _validate.positive(loss_scale, "loss_scale")
    loss_fn = _loss_fn(loss_fn)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = _layers(model)
    was_training = model.training
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    reference = _gradients(model, layers, x, y, loss_fn)
    if mode == "half":
        low_model = copy.deepcopy(model).to(dt)
        low = _gradients(low_model, _layers(low_model), x, y, loss_fn, dtype=dt, mode=mode,
                         scale=loss_scale)  # fmt: skip
    else:
        low = _gradients(model, layers, x, y, loss_fn, dtype=dt, mode=mode, scale=loss_scale)
    model.train(was_training)
    with torch.no_grad():  # undo what the two passes did to running statistics
        for name, b in model.named_buffers():
            b.copy_(buffers[name])
    zeroed, counted, errors, overflowed = [], [], [], 0
    medians = [float(r[r != 0].abs().median()) if (r != 0).any() else math.nan for r in reference]
    for ref, got in zip(reference, low, strict=True):
        finite = torch.isfinite(got)
        overflowed += int((~finite).sum())
        z, c = zero_share(ref, torch.where(finite, got, torch.ones_like(got)))
        zeroed.append(z)
        counted.append(c)
        norm = float(ref[finite].norm())
        errors.append(float((got - ref)[finite].norm()) / norm if norm > 0 else math.nan)
    return Underflow(
        tuple(name for name, _ in layers), np.array(zeroed), np.array(counted), overflowed,
        np.array(medians), np.array(errors), str(dt).removeprefix("torch."), mode, loss_scale,
    )  # fmt: skip


# --- the course's runs: a deep sigmoid classifier -------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What a precision run trains: data set, network and optimizer settings.

    ``Setup()`` is notebook 10's run: an 8-layer, 32-wide sigmoid MLP (PyTorch's default
    initialization) reading the 32 samples of ``helpers.data.drifts`` signals (is the signal
    drifting up or down?), 96 training signals, binary cross-entropy, Adam with learning rate
    0.01, 100 full-batch steps; held-out accuracy on 256 signals. Its float32 gradients shrink by
    roughly 7x per layer from the output down, so the first layers' entries sit around 1e-10 to
    1e-8: below float16's underflow threshold without loss scaling, far above it with.
    standardize_y: for regression sets, standardize the targets (``helpers.data.split``).
    """

    data: str = "drifts"
    depth: int = 8
    width: int = 32
    activation: str = "sigmoid"
    n_train: int = 96
    n_test: int = 256
    steps: int = 100
    lr: float = 0.01
    standardize_y: bool = False


# The capstone's mystery F: another deep sigmoid classifier, on two Gaussian blobs.
MYSTERY_SETUP = Setup(data="two_blobs", depth=9, width=32, n_train=64, steps=150, lr=0.01)


def _check_setup(setup) -> Setup:
    if not isinstance(setup, Setup):
        raise TypeError(f"setup must be a helpers.precision.Setup, got {type(setup).__name__}")
    _validate.positive_int(setup.depth, "setup.depth")
    _validate.positive_int(setup.width, "setup.width")
    _validate.positive_int(setup.steps, "setup.steps")
    _validate.positive(setup.lr, "setup.lr")
    return setup


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return seed


def _task_loss(task: str):
    if task == "binary":
        return F.binary_cross_entropy_with_logits
    if task == "multiclass":
        return F.cross_entropy
    return F.mse_loss


def build(setup: Setup = Setup(), seed: int = 0):
    """(model, data, loss_fn) of a precision run: the seeded MLP of ``setup``, its
    ``helpers.data.split`` (training set, held-out set, baseline) and the task's loss."""
    setup, seed = _check_setup(setup), _seed(seed)
    data = split(setup.data, setup.n_train, setup.n_test, seed=seed,
                 standardize_y=setup.standardize_y)  # fmt: skip
    if data.x.ndim > 2:  # signals (n, channels, length): an MLP reads them flattened
        data = replace(data, x=data.x.flatten(1), x_test=data.x_test.flatten(1))
    out = 3 if data.task == "multiclass" else 1
    in_features = data.x.shape[1]
    model = mlp(setup.depth, setup.width, in_features=in_features, out_features=out,
                activation=setup.activation, seed=seed)  # fmt: skip
    return model, data, _task_loss(data.task)


def underflow_at_init(
    seed: int = 0, *, loss_scale: float = 1.0, dtype: str = "float16", mode: str = "autocast",
    setup: Setup = Setup(),
) -> Underflow:  # fmt: skip
    """:func:`underflow_fraction` of the freshly initialized network of ``setup`` on its
    training set (one full batch)."""
    model, data, loss_fn = build(setup, seed)
    return underflow_fraction(model, data.x, data.y, loss_fn, loss_scale=loss_scale, dtype=dtype,
                              mode=mode)  # fmt: skip


# --- (c) training in low precision ----------------------------------------------------------------


@dataclass
class PrecisionRun:
    """One training run (:func:`precision_run`).

    losses: the training loss of every step (as computed, in float32). relative_loss: the
    training loss after the last step, evaluated in float32, ÷ the baseline (1 = the best
    constant prediction). test_accuracy: on the held-out set. never_moved: per layer (the
    monitor's order), True if its weights are bitwise equal to the initial ones at the end.
    zero_layers: per layer, True if its recorded gradient norm was exactly 0 at every stored
    step (a float32 gradient of these networks is never exactly 0); zero_steps: per layer, at
    how many stored steps it was exactly 0. monitor: the
    ``gradwatch.GradientMonitor`` (``every=1``); scale: the GradScaler's final scale (1 without
    one); seconds: wall time of the training loop.
    """

    seed: int
    precision: str
    loss_scaling: str
    frozen: int
    setup: Setup
    losses: np.ndarray
    relative_loss: float
    test_accuracy: float
    baseline: float
    never_moved: np.ndarray
    zero_layers: np.ndarray
    zero_steps: np.ndarray
    monitor: object
    model: nn.Module
    scale: float
    seconds: float

    def diagnosis(self):
        """``gradwatch.diagnose`` of the run, with the baseline."""
        from gradwatch import diagnose

        return diagnose(self.monitor, baseline=self.baseline)


def _accuracy(model, x, y, task) -> float:
    with torch.no_grad():
        out = model(x)
    if task == "binary":
        return float(((out > 0).float() == y).float().mean())
    if task == "multiclass":
        return float((out.argmax(dim=1) == y).float().mean())
    return math.nan


def precision_run(
    seed: int = 0, *, precision: str = "float16", loss_scaling: str = "none", frozen: int = 0,
    setup: Setup = Setup(),
) -> PrecisionRun:  # fmt: skip
    """Train the network of ``setup`` with Adam in ``precision``, watched by a GradientMonitor.

    precision: "float32" (plain), "float16" or "bfloat16" (the forward pass under
    ``torch.autocast("cpu", dtype=...)``, weights and optimizer in float32, the loss computed in
    float32). loss_scaling: "none", or "dynamic" for ``torch.amp.GradScaler("cpu")`` (initial
    scale 2¹⁶; the monitor gets ``scaler=`` so it reads unscaled gradients and skips overflow
    steps). frozen: the first ``frozen`` layers are left out of the optimizer, the control
    experiment "what if those layers never got a gradient" in any precision.
    """
    from gradwatch import GradientMonitor

    seed = _seed(seed)
    precision = _validate.choice(precision, PRECISIONS, "precision")
    loss_scaling = _validate.choice(loss_scaling, LOSS_SCALING, "loss_scaling")
    if loss_scaling == "dynamic" and precision != "float16":
        raise ValueError(
            f"loss_scaling='dynamic' is for precision='float16' (got {precision!r}); float32 and "
            "bfloat16 have float32's range and need no loss scaling"
        )
    if isinstance(frozen, bool) or not isinstance(frozen, int) or frozen < 0:
        raise ValueError(f"frozen must be an integer >= 0 (layers to freeze), got {frozen!r}")
    model, data, loss_fn = build(setup, seed)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if frozen >= len(linears):
        raise ValueError(f"frozen must be below the number of layers, {len(linears)}; got {frozen}")
    trainable = [p for m in linears[frozen:] for p in m.parameters()]
    initial = [m.weight.detach().clone() for m in linears]
    optimizer = torch.optim.Adam(trainable, lr=setup.lr)
    scaler = torch.amp.GradScaler("cpu", enabled=loss_scaling == "dynamic")
    low = None if precision == "float32" else getattr(torch, precision)
    losses = np.empty(setup.steps)
    start = time.perf_counter()
    with GradientMonitor(model, every=1) as monitor:
        for step in range(setup.steps):
            optimizer.zero_grad(set_to_none=True)
            if low is None:
                out = model(data.x)
            else:
                with torch.autocast("cpu", dtype=low):
                    out = model(data.x)
            loss = loss_fn(out.float(), data.y)
            scaler.scale(loss).backward()
            monitor.record(loss, scaler=scaler if scaler.is_enabled() else None)
            scaler.step(optimizer)
            scaler.update()
            losses[step] = float(loss.detach())
    seconds = time.perf_counter() - start
    with torch.no_grad():
        final = float(loss_fn(model(data.x), data.y))
    pairs = zip(initial, linears, strict=True)
    never_moved = np.array([bool(torch.equal(w0, m.weight)) for w0, m in pairs])
    norms = monitor.grad_norms
    zero_steps = (norms == 0).sum(axis=0)
    zero = zero_steps == norms.shape[0]
    scale = float(scaler.get_scale()) if scaler.is_enabled() else 1.0
    accuracy = _accuracy(model, data.x_test, data.y_test, data.task)
    return PrecisionRun(
        seed, precision, loss_scaling, frozen, setup, losses, final / data.baseline, accuracy,
        data.baseline, never_moved, zero, zero_steps, monitor, model, scale, seconds,
    )  # fmt: skip


# --- (d) bfloat16: updates lost to rounding -------------------------------------------------------


def lost_update_fraction(
    ratios, dtype: str = "bfloat16", *, n: int = 4096, seed: int = 0
) -> np.ndarray:
    """For each update/weight ratio r: the share of updates w ← w + Δ, |Δ| = r·|w|, that leave
    a weight stored in ``dtype`` unchanged (w + Δ rounds back to w).

    Weights w have log-uniform magnitudes over [2⁻⁴, 2⁴) and random signs; each Δ has a random
    sign. Both are stored in ``dtype`` and added by the tensor operation an optimizer uses
    (``w.add_(Δ)``, computed in float32 and rounded to ``dtype``). :func:`lost_update_theory`
    gives the curve this follows: all updates below r = 2^(−p−1) are lost, none above 2^(−p),
    with p the significant bits (8 for bfloat16, 11 for float16, 24 for float32).
    """
    dt = _dtype(dtype, "dtype")
    n = _validate.positive_int(n, "n")
    seed = _seed(seed)
    r = np.atleast_1d(_validate.real_array(ratios, "ratios"))
    if r.ndim != 1 or not np.isfinite(r).all() or (r <= 0).any():
        raise ValueError(f"ratios must be a 1-D sequence of finite numbers > 0, got {r.tolist()}")
    gen = torch.Generator().manual_seed(seed)
    magnitude = torch.exp2(torch.rand(n, generator=gen, dtype=torch.float64) * 8 - 4)
    sign = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).to(torch.float64)
    step_sign = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).to(torch.float64)
    w = (sign * magnitude).to(dt)
    lost = []
    for ratio in r:
        delta = (step_sign * float(ratio) * w.to(torch.float64).abs()).to(dt)
        updated = w.add(delta)
        moved_ok = delta != 0
        lost.append(float(((updated == w) | ~moved_ok).double().mean()))
    return np.array(lost)


def lost_update_theory(ratios, dtype: str = "bfloat16") -> np.ndarray:
    """The share of updates lost for log-uniformly spread weights, to first order in r:
    clip(−p − log₂ r, 0, 1), p = significant bits.

    w = m·2^e with m ∈ [1, 2) is lost when |Δ| < 2^(e−p) (half the spacing 2^(e−p+1)), i.e.
    when m < 2^(−p)/r; for log-uniform m, P(m < c) = log₂ c on [1, 2]. (Ignored: a downward step
    from just above a power of two, where the spacing below is half as large; it affects about
    2^(−p) of the weights.)
    """
    fmt = float_format(dtype)
    r = np.atleast_1d(_validate.real_array(ratios, "ratios"))
    if not np.isfinite(r).all() or (r <= 0).any():
        raise ValueError(f"ratios must be finite numbers > 0, got {r.tolist()}")
    return np.clip(-fmt.precision_bits - np.log2(r), 0.0, 1.0)


# --- the capstone's mystery F ---------------------------------------------------------------------


def mystery_f(seed: int = 0, *, fix: str | None = None) -> PrecisionRun:
    """The capstone's float16 mystery: a 9-layer, 32-wide sigmoid MLP on two Gaussian blobs
    (``MYSTERY_SETUP``: 64 training points, binary cross-entropy, Adam at 0.01, 150 full-batch
    steps) trained under ``torch.autocast("cpu", dtype=torch.float16)`` without loss scaling.
    About half a second on one core.

    Evidence: the loss stays at ln 2 and the held-out accuracy at chance; the monitor records
    gradient norms of exactly 0.0 for the first three or four layers at every step, and their
    update ratios are exactly 0 (their weights never change). Cause: those layers' float32
    gradients are about 1e-10 to 1e-8, below float16's underflow threshold 2⁻²⁵ ≈ 3e-8, so the
    float16 backward pass rounds them to 0; even Adam cannot move a weight whose gradient is
    exactly 0, and with the first layers frozen at random the signal about the input is lost.
    fix="grad_scaler" trains with ``torch.amp.GradScaler("cpu")`` (dynamic loss scaling,
    Micikevicius et al. 2018); "bfloat16" autocasts to bfloat16 (float32's range); "float32"
    drops mixed precision.
    """
    fixes = {None: ("float16", "none"), "grad_scaler": ("float16", "dynamic"),
             "bfloat16": ("bfloat16", "none"), "float32": ("float32", "none")}  # fmt: skip
    if fix not in fixes:
        valid = ", ".join(repr(k) for k in fixes)
        raise ValueError(f"unknown fix {fix!r}; valid values are {valid}")
    precision, scaling = fixes[fix]
    return precision_run(seed, precision=precision, loss_scaling=scaling, setup=MYSTERY_SETUP)


__all__ = [
    "DEFAULT_LOSS_SCALE",
    "FORMATS",
    "FloatFormat",
    "LOSS_SCALING",
    "MODES",
    "MYSTERY_SETUP",
    "PRECISIONS",
    "PrecisionRun",
    "Setup",
    "Underflow",
    "build",
    "float32_gradients",
    "float_format",
    "lost_update_fraction",
    "lost_update_theory",
    "mystery_f",
    "precision_run",
    "stored",
    "underflow_at_init",
    "underflow_fraction",
    "zero_share",
]
