"""Adam on a vanishing gradient (notebook 07): the size of its first step, lr·g/(|g| + ε), and
which layers' weights a few Adam steps move at all when their float32 gradients are tiny or
exactly zero.
"""

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import _validate, training
from helpers.models import linear_layers
from helpers.signal import unchanged_fractions, weight_gradients

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
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    result = training.train(trained, (x, y), steps=steps, lr=lr, optimizer="adam", label="adam")
    unchanged = unchanged_fractions(trained, start)
    return AdamOnVanishing(zero, largest, unchanged, steps, (result.losses[0], result.final_loss))
