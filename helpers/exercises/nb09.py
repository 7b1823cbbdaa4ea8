"""Exercises for notebook 09 (recurrent networks and LSTM): the adding problem's baseline, the
gradient factor of a linear RNN over 20 steps, an LSTM cell's error after 50 steps behind a
constant forget gate, and a gradient clipped by norm.

Each check answers "correct" or with a hint aimed at the slip the answer suggests; none raises.
"""

import math

import numpy as np

from helpers import activations as A
from helpers import recurrent
from helpers.data import sequences
from helpers.exercises import UNANSWERED, Feedback, as_number, exercise, near, unanswered

# --- reference solutions (named, computed with helpers code) -------------------------------------


def solution_baseline():
    """Predict the mean target, 1, for every sequence and measure the MSE on many sequences."""
    _, y = sequences.adding_problem(200_000, 20, seed=0)
    return sequences.mean_predictor_mse(y)


def solution_linear_factor():
    """A linear RNN with W_hh = 0.9·Q (Q orthogonal): 20 Jacobians W_hhᵀ shrink the gradient
    by exactly 0.9 each; measured with BPTT."""
    import torch

    model = recurrent.make_model("linear", spectral_radius=0.9, seed=0, dtype=torch.float64)
    x, y = sequences.adding_problem(8, 30, seed=0)
    profile = recurrent.gradient_vs_lag(model, x, y)
    return profile.h[20] / profile.h[0]


def solution_forget_factor():
    """With no recurrent weights the cell error is multiplied by the forget gate f = σ(3) at each
    of the 50 steps: ∂L/∂c_(t−1) = f ⊙ ∂L/∂c_t."""
    return A.activation("sigmoid", 3.0) ** 50


def solution_clipped():
    """Clipping by norm rescales g = (6, 8), of norm 10, by 5/10: same direction, norm 5."""
    clipped, _ = recurrent.clip_by_norm(np.array([6.0, 8.0]), 5.0)
    return clipped


# --- shared parsing ------------------------------------------------------------------------------


# --- the checks ----------------------------------------------------------------------------------


@exercise(solution=solution_baseline)
def check_baseline(answer) -> Feedback:
    """Exercise 1: the MSE of always predicting the mean target of the adding problem."""
    value, problem = as_number(answer)
    if problem is not None:  # (a Feedback is falsy when not correct)
        return problem
    expected = sequences.ADDING_BASELINE_MSE
    if near(value, expected):
        return Feedback(
            True,
            f"{value:.4g} ≈ 1/6: the MSE of the best constant is the variance of the target, "
            "Var(u₁ + u₂) = 1/12 + 1/12. A network must beat this to have learned anything.",
        )
    if value < 0:
        hint = "A mean squared error cannot be negative."
    elif near(value, 1 / 12):
        hint = "1/12 is the variance of one U(0, 1) value; the target is the sum of two."
    elif near(value, 1 / 3) or near(value, 1 / math.sqrt(6)):
        hint = "Check the arithmetic: the variances of independent values add, 1/12 + 1/12."
    elif near(value, 1.0):
        hint = "1 is the mean target (the prediction), not its error."
    else:
        hint = (
            "The best constant prediction is the mean target, E(u₁ + u₂) = 1; its MSE is "
            "E[(y − 1)²] = Var(y). Each U(0, 1) value has variance 1/12. Or measure it: "
            "helpers.data.sequences.mean_predictor_mse(y) on many sequences."
        )
    return Feedback(False, f"{value:.4g} is not it. {hint}")


@exercise(solution=solution_linear_factor)
def check_linear_factor(answer) -> Feedback:
    """Exercise 2: ‖∂L/∂h_(T−20)‖ / ‖∂L/∂h_T‖ for a linear RNN whose W_hh = 0.9·(orthogonal)."""
    value, problem = as_number(answer)
    if problem is not None:  # (a Feedback is falsy when not correct)
        return problem
    expected = 0.9**20
    if near(value, expected):
        return Feedback(
            True,
            f"0.9^20 ≈ {expected:.3g}: twenty steps cost almost 90% of the signal, and a "
            "hundred steps would leave 0.9^100 ≈ 2.7e-5.",
        )
    if value < 0:
        hint = "A ratio of two norms cannot be negative."
    elif near(value, 0.9 * 20):
        hint = "You multiplied 0.9 by 20; BPTT multiplies twenty factors of 0.9."
    elif near(value, 0.9):
        hint = "0.9 is one step's factor. The gradient passes twenty Jacobians."
    elif near(value, 0.9**19) or near(value, 0.9**21):
        hint = "Off by one step: lag 20 means exactly twenty Jacobians between h_T and h_(T−20)."
    elif near(value, 1 / expected):
        hint = "That is the reciprocal. Going back in time the gradient shrinks."
    else:
        hint = (
            "For h_t = W h_(t−1) + U x_t, ∂L/∂h_(t−1) = Wᵀ ∂L/∂h_t. W = 0.9·Q with Q orthogonal "
            "scales every vector by exactly 0.9, so twenty steps scale it by 0.9^20."
        )
    return Feedback(False, f"{value:.4g} is not it. {hint}")


@exercise(solution=solution_forget_factor)
def check_forget_factor(answer) -> Feedback:
    """Exercise 3: ‖∂L/∂c_(T−50)‖ / ‖∂L/∂c_T‖ for an LSTM with forget gate σ(3), no W_hh."""
    value, problem = as_number(answer)
    if problem is not None:  # (a Feedback is falsy when not correct)
        return problem
    forget = A.activation("sigmoid", 3.0)
    expected = forget**50
    if near(value, expected):
        return Feedback(
            True,
            f"σ(3)^50 = {forget:.4f}^50 ≈ {expected:.3g}. With a forget bias of 0 it would be "
            f"0.5^50 ≈ {0.5**50:.1e}: the forget gate sets the decay, and training can push it "
            "toward 1.",
        )
    if value < 0:
        hint = "A ratio of two norms cannot be negative."
    elif near(value, forget):
        hint = "σ(3) ≈ 0.953 is one step's factor; the error passes fifty forget gates."
    elif near(value, 0.25**50) or near(value, 0.5**50) or value < 1e-10:
        hint = (
            "The cell path has no σ' factor: c_t = f ⊙ c_(t−1) + i ⊙ g is additive, so "
            "∂c_t/∂c_(t−1) = f itself, not a derivative of f."
        )
    elif near(value, 3.0**50) or value > 1:
        hint = "The gate value is σ(3), a number between 0 and 1, not the bias 3."
    elif near(value, forget * 50):
        hint = "Factors multiply: σ(3) to the power 50, not times 50."
    else:
        hint = (
            "With W_hh = 0 and the forget gate at f = σ(3), ∂L/∂c_(t−1) = f ⊙ ∂L/∂c_t. "
            "Compute σ(3) with helpers.activations.activation('sigmoid', 3.0) and apply it 50 "
            "times."
        )
    return Feedback(False, f"{value:.4g} is not it. {hint}")


@exercise(solution=solution_clipped)
def check_clipped(answer) -> Feedback:
    """Exercise 4: g = (6, 8) clipped by norm at max_norm = 5, as two numbers."""
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    try:
        complex_answer = np.iscomplexobj(answer)  # casting would drop the imaginary part
        vector = None if complex_answer else np.asarray(answer, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        vector = None
    if vector is None or vector.size != 2 or isinstance(answer, str):
        return Feedback(
            False,
            f"Expected two numbers such as [1.0, 2.0], got {answer!r}. Clip g = (6, 8) by "
            "norm at 5 and give both components.",
        )
    if not np.all(np.isfinite(vector)):
        return Feedback(False, f"Expected two finite numbers, got {answer!r}.")
    expected = np.array([3.0, 4.0])
    shown = f"({vector[0]:.4g}, {vector[1]:.4g})"
    if np.allclose(vector, expected, rtol=0.01):
        return Feedback(
            True,
            f"{shown}: scaled by 5/10 = 0.5, norm 5, same direction as (6, 8). Clipping by "
            "norm only shortens the step.",
        )
    if np.allclose(vector, [5.0, 5.0], rtol=0.01):
        hint = "(5, 5) is clipping by value: each component capped at 5, which bends the direction."
    elif np.allclose(vector, [0.6, 0.8], rtol=0.01):
        hint = "(0.6, 0.8) has norm 1. Scale the direction to norm max_norm = 5."
    elif np.allclose(vector, [6.0, 8.0], rtol=0.01):
        hint = "(6, 8) has norm 10 > 5, so clipping does change it."
    else:
        hint = (
            "Clipping by norm multiplies the whole vector by min(1, max_norm / ‖g‖); here "
            "‖g‖ = √(36 + 64) = 10."
        )
    return Feedback(False, f"{shown} is not it. {hint}")
