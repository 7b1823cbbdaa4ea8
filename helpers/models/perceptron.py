"""The course's multilayer perceptron, :func:`mlp`: depth, width, activation, initialization,
normalization and residual blocks, each one argument.

Notebook 03 builds deep sigmoid networks with too-small and too-large weights; the later notebooks
reuse :func:`mlp` with other activations, initializations, normalization and residual blocks.
"""

from collections import OrderedDict

import torch
from torch import nn

from helpers import _validate
from helpers.activations import ACTIVATIONS, torch_activation
from helpers.models.initializers import INITS, _check_scale, _check_seed, _initialize

NORMS = (None, "batch", "layer")


class ResidualBlock(nn.Module):
    """x + s·(f(norm(Linear(x))) − c): the hidden layer's output is added to its input (He et al.
    2016, "Deep Residual Learning for Image Recognition"), so ∂out/∂x = I + s·∂f/∂x and the
    identity path carries the gradient past the block even when ∂f/∂x is tiny.

    centre c (default 0) and branch_scale s (default 1) keep the stream's scale: a sigmoid branch
    adds σ's mean of about ½ to every unit per block unless c = ½, and s = 1/√depth keeps the sum
    of many branches of order 1 (as GPT-2 and Fixup scale residual branches at initialization).
    """

    def __init__(
        self,
        width: int,
        activation: str,
        norm: str | None,
        bias: bool,
        *,
        centre: float = 0.0,
        branch_scale: float = 1.0,
    ):
        super().__init__()
        self.linear = nn.Linear(width, width, bias=bias)
        if norm is not None:
            self.norm = _norm_layer(norm, width)
        self.act = torch_activation(activation)
        self.centre = float(centre)
        self.branch_scale = float(branch_scale)

    def branch(self, a: torch.Tensor) -> torch.Tensor:
        """s·(a − c) for the branch's activation output a."""
        if self.centre:
            a = a - self.centre
        return a if self.branch_scale == 1.0 else a * self.branch_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        if hasattr(self, "norm"):
            z = self.norm(z)
        return x + self.branch(self.act(z))


def _norm_layer(norm: str, width: int) -> nn.Module:
    return nn.BatchNorm1d(width) if norm == "batch" else nn.LayerNorm(width)


def _check_flag(value, argument: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{argument} must be True or False, got {value!r}")
    return value


# The course's networks have thousands of parameters; 10^8 float32 weights are 400 MB, beyond
# what a laptop or a Binder session (1-2 GB) should be asked to allocate by a typo.
MAX_PARAMETERS = 100_000_000


def parameter_count(depth: int, width: int, in_features: int, out_features: int) -> int:
    """Weights and biases of the Linear layers of ``mlp(depth, width, ...)``."""
    hidden = (in_features + 1) * width + (depth - 1) * (width + 1) * width
    return hidden + (width + 1) * out_features


def _check_args(depth, width, in_features, out_features, activation, init, scale, norm, seed):
    depth = _validate.positive_int(depth, "depth")
    width = _validate.positive_int(width, "width")
    in_features = _validate.positive_int(in_features, "in_features")
    out_features = _validate.positive_int(out_features, "out_features")
    count = parameter_count(depth, width, in_features, out_features)
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"mlp(depth={depth}, width={width}) would have {count:.3g} parameters with "
            f"in_features={in_features}, out_features={out_features} "
            f"({4 * count / 1e9:.3g} GB of float32 weights); the limit is {MAX_PARAMETERS:.0e}. "
            "The course's networks need a few thousand: check depth, width, in_features and "
            "out_features"
        )
    _validate.choice(activation, ACTIVATIONS, "activation")
    _validate.choice(init, INITS, "init")
    if norm not in NORMS or isinstance(norm, bool):
        valid = ", ".join(repr(n) for n in NORMS)
        raise ValueError(f"unknown norm {norm!r}; valid names are {valid}")
    scale = _check_scale(init, scale)
    _check_seed(seed)
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
