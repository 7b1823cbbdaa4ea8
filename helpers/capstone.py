"""The capstone of notebook 11: mystery training runs to diagnose and repair, and the checklist.

Every name the notebook, its exercises (``helpers.exercises.nb11``) and its tests use is
importable from here; each lives with its concept:

- ``helpers.mysteries``: the mysteries (:func:`mystery`, :class:`Mystery`, trained through
  ``helpers.training.train``), the menu of repairs :data:`FIXES` and the :data:`TARGETS`;
- ``helpers.repairs``: monitored runs with or without a repair (:func:`run`, :func:`outcome`,
  cached), :func:`confirm_repair` on more seeds, the lag profile of the recurrent mystery
  (:func:`lag_profile`, :func:`confirm_fading`), the layers whose gradient is exactly 0
  (:func:`zero_layers`, :func:`never_moved`, :func:`confirm_exact_zeros`);
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
    MIXED_PRECISION_FIXES,
    MYSTERIES,
    RAISE_LR_FACTOR,
    RECENT_STEPS,
    RECURRENT_FIXES,
    TARGETS,
    TRANSFORMER_FIXES,
    WARMUP_STEPS,
    Data,
    Mystery,
    applicable_fixes,
    held_out_score,
    mystery,
    token_cross_entropy,
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
    confirm_exact_zeros,
    confirm_fading,
    confirm_repair,
    lag_decay,
    lag_profile,
    leading_zero_layers,
    never_moved,
    outcome,
    run,
    typical_lag,
    zero_layers,
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
    "MIXED_PRECISION_FIXES",
    "MYSTERIES",
    "NEAR",
    "NOT_QUOTED",
    "RAISE_LR_FACTOR",
    "RECENT_STEPS",
    "RECURRENT_FIXES",
    "TARGETS",
    "TRANSFORMER_FIXES",
    "WARMUP_STEPS",
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
    "confirm_exact_zeros",
    "confirm_fading",
    "confirm_repair",
    "conv_net",
    "drifts",
    "format_threshold",
    "friedman",
    "held_out_score",
    "lag_decay",
    "lag_profile",
    "leading_zero_layers",
    "mystery",
    "never_moved",
    "outcome",
    "plot_comparison",
    "plot_lag_profile",
    "plot_overview",
    "read_evidence",
    "readings",
    "run",
    "token_cross_entropy",
    "typical_lag",
    "versus",
    "zero_layers",
]

# --- the answer key ------------------------------------------------------------------------------

# What is wrong with each mystery (the checks in helpers.exercises.nb11 word the feedback).
CAUSES = {
    "vanishing": "vanishing gradients",
    "exploding": "exploding gradients",
    "converged": "converged (nothing wrong)",
    "small_lr": "learning rate too small",
    "underflow": "float16 underflow (gradients rounded to exactly 0)",
}
# F's gradients vanish towards the embedding (diagnose: vanishing, layer-ratio) because a post-LN
# stack was trained at full learning rate from the first step; its check also accepts that
# cause in words (helpers.exercises.nb11.ALSO_ACCEPTED). diagnose calls G vanishing too, but its
# first layers' gradients are exactly 0, not small: float16 rounded them away.
ANSWERS = {
    "A": "vanishing",
    "B": "exploding",
    "C": "converged",
    "D": "small_lr",
    "E": "vanishing",
    "F": "vanishing",
    "G": "underflow",
}
