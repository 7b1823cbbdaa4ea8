"""The recipes of notebook 04's labelled runs: every label is covered, the look-alikes are labelled
by their gradients, names are validated."""

import pytest

from helpers.diagnose import LABELS
from helpers.labelled_runs import recipes


def test_benchmark_covers_every_label_and_the_look_alikes():
    assert len(recipes.RUNS) >= 12
    expected = [entry.expected for entry in recipes.RUNS.values()]
    assert set(expected) == set(LABELS)
    assert recipes.RUNS["small_lr"].expected == "healthy"  # flat-looking, gradients fine
    assert recipes.RUNS["adam_vanishing"].expected == "vanishing"  # loss falls, gradients vanish
    assert recipes.RUNS["dying_relu"].expected == "vanishing"
    for name in ("tiny_init", "saturated_inputs", "underscaled_tanh"):
        assert recipes.RUNS[name].expected == "vanishing"
    for entry in recipes.RUNS.values():
        assert len(entry.description) > 60 and entry.cause


def test_runs_by_label_validates():
    assert "small_lr" in recipes.runs_by_label("healthy")
    with pytest.raises(ValueError, match="unknown label"):
        recipes.runs_by_label("stalled")


def test_check_name_accepts_run_names_only():
    assert recipes.check_name("small_lr") == "small_lr"
    with pytest.raises(ValueError, match="unknown run 'nope'; valid names are 'tiny_init'"):
        recipes.check_name("nope")


def test_cause_rules_name_vanishing_runs_only():
    assert set(recipes.CAUSE_RULES) | {"tiny_init"} == set(recipes.runs_by_label("vanishing"))
