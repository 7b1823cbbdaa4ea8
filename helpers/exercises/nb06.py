"""Exercises for notebook 06 (weight initialization): He's variance, PyTorch's default variance,
the per-layer signal factor of a ReLU net with Var = 1/n, and the trainable depth 6ξ.

Each check answers "correct" or with a hint aimed at the slip the answer suggests.
"""

import math

from helpers.exercises import Feedback, close_to, exercise, number

HE_FAN_IN = 256
DEFAULT_FAN_IN = 100
DEPTH_SIGMA_W2 = 0.9


def _is(value, target, rtol=0.01) -> bool:
    return value is not None and math.isclose(value, target, rel_tol=rtol)


# --- 1. He's variance ---


def solution_he_variance():
    from helpers.initialization import weight_variance

    return weight_variance("he", HE_FAN_IN)


@exercise(solution=solution_he_variance)
def check_he_variance(answer) -> Feedback:
    """Var[W] of He initialization for a layer with fan_in = 256."""
    hint = (
        "He et al. (2015): Var[W] = 2/fan_in, twice LeCun's 1/fan_in to make up for ReLU's zeros."
    )
    value = number(answer)
    if _is(value, math.sqrt(2 / HE_FAN_IN)):
        return Feedback(
            False, "That is the standard deviation; the question asks for the variance. " + hint
        )
    if _is(value, 1 / HE_FAN_IN):
        return Feedback(False, "That is 1/fan_in (LeCun; Xavier for a square layer). " + hint)
    if _is(value, 2 / (HE_FAN_IN + HE_FAN_IN)):
        return Feedback(False, "That is Xavier's 2/(fan_in + fan_out) for a square layer. " + hint)
    return close_to(answer, solution_he_variance(), rtol=1e-3, hint=hint)


# --- 2. PyTorch's default ---


def solution_default_variance():
    from helpers.initialization import weight_variance

    # U(−b, b) with b = 1/√fan_in has variance b²/3 = 1/(3·fan_in); notebook 06 measures it.
    return weight_variance("default", DEFAULT_FAN_IN)


@exercise(solution=solution_default_variance)
def check_default_variance(answer) -> Feedback:
    """Var[W] of PyTorch's default nn.Linear init for fan_in = 100."""
    hint = (
        "nn.Linear draws W ~ U(−b, b) with b = 1/√fan_in, and a uniform U(−b, b) has variance b²/3."
    )
    value = number(answer)
    if _is(value, 2 / DEFAULT_FAN_IN):
        return Feedback(False, "That is He's 2/fan_in; PyTorch's default is not He. " + hint)
    if _is(value, 1 / DEFAULT_FAN_IN):
        return Feedback(False, "That is b², the squared bound; divide by 3 for a uniform. " + hint)
    if _is(value, 1 / math.sqrt(DEFAULT_FAN_IN)):
        return Feedback(False, "That is the bound b itself. " + hint)
    return close_to(answer, solution_default_variance(), rtol=1e-3, hint=hint)


# --- 3. the per-layer signal factor of a ReLU net with Var = 1/n ---


def solution_relu_factor():
    from helpers.initialization import second_moment

    # Var[z_l] = n·Var[W]·E[relu(z)²] = 1 · Var[z_(l−1)]/2: the std shrinks by √(1/2).
    return math.sqrt(second_moment("relu", 1.0))


@exercise(solution=solution_relu_factor)
def check_relu_factor(answer) -> Feedback:
    """The factor by which the std of the pre-activations changes per layer in a ReLU net with
    Var[W] = 1/n (Xavier on square layers)."""
    hint = (
        "Var[z_l] = n·Var[W]·E[a²]; with n·Var[W] = 1 and E[relu(z)²] = Var[z]/2 the variance "
        "halves. The question asks for the standard deviation."
    )
    value = number(answer)
    if _is(value, 0.5):
        return Feedback(False, "0.5 is the variance factor; take its square root. " + hint)
    if _is(value, 1.0, rtol=1e-6):
        return Feedback(
            False, "That would be He's 2/n; with 1/n ReLU zeroes half the signal. " + hint
        )
    if _is(value, math.sqrt(2)):
        return Feedback(False, "The signal shrinks, so the factor is below 1. " + hint)
    return close_to(answer, solution_relu_factor(), rtol=2e-3, hint=hint)


# --- 4. trainable depth ---


def solution_trainable_depth():
    from helpers.initialization import depth_scale

    return 6 * depth_scale(DEPTH_SIGMA_W2)


@exercise(solution=solution_trainable_depth)
def check_trainable_depth(answer) -> Feedback:
    """Schoenholz et al.'s trainable depth 6ξ for a tanh net without biases at σ_w² = 0.9."""
    hint = (
        "ξ = −1/ln σ_w² for tanh without biases below σ_w² = 1 (helpers.initialization."
        "depth_scale), and the trainable depth is about 6ξ."
    )
    value = number(answer)
    xi = solution_trainable_depth() / 6
    if _is(value, xi):
        return Feedback(
            False, "That is ξ itself; the trainable depth is about six times it. " + hint
        )
    if value is not None and value < 0:
        return Feedback(False, "ln 0.9 is negative, so −1/ln σ_w² is positive. " + hint)
    return close_to(answer, solution_trainable_depth(), rtol=0.01, hint=hint)
