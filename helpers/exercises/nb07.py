"""Exercises for notebook 07 (normalization, skip connections and Adam: the mechanisms)."""

import math

import numpy as np

from helpers.exercises import UNANSWERED, Feedback, close_to, exercise, number, unanswered

# Exercise 1: a residual block's slope on the identity path.
BLOCK_WEIGHT = 0.005
# Exercise 2: the weight gradient behind a batch norm after scaling the weights.
BN_FACTOR, BN_LAYER = 10.0, 2
# Exercise 3: Adam's first step for a tiny gradient.
ADAM_GRAD, ADAM_LR = 1e-10, 1e-3
# Exercise 4: a change to the failing network with which it learns (R² ≥ 0.5 on every seed).
LEARNED_FRACTION = 0.5


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


# --- 4. a change that makes the failing network learn ---


def flow_signals(changes: dict) -> tuple[float, np.ndarray]:
    """At initialization (seed 0, float64): the forward spread of the last hidden representation
    across the training inputs, and ‖∂L/∂x_l‖ for every hidden representation, first first."""
    from helpers.signal import last_hidden_spread, representation_gradients

    model = _changed_network(changes, seed=0)
    x, y = _data()
    return last_hidden_spread(model, x), representation_gradients(model, x, y)


def learned_fractions(changes: dict) -> np.ndarray:
    """Final loss ÷ the mean-predictor loss of the changed network trained from seeds 0-2 with
    the notebook's budget (200 full-batch steps of plain SGD at learning rate 0.02)."""
    from helpers.comparison import DEFAULT_BUDGET, DEFAULT_SEEDS
    from helpers.data import mean_baseline_loss
    from helpers.training import train_many

    x, y = _data()
    runs = train_many(lambda seed: _changed_network(changes, seed), (x, y), seeds=DEFAULT_SEEDS,
                      lrs=[DEFAULT_BUDGET.lr], steps=DEFAULT_BUDGET.steps)  # fmt: skip
    return np.nan_to_num(runs.final_loss / mean_baseline_loss(y), nan=np.inf)


def _changed_network(changes: dict, seed: int):
    from helpers.mitigations import FAILING_NETWORK
    from helpers.models import mlp

    kwargs = {**FAILING_NETWORK, **changes}
    depth, width = kwargs.pop("depth"), kwargs.pop("width")
    return mlp(depth, width, seed=seed, **kwargs)


def _data():
    from helpers.mitigations import training_data

    return training_data()


def solution_learning_change():
    return {"norm": "batch"}


@exercise(solution=solution_learning_change)
def check_learning_change(answer) -> Feedback:
    """A dict of ``mlp`` arguments (keeping the depth) with which the failing network learns:
    every seed 0-2 ends at most half the mean-predictor loss within the notebook's budget."""
    from helpers.mitigations import FAILING_NETWORK

    example = "{'norm': 'batch'}"
    hint = (
        f"Give a dict of helpers.models.mlp arguments to change, e.g. {example} or "
        "{'activation': 'tanh', 'init': 'xavier', 'scale': None}; the depth stays."
    )
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    if not isinstance(answer, dict):
        return Feedback(False, f"Expected a dict, got {answer!r}. {hint}")
    if "depth" in answer and answer["depth"] != FAILING_NETWORK["depth"]:
        return Feedback(False, "Keep the depth: fewer layers is a different model. " + hint)
    try:
        spread, profile = flow_signals(answer)
        fractions = learned_fractions(answer)
    except (TypeError, ValueError) as error:
        return Feedback(False, f"mlp rejected it: {error}. {hint}")
    signal = (
        f"at initialization the last hidden layer's output varies by {spread:.1e} across inputs "
        f"and the first layer's ∂L/∂x is {profile[0] / profile[-1]:.1e} of the last one's"
    )
    if np.all(fractions <= LEARNED_FRACTION):
        return Feedback(True, f"with {answer!r} every seed learns; {signal}.")
    if profile[0] / profile[-1] < 1e-3:
        why = "The backward signal still fades on its way down: which change stops the product?"
    else:
        why = (
            "A backward signal that reaches the first layer is not enough: the forward signal "
            "must carry the input to the top, and the weights must be large enough to use it."
        )
    learned = int(np.sum(fractions <= LEARNED_FRACTION))
    return Feedback(
        False,
        f"With {answer!r} {signal}, but only {learned} of {fractions.size} seeds end below half "
        f"the mean-predictor loss. {why}",
    )
