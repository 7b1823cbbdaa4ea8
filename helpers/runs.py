"""A labelled benchmark of small training runs whose cause is known, for testing ``diagnose``.

Notebook 04 prints the benchmark's labels and confusion table (expected label vs diagnosed label)
over seeds 0, 1 and 2 and plots its runs; ``tests/test_runs.py`` requires every run, on those
seeds, to get its label. Each run trains a :func:`helpers.models.mlp` by full-batch gradient
descent on a seeded 2-D classification task of :mod:`helpers.data` (two moons, or two blobs for the
easy task) with binary cross-entropy, through :func:`helpers.training.train` under a
``helpers.monitor.GradientMonitor`` with forward statistics, then measures held-out accuracy. A run
whose loss turns NaN (the exploding ones, after two or three steps) stops at that step, which is
still recorded: the monitor's record ends where training diverged.

Every run takes well under a second on one CPU thread; results are cached per (name, seed). The
recipes, tables and claims live in :mod:`helpers.labelled_runs` and are re-exported here.

Robustness. A run's digits depend on the floating-point path (CPU, BLAS kernels, thread count), so
only the labels are claims. :func:`twin_runs` trains a recipe twice from weights one float32 step
apart. Each run of seeds 0-2 was retrained ten times, five times nudged that way and five with
the training rows in another order (what another BLAS kernel does to the sums): every label held,
and every rule too except tiny_init's, whose gradients sit at float32's rounding floor (its last
layer's is exactly 0 or about 1e-9 depending on summation order, so all-small or layer-ratio
fires; both say vanishing). On seeds 0-11, 167 of the 168 runs got their expected label; the miss
is healthy_deep_he on seed 10, which had in fact converged by step 39 (loss down 89%; diagnosed
converged). adam_vanishing has 18 layers because at 15 its seed-2 run was borderline: three of
ten such reruns lifted its first/last gradient ratio above 1e-3 (diagnosed converged).
"""

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import data, training
from helpers.course import course_threads
from helpers.data import two_blobs, two_moons  # noqa: F401 (public names, notebook 04)
from helpers.diagnose import Diagnosis, diagnose
from helpers.labelled_runs.checks import check_causes, check_held_out, check_labels  # noqa: F401
from helpers.labelled_runs.recipes import (  # noqa: F401 (public names)
    BASELINE,
    CAUSE_RULES,
    N_TEST,
    N_TRAIN,
    RUNS,
    TASKS,
    WIDTH,
    LabelledRun,
    Recipe,
    check_name,
    runs_by_label,
)
from helpers.labelled_runs.tables import (  # noqa: F401 (public names)
    confusion,
    format_confusion,
    label_table,
    summary_table,
)
from helpers.models import linear_layers, mlp
from helpers.monitor import GradientMonitor, activation_modules

# --- one run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """One finished run: the monitor's record, held-out performance and the diagnosis."""

    name: str
    seed: int
    expected: str
    monitor: GradientMonitor
    test_accuracy: float
    test_loss: float
    seconds: float

    @property
    def baseline(self) -> float:
        return BASELINE

    @functools.cached_property
    def diagnosis(self) -> Diagnosis:
        return diagnose(self.monitor, baseline=BASELINE)

    @property
    def label(self) -> str:
        return self.diagnosis.label

    @property
    def correct(self) -> bool:
        return self.label == self.expected


def _set_hidden_bias(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        for layer in linear_layers(model)[:-1]:
            layer.bias.fill_(value)


class _Tracing:
    """A monitor wrapper for :func:`helpers.training.train` that appends the flattened parameters
    to ``trace`` at every step (after backward, before the update: the weights the step's
    forward pass used) and then records the step in ``monitor``."""

    def __init__(self, monitor: GradientMonitor, model: nn.Module, trace: list):
        self.monitor, self.model, self.trace = monitor, model, trace

    def snapshot(self) -> None:
        self.trace.append(
            torch.cat([p.detach().flatten() for p in self.model.parameters()]).double()
        )

    def record(self, loss) -> None:
        self.snapshot()
        self.monitor.record(loss)


def _fit(recipe: Recipe, seed: int, *, label: str, nudge: bool = False, trace=None):
    """Train ``recipe`` from ``seed`` with :func:`helpers.training.train`; return (model, monitor,
    held-out x, held-out y).

    nudge: move the first weight of the first layer up by one float32 step before training.
    trace: a list to which the flattened parameters are appended before every step and at the end.
    A run whose loss turns NaN stops there; that step is still backpropagated and recorded.
    """
    split = data.split(TASKS[recipe.task], N_TRAIN, N_TEST, seed=seed)
    x = recipe.input_scale * split.x + recipe.input_shift
    x_test = recipe.input_scale * split.x_test + recipe.input_shift
    model = mlp(width=WIDTH, seed=seed, **recipe.model)
    if recipe.hidden_bias is not None:
        _set_hidden_bias(model, recipe.hidden_bias)
    if nudge:
        with torch.no_grad():
            weight = linear_layers(model)[0].weight.view(-1)
            weight[0] = torch.nextafter(weight[0], torch.tensor(math.inf))
    hooked = bool(activation_modules(model))  # a linear network has no activation to watch
    with GradientMonitor(model, every=1, forward_stats=hooked) as monitor:
        recorder = monitor if trace is None else _Tracing(monitor, model, trace)
        training.train(
            model,
            (x, split.y),
            steps=recipe.steps,
            lr=recipe.lr,
            optimizer=recipe.optimizer,
            loss="bce",
            monitor=recorder,
            record_nonfinite=True,
            label=label,
        )
    if trace is not None:
        recorder.snapshot()
    return model, monitor, x_test, split.y_test


def train(recipe: Recipe, seed: int = 0, *, label: str = "training"):
    """Train ``recipe`` from ``seed``; return (monitor, test accuracy, test loss).

    Through :func:`helpers.training.train`, the loop the monitor is made for (zero_grad, forward,
    loss, backward, ``monitor.record(loss)``, step). The monitor's forward hooks are removed.
    """
    model, monitor, x_test, y_test = _fit(recipe, seed, label=label)
    with torch.no_grad():
        logits = model(x_test)
        test_loss = float(nn.functional.binary_cross_entropy_with_logits(logits, y_test))
        accuracy = float(((logits > 0).float() == y_test).float().mean())
    return monitor, accuracy, test_loss


@dataclass(frozen=True)
class Twins:
    """One recipe trained twice from one seed; the second run starts with a single weight (the
    first of the first layer) moved by one float32 step, the smallest change float32 can make.
    Another CPU or BLAS kernel makes rounding changes of that size in every sum of every step.

    distance: ‖θ₂ − θ₁‖ over all parameters (float64), before each step and after the last one
    (steps + 1 values, fewer if the loss turned NaN); distance[0] is the nudge itself. losses:
    (2, steps) training losses.
    diagnoses: the two runs' diagnoses (baseline ln 2).
    """

    recipe: Recipe
    seed: int
    distance: np.ndarray
    losses: np.ndarray
    diagnoses: tuple[Diagnosis, Diagnosis]

    @property
    def growth(self) -> float:
        """How many times further apart the two runs end than they started."""
        return float(self.distance[-1] / self.distance[0])

    @property
    def final_losses(self) -> np.ndarray:
        """The two runs' last training losses."""
        return self.losses[:, -1]


def twin_runs(recipe, seed: int = 0) -> Twins:
    """Train ``recipe`` (a :class:`Recipe` or the name of a benchmark run) from ``seed`` twice,
    the second time from weights one float32 step apart, and measure how far apart they end.

    Runs with :func:`helpers.course.choose_threads` torch threads, as the benchmark does.
    """
    if isinstance(recipe, str):
        recipe = RUNS[check_name(recipe)].recipe
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe or a run name, got {type(recipe).__name__}")
    seed = _check_seed(seed)
    traces, monitors = ([], []), []
    with course_threads():
        for nudge, trace in zip((False, True), traces, strict=True):
            monitors.append(_fit(recipe, seed, label="twin", nudge=nudge, trace=trace)[1])
    distance = torch.stack(traces[1]) - torch.stack(traces[0])
    return Twins(
        recipe,
        seed,
        distance.norm(dim=1).numpy(),
        np.stack([m.losses for m in monitors]),
        tuple(diagnose(m, baseline=BASELINE) for m in monitors),
    )


# --- the benchmark -------------------------------------------------------------------------------


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


@functools.cache
def _run_cached(name: str, seed: int) -> RunResult:
    entry = RUNS[name]
    with course_threads():
        start = time.perf_counter()
        monitor, accuracy, test_loss = train(entry.recipe, seed, label=name)
        seconds = time.perf_counter() - start
    return RunResult(name, seed, entry.expected, monitor, accuracy, test_loss, seconds)


def run(name: str, seed: int = 0) -> RunResult:
    """Train benchmark run ``name`` (a key of :data:`RUNS`) from ``seed``; cached per process.

    Uses ``helpers.course.choose_threads()`` torch threads for the run (1 unless VG_THREADS says
    otherwise) and restores the previous count afterwards.
    """
    return _run_cached(check_name(name), _check_seed(seed))


def benchmark(seeds=(0,), names=None) -> list[RunResult]:
    """Every run (or those in ``names``) for every seed, in :data:`RUNS` order."""
    names = list(RUNS) if names is None else [check_name(n) for n in names]
    seeds = [_check_seed(s) for s in seeds]
    return [run(name, seed) for name in names for seed in seeds]
