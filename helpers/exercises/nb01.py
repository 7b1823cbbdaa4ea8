"""Exercises for notebook 01 (sigmoid derivatives): the peak of σ', where it falls below 0.01,
and what ten sigmoid layers do to a gradient at their best case.

Each check answers "correct" or with a hint aimed at the slip the answer suggests.
"""

import math

from helpers import activations as A
from helpers.exercises import Feedback, as_number, exercise, near

# --- reference solutions (named, computed with helpers code) -------------------------------------


def solution_peak():
    """σ'(x) = σ(x)(1 − σ(x)) is largest where σ(x) = 1/2, i.e. at x = 0."""
    return A.derivative("sigmoid", 0.0)


def solution_threshold():
    """Solve σ(1 − σ) = 0.01 for σ > 1/2, then invert the sigmoid: x = ln(σ / (1 − σ))."""
    s = (1 + math.sqrt(1 - 4 * 0.01)) / 2
    x = math.log(s / (1 - s))
    assert abs(A.derivative("sigmoid", x) - 0.01) < 1e-12  # the crossing, checked
    return x


def solution_ten_layers():
    """Each sigmoid contributes at most σ'(0) = 1/4; the chain rule multiplies the ten factors."""
    return A.derivative("sigmoid", 0.0) ** 10


# --- shared parsing ------------------------------------------------------------------------------


# --- the checks ----------------------------------------------------------------------------------


@exercise(solution=solution_peak)
def check_peak(answer) -> Feedback:
    """Exercise 1: the largest value σ'(x) takes."""
    value, problem = as_number(answer)
    if problem is not None:  # (a Feedback is falsy when not correct)
        return problem
    expected = A.derivative_max("sigmoid")
    if near(value, expected, rtol=1e-3):
        return Feedback(
            True, "σ'(0) = σ(0)(1 − σ(0)) = 0.5 × 0.5 = 0.25, and nowhere is it larger."
        )
    if near(value, 2.5):
        hint = (
            "2.5 is a slip some articles print. σ' = σ(1 − σ) with σ between 0 and 1: "
            "the product of two numbers below 1 can't exceed 1, let alone reach 2.5."
        )
    elif near(value, 0.5):
        hint = "0.5 is σ(0), the sigmoid itself. Its derivative is σ(0)(1 − σ(0))."
    elif near(value, 1.0):
        hint = "1 is the peak of tanh'. For the sigmoid, evaluate σ(x)(1 − σ(x)) at σ = 1/2."
    else:
        hint = (
            "σ'(x) = σ(x)(1 − σ(x)) is a product s(1 − s) with s = σ(x) in (0, 1). Which s "
            "maximises s(1 − s)? σ(0) = 0.5."
        )
    return Feedback(False, f"{value:.4g} is not it. {hint}")


@exercise(solution=solution_threshold)
def check_threshold(answer) -> Feedback:
    """Exercise 2: the x > 0 beyond which σ'(x) < 0.01."""
    value, problem = as_number(answer)
    if problem is not None:  # (a Feedback is falsy when not correct)
        return problem
    expected = solution_threshold()
    if near(value, expected, rtol=0.01):
        return Feedback(
            True, f"σ'({value:.3g}) ≈ {A.derivative('sigmoid', value):.4f}; beyond it, less."
        )
    if value <= 0:
        return Feedback(
            False,
            f"{value:.4g} is not it. The question asks for the crossing on the positive side "
            "(σ' is symmetric, so the negative one is its mirror image).",
        )
    slope = A.derivative("sigmoid", value)
    if slope >= 0.01:
        hint = f"σ'({value:.4g}) = {slope:.4g} is still at least 0.01: the crossing is further out."
    else:
        hint = f"σ'({value:.4g}) = {slope:.3g} is already below 0.01: the crossing is closer to 0."
    if near(value, A.saturation_threshold("sigmoid")):
        hint += " (5 is where σ' drops below 0.0067, a stricter level.)"
    return Feedback(
        False,
        f"{value:.4g} is not it. {hint} Solve s(1 − s) = 0.01 for s = σ(x) > 1/2, "
        "then x = ln(s / (1 − s)); or search a grid with helpers.activations.derivative.",
    )


@exercise(solution=solution_ten_layers)
def check_ten_layers(answer) -> Feedback:
    """Exercise 3: the factor a gradient shrinks by through 10 sigmoid units at their best case."""
    value, problem = as_number(answer)
    if problem is not None:  # (a Feedback is falsy when not correct)
        return problem
    expected = solution_ten_layers()
    if near(value, expected):
        return Feedback(True, f"0.25^10 ≈ {expected:.3g}: a millionth, and that is the best case.")
    if near(value, expected, rtol=0.1):
        hint = "Close, but rounded too far: give two significant figures (compute 0.25 ** 10)."
    elif value == 0:
        hint = "Tiny, but not zero: multiply the ten factors σ'(0) = 0.25."
    elif near(value, 10 * 0.25):
        hint = "You added the ten factors; the chain rule multiplies them."
    elif near(value, 2.5**10):
        hint = "That is 2.5^10: the peak of σ' is 0.25, not 2.5."
    elif near(value, 0.25):
        hint = "That is one layer's factor. Ten layers contribute ten factors, multiplied."
    elif near(value, 1 / expected):
        hint = "That is the reciprocal. The gradient gets smaller, so the factor is below 1."
    else:
        hint = (
            "The best case is every unit at x = 0, where σ'(0) = 0.25. The chain rule "
            "multiplies one such factor per layer (weights of 1)."
        )
    return Feedback(False, f"{value:.4g} is not it. {hint}")
