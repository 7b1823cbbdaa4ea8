"""Exercises for notebook 10 (transformers and mixed precision): the loss scale that saves a tiny
gradient from float16's underflow (predict, then let torch round it), why attention divides by
√d_k (multiple choice, each wrong option explained), the largest entry of a uniform softmax's
Jacobian, and an update that bfloat16 weights lose.

Each check answers "correct" or with a hint aimed at the slip the answer suggests; none raises.
The expected values are computed by torch's own rounding, not typed in.
"""

import math

import torch

from helpers.exercises import UNANSWERED, Feedback, as_number, exercise, near, unanswered

TINY_GRADIENT = 1e-10  # exercise 1: a gradient entry float16 flushes to zero


def survives_float16(value: float) -> bool:
    """True if ``value`` rounded to float16 is not zero (torch's round-to-nearest-even)."""
    return bool(torch.tensor(value, dtype=torch.float64).to(torch.float16) != 0)


def smallest_saving_scale(gradient: float = TINY_GRADIENT) -> int:
    """The smallest power-of-two loss scale 2ᵏ (k ≥ 0) for which gradient·2ᵏ survives float16."""
    k = 0
    while not survives_float16(gradient * 2.0**k):
        k += 1
    return 2**k


# --- reference solutions -------------------------------------------------------------------------


def solution_scale():
    """float16's smallest subnormal is 2⁻²⁴ ≈ 5.96e-8; round-to-nearest keeps anything above half
    of it, 2⁻²⁵ ≈ 2.98e-8. 1e-10 · 2⁸ = 2.6e-8 is below, 1e-10 · 2⁹ = 5.1e-8 above: 512."""
    return 512


def solution_attention_scale():
    """(b): q·k sums d_k products of unit variance, so its variance is d_k."""
    return "b"


def solution_uniform_jacobian():
    """J = diag(p) − ppᵀ with p = 1/4 everywhere: the diagonal holds 1/4 − 1/16 = 3/16."""
    p = torch.full((4,), 0.25, dtype=torch.float64)
    return float((torch.diag(p) - torch.outer(p, p)).max())


def solution_bfloat16_update():
    """bfloat16 keeps 8 significant bits: next to 1 its spacing is 2⁻⁷ = 0.0078, so 1 + 0.001
    rounds back to 1."""
    w = torch.tensor(1.0, dtype=torch.bfloat16)
    return float(w + torch.tensor(1e-3, dtype=torch.bfloat16))


# --- the checks ----------------------------------------------------------------------------------


@exercise(solution=solution_scale)
def check_scale(answer) -> Feedback:
    """Exercise 1: the smallest power-of-two loss scale that keeps a 1e-10 gradient in float16."""
    value, problem = as_number(answer)
    if problem is not None:
        return problem
    expected = smallest_saving_scale()
    if value == expected:
        return Feedback(
            True,
            f"{expected}: 1e-10·{expected} = {TINY_GRADIENT * expected:.2g} rounds to float16's "
            f"smallest subnormal 2⁻²⁴ ≈ 6e-8 instead of to 0. GradScaler starts at 2¹⁶ = 65536 "
            "and lowers the scale only when a gradient overflows.",
        )
    if value <= 0 or not float(value).is_integer() or not math.log2(value).is_integer():
        hint = "Give a power of two (1, 2, 4, ..., 512, ...): loss scales are, so that "
        hint += "scaling and unscaling are exact."
    elif survives_float16(TINY_GRADIENT * value):
        hint = (
            f"{value:g} works, but a smaller power of two does too. Anything above half the "
            "smallest subnormal (2⁻²⁵ ≈ 3e-8) rounds up to it."
        )
    elif near(TINY_GRADIENT * value, 6.1e-5, rtol=0.5):
        hint = "You aimed at the smallest normal number (6.1e-5); subnormals go much lower."
    else:
        hint = (
            f"1e-10·{value:g} = {TINY_GRADIENT * value:.2g} still rounds to 0. float16's "
            "smallest subnormal is 2⁻²⁴ ≈ 5.96e-8, and round-to-nearest keeps values above half "
            "of it. Try torch.tensor(1e-10 * scale).half()."
        )
    return Feedback(False, hint)


_ATTENTION_OPTIONS = {
    "a": "No: the softmax already makes the weights sum to 1, whatever the scale of the logits.",
    "b": "",
    "c": "No: dividing by √d_k costs one multiplication and saves nothing; the reason is the "
    "size of the logits.",
    "d": "No: the values are mixed by weights that sum to 1, so their scale does not grow; the "
    "logits are what grow with d_k.",
}


@exercise(solution=solution_attention_scale)
def check_attention_scale(answer) -> Feedback:
    """Exercise 2 (multiple choice): why attention computes softmax(q·k / √d_k)."""
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    key = str(answer).strip().lower().strip("()")
    if key not in _ATTENTION_OPTIONS:
        return Feedback(False, "Answer with one letter: 'a', 'b', 'c' or 'd'.")
    if key == "b":
        return Feedback(
            True,
            "(b): with unit-variance entries, q·k is a sum of d_k products of unit variance, so "
            "its standard deviation is √d_k. Unscaled, the logits of a 64-dimensional head are "
            "8 times larger, the softmax is nearly one-hot and its Jacobian diag(p) − ppᵀ is "
            "nearly 0: little gradient reaches the queries and keys (Vaswani et al. 2017, §3.2.1).",
        )
    return Feedback(False, _ATTENTION_OPTIONS[key])


@exercise(solution=solution_uniform_jacobian)
def check_uniform_jacobian(answer) -> Feedback:
    """Exercise 3: the largest entry of the softmax Jacobian at four equal logits."""
    value, problem = as_number(answer)
    if problem is not None:
        return problem
    expected = solution_uniform_jacobian()
    if near(value, expected):
        return Feedback(
            True,
            f"{value:.4g} = 1/4 − 1/16 on the diagonal (off the diagonal −1/16). This is the "
            "largest the softmax's gradient gets; as the logits spread, p becomes one-hot and "
            "every entry of diag(p) − ppᵀ goes to 0.",
        )
    if near(value, 0.25):
        hint = "1/4 is p itself; the Jacobian is diag(p) − ppᵀ, so subtract p·p = 1/16."
    elif near(value, -1 / 16):
        hint = "−1/16 is an off-diagonal entry; the question asks for the largest one."
    else:
        hint = "∂pᵢ/∂zⱼ = pᵢ(δᵢⱼ − pⱼ) with every p = 1/4: compute the diagonal entry."
    return Feedback(False, hint)


@exercise(solution=solution_bfloat16_update)
def check_bfloat16_update(answer) -> Feedback:
    """Exercise 4: a bfloat16 weight of 1.0 after adding an update of 0.001."""
    value, problem = as_number(answer)
    if problem is not None:
        return problem
    expected = solution_bfloat16_update()
    if value == expected:
        return Feedback(
            True,
            "1.0: bfloat16 has float32's range but only 8 significant bits, so next to 1 the "
            "representable numbers are 2⁻⁷ ≈ 0.0078 apart and 1.001 rounds back to 1. The update "
            "is lost; that is why mixed precision keeps a float32 master copy of the weights.",
        )
    if near(value, 1.001, rtol=1e-4):
        hint = "That is the exact sum. Round it to bfloat16: how far apart are its numbers near 1?"
    elif near(value, 1.0078125, rtol=1e-4):
        hint = "1.0078 is the next bfloat16 number after 1; is 1.001 nearer to it or to 1?"
    else:
        hint = "Compute torch.tensor(1.0, dtype=torch.bfloat16) + 0.001 and look at the result."
    return Feedback(False, hint)
