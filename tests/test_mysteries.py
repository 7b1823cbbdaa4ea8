"""helpers.mysteries: what the learner sees of a mystery, its data and recipe, and that it trains
once, through the course's one loop, stopping at the first overflow."""

import math
import re

import numpy as np
import pytest
import torch

from helpers import mysteries, training

CAUSE_WORDS = re.compile(
    r"vanish|explod|converge|learning rate|\blr\b|tiny|large init|small|warm|underflow|scal", re.I
)


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


def test_f_is_notebook_10s_post_ln_stack_on_its_reversal_stream():
    from helpers import transformers
    from helpers.models.transformer import transformer_stack

    m = mysteries.mystery("F")
    setting = transformers.WARMUP_SETTING
    reference = transformer_stack(setting["depth"], 32, 4, 64, vocab=16, max_len=8,
                                  norm_position="post", seed=0)  # fmt: skip
    for p, q in zip(m.model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)
    tokens, targets = next(m.data.batches())
    first, _ = next(transformers._batches(32, 8, 16, 0))
    assert torch.equal(tokens, first) and targets.shape == (32, 8)
    assert torch.equal(targets, tokens.flip(1))  # the reversal task
    assert m.baseline == pytest.approx(math.log(16))
    assert m.data.classes == 16 and m.data.metric == "accuracy"
    recipe = mysteries._RECIPES["F"]
    assert (recipe.lr, recipe.steps, recipe.warmup_steps) == (setting["lr"], setting["steps"], 0)
    # the loss of the first step is notebook 10's, on the same batch and weights
    run = transformers.train_reverse("post", 6, lr=0.02, warmup_steps=0, steps=1, seed=0)
    losses = m.train()
    assert losses[0] == pytest.approx(run.losses[0], rel=1e-6)
    assert len(losses) == 40


def test_g_is_notebook_10s_mixed_precision_run():
    from helpers import precision

    m = mysteries.mystery("G", seed=1)
    model, data, _ = precision.build(precision.Setup(), 1)
    for p, q in zip(m.model.parameters(), model.parameters(), strict=True):
        assert torch.equal(p, q)
    assert torch.equal(m.data.x, data.x) and torch.equal(m.data.y_test, data.y_test)
    assert m.data.x.shape == (96, 32) and m.data.classes == 2
    assert mysteries._RECIPES["G"].autocast == "float16"
    losses = m.train()
    reference = precision.precision_run(1)  # Adam's arithmetic may differ in the last bits
    np.testing.assert_allclose(losses, reference.losses, rtol=1e-4)
    assert abs(losses[-1] / m.baseline - 1) < 0.01  # at ln 2


def test_the_new_fixes_change_one_thing_and_apply_where_they_fit():
    f, g = mysteries._RECIPES["F"], mysteries._RECIPES["G"]
    assert mysteries._apply_fix("F", "warmup") == mysteries.replace(f, warmup_steps=20)
    assert mysteries._apply_fix("F", "pre_ln").model == {**f.model, "norm_position": "pre"}
    scaled = mysteries._apply_fix("F", "residual_scale").model["residual_scale"]
    assert scaled == pytest.approx(1 / math.sqrt(12))
    assert mysteries._apply_fix("G", "loss_scaling") == mysteries.replace(g, loss_scaling=True)
    assert set(mysteries.applicable_fixes("F")) == {
        "pre_ln", "residual_scale", "clip", "lower_lr", "raise_lr", "warmup", "none",
    }  # fmt: skip
    assert "loss_scaling" in mysteries.applicable_fixes("G")
    assert "relu_he" in mysteries.applicable_fixes("G")
    for name in "ABCDE":
        fixes = mysteries.applicable_fixes(name)
        assert "loss_scaling" not in fixes and "warmup" not in fixes and "pre_ln" not in fixes
    with pytest.raises(ValueError, match="'loss_scaling' does not apply to mystery A.*float32"):
        mysteries._apply_fix("A", "loss_scaling")
    with pytest.raises(ValueError, match="'relu_he' does not apply to mystery F, a transformer"):
        mysteries._apply_fix("F", "relu_he")


def test_token_cross_entropy_is_the_mean_over_tokens():
    logits = torch.zeros(2, 3, 4)
    logits[0, 0, 1] = 5.0
    targets = torch.tensor([[1, 0, 0], [2, 2, 2]])
    expected = torch.nn.functional.cross_entropy(logits.reshape(6, 4), targets.reshape(6))
    assert mysteries.token_cross_entropy(logits, targets) == pytest.approx(float(expected))
    assert float(mysteries.token_cross_entropy(torch.zeros(1, 2, 16), torch.zeros(1, 2).long())) \
        == pytest.approx(math.log(16))  # fmt: skip
    with pytest.raises(ValueError, match="logits must be \\(batch, length, vocab\\)"):
        mysteries.token_cross_entropy(torch.zeros(6, 4), targets)


def test_held_out_score_counts_tokens_for_a_sequence_task():
    m = mysteries.mystery("F")
    with torch.no_grad():  # a read-out that always says token 0
        m.model.readout.weight.zero_()
        m.model.readout.bias.copy_(torch.arange(16.0).flip(0))
    share = float((m.data.y_test == 0).float().mean())
    assert m.held_out() == pytest.approx(share) and 0.03 < share < 0.1
