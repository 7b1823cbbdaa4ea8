"""helpers.mysteries: what the learner sees of a mystery, its data and recipe, and that it trains
once, through the course's one loop, stopping at the first overflow."""

import math
import re

import numpy as np
import pytest
import torch

from helpers import mysteries, training

CAUSE_WORDS = re.compile(r"vanish|explod|converge|learning rate|\blr\b|tiny|large init|small", re.I)


@pytest.mark.parametrize("name", mysteries.MYSTERIES)
def test_what_the_learner_sees_does_not_give_the_cause_away(name):
    m = mysteries.mystery(name)
    assert not CAUSE_WORDS.search(repr(m)), repr(m)
    assert m.losses is None


def test_mystery_validates_its_arguments():
    with pytest.raises(ValueError, match="unknown mystery 'Z'.*'A', 'B'"):
        mysteries.mystery("Z")
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        mysteries.mystery("A", seed=-1)
    assert mysteries.mystery("a").name == "A"


def test_a_mystery_trains_once():
    m = mysteries.mystery("B")
    losses = m.train()
    assert len(losses) == 2 and math.isinf(losses[-1])  # stops after the first overflow
    with pytest.raises(RuntimeError, match="already trained"):
        m.train()


def test_regression_baseline_is_the_variance_of_the_training_targets():
    m = mysteries.mystery("B")
    assert m.baseline == pytest.approx(float(torch.var(m.data.y, correction=0)), rel=1e-6)
    assert m.baseline == pytest.approx(1.0, rel=1e-5)  # standardized with its own statistics


def test_fixes_change_one_thing():
    recipe = mysteries._RECIPES["D"]
    assert mysteries._apply_fix("D", "raise_lr").lr == pytest.approx(100 * recipe.lr)
    assert mysteries._apply_fix("D", "lower_lr").lr == pytest.approx(0.1 * recipe.lr)
    assert mysteries._apply_fix("D", "clip").clip == mysteries.CLIP_NORM
    he = mysteries._apply_fix("B", "he_init")
    assert he.model == {**mysteries._RECIPES["B"].model, "init": "he", "scale": None}
    assert mysteries._apply_fix("C", "none") == mysteries._RECIPES["C"]


def test_held_out_score_is_nan_for_non_finite_outputs():
    m = mysteries.mystery("D")
    with torch.no_grad():
        m.model.output.bias.fill_(float("inf"))
    assert math.isnan(m.held_out())


def test_the_monitor_sees_the_step_that_overflows():
    class Recorder:
        def __init__(self):
            self.losses = []

        def record(self, loss):
            self.losses.append(float(loss.detach()))

    m = mysteries.mystery("B")
    recorder = Recorder()
    losses = m.train(recorder)
    assert recorder.losses[0] == pytest.approx(3.52e5, rel=0.01)  # 10⁵ times the baseline
    assert len(recorder.losses) == 2 and math.isinf(recorder.losses[-1])
    np.testing.assert_array_equal(recorder.losses, losses)


def test_a_mystery_trains_through_the_one_loop():
    m = mysteries.mystery("C")
    losses = m.train()
    recipe = mysteries._RECIPES["C"]
    again = mysteries.mystery("C")
    result = training.train(
        again.model, (again.data.x, again.data.y), steps=recipe.steps, lr=recipe.lr,
        optimizer=recipe.optimizer, loss="cross_entropy",
    )  # fmt: skip
    np.testing.assert_array_equal(losses, result.losses)
    assert len(losses) == 250 and losses[-1] < 0.01 * m.baseline  # converged
    assert m.held_out() == pytest.approx(0.94, abs=0.02)
