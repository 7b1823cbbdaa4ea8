"""The mysteries of notebook 11: seven training runs behind neutral names, and their repairs.

Each mystery is a model, a seeded data set (``helpers.data``) and a recipe for training it
through the course's one loop (``helpers.training.train``), behind a neutral name
(:func:`mystery`), so the learner finds the cause with ``helpers.monitor.GradientMonitor`` and
``helpers.diagnose.diagnose`` instead of reading it off the code. :data:`FIXES` is the menu of
repairs, each changing one thing of a recipe; :data:`TARGETS` is what a repaired run must reach.

The mysteries differ from notebook 04's labelled runs (two moons and blobs, 16-unit MLPs, binary
cross-entropy): a 1-D convolutional net on signals (``helpers.models.conv``), a deep and a
shallow regressor on Friedman's benchmark function, a three-class GELU classifier, a
recurrent net on the adding problem, and two runs from notebook 10's world: a transformer stack on
sequence reversal (``helpers.transformers``) and a deep classifier trained in mixed precision
(``helpers.precision``).
"""

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from helpers import _validate, training
from helpers.data import ADDING_BASELINE_MSE, Split, adding_problem, split
from helpers.models import mlp
from helpers.models.conv import conv_net
from helpers.models.transformer import transformer_stack
from helpers.precision import Setup
from helpers.transformers import WARMUP_SETTING, gpt2_residual_scale, heldout_batch

MYSTERIES = ("A", "B", "C", "D", "E", "F", "G")

# The menu of repairs. One change each (relu_he changes the activation and the initialization
# together, because He's rule is derived for ReLU). The first five change a feed-forward network,
# the next two the recurrent cell, the next two a transformer stack, the rest the training
# (loss_scaling only a run in float16).
FIXES = {
    "relu_he": "ReLU activations with He initialization, Var(W) = 2/fan_in",
    "he_init": "He initialization, Var(W) = 2/fan_in, keeping the activation",
    "xavier": "Xavier/Glorot initialization, Var(W) = 2/(fan_in + fan_out), keeping the activation",
    "batch_norm": "batch normalization after every hidden layer, before its activation",
    "residual": "skip connections: every hidden layer after the first computes x + f(x)",
    "gru": "replace the recurrent cell by a GRU (gated recurrent unit, Cho et al. 2014)",
    "lstm": "replace the recurrent cell by an LSTM (Hochreiter & Schmidhuber 1997)",
    "pre_ln": "move each layer norm of a transformer block before its branch (pre-LN)",
    "residual_scale": "scale each residual branch of a transformer by 1/sqrt(2 × blocks) (GPT-2)",
    "clip": "clip the gradient norm to 1 before every optimizer step",
    "lower_lr": "divide the learning rate by 10",
    "raise_lr": "multiply the learning rate by 100",
    "warmup": f"linear learning-rate warm-up over the first {WARMUP_SETTING['warmup_steps']} steps",
    "loss_scaling": "dynamic loss scaling (torch.amp.GradScaler): scale the loss up before "
    "backward, the gradients down before the step",
    "none": "change nothing (when nothing is broken, the remedy is to stop training)",
}
FEEDFORWARD_FIXES = ("relu_he", "he_init", "xavier", "batch_norm", "residual")
RECURRENT_FIXES = ("gru", "lstm")
TRANSFORMER_FIXES = ("pre_ln", "residual_scale")
MIXED_PRECISION_FIXES = ("loss_scaling",)
WARMUP_STEPS = WARMUP_SETTING["warmup_steps"]
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

# The reversal task of mystery F (helpers.transformers, notebook 10): sequences of REVERSE_LENGTH
# tokens from a vocabulary of REVERSE_VOCAB, a fresh batch of REVERSE_BATCH per step.
REVERSE_LENGTH = 8
REVERSE_VOCAB = 16
REVERSE_BATCH = 32

# Mystery G is notebook 10's mixed-precision run (helpers.precision.Setup()).
_PRECISION = Setup()


# --- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data(Split):
    """A training set, a held-out set and what a constant prediction scores (a
    ``helpers.data.Split``), possibly drawn fresh at every step.

    task: "binary" (BCE with logits, y in {0, 1}), "multiclass" (cross-entropy, integer labels)
    or "regression" (MSE). baseline: the training loss of the best constant prediction (ln 2,
    ln 3, Var(y)): a run whose loss sits there has learned nothing but the label frequencies or
    the mean. stream_seed: for online tasks (the adding problem, sequence reversal) x and y are
    None and every step draws a fresh batch from a generator with this seed. stream: which online
    task, "adding" or "reverse".
    """

    stream_seed: int | None = None
    stream: str = "adding"

    @property
    def metric(self) -> str:
        return "R²" if self.task == "regression" else "accuracy"

    @property
    def classes(self) -> int:
        """How many classes a classifier chooses from (per token for sequence reversal); 0 for
        regression."""
        if self.task == "regression":
            return 0
        return 2 if self.task == "binary" else int(self.y_test.max()) + 1

    def batches(self):
        """An endless iterator of training batches (x, y): the full batch every step, or a
        fresh adding-problem batch per step for an online task."""
        if self.stream_seed is None:
            return itertools.repeat((self.x, self.y))
        if self.stream == "reverse":
            from helpers.transformers import _batches

            return _batches(REVERSE_BATCH, REVERSE_LENGTH, REVERSE_VOCAB, self.stream_seed)
        gen = torch.Generator().manual_seed(self.stream_seed)
        return (
            adding_problem(ADDING_BATCH, ADDING_LENGTH, generator=gen) for _ in itertools.count()
        )


# Each data set's training and held-out sizes (Friedman's targets are standardized); the
# drifting signals as vectors are notebook 10's mixed-precision data (helpers.precision.Setup).
_SIZES = {
    "drifts": (128, 512),
    "clusters": (192, 600),
    "friedman": (1024, 1024),
    "drift_vectors": (_PRECISION.n_train, _PRECISION.n_test),
}


def _dataset(name: str, seed: int) -> Data:
    """Training and held-out sets of data set ``name`` for ``seed`` (``helpers.data.split``:
    held-out seed + 10000; "drift_vectors" are the drifts flattened to 32 inputs), or the adding
    problem's or sequence reversal's fixed held-out set and per-step stream."""
    if name == "reverse":
        xt, yt = heldout_batch(REVERSE_LENGTH, REVERSE_VOCAB)
        baseline = math.log(REVERSE_VOCAB)  # helpers.data.reverse_sequence_baseline
        return Data(None, None, xt, yt, "multiclass", baseline, seed, "reverse")
    if name == "adding":
        from helpers.recurrent import DATA_SEED_OFFSET, EVAL_SEED

        xt, yt = adding_problem(1000, ADDING_LENGTH, seed=EVAL_SEED)
        return Data(None, None, xt, yt, "regression", ADDING_BASELINE_MSE, DATA_SEED_OFFSET + seed)
    n_train, n_test = _SIZES[name]
    flat = name == "drift_vectors"
    s = split(
        "drifts" if flat else name, n_train, n_test, seed=seed, standardize_y=name == "friedman"
    )
    if flat:  # signals (n, 1, 32) read by an MLP as 32 inputs, as helpers.precision.build does
        return Data(s.x.flatten(1), s.y, s.x_test.flatten(1), s.y_test, s.task, s.baseline)
    return Data(s.x, s.y, s.x_test, s.y_test, s.task, s.baseline)


# The loss of each task, a name of helpers.training.LOSSES.
_LOSSES = {"binary": "bce", "multiclass": "cross_entropy", "regression": "mse"}


def token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per token of logits (batch, length, vocab) against token ids (batch,
    length): −(1/BT) Σ_{b,t} log softmax(logits[b, t])[y_{b,t}], the loss of notebook 10."""
    if logits.ndim != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            "logits must be (batch, length, vocab) and targets (batch, length), got logits "
            f"{tuple(logits.shape)} and targets {tuple(targets.shape)}"
        )
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def held_out_score(model: nn.Module, data: Data) -> float:
    """Accuracy (classification) or R² = 1 − MSE/Var(y) (regression) on the held-out set; NaN if
    the model's outputs are not finite. The model's train/eval mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(data.x_test)
    finally:
        model.train(was_training)
    if not torch.isfinite(out).all():
        return math.nan
    if data.task == "binary":
        return float(((out > 0).float() == data.y_test).float().mean())
    if data.task == "multiclass":  # per example, or per token of a sequence
        return float((out.argmax(dim=-1) == data.y_test).float().mean())
    mse = torch.mean((out.double() - data.y_test.double()) ** 2)
    return float(1.0 - mse / torch.var(data.y_test.double(), correction=0))


# --- the mysteries: recipes behind neutral names -------------------------------------------------


@dataclass(frozen=True)
class _Recipe:
    architecture: str  # "conv", "mlp", "rnn" or "transformer"
    model: dict
    data: str
    lr: float
    steps: int
    optimizer: str = "sgd"
    clip: float | None = None
    description: str = ""
    warmup_steps: int = 0
    autocast: str | None = None  # "float16": the forward pass under torch.autocast
    loss_scaling: bool = False


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
    "F": _Recipe(
        "transformer",
        {
            "depth": WARMUP_SETTING["depth"],
            "d_model": 32,
            "n_heads": 4,
            "d_ff": 64,
            "norm_position": "post",
            "residual_scale": 1.0,
        },  # fmt: skip
        "reverse",
        lr=WARMUP_SETTING["lr"],
        steps=WARMUP_SETTING["steps"],
        optimizer="adam",
        description=f"a transformer: token and position embeddings, "
        f"{WARMUP_SETTING['depth']} blocks of self-attention (4 heads) and an MLP on a "
        f"32-dimensional residual stream, each with its layer norms, then a linear read-out to "
        f"{REVERSE_VOCAB} logits per position. Data: reverse a sequence of {REVERSE_LENGTH} "
        f"tokens from a vocabulary of {REVERSE_VOCAB}, a fresh batch of {REVERSE_BATCH} "
        f"sequences per step. Adam",
    ),
    "G": _Recipe(
        "mlp",
        {"depth": _PRECISION.depth, "width": _PRECISION.width, "activation": _PRECISION.activation},
        "drift_vectors",
        lr=_PRECISION.lr,
        steps=_PRECISION.steps,
        optimizer="adam",
        autocast="float16",
        description=f"a fully connected classifier: {_PRECISION.depth} hidden layers of "
        f"{_PRECISION.width} units reading the 32 samples of a signal. Data: "
        f"{_PRECISION.n_train} noisy signals that drift up or down (2 classes). Adam, full "
        "batch, mixed precision: the forward and backward passes run under "
        "torch.autocast(float16), weights and optimizer in float32",
    ),
}


def _kind(recipe: _Recipe) -> str:
    return {"rnn": "recurrent network", "transformer": "transformer"}.get(
        recipe.architecture, "feed-forward network"
    )


def applicable_fixes(name: str) -> tuple[str, ...]:
    """The keys of :data:`FIXES` that apply to mystery ``name``'s architecture."""
    recipe = _RECIPES[_check_name(name)]
    skip = set()
    if recipe.architecture not in ("conv", "mlp"):
        skip.update(FEEDFORWARD_FIXES)
    if recipe.architecture != "rnn":
        skip.update(RECURRENT_FIXES)
    if recipe.architecture != "transformer":
        skip.update((*TRANSFORMER_FIXES, "warmup"))
    if recipe.autocast != "float16":
        skip.update(MIXED_PRECISION_FIXES)
    return tuple(fix for fix in FIXES if fix not in skip)


def _apply_fix(name: str, fix: str) -> _Recipe:
    """Mystery ``name``'s recipe with ``fix`` applied; ValueError if it does not apply."""
    recipe = _RECIPES[name]
    if fix not in applicable_fixes(name):
        precision = "" if recipe.autocast else " trained in float32"
        raise ValueError(
            f"fix {fix!r} does not apply to mystery {name}, a {_kind(recipe)}{precision}; the "
            f"fixes that do are {', '.join(repr(f) for f in applicable_fixes(name))}"
        )
    changes = {
        "relu_he": {"activation": "relu", "init": "he", "scale": None},
        "he_init": {"init": "he", "scale": None},
        "xavier": {"init": "xavier", "scale": None},
        "batch_norm": {"norm": "batch"},
        "residual": {"residual": True},
        "gru": {"kind": "gru"},
        "lstm": {"kind": "lstm"},
        "pre_ln": {"norm_position": "pre"},
        "residual_scale": {"residual_scale": gpt2_residual_scale(recipe.model.get("depth", 1))},
    }
    if fix in changes:
        return replace(recipe, model={**recipe.model, **changes[fix]})
    if fix == "clip":
        return replace(recipe, clip=CLIP_NORM)
    if fix == "lower_lr":
        return replace(recipe, lr=recipe.lr * LOWER_LR_FACTOR)
    if fix == "raise_lr":
        return replace(recipe, lr=recipe.lr * RAISE_LR_FACTOR)
    if fix == "warmup":
        return replace(recipe, warmup_steps=WARMUP_STEPS)
    if fix == "loss_scaling":
        return replace(recipe, loss_scaling=True)
    return recipe


def _build(recipe: _Recipe, data: Data, seed: int) -> nn.Module:
    kwargs = dict(recipe.model)
    if recipe.architecture == "rnn":
        from helpers.recurrent import make_model

        return make_model(kwargs.pop("kind"), input_size=2, seed=seed, **kwargs)
    depth = kwargs.pop("depth")
    if recipe.architecture == "transformer":
        d_model, n_heads, d_ff = kwargs.pop("d_model"), kwargs.pop("n_heads"), kwargs.pop("d_ff")
        return transformer_stack(depth, d_model, n_heads, d_ff, vocab=REVERSE_VOCAB,
                                 max_len=REVERSE_LENGTH, seed=seed, **kwargs)  # fmt: skip
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

    def train(self, monitor=None) -> np.ndarray:
        """Train the model in place for ``steps`` steps; return the training loss per step.

        The loop is the course's one loop (``helpers.training.train``), the one the monitor is
        made for: zero_grad, forward, loss, backward, ``monitor.record(loss)`` (when a monitor is
        given), [clip], step [, the warm-up schedule's step]. Under a GradScaler (the
        loss-scaling fix) the monitor is called as ``monitor.record(loss, scaler=scaler)``. It
        stops once the loss is NaN or infinite (every later step would be too); the monitor
        records that step as well. A mystery trains once; call
        :func:`mystery` again for a fresh copy.
        """
        if self.losses is not None:
            raise RuntimeError(
                f"mystery {self.name} is already trained; call capstone.mystery({self.name!r}) "
                "for a fresh copy"
            )
        recipe = self._recipe
        result = training.train(
            self.model,
            self.data.batches(),
            steps=self.steps,
            lr=recipe.lr,
            optimizer=recipe.optimizer,
            loss=token_cross_entropy
            if recipe.architecture == "transformer"
            else _LOSSES[self.data.task],
            clip=recipe.clip,
            monitor=monitor,
            record_nonfinite=True,
            label=f"mystery {self.name}",
            warmup_steps=recipe.warmup_steps,
            autocast=recipe.autocast,
            loss_scaling=recipe.loss_scaling,
        )
        self.losses = result.losses
        return self.losses

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
            guess = f"{1 / self.data.classes:.2f} by chance"
        return (
            f"training loss at the last step {loss} (baseline {self.baseline:.3g}); held-out "
            f"{self.data.metric} {score} ({guess})"
        )


def mystery(name: str, seed: int = 0) -> Mystery:
    """A fresh, untrained mystery; ``name`` is one of :data:`MYSTERIES` ("A" to "G").

    The same name and seed give the same weights and data on every call.
    """
    return Mystery(_check_name(name), _check_seed(seed))
