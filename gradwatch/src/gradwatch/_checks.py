"""Argument checks at the public boundary: each error names the argument, the value it got and
what is allowed."""

from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np


def choice(value, allowed: Iterable[str], argument: str) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ValueError listing them."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        valid = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"unknown {argument} {value!r}; valid names are {valid}")
    return value


def positive_int(value, argument: str) -> int:
    """Return ``value`` as int if it is an integer >= 1, else raise."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{argument} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{argument} must be a positive integer (>= 1), got {value!r}")
    return int(value)


def nonnegative(value, argument: str) -> float:
    """Return ``value`` as float if it is a finite real >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{argument} must be a non-negative number, got {value!r}")
    if not (value >= 0) or value == float("inf"):
        raise ValueError(f"{argument} must be a finite number >= 0, got {value!r}")
    return float(value)


def positive(value, argument: str) -> float:
    """Return ``value`` as float if it is a finite real > 0, else raise."""
    value = nonnegative(value, argument)
    if value == 0:
        raise ValueError(f"{argument} must be > 0, got 0")
    return value


def real_array(value, argument: str, what: str = "an array of real numbers") -> np.ndarray:
    """``value`` as a float64 array if it holds real numbers (integers or floats); booleans,
    complex numbers, strings, objects and ragged lists raise TypeError naming the argument
    (casting would read True as 1 or drop an imaginary part without a word)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        array = None
    if array is None or array.dtype.kind not in "iuf":
        shown = repr(value)
        shown = shown if len(shown) <= 80 else type(value).__name__
        raise TypeError(f"{argument} must be {what}, got {shown}")
    return array.astype(np.float64)
