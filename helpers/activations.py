"""Activation functions and their derivatives, in closed form, side by side.

Notebook 01 uses this module to show that the sigmoid's derivative peaks at 0.25 and the tanh's at
1; notebooks 02-09 use it to build and monitor networks. Each activation is one entry: the function
``f`` and its derivative ``f'`` written next to each other (micrograd-style), and one table,
:data:`PROPERTIES`, holds the constants that depend on the activation (like
``torch.nn.init.calculate_gain``): the derivative's maximum, the saturation threshold and the gain.

Every function here accepts a Python number (returns a float) or an array (returns an ndarray of
the same shape), and stays finite and warning-free for inputs as large as ±1e6 and beyond.

Convention at the kinks (x = 0), matching PyTorch's autograd: the "x > 0" branch is the positive
one, so relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha and selu'(0) = λα.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradwatch.layers import SATURATION_THRESHOLDS
from helpers import _validate

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "selu", "linear")

# SELU's fixed constants, Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing
# Neural Networks", eq. (2); the same values torch.nn.SELU uses.
SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# Beyond |x| = 40 the standard normal density exp(-x²/2)/√(2π) underflows to 0 in float64, so
# clipping there changes no result and keeps x² from overflowing for huge inputs.
_GAUSS_CLIP = 40.0
_erfc = np.frompyfunc(math.erfc, 1, 1)  # numpy has no erf; math.erfc is correct to ~1 ulp


# --- the activations: f and f' side by side ---------------------------------------------------
# Every function below takes a float64 ndarray (and its parameters) and returns one.


def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x)), computed as e^(−|x|)-based two-branch form (no overflow)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_prime(x):
    """σ'(x) = σ(x)(1 − σ(x)) = e^(−|x|) / (1 + e^(−|x|))², at most 1/4 (at x = 0).

    The second form is the same number without the cancellation in 1 − σ(x) for large x.
    """
    e = np.exp(-np.abs(x))
    # Near x = 0 rounding can land one ulp above 1/4; the true value never exceeds it.
    return np.minimum(e / (1.0 + e) ** 2, 0.25)


def tanh(x):
    """tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x)) = 2σ(2x) − 1."""
    return np.tanh(x)


def tanh_prime(x):
    """tanh'(x) = 1 − tanh²(x) = sech²(x) = 4σ'(2x), at most 1 (at x = 0).

    Computed as 4e^(−2|x|) / (1 + e^(−2|x|))², which equals 1 − tanh²(x) without its cancellation.
    """
    e = np.exp(-2.0 * np.abs(x))
    return np.minimum(4.0 * e / (1.0 + e) ** 2, 1.0)  # rounding guard, as in sigmoid_prime


def relu(x):
    """relu(x) = max(x, 0). Nair & Hinton (2010); Glorot, Bordes & Bengio (2011)."""
    return np.where(x > 0, x, 0.0)


def relu_prime(x):
    """relu'(x) = 1 for x > 0, else 0 (relu'(0) = 0, as in PyTorch)."""
    return np.where(x > 0, 1.0, 0.0)


def leaky_relu(x, slope):
    """leaky_relu(x) = x for x > 0, else slope·x. Maas, Hannun & Ng (2013), "Rectifier
    Nonlinearities Improve Neural Network Acoustic Models"."""
    return np.where(x > 0, x, slope * x)


def leaky_relu_prime(x, slope):
    """leaky_relu'(x) = 1 for x > 0, else slope (slope at x = 0, as in PyTorch)."""
    return np.where(x > 0, 1.0, slope)


def elu(x, alpha):
    """elu(x) = x for x > 0, else α(e^x − 1). Clevert, Unterthiner & Hochreiter (2015), "Fast and
    Accurate Deep Network Learning by Exponential Linear Units (ELUs)"."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_prime(x, alpha):
    """elu'(x) = 1 for x > 0, else α·e^x (α at x = 0, as in PyTorch)."""
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def _normal_cdf(x):
    """Φ(x) = ½·erfc(−x/√2), the standard normal CDF (erfc keeps precision for x ≪ 0)."""
    return 0.5 * np.asarray(_erfc(-x / _SQRT2), dtype=np.float64)


def _normal_pdf(x):
    """φ(x) = e^(−x²/2) / √(2π), the standard normal density."""
    x = np.clip(x, -_GAUSS_CLIP, _GAUSS_CLIP)
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def gelu(x):
    """gelu(x) = x·Φ(x), the exact form (not the tanh approximation). Hendrycks & Gimpel (2016),
    "Gaussian Error Linear Units (GELUs)"."""
    x = np.maximum(x, -_GAUSS_CLIP)  # x·Φ(x) is already 0 in float64 there; avoids −inf·0
    return x * _normal_cdf(x)


def gelu_prime(x):
    """gelu'(x) = Φ(x) + x·φ(x); largest at x = √2, where it is ≈ 1.1289."""
    xc = np.clip(x, -_GAUSS_CLIP, _GAUSS_CLIP)
    return _normal_cdf(x) + xc * _normal_pdf(xc)


def selu(x):
    """selu(x) = λ·x for x > 0, else λα(e^x − 1), with the fixed λ ≈ 1.0507, α ≈ 1.6733.
    Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing Neural Networks"."""
    return SELU_LAMBDA * elu(x, SELU_ALPHA)


def selu_prime(x):
    """selu'(x) = λ for x > 0, else λα·e^x; its supremum λα ≈ 1.7581 sits at x = 0 (x ≤ 0 side)."""
    return SELU_LAMBDA * elu_prime(x, SELU_ALPHA)


def linear(x):
    """linear(x) = x (no activation)."""
    return x + 0.0


def linear_prime(x):
    """linear'(x) = 1."""
    return np.ones_like(x)


@dataclass(frozen=True)
class Activation:
    """One activation: its function, its derivative and its parameters with their defaults."""

    f: Callable
    df: Callable
    params: dict = field(default_factory=dict)


REGISTRY = {
    "sigmoid": Activation(sigmoid, sigmoid_prime),
    "tanh": Activation(tanh, tanh_prime),
    "relu": Activation(relu, relu_prime),
    "leaky_relu": Activation(leaky_relu, leaky_relu_prime, {"slope": 0.01}),
    "elu": Activation(elu, elu_prime, {"alpha": 1.0}),
    "gelu": Activation(gelu, gelu_prime),
    "selu": Activation(selu, selu_prime),
    "linear": Activation(linear, linear_prime),
}


# --- the one table of per-activation constants --------------------------------------------------


@dataclass(frozen=True)
class Properties:
    """Constants of one activation. A field is a number, or a function of the activation's
    parameters (e.g. leaky_relu's gain depends on its slope).

    derivative_max: sup over x of |f'(x)|.
    saturation_threshold: |x| beyond which the unit counts as saturated (f' below 2.7% of its
        peak), or None for activations that do not saturate on both sides.
    gain: the standard-deviation factor for weight initialization, torch.nn.init.calculate_gain's
        value where torch defines one (``torch_gain`` True).
    """

    derivative_max: float | Callable[..., float]
    saturation_threshold: float | None
    gain: float | Callable[..., float]
    torch_gain: bool


_GELU_DERIVATIVE_MAX = float(gelu_prime(np.array(_SQRT2)))  # Φ(√2) + √2·φ(√2) ≈ 1.1289

PROPERTIES = {
    # σ'(5) ≈ 0.00665 < 0.0067, 2.7% of the peak 1/4. tanh'(x) = 4σ'(2x), so tanh falls to the
    # same fraction of its peak 1 at |x| = 2.5.
    "sigmoid": Properties(0.25, SATURATION_THRESHOLDS["sigmoid"], 1.0, torch_gain=True),
    "tanh": Properties(1.0, SATURATION_THRESHOLDS["tanh"], 5.0 / 3.0, torch_gain=True),
    "relu": Properties(1.0, None, math.sqrt(2.0), torch_gain=True),
    "leaky_relu": Properties(
        lambda slope: max(1.0, slope),
        None,
        lambda slope: math.sqrt(2.0 / (1.0 + slope**2)),
        torch_gain=True,
    ),
    # torch defines no gain for ELU or GELU; 1 is the neutral placeholder (no rescaling).
    "elu": Properties(lambda alpha: max(1.0, alpha), None, 1.0, torch_gain=False),
    "gelu": Properties(_GELU_DERIVATIVE_MAX, None, 1.0, torch_gain=False),
    # torch's 3/4 for SELU favours steady gradient flow over the self-normalizing fixed point;
    # for a self-normalizing net torch's docs advise the "linear" gain 1 (variance 1/fan_in).
    "selu": Properties(SELU_LAMBDA * SELU_ALPHA, None, 0.75, torch_gain=True),
    "linear": Properties(1.0, None, 1.0, torch_gain=True),
}


# --- validation at the public boundary -----------------------------------------------------------


def _check_name(name) -> str:
    return _validate.choice(name, ACTIVATIONS, "activation")


def _check_params(name: str, params: dict) -> dict:
    """Return the activation's parameters: defaults overridden by ``params``, each validated."""
    allowed = REGISTRY[name].params
    for key in params:
        if key not in allowed:
            takes = ", ".join(allowed) if allowed else "no parameters"
            raise TypeError(
                f"activation {name!r} got an unexpected parameter {key!r}; it takes {takes} "
                "(leaky_relu takes slope=, elu takes alpha=)"
            )
    return {
        key: _validate.nonnegative(params.get(key, default), key)
        for key, default in allowed.items()
    }


def _as_array(x) -> tuple[np.ndarray, bool]:
    """Return x as a float64 array and whether it was a scalar; TypeError if not real numbers."""
    if isinstance(x, str | bytes | bool | np.bool_):
        raise TypeError(f"x must be a real number or an array of real numbers, got {x!r}")
    try:
        array = np.asarray(x)
    except (TypeError, ValueError):
        raise TypeError(
            f"x must be a real number or an array of real numbers, got {type(x).__name__}"
        ) from None
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"x must be a real number or an array of real numbers, got {type(x).__name__} "
            f"with dtype {array.dtype}"
        )
    return array.astype(np.float64), array.ndim == 0


def _output(value: np.ndarray, scalar: bool):
    return float(value) if scalar else np.asarray(value, dtype=np.float64)


def _resolve(value, params: dict):
    return value(**params) if callable(value) else value


# --- public API ----------------------------------------------------------------------------------


def activation(name: str, x, **params):
    """f(x) for the activation ``name``: a float for a number, an ndarray for an array.

    >>> activation("sigmoid", 0.0)
    0.5
    """
    name = _check_name(name)
    params = _check_params(name, params)
    array, scalar = _as_array(x)
    return _output(REGISTRY[name].f(array, **params), scalar)


def derivative(name: str, x, **params):
    """f'(x) for the activation ``name``, in closed form (see each ``*_prime`` function).

    >>> derivative("sigmoid", 0.0)
    0.25
    """
    name = _check_name(name)
    params = _check_params(name, params)
    array, scalar = _as_array(x)
    return _output(REGISTRY[name].df(array, **params), scalar)


def finite_difference(name: str, x, h: float = 1e-5, **params):
    """Central difference (f(x + h) − f(x − h)) / 2h, error O(h²) away from kinks."""
    name = _check_name(name)
    params = _check_params(name, params)
    h = _validate.positive(h, "h")
    array, scalar = _as_array(x)
    f = REGISTRY[name].f
    return _output((f(array + h, **params) - f(array - h, **params)) / (2.0 * h), scalar)


def torch_activation(name: str, **params):
    """The matching ``torch.nn`` module, e.g. ``torch_activation("leaky_relu", slope=0.2)`` is
    ``nn.LeakyReLU(0.2)``; "gelu" is the exact ``nn.GELU()``, "linear" is ``nn.Identity()``."""
    from torch import nn

    name = _check_name(name)
    params = _check_params(name, params)
    modules = {
        "sigmoid": lambda: nn.Sigmoid(),
        "tanh": lambda: nn.Tanh(),
        "relu": lambda: nn.ReLU(),
        "leaky_relu": lambda: nn.LeakyReLU(negative_slope=params["slope"]),
        "elu": lambda: nn.ELU(alpha=params["alpha"]),
        "gelu": lambda: nn.GELU(approximate="none"),
        "selu": lambda: nn.SELU(),
        "linear": lambda: nn.Identity(),
    }
    return modules[name]()


def autograd_derivative(name: str, x, **params):
    """f'(x) from PyTorch autograd (float64) applied to :func:`torch_activation`."""
    import torch

    module = torch_activation(name, **params)
    array, scalar = _as_array(x)
    t = torch.tensor(array, dtype=torch.float64, requires_grad=True)
    module(t).sum().backward()
    return _output(t.grad.numpy(), scalar)


def derivative_max(name: str, **params) -> float:
    """sup over x of |f'(x)|: 0.25 for sigmoid (at x = 0, not 2.5), 1 for tanh, ≈ 1.1289 for
    gelu (at x = √2), λα ≈ 1.7581 for selu (at x = 0, negative side)."""
    name = _check_name(name)
    return float(_resolve(PROPERTIES[name].derivative_max, _check_params(name, params)))


def saturation_threshold(name: str) -> float | None:
    """|x| beyond which a sigmoid (5.0) or tanh (2.5) unit counts as saturated: there f'(x) is
    under 2.7% of its peak. None for activations that do not saturate on both sides."""
    return PROPERTIES[_check_name(name)].saturation_threshold


def gain(name: str, **params) -> float:
    """Recommended init gain, equal to ``torch.nn.init.calculate_gain`` where torch defines one:
    1 (sigmoid, linear), 5/3 (tanh), √2 (relu), √(2/(1 + slope²)) (leaky_relu), 3/4 (selu).
    torch defines none for elu and gelu; those return 1 (see ``PROPERTIES[name].torch_gain``)."""
    name = _check_name(name)
    return float(_resolve(PROPERTIES[name].gain, _check_params(name, params)))
