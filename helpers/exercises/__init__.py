"""Exercise checks: a learner's answer gets "Correct" or a hint that helps, never a bare "wrong".

Each notebook's exercises live in ``helpers.exercises.nbNN``. A check is registered with
:func:`exercise` together with a reference solution, so the tests can prove every solution passes
its own check and an instructor can reveal it with :func:`show_solution`.
"""

import importlib
import inspect
import math
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer; prints as one line a learner can act on."""

    correct: bool
    message: str

    def __str__(self) -> str:
        return ("✅ Correct. " if self.correct else "❌ Not yet. ") + self.message

    __repr__ = __str__

    def __bool__(self) -> bool:
        return self.correct


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its check and the reference solution that must pass it."""

    name: str
    check: Callable[..., Feedback]
    solution: Callable[[], Any]

    def solution_source(self) -> str:
        return inspect.getsource(self.solution)


EXERCISES: dict[str, Exercise] = {}

UNANSWERED = "Replace the ... with your answer, then run the cell again."


def exercise(solution: Callable[[], Any]):
    """Register the decorated check under ``<module>.<function>`` with its reference solution.

    The solution is a function of no arguments returning an answer that the check accepts.
    """

    def register(check):
        name = f"{check.__module__.rsplit('.', 1)[-1]}.{check.__name__}"
        EXERCISES[name] = Exercise(name, check, solution)
        return check

    return register


def unanswered(answer) -> bool:
    return answer is ... or answer is None


def number(answer) -> float | None:
    """float(answer), or None if it is not one finite real number (booleans are not numbers)."""
    if isinstance(answer, bool):
        return None
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def as_number(answer):
    """Return (value, None) for one real number, else (None, Feedback saying what to fix)."""
    if unanswered(answer):
        return None, Feedback(False, UNANSWERED)
    if isinstance(answer, str):
        message = f"Expected a number, got the text {answer!r}: drop the quotes."
        return None, Feedback(False, message)
    if isinstance(answer, bool | np.bool_):
        return None, Feedback(False, f"Expected a number, got {answer!r}.")
    try:
        if np.iscomplexobj(answer):
            return None, Feedback(False, f"Expected a real number, got {answer!r}.")
        array = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):
        return None, Feedback(False, f"Expected a single number, got {answer!r}.")
    if array.size != 1:
        return None, Feedback(False, f"Expected a single number, got {array.size} values.")
    value = float(array.reshape(()))
    if not math.isfinite(value):
        return None, Feedback(False, f"Expected a finite number, got {value}.")
    return value, None


def near(value: float, target: float, rtol: float = 0.02) -> bool:
    return math.isclose(value, target, rel_tol=rtol)


def close_to(answer, expected: float, *, rtol: float = 0.02, atol: float = 0.0, hint: str):
    """Feedback on a numeric answer: correct within ``rtol``/``atol`` of ``expected``."""
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"Expected a number, got {answer!r}. {hint}")
    if math.isclose(value, expected, rel_tol=rtol, abs_tol=atol):
        return Feedback(True, f"{value:.4g} is right.")
    return Feedback(False, f"{value:.4g} is not it. {hint}")


def load_all() -> dict[str, Exercise]:
    """Import every ``nbNN`` module so the registry holds all exercises; return it."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("nb"):
            importlib.import_module(f"{__name__}.{info.name}")
    return EXERCISES


def show_solution(name: str) -> None:
    """Print the reference solution of exercise ``name`` (e.g. ``"nb01.check_peak"``)."""
    exercises = load_all()
    if name not in exercises:
        raise ValueError(
            f"unknown exercise {name!r}; valid names are {', '.join(sorted(exercises))}"
        )
    print(exercises[name].solution_source())
