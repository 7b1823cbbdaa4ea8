"""The course's model builder, :func:`mlp`, with every weight-initialization scheme it teaches,
and the small seeded regression task the notebooks train on.

Notebook 03 builds deep sigmoid networks with too-small and too-large weights; notebooks 04-07
reuse :func:`mlp` with other activations, initializations, normalization and residual blocks.
Each initializer's docstring states its variance rule and the paper it comes from.
"""

import math
from collections import OrderedDict
from numbers import Integral

import torch
from torch import nn

from helpers import _validate
from helpers.activations import ACTIVATIONS, gain, torch_activation

INITS = ("default", "normal", "uniform", "xavier", "he", "orthogonal")
NORMS = (None, "batch", "layer")
# The activations' parameters are fixed at their defaults in mlp (leaky_relu slope 0.01, elu
# alpha 1); He initialization for leaky_relu reads the slope from here.
LEAKY_SLOPE = 0.01


# --- the initializers: one function per scheme, each stating its rule ----------------------------
# Each takes a weight of shape (fan_out, fan_in) like nn.Linear.weight, the hidden activation's
# name and `scale` (None, or the user's number), and fills the weight in place from torch's
# global generator (mlp forks it when a seed is given).


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


# --- the network ---------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """x + f(norm(Linear(x))): the hidden layer's output is added to its input (He et al. 2016,
    "Deep Residual Learning for Image Recognition"), so ∂out/∂x = I + ∂f/∂x and the identity
    path carries the gradient past the block even when ∂f/∂x is tiny."""

    def __init__(self, width: int, activation: str, norm: str | None, bias: bool):
        super().__init__()
        self.linear = nn.Linear(width, width, bias=bias)
        if norm is not None:
            self.norm = _norm_layer(norm, width)
        self.act = torch_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        if hasattr(self, "norm"):
            z = self.norm(z)
        return x + self.act(z)


def _norm_layer(norm: str, width: int) -> nn.Module:
    return nn.BatchNorm1d(width) if norm == "batch" else nn.LayerNorm(width)


def _check_flag(value, argument: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{argument} must be True or False, got {value!r}")
    return value


def _check_scale(init: str, scale) -> float | None:
    if scale is not None:
        return _validate.nonnegative(scale, "scale")
    if init in NEEDS_SCALE:
        raise ValueError(
            f"init={init!r} needs a weight scale: pass scale= (e.g. scale=0.05 for "
            f"{'N(0, 0.05²)' if init == 'normal' else 'U(-0.05, 0.05)'})"
        )
    return None


def _check_args(depth, width, in_features, out_features, activation, init, scale, norm, seed):
    depth = _validate.positive_int(depth, "depth")
    width = _validate.positive_int(width, "width")
    in_features = _validate.positive_int(in_features, "in_features")
    out_features = _validate.positive_int(out_features, "out_features")
    _validate.choice(activation, ACTIVATIONS, "activation")
    _validate.choice(init, INITS, "init")
    if norm not in NORMS or isinstance(norm, bool):
        valid = ", ".join(repr(n) for n in NORMS)
        raise ValueError(f"unknown norm {norm!r}; valid names are {valid}")
    scale = _check_scale(init, scale)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    return depth, width, in_features, out_features, scale


def mlp(
    depth: int,
    width: int,
    *,
    in_features: int = 2,
    out_features: int = 1,
    activation: str = "sigmoid",
    init: str = "default",
    scale: float | None = None,
    bias: bool = True,
    norm: str | None = None,
    residual: bool = False,
    seed: int | None = None,
) -> nn.Sequential:
    """A multilayer perceptron: ``depth`` hidden layers of ``width`` units, then a linear output.

    Layout (an ``nn.Sequential``; names in brackets)::

        [linear1] Linear(in_features, width) -> [norm1] -> [act1]
        [linear2] Linear(width, width)        -> [norm2] -> [act2]      (or [block2], see residual)
        ...                                                             (depth hidden layers)
        [output]  Linear(width, out_features)                           (no activation)

    So there are ``depth + 1`` Linear layers, found first to last by ``model.modules()``.

    activation: one of ``helpers.activations.ACTIVATIONS``, at its default parameters (leaky_relu
        slope 0.01, elu alpha 1).
    init: how every Linear weight is drawn, output layer included (see each ``init_*`` function):
        "default"    PyTorch's U(±1/√fan_in), Var = 1/(3·fan_in); not He.
        "normal"     N(0, scale²)          } scale is required
        "uniform"    U(−scale, scale)      }
        "xavier"     Var = 2/(fan_in + fan_out), Glorot & Bengio (2010), without activation gain
        "he"         Var = 2/fan_in (leaky ReLU: 2/((1 + slope²)·fan_in)), He et al. (2015)
        "orthogonal" W = gain(activation)·Q, Q orthogonal, Saxe et al. (2013)
    scale: the weight scale for "normal"/"uniform" (>= 0); for the other schemes an optional
        override of the gain (default: bound scale/√fan_in; xavier: Var = scale²·2/(fan_in +
        fan_out); he: Var = scale²/fan_in; orthogonal: W = scale·Q).
    bias: Linear layers get a bias. Biases start at zero for every scheme except "default",
        which keeps PyTorch's U(±1/√fan_in).
    norm: None, "batch" (BatchNorm1d) or "layer" (LayerNorm) after each hidden Linear and before
        its activation, where Ioffe & Szegedy (2015), "Batch Normalization: Accelerating Deep
        Network Training by Reducing Internal Covariate Shift", place it (sec. 3.2).
    residual: hidden layers 2..depth become blocks x + f(norm(Linear(x))) (He et al. 2016). The
        first hidden layer maps in_features -> width and has no skip (the shapes differ).
    seed: draw the weights from ``torch.manual_seed(seed)`` inside ``torch.random.fork_rng``:
        the same seed gives the same network, and the global generator is left untouched. With
        None, the weights come from the global generator (seeded by ``helpers.course.setup``).
        :func:`initialize` re-draws the weights of an existing model by the same rules.
    """
    depth, width, in_features, out_features, scale = _check_args(
        depth, width, in_features, out_features, activation, init, scale, norm, seed
    )
    _check_flag(bias, "bias")
    _check_flag(residual, "residual")
    args = (depth, width, in_features, out_features, activation, bias, norm, residual)
    if seed is None:
        return _initialize(_build(*args), init, activation, scale, None)
    # One seeded stream for building (nn.Linear draws its own initial weights, which are then
    # replaced) and initializing, so that a seed always gives the same network.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _initialize(_build(*args), init, activation, scale, None)


def _build(depth, width, in_features, out_features, activation, bias, norm, residual):
    layers: OrderedDict[str, nn.Module] = OrderedDict()

    def plain_layer(index: int, fan_in: int) -> None:
        layers[f"linear{index}"] = nn.Linear(fan_in, width, bias=bias)
        if norm is not None:
            layers[f"norm{index}"] = _norm_layer(norm, width)
        layers[f"act{index}"] = torch_activation(activation)

    plain_layer(1, in_features)
    for index in range(2, depth + 1):
        if residual:
            layers[f"block{index}"] = ResidualBlock(width, activation, norm, bias)
        else:
            plain_layer(index, width)
    layers["output"] = nn.Linear(width, out_features, bias=bias)
    return nn.Sequential(layers)


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
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    return _initialize(model, init, activation, scale, seed)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The model's Linear layers in registration order (first hidden layer first, output last)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


# --- a small task to train on --------------------------------------------------------------------


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
