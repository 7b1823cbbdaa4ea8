"""Telling a vanishing-gradient plateau from convergence: :func:`find_plateau` and :func:`diagnose`.

Notebook 04 teaches with these, and notebook 11 uses them on mystery models. They live in the
course's toolkit, ``gradwatch`` (its own package in this repository), and are importable from here
under the course's names; the rules are listed in ``gradwatch.diagnose``'s docstring and
:data:`RULES`, every threshold with its source in :data:`THRESHOLDS`.
"""

from gradwatch.diagnose import EXPLODING_FIX, VANISHING_FIX, Diagnosis, diagnose
from gradwatch.evidence import Record, default_window, gather_evidence, read_monitor
from gradwatch.plateau import find_plateau, moving_median, noise_level
from gradwatch.thresholds import (
    INSUFFICIENT,
    LABELS,
    LOSS_FELL,
    MIN_ROWS,
    OUTCOMES,
    PLATEAU_NOISE_Z,
    RULES,
    THRESHOLDS,
    Threshold,
)

__all__ = [
    "EXPLODING_FIX",
    "INSUFFICIENT",
    "LABELS",
    "LOSS_FELL",
    "MIN_ROWS",
    "OUTCOMES",
    "PLATEAU_NOISE_Z",
    "RULES",
    "THRESHOLDS",
    "VANISHING_FIX",
    "Diagnosis",
    "Record",
    "Threshold",
    "default_window",
    "diagnose",
    "find_plateau",
    "gather_evidence",
    "moving_median",
    "noise_level",
    "read_monitor",
]
