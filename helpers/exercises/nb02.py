"""Exercises for notebook 02 (the chain rule as a product of factors)."""

import itertools
import math

import numpy as np

from helpers import chain
from helpers.exercises import UNANSWERED, Feedback, close_to, exercise, unanswered


def tiny_network() -> chain.Network:
    """The 2 -> 1 -> 1 -> 1 sigmoid network of exercise 3 (zero bias), as a fresh copy."""
    return chain.Network(
        weights=[np.array([[0.5, -1.0]]), np.array([[2.0]]), np.array([[-1.5]])],
        x=np.array([1.0, 2.0]),
        y=np.array([1.0]),
    )


# --- 1. the bound on one sigmoid layer ---


def solution_one_layer_bound():
    return chain.depth_bound(1, weight_norm=2.0, activation="sigmoid")


@exercise(solution=solution_one_layer_bound)
def check_one_layer_bound(answer) -> Feedback:
    """Largest factor by which one sigmoid layer with ||W||_2 = 2 can scale the error: 0.25 * 2."""
    hint = (
        "The factor is diag(σ'(z)) W; its spectral norm is at most (max σ') · ||W||_2. "
        "What is the largest value of σ'(z)?"
    )
    if not unanswered(answer):
        try:
            value = float(answer)
        except (TypeError, ValueError):
            value = None
        if value is not None and math.isclose(value, 5.0, rel_tol=0.02):
            return Feedback(False, "σ' peaks at 0.25 (at z = 0), not 2.5. " + hint)
        if value is not None and math.isclose(value, 2.0, rel_tol=0.02):
            return Feedback(False, "That is ||W||_2 alone; the layer also multiplies by σ'(z).")
        if value is not None and math.isclose(value, 0.25, rel_tol=0.02):
            return Feedback(False, "That is max σ' alone; the layer also multiplies by W.")
    return close_to(answer, solution_one_layer_bound(), rtol=1e-3, hint=hint)


# --- 2. how many layers until the bound is below 1e-6 ---


def solution_layers_to_one_in_a_million():
    return next(L for L in itertools.count(1) if chain.depth_bound(L, 2.0) < 1e-6)


@exercise(solution=solution_layers_to_one_in_a_million)
def check_layers_to_one_in_a_million(answer) -> Feedback:
    """Smallest depth L with (0.25 * 2)^L < 1e-6: L = ceil(log(1e-6) / log(0.5)) = 20."""
    hint = (
        "Each layer multiplies the bound by 0.5, so you need the smallest whole L with "
        "0.5**L < 1e-6 (take logarithms, or try chain.depth_bound(L, 2.0) for a few L)."
    )
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"Expected a whole number of layers, got {answer!r}. {hint}")
    expected = solution_layers_to_one_in_a_million()
    if not value.is_integer():
        return Feedback(False, f"{value:g} is not a whole number of layers. {hint}")
    layers = int(value)
    if layers == expected:
        return Feedback(
            True,
            f"after {layers} layers the bound is 0.5**{layers} ≈ {0.5**layers:.2g}; "
            f"after {layers - 1} it is still {0.5 ** (layers - 1):.2g}.",
        )
    if 1 <= layers < expected:
        return Feedback(False, f"At {layers} layers the bound is {0.5**layers:.2g}, not < 1e-6.")
    if layers > expected:
        return Feedback(False, f"{layers} layers get there, but a smaller depth already does.")
    return Feedback(False, f"{layers} is not a depth. {hint}")


# --- 3. dL/dW1[0, 0] of the tiny network ---


def solution_tiny_gradient():
    net = tiny_network()
    return chain.manual_backprop(net.weights, net.x, net.y)[0][0, 0]


@exercise(solution=solution_tiny_gradient)
def check_tiny_gradient(answer) -> Feedback:
    """dL/dW1[0, 0] = (a3 - y) σ'(z3) W3 σ'(z2) W2 σ'(z1) x[0] for :func:`tiny_network`."""
    hint = (
        "Multiply the factors from the output back: (a3 − y) · σ'(z3) · W3 · σ'(z2) · W2 · "
        "σ'(z1) · x[0], with σ'(z) = σ(z)(1 − σ(z)); or call chain.manual_backprop."
    )
    expected = solution_tiny_gradient()
    if not unanswered(answer):
        try:
            value = float(answer)
        except (TypeError, ValueError):
            value = None
        if value is not None and math.isclose(value, -expected, rel_tol=1e-3):
            return Feedback(False, "Right size, wrong sign: the output error is a3 − y.")
    return close_to(answer, expected, rtol=1e-3, hint=hint)


# --- 4. where the sigmoid bound stops guaranteeing vanishing ---


def solution_sigmoid_threshold():
    from helpers import activations

    return 1.0 / activations.derivative_max("sigmoid")


@exercise(solution=solution_sigmoid_threshold)
def check_sigmoid_threshold(answer) -> Feedback:
    """The largest ||W||_2 for which (0.25 ||W||_2)^L still shrinks with L: 1 / 0.25 = 4."""
    hint = (
        "The bound (0.25 · ||W||_2)^L shrinks with depth when 0.25 · ||W||_2 < 1. "
        "Solve for ||W||_2."
    )
    if not unanswered(answer):
        try:
            value = float(answer)
        except (TypeError, ValueError):
            value = None
        if value is not None and math.isclose(value, 0.4, rel_tol=0.02):
            return Feedback(False, "That is 1 / 2.5; σ' peaks at 0.25, not 2.5. " + hint)
    return close_to(answer, solution_sigmoid_threshold(), rtol=1e-3, hint=hint)
