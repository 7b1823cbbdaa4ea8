"""The capstone of notebook 09: mystery training runs to diagnose and repair, and the checklist.

Each mystery is a model, a seeded data set and a ready training loop behind a neutral name
(:func:`mystery`), so the learner finds the cause with ``helpers.monitor.GradientMonitor`` and
``helpers.diagnose.diagnose`` instead of reading it off the code. :func:`run` trains a mystery
with one repair from :data:`FIXES` (cached), :func:`compare` sets it against the original, and
:attr:`Run.target_met` decides whether a repair worked; with the answer key :data:`ANSWERS` this
is what the notebook's checks (``helpers.exercises.nb09``) judge by. :func:`checklist_markdown`
renders the one-page checklist from the thresholds ``diagnose`` uses
(``helpers.diagnose.THRESHOLDS``), so the two cannot drift apart.

The mysteries differ from notebook 04's labelled runs (two moons and blobs, 16-unit MLPs, binary
cross-entropy): a 1-D convolutional net on signals, a deep and a shallow regressor on Friedman's
benchmark function, a three-class GELU classifier and a recurrent net on the adding problem.
"""

import functools
import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from helpers import _validate
from helpers.activations import saturation_threshold, torch_activation
from helpers.course import course_threads, progress
from helpers.diagnose import THRESHOLDS, Diagnosis, diagnose
from helpers.models import INITIALIZERS, init_linear, mlp

MYSTERIES = ("A", "B", "C", "D", "E")

# The menu of repairs. One change each (relu_he changes the activation and the initialization
# together, because He's rule is derived for ReLU). The first five change a feed-forward network,
# the next two the recurrent cell, the rest the training.
FIXES = {
    "relu_he": "ReLU activations with He initialization, Var(W) = 2/fan_in",
    "he_init": "He initialization, Var(W) = 2/fan_in, keeping the activation",
    "xavier": "Xavier/Glorot initialization, Var(W) = 2/(fan_in + fan_out), keeping the activation",
    "batch_norm": "batch normalization after every hidden layer, before its activation",
    "residual": "skip connections: every hidden layer after the first computes x + f(x)",
    "gru": "replace the recurrent cell by a GRU (gated recurrent unit, Cho et al. 2014)",
    "lstm": "replace the recurrent cell by an LSTM (Hochreiter & Schmidhuber 1997)",
    "clip": "clip the gradient norm to 1 before every optimizer step",
    "lower_lr": "divide the learning rate by 10",
    "raise_lr": "multiply the learning rate by 100",
    "none": "change nothing (when nothing is broken, the remedy is to stop training)",
}
FEEDFORWARD_FIXES = ("relu_he", "he_init", "xavier", "batch_norm", "residual")
RECURRENT_FIXES = ("gru", "lstm")
CLIP_NORM = 1.0
LOWER_LR_FACTOR = 0.1
RAISE_LR_FACTOR = 100.0

# What a repaired run must reach (the stated margin of an improvement): on held-out data,
# accuracy >= 0.9 for the classifiers (chance: 1/2 or 1/3) or R² = 1 − MSE/Var(y) >= 0.5 for
# the regressors (0 is the mean predictor); and a training loss at most half the baseline,
# the drop diagnose calls converged (THRESHOLDS["converged_drop"]).
TARGETS = {"accuracy": 0.9, "R²": 0.5}
RECENT_STEPS = 10  # the training loss of a run is the median of its last RECENT_STEPS steps

# The adding problem of mystery E (helpers.sequences): sequence length and batch size per step.
ADDING_LENGTH = 30
ADDING_BATCH = 32


# --- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """A training set, a held-out set and what a constant prediction scores.

    task: "binary" (BCE with logits, y in {0, 1}), "multiclass" (cross-entropy, integer labels)
    or "regression" (MSE). baseline: the training loss of the best constant prediction (ln 2,
    ln 3, Var(y)): a run whose loss sits there has learned nothing but the label frequencies or
    the mean. stream_seed: for online tasks (the adding problem) x and y are None and every step
    draws a fresh batch from a generator with this seed.
    """

    x: torch.Tensor | None
    y: torch.Tensor | None
    x_test: torch.Tensor
    y_test: torch.Tensor
    task: str
    baseline: float
    stream_seed: int | None = None

    @property
    def metric(self) -> str:
        return "R²" if self.task == "regression" else "accuracy"

    def batches(self):
        """An endless iterator of training batches (x, y): the full batch every step, or a
        fresh adding-problem batch per step for an online task."""
        if self.stream_seed is None:
            return itertools.repeat((self.x, self.y))
        from helpers.sequences import adding_problem

        gen = torch.Generator().manual_seed(self.stream_seed)
        return (
            adding_problem(ADDING_BATCH, ADDING_LENGTH, generator=gen) for _ in itertools.count()
        )


def drifts(n: int, *, length: int = 32, seed: int = 0):
    """(x, y): ``n`` noisy signals of shape (n, 1, length) on t in [0, 1); y (n, 1) in {0, 1}.

    x(t) = ±(t − 1/2) + c + 0.5·sin(2π f t + φ) + 0.2·ε(t): a drift down (y = 0) or up (y = 1)
    under a random offset c ~ N(0, 0.3²), an oscillation of f in [1, 4) cycles with a random phase
    φ, and white noise ε ~ N(0, 1). Labels alternate, so the classes are exactly balanced. A linear
    read-out of the whole signal can tell them apart.
    """
    n = _validate.positive_int(n, "n")
    length = _validate.positive_int(length, "length")
    gen = torch.Generator().manual_seed(int(seed))
    y = (torch.arange(n) % 2).float()
    t = torch.arange(length) / length
    offset = 0.3 * torch.randn(n, 1, generator=gen)
    cycles = 1.0 + 3.0 * torch.rand(n, 1, generator=gen)
    phase = 2 * math.pi * torch.rand(n, 1, generator=gen)
    x = (
        (2 * y[:, None] - 1) * (t - 0.5)
        + offset
        + 0.5 * torch.sin(2 * math.pi * cycles * t + phase)
    )
    x = x + 0.2 * torch.randn(n, length, generator=gen)
    return x[:, None, :], y[:, None]


def friedman(n: int, *, seed: int = 0):
    """(x, y): Friedman's (1991) benchmark function #1 with 10 inputs, 5 of them irrelevant.

    u ~ U(0, 1)^10, y = 10·sin(π u₁u₂) + 20·(u₃ − 1/2)² + 10·u₄ + 5·u₅ + N(0, 1). The inputs are
    returned standardized, x = (u − 1/2)·√12 (zero mean, unit variance); y (n, 1) in raw units.
    """
    n = _validate.positive_int(n, "n")
    gen = torch.Generator().manual_seed(int(seed))
    u = torch.rand(n, 10, generator=gen)
    y = (
        10 * torch.sin(math.pi * u[:, 0] * u[:, 1])
        + 20 * (u[:, 2] - 0.5) ** 2
        + 10 * u[:, 3]
        + 5 * u[:, 4]
        + torch.randn(n, generator=gen)
    )
    return (u - 0.5) * math.sqrt(12.0), y[:, None]


def clusters(n: int, *, seed: int = 0):
    """(x, y): three Gaussian clusters in 4-D with centres 3·e₁, 3·e₂, 3·e₃ and unit variance;
    y (n,) integer labels 0, 1, 2 in turn (balanced). The best possible accuracy is about 97%."""
    n = _validate.positive_int(n, "n")
    gen = torch.Generator().manual_seed(int(seed))
    y = torch.arange(n) % 3
    centres = 3.0 * torch.eye(4)[:3]
    return centres[y] + torch.randn(n, 4, generator=gen), y


def _dataset(name: str, seed: int) -> Data:
    """Training and held-out sets of data set ``name`` for ``seed`` (held-out: seed + 10000)."""
    test_seed = seed + 10_000
    if name == "drifts":
        (x, y), (xt, yt) = drifts(128, seed=seed), drifts(512, seed=test_seed)
        return Data(x, y, xt, yt, "binary", math.log(2.0))
    if name == "clusters":
        (x, y), (xt, yt) = clusters(192, seed=seed), clusters(600, seed=test_seed)
        return Data(x, y, xt, yt, "multiclass", math.log(3.0))
    if name == "adding":
        from helpers.recurrent import DATA_SEED_OFFSET, EVAL_SEED
        from helpers.sequences import ADDING_BASELINE_MSE, adding_problem

        xt, yt = adding_problem(1000, ADDING_LENGTH, seed=EVAL_SEED)
        return Data(None, None, xt, yt, "regression", ADDING_BASELINE_MSE, DATA_SEED_OFFSET + seed)
    (x, y), (xt, yt) = friedman(1024, seed=seed), friedman(1024, seed=test_seed)
    mean, std = y.mean(), y.std(correction=0)  # both sets standardized with the training stats
    y, yt = (y - mean) / std, (yt - mean) / std
    return Data(x, y, xt, yt, "regression", float(torch.mean((y - y.mean()) ** 2)))


_LOSSES = {
    "binary": nn.BCEWithLogitsLoss,
    "multiclass": nn.CrossEntropyLoss,
    "regression": nn.MSELoss,
}


def held_out_score(model: nn.Module, data: Data) -> float:
    """Accuracy (classification) or R² = 1 − MSE/Var(y) (regression) on the held-out set; NaN if
    the model's outputs are not finite. The model's train/eval mode is restored."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(data.x_test)
    finally:
        model.train(training)
    if not torch.isfinite(out).all():
        return math.nan
    if data.task == "binary":
        return float(((out > 0).float() == data.y_test).float().mean())
    if data.task == "multiclass":
        return float((out.argmax(dim=1) == data.y_test).float().mean())
    mse = torch.mean((out.double() - data.y_test.double()) ** 2)
    return float(1.0 - mse / torch.var(data.y_test.double(), correction=0))


# --- a 1-D convolutional network -----------------------------------------------------------------


class ConvBlock(nn.Module):
    """Conv1d (kernel 3, length kept) -> [BatchNorm1d] -> activation; with ``residual`` the block
    returns x + f(x) (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, activation: str, norm: bool, residual: bool):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel_size=3, padding=1)
        if norm:
            self.norm = nn.BatchNorm1d(c_out)
        self.act = torch_activation(activation)
        self.residual = residual

    def forward(self, x):
        z = self.conv(x)
        if hasattr(self, "norm"):
            z = self.norm(z)
        return x + self.act(z) if self.residual else self.act(z)


def conv_net(
    depth: int,
    channels: int,
    length: int,
    *,
    activation: str = "sigmoid",
    init: str = "default",
    scale: float | None = None,
    norm: str | None = None,
    residual: bool = False,
    seed: int = 0,
) -> nn.Sequential:
    """``depth`` :class:`ConvBlock` layers of ``channels`` channels on a 1-channel signal of
    ``length`` samples, then the flattened feature maps feed a Linear(channels·length, 1) logit.

    init as in ``helpers.models.mlp``: "default" keeps PyTorch's U(±1/√fan_in) with fan_in =
    channels_in × kernel size; the others apply ``helpers.models.INITIALIZERS`` to the kernel
    viewed as a (channels_out, channels_in·3) matrix, biases zero. norm: None or "batch".
    residual: blocks 2..depth add their input (block 1 changes the channel count, so it cannot).
    """
    depth = _validate.positive_int(depth, "depth")
    channels = _validate.positive_int(channels, "channels")
    length = _validate.positive_int(length, "length")
    _validate.choice(init, INITIALIZERS, "init")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(1, depth + 1):
            c_in = 1 if i == 1 else channels
            layers[f"block{i}"] = ConvBlock(
                c_in, channels, activation, norm == "batch", residual and i > 1
            )
        layers["flatten"] = nn.Flatten()
        layers["output"] = nn.Linear(channels * length, 1)
        model = nn.Sequential(layers)
        if init != "default":
            for module in model.modules():
                if isinstance(module, nn.Conv1d):
                    with torch.no_grad():
                        weight = module.weight.view(module.weight.shape[0], -1)
                        INITIALIZERS[init](weight, activation, scale)
                        module.bias.zero_()
            init_linear(model.output, init, activation, scale)
    return model


# --- the mysteries: recipes behind neutral names -------------------------------------------------


@dataclass(frozen=True)
class _Recipe:
    architecture: str  # "conv", "mlp" or "rnn"
    model: dict
    data: str
    lr: float
    steps: int
    optimizer: str = "sgd"
    clip: float | None = None
    description: str = ""


_FRIEDMAN = "1024 examples of Friedman's benchmark function #1 (target standardized)"
_RECIPES = {
    "A": _Recipe(
        "conv",
        {"depth": 6, "channels": 8, "activation": "sigmoid"},
        "drifts",
        lr=0.1,
        steps=120,
        description="a 1-D convolutional classifier: 6 Conv1d layers of 8 channels, then a "
        "linear read-out of all feature maps. Data: 128 noisy signals of 32 samples that drift "
        "up or down (2 classes). Plain SGD, full batch",
    ),
    "B": _Recipe(
        "mlp",
        {"depth": 8, "width": 32, "activation": "relu", "init": "normal", "scale": 0.6},
        "friedman",
        lr=0.05,
        steps=150,
        description=f"a fully connected regressor: 8 hidden layers of 32 units, 10 inputs. "
        f"Data: {_FRIEDMAN}. Plain SGD, full batch",
    ),
    "C": _Recipe(
        "mlp",
        {"depth": 2, "width": 32, "activation": "gelu", "init": "he"},
        "clusters",
        lr=0.01,
        steps=250,
        optimizer="adam",
        description="a three-class classifier: 2 hidden layers of 32 units, 4 inputs. "
        "Data: 192 points in three clusters. Adam, full batch",
    ),
    "D": _Recipe(
        "mlp",
        {"depth": 4, "width": 32, "activation": "tanh", "init": "xavier"},
        "friedman",
        lr=5e-5,
        steps=200,
        description=f"a fully connected regressor: 4 hidden layers of 32 units, 10 inputs. "
        f"Data: {_FRIEDMAN}. Plain SGD, full batch",
    ),
    "E": _Recipe(
        "rnn",
        {"kind": "rnn", "hidden_size": 16},
        "adding",
        lr=0.01,
        steps=300,
        optimizer="adam",
        description=f"a recurrent regressor: one tanh RNN layer of 16 units reads a sequence of "
        f"{ADDING_LENGTH} steps (2 channels); a linear read-out of the last state. Data: the "
        f"adding problem (the target is the sum of the two marked values), a fresh batch of "
        f"{ADDING_BATCH} sequences per step. Adam",
    ),
}


def applicable_fixes(name: str) -> tuple[str, ...]:
    """The keys of :data:`FIXES` that apply to mystery ``name``'s architecture."""
    name = _check_name(name)
    skip = FEEDFORWARD_FIXES if _RECIPES[name].architecture == "rnn" else RECURRENT_FIXES
    return tuple(fix for fix in FIXES if fix not in skip)


def _apply_fix(name: str, fix: str) -> _Recipe:
    """Mystery ``name``'s recipe with ``fix`` applied; ValueError if it does not apply."""
    recipe = _RECIPES[name]
    if fix not in applicable_fixes(name):
        kind = "recurrent" if recipe.architecture == "rnn" else "feed-forward"
        raise ValueError(
            f"fix {fix!r} does not apply to mystery {name}, a {kind} network; the fixes that do "
            f"are {', '.join(repr(f) for f in applicable_fixes(name))}"
        )
    changes = {
        "relu_he": {"activation": "relu", "init": "he", "scale": None},
        "he_init": {"init": "he", "scale": None},
        "xavier": {"init": "xavier", "scale": None},
        "batch_norm": {"norm": "batch"},
        "residual": {"residual": True},
        "gru": {"kind": "gru"},
        "lstm": {"kind": "lstm"},
    }
    if fix in changes:
        return replace(recipe, model={**recipe.model, **changes[fix]})
    if fix == "clip":
        return replace(recipe, clip=CLIP_NORM)
    if fix == "lower_lr":
        return replace(recipe, lr=recipe.lr * LOWER_LR_FACTOR)
    if fix == "raise_lr":
        return replace(recipe, lr=recipe.lr * RAISE_LR_FACTOR)
    return recipe


def _build(recipe: _Recipe, data: Data, seed: int) -> nn.Module:
    kwargs = dict(recipe.model)
    if recipe.architecture == "rnn":
        from helpers.recurrent import make_model

        return make_model(kwargs.pop("kind"), input_size=2, seed=seed, **kwargs)
    depth = kwargs.pop("depth")
    if recipe.architecture == "conv":
        return conv_net(depth, kwargs.pop("channels"), data.x.shape[-1], seed=seed, **kwargs)
    out = 3 if data.task == "multiclass" else 1
    width = kwargs.pop("width")
    return mlp(depth, width, in_features=data.x.shape[1], out_features=out, seed=seed, **kwargs)


def _check_name(name) -> str:
    if isinstance(name, str):
        name = name.strip().upper()
    return _validate.choice(name, MYSTERIES, "mystery")


def _check_fix(fix) -> str:
    return _validate.choice("none" if fix is None else fix, FIXES, "fix")


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


class Mystery:
    """A model, its data and a ready training loop; what goes wrong is for you to find out.

    Attributes: ``name``; ``description``; ``model`` (an ``nn.Module``); ``data`` (:class:`Data`);
    ``baseline``, the loss of the best constant prediction; ``steps``; ``losses`` (None until
    trained). Call :meth:`train` once, with a ``GradientMonitor`` on ``model`` to watch it, then
    :meth:`held_out` for the score on data the model never saw.
    """

    def __init__(self, name: str, seed: int = 0, fix: str = "none"):
        recipe = _apply_fix(name, fix)
        self.name = name
        self.fix = fix
        self.seed = seed
        self.description = recipe.description
        self.data = _dataset(recipe.data, seed)
        self.model = _build(recipe, self.data, seed)
        self.steps = recipe.steps
        self.losses: np.ndarray | None = None
        self._recipe = recipe

    @property
    def baseline(self) -> float:
        return self.data.baseline

    def __repr__(self) -> str:
        fixed = "" if self.fix == "none" else f", with fix {self.fix!r}"
        return f"Mystery {self.name}{fixed}: {self.description}; {self.steps} steps."

    def _optimizer(self) -> torch.optim.Optimizer:
        params = self.model.parameters()
        if self._recipe.optimizer == "adam":
            return torch.optim.Adam(params, lr=self._recipe.lr)
        return torch.optim.SGD(params, lr=self._recipe.lr)

    def train(self, monitor=None) -> np.ndarray:
        """Train the model in place for ``steps`` steps; return the training loss per step.

        The loop is the one the monitor is made for: zero_grad, forward, loss, backward,
        ``monitor.record(loss)`` (when a monitor is given), [clip], step. It stops early once the
        loss is NaN or infinite (every later step would be too), after at least two steps.
        Runs with the course's thread count (:func:`course_threads`). A mystery trains once;
        call :func:`mystery` again for a fresh copy.
        """
        if self.losses is not None:
            raise RuntimeError(
                f"mystery {self.name} is already trained; call capstone.mystery({self.name!r}) "
                "for a fresh copy"
            )
        with course_threads():
            self.losses = self._train(monitor)
        return self.losses

    def _train(self, monitor) -> np.ndarray:
        loss_fn = _LOSSES[self.data.task]()
        optimizer = self._optimizer()
        batches = self.data.batches()
        losses = []
        for step in progress(range(self.steps), desc=f"mystery {self.name}", leave=False):
            x, y = next(batches)
            optimizer.zero_grad()
            loss = loss_fn(self.model(x), y)
            loss.backward()
            if monitor is not None:
                monitor.record(loss)
            losses.append(float(loss.detach()))
            if not math.isfinite(losses[-1]) and step >= 1:
                break
            if self._recipe.clip is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self._recipe.clip)
            optimizer.step()
        return np.array(losses)

    def held_out(self) -> float:
        """Held-out accuracy (classifiers) or R² (regressors); NaN if the outputs overflowed."""
        return held_out_score(self.model, self.data)

    def report(self) -> str:
        """One line after training: the last training loss against the baseline, and the
        held-out score against what guessing scores (chance accuracy, or R² = 0)."""
        if self.losses is None:
            raise ValueError(f"mystery {self.name} has not been trained yet: call .train()")
        last = self.losses[-1]
        loss = f"{last:.3g}" if math.isfinite(last) else "inf" if last > 0 else "nan"
        diverged = not np.isfinite(self.losses).all()
        score = "n/a (diverged)" if diverged else f"{self.held_out():.2f}"
        if self.data.task == "regression":
            guess = "0 for the mean"
        else:
            guess = f"{1 / (3 if self.data.task == 'multiclass' else 2):.2f} by chance"
        return (
            f"training loss at the last step {loss} (baseline {self.baseline:.3g}); held-out "
            f"{self.data.metric} {score} ({guess})"
        )


def mystery(name: str, seed: int = 0) -> Mystery:
    """A fresh, untrained mystery; ``name`` is one of :data:`MYSTERIES` ("A" to "E").

    The same name and seed give the same weights and data on every call.
    """
    return Mystery(_check_name(name), _check_seed(seed))


# --- runs, with or without a fix -----------------------------------------------------------------


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
    with GradientMonitor(trained.model, forward_stats=True) as monitor:
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


# --- reading the evidence in words that hold on every machine -------------------------------------

# Training is chaotic: the last digits of a run's numbers differ between CPUs, BLAS builds and
# thread counts (FIELD-NOTES). What decides a diagnosis is where each number sits against the
# thresholds of helpers.diagnose, so that is what the notebook prints: "below 10⁻³", "near 10⁻³"
# (within a factor of NEAR) or "above 10⁻³". A reading's margin is the factor by which its number
# clears the nearest edge of its band; the notebook's readings are logged with their margins
# (helpers.claims) so that `make portability` shows how far each is from reading otherwise.
NEAR = 2.0
LOSS_NEAR_REFERENCE = 0.1  # "stayed within 10% of its reference"


def versus(value: float, threshold: float, *, near: float = NEAR) -> tuple[str, float]:
    """Where ``value`` sits against ``threshold``: ("below" | "near" | "above", margin).

    "near" means within a factor of ``near`` of the threshold. The margin is the factor by which
    ``value`` clears the nearest edge of its band (≥ 1); ("n/a", inf) for NaN.
    """
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
    if not near > 1:
        raise ValueError(f"near must be a factor above 1, got {near!r}")
    if math.isnan(value):
        return "n/a", math.inf
    low, high = threshold / near, threshold * near
    if value < low:
        return "below", _factor(low, value)
    if value > high:
        return "above", value / high
    return "near", min(value / low, high / value)


def _f(key: str) -> str:
    """A threshold of helpers.diagnose as the checklist prints it (10⁻³, 70, 70%)."""
    return format_threshold(key)


def _ratio_range() -> str:
    """diagnose's vanishing and exploding first/last ratios, "10⁻³ and 70"."""
    return f"{_f('vanishing_ratio')} and {_f('exploding_ratio')}"


def _ratio_reading(ratio: float) -> tuple[str, float]:
    """The first/last gradient ratio against diagnose's vanishing and exploding thresholds."""
    low, high = THRESHOLDS["vanishing_ratio"].value, THRESHOLDS["exploding_ratio"].value
    word_low, margin_low = versus(ratio, low)
    word_high, margin_high = versus(ratio, high)
    if word_low in ("below", "near", "n/a"):
        return f"{word_low} {_f('vanishing_ratio')}", margin_low
    if word_high != "below":
        return f"{word_high} {_f('exploding_ratio')}", margin_high
    return "between", min(margin_low, margin_high)


def _loss_reading(ev: dict) -> tuple[str, float]:
    """The final training loss (median of diagnose's last window) against its reference, the
    lower of the starting loss and the baseline: "within 10%", "below half", "fell" (by 10% to
    50%) or "rose" (by over 10%)."""
    ratio = ev["loss_end"] / ev["reference"]
    half, near = 1.0 - THRESHOLDS["converged_drop"].value, LOSS_NEAR_REFERENCE
    if ratio < half:
        return "below half", _factor(half, ratio)
    if abs(ratio - 1.0) < near:
        return "within 10%", _factor(near, abs(ratio - 1.0))
    if ratio < 1.0:
        return "fell", min(ratio / half, (1.0 - near) / ratio)
    return "rose", ratio / (1.0 + near)


def _start_reading(loss_start: float, baseline: float) -> tuple[str, float]:
    """The first loss, before any update, as "over 10ᵏ times the baseline" with the largest k that
    leaves a factor of 2."""
    times = loss_start / baseline
    if not (math.isfinite(times) and times >= 20):
        return "not far from", math.inf
    k = math.floor(math.log10(times / 2))
    margin = min(times / (2 * 10.0**k), 2 * 10.0 ** (k + 1) / times)
    return "over 10" + str(k).translate(_SUPERSCRIPT) + " times", margin


def _fraction_reading(fraction: float, key: str) -> tuple[str, float]:
    word, margin = versus(fraction, THRESHOLDS[key].value)
    return ("near or above" if word in ("near", "above") else word), margin


def _held_out_reading(score: float, metric: str) -> tuple[str, float]:
    """The held-out score against its target, compared as shortfalls 1 − score ≤ 1 − target."""
    if math.isnan(score):
        return "n/a", math.inf
    allowed, shortfall = 1.0 - TARGETS[metric], 1.0 - score
    if shortfall <= allowed:
        return "reaches", _factor(allowed, shortfall)
    return "below", shortfall / allowed


def readings(r: Run) -> dict[str, tuple[str, float]]:
    """Each quantity of ``r``'s evidence as (word, margin): see :func:`versus`.

    Keys: "diagnosis" (the label), "loss" and "held_out"; for a diverged run also "start", the
    first loss against the baseline; otherwise "gradient" (largest layer vs 10⁻³),
    "first_layer" (vs 10⁻⁴), "ratio" (first/last vs 10⁻³ and 70) and "update" (largest
    update/weight ratio vs 10⁻⁴), and "saturated" / "dead" (vs 70%) where the monitor counted
    them. A label has no margin (inf).
    """
    ev = r.diagnosis.evidence
    out = {"diagnosis": (r.diagnosis.label, math.inf)}
    if ev.get("nonfinite_step") is not None:
        out["loss"] = (f"NaN/inf from step {ev['nonfinite_step']}", math.inf)
        out["start"] = _start_reading(ev["loss_start"], r.baseline)
    else:
        out["loss"] = _loss_reading(ev)
        out["gradient"] = versus(ev["grad_max"], THRESHOLDS["stalled_gradient"].value)
        out["first_layer"] = versus(ev["grad_first"], THRESHOLDS["tiny_gradient"].value)
        out["ratio"] = _ratio_reading(ev["layer_ratio"])
        out["update"] = versus(ev["update_max"], THRESHOLDS["tiny_update"].value)
        for key, name in (("saturated", "saturation_max"), ("dead", "dead_max")):
            if not math.isnan(ev[name]):
                out[key] = _fraction_reading(ev[name], f"{key}_fraction")
    out["held_out"] = _held_out_reading(r.score, r.metric)
    return out


def _log_margins(name: str, sentence: str, marks: dict[str, tuple[str, float]]) -> None:
    """Log the smallest margin of ``marks`` as a claim (helpers.claims), for `make portability`."""
    from helpers import claims

    margins = [margin for _, margin in marks.values()]
    claims.all_above(margins, 1.0, margin=1.0, name=name, sentence=sentence)


_LOSS_WORDS = {
    "within 10%": "stayed within 10% of its reference",
    "below half": "ended below half of its reference",
    "fell": "fell, but ended above half of its reference",
    "rose": "ended more than 10% above its reference",
}


@dataclass(frozen=True)
class Evidence:
    """A trained mystery's evidence in words: each line compares a number with a threshold of
    ``helpers.diagnose``, so it reads the same on every machine. ``margin`` is the smallest factor
    by which a number clears the edge of its band (see :func:`versus`)."""

    title: str
    lines: tuple[tuple[str, str], ...]
    margin: float

    def __str__(self) -> str:
        return "\n".join([self.title, *(f"  {key:<9}  {text}" for key, text in self.lines)])

    __repr__ = __str__


def _evidence_lines(r: Run, marks: dict) -> list[tuple[str, str]]:
    word = {key: value[0] for key, value in marks.items()}
    lines = [("diagnosis", f"{r.diagnosis.label.upper()} (cause: {r.diagnosis.cause})")]
    baseline = f"{r.baseline:.3g}"
    if "start" in word:
        lines.append(
            (
                "loss",
                f"{word['loss']}; at step 0, before any update, {word['start']} "
                f"the baseline {baseline}",
            )
        )
        lines.append(("held-out", f"{r.metric} n/a: the run diverged"))
        return lines
    reference = f"(the lower of its start and the baseline {baseline})"
    ratio = word["ratio"]
    if ratio == "between":
        ratio = f"between {_ratio_range()}"
    lines.append(("loss", f"{_LOSS_WORDS[word['loss']]} {reference}"))
    lines.append(
        (
            "gradient",
            f"largest layer {word['gradient']} {_f('stalled_gradient')}, first "
            f"layer {word['first_layer']} {_f('tiny_gradient')}, first/last {ratio}",
        )
    )
    lines.append(
        (
            "update",
            f"largest update/weight per step {word['update']} "
            f"{_f('tiny_update')} (healthy: about {_f('healthy_update')})",
        )
    )
    units = [
        f"{key} {word[key]} {_f(key + '_fraction')}" for key in ("saturated", "dead") if key in word
    ]
    if units:
        lines.append(("units", ", ".join(units) + " in every layer"))
    target = f"{TARGETS[r.metric]:g}"
    lines.append(("held-out", f"{r.metric} {word['held_out']} the target {target}"))
    return lines


def read_evidence(trained: Mystery, monitor) -> Evidence:
    """Diagnose a mystery you trained under ``monitor`` and say what its numbers show against
    diagnose's thresholds (:func:`readings`), with its held-out score against the target.

    ``print(diagnose(monitor, baseline=trained.baseline))`` shows the numbers themselves; their
    last digits differ from machine to machine, the words here do not (unless a number sits at
    the edge of a band: the margin says how close).
    """
    r = Run.from_training(trained, monitor)
    marks = readings(r)
    seed = f"seed {r.seed}" + ("" if r.fix == "none" else f", fix {r.fix!r}")
    title = (
        f"Mystery {r.name} ({seed}) against diagnose's thresholds "
        f'("near": within a factor of {NEAR:g}):'
    )
    tag = r.name if r.fix == "none" else f"{r.name}-{r.fix}"
    _log_margins(f"09.evidence-{tag}", f"each reading of mystery {tag} clears its band", marks)
    return Evidence(title, tuple(_evidence_lines(r, marks)), min(m for _, m in marks.values()))


# --- before and after ----------------------------------------------------------------------------


def _sci(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.1e}"


def _num(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:.3g}" if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _score(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.2f}"


def _met(r: Outcome) -> str:
    return "met" if r.target_met else "not met"


@dataclass(frozen=True)
class Comparison:
    """A mystery's run before and after one fix, and whether the fix reached the target.

    Printing it gives the readings of both runs (:func:`readings`), which do not depend on the
    machine; :meth:`numbers` gives the numbers themselves, for reading.
    """

    before: Run
    after: Run

    @property
    def improved(self) -> bool:
        return self.after.target_met and not self.before.target_met

    def _target_label(self) -> str:
        metric = self.before.metric
        return f"target ({metric} ≥ {TARGETS[metric]:g}, loss ≤ half the baseline)"

    def rows(self) -> list[tuple[str, str, str]]:
        """(quantity, before, after) in words, as printed."""
        marks = readings(self.before), readings(self.after)

        def both(key):
            return tuple(m[key][0] if key in m else "n/a" for m in marks)

        metric = self.before.metric
        return [
            ("training loss vs its reference", *both("loss")),
            (f"held-out {metric} vs the target {TARGETS[metric]:g}", *both("held_out")),
            (f"largest layer gradient vs {_f('stalled_gradient')}", *both("gradient")),
            (f"first-layer gradient vs {_f('tiny_gradient')}", *both("first_layer")),
            (f"first/last gradient ratio vs {_ratio_range()}", *both("ratio")),
            (f"largest update/weight per step vs {_f('tiny_update')}", *both("update")),
            ("diagnosis", *both("diagnosis")),
            (self._target_label(), _met(self.before), _met(self.after)),
        ]

    def numbers(self) -> str:
        """The same comparison in numbers (their last digits differ from machine to machine)."""
        b, a = self.before, self.after

        def both(fmt, get):
            return fmt(get(b)), fmt(get(a))

        rows = [
            ("training loss (median of the last 10 steps)", *both(_num, lambda r: r.recent_loss)),
            ("baseline (best constant prediction)", *both(_num, lambda r: r.baseline)),
            (f"held-out {b.metric}", *both(_score, lambda r: r.score)),
            ("gradient ratio first/last layer", *both(_sci, lambda r: r.evidence("layer_ratio"))),
            ("first-layer gradient norm", *both(_sci, lambda r: r.evidence("grad_first"))),
            ("largest update/weight per step", *both(_sci, lambda r: r.evidence("update_max"))),
            ("diagnosis", *both(str, lambda r: r.diagnosis.label)),
            (self._target_label(), _met(b), _met(a)),
        ]
        return self._table(rows)

    def _table(self, rows) -> str:
        head = f"Mystery {self.before.name} (seed {self.before.seed}): before, and after fix "
        head += repr(self.after.fix)
        width = max(len(r[0]) for r in rows)
        column = max(10, *(len(cell) for row in rows for cell in row[1:]))
        lines = [head, f"{'':{width}}  {'before':>{column}}  {'after':>{column}}"]
        lines += [f"{label:{width}}  {b:>{column}}  {a:>{column}}" for label, b, a in rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._table(self.rows())

    __repr__ = __str__


_TABLE_KEYS = ("loss", "held_out", "gradient", "first_layer", "ratio", "update", "diagnosis")


def compare(trained: Mystery, monitor, fix: str) -> Comparison:
    """Your trained mystery and its monitor (before) against :func:`run` of the same mystery and
    seed with ``fix`` applied (after). The readings' margins are logged (helpers.claims)."""
    before = Run.from_training(trained, monitor)
    comparison = Comparison(before, run(trained.name, fix, trained.seed))
    marks = {
        f"{side} {key}": value
        for side, r in (("before", before), ("after", comparison.after))
        for key, value in readings(r).items()
        if key in _TABLE_KEYS
    }
    tag = f"{before.name}-{comparison.after.fix}"
    _log_margins(
        f"09.compare-{tag}", f"each reading of the comparison {tag} clears its band", marks
    )
    return comparison


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


def confirm_repair(comparison: Comparison, seeds=CONFIRM_SEEDS, *, margin: float = 2.0):
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
            name=f"09.{name}-as-given",
            sentence=f"mystery {name} as given misses the target on "
            f"{on}: its training loss ends above half the baseline",
        ),
        claims.all_below(
            [r.recent_loss / r.baseline for r in afters],
            half / before.baseline,
            margin=margin,
            name=f"09.{name}-{fix}-loss",
            sentence=f"with fix {fix!r}, {on} end with a training loss below half the baseline",
        ),
        claims.all_below(
            [1.0 - r.score for r in afters],
            allowed,
            margin=margin,
            name=f"09.{name}-{fix}-held-out",
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
        name="09.E-fades-along-the-sequence",
        sentence=f"at lag {k}, where the first marked value sits on average, less than "
        f"{format_threshold('vanishing_ratio')} of the error signal at lag 0 is left: the ratio "
        "below which diagnose calls a network's first layers starved",
    )


# --- the answer key ------------------------------------------------------------------------------

# What is wrong with each mystery (the checks in helpers.exercises.nb09 word the feedback).
CAUSES = {
    "vanishing": "vanishing gradients",
    "exploding": "exploding gradients",
    "converged": "converged (nothing wrong)",
    "small_lr": "learning rate too small",
}
ANSWERS = {"A": "vanishing", "B": "exploding", "C": "converged", "D": "small_lr", "E": "vanishing"}


# --- the one-page checklist ----------------------------------------------------------------------

# Placeholders {name} are keys of helpers.diagnose.THRESHOLDS, filled in by format_threshold, so
# the checklist quotes exactly the numbers diagnose applies; {sigmoid} and {tanh} are the
# saturation thresholds of helpers.activations.
_CHECKLIST = """\
**Before you start.** Record every step with `GradientMonitor(model, forward_stats=True)`, keep \
a held-out set, and know the *baseline*, the loss of the best constant prediction: ln 2 ≈ 0.693 \
for balanced binary cross-entropy, ln K for K balanced classes, Var(y) for mean squared error \
(1/6 on the adding problem). Then read `diagnose(monitor, baseline=...)` and check its numbers \
against this table.

| Symptom | Numbers to look at (threshold) | Likely cause | First fix to try |
|---|---|---|---|
| Flat loss near the baseline, tiny gradients | first/last layer gradient ratio < \
{vanishing_ratio} with the first layer < {tiny_gradient}; or, with the loss stuck near the \
baseline: every layer < {stalled_gradient}, ≥ {saturated_fraction} of a layer's units saturated \
(sigmoid z beyond ±{sigmoid}, tanh beyond ±{tanh}), or the largest gradient fallen below \
{gradient_collapse} of its size at the start | vanishing gradients: many layers of small weights \
× σ′ ≤ 0.25, or saturation | ReLU + He init (Xavier for tanh); batch norm or skip connections; \
standardize the inputs |
| Flat loss near the baseline, usable gradients | first/last ratio ≥ {vanishing_ratio}, but \
every update/weight ratio < {tiny_update} per step (healthy: about {healthy_update}) | learning \
rate too small (the look-alike of vanishing) | raise the learning rate until update/weight ≈ \
{healthy_update} |
| Flat loss far below the start | loss ≥ {converged_drop} below its start (or the baseline); \
held-out accuracy or R² good | converged: nothing is wrong | nothing: stop training (early \
stopping); judge the model on held-out data |
| NaN/inf loss, or loss spikes | the first NaN/inf step; a loss ≥ {loss_spike}× its start; \
first/last ratio > {exploding_ratio}; \
total gradient norm grown ≥ {exploding_growth}× while the loss did not fall | exploding \
gradients: weights too large for the depth, or a learning rate too large | He/Xavier init \
scaled to the layer size; lower the learning rate; clip the gradient norm |
| Loss falling slowly, gradients balanced | no plateau; first/last ratio near 1; update/weight \
< {tiny_update} | learning rate too small (or simply early in training) | raise the learning \
rate; keep training |
| Many dead ReLUs | ≥ {dead_fraction} of a layer's units output 0 for every example of the \
batch | dying ReLU (a large update or negative biases pushed them below 0) | lower the learning \
rate; start biases at 0; Leaky ReLU or ELU |
| RNN cannot learn long lags | loss at the mean-predictor baseline while per-layer ratios look \
fine (diagnose may even say converged); ‖∂L/∂h at step T − k‖ falls geometrically with the lag \
k | vanishing gradients through time | a gated cell (GRU, LSTM); clip the gradient norm if it \
explodes instead |

**Where the thresholds come from** (`helpers.diagnose.THRESHOLDS`, the numbers `diagnose` \
applies):

{sources}

Plain SGD shows these symptoms in the loss; Adam can hide vanishing gradients there (notebook \
07), so trust the gradient ratio over the loss curve.
"""
# How the sources list names each quoted threshold, in the order the list gives them. Every
# threshold of helpers.diagnose is quoted except NOT_QUOTED (tests/test_capstone.py checks).
_THRESHOLD_NAMES = {
    "vanishing_ratio": "first/last gradient ratio, vanishing below",
    "tiny_gradient": "first-layer gradient norm, vanishing below",
    "stalled_gradient": "every layer's gradient norm at a stalled loss, vanishing below",
    "gradient_collapse": "largest gradient now / at the start, collapsed below",
    "loss_spike": "largest loss / starting loss, exploding from",
    "exploding_ratio": "first/last gradient ratio, exploding above",
    "exploding_growth": "growth of the total gradient norm, exploding from",
    "dead_fraction": "dead units",
    "saturated_fraction": "saturated units",
    "healthy_update": "healthy update/weight ratio",
    "tiny_update": "too-small update/weight ratio",
    "converged_drop": "loss drop for converged",
}
CHECKLIST_THRESHOLDS = tuple(_THRESHOLD_NAMES)
NOT_QUOTED = {"plateau_rel_tol": "an internal tolerance of find_plateau, not a number to read"}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_threshold(key: str) -> str:
    """THRESHOLDS[key] as the checklist prints it: fractions as percentages, powers of ten below 1
    as 10⁻³, other numbers plainly (70, 1000)."""
    value = THRESHOLDS[key].value
    if key.endswith(("_fraction", "_drop")):
        return f"{value:.0%}"
    exponent = math.log10(value)
    if value < 1 and exponent == round(exponent):
        return "10" + str(round(exponent)).translate(_SUPERSCRIPT)
    return f"{value:g}"


def checklist_markdown() -> str:
    """The one-page checklist (Markdown): for each symptom, the numbers to look at with the
    thresholds ``helpers.diagnose`` uses, the likely cause and the first fix to try; then where
    each threshold comes from. docs/checklist.md and notebook 09 carry exactly this text."""
    sources = "\n".join(
        f"- {_THRESHOLD_NAMES[key]} {format_threshold(key)}: {THRESHOLDS[key].source}"
        for key in CHECKLIST_THRESHOLDS
    )
    return _CHECKLIST.format(
        **{key: format_threshold(key) for key in CHECKLIST_THRESHOLDS},
        sigmoid=f"{saturation_threshold('sigmoid'):g}",
        tanh=f"{saturation_threshold('tanh'):g}",
        sources=sources,
    )


CHECKLIST_TITLE = "# Checklist: vanishing and exploding gradients"


def checklist_document() -> str:
    """The text of docs/checklist.md: a title, a line on its origin, :func:`checklist_markdown`."""
    return (
        f"{CHECKLIST_TITLE}\n\n"
        "The one-page summary of the course, from notebook 09 "
        "(`notebooks/09_capstone_diagnose_and_fix.ipynb`), generated by "
        "`helpers.capstone.checklist_document()`. Its thresholds are the ones "
        "`helpers.diagnose.diagnose` applies.\n\n" + checklist_markdown()
    )


# --- figures -------------------------------------------------------------------------------------


def _median_gradients(monitor, window: int = RECENT_STEPS) -> np.ndarray:
    """Per tracked layer, the median gradient norm over the last ``window`` finite steps."""
    grads = np.asarray(monitor.grad_norms, dtype=float)
    finite = grads[np.isfinite(grads).all(axis=1)]
    if finite.size == 0:
        return np.full(grads.shape[1], np.nan)
    return np.median(finite[-window:], axis=0)


def plot_comparison(comparison: Comparison):
    """Two panels: the training loss per step before and after the fix (log scale, the baseline
    dashed), and each layer's gradient norm at the end of training (first layer on the left)."""
    import matplotlib.pyplot as plt

    from helpers.plots import COLORS

    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    runs = ((comparison.before, "before", COLORS["vermillion"]),)
    runs += ((comparison.after, f"after: {comparison.after.fix}", COLORS["blue"]),)
    for r, label, color in runs:
        steps = np.arange(len(r.losses))
        left.plot(steps, r.losses, color=color, label=label)
        grads = _median_gradients(r.monitor)
        right.plot(np.arange(1, len(grads) + 1), grads, "o-", color=color, ms=4, label=label)
    left.axhline(comparison.before.baseline, color=COLORS["black"], ls="--", lw=1, label="baseline")
    left.set(yscale="log", xlabel="training step", ylabel="training loss")
    right.set(yscale="log", xlabel="tracked layer (1 = next to the input)")
    right.set_ylabel("gradient norm ‖∂L/∂W‖\n(median of the last 10 steps)")
    right.xaxis.get_major_locator().set_params(integer=True)
    left.legend(fontsize=8)
    return fig


def plot_lag_profile(profile):
    """‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖ against the lag k (log scale), with the lags where the adding
    problem's first marked value sits (k ≥ T/2) shaded."""
    import matplotlib.pyplot as plt

    from helpers.plots import COLORS

    fig, ax = plt.subplots()
    relative = profile.h / profile.h[0]
    ax.plot(profile.lags, relative, "o-", ms=3, color=COLORS["blue"])
    half = len(profile.lags) // 2
    ax.axvspan(half, profile.lags[-1], color=COLORS["orange"], alpha=0.15)
    ax.text(half + 0.5, relative.max(), "first marked value\nsits in here", va="top", fontsize=9)
    ax.set(yscale="log", xlabel="lag k (steps before the end of the sequence)")
    ax.set_ylabel("‖∂L/∂h at step T − k‖\nrelative to k = 0")
    return fig


def plot_overview(trained: list[Mystery]):
    """The training loss of each trained mystery divided by its baseline, per step (log scale):
    1 is the best constant prediction. Runs that overflow leave the chart."""
    import matplotlib.pyplot as plt

    from helpers.plots import COLORS, CYCLE

    top = 1e2
    fig, ax = plt.subplots()
    above = []
    for color, m in zip(CYCLE, trained, strict=False):
        if m.losses is None:
            raise ValueError(f"mystery {m.name} has not been trained yet: call .train()")
        relative = m.losses / m.baseline
        ax.plot(np.arange(len(relative)), relative, color=color, label=m.name)
        if not np.all(relative[np.isfinite(relative)] < top) or not np.isfinite(relative).all():
            above.append(f"{m.name}: {relative[0]:.0e}× at step 0, then {relative[-1]:.0f}")
    if above:
        ax.text(0.02, 0.97, "above the chart: " + "; ".join(above), transform=ax.transAxes,
                va="top", fontsize=8)  # fmt: skip
    ax.axhline(1.0, color=COLORS["black"], ls="--", lw=1)
    ax.set(yscale="log", ylim=(1e-4, top), xlabel="training step")
    ax.set_ylabel("training loss / baseline")
    ax.legend(
        title="mystery", fontsize=8, ncol=len(trained), loc="upper right", bbox_to_anchor=(1, 0.9)
    )
    return fig
