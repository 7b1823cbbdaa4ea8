"""Recurrent networks unrolled in time: the model family, gradient versus time lag, and clipping.

Notebook 09 uses this module. Backpropagation through time (BPTT) treats a recurrent network
unrolled over T steps as a T-layer network that shares its weights across layers, so the error
signal reaching the state k steps back is a product of k Jacobians ∂h_t/∂h_{t−1}
(Hochreiter 1991; Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013). The module
gives

* one interface for a tanh RNN, an LSTM, a GRU and a linear RNN (:func:`make_model`, from
  :mod:`helpers.models.recurrent`, re-exported here), with the cell equations written out in
  :func:`cell_step` and checked against PyTorch's fused modules;
* :func:`gradient_vs_lag`: ‖∂L/∂h_{T−k}‖ (and ‖∂L/∂c_{T−k}‖ for the LSTM) for k = 0 .. T−1;
* clipping by norm and by value (:func:`clip_by_norm`, :func:`clip_grad_norm`,
  :func:`clip_by_value`), from :mod:`helpers.clipping`, re-exported here;
* :func:`train_adding`: a seeded training run on the adding problem through the course's one
  loop, :func:`helpers.training.train`, cached per process.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from helpers import _validate, activations, training
from helpers.clipping import (  # noqa: F401 (public names, re-exported)
    clip_by_norm,
    clip_by_value,
    clip_factor,
    clip_grad_norm,
    cosine,
    global_norm,
)
from helpers.data import sequences
from helpers.models.recurrent import (  # noqa: F401 (public names, re-exported)
    KINDS,
    LinearRNN,
    RecurrentNet,
    cell_step,
    make_model,
    scaled_orthogonal,
)

OPTIMIZERS = ("adam", "sgd")

# The evaluation batch of every adding-problem run comes from this seed, so all runs are scored
# on the same sequences; training data come from DATA_SEED_OFFSET + seed, weights from seed.
EVAL_SEED = 987_654
DATA_SEED_OFFSET = 1_000_000


# --- spectra and Pascanu et al.'s condition ------------------------------------------------------


def recurrent_matrix(model: RecurrentNet) -> np.ndarray:
    """W_hh of a model as a float64 array (hidden, hidden); for gated cells, the stacked gates."""
    return model.rnn.weight_hh_l0.detach().double().numpy()


def spectral_radius(matrix) -> float:
    """max |λ| over the eigenvalues λ of a square matrix."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square, got shape {matrix.shape}")
    # torch's LAPACK honours torch.set_num_threads(1); numpy's may spawn threads that, on a busy
    # two-core machine, make a 256 x 256 eigendecomposition 30x slower.
    return float(torch.linalg.eigvals(torch.from_numpy(matrix)).abs().max())


def largest_singular_value(matrix) -> float:
    """σ_max = ‖W‖₂, the largest factor by which W can stretch a vector."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {matrix.shape}")
    return float(torch.linalg.matrix_norm(torch.from_numpy(matrix), ord=2))


def vanishing_bound(sigma_max: float, lags, activation: str = "tanh") -> np.ndarray:
    """Upper bound (γ · σ_max)^k on ‖∂h_T/∂h_{T−k}‖ for h_t = f(W h_{t−1} + U x_t + b).

    Each Jacobian is diag(f′(z_t)) W, with ‖diag(f′)‖ ≤ γ = max |f′| (1 for tanh, 1/4 for the
    sigmoid, from :func:`helpers.activations.derivative_max`), so k of them have norm at most
    (γ σ_max)^k. When σ_max < 1/γ the gradient to states k steps back vanishes at least
    geometrically (Pascanu, Mikolov & Bengio 2013, section 2.1). The converse does not hold:
    σ_max > 1/γ is necessary, not sufficient, for gradients to explode.
    """
    sigma_max = _validate.nonnegative(sigma_max, "sigma_max")
    gamma = activations.derivative_max(activation)
    lags = np.asarray(lags, dtype=np.float64)
    return (gamma * sigma_max) ** lags


# --- gradient versus time lag --------------------------------------------------------------------


@dataclass(frozen=True)
class LagProfile:
    """‖∂L/∂h_{T−k}‖ (``h``) and, for the LSTM, ‖∂L/∂c_{T−k}‖ (``c``; else None) for k in
    ``lags`` = 0 .. T−1. Norms are Frobenius norms over the batch and the hidden units."""

    kind: str
    lags: np.ndarray
    h: np.ndarray
    c: np.ndarray | None

    def log_slope(self, start: int = 0, stop: int | None = None) -> float:
        """Least-squares slope of ln ‖∂L/∂h_{T−k}‖ against k over lags[start:stop]: the mean
        log factor per step (ln ρ for a linear RNN once its leading eigenvector dominates)."""
        k = self.lags[start:stop]
        if len(k) < 2:
            raise ValueError("need at least two lags to fit a slope")
        return float(np.polyfit(k, np.log(self.h[start:stop]), 1)[0])


def gradient_vs_lag(model: RecurrentNet, x, y, loss_fn=None) -> LagProfile:
    """BPTT gradient of the loss with respect to each past state, as a function of the lag.

    The model is unrolled over x (batch, T, input) from h_0 = 0; the loss is
    L = loss_fn(readout(h_T), y) (MSE by default), so the error enters at the last step only,
    and ∂L/∂h_{T−k} = ∂L/∂h_T · ∏_{t=T−k+1}^{T} ∂h_t/∂h_{t−1} is the product of k Jacobians.
    Computed with ``torch.autograd.grad`` with respect to every state: the model's parameters
    and their ``.grad`` are left untouched.
    """
    if not isinstance(model, RecurrentNet):
        raise TypeError(f"model must be a RecurrentNet (see make_model), got {type(model)}")
    dtype = model.readout.weight.dtype
    x = torch.as_tensor(x, dtype=dtype)
    y = torch.as_tensor(y, dtype=dtype)
    if x.ndim != 3 or x.shape[2] != model.rnn.input_size:
        raise ValueError(
            f"x must have shape (batch, T, {model.rnn.input_size}), got {tuple(x.shape)}"
        )
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y has {y.shape[0]} rows but x has {x.shape[0]} sequences")
    loss_fn = nn.MSELoss() if loss_fn is None else loss_fn
    with torch.enable_grad():
        hs, cs = model.unroll(x)
        loss = loss_fn(model.readout(hs[-1]), y)
        states = hs + (cs or [])
        grads = torch.autograd.grad(loss, states, allow_unused=True)
    # float64 norms: squares of float32 gradients near 1e-20 would underflow.
    norms = np.array(
        [
            0.0 if g is None else float(torch.linalg.vector_norm(g, dtype=torch.float64))
            for g in grads
        ]
    )
    steps = len(hs)
    lags = np.arange(steps)
    h = norms[:steps][::-1].copy()
    c = norms[steps:][::-1].copy() if cs else None
    return LagProfile(model.kind, lags, h, c)


# --- training on the adding problem --------------------------------------------------------------


@dataclass(frozen=True)
class AddingRun:
    """One seeded training run on the adding problem.

    losses: training MSE at every step; grad_norms: global gradient norm at every step, before
    any clipping (NaN at the last step of a run stopped by a non-finite loss); clipped:
    fraction of steps where clipping changed the gradient; test_mse: MSE on a fixed evaluation
    batch (seed :data:`EVAL_SEED`), to compare with the baseline 1/6; monitor: the
    :class:`helpers.monitor.GradientMonitor` that watched the run, or None.
    """

    kind: str
    length: int
    seed: int
    losses: np.ndarray
    grad_norms: np.ndarray
    clipped: float
    test_mse: float
    model: RecurrentNet
    monitor: object = None

    @property
    def peak_loss(self) -> float:
        """The largest training loss of the run, inf if any loss was NaN or inf (a run that
        blew up). Use for "the loss never exceeds 2" or "the loss passed 1000"."""
        losses = np.asarray(self.losses, dtype=float)
        if losses.size == 0 or not np.isfinite(losses).all():
            return math.inf
        return float(losses.max())

    def first_step_above(self, level: float) -> float:
        """The first step whose training loss exceeds ``level`` or is not finite (NaN, inf), as a
        float; inf if the loss never did. Use for "every seed's loss passes 1000 within 50 steps"
        (``first_step_above(1e3) <= 50``)."""
        level = _validate.positive(level, "level")
        losses = np.asarray(self.losses, dtype=float)
        above = ~(losses <= level)  # NaN compares False, so it counts as above
        return float(np.argmax(above)) if above.any() else math.inf


def evaluate_adding(model: RecurrentNet, length: int, size: int = 1000) -> float:
    """MSE of ``model`` on ``size`` adding-problem sequences of ``length`` from EVAL_SEED."""
    x, y = sequences.adding_problem(size, length, seed=EVAL_SEED)
    x, y = x.to(model.readout.weight.dtype), y.to(model.readout.weight.dtype)
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean())


def train_adding(
    kind: str,
    length: int,
    steps: int,
    seed: int = 0,
    *,
    hidden_size: int = 32,
    batch_size: int = 32,
    lr: float = 0.01,
    optimizer: str = "adam",
    max_norm: float | None = None,
    spectral_radius: float | None = None,
    forget_bias: float | None = 1.0,
    monitor: bool = False,
) -> AddingRun:
    """Train a fresh :func:`make_model` on the adding problem for ``steps`` minibatch steps.

    Each step draws a new batch (:func:`helpers.data.sequences.adding_problem`) and takes one
    step of :func:`helpers.training.train`: the MSE, Adam or plain SGD, optional clipping by
    global norm at ``max_norm`` (``torch.nn.utils.clip_grad_norm_``, the contract of
    :func:`clip_grad_norm`), recording the loss and the unclipped gradient norm. A NaN or
    infinite loss ends the run there. With ``monitor=True`` a
    :class:`helpers.monitor.GradientMonitor` records every step too. Shows a progress bar in
    JupyterLab.

    Results are cached per process: the same arguments return the same :class:`AddingRun`
    object (treat it as read-only), so a notebook and its exercises share one training run.
    """
    kind = _validate.choice(kind, KINDS, "kind")
    length = _validate.positive_int(length, "length")
    steps = _validate.positive_int(steps, "steps")
    hidden_size = _validate.positive_int(hidden_size, "hidden_size")
    batch_size = _validate.positive_int(batch_size, "batch_size")
    lr = _validate.positive(lr, "lr")
    optimizer = _validate.choice(optimizer, OPTIMIZERS, "optimizer")
    if max_norm is not None:
        max_norm = _validate.positive(max_norm, "max_norm")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return _train_adding(
        kind, length, steps, seed, hidden_size, batch_size, lr, optimizer, max_norm,
        spectral_radius, forget_bias, bool(monitor),
    )  # fmt: skip


DATA_BLOCK = 100  # training batches drawn per call to the generator


def _adding_batches(length: int, batch_size: int, seed: int):
    """Endless fresh training batches from one seeded generator, drawn DATA_BLOCK at a time
    (one call per block instead of one per step). A longer run sees the same first batches as a
    shorter one with the same seed."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        xs, ys = sequences.adding_problem(DATA_BLOCK * batch_size, length, generator=gen)
        yield from zip(xs.split(batch_size), ys.split(batch_size), strict=True)


@lru_cache(maxsize=64)
def _train_adding(
    kind, length, steps, seed, hidden_size, batch_size, lr, optimizer, max_norm,
    spectral_radius, forget_bias, use_monitor,
) -> AddingRun:  # fmt: skip
    model = make_model(
        kind,
        hidden_size=hidden_size,
        spectral_radius=spectral_radius,
        forget_bias=forget_bias if kind == "lstm" else None,
        seed=seed,
    )
    watcher = None
    if use_monitor:
        from helpers.monitor import GradientMonitor

        watcher = GradientMonitor(model, every=1)
    result = training.train(
        model,
        _adding_batches(length, batch_size, DATA_SEED_OFFSET + seed),
        steps=steps,
        lr=lr,
        optimizer=optimizer,
        loss="mse",
        clip=max_norm,
        measure_grad_norm=True,
        monitor=watcher,
        label=f"{kind} T={length} seed {seed}",
    )
    losses = result.losses
    # A run stopped by a non-finite loss has no gradient norm for that last step: NaN keeps
    # grad_norms aligned with losses.
    norms = np.full(len(losses), np.nan)
    norms[: len(result.grad_norms)] = result.grad_norms
    return AddingRun(
        kind=kind,
        length=length,
        seed=seed,
        losses=losses,
        grad_norms=norms,
        clipped=result.clipped / len(losses),
        test_mse=evaluate_adding(model, length),
        model=model.eval(),
        monitor=watcher,
    )


def adding_comparison(kinds, length: int, steps: int, seeds, **options) -> dict[str, list]:
    """{kind: [AddingRun for each seed]}: the same training budget for every kind and seed."""
    return {
        kind: [train_adding(kind, length, steps, seed, **options) for seed in seeds]
        for kind in kinds
    }


def adding_table(runs: dict[str, list], threshold: float = 0.01) -> str:
    """A text table of test MSE per kind and seed, with the baseline 1/6 for scale."""
    lines = [f"test MSE (baseline 1/6 = {sequences.ADDING_BASELINE_MSE:.3f})"]
    for kind, kind_runs in runs.items():
        values = "  ".join(f"seed {r.seed}: {r.test_mse:.4f}" for r in kind_runs)
        solved = sum(r.test_mse < threshold for r in kind_runs)
        lines.append(f"{kind:>5}  {values}   below {threshold}: {solved}/{len(kind_runs)}")
    return "\n".join(lines)
