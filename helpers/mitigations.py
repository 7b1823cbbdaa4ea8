"""The mitigations of notebook 07, measured: the failing network of notebook 03, rescued (or not)
by one change at a time, on the same data, step budget and seeds, summarised in one table.

Also the small measurements the notebook's sections stand on: how batch normalization rescales a
layer's inputs, how the residual identity path carries ∂L/∂x_l, what Adam's first step does to a
tiny gradient, and which gradient entries are exactly zero in float32.
"""

import copy
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn

from helpers import _validate
from helpers.activations import gain
from helpers.course import course_threads, progress
from helpers.models import linear_layers, mean_baseline_loss, mlp, toy_regression
from helpers.monitor import gradient_profile

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
# A run "ends at the mean predictor" (learned nothing) when its final loss is within this
# fraction of Var(y). The stuck rows of notebook 07 end within 1e-5 of it, the learning rows
# below 0.5 of it, so the count does not depend on the floating-point path.
STUCK_TOLERANCE = 0.01


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


# --- measuring one network -----------------------------------------------------------------------


def first_last_ratio(model: nn.Module, x, y) -> float:
    """‖∂L/∂W_first‖ / ‖∂L/∂W_last‖: the weight-gradient norm of the first hidden layer over that
    of the last hidden layer, for the MSE loss on (x, y). It measures how much of the gradient
    survives the trip down the hidden stack: 1 means none is lost, 1e-12 means it vanished.

    The output layer is left out on purpose: it is linear, and its gradient grows with the size
    of the last hidden representation, not with what the stack does to the gradient. (For a
    single hidden layer, first = last and the ratio is 1.)

    Computed on a float64 copy of ``model`` (via ``helpers.monitor.gradient_profile``), so that
    norms as small as 1e-60 are measured instead of underflowing to 0 as float32 would (in float32,
    ``torch.linalg.vector_norm`` of entries below about 1e-23 is 0). The model is not changed.
    """
    profile = gradient_profile(_float64_copy(model), _as64(x), _as64(y))
    return float(profile[0] / profile[-2])


def _float64_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).double()


def _as64(t) -> torch.Tensor:
    return torch.as_tensor(t).detach().double()


# --- training one configuration ------------------------------------------------------------------


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


def _optimizer(name: str, params, budget: Budget) -> torch.optim.Optimizer:
    """Plain SGD (no momentum, no weight decay) or Adam at torch's defaults; ``foreach=True``
    updates all parameters in one fused call (the same arithmetic, about a third faster here)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=budget.adam_lr, foreach=True)
    return torch.optim.SGD(params, lr=budget.lr, foreach=True)


def train(model: nn.Module, optimizer: str = "sgd", budget: Budget = DEFAULT_BUDGET):
    """Train ``model`` in place for ``budget.steps`` full-batch steps of plain SGD (``budget.lr``)
    or Adam (``budget.adam_lr``) on :func:`training_data` with the MSE loss. Returns the losses,
    losses[t] = the loss after t steps (t = 0 .. steps); NaN from the first non-finite loss on
    (the run diverged and was stopped)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _validate.choice(optimizer, OPTIMIZERS, "optimizer")
    _check_budget(budget)
    x, y = training_data(budget)
    opt = _optimizer(optimizer, model.parameters(), budget)
    loss_fn = nn.MSELoss()
    losses = np.full(budget.steps + 1, np.nan)
    with course_threads():
        for step in range(budget.steps + 1):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            losses[step] = loss.item()
            if not math.isfinite(losses[step]):
                losses[step] = np.nan
                break
            if step < budget.steps:
                loss.backward()
                opt.step()
    return losses


def train_run(name: str, seed: int = 0, budget: Budget = DEFAULT_BUDGET) -> Run:
    """Train configuration ``name`` (a key of :data:`MITIGATIONS`) from ``seed`` with
    :func:`train`; measure the first/last ratio before and after."""
    _check_budget(budget)
    x, y = training_data(budget)
    model = build_model(name, seed)
    ratio_start = first_last_ratio(model, x, y)
    start = [layer.weight.detach().clone() for layer in linear_layers(model)]
    losses = train(model, MITIGATIONS[name].optimizer, budget)
    diverged = not np.isfinite(losses).all()
    ratio_end = math.nan if diverged else first_last_ratio(model, x, y)
    unchanged = _unchanged_fractions(model, start)
    return Run(name, int(seed), losses, ratio_start, ratio_end, parameter_count(model), unchanged)


def _unchanged_fractions(model: nn.Module, start: list[torch.Tensor]) -> np.ndarray:
    """Per Linear layer, the fraction of weights bit-for-bit equal to ``start`` (their values
    before training)."""
    return np.array(
        [
            float((layer.weight.detach() == w0).double().mean())
            for layer, w0 in zip(linear_layers(model), start, strict=True)
        ]
    )


def training_data(budget: Budget = DEFAULT_BUDGET):
    """The training set every configuration shares: ``toy_regression(n, seed=data_seed)``."""
    return toy_regression(budget.n_examples, seed=budget.data_seed)


def steps_to_target(losses, target: float) -> int | None:
    """The first t with losses[t] <= target (the number of steps taken to get there), or None."""
    losses = np.asarray(losses, dtype=np.float64)
    hit = np.flatnonzero(losses <= target)
    return int(hit[0]) if hit.size else None


# --- the comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One configuration summarised over its seeds."""

    name: str
    label: str
    runs: tuple
    target: float

    @property
    def final_losses(self) -> np.ndarray:
        return np.array([r.final_loss for r in self.runs])

    @property
    def steps(self) -> list:
        return [steps_to_target(r.losses, self.target) for r in self.runs]

    @property
    def reached(self) -> int:
        return sum(s is not None for s in self.steps)

    @property
    def diverged(self) -> int:
        return sum(r.diverged for r in self.runs)

    @property
    def ratios_start(self) -> np.ndarray:
        return np.array([r.ratio_start for r in self.runs])

    @property
    def ratios_end(self) -> np.ndarray:
        return np.array([r.ratio_end for r in self.runs])

    @property
    def steps_or_inf(self) -> np.ndarray:
        """Steps to target per seed as floats, inf for a seed that never reached it (so that
        "every seed reached it within N steps" is ``(steps_or_inf <= N).all()``)."""
        return np.array([math.inf if s is None else float(s) for s in self.steps])

    @property
    def median_steps(self) -> float | None:
        """Median steps-to-target over the seeds that reached it (None if none did)."""
        hits = [s for s in self.steps if s is not None]
        return float(np.median(hits)) if hits else None


@dataclass(frozen=True)
class Comparison:
    """Every configuration's runs, with the target and the mean-predictor loss they are read
    against. ``str(comparison)`` is the fixed-width table the notebook prints."""

    rows: tuple
    budget: Budget
    seeds: tuple
    mean_predictor_loss: float
    target: float

    def __getitem__(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        valid = ", ".join(repr(r.name) for r in self.rows)
        raise KeyError(f"no configuration {name!r} in this comparison; it has {valid}")

    @property
    def names(self) -> list:
        return [r.name for r in self.rows]

    def _rows(self, names) -> list:
        if isinstance(names, str):
            raise TypeError(f"names must be a list of configuration names, got {names!r}")
        rows = [self[name] for name in names]
        if not rows:
            raise ValueError("names must list at least one configuration")
        return rows

    def final_ratios(self, names: Sequence[str]) -> np.ndarray:
        """Final loss ÷ mean-predictor loss of every run of the configurations ``names`` (one
        value per configuration and seed, NaN for a diverged run): 1 means "learned nothing"."""
        finals = np.concatenate([row.final_losses for row in self._rows(names)])
        return finals / self.mean_predictor_loss

    def steps_needed(self, names: Sequence[str]) -> np.ndarray:
        """Steps to target of every run of the configurations ``names``, inf where a run never
        reached it (one value per configuration and seed)."""
        return np.concatenate([row.steps_or_inf for row in self._rows(names)])

    def at_mean_predictor(self, row: Row, tolerance: float = STUCK_TOLERANCE) -> int:
        """How many of ``row``'s seeds end within ``tolerance`` (relative) of the mean-predictor
        loss: runs that learned nothing."""
        ratios = row.final_losses / self.mean_predictor_loss
        return int(np.sum(np.abs(ratios - 1) <= tolerance))

    def verdicts(self) -> str:
        """The comparison's verdict columns as text: per configuration its parameter count, how
        many seeds reached the target, how many ended at the mean predictor (within 1%) and the
        first/last gradient ratio at initialization. Unlike :meth:`table`, nothing here depends
        on the last digits of a trajectory, so it prints the same on every floating-point path
        as long as the counts keep their margins (the notebook checks those as claims)."""
        return format_verdicts(self)

    def table(self) -> str:
        """The comparison as a fixed-width text table (rounded, deterministic)."""
        return format_table(self)

    __str__ = table


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
    jobs = [(name, seed) for name in names for seed in seeds]
    runs = {}
    with course_threads():
        for name, seed in progress(jobs, desc="training"):
            runs.setdefault(name, []).append(_train_cached(name, seed, budget))
    rows = tuple(Row(n, MITIGATIONS[n].label, tuple(runs[n]), target) for n in names)
    return Comparison(rows, budget, seeds, baseline, target)


@functools.lru_cache(maxsize=256)
def _train_cached(name: str, seed: int, budget: Budget) -> Run:
    return train_run(name, seed, budget)


# --- the table -----------------------------------------------------------------------------------


def _geometric_summary(values: np.ndarray) -> str:
    """'g [lo, hi]' with g the geometric mean, for positive values spanning decades."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "n/a"
    if (values <= 0).any():
        return f"{values.min():.0e} .. {values.max():.0e}"
    geo = float(np.exp(np.mean(np.log(values))))
    return f"{geo:.0e} [{values.min():.0e}, {values.max():.0e}]"


DIVERGED_MARK = "†"


def _loss_summary(row: Row) -> str:
    finite = row.final_losses[np.isfinite(row.final_losses)]
    if finite.size == 0:
        return "diverged"
    text = f"{finite.mean():.3f} ± {finite.std():.3f}"
    return f"{text} {DIVERGED_MARK}" if row.diverged else text


def _steps_summary(row: Row) -> str:
    hits = [s for s in row.steps if s is not None]
    if not hits:
        return "not reached"
    return f"{np.median(hits):.0f} [{min(hits)}, {max(hits)}]"


COLUMNS = (
    ("mitigation", 20),
    ("params", 6),
    ("final loss", 15),
    ("reached", 7),
    ("steps to target", 15),
    ("ratio at init", 19),
    ("ratio after", 19),
)


def format_table(comparison: Comparison) -> str:
    """Fixed-width text: per configuration its parameter count, the final loss (mean ± std over
    the seeds), how many seeds reached the target, the steps they took (median [min, max]) and
    the first/last gradient ratio ‖∂L/∂W_first‖/‖∂L/∂W_last‖ before and after training
    (geometric mean [min, max])."""
    n = len(comparison.seeds)
    lines = [
        "  ".join(f"{title:<{width}}" for title, width in COLUMNS),
        "  ".join("-" * width for _, width in COLUMNS),
    ]
    for row in comparison.rows:
        cells = (
            row.label,
            f"{row.runs[0].parameters:>{COLUMNS[1][1]}}",
            _loss_summary(row),
            f"{row.reached}/{n}",
            _steps_summary(row),
            _geometric_summary(row.ratios_start),
            _geometric_summary(row.ratios_end),
        )
        lines.append("  ".join(f"{c:<{w}}" for c, (_, w) in zip(cells, COLUMNS, strict=True)))
    budget = comparison.budget
    lines.append(
        f"target: loss <= {comparison.target:.4f} ({budget.target_fraction:g} x the mean "
        f"predictor's {comparison.mean_predictor_loss:.4f}); {budget.steps} steps; SGD lr "
        f"{budget.lr:g}, Adam lr {budget.adam_lr:g}; seeds {', '.join(map(str, comparison.seeds))}"
    )
    if any(0 < row.diverged < len(row.runs) for row in comparison.rows):
        lines.append(
            f"{DIVERGED_MARK} a seed diverged (loss NaN or inf): mean ± std over the other seeds"
        )
    return "\n".join(line.rstrip() for line in lines)


VERDICT_COLUMNS = (
    ("mitigation", 20),
    ("params", 6),
    ("reached", 7),
    ("at the mean predictor", 21),
    ("ratio at init", 19),
)


def format_verdicts(comparison: Comparison) -> str:
    """Fixed-width text of :meth:`Comparison.verdicts`: parameter count, seeds that reached the
    target, seeds that ended within :data:`STUCK_TOLERANCE` of the mean-predictor loss, and the
    first/last gradient ratio at initialization (geometric mean [min, max], deterministic)."""
    n = len(comparison.seeds)
    lines = [
        "  ".join(f"{title:<{width}}" for title, width in VERDICT_COLUMNS),
        "  ".join("-" * width for _, width in VERDICT_COLUMNS),
    ]
    for row in comparison.rows:
        cells = (
            row.label,
            f"{row.runs[0].parameters:>{VERDICT_COLUMNS[1][1]}}",
            f"{row.reached}/{n}",
            f"{comparison.at_mean_predictor(row)}/{n}",
            _geometric_summary(row.ratios_start),
        )
        widths = [w for _, w in VERDICT_COLUMNS]
        lines.append("  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)))
    budget = comparison.budget
    lines.append(
        f"reached: loss <= {budget.target_fraction:g} x the mean predictor's at some step; "
        f"at the mean predictor: final loss within {STUCK_TOLERANCE:.0%} of it; "
        f"{budget.steps} steps; seeds {', '.join(map(str, comparison.seeds))}"
    )
    return "\n".join(line.rstrip() for line in lines)


# --- batch normalization: what it does to a layer's inputs ---------------------------------------


@dataclass(frozen=True)
class Spread:
    """Per hidden layer (first first):

    linear: the spread over the batch of the Linear layer's output z (standard deviation over the
        examples, averaged over the units): how much z varies with the input.
    activation_input: the same for the activation's input (z after the norm, if any).
    across_units: the spread of z over the units of one example (standard deviation over the
        units, averaged over the examples), the scale a layer norm divides by.
    """

    linear: np.ndarray
    activation_input: np.ndarray
    across_units: np.ndarray


def preactivation_spread(model: nn.Module, x) -> Spread:
    """How much each hidden unit's input varies from example to example, before and after the
    norm layer. Batch normalization (Ioffe & Szegedy 2015, Algorithm 1) sets
    ẑ = (z − mean_batch(z)) / √(var_batch(z) + ε), then γẑ + β; with γ = 1, β = 0 at the start,
    every unit's input has batch standard deviation ≈ 1 however small the weights are.

    Runs one forward pass of ``x`` through a float64 copy of ``model`` (in its current mode;
    BatchNorm in training mode uses the batch's statistics), so the model is untouched.
    """
    from helpers.monitor import activation_modules

    probe = _float64_copy(model)
    hidden = [layer for layer in linear_layers(probe)][:-1]
    acts = [module for _, module, _ in activation_modules(probe)]
    seen: dict = {"linear": [], "act": []}

    def keep(kind, take_input):
        def hook(module, inputs, output):
            seen[kind].append((inputs[0] if take_input else output).detach())

        return hook

    handles = [h.register_forward_hook(keep("linear", False)) for h in hidden]
    handles += [a.register_forward_hook(keep("act", True)) for a in acts]
    try:
        with torch.no_grad():
            probe(_as64(x))
    finally:
        for handle in handles:
            handle.remove()

    def spread(tensors, dim=0):
        return np.array([float(t.std(dim=dim, correction=0).mean()) for t in tensors])

    return Spread(spread(seen["linear"]), spread(seen["act"]), spread(seen["linear"], dim=1))


# Next to the sigmoid's output of 0.5, float64's spacing is 2^-53 ≈ 1.1e-16: the outputs of a
# layer whose input spread is below this differ only by rounding, so such a spread is noise.
RESOLUTION = 1e-16


def format_spread(value: float, floor: float = RESOLUTION) -> str:
    """A spread as ``'6.5e-03'``, or ``'<1e-16'`` when it is below ``floor`` (exact zeros
    included): below float64's resolution next to 0.5 the digits are rounding noise that changes
    with the CPU and BLAS build, and only the bound is worth printing."""
    value = float(value)
    floor = _validate.positive(floor, "floor")
    if math.isnan(value) or value < 0:
        raise ValueError(f"a spread is a nonnegative number, got {value!r}")
    return f"{value:.1e}" if value >= floor else f"<{floor:.0e}"


def weight_gradient_after_scaling(model: nn.Module, layer: int, factor: float, x, y) -> float:
    """‖∂L/∂W_layer‖ after multiplying W_layer by ``factor``, over ‖∂L/∂W_layer‖ before (float64
    copies; ``layer`` counts the Linear layers from 0).

    Behind a batch norm the layer is scale-invariant: BN(c·Wx) = BN(Wx), so the loss does not
    change and the gradient scales as 1/c (Ioffe & Szegedy 2015, sec. 3.3). Without a norm the
    ratio depends on the network.
    """
    factor = _validate.positive(factor, "factor")
    layers = linear_layers(model)
    if isinstance(layer, bool) or not isinstance(layer, Integral) or not 0 <= layer < len(layers):
        raise ValueError(f"layer must be an integer in [0, {len(layers) - 1}], got {layer!r}")
    before = gradient_profile(_float64_copy(model), _as64(x), _as64(y))[layer]
    scaled = _float64_copy(model)
    with torch.no_grad():
        linear_layers(scaled)[layer].weight.mul_(factor)
    after = gradient_profile(scaled, _as64(x), _as64(y))[layer]
    return float(after / before)


# --- residual connections: the identity path -----------------------------------------------------


def hidden_outputs(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules whose outputs are the hidden representations x_1 .. x_depth of an
    ``helpers.models.mlp``: ``act1`` then ``act2``.. (plain) or ``block2``.. (residual)."""
    found = [
        (name, module)
        for name, module in model.named_children()
        if name.startswith("act") or name.startswith("block")
    ]
    if not found:
        raise ValueError(
            "model has no hidden layers named act<i> or block<i>; build it with helpers.models.mlp"
        )
    return found


def representation_gradients(model: nn.Module, x, y) -> np.ndarray:
    """‖∂L/∂x_l‖ for each hidden representation x_1 .. x_depth (first first), MSE loss, float64.

    In a plain stack x_(l+1) = f(W x_l) and ∂L/∂x_l = ∂L/∂x_(l+1) · diag(f'(z)) W: a product
    whose factors shrink it layer by layer. In a residual block x_(l+1) = x_l + f(W x_l), so
    ∂L/∂x_l = ∂L/∂x_(l+1) · (I + diag(f'(z)) W): the identity term passes ∂L/∂x_(l+1) through
    unchanged however small the second term is (He, Zhang, Ren & Sun 2016).
    """
    probe = _float64_copy(model)
    outputs: list = []
    handles = [
        module.register_forward_hook(lambda m, i, out: outputs.append(out))
        for _, module in hidden_outputs(probe)
    ]
    try:
        with torch.enable_grad():
            loss = nn.functional.mse_loss(probe(_as64(x)), _as64(y))
            grads = torch.autograd.grad(loss, outputs)
    finally:
        for handle in handles:
            handle.remove()
    return np.array([float(torch.linalg.vector_norm(g)) for g in grads])


# --- Adam: rescaled steps, and what no rescaling can fix -----------------------------------------


ADAM_EPS = 1e-8  # torch.optim.Adam's default ε


def adam_first_step(grad, lr: float = 1e-3, eps: float = ADAM_EPS):
    """The size of Adam's first update of a weight whose gradient is ``grad``:
    lr · g / (|g| + ε). After one step the bias-corrected moments are m̂ = g and v̂ = g²
    (Kingma & Ba 2015, Algorithm 1), so the update is lr · m̂ / (√v̂ + ε).

    For |g| ≫ ε this is ±lr whatever the gradient's size: tiny gradients get full-size steps.
    For |g| ≪ ε it is lr · g / ε, still tiny; and for g = 0 it is exactly 0.
    """
    lr = _validate.positive(lr, "lr")
    eps = _validate.nonnegative(eps, "eps")
    g = np.asarray(grad, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        step = np.where(g == 0, 0.0, lr * (g / (np.abs(g) + eps)))
    return float(step) if step.ndim == 0 else step


def weight_gradients(model: nn.Module, x, y) -> list[torch.Tensor]:
    """∂L/∂W of every Linear layer (first first), MSE loss, in the model's own dtype (float32
    for the course's models), computed without touching the model's ``.grad`` fields."""
    weights = [layer.weight for layer in linear_layers(model)]
    with torch.enable_grad():
        loss = nn.functional.mse_loss(model(torch.as_tensor(x)), torch.as_tensor(y))
        return [g.detach() for g in torch.autograd.grad(loss, weights)]


@dataclass(frozen=True)
class AdamOnVanishing:
    """Per Linear layer (first first): ``zero_gradients``, the fraction of weight-gradient
    entries that are exactly 0 in float32 at the start; ``largest_gradient``, max |∂L/∂W| at the
    start; ``unchanged``, the fraction of weights still bit-for-bit equal to their initial
    value after ``steps`` Adam steps. ``losses``: the loss before the first and after the last
    step."""

    zero_gradients: np.ndarray
    largest_gradient: np.ndarray
    unchanged: np.ndarray
    steps: int
    losses: tuple


def adam_on_vanishing(model: nn.Module, x, y, *, steps: int = 20, lr: float = 1e-3):
    """Train a copy of ``model`` with Adam (torch defaults otherwise) for ``steps`` full-batch
    steps on (x, y); report which layers' weights moved at all.

    Exactly-zero gradients give exactly-zero Adam steps (m = v = 0, so the update is 0/(0 + ε)).
    Gradients far below ε give steps of lr·g/ε, which vanish when added to a weight in float32.
    """
    steps = _validate.positive_int(steps, "steps")
    lr = _validate.positive(lr, "lr")
    trained = copy.deepcopy(model)
    grads = weight_gradients(trained, x, y)
    zero = np.array([float((g == 0).double().mean()) for g in grads])
    largest = np.array([float(g.abs().max()) for g in grads])
    start = [layer.weight.detach().clone() for layer in linear_layers(trained)]
    optimizer = torch.optim.Adam(trained.parameters(), lr=lr, foreach=True)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    with course_threads():
        losses = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(trained(x), y)
            losses.append(loss.item())
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            losses.append(float(nn.functional.mse_loss(trained(x), y)))
    unchanged = _unchanged_fractions(trained, start)
    return AdamOnVanishing(zero, largest, unchanged, steps, (losses[0], losses[-1]))


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


__all__ = [
    "ADAM_EPS",
    "RESOLUTION",
    "STUCK_TOLERANCE",
    "AdamOnVanishing",
    "Budget",
    "Comparison",
    "DEFAULT_BUDGET",
    "DEFAULT_SEEDS",
    "FAILING_NETWORK",
    "MITIGATIONS",
    "Mitigation",
    "OPTIMIZERS",
    "Row",
    "Run",
    "Spread",
    "adam_first_step",
    "adam_on_vanishing",
    "build_model",
    "compare",
    "course_threads",
    "first_last_ratio",
    "format_spread",
    "format_table",
    "format_verdicts",
    "hidden_outputs",
    "model_kwargs",
    "parameter_count",
    "preactivation_spread",
    "representation_gradients",
    "steps_to_target",
    "train",
    "train_run",
    "training_data",
    "weight_gradient_after_scaling",
    "weight_gradients",
]
