"""The chain rule written out: backpropagation through a zero-bias sigmoid or tanh network.

Notebook 02 uses it to show that the gradient of the first layer's weights is a product of
per-layer factors diag(f'(z_l)) W_l, and that this product shrinks geometrically with depth.

The network: a_0 = x, z_l = W_l a_(l-1), a_l = f(z_l) for l = 1..L (the last layer included),
loss L = 0.5 * ||a_L - y||^2. Each W_l is shaped (n_out, n_in) like ``nn.Linear.weight``.

References: Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating
errors"; Hochreiter (1991), "Untersuchungen zu dynamischen neuronalen Netzen"; Bengio, Simard &
Frasconi (1994), "Learning long-term dependencies with gradient descent is difficult".
"""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from helpers import _validate
from helpers import activations as act

# The activations this module backpropagates through (notebook 02's subject).
CHAIN_ACTIVATIONS = ("sigmoid", "tanh")


class Forward(NamedTuple):
    """A forward pass: ``z[l-1]`` is z_l (l = 1..L) and ``a[l]`` is a_l (a[0] is the input x)."""

    z: list[np.ndarray]
    a: list[np.ndarray]


class Factors(NamedTuple):
    """The per-layer backprop factors: ``fprime[l-1]`` = f'(z_l), ``factors[l-1]`` = J_l."""

    fprime: list[np.ndarray]
    factors: list[np.ndarray]


class FactorNorms(NamedTuple):
    """Per-layer sizes (first layer first) of the factors J_l = diag(f'(z_l)) W_l."""

    weight_norm: np.ndarray  # ||W_l||_2, the spectral norm (largest singular value)
    mean_fprime: np.ndarray  # mean of f'(z_l) over the units of layer l
    factor_norm: np.ndarray  # ||J_l||_2
    bound: np.ndarray  # max f' * ||W_l||_2, which is >= ||J_l||_2


class Network(NamedTuple):
    """A random zero-bias network with one input and one target."""

    weights: list[np.ndarray]
    x: np.ndarray
    y: np.ndarray


class DepthSweep(NamedTuple):
    """First-layer gradient norms of nested networks of increasing depth (one entry per depth)."""

    depths: np.ndarray
    grad_norm: np.ndarray  # ||dL/dW_1||_F
    bound: np.ndarray  # first_layer_bound of the same network, >= grad_norm
    weight_norm: float  # mean spectral norm ||W_l||_2 of the layers used
    activation: str
    scale: float
    width: int


# --------------------------------------------------------------------------------------------
# Argument checks (public boundary only)


def _as_finite_array(value, argument: str, ndim: int) -> np.ndarray:
    array = _validate.real_array(value, argument, "a numeric numpy array (real numbers)")
    if array.ndim != ndim:
        raise ValueError(
            f"{argument} must be a {ndim}-D array, got shape {array.shape} ({array.ndim}-D)"
        )
    if array.size == 0:
        raise ValueError(f"{argument} must not be empty, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{argument} contains non-finite values (nan or inf)")
    return array


def _check_weights(weights) -> list[np.ndarray]:
    if not isinstance(weights, (list, tuple)):
        raise TypeError(
            "weights must be a list of 2-D numpy arrays W_l shaped (n_out, n_in), "
            f"got {type(weights).__name__}"
        )
    if len(weights) == 0:
        raise ValueError("weights must contain at least one 2-D array, got an empty list")
    checked = [_as_finite_array(w, f"weights[{i}]", ndim=2) for i, w in enumerate(weights)]
    for i in range(1, len(checked)):
        n_out_prev, n_in = checked[i - 1].shape[0], checked[i].shape[1]
        if n_in != n_out_prev:
            raise ValueError(
                f"weights[{i}] has shape {checked[i].shape}, so it expects {n_in} inputs, "
                f"but weights[{i - 1}] has shape {checked[i - 1].shape} and gives "
                f"{n_out_prev} outputs; consecutive layers must match"
            )
    return checked


def _check_input(x, weights: list[np.ndarray]) -> np.ndarray:
    x = _as_finite_array(x, "x", ndim=1)
    if x.shape[0] != weights[0].shape[1]:
        raise ValueError(
            f"x has length {x.shape[0]} but weights[0] has shape {weights[0].shape}, "
            f"so x must have length {weights[0].shape[1]}"
        )
    return x


def _check_target(y, weights: list[np.ndarray]) -> np.ndarray:
    y = _as_finite_array(y, "y", ndim=1)
    if y.shape[0] != weights[-1].shape[0]:
        raise ValueError(
            f"y has length {y.shape[0]} but the last layer weights[-1] has shape "
            f"{weights[-1].shape}, so y must have length {weights[-1].shape[0]}"
        )
    return y


def _check_activation(activation) -> str:
    return _validate.choice(activation, CHAIN_ACTIVATIONS, "activation")


def _check_network(weights, x, y=None, activation="sigmoid"):
    """Validate every argument of a public function; return them as float64 arrays."""
    activation = _check_activation(activation)
    weights = _check_weights(weights)
    x = _check_input(x, weights)
    y = None if y is None else _check_target(y, weights)
    return weights, x, y, activation


# --------------------------------------------------------------------------------------------
# Forward and backward passes (internals trust their inputs)


def _forward(weights, x, activation) -> Forward:
    z, a = [], [x]
    for W in weights:
        z.append(W @ a[-1])  # z_l = W_l a_(l-1)
        a.append(act.activation(activation, z[-1]))  # a_l = f(z_l)
    return Forward(z, a)


def _deltas(weights, fwd: Forward, y, activation) -> list[np.ndarray]:
    fprime = [act.derivative(activation, z) for z in fwd.z]
    # Output error: delta_L = dL/dz_L = (a_L - y) ⊙ f'(z_L)
    delta = (fwd.a[-1] - y) * fprime[-1]
    deltas = [delta]
    # Chain rule, one layer back per step: delta_l = (W_(l+1)^T delta_(l+1)) ⊙ f'(z_l)
    for W_next, fprime_l in zip(weights[:0:-1], fprime[-2::-1], strict=True):
        delta = (W_next.T @ delta) * fprime_l
        deltas.append(delta)
    return deltas[::-1]


# --------------------------------------------------------------------------------------------
# Public API


def forward(weights, x, activation: str = "sigmoid") -> Forward:
    """Run the zero-bias network forward: z_l = W_l a_(l-1), a_l = f(z_l), a_0 = x.

    Returns a :class:`Forward` with the pre-activations z_1..z_L and activations a_0..a_L.
    """
    weights, x, _, activation = _check_network(weights, x, None, activation)
    return _forward(weights, x, activation)


def error_signals(weights, x, y, activation: str = "sigmoid") -> list[np.ndarray]:
    """The backpropagated errors delta_l = dL/dz_l, first layer first.

    delta_L = (a_L - y) ⊙ f'(z_L) and delta_l = (W_(l+1)^T delta_(l+1)) ⊙ f'(z_l)
    (Rumelhart, Hinton & Williams 1986).
    """
    weights, x, y, activation = _check_network(weights, x, y, activation)
    return _deltas(weights, _forward(weights, x, activation), y, activation)


def manual_backprop(weights, x, y, activation: str = "sigmoid") -> list[np.ndarray]:
    """dLoss/dW_l for every layer (first layer first), by the explicit chain-rule product.

    For the zero-bias network z_l = W_l a_(l-1), a_l = f(z_l), a_0 = x with loss
    0.5 * ||a_L - y||^2, backpropagation (Rumelhart, Hinton & Williams 1986) computes

        delta_L = (a_L - y) ⊙ f'(z_L)
        delta_l = (W_(l+1)^T delta_(l+1)) ⊙ f'(z_l)        for l = L-1, ..., 1
        dL/dW_l = delta_l a_(l-1)^T

    so dL/dW_1 carries the product of all L factors f'(z_l) and L-1 matrices W_l^T: the product
    whose shrinking with depth is the vanishing gradient (Hochreiter 1991; Bengio et al. 1994).

    Args:
        weights: list of 2-D arrays W_l shaped (n_out, n_in), like ``nn.Linear.weight``.
        x: 1-D input of length n_in of the first layer.
        y: 1-D target of length n_out of the last layer.
        activation: "sigmoid" or "tanh", applied after every layer, the last one included.

    Returns:
        A list of float64 arrays, ``grads[l-1]`` shaped like ``weights[l-1]``.
    """
    weights, x, y, activation = _check_network(weights, x, y, activation)
    fwd = _forward(weights, x, activation)
    deltas = _deltas(weights, fwd, y, activation)
    # dL/dW_l = delta_l a_(l-1)^T
    return [np.outer(delta, a_prev) for delta, a_prev in zip(deltas, fwd.a[:-1], strict=True)]


def layer_gradient_norms(weights, x, y, activation: str = "sigmoid") -> np.ndarray:
    """Frobenius norm ||dL/dW_l||_F of each layer's weight gradient, first layer first."""
    return np.array([np.linalg.norm(g) for g in manual_backprop(weights, x, y, activation)])


def backprop_factors(weights, x, activation: str = "sigmoid") -> Factors:
    """The per-layer factors J_l = diag(f'(z_l)) W_l of the chain rule, first layer first.

    J_l = da_l/da_(l-1) is the Jacobian of one layer, so the input-output Jacobian is the
    product da_L/da_0 = J_L ... J_2 J_1, and the first-layer error is

        delta_1 = diag(f'(z_1)) (J_L ... J_2)^T (a_L - y),     dL/dW_1 = delta_1 x^T.

    Returns a :class:`Factors` with the vectors f'(z_l) and the matrices J_l.
    """
    weights, x, _, activation = _check_network(weights, x, None, activation)
    fprime = [act.derivative(activation, z) for z in _forward(weights, x, activation).z]
    return Factors(fprime, [fp[:, None] * W for fp, W in zip(fprime, weights, strict=True)])


def spectral_norm(W) -> float:
    """||W||_2, the largest singular value of a 2-D array: max ||W v|| over unit vectors v."""
    return float(np.linalg.norm(_as_finite_array(W, "W", ndim=2), ord=2))


def factor_norms(weights, x, activation: str = "sigmoid") -> FactorNorms:
    """Sizes of each layer's factor J_l = diag(f'(z_l)) W_l next to its bound max f' * ||W_l||_2.

    ||J_l||_2 <= max|f'(z_l)| * ||W_l||_2 <= f'_max * ||W_l||_2, with f'_max = 1/4 for the
    sigmoid and 1 for tanh.
    """
    activation = _check_activation(activation)
    f = backprop_factors(weights, x, activation)
    w_norm = np.array([spectral_norm(W) for W in weights])
    return FactorNorms(
        weight_norm=w_norm,
        mean_fprime=np.array([fp.mean() for fp in f.fprime]),
        factor_norm=np.array([np.linalg.norm(J, ord=2) for J in f.factors]),
        bound=act.derivative_max(activation) * w_norm,
    )


def depth_bound(depth: int, weight_norm: float, activation: str = "sigmoid") -> float:
    """(f'_max * ||W||_2)^L: the bound on the product of L backprop factors.

    If every layer has spectral norm ||W_l||_2 <= weight_norm, then because |f'| <= f'_max
    (1/4 for the sigmoid, 1 for tanh) each factor has ||diag(f'(z_l)) W_l||_2 <= f'_max *
    weight_norm, and the spectral norm is submultiplicative, so

        ||dL/da_0|| = ||(J_L ... J_1)^T dL/da_L|| <= (f'_max * weight_norm)^L * ||dL/da_L||.

    This is the geometric shrinking of Hochreiter (1991) and Bengio, Simard & Frasconi (1994):
    for the sigmoid it guarantees vanishing whenever ||W||_2 < 4. It is an upper bound only; the
    true product is usually much smaller (f' < f'_max away from 0, and a typical vector is
    stretched less than the spectral norm). For the error delta_1 that multiplies into dL/dW_1
    see :func:`first_layer_bound` (L factors f' but only L-1 matrices).
    """
    depth = _validate.positive_int(depth, "depth")
    weight_norm = _validate.nonnegative(weight_norm, "weight_norm")
    activation = _check_activation(activation)
    return float((act.derivative_max(activation) * weight_norm) ** depth)


def first_layer_bound(weights, x, y, activation: str = "sigmoid") -> float:
    """Upper bound on ||dL/dW_1||_F from the spectral norms of the layers above it.

    dL/dW_1 = delta_1 x^T, so ||dL/dW_1||_F = ||delta_1|| * ||x||, and
    delta_1 = D_1 W_2^T D_2 ... W_L^T D_L (a_L - y) with D_l = diag(f'(z_l)), ||D_l|| <= f'_max:

        ||dL/dW_1||_F <= ||x|| * ||a_L - y|| * f'_max^L * prod_(l=2..L) ||W_l||_2.

    With every ||W_l||_2 = w that is ||x|| ||a_L - y|| f'_max (f'_max w)^(L-1).
    """
    weights, x, y, activation = _check_network(weights, x, y, activation)
    fwd = _forward(weights, x, activation)
    out_error = np.linalg.norm(fwd.a[-1] - y)
    above = np.prod([spectral_norm(W) for W in weights[1:]])
    fprime_max = act.derivative_max(activation)
    return float(np.linalg.norm(x) * out_error * fprime_max ** len(weights) * above)


def random_network(sizes: Sequence[int], scale: float = 1.0, seed: int = 0) -> Network:
    """A zero-bias network with layer sizes ``sizes`` = [n_0, n_1, ..., n_L].

    Weights W_l ~ N(0, scale^2), shaped (n_l, n_(l-1)); input x ~ N(0, 1); target
    y ~ U(0, 1) (reachable by a sigmoid output). Drawn from ``np.random.default_rng(seed)``.
    """
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        raise ValueError(f"sizes must be a list of at least two layer sizes, got {sizes!r}")
    sizes = [_validate.positive_int(n, f"sizes[{i}]") for i, n in enumerate(sizes)]
    scale = _validate.nonnegative(scale, "scale")
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0.0, scale, size=(n_out, n_in))
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    x = rng.normal(0.0, 1.0, size=sizes[0])
    y = rng.uniform(0.0, 1.0, size=sizes[-1])
    return Network(weights, x, y)


def first_layer_gradient_vs_depth(
    depths: Sequence[int],
    width: int,
    scale: float,
    activation: str = "sigmoid",
    seed: int = 0,
) -> DepthSweep:
    """||dL/dW_1||_F for nested networks of increasing depth, with its bound.

    One stack of max(depths) square layers W_l ~ N(0, scale^2) (width x width) is drawn; the
    network of depth L uses its first L layers, the same input x and target y. So going from
    depth L to L + 1 adds one factor to the chain-rule product and nothing else changes below.

    For weights near zero, z_l is near 0 and f'(z_l) is near f'_max, so each added layer
    multiplies the gradient by about f'_max * ||W^T v|| / ||v||; for a Gaussian matrix a typical
    vector is stretched by about scale * sqrt(width), while the bound uses the worst direction,
    ||W||_2 (about 2 * scale * sqrt(width) for a square Gaussian matrix).
    """
    if not isinstance(depths, (list, tuple, range, np.ndarray)) or len(depths) == 0:
        raise ValueError(f"depths must be a non-empty list of positive integers, got {depths!r}")
    depths = [_validate.positive_int(d, "depths") for d in depths]
    width = _validate.positive_int(width, "width")
    scale = _validate.positive(scale, "scale")
    activation = _check_activation(activation)
    net = random_network([width] * (max(depths) + 1), scale=scale, seed=seed)
    grads, bounds = [], []
    for depth in depths:
        weights = net.weights[:depth]
        grads.append(np.linalg.norm(manual_backprop(weights, net.x, net.y, activation)[0]))
        bounds.append(first_layer_bound(weights, net.x, net.y, activation))
    used = net.weights[: max(depths)]
    return DepthSweep(
        depths=np.array(depths),
        grad_norm=np.array(grads),
        bound=np.array(bounds),
        weight_norm=float(np.mean([spectral_norm(W) for W in used])),
        activation=activation,
        scale=scale,
        width=width,
    )


def per_layer_rate(depths, values) -> float:
    """The geometric rate r with values ~ C * r^depth: exp of the least-squares slope of log values.

    A rate below 1 means the quantity shrinks by that factor with every added layer.
    """
    depths = _as_finite_array(depths, "depths", ndim=1)
    values = _as_finite_array(values, "values", ndim=1)
    if depths.shape != values.shape or depths.size < 2:
        raise ValueError(
            "depths and values must be 1-D arrays of the same length >= 2, got "
            f"{depths.shape} and {values.shape}"
        )
    if np.any(values <= 0):
        raise ValueError("values must be > 0 to fit a geometric rate")
    slope = np.polyfit(depths, np.log(values), 1)[0]
    return float(np.exp(slope))
