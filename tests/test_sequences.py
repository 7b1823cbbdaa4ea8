"""helpers.sequences is a re-export: every public name is the object of helpers.data.sequences.

The generators themselves are tested in tests/test_data_sequences.py.
"""

import pytest

from helpers import sequences
from helpers.data import sequences as data_sequences

NAMES = [
    "ADDING_BASELINE_MSE",
    "BLANK",
    "DELIMITER",
    "adding_problem",
    "copy_memory",
    "copy_memory_baseline",
    "mean_predictor_mse",
]


@pytest.mark.parametrize("name", NAMES)
def test_old_import_path_gives_the_same_object(name):
    assert getattr(sequences, name) is getattr(data_sequences, name)


def test_the_old_path_still_generates_the_same_data():
    x, y = sequences.adding_problem(4, 10, seed=3)
    x2, y2 = data_sequences.adding_problem(4, 10, seed=3)
    assert x.equal(x2) and y.equal(y2)
    assert y.shape == (4, 1) and sequences.ADDING_BASELINE_MSE == pytest.approx(1 / 6)
