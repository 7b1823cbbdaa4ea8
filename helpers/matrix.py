"""Which fix for which cause: networks with one pathology each, and one change each (notebook 08).

A remedy can only work where it addresses the cause. Each row of the matrix is a network whose
gradients vanish (or explode) for **one** reason; each column changes **one** thing about it. A
cell trains the changed network from several seeds at each of three learning rates, all as one
batched computation (:func:`helpers.training.train_many`): 300 full-batch steps of SGD with
momentum 0.9 (Adam in the ``adam`` column). It keeps the learning rate whose worst seed does best
on a validation split and scores every seed on a separate test split against the mean predictor:
relative loss = test MSE ÷ MSE of predicting the training mean; a seed has *learned* when that
is at most 1/2 (R² ≥ 0.5).

Every row has a control, a healthy network of the same shape (its ``relu_he`` cell), which must
learn on every seed within the step budget; if it did not, the budget would be wrong, not the
remedies.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from numbers import Integral

import numpy as np
import torch
from torch import nn

from helpers import _validate, signal, training
from helpers.data import toy_regression
from helpers.models import ResidualBlock, mlp
from helpers.recursion import variance_recursion

WIDTH = 32
STEPS = 300
MOMENTUM = 0.9  # SGD with heavy-ball momentum (Polyak 1964), torch's form
SGD_LRS = (0.01, 0.03, 0.1)
ADAM_LRS = (1e-3, 3e-3, 1e-2)
CLIP_NORM = 1.0
TARGET = 0.5  # learned: test loss at most half the mean predictor's (R² ≥ 0.5)
SEEDS = (0, 1, 2, 3, 4)


def critical_sigmoid_scale(width: int = WIDTH) -> float:
    """The weight standard deviation s at which a wide sigmoid stack's per-layer backward factor
    χ = n·s²·E[σ'(z)²] is 1 at the fixed point of the variance recursion (``helpers.recursion``:
    q = n·s²·E[σ(z)²], z ~ N(0, q)); below it gradients shrink layer by layer, above it they grow.
    Found by bisection on σ_w = s·√n; at width 32, s ≈ 1.79 (σ_w ≈ 10.1), with pre-activations
    of standard deviation about 6.8: most units are saturated, yet the factor is 1."""
    width = _validate.positive_int(width, "width")
    return _critical_sigma_w() / math.sqrt(width)


@lru_cache(maxsize=1)
def _critical_sigma_w() -> float:
    def excess(sigma_w: float) -> float:
        return variance_recursion("sigmoid", 60, sigma_w**2).chi[-1] - 1.0

    low, high = 1.0, 40.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if excess(middle) < 0 else (low, middle)
    return (low + high) / 2


@dataclass(frozen=True)
class Network:
    """One network and how it is trained. ``init``/``scale`` as :func:`helpers.models.mlp`;
    ``bias``: a constant every hidden bias starts at (None: the init's own); ``residual``: hidden
    layers 2..depth become blocks x + s·(f(Wx + b) − c) with c the activation's value at 0 for
    the sigmoid (so the branch is zero-mean) and s = 1/√depth (so the stream keeps its scale)."""

    depth: int
    activation: str
    init: str
    scale: float | None = None
    bias: float | None = None
    norm: str | None = None
    residual: bool = False
    optimizer: str = "sgd"
    clip: float | None = None

    def build(self, seed: int) -> nn.Sequential:
        options = {"norm": self.norm, "residual": self.residual, "seed": seed}
        model = mlp(self.depth, WIDTH, activation=self.activation, init=self.init,
                    scale=self.scale, **options)  # fmt: skip
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, ResidualBlock):
                    module.centre = 0.5 if self.activation == "sigmoid" else 0.0
                    module.branch_scale = 1.0 / math.sqrt(self.depth)
                if self.bias is not None and isinstance(module, nn.Linear):
                    if module is not model.output:
                        module.bias.fill_(self.bias)
        return model


CAUSES = {
    # tiny_init: notebook 03's failing network; every weight, output layer included, N(0, 0.005²)
    "tiny_init": Network(10, "sigmoid", "normal", 0.005),
    # deep_sigmoid: depth is the cause; PyTorch's default U(±1/√fan_in)
    "deep_sigmoid": Network(10, "sigmoid", "default"),
    # relu_mismatched_init: Var[W] = 1/fan_in, half of He's: the signal's second moment halves
    # per layer (He et al. 2015, eq. 10)
    "relu_mismatched_init": Network(40, "relu", "he", 1.0),
    # large_init: 1.5 times He's standard deviation: the signal grows 1.5-fold per layer
    # (1.5^15 ≈ 440 at the top) and the first SGD steps explode
    "large_init": Network(15, "relu", "he", 1.5 * math.sqrt(2.0)),
    # dying_relu: He init but every hidden bias -3: from the second layer on no unit is active,
    # so their gradients are exactly zero (notebook 05 kills units with a learning-rate spike)
    "dying_relu": Network(10, "relu", "he", bias=-3.0),
}


def _matched(net: Network) -> Network:
    if net.activation == "sigmoid":
        return replace(net, init="normal", scale=critical_sigmoid_scale(), bias=None)
    rule = "xavier" if net.activation == "tanh" else "he"
    return replace(net, init=rule, scale=None, bias=None)


REMEDIES = {
    "none": lambda net: net,
    "relu_he": lambda net: replace(net, activation="relu", init="he", scale=None, bias=None),
    "matched_init": _matched,
    "batch_norm": lambda net: replace(net, norm="batch"),
    "layer_norm": lambda net: replace(net, norm="layer"),
    "residual": lambda net: replace(net, residual=True),
    "fewer_layers": lambda net: replace(net, depth=2),
    "adam": lambda net: replace(net, optimizer="adam"),
    "clip": lambda net: replace(net, clip=CLIP_NORM),
}
CONTROL = "relu_he"


@lru_cache(maxsize=1)
def splits():
    """Training (128 points, seed 0), validation (256, seed 1) and test (512, seed 2) sets of
    ``helpers.data.toy_regression``, and the mean predictor (the training mean of y)."""
    train, validation, test = (toy_regression(n, seed=s) for n, s in ((128, 0), (256, 1), (512, 2)))
    return train, validation, test, float(train[1].mean())


def _relative(model: nn.Module, x, y, mean: float) -> float:
    """MSE of ``model`` on (x, y) ÷ MSE of predicting ``mean``; inf if not finite."""
    value = training.evaluate(model, x, y) / float(torch.mean((y - mean) ** 2))
    return value if math.isfinite(value) else math.inf


@dataclass(frozen=True)
class Cell:
    """One remedy on one cause. relative_loss: per seed, test MSE ÷ the mean predictor's;
    learned: how many seeds reached :data:`TARGET`; lr: the learning rate chosen on validation;
    forward: spread of the last hidden layer's output across inputs at initialization (seed 0);
    backward: ‖∂L/∂a‖ per hidden layer at initialization, first layer first (seed 0)."""

    cause: str
    remedy: str
    network: Network
    seeds: tuple
    lr: float
    relative_loss: np.ndarray
    forward: float
    backward: np.ndarray

    @property
    def learned(self) -> int:
        return int(np.sum(self.relative_loss <= TARGET))

    @property
    def verdict(self) -> str:
        return f"{self.learned}/{len(self.seeds)}"


def _check(cause: str, remedy: str, seeds) -> tuple:
    cause = _validate.choice(cause, tuple(CAUSES), "cause")
    remedy = _validate.choice(remedy, tuple(REMEDIES), "remedy")
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a sequence of integer seeds, e.g. (0, 1, 2), got {seeds!r}")
    seeds = tuple(seeds)
    for s in seeds:
        if isinstance(s, bool | np.bool_) or not isinstance(s, Integral):
            raise TypeError(f"seeds must hold integers, got {s!r} in {seeds!r}")
        if not 0 <= s < 2**32:
            raise ValueError(f"seeds must be integers in 0 .. 2**32 - 1, got {s!r} in {seeds!r}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must name at least one seed, each once, got {seeds}")
    return cause, remedy, seeds


def cell(cause: str, remedy: str, *, seeds=SEEDS) -> Cell:
    """Train ``cause``'s network with ``remedy`` at each learning rate of the grid, from every
    seed; keep the learning rate whose worst seed has the lowest validation loss; score the test
    split."""
    cause, remedy, seeds = _check(cause, remedy, seeds)
    return _cell(cause, remedy, seeds)


def _cell(cause: str, remedy: str, seeds: tuple) -> Cell:
    net = REMEDIES[remedy](CAUSES[cause])
    lr, relative = _train(net, seeds)
    forward, backward = signals(net)
    return Cell(cause, remedy, net, seeds, lr, relative, forward, backward)


@lru_cache(maxsize=256)
def _train(net: Network, seeds: tuple) -> tuple[float, np.ndarray]:
    """(chosen learning rate, test relative loss per seed); cached per network, so a remedy that
    turns two causes into the same network (ReLU + He, for instance) trains it once."""
    (x, y), (xv, yv), (xt, yt), mean = splits()
    lrs = ADAM_LRS if net.optimizer == "adam" else SGD_LRS
    many = training.train_many(
        net.build, (x, y), seeds=seeds, lrs=lrs, steps=STEPS, optimizer=net.optimizer,
        momentum=MOMENTUM if net.optimizer == "sgd" else 0.0, clip=net.clip,
    )  # fmt: skip
    validation = many.grid([_relative(m, xv, yv, mean) for m in many.models])
    best = int(np.argmin(validation.max(axis=0)))  # the rate whose worst seed does best
    test = many.grid([_relative(m, xt, yt, mean) for m in many.models])[:, best]
    return lrs[best], test


def signals(net: Network, seed: int = 0) -> tuple[float, np.ndarray]:
    """At initialization, in float64: the forward spread (``helpers.signal.last_hidden_spread``:
    how much of the input still reaches the top) and the backward profile ‖∂L/∂x_l‖ of every
    hidden representation, first layer first (``helpers.signal.representation_gradients``)."""
    model = net.build(seed)
    (x, y), *_ = splits()
    return signal.last_hidden_spread(model, x), signal.representation_gradients(model, x, y)
