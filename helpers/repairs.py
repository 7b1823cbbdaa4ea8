"""Runs of the mysteries with or without a repair, and the claims that a repair holds.

:func:`run` trains a mystery (``helpers.mysteries``) with one repair from
:data:`~helpers.mysteries.FIXES` under a ``GradientMonitor`` and diagnoses it (cached);
:func:`outcome` does the same without a monitor. :attr:`Outcome.target_met` decides whether a
repair worked; :func:`confirm_repair` checks it on more seeds, :func:`confirm_fading` that the
error signal of the recurrent mystery fades along the sequence and :func:`confirm_exact_zeros`
that the float16 mystery's first layers get gradients of exactly 0, as claims
(``helpers.claims``).
"""

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from helpers import _validate
from helpers.checklist import format_threshold
from helpers.course import course_threads
from helpers.diagnose import THRESHOLDS, Diagnosis, diagnose
from helpers.monitor import activation_modules
from helpers.mysteries import (
    ADDING_LENGTH,
    RECENT_STEPS,
    TARGETS,
    Mystery,
    _apply_fix,
    _check_fix,
    _check_name,
    _check_seed,
)

if TYPE_CHECKING:
    from helpers.readings import Comparison


@dataclass(frozen=True)
class Outcome:
    """What one training run of a mystery ends with: its training losses and held-out score.

    losses: the training loss per step. score: held-out accuracy or R² (``metric``); NaN if the
    run diverged. :func:`outcome` trains one without a monitor; a :class:`Run` adds the monitor
    and its diagnosis.
    """

    name: str
    fix: str
    seed: int
    losses: np.ndarray = field(repr=False)
    score: float
    metric: str
    baseline: float

    @property
    def diverged(self) -> bool:
        return not bool(np.isfinite(self.losses).all())

    @property
    def recent_loss(self) -> float:
        """Median training loss over the last RECENT_STEPS steps (the last loss if diverged)."""
        if self.diverged:
            return float(self.losses[-1])
        return float(np.median(self.losses[-RECENT_STEPS:]))

    @property
    def target_met(self) -> bool:
        """Held-out score at its target and the training loss at most half the baseline."""
        return (
            not self.diverged
            and self.score >= TARGETS[self.metric]
            and self.recent_loss <= _loss_target(self.baseline)
        )

    @property
    def target_margin(self) -> float:
        """The factor by which the verdict :attr:`target_met` holds; near 1, another machine could
        reverse it. Met: the smaller of (half the baseline) / training loss and the held-out
        shortfall allowed, 1 − target, / the shortfall 1 − score. Not met: the larger of the
        inverse factors of the conditions that fail (infinite for a diverged run)."""
        if self.diverged or math.isnan(self.score):
            return math.inf
        loss = _factor(_loss_target(self.baseline), self.recent_loss)
        held = _factor(1.0 - TARGETS[self.metric], 1.0 - self.score)
        if self.target_met:
            return min(loss, held)
        return max(1.0 / loss, 1.0 / held)

    @classmethod
    def _fields_of(cls, trained: "Mystery") -> dict:
        if not isinstance(trained, Mystery):
            raise TypeError(
                f"expected a Mystery from capstone.mystery(...), got {type(trained).__name__}"
            )
        if trained.losses is None:
            raise ValueError(f"mystery {trained.name} has not been trained yet: call .train()")
        diverged = not np.isfinite(trained.losses).all()
        return {
            "name": trained.name,
            "fix": trained.fix,
            "seed": trained.seed,
            "losses": trained.losses,
            "score": math.nan if diverged else trained.held_out(),
            "metric": trained.data.metric,
            "baseline": trained.baseline,
        }


def _loss_target(baseline: float) -> float:
    """The training loss a repaired run must reach: the drop diagnose calls converged."""
    return (1.0 - THRESHOLDS["converged_drop"].value) * baseline


def _factor(allowed: float, actual: float) -> float:
    """allowed / actual for positive quantities (infinite when actual is 0)."""
    return math.inf if actual <= 0 else allowed / actual


@dataclass(frozen=True)
class Run(Outcome):
    """One monitored training run of a mystery, possibly with a fix applied.

    diagnosis: ``diagnose(monitor, baseline=baseline)``. ``trained`` and ``monitor`` are the
    trained :class:`Mystery` and the ``GradientMonitor`` that watched it.
    """

    diagnosis: Diagnosis = field(repr=False)
    trained: Mystery = field(repr=False, compare=False, default=None)
    monitor: object = field(repr=False, compare=False, default=None)

    def evidence(self, key: str) -> float:
        """A number from the diagnosis's evidence; NaN where the run diverged before it existed."""
        value = self.diagnosis.evidence.get(key)
        return math.nan if value is None else float(value)

    @classmethod
    def from_training(cls, trained: Mystery, monitor) -> "Run":
        """A :class:`Run` from a mystery you trained yourself and the monitor that watched it."""
        fields = cls._fields_of(trained)
        diagnosis = diagnose(monitor, baseline=trained.baseline)
        return cls(**fields, diagnosis=diagnosis, trained=trained, monitor=monitor)


@functools.cache
def _run_cached(name: str, fix: str, seed: int) -> Run:
    from helpers.monitor import GradientMonitor

    trained = Mystery(name, seed, fix)
    hooked = bool(activation_modules(trained.model))  # an nn.RNN applies tanh inside
    with GradientMonitor(trained.model, every=1, forward_stats=hooked) as monitor:
        trained.train(monitor)
    return Run.from_training(trained, monitor)


def run(name: str, fix: str | None = None, seed: int = 0) -> Run:
    """Train mystery ``name`` with ``fix`` (a key of :data:`FIXES`; None means "none") from
    ``seed`` under a ``GradientMonitor`` with forward statistics, and diagnose it.

    Cached per process: the same arguments return the same :class:`Run` (treat it as
    read-only). Raises ValueError for an unknown name or fix, or a fix that does not apply.
    """
    name, fix = _check_name(name), _check_fix(fix)
    _apply_fix(name, fix)  # raises if the fix does not apply
    return _run_cached(name, fix, _check_seed(seed))


@functools.cache
def _outcome_cached(name: str, fix: str, seed: int) -> Outcome:
    trained = Mystery(name, seed, fix)
    trained.train()
    return Outcome(**Outcome._fields_of(trained))


def outcome(name: str, fix: str | None = None, seed: int = 0) -> Outcome:
    """Like :func:`run`, but trained without a monitor: only the losses and the held-out score.

    A monitor only reads the training, so the numbers are those of :func:`run`, at a third less
    time; used to check a repair on more seeds (:func:`confirm_repair`). Cached per process.
    """
    name, fix = _check_name(name), _check_fix(fix)
    _apply_fix(name, fix)
    return _outcome_cached(name, fix, _check_seed(seed))


# --- the same comparison on more seeds -----------------------------------------------------------

CONFIRM_SEEDS = range(5)


def _seeds_text(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}–{seeds[-1]}"
    return "seeds " + ", ".join(str(s) for s in seeds)


@dataclass(frozen=True)
class Confirmation:
    """The claims :func:`confirm_repair` checked (``helpers.claims.Verdict``), one per line."""

    verdicts: tuple

    def __str__(self) -> str:
        return "\n".join(str(v) for v in self.verdicts)

    __repr__ = __str__


def confirm_repair(comparison: "Comparison", seeds=CONFIRM_SEEDS, *, margin: float = 2.0):
    """Check on every seed of ``seeds`` what ``comparison`` shows on one seed, as three claims
    (``helpers.claims``; each raises ClaimFailed if its worst seed misses):

    1. the mystery as given misses the target: its training loss ends above half the baseline
       (by the claims' default margin, 1.5: a loss of at least 3/4 of the baseline);
    2. with the fix, the training loss ends below half the baseline, and
    3. the held-out score reaches its target, compared as the shortfall 1 − score (the error
       rate, or 1 − R²) below 1 − target; both by ``margin``.

    The comparison's own seed reuses its runs; the others train without a monitor (:func:`outcome`).
    """
    from helpers import claims

    before, after = comparison.before, comparison.after
    name, fix, metric = before.name, after.fix, before.metric
    seeds = [_check_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: pass the seeds to check, e.g. range(5)")
    befores = [before if s == before.seed else outcome(name, "none", s) for s in seeds]
    afters = [after if s == after.seed else outcome(name, fix, s) for s in seeds]
    on = _seeds_text(seeds)
    half = _loss_target(before.baseline)
    allowed = 1.0 - TARGETS[metric]
    shortfall = (
        f"an error rate below {allowed:.0%}"
        if metric == "accuracy"
        else (f"1 − R² below {allowed:g}")
    )
    verdicts = (
        claims.all_above(
            [r.recent_loss / r.baseline for r in befores],
            half / before.baseline,
            name=f"11.{name}-as-given",
            sentence=f"mystery {name} as given misses the target on "
            f"{on}: its training loss ends above half the baseline",
        ),
        claims.all_below(
            [r.recent_loss / r.baseline for r in afters],
            half / before.baseline,
            margin=margin,
            name=f"11.{name}-{fix}-loss",
            sentence=f"with fix {fix!r}, {on} end with a training loss below half the baseline",
        ),
        claims.all_below(
            [1.0 - r.score for r in afters],
            allowed,
            margin=margin,
            name=f"11.{name}-{fix}-held-out",
            sentence=f"with fix {fix!r}, {on} reach held-out "
            f"{metric} ≥ {TARGETS[metric]:g}: {shortfall}",
        ),
    )
    return Confirmation(verdicts)


# --- the time dimension of a recurrent mystery ---------------------------------------------------


def lag_profile(trained: Mystery, n: int = 128):
    """‖∂L/∂h_{T−k}‖ against the lag k (``helpers.recurrent.gradient_vs_lag``) for a recurrent
    mystery, on the first ``n`` held-out sequences: how much of the error signal reaches the
    state k steps before the end (the first marked value sits k > T/2 steps back)."""
    from helpers.recurrent import RecurrentNet, gradient_vs_lag

    if not isinstance(trained, Mystery) or not isinstance(trained.model, RecurrentNet):
        raise TypeError("lag_profile needs a recurrent mystery (capstone.mystery('E'))")
    n = _validate.positive_int(n, "n")
    with course_threads():
        return gradient_vs_lag(trained.model, trained.data.x_test[:n], trained.data.y_test[:n])


def typical_lag(length: int = ADDING_LENGTH) -> int:
    """How many steps before the end the adding problem's first marked value sits on average:
    its position is uniform over the first half, so the lag is about 3T/4."""
    return (3 * length) // 4


def lag_decay(profile) -> float:
    """‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖ at the typical lag k = 3T/4 of the first marked value
    (:func:`typical_lag`): the fraction of the error signal that reaches it."""
    k = typical_lag(len(profile.h))
    return float(profile.h[k] / profile.h[0])


def confirm_fading(profile, *, margin: float = 2.0):
    """The claim (``helpers.claims``) that the error signal fades along the sequence as it does
    across the layers of a network with vanishing gradients: :func:`lag_decay` below diagnose's
    vanishing first/last ratio (10⁻³) by a factor of ``margin``. Raises ClaimFailed otherwise."""
    from helpers import claims

    k = typical_lag(len(profile.h))
    return claims.all_below(
        [lag_decay(profile)],
        THRESHOLDS["vanishing_ratio"].value,
        margin=margin,
        name="11.E-fades-along-the-sequence",
        sentence=f"at lag {k}, where the first marked value sits on average, less than "
        f"{format_threshold('vanishing_ratio')} of the error signal at lag 0 is left: the ratio "
        "below which diagnose calls a network's first layers starved",
    )


# --- gradients that are exactly zero -------------------------------------------------------------


def zero_layers(monitor) -> np.ndarray:
    """Per tracked layer (first layer first), True if its recorded gradient norm was exactly 0.0
    at every stored step: not NaN, not merely small. A float32 gradient of a layer the loss
    reaches is practically never exactly 0; float16's rounds to 0 below 2⁻²⁵ ≈ 3e-8
    (``helpers.precision``)."""
    grads = np.asarray(getattr(monitor, "grad_norms", None), dtype=float)
    if grads.ndim != 2 or grads.shape[0] == 0:
        raise ValueError("monitor has no recorded steps: record at least one step first")
    return (grads == 0).all(axis=0)


def leading_zero_layers(monitor) -> int:
    """How many layers, counted from the first, had a gradient of exactly 0.0 at every step."""
    zero = zero_layers(monitor)
    return int(np.argmin(zero)) if not zero.all() else len(zero)


def never_moved(trained: Mystery, layer_names) -> np.ndarray:
    """Per named layer of a trained mystery, True if every one of its parameters is bitwise
    equal to its value at initialization (a fresh copy of the same mystery, seed and fix)."""
    if not isinstance(trained, Mystery) or trained.losses is None:
        raise TypeError("never_moved needs a trained Mystery (call .train() first)")
    fresh = Mystery(trained.name, trained.seed, trained.fix).model
    out = []
    for name in layer_names:
        now, start = trained.model.get_submodule(name), fresh.get_submodule(name)
        pairs = zip(now.parameters(), start.parameters(), strict=True)
        out.append(all(torch.equal(a, b) for a, b in pairs))
    return np.array(out, dtype=bool)


def confirm_exact_zeros(name: str = "G", seeds=CONFIRM_SEEDS, *, layers: int = 2):
    """Two claims (``helpers.claims``) about mystery ``name`` as given, on every seed of
    ``seeds`` (monitored runs, :func:`run`): the first ``layers`` layers' gradient norms are
    exactly 0.0 at every step and their weights never move (``claims.every``), and the training
    loss stays within 1% of the baseline (by the claims' default margin, 1.5)."""
    from helpers import claims

    name = _check_name(name)
    layers = _validate.positive_int(layers, "layers")
    seeds = [_check_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: pass the seeds to check, e.g. range(5)")
    runs = [run(name, "none", s) for s in seeds]
    frozen = []
    for r in runs:
        first = r.monitor.layer_names[:layers]
        zero = zero_layers(r.monitor)[:layers]
        frozen.append(bool(zero.all() and never_moved(r.trained, first).all()))
    on = _seeds_text(seeds)
    return Confirmation(
        (
            claims.every(
                frozen,
                name=f"11.{name}-exact-zeros",
                sentence=f"on {on}, the first {layers} layers' gradient norms are exactly 0.0 "
                "at every step (not NaN, not merely small), and their weights never move",
            ),
            claims.all_near(
                [r.recent_loss / r.baseline for r in runs],
                1.0,
                0.01,
                name=f"11.{name}-at-the-baseline",
                sentence=f"on {on}, the training loss ends within 1% of the baseline",
            ),
        )
    )
