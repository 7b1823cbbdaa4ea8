"""The course's small synthetic data sets, each drawn from its own seeded generator.

See :mod:`helpers.data` for what each one is and which notebook uses it. :func:`split` draws a
training set and a held-out set (seed + 10000) and computes the constant predictor's loss.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

from helpers import _validate

HELD_OUT_SEED = 10_000  # held-out data of seed s is drawn with seed s + HELD_OUT_SEED


def toy_regression(n: int = 256, *, in_features: int = 2, noise: float = 0.05, seed: int = 0):
    """(x, y) float32 tensors: x ~ N(0, I) of shape (n, in_features), y of shape (n, 1) with
    y = sin(2·x₁) · cos(x₂) + noise·N(0, 1) (x₂ = 0 when in_features is 1; further inputs are
    distractors). A smooth, nonlinear target that a small network fits but a constant cannot.

    Drawn from ``torch.Generator`` seeded with ``seed``: the global generator is untouched.
    """
    n = _validate.positive_int(n, "n")
    in_features = _validate.positive_int(in_features, "in_features")
    noise = _validate.nonnegative(noise, "noise")
    generator = torch.Generator().manual_seed(int(seed))
    x = torch.randn(n, in_features, generator=generator)
    second = x[:, 1] if in_features > 1 else torch.zeros(n)
    y = torch.sin(2.0 * x[:, 0]) * torch.cos(second)
    y = y + noise * torch.randn(n, generator=generator)
    return x, y.unsqueeze(1)


def mean_baseline_loss(y) -> float:
    """MSE of the best constant prediction, the mean of ``y``: mean((y − ȳ)²), the population
    variance. A network whose loss sits here has learned nothing but the average."""
    y = torch.as_tensor(y, dtype=torch.float64)
    return float(torch.mean((y - y.mean(dim=0)) ** 2))


def two_moons(n: int, *, noise: float = 0.15, seed: int = 0):
    """(x, y) float32 tensors: two interleaved half circles, standardized to about zero mean and
    unit variance per feature; y (n, 1) in {0, 1}, exactly balanced (alternating labels)."""
    n = _validate.positive_int(n, "n")
    noise = _validate.nonnegative(noise, "noise")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0.0, np.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    x = np.where(y[:, None] == 0, upper, lower) + noise * rng.standard_normal((n, 2))
    x = (x - [0.5, 0.25]) / [0.87, 0.5]
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)[:, None]


def two_blobs(n: int, *, seed: int = 0):
    """(x, y): two well-separated Gaussian blobs at (±1.5, ±1.5), unit variance; a task a linear
    boundary solves almost perfectly. Balanced labels as in :func:`two_moons`."""
    n = _validate.positive_int(n, "n")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    centers = np.where(y[:, None] == 0, -1.0, 1.0)
    x = centers + rng.standard_normal((n, 2))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)[:, None]


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


@dataclass(frozen=True)
class Split:
    """A training set, a held-out set and the loss of the best constant prediction.

    task: "regression" (MSE), "binary" (BCE with logits, y in {0, 1}) or "multiclass"
    (cross-entropy, integer labels). baseline: the training loss of the best constant prediction
    (Var(y), ln 2, ln 3): a run whose loss sits there has learned nothing about its input.
    """

    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    task: str
    baseline: float


SETS = {
    "toy_regression": (toy_regression, "regression"),
    "two_moons": (two_moons, "binary"),
    "two_blobs": (two_blobs, "binary"),
    "friedman": (friedman, "regression"),
    "clusters": (clusters, "multiclass"),
    "drifts": (drifts, "binary"),
}


def _baseline(task: str, y: torch.Tensor) -> float:
    if task == "regression":
        return mean_baseline_loss(y)
    if task == "binary":
        p = float(y.double().mean())
        return -(p * math.log(p) + (1 - p) * math.log(1 - p)) if 0 < p < 1 else 0.0
    counts = torch.bincount(y.flatten()).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


def split(name: str, n_train: int, n_test: int, *, seed: int = 0, standardize_y: bool = False):
    """Training (``seed``) and held-out (``seed + HELD_OUT_SEED``) sets of data set ``name``.

    standardize_y: for regression, centre and scale both sets' targets by the training set's mean
    and standard deviation (the baseline is then 1). The baseline is the constant predictor's
    training loss: the variance of y (MSE), the label entropy (ln 2 for balanced binary labels,
    ln 3 for three balanced classes).
    """
    make, task = SETS[_validate.choice(name, SETS, "data set")]
    (x, y), (x_test, y_test) = make(n_train, seed=seed), make(n_test, seed=seed + HELD_OUT_SEED)
    if standardize_y:
        if task != "regression":
            raise ValueError(f"standardize_y applies to regression sets; {name!r} is {task}")
        mean, std = y.mean(), y.std(correction=0)
        y, y_test = (y - mean) / std, (y_test - mean) / std
    return Split(x, y, x_test, y_test, task, _baseline(task, y))
