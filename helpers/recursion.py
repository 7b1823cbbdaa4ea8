"""The variance recursion of a deep network at initialization: the initialization rules (Var[W]
as a function of the fans), the Gaussian expectations of each activation, and the per-layer
forward variance q_l and backward factor χ_l they give (notebooks 05 and 06).

Notation (one hidden layer l of width n_l, weights W_l of shape (n_l, n_(l-1)), zero-mean):
    z_l = W_l a_(l-1) + b_l,   a_l = f(z_l),   σ_w² = n_(l-1)·Var[W_l],   q_l = Var[z_l].
The forward recursion is q_l = σ_w²·E[f(z)²] + σ_b² with z ~ N(0, q_(l-1)), and the backward
one multiplies the variance of ∂L/∂z by χ_l = σ_w²·E[f'(z_l)²] per layer (square layers).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from helpers import _validate
from helpers.activations import ACTIVATIONS, activation, derivative

# --- initialization rules: one table, Var[W] as a function of the fans ---------------------------

INIT_RULES = {
    # name: (Var[W](fan_in, fan_out), the rule in words, where it comes from)
    "default": (
        lambda fan_in, fan_out: 1.0 / (3.0 * fan_in),
        "U(±1/√fan_in): Var = 1/(3·fan_in)",
        "PyTorch's nn.Linear (kaiming_uniform_ with a=√5); Glorot & Bengio's 'standard' init",
    ),
    "lecun": (
        lambda fan_in, fan_out: 1.0 / fan_in,
        "Var = 1/fan_in",
        "LeCun et al. (1998), Efficient BackProp; SELU's init (Klambauer et al. 2017)",
    ),
    "xavier": (
        lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
        "Var = 2/(fan_in + fan_out)",
        "Glorot & Bengio (2010), eq. 16, 'normalized initialization'",
    ),
    "he": (
        lambda fan_in, fan_out: 2.0 / fan_in,
        "Var = 2/fan_in",
        "He, Zhang, Ren & Sun (2015), Delving Deep into Rectifiers, eq. 10",
    ),
}


def weight_variance(rule: str, fan_in: int, fan_out: int | None = None) -> float:
    """Var[W] that ``rule`` prescribes for a layer with ``fan_in`` inputs and ``fan_out`` outputs
    (``fan_out`` defaults to ``fan_in``, a square layer). See :data:`INIT_RULES`.

    >>> weight_variance("he", 256)
    0.0078125
    """
    _validate.choice(rule, INIT_RULES, "rule")
    fan_in = _validate.positive_int(fan_in, "fan_in")
    fan_out = fan_in if fan_out is None else _validate.positive_int(fan_out, "fan_out")
    return float(INIT_RULES[rule][0](fan_in, fan_out))


# --- Gaussian expectations (mean-field quantities) -----------------------------------------------

# ∫ g(μ + s·z) φ(z) dz by composite Simpson on z ∈ [−12, 12], split at the activation's kink
# (x = 0, i.e. z = −μ/s) so each piece is smooth: error below about 1e-9 for the activations here.
_Z_MAX = 12.0
_PANELS = 1200  # Simpson intervals per piece (even)


def _simpson(y: np.ndarray, h: float) -> float:
    return float(h / 3.0 * (y[0] + y[-1] + 4.0 * y[1:-1:2].sum() + 2.0 * y[2:-1:2].sum()))


def _expect(g: Callable[[np.ndarray], np.ndarray], mean: float, std: float) -> float:
    """E[g(x)] for x ~ N(mean, std²)."""
    if std == 0.0:
        return float(g(np.array([mean]))[0])
    kink = -mean / std
    edges = [-_Z_MAX, _Z_MAX]
    if -_Z_MAX < kink < _Z_MAX:
        edges = [-_Z_MAX, kink, _Z_MAX]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        z = np.linspace(lo, hi, _PANELS + 1)
        weights = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        x = mean + std * z
        # One-sided limits at the piece's ends, so a kink at an end takes this piece's branch.
        nudge = 1e-9 * std
        x[0], x[-1] = x[0] + nudge, x[-1] - nudge
        total += _simpson(g(x) * weights, (hi - lo) / _PANELS)
    return total


def _check_activation(name) -> str:
    return _validate.choice(name, ACTIVATIONS, "activation")


def _check_var(var, argument: str = "var") -> float:
    return _validate.nonnegative(var, argument)


def _check_mean(value, argument: str = "mean") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"{argument} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{argument} must be finite, got {value!r}")
    return float(value)


def mean_output(name: str, var: float, mean: float = 0.0) -> float:
    """E[f(z)] for z ~ N(mean, var); e.g. √(var/(2π)) for ReLU at mean 0."""
    name, var, mean = _check_activation(name), _check_var(var), _check_mean(mean)
    return _expect(lambda x: activation(name, x), mean, math.sqrt(var))


def second_moment(name: str, var: float, mean: float = 0.0) -> float:
    """E[f(z)²] for z ~ N(mean, var): the "E[a²]" of the variance recursion.

    ReLU: var/2 at mean 0 (half the units are zero); linear: var + mean²."""
    name, var, mean = _check_activation(name), _check_var(var), _check_mean(mean)
    return _expect(lambda x: activation(name, x) ** 2, mean, math.sqrt(var))


def slope_second_moment(name: str, var: float, mean: float = 0.0) -> float:
    """E[f'(z)²] for z ~ N(mean, var): the activation's share of the per-layer backward factor.

    ReLU: exactly 1/2 for every var at mean 0 (f' is 1 on the active half, 0 on the other), so
    the backward factor σ_w²/2 does not depend on how large the signals are. Sigmoid: at most
    1/16 (σ' ≤ 1/4). tanh: 1 at var 0, falling as units saturate."""
    name, var, mean = _check_activation(name), _check_var(var), _check_mean(mean)
    return _expect(lambda x: derivative(name, x) ** 2, mean, math.sqrt(var))


def mean_var_map(name: str, mean: float, var: float, *, omega: float = 0.0, tau: float = 1.0):
    """One layer's map of the input moments (μ, ν) to the output moments (μ̃, ν̃).

    Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing Neural Networks", eq. 3-4:
    inputs x_i with mean μ and variance ν, weights with ω = Σ w_i and τ = Σ w_i², so the unit's
    pre-activation is z ~ N(μω, ντ) and (μ̃, ν̃) = (E[f(z)], Var[f(z)]). For SELU with
    normalized weights (ω = 0, τ = 1) the map has the stable fixed point (0, 1).
    """
    name, mean, var = _check_activation(name), _check_mean(mean), _check_var(var)
    omega, tau = _check_mean(omega, "omega"), _check_var(tau, "tau")
    m, s = mean * omega, math.sqrt(var * tau)
    first = _expect(lambda x: activation(name, x), m, s)
    second = _expect(lambda x: activation(name, x) ** 2, m, s)
    return first, max(second - first * first, 0.0)


def iterate_mean_var_map(name: str, mean: float, var: float, steps: int, **kwargs) -> np.ndarray:
    """The trajectory (steps + 1, 2) of (μ, ν) under :func:`mean_var_map`, start included."""
    steps = _validate.positive_int(steps, "steps")
    points = [(float(mean), float(var))]
    for _ in range(steps):
        points.append(mean_var_map(name, *points[-1], **kwargs))
    return np.array(points)


def recommended_scale(name: str) -> float:
    """σ_w such that Var[W] = σ_w²/fan_in is the activation's usual init: the gain of
    ``helpers.activations.gain`` (torch's ``calculate_gain``: √2 for ReLU, 5/3 for tanh, 1 for
    sigmoid), except SELU, whose self-normalizing fixed point needs Var = 1/fan_in (Klambauer et
    al. 2017; torch's own docs say to use the "linear" gain, 1, for SELU, not its 3/4)."""
    from helpers.activations import gain

    name = _check_activation(name)
    return 1.0 if name == "selu" else gain(name)


# --- the variance recursion ----------------------------------------------------------------------


@dataclass(frozen=True)
class Recursion:
    """The mean-field prediction for hidden layers 1..depth.

    q[l]   Var[z_l], the pre-activation variance of hidden layer l+1.
    chi[l] σ_w²·E[f'(z_l)²] (with the σ_w² of the layer above, the one the backward pass goes
           through): the factor by which Var[∂L/∂z] shrinks from layer l+2 back to layer l+1.
    """

    q: np.ndarray
    chi: np.ndarray


def _per_layer(value, depth: int, argument: str) -> np.ndarray:
    values = np.broadcast_to(np.asarray(value, dtype=np.float64), (depth,)).copy()
    for v in values:
        _validate.nonnegative(float(v), argument)
    return values


def variance_recursion(
    name: str,
    depth: int,
    sigma_w2: float | Sequence[float],
    *,
    input_second_moment: float = 1.0,
    sigma_b2: float = 0.0,
) -> Recursion:
    """Predict Var[z_l] layer by layer: q_1 = σ_w²·E[x²] + σ_b², then
    q_l = σ_w²·E[f(z)²]_(z ~ N(0, q_(l−1))) + σ_b²  (the recursion Var[z] = n·Var[W]·E[a²]).

    ``sigma_w2`` is n·Var[W] (fan_in times the weight variance), one number for every layer or
    one per hidden layer. Assumes independent zero-mean weights and a wide layer (the sum over
    n inputs is then close to Gaussian); Glorot & Bengio (2010), He et al. (2015), Poole et al.
    (2016) and Schoenholz et al. (2017) all start from it.

    >>> variance_recursion("relu", 3, 2.0).q   # He init: the variance is kept
    array([2., 2., 2.])
    """
    name = _check_activation(name)
    depth = _validate.positive_int(depth, "depth")
    s2 = _per_layer(sigma_w2, depth, "sigma_w2")
    e_x2 = _validate.nonnegative(input_second_moment, "input_second_moment")
    b2 = _validate.nonnegative(sigma_b2, "sigma_b2")
    q = np.empty(depth)
    q[0] = s2[0] * e_x2 + b2
    for layer in range(1, depth):
        q[layer] = s2[layer] * second_moment(name, q[layer - 1]) + b2
    above = np.append(s2[1:], s2[-1])
    chi = np.array([above[i] * slope_second_moment(name, q[i]) for i in range(depth)])
    return Recursion(q, chi)


def geometric_rate(values) -> float:
    """The average per-layer factor of a positive profile: (v_last / v_first)^(1/(len − 1))."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"values must be a 1-D profile of at least 2 numbers, got shape {v.shape}")
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("values must be finite and > 0 to take a geometric rate")
    return float((v[-1] / v[0]) ** (1.0 / (v.size - 1)))
