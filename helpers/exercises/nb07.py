"""Exercises for notebook 07 (normalization, skip connections, Adam and the comparison)."""

import math

from helpers.exercises import UNANSWERED, Feedback, close_to, exercise, number, unanswered

# Exercise 1: a residual block's slope on the identity path.
BLOCK_WEIGHT = 0.005
# Exercise 2: the weight gradient behind a batch norm after scaling the weights.
BN_FACTOR, BN_LAYER = 10.0, 2
# Exercise 3: Adam's first step for a tiny gradient.
ADAM_GRAD, ADAM_LR = 1e-10, 1e-3
# Exercise 4: a change to the failing network that restores the gradient flow at initialization.
FLOW_THRESHOLD = 0.03


# --- 1. the identity path of a residual block ---


def solution_residual_slope():
    from helpers.activations import derivative

    # x_(l+1) = x_l + σ(w·x_l): d x_(l+1) / d x_l = 1 + σ'(w·x_l)·w, at x_l = 0.
    return 1.0 + derivative("sigmoid", 0.0) * BLOCK_WEIGHT


@exercise(solution=solution_residual_slope)
def check_residual_slope(answer) -> Feedback:
    """d x_(l+1)/d x_l for the scalar block x_(l+1) = x_l + σ(0.005·x_l) at x_l = 0."""
    hint = (
        "Differentiate x + σ(w·x): the identity contributes 1, the branch σ'(w·x)·w, "
        "and σ'(0) = 0.25."
    )
    value = number(answer)
    plain = solution_residual_slope() - 1.0
    if value is not None and math.isclose(value, plain, rel_tol=0.02):
        return Feedback(False, "That is the plain layer's slope σ'(0)·w; the skip adds 1. " + hint)
    if value is not None and math.isclose(value, 1.0 + 10 * plain, rel_tol=1e-4):
        return Feedback(False, "σ' peaks at 0.25, not 2.5. " + hint)
    return close_to(answer, solution_residual_slope(), rtol=1e-5, hint=hint)


# --- 2. batch norm makes a layer scale-invariant ---


def solution_bn_gradient_factor():
    from helpers.mitigations import weight_gradient_after_scaling
    from helpers.models import mlp, toy_regression

    x, y = toy_regression(256, seed=0)
    model = mlp(4, 16, norm="batch", seed=0)
    return weight_gradient_after_scaling(model, BN_LAYER, BN_FACTOR, x, y)


@exercise(solution=solution_bn_gradient_factor)
def check_bn_gradient_factor(answer) -> Feedback:
    """The factor by which ‖∂L/∂W‖ changes when W, followed by a batch norm, is multiplied by 10."""
    hint = (
        "BN(10·Wx) = BN(Wx): the loss is the same function of 10·W as of W, so by the chain rule "
        "∂L/∂W = 10·(∂L/∂(10W)). Which way does the gradient go?"
    )
    value = number(answer)
    if value is not None and math.isclose(value, BN_FACTOR, rel_tol=0.05):
        return Feedback(False, "Other way round: bigger weights get a smaller gradient. " + hint)
    if value is not None and math.isclose(value, 1.0, rel_tol=0.05):
        return Feedback(False, "The loss does not change, but the gradient does. " + hint)
    return close_to(answer, solution_bn_gradient_factor(), rtol=0.02, hint=hint)


# --- 3. Adam's first step for a gradient far below ε ---


def solution_adam_tiny_step():
    from helpers.mitigations import adam_first_step

    return adam_first_step(ADAM_GRAD, lr=ADAM_LR)


@exercise(solution=solution_adam_tiny_step)
def check_adam_tiny_step(answer) -> Feedback:
    """Adam's first update of a weight with gradient 1e-10 (lr 1e-3, ε 1e-8)."""
    hint = "After one step m̂ = g and v̂ = g², so the update is lr·g/(√v̂ + ε) = lr·g/(|g| + ε)."
    value = number(answer)
    if value is not None and math.isclose(abs(value), ADAM_LR, rel_tol=0.02):
        return Feedback(
            False, "lr is the step for |g| ≫ ε; here g is 100 times smaller than ε. " + hint
        )
    if value is not None and math.isclose(abs(value), ADAM_LR * ADAM_GRAD, rel_tol=0.02):
        return Feedback(False, "That is plain SGD's step lr·g. " + hint)
    return close_to(answer, solution_adam_tiny_step(), rtol=0.02, hint=hint)


# --- 4. restore the gradient flow of the failing network ---


def flow_ratio(changes: dict) -> float:
    """first/last gradient ratio at initialization of the failing network with ``changes``."""
    from helpers.mitigations import FAILING_NETWORK, first_last_ratio, training_data
    from helpers.models import mlp

    kwargs = {**FAILING_NETWORK, **changes}
    depth, width = kwargs.pop("depth"), kwargs.pop("width")
    x, y = training_data()
    return first_last_ratio(mlp(depth, width, seed=0, **kwargs), x, y)


def solution_restore_flow():
    return {"norm": "batch"}


@exercise(solution=solution_restore_flow)
def check_restore_flow(answer) -> Feedback:
    """A dict of ``mlp`` arguments that lifts the failing network's first/last gradient ratio at
    initialization above 0.03 (keeping its depth)."""
    from helpers.mitigations import FAILING_NETWORK

    example = "{'norm': 'batch'}"
    hint = (
        f"Give a dict of helpers.models.mlp arguments to change, e.g. {example} or "
        "{'activation': 'relu', 'init': 'he', 'scale': None}; the depth stays."
    )
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    if not isinstance(answer, dict):
        return Feedback(False, f"Expected a dict, got {answer!r}. {hint}")
    if "depth" in answer and answer["depth"] != FAILING_NETWORK["depth"]:
        return Feedback(False, "Keep the depth: fewer layers is a different model. " + hint)
    try:
        ratio = flow_ratio(answer)
    except (TypeError, ValueError) as error:
        return Feedback(False, f"mlp rejected it: {error}. {hint}")
    if not math.isfinite(ratio) or ratio < FLOW_THRESHOLD:
        return Feedback(
            False,
            f"With {answer!r} the first layer's gradient is {ratio:.1e} of the last layer's: "
            "still vanishing. Which change stops the product of small factors?",
        )
    return Feedback(
        True,
        f"with {answer!r} the first layer's gradient is {ratio:.2g} of the last layer's "
        f"(the failing network: {flow_ratio({}):.1e}).",
    )
