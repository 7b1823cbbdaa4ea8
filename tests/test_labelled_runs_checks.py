"""Notebook 04's claims about the labelled runs, on stand-ins for finished runs: each check passes
when it should and names the runs that missed when it fails."""

import math

import pytest

from helpers import claims
from helpers.labelled_runs import checks, recipes


class Fake:
    """The parts of a RunResult the label checks read."""

    def __init__(self, name, seed, label, rule="all-small", accuracy=0.5, loss=recipes.BASELINE):
        self.name, self.seed, self.label = name, seed, label
        self.expected = recipes.RUNS[name].expected
        self.correct = label == self.expected
        self.diagnosis = type("D", (), {"rule": rule})()
        self.test_accuracy, self.test_loss = accuracy, loss


def test_check_labels_names_the_runs_that_missed():
    good = [Fake("tiny_init", 0, "vanishing"), Fake("small_lr", 0, "healthy")]
    verdict = checks.check_labels(good)
    assert str(verdict) == (
        "✓ all 2 runs (2 benchmark runs on seed 0) get the label their cause should get"
    )
    with pytest.raises(claims.ClaimFailed, match=r"missed: small_lr seed 1 \(converged\)"):
        checks.check_labels([*good, Fake("small_lr", 1, "converged")])
    with pytest.raises(ValueError, match="results is empty"):
        checks.check_labels([])


def test_check_causes_names_the_rule_that_fired_instead():
    assert checks.check_causes([Fake("dying_relu", 0, "vanishing", rule="dying-relu")]).margin > 1
    with pytest.raises(claims.ClaimFailed, match=r"dying_relu seed 2 \(all-small\)"):
        checks.check_causes([Fake("dying_relu", 2, "vanishing", rule="all-small")])
    with pytest.raises(ValueError, match="holds none of the runs"):
        checks.check_causes([Fake("tiny_init", 0, "vanishing")])


def test_check_held_out_needs_every_group_and_fails_a_false_claim():
    with pytest.raises(ValueError, match="no exploding run"):
        checks.check_held_out([Fake("tiny_init", 0, "vanishing")])
    results = [
        Fake("tiny_init", 0, "vanishing", accuracy=0.2),
        Fake("saturated_inputs", 0, "vanishing", accuracy=0.8),
        Fake("exploding_relu", 0, "exploding", loss=math.nan),
        Fake("converged_easy", 0, "converged", accuracy=0.95),
        Fake("converged_moons", 0, "converged", accuracy=0.9),
        Fake("small_lr", 0, "healthy", accuracy=0.7),
    ]
    verdicts = checks.check_held_out(results)
    assert verdicts[1].values.tolist() == pytest.approx([0.6])  # accuracy spread 0.8 - 0.2
    assert verdicts[4].values.tolist() == pytest.approx([3.0])  # 0.3 errors vs at most 0.1
    results[-1] = Fake("small_lr", 0, "healthy", accuracy=0.85)  # only 1.5x the errors
    with pytest.raises(claims.ClaimFailed, match="04.small-lr-behind"):
        checks.check_held_out(results)
