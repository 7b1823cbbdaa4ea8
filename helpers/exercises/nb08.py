"""Exercises for notebook 08 (which fix for which cause): a fix for the dead network, and why
Adam cannot rescue a signal that float32 has rounded away."""

import numpy as np

from helpers.exercises import Feedback, close_to, exercise, unanswered

NOTEBOOK_SEEDS = (0, 1, 2)

# Why each remedy that fails on dying_relu fails (the check's feedback).
DEAD_REASONS = {
    "none": "Nothing changed: every unit from layer 2 on is off for every input.",
    "adam": "A dead unit's gradient is exactly 0, and Adam's step m̂/(√v̂ + ε) of a zero gradient "
    "is 0: Adam rescales small gradients, it cannot revive a zero.",
    "clip": "Clipping only scales a gradient down; a zero stays zero.",
    "residual": "The skips carry the input past the dead branches, but the branches stay dead: "
    "what is left is close to a linear model, which cannot fit sin(2x₁)·cos(x₂).",
    "fewer_layers": "Two layers with biases of -3 are still dead: the cause is the bias, not the "
    "depth.",
}


def _dying_cells():
    from helpers import matrix

    return {r: matrix.cell("dying_relu", r, seeds=NOTEBOOK_SEEDS) for r in matrix.REMEDIES}


def solution_dead_network():
    return "batch_norm"


@exercise(solution=solution_dead_network)
def check_dead_network(answer) -> Feedback:
    """A remedy (a name in helpers.matrix.REMEDIES) that makes dying_relu learn on every seed."""
    from helpers import matrix

    if unanswered(answer):
        return Feedback(False, "Replace the ... with a remedy's name, e.g. 'adam'.")
    name = str(answer).strip().lower().replace(" ", "_").replace("-", "_")
    if name not in matrix.REMEDIES:
        return Feedback(
            False, f"{answer!r} is not a remedy; choose one of {list(matrix.REMEDIES)}."
        )
    cell = _dying_cells()[name]
    if cell.learned == len(cell.seeds):
        return Feedback(True, f"{name} learns on every seed: it turns the units back on.")
    reason = DEAD_REASONS.get(name, "It learns on only some seeds.")
    return Feedback(False, f"{name}: {cell.verdict} seeds learned. {reason}")


def solution_float32_spacing():
    return float(np.spacing(np.float32(0.5)))


@exercise(solution=solution_float32_spacing)
def check_float32_spacing(answer) -> Feedback:
    """The gap between 0.5 and the next float32 number: 2⁻²⁴ ≈ 6.0e-8."""
    hint = (
        "float32 has a 24-bit significand; numbers in [0.5, 1) are spaced 0.5·2⁻²³ apart. "
        "np.spacing(np.float32(0.5)) computes it."
    )
    return close_to(answer, solution_float32_spacing(), rtol=0.02, hint=hint)
