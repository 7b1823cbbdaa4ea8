"""The capstone of notebook 11: mystery training runs to diagnose and repair, and the checklist.

Every name the notebook, its exercises (``helpers.exercises.nb11``) and its tests use is
importable from here; each lives with its concept:

- ``helpers.mysteries``: the mysteries (:func:`mystery`, :class:`Mystery`, trained through
  ``helpers.training.train``), the menu of repairs :data:`FIXES` and the :data:`TARGETS`;
- ``helpers.repairs``: monitored runs with or without a repair (:func:`run`, :func:`outcome`,
  cached), :func:`confirm_repair` on more seeds, the lag profile of the recurrent mystery
  (:func:`lag_profile`, :func:`confirm_fading`);
- ``helpers.readings``: a run's evidence in words that hold on every machine
  (:func:`read_evidence`, :func:`readings`) and before/after tables (:func:`compare`);
- ``helpers.checklist``: the one-page checklist, rendered from the thresholds ``diagnose`` uses;
- ``helpers.plots.capstone``: the figures; ``helpers.models.conv``: the 1-D conv net;
  ``helpers.data``: the data sets (``drifts``, ``friedman``, ``clusters``).

This module adds the answer key, :data:`CAUSES` and :data:`ANSWERS`, which the checks of
``helpers.exercises.nb11`` judge by.
"""

from helpers.checklist import (
    CHECKLIST_THRESHOLDS,
    CHECKLIST_TITLE,
    NOT_QUOTED,
    checklist_document,
    checklist_markdown,
    format_threshold,
)
from helpers.data import clusters, drifts, friedman
from helpers.models.conv import ConvBlock, conv_net
from helpers.mysteries import (
    ADDING_BATCH,
    ADDING_LENGTH,
    CLIP_NORM,
    FEEDFORWARD_FIXES,
    FIXES,
    LOWER_LR_FACTOR,
    MYSTERIES,
    RAISE_LR_FACTOR,
    RECENT_STEPS,
    RECURRENT_FIXES,
    TARGETS,
    Data,
    Mystery,
    applicable_fixes,
    held_out_score,
    mystery,
)
from helpers.plots.capstone import plot_comparison, plot_lag_profile, plot_overview
from helpers.readings import (
    LOSS_NEAR_REFERENCE,
    NEAR,
    Comparison,
    Evidence,
    compare,
    read_evidence,
    readings,
    versus,
)
from helpers.repairs import (
    CONFIRM_SEEDS,
    Confirmation,
    Outcome,
    Run,
    confirm_fading,
    confirm_repair,
    lag_decay,
    lag_profile,
    outcome,
    run,
    typical_lag,
)

__all__ = [
    "ADDING_BATCH",
    "ADDING_LENGTH",
    "ANSWERS",
    "CAUSES",
    "CHECKLIST_THRESHOLDS",
    "CHECKLIST_TITLE",
    "CLIP_NORM",
    "CONFIRM_SEEDS",
    "FEEDFORWARD_FIXES",
    "FIXES",
    "LOSS_NEAR_REFERENCE",
    "LOWER_LR_FACTOR",
    "MYSTERIES",
    "NEAR",
    "NOT_QUOTED",
    "RAISE_LR_FACTOR",
    "RECENT_STEPS",
    "RECURRENT_FIXES",
    "TARGETS",
    "Comparison",
    "Confirmation",
    "ConvBlock",
    "Data",
    "Evidence",
    "Mystery",
    "Outcome",
    "Run",
    "applicable_fixes",
    "checklist_document",
    "checklist_markdown",
    "clusters",
    "compare",
    "confirm_fading",
    "confirm_repair",
    "conv_net",
    "drifts",
    "format_threshold",
    "friedman",
    "held_out_score",
    "lag_decay",
    "lag_profile",
    "mystery",
    "outcome",
    "plot_comparison",
    "plot_lag_profile",
    "plot_overview",
    "read_evidence",
    "readings",
    "run",
    "typical_lag",
    "versus",
]

# --- the answer key ------------------------------------------------------------------------------

# What is wrong with each mystery (the checks in helpers.exercises.nb11 word the feedback).
CAUSES = {
    "vanishing": "vanishing gradients",
    "exploding": "exploding gradients",
    "converged": "converged (nothing wrong)",
    "small_lr": "learning rate too small",
}
ANSWERS = {"A": "vanishing", "B": "exploding", "C": "converged", "D": "small_lr", "E": "vanishing"}
