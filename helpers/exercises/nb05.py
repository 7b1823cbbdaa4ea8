"""Exercises for notebook 05 (activation functions): SELU's scale λ, the share of the gradient a
Leaky ReLU layer passes, and how much an ELU unit deep on its negative side still passes.

Each check answers "correct" or with a hint aimed at the slip the answer suggests.
"""

import math

from helpers.exercises import Feedback, close_to, exercise, number

# Exercise 3: the pre-activation of an ELU unit far on its negative side.
ELU_Z = -3.0


def _is(value, target, rtol=0.01) -> bool:
    return value is not None and math.isclose(value, target, rel_tol=rtol)


# --- 1. SELU's λ ---


def solution_selu_lambda():
    from helpers.activations import SELU_LAMBDA

    return SELU_LAMBDA


@exercise(solution=solution_selu_lambda)
def check_selu_lambda(answer) -> Feedback:
    """SELU's scale λ (Klambauer et al. 2017)."""
    from helpers.activations import SELU_ALPHA, SELU_LAMBDA

    hint = (
        "SELU is λ·x for x > 0, so its slope there is λ: read it off the derivative plot, or from "
        "helpers.activations.SELU_LAMBDA (or derivative('selu', 1.0))."
    )
    value = number(answer)
    if _is(value, SELU_ALPHA):
        return Feedback(False, "That is α, the constant of the negative side. " + hint)
    if _is(value, SELU_LAMBDA * SELU_ALPHA):
        return Feedback(False, "That is λα, the slope just left of 0. " + hint)
    if _is(value, 1.0, rtol=1e-9):
        return Feedback(
            False, "1 is ReLU's and ELU's positive-side slope; SELU's is larger. " + hint
        )
    return close_to(answer, SELU_LAMBDA, rtol=1e-3, hint=hint)


# --- 2. E[f'(z)²] for Leaky ReLU ---


def solution_leaky_share():
    from helpers.initialization import slope_second_moment

    return slope_second_moment("leaky_relu", 1.0)


@exercise(solution=solution_leaky_share)
def check_leaky_share(answer) -> Feedback:
    """E[f'(z)²] for Leaky ReLU (slope 0.01) with z ~ N(0, 1)."""
    hint = (
        "Half the time z > 0 and f'(z)² = 1; the other half f'(z)² = 0.01². Average the two "
        "(or call helpers.initialization.slope_second_moment('leaky_relu', 1.0))."
    )
    value = number(answer)
    if _is(value, 0.5, rtol=1e-6):
        return Feedback(False, "That is ReLU's 1/2; Leaky ReLU adds a little from z < 0. " + hint)
    if _is(value, (1 + 0.01) / 2, rtol=1e-6):
        return Feedback(False, "Square the negative-side slope: 0.01² = 0.0001. " + hint)
    return close_to(answer, solution_leaky_share(), rtol=2e-5, hint=hint)


# --- 3. how much an ELU unit on its negative side still passes ---


def solution_elu_slope():
    from helpers.activations import derivative

    return derivative("elu", ELU_Z)


@exercise(solution=solution_elu_slope)
def check_elu_slope(answer) -> Feedback:
    """elu'(−3) with α = 1: the gradient factor of an ELU unit far on its negative side."""
    hint = (
        "For x ≤ 0, elu(x) = α(eˣ − 1), so elu'(x) = α·eˣ. Evaluate it at x = −3 with α = 1 "
        "(or call helpers.activations.derivative('elu', -3.0))."
    )
    value = number(answer)
    if value == 0.0:
        return Feedback(False, "ELU is not ReLU: its negative side still has a slope. " + hint)
    if _is(value, math.expm1(ELU_Z)):
        return Feedback(
            False, "That is elu(−3), the value; the question asks for the slope. " + hint
        )
    if _is(value, 0.01):
        return Feedback(False, "0.01 is Leaky ReLU's fixed slope; ELU's depends on x. " + hint)
    return close_to(answer, solution_elu_slope(), rtol=1e-3, hint=hint)
