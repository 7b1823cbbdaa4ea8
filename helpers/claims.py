"""Claims about training outcomes, checked when the notebook runs, each with a margin.

Training small networks is chaotic: another seed, CPU, BLAS build or thread count ends a run
elsewhere (FIELD-NOTES). So the course never prints one trajectory's digits as a result. It states
a verdict that must hold on every seed ("all five seeds end below half the baseline") and checks it
here: a claim whose worst seed does not clear its threshold by the required factor raises
:class:`ClaimFailed`, so a notebook cannot contradict its own prose on a learner's machine.

What a claim prints does not depend on the floating-point path (nbval compares it); its margin,
which does, goes to the log file named by ``VG_CLAIMS_LOG`` when that is set, and
``make portability`` and ``make bench`` print the margins from there.
"""

import json
import math
import os
from dataclasses import dataclass

import numpy as np

DEFAULT_MARGIN = 1.5


class ClaimFailed(AssertionError):
    """A stated claim about training does not hold on this machine."""


@dataclass(frozen=True)
class Verdict:
    """A claim that held: its sentence, the values it rests on and by how much it held.

    ``margin`` is the factor by which the worst value clears the threshold (≥ ``required``).
    """

    name: str
    sentence: str
    values: np.ndarray
    threshold: float
    margin: float
    required: float

    def __str__(self) -> str:
        if self.required <= 1:
            return f"✓ {self.sentence}"
        return f"✓ {self.sentence} (each by a factor of at least {self.required:g})"


def _values(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"claim {name!r}: values is empty; pass one value per seed")
    return array


def _check_threshold(threshold, required) -> None:
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
    if not (isinstance(required, int | float) and required >= 1):
        raise ValueError(f"margin must be a number ≥ 1, got {required!r}")


def _log(verdict: Verdict) -> None:
    path = os.environ.get("VG_CLAIMS_LOG")
    if not path:
        return
    entry = {
        "claim": verdict.name,
        "margin": verdict.margin,
        "required": verdict.required,
        "threshold": verdict.threshold,
        "values": [float(v) for v in verdict.values],
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def _conclude(name, sentence, values, threshold, margin, required) -> Verdict:
    shown = ", ".join(f"{v:.3g}" for v in values)
    if not margin >= required:  # also catches NaN
        raise ClaimFailed(
            f"claim {name!r} does not hold here: {sentence}. Values per run: {shown}; "
            f"threshold {threshold:g}; the worst run clears it by a factor of {margin:.3g}, "
            f"{required:g} is required. The margin was chosen to absorb the spread over seeds, "
            "CPUs and thread counts, so this is worth reporting, with your CPU and torch version."
        )
    verdict = Verdict(name, sentence, values, float(threshold), float(margin), float(required))
    _log(verdict)
    return verdict


def all_below(values, threshold, *, name: str, sentence: str, margin=DEFAULT_MARGIN) -> Verdict:
    """Every value is below ``threshold / margin`` (values and threshold positive quantities).

    Margin achieved: threshold ÷ max(values). Use for "every seed ends below half the baseline".
    """
    array = _values(values, name)
    _check_threshold(threshold, margin)
    worst = float(np.max(array))
    achieved = math.inf if worst <= 0 else threshold / worst
    if np.isnan(array).any():
        achieved = math.nan
    return _conclude(name, sentence, array, threshold, achieved, margin)


def all_above(values, threshold, *, name: str, sentence: str, margin=DEFAULT_MARGIN) -> Verdict:
    """Every value is above ``threshold · margin``. Margin achieved: min(values) ÷ threshold."""
    array = _values(values, name)
    _check_threshold(threshold, margin)
    achieved = float(np.min(array)) / threshold
    if np.isnan(array).any():
        achieved = math.nan
    return _conclude(name, sentence, array, threshold, achieved, margin)


def all_near(
    values, target, tolerance, *, name: str, sentence: str, margin=DEFAULT_MARGIN
) -> Verdict:
    """Every value is within ``tolerance / margin`` of ``target`` (absolute difference).

    Margin achieved: tolerance ÷ max |value − target|. Use for "stays within 1% of the mean
    predictor's loss" (values = loss ÷ baseline, target 1, tolerance 0.01).
    """
    array = _values(values, name)
    _check_threshold(tolerance, margin)
    if not math.isfinite(target):
        raise ValueError(f"target must be a finite number, got {target!r}")
    worst = float(np.max(np.abs(array - target)))
    achieved = math.inf if worst == 0 else tolerance / worst
    if np.isnan(array).any():
        achieved = math.nan
    return _conclude(name, sentence, array, tolerance, achieved, margin)


def every(flags, *, name: str, sentence: str) -> Verdict:
    """Every flag is true: a discrete verdict (a label, a count) that has no numeric margin."""
    array = np.asarray(flags, dtype=bool).ravel()
    if array.size == 0:
        raise ValueError(f"claim {name!r}: flags is empty; pass one flag per run")
    achieved = math.inf if array.all() else 0.0
    return _conclude(name, sentence, array.astype(float), 1.0, achieved, 1.0)
