"""Every weight-initialization scheme the course teaches, one function each, stating its rule.

Each initializer takes a weight of shape (fan_out, fan_in) like ``nn.Linear.weight``, the hidden
activation's name and ``scale`` (None, or the user's number), and fills the weight in place from
torch's global generator (:func:`helpers.models.mlp` forks it when a seed is given).
"""

import math
from numbers import Integral

import torch
from torch import nn

from helpers import _validate
from helpers.activations import ACTIVATIONS, gain

INITS = ("default", "normal", "uniform", "xavier", "he", "orthogonal")


# The activations' parameters are fixed at their defaults in mlp (leaky_relu slope 0.01, elu
# alpha 1); He initialization for leaky_relu reads the slope from here.
LEAKY_SLOPE = 0.01


def init_default(weight: torch.Tensor, activation: str, scale: float | None) -> None:
    """PyTorch's own ``nn.Linear`` init: W ~ U(−b, b), b = 1/√fan_in, so Var(W) = 1/(3·fan_in).

    This is ``kaiming_uniform_(a=√5)`` in torch's source, which is *not* He initialization (He's
    rule is Var = 2/fan_in, six times larger). ``scale`` multiplies the bound: b = scale/√fan_in.
    """
    bound = (1.0 if scale is None else scale) / math.sqrt(weight.shape[1])
    nn.init.uniform_(weight, -bound, bound)


def init_normal(weight: torch.Tensor, activation: str, scale: float) -> None:
    """W ~ N(0, scale²), whatever the layer's size (the "weights of size 0.005" of notebook 03)."""
    nn.init.normal_(weight, 0.0, scale)


def init_uniform(weight: torch.Tensor, activation: str, scale: float) -> None:
    """W ~ U(−scale, scale), so Var(W) = scale²/3."""
    nn.init.uniform_(weight, -scale, scale)


def init_xavier(weight: torch.Tensor, activation: str, scale: float | None) -> None:
    """Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward neural
    networks", eq. 16 ("normalized initialization"): W ~ U(−b, b), b = g·√(6/(fan_in + fan_out)),
    so Var(W) = g²·2/(fan_in + fan_out).

    g = 1, the paper's formula, whatever the activation (torch's ``xavier_uniform_`` default too),
    so that notebook 06 can show Xavier's rule failing a deep ReLU net. Pass ``scale=gain(act)`` to
    get torch's ``xavier_uniform_(w, gain=calculate_gain(act))`` instead.
    """
    fan_out, fan_in = weight.shape
    g = 1.0 if scale is None else scale
    bound = g * math.sqrt(6.0 / (fan_in + fan_out))
    nn.init.uniform_(weight, -bound, bound)


def init_he(weight: torch.Tensor, activation: str, scale: float | None) -> None:
    """He, Zhang, Ren & Sun (2015), "Delving Deep into Rectifiers", eq. 10: W ~ N(0, g²/fan_in)
    with g² = 2 for ReLU (Var = 2/fan_in) and g² = 2/(1 + slope²) for leaky ReLU.

    The rule is derived for rectifiers; for any other activation "he" still means Var = 2/fan_in
    (as ``kaiming_normal_`` with its default). ``scale`` replaces the gain g: Var = scale²/fan_in.
    """
    if scale is not None:
        g = scale
    elif activation == "leaky_relu":
        g = math.sqrt(2.0 / (1.0 + LEAKY_SLOPE**2))
    else:
        g = math.sqrt(2.0)
    nn.init.normal_(weight, 0.0, g / math.sqrt(weight.shape[1]))


def init_orthogonal(weight: torch.Tensor, activation: str, scale: float | None) -> None:
    """Saxe, McClelland & Ganguli (2013), "Exact solutions to the nonlinear dynamics of learning in
    deep linear neural networks": W = g·Q with Q a random (semi-)orthogonal matrix, so every
    singular value of W equals g. g = ``helpers.activations.gain(activation)`` (1 for sigmoid,
    5/3 for tanh, √2 for ReLU), or ``scale`` if given.
    """
    g = gain(activation) if scale is None else scale
    nn.init.orthogonal_(weight, gain=g)


INITIALIZERS = {
    "default": init_default,
    "normal": init_normal,
    "uniform": init_uniform,
    "xavier": init_xavier,
    "he": init_he,
    "orthogonal": init_orthogonal,
}


NEEDS_SCALE = ("normal", "uniform")


def init_linear(layer: nn.Linear, init: str, activation: str, scale: float | None) -> None:
    """Initialize one Linear layer: weight by ``INITIALIZERS[init]``; bias zero, except for
    "default", which keeps PyTorch's U(±1/√fan_in) bias."""
    with torch.no_grad():
        INITIALIZERS[init](layer.weight, activation, scale)
        if layer.bias is not None:
            if init == "default":
                bound = 1.0 / math.sqrt(layer.weight.shape[1])
                nn.init.uniform_(layer.bias, -bound, bound)
            else:
                nn.init.zeros_(layer.bias)


# A weight scale beyond this overflows float32 activations after a layer or two (and U(-s, s)
# cannot even be drawn near float32's maximum, 3.4e38): far past any scale the course studies.
MAX_SCALE = 1e6


def _check_scale(init: str, scale) -> float | None:
    if scale is not None:
        scale = _validate.nonnegative(scale, "scale")
        if scale > MAX_SCALE:
            raise ValueError(
                f"scale must be at most {MAX_SCALE:g} (float32 weights and activations overflow "
                f"beyond it), got {scale!r}"
            )
        return scale
    if init in NEEDS_SCALE:
        raise ValueError(
            f"init={init!r} needs a weight scale: pass scale= (e.g. scale=0.05 for "
            f"{'N(0, 0.05²)' if init == 'normal' else 'U(-0.05, 0.05)'})"
        )
    return None


def _check_seed(seed) -> None:
    """None, or an integer torch.manual_seed accepts (-2**63 .. 2**64 - 1)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"seed must be an integer in -2**63 .. 2**64 - 1, got {seed!r}")


def _initialize(model, init, activation, scale, seed):
    """Initialize every Linear of ``model`` in order; from ``seed`` inside fork_rng if given."""
    if seed is None:
        for layer in linear_layers(model):
            init_linear(layer, init, activation, scale)
        return model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _initialize(model, init, activation, scale, None)


def initialize(
    model: nn.Module,
    init: str = "default",
    *,
    activation: str = "sigmoid",
    scale: float | None = None,
    seed: int | None = None,
) -> nn.Module:
    """Re-draw the weights and biases of every ``nn.Linear`` in ``model``, in place, first layer
    first, with one of :data:`INITS` (the rules of :func:`mlp`; ``activation`` picks the gain
    for "he" and "orthogonal"). Returns ``model``.

    With a seed, the weights are drawn from ``torch.manual_seed(seed)`` inside
    ``torch.random.fork_rng`` (the global generator is untouched), so they depend only on the
    seed, the scheme and the layer shapes. They differ from those of ``mlp(..., seed=seed)``,
    whose seeded stream also feeds the construction of its layers; the distribution is the same.
    Works on any model; modules other than ``nn.Linear`` are untouched.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _validate.choice(activation, ACTIVATIONS, "activation")
    _validate.choice(init, INITS, "init")
    scale = _check_scale(init, scale)
    _check_seed(seed)
    return _initialize(model, init, activation, scale, seed)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The model's Linear layers in registration order (first hidden layer first, output last)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]
