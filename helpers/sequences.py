"""Re-export of :mod:`helpers.data.sequences` (the adding problem and copy memory).

The generators live once, in ``helpers.data.sequences``; this module keeps the old import path
(``from helpers import sequences``, ``from helpers.sequences import adding_problem``) working.
"""

from helpers.data.sequences import (  # noqa: F401 (public names, re-exported)
    ADDING_BASELINE_MSE,
    BLANK,
    DELIMITER,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
    mean_predictor_mse,
)
