"""helpers.comparison_table: steps to target, rows, the comparison's summaries and the tables it
prints, on a small :func:`helpers.comparison.compare` and on hand-made runs."""

import math

import numpy as np
import pytest

from helpers.comparison import Budget, Run, compare
from helpers.comparison_table import Comparison, Row, steps_to_target

# --- steps to target -----------------------------------------------------------------------------


def test_steps_to_target_counts_steps_until_the_loss_first_reaches_it():
    losses = [1.0, 0.8, 0.5, 0.6, 0.4]
    assert steps_to_target(losses, 0.5) == 2
    assert steps_to_target(losses, 1.0) == 0
    assert steps_to_target(losses, 0.1) is None
    assert steps_to_target([1.0, math.nan, math.nan], 0.5) is None


# --- the comparison ------------------------------------------------------------------------------


SMALL = Budget(steps=40, n_examples=64)


@pytest.fixture(scope="module")
def small():
    return compare(["baseline", "batch_norm", "adam"], seeds=(0, 1), budget=SMALL)


def test_table_prints_every_row_with_rounded_figures(small):
    text = str(small)
    for row in small.rows:
        assert row.label in text
    assert "not reached" in text and "0/2" in text
    assert "target: loss <=" in text
    assert "e-" in text  # ratios in scientific notation
    with pytest.raises(KeyError, match="no configuration 'relu'"):
        small["relu"]


def _fake_run(name, losses, seed=0):
    return Run(name, seed, np.array(losses, dtype=float), 1e-3, 1e-2, 10)


@pytest.mark.slow
def test_verdicts_count_reached_and_stuck_seeds_and_keep_only_deterministic_columns(small):
    text = small.verdicts()
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["mitigation", "params", "reached"]
    base = next(line for line in lines if line.startswith("baseline"))
    assert " 0/2 " in base and base.count("2/2") == 1  # never reached, both seeds stuck
    assert "±" not in text and "not reached" not in text  # no per-seed floats
    assert small.at_mean_predictor(small["baseline"]) == 2
    assert small.at_mean_predictor(small["batch_norm"]) == 0


def test_final_ratios_and_steps_needed_concatenate_the_named_rows(small):
    ratios = small.final_ratios(["baseline", "adam"])
    assert ratios.shape == (4,)
    np.testing.assert_allclose(
        ratios[:2], small["baseline"].final_losses / small.mean_predictor_loss
    )
    steps = small.steps_needed(["baseline", "batch_norm"])
    assert steps.shape == (4,) and np.isinf(steps[:2]).all()
    with pytest.raises(KeyError, match="no configuration 'relu'"):
        small.final_ratios(["relu"])
    with pytest.raises(TypeError, match="list of configuration names"):
        small.steps_needed("baseline")
    with pytest.raises(ValueError, match="at least one"):
        small.final_ratios([])


def test_steps_or_inf_marks_seeds_that_never_reached_the_target():
    row = Row("r", "R", (_fake_run("r", [1, 0.4, 0.3]), _fake_run("r", [1, 0.9, 0.8])), 0.5)
    np.testing.assert_array_equal(row.steps_or_inf, [1.0, math.inf])
    comparison = Comparison((row,), Budget(steps=2), (0, 1), 1.0, 0.5)
    assert comparison.at_mean_predictor(row) == 0
    stuck = Row("s", "S", (_fake_run("s", [1, 1, 1.005]), _fake_run("s", [1, 1, 0.98])), 0.5)
    assert comparison.at_mean_predictor(stuck) == 1  # within 1%: 1.005 yes, 0.98 no


def test_table_reports_divergence_and_spread_honestly():
    target = 0.5
    rows = (
        Row(
            "relu",
            "ReLU",
            (_fake_run("relu", [1, 0.4, 0.3]), _fake_run("relu", [1, 0.6, 0.5])),
            target,
        ),
        Row(
            "elu",
            "ELU",
            (_fake_run("elu", [1, math.nan, math.nan]), _fake_run("elu", [1, 0.45, 0.2])),
            target,
        ),
        Row("he", "He", (_fake_run("he", [1, math.inf, math.nan]),) * 2, target),
    )
    comparison = Comparison(rows, Budget(steps=2), (0, 1), 1.0, target)
    lines = str(comparison).splitlines()
    relu, elu, he = lines[2], lines[3], lines[4]
    assert "0.400 ± 0.100" in relu and "2/2" in relu and "2 [1, 2]" in relu
    assert "0.200 ± 0.000 †" in elu and "1/2" in elu
    assert "diverged" in he and "not reached" in he
    assert "† a seed diverged" in str(comparison)
