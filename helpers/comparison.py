"""Notebook 07's configurations: the failing network of notebook 03 and, per configuration, one
change to it (:data:`MITIGATIONS`), with the data, step budget and seeds they share, and their
seeded training (through ``helpers.training``).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from torch import nn

from helpers import _validate, training
from helpers.activations import gain
from helpers.data import toy_regression
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
    """

    steps: int = 200
    lr: float = 0.02
    adam_lr: float = 0.01
    n_examples: int = 256
    data_seed: int = 0


DEFAULT_BUDGET = Budget()
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Mitigation:
    """One configuration: the failing network with ``changes`` applied.

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


def train_run(name: str, seed: int = 0, budget: Budget = DEFAULT_BUDGET) -> Run:
    """Train configuration ``name`` (a key of :data:`MITIGATIONS`) from ``seed`` with
    :func:`train`; measure the first/last ratio before and after, and which weights moved."""
    _check_budget(budget)
    model = build_model(name, seed)
    x, y = training_data(budget)
    ratio_start = first_last_ratio(model, x, y)
    weights = [layer.weight.detach().clone() for layer in linear_layers(model)]
    losses = train(model, MITIGATIONS[name].optimizer, budget)
    ratio_end = math.nan if not np.isfinite(losses).all() else first_last_ratio(model, x, y)
    unchanged = unchanged_fractions(model, weights)
    return Run(name, int(seed), losses, ratio_start, ratio_end, parameter_count(model), unchanged)


def training_data(budget: Budget = DEFAULT_BUDGET):
    """The training set every configuration shares: ``toy_regression(n, seed=data_seed)``."""
    return toy_regression(budget.n_examples, seed=budget.data_seed)


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
    return budget
