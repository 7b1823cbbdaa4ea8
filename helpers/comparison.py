"""Notebook 07's comparison: the failing network of notebook 03, rescued (or not) by one change
at a time, trained on the same data, step budget and seeds (every configuration's seeds side by
side through ``helpers.training.train_many``). The table it prints is in
:mod:`helpers.comparison_table`.
"""

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from torch import nn

from helpers import _validate, training
from helpers.activations import gain
from helpers.comparison_table import Comparison, Row
from helpers.course import progress
from helpers.data import mean_baseline_loss, toy_regression
from helpers.models import linear_layers, mlp
from helpers.signal import first_last_ratio, unchanged_fractions

# --- the failing network and the training budget -------------------------------------------------

# The failing network of notebook 03 (section 1): mlp(10, 32, activation="sigmoid",
# init="normal", scale=0.005), every weight drawn from N(0, 0.005²), biases zero, trained by plain
# full-batch SGD (lr 0.02, 200 steps) on toy_regression(256, seed=0). Near z = 0 each layer
# multiplies the backward signal by about σ'(0)·0.005·√32 ≈ 0.007.
FAILING_NETWORK = {
    "depth": 10,
    "width": 32,
    "activation": "sigmoid",
    "init": "normal",
    "scale": 0.005,
}


@dataclass(frozen=True)
class Budget:
    """What every configuration gets: the same data, number of steps and seeds.

    steps: full-batch optimizer steps. lr: SGD's learning rate (plain SGD: no momentum, no weight
    decay). steps and lr default to notebook 03's training run of the failing network.
    adam_lr: Adam's learning rate (betas 0.9, 0.999, eps 1e-8, torch's defaults).
    n_examples, data_seed: the training set, ``toy_regression(n_examples, seed=data_seed)``.
    target_fraction: a run has *reached the target* once its loss is at most this fraction of
    the mean-predictor loss Var(y) (0.5: the network explains half the variance, R² ≥ 0.5).
    """

    steps: int = 200
    lr: float = 0.02
    adam_lr: float = 0.01
    n_examples: int = 256
    data_seed: int = 0
    target_fraction: float = 0.5


DEFAULT_BUDGET = Budget()
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Mitigation:
    """One row of the comparison: the failing network with ``changes`` applied.

    changes: keyword overrides for ``helpers.models.mlp`` (on top of :data:`FAILING_NETWORK`).
    optimizer: "sgd" or "adam". caveat: what else this change alters, as a reviewer would ask.
    """

    label: str
    changes: Mapping = field(default_factory=dict)
    optimizer: str = "sgd"
    caveat: str = ""


def _matched_init(activation: str) -> dict:
    """Var(W) = g²/fan_in with g = ``helpers.activations.gain`` (torch's ``calculate_gain``):
    He's 2/fan_in for ReLU, 2/((1 + slope²)·fan_in) for Leaky ReLU; torch defines no gain for
    ELU, so 1/fan_in there (the course's choice in notebook 05)."""
    return {"activation": activation, "init": "he", "scale": gain(activation)}


MITIGATIONS = {
    "baseline": Mitigation(
        "baseline (failing)", {}, "sgd", "deep sigmoid, weights N(0, 0.005²), plain SGD"
    ),
    "relu": Mitigation(
        "ReLU + He init",
        _matched_init("relu"),
        "sgd",
        "two changes: with the tiny init kept, a ReLU stack vanishes too; He's rule fits ReLU",
    ),
    "leaky_relu": Mitigation(
        "Leaky ReLU + He init",
        _matched_init("leaky_relu"),
        "sgd",
        "two changes, as ReLU; He's variance for slope 0.01 is 2/((1 + 0.01²)·fan_in)",
    ),
    "elu": Mitigation(
        "ELU + 1/fan_in init",
        _matched_init("elu"),
        "sgd",
        "two changes; He's rule is derived for ReLU and torch has no ELU gain: Var = 1/fan_in",
    ),
    "xavier": Mitigation(
        "Xavier init",
        {"init": "xavier", "scale": None},
        "sgd",
        "keeps the sigmoid, whose slope of at most 1/4 still shrinks the gradient every layer",
    ),
    "he": Mitigation(
        "He init",
        {"init": "he", "scale": None},
        "sgd",
        "He's Var = 2/fan_in is derived for ReLU; on a sigmoid net it is just a larger scale",
    ),
    "batch_norm": Mitigation(
        "batch norm",
        {"norm": "batch"},
        "sgd",
        "adds γ, β per unit; needs a batch; why it helps is debated (ICS vs smoothness)",
    ),
    "layer_norm": Mitigation(
        "layer norm",
        {"norm": "layer"},
        "sgd",
        "normalizes across the units of one example, not across the batch",
    ),
    "residual": Mitigation(
        "residual blocks",
        {"residual": True},
        "sgd",
        "x + σ(Wx) adds σ's mean 0.5 per block: the activations grow with depth",
    ),
    "fewer_layers": Mitigation(
        "fewer layers (2)",
        {"depth": 2},
        "sgd",
        "a different, smaller model: fewer parameters and less capacity",
    ),
    "adam": Mitigation(
        "Adam",
        {},
        "adam",
        "changes the optimizer, not the gradient flow: the ratio at init is the baseline's",
    ),
}
OPTIMIZERS = ("sgd", "adam")


def model_kwargs(name: str) -> dict:
    """The ``mlp`` keyword arguments of configuration ``name``: the failing network + changes."""
    _validate.choice(name, MITIGATIONS, "mitigation")
    return {**FAILING_NETWORK, **MITIGATIONS[name].changes}


def build_model(name: str, seed: int) -> nn.Sequential:
    """The network of configuration ``name`` with its weights drawn from ``seed``."""
    kwargs = model_kwargs(name)
    depth, width = kwargs.pop("depth"), kwargs.pop("width")
    return mlp(depth, width, seed=_check_seed(seed), **kwargs)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable numbers in ``model`` (weights, biases, norm gains and shifts)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --- training one configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One training run. losses[t] is the full-batch MSE after t steps (t = 0 .. steps);
    NaN once a run diverges. ratio_start/ratio_end: :func:`first_last_ratio` before the first
    step and after the last. unchanged: per Linear layer (first first), the fraction of its
    weights still bit-for-bit equal to their initial values after training (None if not
    recorded)."""

    name: str
    seed: int
    losses: np.ndarray
    ratio_start: float
    ratio_end: float
    parameters: int
    unchanged: np.ndarray | None = None

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    @property
    def diverged(self) -> bool:
        return not np.isfinite(self.losses).all()


def train(model: nn.Module, optimizer: str = "sgd", budget: Budget = DEFAULT_BUDGET):
    """Train ``model`` in place for ``budget.steps`` full-batch steps of plain SGD (``budget.lr``)
    or Adam (``budget.adam_lr``) on :func:`training_data` with the MSE loss, through
    ``helpers.training.train``. Returns the losses, losses[t] = the loss after t steps
    (t = 0 .. steps); NaN from the first non-finite loss on (the run diverged and was stopped)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _validate.choice(optimizer, OPTIMIZERS, "optimizer")
    _check_budget(budget)
    lr = budget.adam_lr if optimizer == "adam" else budget.lr
    result = training.train(
        model, training_data(budget), steps=budget.steps, lr=lr, optimizer=optimizer
    )
    return _padded(np.append(result.losses, result.final_loss), budget.steps)


def _padded(losses: np.ndarray, steps: int) -> np.ndarray:
    """losses[0 .. steps] with every non-finite value and everything missing after it NaN."""
    out = np.full(steps + 1, np.nan)
    bad = np.flatnonzero(~np.isfinite(losses))
    keep = losses[: bad[0]] if bad.size else losses
    out[: len(keep)] = keep
    return out


def _run(name: str, seed: int, model: nn.Module, start: tuple, losses: np.ndarray) -> Run:
    """A :class:`Run` of the trained ``model``; ``start`` = (ratio before training, weights)."""
    x, y = training_data_cached(start[2])
    diverged = not np.isfinite(losses).all()
    ratio_end = math.nan if diverged else first_last_ratio(model, x, y)
    unchanged = unchanged_fractions(model, start[1])
    return Run(name, int(seed), losses, start[0], ratio_end, parameter_count(model), unchanged)


def _start(model: nn.Module, budget: Budget) -> tuple:
    x, y = training_data(budget)
    weights = [layer.weight.detach().clone() for layer in linear_layers(model)]
    return first_last_ratio(model, x, y), weights, budget


def train_run(name: str, seed: int = 0, budget: Budget = DEFAULT_BUDGET) -> Run:
    """Train configuration ``name`` (a key of :data:`MITIGATIONS`) from ``seed`` with
    :func:`train`; measure the first/last ratio before and after."""
    _check_budget(budget)
    model = build_model(name, seed)
    start = _start(model, budget)
    losses = train(model, MITIGATIONS[name].optimizer, budget)
    return _run(name, seed, model, start, losses)


# Rows trained one seed at a time with train_run when ``batched`` is False (compare's default):
# measured on this 2-core machine, three stacked copies under course_threads cost about twice
# the CPU time of three single runs, and batch norm's stacked statistics are slower still.
ONE_AT_A_TIME = frozenset({"batch_norm"})


def train_row(
    name: str, seeds: Sequence[int], budget: Budget = DEFAULT_BUDGET, *, batched: bool = False
) -> tuple:
    """Train configuration ``name`` from every seed at once (``helpers.training.train_many``:
    the seeds' copies side by side as one computation; the rows of :data:`ONE_AT_A_TIME` one
    seed after the other); one :class:`Run` per seed, the same runs :func:`train_run` gives up to
    float rounding."""
    _check_budget(budget)
    if not batched or name in ONE_AT_A_TIME:
        return tuple(train_run(name, seed, budget) for seed in seeds)
    optimizer = MITIGATIONS[name].optimizer
    starts = {}

    def build(seed: int) -> nn.Module:
        model = build_model(name, seed)
        starts[seed] = _start(model, budget)
        return model

    result = training.train_many(
        build,
        training_data(budget),
        seeds=seeds,
        lrs=[budget.adam_lr if optimizer == "adam" else budget.lr],
        steps=budget.steps,
        optimizer=optimizer,
    )
    runs = []
    for k, (seed, model) in enumerate(zip(result.seeds, result.models, strict=True)):
        losses = _padded(np.append(result.losses[k], result.final_loss[k]), budget.steps)
        runs.append(_run(name, int(seed), model, starts[int(seed)], losses))
    return tuple(runs)


def training_data(budget: Budget = DEFAULT_BUDGET):
    """The training set every configuration shares: ``toy_regression(n, seed=data_seed)``."""
    return toy_regression(budget.n_examples, seed=budget.data_seed)


@functools.lru_cache(maxsize=8)
def training_data_cached(budget: Budget):
    return training_data(budget)


# --- the comparison ------------------------------------------------------------------------------


def compare(
    names: Sequence[str] | None = None,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    budget: Budget = DEFAULT_BUDGET,
) -> Comparison:
    """Train every configuration in ``names`` (default: all of :data:`MITIGATIONS`, baseline
    first) from each seed in ``seeds`` under the same ``budget``; return a :class:`Comparison`.

    The seeds change the initial weights only (the data and the full-batch steps are the same).
    Results are cached in-process: a second call with the same arguments returns at once.
    """
    names = tuple(MITIGATIONS) if names is None else tuple(names)
    if not names:
        raise ValueError("names must list at least one configuration, e.g. ['baseline', 'relu']")
    for name in names:
        _validate.choice(name, MITIGATIONS, "mitigation")
    seeds = tuple(_check_seed(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must list at least one seed, e.g. (0, 1, 2)")
    _check_budget(budget)
    return _compare_cached(names, seeds, budget)


@functools.lru_cache(maxsize=16)
def _compare_cached(names: tuple, seeds: tuple, budget: Budget) -> Comparison:
    _, y = training_data(budget)
    baseline = mean_baseline_loss(y)
    target = budget.target_fraction * baseline
    runs = {name: _row_cached(name, seeds, budget) for name in progress(names, desc="training")}
    rows = tuple(Row(n, MITIGATIONS[n].label, runs[n], target) for n in names)
    return Comparison(rows, budget, seeds, baseline, target)


@functools.lru_cache(maxsize=64)
def _row_cached(name: str, seeds: tuple, budget: Budget) -> tuple:
    return train_row(name, seeds, budget)


# --- validation ----------------------------------------------------------------------------------


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def _check_budget(budget) -> Budget:
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a helpers.mitigations.Budget, got {budget!r}")
    _validate.positive_int(budget.steps, "budget.steps")
    _validate.positive(budget.lr, "budget.lr")
    _validate.positive(budget.adam_lr, "budget.adam_lr")
    _validate.positive_int(budget.n_examples, "budget.n_examples")
    if not isinstance(budget.target_fraction, Real) or not 0 < budget.target_fraction <= 1:
        raise ValueError(
            f"budget.target_fraction must be in (0, 1], got {budget.target_fraction!r}"
        )
    return budget
