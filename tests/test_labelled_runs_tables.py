"""The tables of labelled runs: confusion counts and the per-seed label table."""

import numpy as np

from helpers.diagnose import LABELS
from helpers.labelled_runs import tables


def test_confusion_table_counts_expected_against_diagnosed():
    class Fake:
        def __init__(self, expected, label):
            self.expected, self.label = expected, label

    results = [
        Fake("vanishing", "vanishing"),
        Fake("healthy", "converged"),
        Fake("healthy", "healthy"),
    ]
    counts = tables.confusion(results)
    assert counts.sum() == 3 and np.trace(counts) == 2
    assert counts[LABELS.index("healthy"), LABELS.index("converged")] == 1
    text = tables.format_confusion(counts)
    assert text.splitlines()[0].split()[-4:] == list(LABELS)
    assert text.endswith("2 of 3 runs labelled as expected")


def test_label_table_has_a_column_per_seed_and_a_dash_where_a_run_is_missing():
    class Fake:
        def __init__(self, name, seed, label):
            self.name, self.seed, self.label = name, seed, label

    results = [Fake("tiny_init", 0, "vanishing"), Fake("tiny_init", 2, "vanishing")]
    results.append(Fake("small_lr", 2, "converged"))
    lines = tables.label_table(results).splitlines()
    assert lines[0].split() == ["run", "expected", "seed", "0", "seed", "2"]
    assert lines[1].split() == ["tiny_init", "vanishing", "vanishing", "vanishing"]
    assert lines[2].split() == ["small_lr", "healthy", "-", "converged"]
    assert len(lines) == 3  # runs absent from the results get no row
