"""Every synthetic data set of the course, each a small seeded function, and their splits.

Nothing is downloaded: each set is drawn from a ``torch.Generator`` or numpy ``Generator`` seeded
by its ``seed`` (the global generators are untouched), so the same seed gives the same data on
every machine for a given torch/numpy release. :func:`split` returns a training set, a held-out
set and the loss of the best constant prediction, the baseline a run must beat.

- ``toy_regression``: y = sin(2x₁)·cos(x₂) + noise, x ~ N(0, I); MSE, baseline Var(y) ≈ 0.26.
  Notebooks 03 and 05-08.
- ``two_moons``, ``two_blobs``: two interleaved half circles, two separated Gaussian blobs;
  BCE, baseline ln 2 (balanced labels). Notebook 04's labelled runs.
- ``friedman``: Friedman's (1991) function #1, 10 inputs, 5 irrelevant; MSE. The capstone.
- ``clusters``: three Gaussian clusters in 4-D; cross-entropy, baseline ln 3. The capstone.
- ``drifts``: noisy signals that drift up or down, for a conv net; BCE, ln 2. The capstone.
- ``adding_problem``: the sum of two marked values in a sequence; MSE, baseline 1/6.
  Notebooks on recurrent nets and the capstone.
- ``copy_memory``: recall a few symbols after a delay; cross-entropy (memoryless baseline).
- ``reverse_sequence``: output the tokens in reverse order; cross-entropy, baseline ln(vocab).
  Notebook 10's transformers.
"""

from helpers.data.sequences import (
    ADDING_BASELINE_MSE,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
    mean_predictor_mse,
    reverse_sequence,
    reverse_sequence_baseline,
)
from helpers.data.synthetic import (
    Split,
    clusters,
    drifts,
    friedman,
    mean_baseline_loss,
    split,
    toy_regression,
    two_blobs,
    two_moons,
)

__all__ = [
    "ADDING_BASELINE_MSE",
    "Split",
    "adding_problem",
    "clusters",
    "copy_memory",
    "copy_memory_baseline",
    "drifts",
    "friedman",
    "mean_baseline_loss",
    "mean_predictor_mse",
    "reverse_sequence",
    "reverse_sequence_baseline",
    "split",
    "toy_regression",
    "two_blobs",
    "two_moons",
]
