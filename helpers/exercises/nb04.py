"""Exercises for notebook 04 (detecting vanishing gradients): read a monitor's record and name
the problem; size a learning-rate change from the update-to-weight ratio."""

import math

from helpers import runs
from helpers.diagnose import LABELS, THRESHOLDS
from helpers.exercises import UNANSWERED, Feedback, close_to, exercise, unanswered

# The mystery records are benchmark runs on a seed the notebook does not show (it shows 0-2).
# Seed 6 is one whose printed record is the same on every floating-point path we checked and
# after a one-float32-step nudge of the weights (tests/test_exercises.py checks the nudge).
MYSTERY_SEED = 6
MYSTERIES = {"a": "underscaled_tanh", "b": "small_lr", "c": "adam_vanishing"}
# Exercise 3 reads the small_lr run the notebook shows (seed 0).
LR_RUN, LR_SEED = "small_lr", 0


def mystery(key: str) -> runs.RunResult:
    """The benchmark run behind mystery ``key`` ("a", "b" or "c")."""
    if key not in MYSTERIES:
        raise ValueError(f"unknown mystery {key!r}; valid names are {', '.join(MYSTERIES)}")
    return runs.run(MYSTERIES[key], MYSTERY_SEED)


def mystery_record(key: str) -> str:
    """What the monitor recorded for mystery ``key``: the evidence lines of its diagnosis,
    without the verdict, the explanation or the fix. The held-out accuracy is rounded to one
    decimal: a stalled run's accuracy moves in the second decimal with the floating-point path."""
    lines = mystery(key).diagnosis.lines()
    evidence = [line for line in lines[1:] if line.startswith("  ")]
    return "\n".join(
        [f"Mystery run {key} (held-out accuracy ≈ {mystery(key).test_accuracy:.1f})"] + evidence
    )


def _hint(guess: str, ev: dict) -> str:
    """Why ``guess`` does not fit this record, pointing at the line of evidence to read."""
    fell = ev["drop"] >= 0.1
    if guess == "exploding":
        return (
            "Exploding runs show NaN/inf or gradients growing by orders of magnitude. Is any "
            "number here NaN, or large?"
        )
    if guess == "converged":
        if fell:
            return (
                "The loss did fall, but a diagnosis also reads the layers. Compare the first "
                "layer's gradient with the last layer's: how many orders of magnitude apart?"
            )
        return (
            "A converged run plateaus far below where it started. How far below the reference "
            "is this loss, and how large is the largest gradient?"
        )
    if guess == "healthy":
        if ev["plateau_step"] is not None and not fell:
            return (
                "A healthy run is still improving. This record shows a plateau near the starting "
                "level: look at the gradient line. Could any layer learn from gradients that size?"
            )
        return (
            "The loss improves, but check the early layers: is the first layer's gradient within "
            "a few orders of magnitude of the last layer's?"
        )
    # guess == "vanishing"
    return (
        "Vanishing needs gradients that are too small to learn from: a first/last ratio below "
        "1e-3, or every layer below 1e-3 while the loss is stuck. Are they? And is the loss "
        "still falling (is there a plateau)?"
    )


def _label_feedback(answer, key: str) -> Feedback:
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    valid = ", ".join(f'"{label}"' for label in LABELS)
    if not isinstance(answer, str):
        return Feedback(
            False, f"Answer with one of the labels as a string ({valid}); got {answer!r}."
        )
    guess = answer.strip().lower()
    if guess not in LABELS:
        return Feedback(False, f"{answer!r} is not one of the four labels: {valid}.")
    diagnosis = mystery(key).diagnosis
    if guess == diagnosis.label:
        return Feedback(
            True, f"{diagnosis.label}, by rule {diagnosis.rule}: {diagnosis.explanation}"
        )
    return Feedback(False, f"Not {guess}. " + _hint(guess, diagnosis.evidence))


# --- 1. a stalled record ---


def solution_mystery_a():
    return mystery("a").diagnosis.label


@exercise(solution=solution_mystery_a)
def check_mystery_a(answer) -> Feedback:
    """Name the label of mystery run a (a deep under-scaled tanh stack): "vanishing"."""
    return _label_feedback(answer, "a")


# --- 2. a flat-looking record ---


def solution_mystery_b():
    return mystery("b").diagnosis.label


@exercise(solution=solution_mystery_b)
def check_mystery_b(answer) -> Feedback:
    """Name the label of mystery run b (the too-small learning rate look-alike): "healthy"."""
    return _label_feedback(answer, "b")


# --- 3. how much larger should the learning rate be? ---


def solution_lr_factor():
    update_max = runs.run(LR_RUN, LR_SEED).diagnosis.evidence["update_max"]
    return THRESHOLDS["healthy_update"].value / update_max


@exercise(solution=solution_lr_factor)
def check_lr_factor(answer) -> Feedback:
    """Factor to multiply small_lr's learning rate by so its largest update/weight ratio reaches
    the ≈ 1e-3 of the CS231n notes and Karpathy (plain SGD: the update is lr × gradient, so the
    ratio scales with lr)."""
    expected = solution_lr_factor()
    hint = (
        "With plain SGD the update is lr × gradient, so the update/weight ratio grows in "
        "proportion to the learning rate. Read the largest ratio in the small_lr diagnosis: "
        "which factor takes it to 1e-3?"
    )
    if not unanswered(answer) and not isinstance(answer, bool):
        try:
            value = float(answer)
        except (TypeError, ValueError):
            value = math.nan
        if math.isfinite(value) and value > 0 and math.isclose(value, 1 / expected, rel_tol=0.25):
            return Feedback(
                False, "Upside down: the ratio must grow, so the factor is > 1. " + hint
            )
    return close_to(answer, expected, rtol=0.25, hint=hint)


# --- 4. a record whose loss falls ---


def solution_mystery_c():
    return mystery("c").diagnosis.label


@exercise(solution=solution_mystery_c)
def check_mystery_c(answer) -> Feedback:
    """Name the label of mystery run c (Adam on a vanishing network): "vanishing"."""
    return _label_feedback(answer, "c")
