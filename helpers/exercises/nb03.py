"""Exercises for notebook 03 (weight-size effects)."""

import math

import numpy as np

from helpers.exercises import UNANSWERED, Feedback, close_to, exercise, number, unanswered

# Exercise 1: the per-layer factor of a sigmoid net with tiny weights.
FACTOR_WIDTH, FACTOR_SCALE = 64, 0.01
# Exercise 2: the depth at which the first-layer gradient falls below 1e-6.
VANISH_SCALE, VANISH_WIDTH, VANISH_THRESHOLD, VANISH_MAX_DEPTH = 0.1, 32, 1e-6, 40
# Exercise 3: a 20-layer tanh net whose gradient profile stays flat and alive.
FLAT_DEPTH, FLAT_WIDTH = 20, 32
FLAT_MAX_SPREAD = 10.0  # largest / smallest layer gradient
FLAT_MIN_OUTPUT_GRAD = 0.05  # the output layer's gradient: the signal reached the output


# --- 1. the per-layer factor near zero ---


def solution_sigmoid_factor():
    from helpers.activations import derivative_max

    return derivative_max("sigmoid") * FACTOR_SCALE * math.sqrt(FACTOR_WIDTH)


@exercise(solution=solution_sigmoid_factor)
def check_sigmoid_factor(answer) -> Feedback:
    """Per-layer factor of a sigmoid net, width 64, weights N(0, 0.01²): 0.25 · 0.01 · √64."""
    hint = (
        "Near z = 0 each layer multiplies the gradient by σ'(0) (the sigmoid's peak slope) and by "
        "the weights, which scale a vector by about scale·√width."
    )
    value = number(answer)
    expected = solution_sigmoid_factor()
    if value is not None and not math.isclose(value, expected, rel_tol=0.02):
        if math.isclose(value, 10 * expected, rel_tol=0.02):
            return Feedback(False, "Ten times too big: σ' peaks at 0.25, not 2.5. " + hint)
        if math.isclose(value, expected / 0.25, rel_tol=0.02):
            return Feedback(False, "You left out σ'(0) = 0.25. " + hint)
        if math.isclose(value, 0.25 * FACTOR_SCALE * FACTOR_WIDTH, rel_tol=0.02):
            return Feedback(False, "Use √width, not width: ‖Wv‖ ≈ scale·√width·‖v‖. " + hint)
    return close_to(answer, expected, rtol=0.02, hint=hint)


# --- 2. the depth at which the gradient falls below 1e-6 ---


def vanishing_grid():
    """The sigmoid sweep of exercise 2: depths 1..40 at scale 0.1, width 32."""
    from helpers.sweep import first_layer_gradient_map

    return first_layer_gradient_map(
        np.arange(1, VANISH_MAX_DEPTH + 1), [VANISH_SCALE], width=VANISH_WIDTH
    )


def solution_vanishing_depth():
    from helpers.sweep import depth_below

    return int(depth_below(vanishing_grid(), VANISH_THRESHOLD)[0])


@exercise(solution=solution_vanishing_depth)
def check_vanishing_depth(answer) -> Feedback:
    """Smallest depth whose first-layer gradient is below 1e-6 (sigmoid, width 32, scale 0.1);
    a prediction within one layer counts."""
    hint = (
        "Start from the depth-1 gradient and multiply by the per-layer factor 0.25·0.1·√32 ≈ "
        "0.14 for each extra layer; find the first depth where the product drops below 1e-6 "
        "(take logarithms)."
    )
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    value = number(answer)
    if value is None or value < 1:
        return Feedback(False, f"Expected a number of layers (1 or more), got {answer!r}. {hint}")
    expected = solution_vanishing_depth()
    grid = vanishing_grid()
    depth = round(value)
    if abs(value - expected) <= 1:
        return Feedback(
            True,
            f"the measured gradient first drops below 1e-6 at depth {expected} "
            f"({grid.grad[expected - 1, 0]:.2g}; at depth {expected - 1} it is "
            f"{grid.grad[expected - 2, 0]:.2g}). A per-layer factor predicts it to within a layer.",
        )
    if depth < expected and 1 <= depth <= VANISH_MAX_DEPTH:
        return Feedback(
            False, f"At depth {depth} the gradient is still {grid.grad[depth - 1, 0]:.2g}. {hint}"
        )
    return Feedback(False, f"{value:g} layers is too many: it falls faster than that. {hint}")


# --- 3. the scale that keeps a 20-layer tanh net's gradient flat ---


def flat_profile(scale: float):
    """The explorer's profile of a 20-layer, 32-wide tanh net with weights N(0, scale²)."""
    from helpers.explorers.gradient_profile import compute

    return compute(FLAT_DEPTH, FLAT_WIDTH, "tanh", "normal", scale)


def solution_flat_tanh_scale():
    # Var(W) = 1/width keeps the variance of the signal in a tanh net (LeCun et al. 1998;
    # Glorot & Bengio 2010 for square layers): scale = 1/√32.
    return 1.0 / math.sqrt(FLAT_WIDTH)


@exercise(solution=solution_flat_tanh_scale)
def check_tanh_scale(answer) -> Feedback:
    """A scale at which every layer's gradient of the 20-layer tanh net is within 10x of every
    other's, and the output layer's gradient is at least 0.05 (the signal is alive)."""
    hint = (
        "Try scales in the explorer with activation tanh, depth 20, width 32, init normal. "
        "Theory: keep Var(W)·width ≈ 1."
    )
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    value = number(answer)
    if value is None or not 0 < value <= 10:
        return Feedback(False, f"Expected a weight scale between 0 and 10, got {answer!r}. {hint}")
    profile = flat_profile(value)
    spread = float(np.max(profile.grad) / np.min(profile.grad))
    out = float(profile.grad[-1])
    if out < FLAT_MIN_OUTPUT_GRAD:
        return Feedback(
            False,
            f"At scale {value:.3g} the profile is flat but every gradient is tiny (output layer "
            f"{out:.2g}): the signal fades on the way forward, so all layers starve together. "
            "Try a larger scale.",
        )
    if spread > FLAT_MAX_SPREAD:
        return Feedback(
            False,
            f"At scale {value:.3g} the layers' gradients differ by {spread:.3g}x, growing towards "
            "the input (exploding). Try a smaller scale.",
        )
    return Feedback(
        True,
        f"at scale {value:.3g} (scale·√32 = {value * math.sqrt(FLAT_WIDTH):.2f}) every layer's "
        f"gradient is within {spread:.2g}x of the others and the output layer's is {out:.2g}.",
    )
