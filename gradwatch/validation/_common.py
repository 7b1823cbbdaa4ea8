"""What every scenario shares: the Outcome and Scenario records, seeding, data and baselines.

Nothing here is gradwatch: a scenario only receives ``make_monitor`` and uses the monitor the way
the README's recipe does.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

LABELS = ("vanishing", "exploding", "converged", "healthy", "insufficient evidence")


@dataclass
class Outcome:
    """What a scenario hands back: the monitor it used and the best constant prediction's loss."""

    monitor: object
    baseline: float


@dataclass(frozen=True)
class Scenario:
    """One labelled run: ``function(make_monitor)`` trains it and returns an :class:`Outcome`."""

    name: str
    label: str
    imitates: str
    why: str
    function: Callable[..., Outcome]

    def __post_init__(self):
        if self.label not in LABELS:
            raise ValueError(f"{self.name}: unknown label {self.label!r}")


def start(seed: int) -> None:
    """Single-threaded and seeded: every scenario calls this first."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)


def class_entropy(y: torch.Tensor, classes: int) -> float:
    """Cross-entropy of the best constant prediction (the label frequencies) for labels ``y``."""
    p = torch.bincount(y.flatten(), minlength=classes).double() / y.numel()
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def variance(y: torch.Tensor) -> float:
    """Mean squared error of the best constant prediction (the mean), per output element."""
    return float(((y - y.mean(0)) ** 2).mean())


def batches(*tensors: torch.Tensor, size: int):
    """Endless random mini-batches (with replacement) drawn from a fixed data set."""
    n = tensors[0].shape[0]
    while True:
        idx = torch.randint(0, n, (size,))
        yield tuple(t[idx] for t in tensors)


class Teacher:
    """A fixed random two-layer tanh network that labels Gaussian inputs with ``classes`` classes.

    ``sample(n)`` draws fresh inputs, so a student sees new data at every step. The temperature
    makes the classes separable but not trivially (a student needs a hidden layer to fit them).
    """

    def __init__(self, dim: int = 16, classes: int = 4, hidden: int = 32):
        self.dim, self.classes = dim, classes
        self.w1 = 2.0 * torch.randn(dim, hidden) / math.sqrt(dim)
        self.w2 = torch.randn(hidden, classes) / math.sqrt(hidden)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ self.w1) @ self.w2

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(n, self.dim)
        return x, self.logits(x).argmax(1)

    def baseline(self) -> float:
        return class_entropy(self.sample(20000)[1], self.classes)


def he_init(model: nn.Module) -> nn.Module:
    """Kaiming-normal weights and zero biases for every Linear/Conv layer (the usual fix)."""
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
