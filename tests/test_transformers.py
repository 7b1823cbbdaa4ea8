"""helpers.transformers: per-block gradients, the warm-up schedule, train_reverse (records,
reproducibility, clipping), residual scaling at initialization, and argument errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from helpers import transformers as tf
from helpers.data import reverse_sequence
from helpers.models.transformer import transformer_stack

TINY = {"d_model": 8, "n_heads": 2, "d_ff": 8}


def tiny_stack(norm_position="post", depth=2, seed=0, **options):
    return transformer_stack(
        depth, **TINY, vocab=5, max_len=6, norm_position=norm_position, seed=seed, **options
    )


def tiny_batch(seed=3):
    return reverse_sequence(4, 6, vocab=5, seed=seed)


def train_tiny(**options):
    """An uncached train_reverse on a tiny stack (depth 2, d_model 8)."""
    settings = {
        "norm_position": "post",
        "depth": 2,
        "lr": 0.01,
        "warmup_steps": 0,
        "steps": 6,
        "seed": 0,
        "residual_scale": 1.0,
        "batch_size": 4,
        "length": 6,
        "clip": None,
        "d_model": 8,
        "n_heads": 2,
        "d_ff": 8,
        "vocab": 5,
    }
    settings.update(options)
    return tf._train_reverse.__wrapped__(*settings.values())


# --- block_gradient_norms ------------------------------------------------------------------------


@pytest.mark.parametrize("norm_position", ["pre", "post"])
def test_block_gradient_norms_equal_a_hand_computation_with_backward(norm_position):
    model = tiny_stack(norm_position, depth=3)
    tokens, targets = tiny_batch()
    norms = tf.block_gradient_norms(model, tokens, targets)

    reference = tiny_stack(norm_position, depth=3)
    logits = reference(tokens)
    loss = -torch.log_softmax(logits, -1).gather(-1, targets[..., None]).mean()
    loss.backward()
    expected = [
        math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in block.parameters()))
        for block in reference.blocks
    ]
    assert norms.shape == (3,)
    np.testing.assert_allclose(norms, expected, rtol=1e-5)
    assert norms.min() > 0


def test_block_gradient_norms_leave_the_model_unchanged():
    model = tiny_stack()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    tf.block_gradient_norms(model, *tiny_batch())
    for name, p in model.named_parameters():
        assert p.grad is None, name
        assert torch.equal(p, before[name]), name


def test_gradient_ratio_is_last_over_first():
    assert tf.gradient_ratio([2.0, 5.0, 3.0]) == 1.5
    assert tf.gradient_ratio(np.array([4.0])) == 1.0


def test_stream_norms_post_ln_is_one_after_every_block_and_pre_ln_with_zero_scale_is_constant():
    tokens, _ = tiny_batch()
    post = tf.stream_norms(tiny_stack("post", depth=3), tokens)
    assert post.shape == (4,)
    # LN with γ = 1, β = 0 gives RMS √(var / (var + 1e-5)) ≈ 1 in every block.
    np.testing.assert_allclose(post[1:], 1.0, atol=1e-3)
    pre = tf.stream_norms(tiny_stack("pre", depth=3, residual_scale=0.0), tokens)
    np.testing.assert_allclose(pre, pre[0], rtol=1e-12)


# --- the warm-up schedule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "warmup", "expected"),
    [
        (0, 10, 0.1),
        (4, 10, 0.5),
        (9, 10, 1.0),
        (50, 10, 1.0),
        (0, 0, 1.0),
        (7, 0, 1.0),
        (0, 1, 1.0),
    ],
)
def test_warmup_factor_is_the_formula(step, warmup, expected):
    assert tf.warmup_factor(step, warmup) == pytest.approx(expected, abs=1e-15)


@given(st.integers(0, 500), st.integers(1, 200))
def test_warmup_factor_law_rises_linearly_to_one_and_stays(step, warmup):
    factor = tf.warmup_factor(step, warmup)
    assert 0 < factor <= 1
    assert factor == min(1.0, (step + 1) / warmup)
    assert tf.warmup_factor(step + 1, warmup) >= factor
    assert (factor == 1.0) == (step >= warmup - 1)


def test_warmup_scheduler_sets_the_learning_rate_step_by_step():
    optimizer = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=0.02)
    scheduler = tf.warmup_scheduler(optimizer, 4)
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(seen, [0.005, 0.01, 0.015, 0.02, 0.02, 0.02], rtol=1e-12)


# --- train_reverse -------------------------------------------------------------------------------


def test_train_reverse_records_the_schedule_and_is_reproducible():
    a = train_tiny(warmup_steps=4)
    b = train_tiny(warmup_steps=4)
    np.testing.assert_allclose(a.lrs, [0.01 * min(1, (t + 1) / 4) for t in range(6)], rtol=1e-12)
    for field in ("losses", "global_norms", "block_norms", "update_norms"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.heldout_loss == b.heldout_loss
    assert a.losses.shape == (6,) and a.block_norms.shape == (6, 2)
    assert not a.diverged and a.clipped == 0
    assert a.baseline == math.log(5)
    assert a.relative_loss == a.heldout_loss / math.log(5)
    assert 0 <= a.heldout_accuracy <= 1


def test_a_monitored_run_is_the_same_run_and_its_monitor_saw_every_step():
    plain = train_tiny(clip=0.05)
    watched = train_tiny(clip=0.05, use_monitor=True)
    assert plain.monitor is None
    for field in ("losses", "global_norms", "block_norms", "update_norms"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(watched, field))
    record = watched.monitor
    assert record.steps == 6
    np.testing.assert_allclose(record.losses, watched.losses, rtol=1e-6)
    # read before clipping: the global norm over every tracked weight is at most the run's
    # global norm before clipping, and above the clipping threshold it engaged at
    assert watched.clipped > 0
    tracked = np.sqrt(np.nansum(record.grad_norms**2, axis=1))
    assert np.all(tracked <= watched.global_norms * (1 + 1e-5))
    assert np.any(tracked > 0.05)


def test_monitor_must_be_a_bool():
    with pytest.raises(TypeError, match="monitor must be True or False"):
        tf.train_reverse("pre", 1, lr=0.01, warmup_steps=0, steps=1, seed=0, monitor=1)


def test_train_reverse_is_cached_and_the_seed_matters():
    options = {
        "lr": 0.01,
        "warmup_steps": 0,
        "steps": 3,
        "batch_size": 4,
        "length": 6,
        "vocab": 5,
        **TINY,
    }
    first = tf.train_reverse("pre", 1, seed=0, **options)
    assert tf.train_reverse("pre", 1, seed=0, **options) is first
    other = tf.train_reverse("pre", 1, seed=1, **options)
    assert other.losses[0] != first.losses[0]


def test_first_recorded_gradient_profile_is_block_gradient_norms_at_initialization():
    run = train_tiny(steps=2)
    tokens, targets = next(tf._batches(4, 6, 5, 0))
    expected = tf.block_gradient_norms(tiny_stack(), tokens, targets)
    np.testing.assert_allclose(run.init_norms, expected, rtol=1e-5)
    assert run.global_norms[0] >= run.init_norms.max()


def test_the_first_adam_update_has_size_lr_times_root_of_parameter_count():
    # Adam's first step moves every parameter with a nonzero gradient by lr · g/(|g| + ε) ≈ ±lr.
    run = train_tiny(steps=1, lr=0.01, warmup_steps=5)
    count = sum(p.numel() for p in tiny_stack().parameters())
    assert run.update_norms[0] == pytest.approx(0.01 / 5 * math.sqrt(count), rel=0.02)


def test_clipping_counts_match_a_hand_written_loop():
    clip = 0.3
    run = train_tiny(steps=5, clip=clip, lr=0.02)
    model = tiny_stack()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    batches = tf._batches(4, 6, 5, 0)
    losses, engaged = [], 0
    for _ in range(5):
        tokens, targets = next(batches)
        optimizer.zero_grad()
        logits = model(tokens)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 5), targets.reshape(-1))
        loss.backward()
        engaged += float(nn.utils.clip_grad_norm_(model.parameters(), clip)) > clip
        optimizer.step()
        losses.append(loss.item())
    np.testing.assert_allclose(run.losses, losses, rtol=1e-5)
    assert run.clipped == engaged
    assert run.clipped == int((run.global_norms > clip).sum())
    assert run.clipped_fraction == engaged / 5
    assert train_tiny(steps=5, clip=1e6).clipped == 0
    assert train_tiny(steps=5, clip=1e-9).clipped == 5


# --- residual scaling ----------------------------------------------------------------------------


def test_gpt2_residual_scale():
    assert tf.gpt2_residual_scale(6) == pytest.approx(1 / math.sqrt(12), rel=1e-15)
    assert tf.gpt2_residual_scale(1) == pytest.approx(1 / math.sqrt(2), rel=1e-15)


def test_residual_scaling_profiles_cover_both_norms_and_scales_on_every_seed():
    profiles = tf.residual_scaling_profiles(2, seeds=(0, 1), batch_size=8)
    assert set(profiles) == {
        ("post", "1"),
        ("post", "1/sqrt(2N)"),
        ("pre", "1"),
        ("pre", "1/sqrt(2N)"),
    }
    for (position, name), runs in profiles.items():
        assert [r.seed for r in runs] == [0, 1]
        scale = 1.0 if name == "1" else 0.5
        for r in runs:
            assert r.norm_position == position and r.residual_scale == scale
            assert r.grad_norms.shape == (2,) and r.stream.shape == (3,)
            assert r.ratio == r.grad_norms[-1] / r.grad_norms[0]


def test_a_smaller_residual_scale_slows_the_pre_ln_stream_growth():
    full = tf.init_profile("pre", 4, seed=0, batch_size=16)
    scaled = tf.init_profile("pre", 4, seed=0, batch_size=16, residual_scale=0.25)
    # Same embedding (same seed), so the same starting RMS; each branch then adds less.
    assert full.stream[0] == scaled.stream[0]
    assert (scaled.stream[-1] - scaled.stream[0]) < (full.stream[-1] - full.stream[0])


# --- argument errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"norm_position": "middle"}, "norm_position"),
        ({"depth": 0}, "depth"),
        ({"lr": -1.0}, "lr"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"warmup_steps": 2.5}, "warmup_steps"),
        ({"steps": 0}, "steps"),
        ({"seed": -1}, "seed"),
        ({"clip": 0.0}, "clip"),
        ({"batch_size": 0}, "batch_size"),
        ({"length": 0}, "length"),
        ({"residual_scale": -0.5}, "residual_scale"),
    ],
)
def test_train_reverse_errors_name_the_argument(options, argument):
    settings = {
        "norm_position": "pre",
        "depth": 1,
        "lr": 0.01,
        "warmup_steps": 0,
        "steps": 1,
        "seed": 0,
        **options,
    }
    position, depth = settings.pop("norm_position"), settings.pop("depth")
    with pytest.raises((ValueError, TypeError), match=argument):
        tf.train_reverse(position, depth, **settings)


def test_other_errors_name_the_argument():
    model = tiny_stack()
    tokens, targets = tiny_batch()
    with pytest.raises(TypeError, match="model"):
        tf.block_gradient_norms(nn.Linear(2, 2), tokens, targets)
    with pytest.raises(ValueError, match="targets"):
        tf.block_gradient_norms(model, tokens, targets[:, :3])
    with pytest.raises(ValueError, match="targets"):
        tf.block_gradient_norms(model, tokens, targets + 5)
    with pytest.raises(TypeError, match="tokens"):
        tf.block_gradient_norms(model, tokens.float(), targets)
    with pytest.raises(ValueError, match="step"):
        tf.warmup_factor(-1, 10)
    with pytest.raises(TypeError, match="optimizer"):
        tf.warmup_scheduler("adam", 10)
    with pytest.raises(ValueError, match="norms"):
        tf.gradient_ratio([])
    with pytest.raises(TypeError, match="depth"):
        tf.gpt2_residual_scale(2.0)
    with pytest.raises(ValueError, match="batch_size"):
        tf.init_profile("pre", 2, seed=0, batch_size=10_000)


# --- ratios, added variance and the warm-up experiment -------------------------------------------


def test_gradient_ratio_is_infinite_when_nothing_reaches_the_first_block():
    assert tf.gradient_ratio([0.0, 2.0]) == math.inf
    with pytest.raises(ValueError, match="norms"):
        tf.gradient_ratio([0.0, 0.0])
    with pytest.raises(ValueError, match="norms"):
        tf.gradient_ratio([1.0, -2.0])


def test_run_gradient_ratios_read_the_recorded_profiles():
    run = train_tiny(steps=12)
    ratios = [run.block_norms[t, -1] / run.block_norms[t, 0] for t in range(12)]
    assert run.gradient_ratio(0) == pytest.approx(ratios[0], rel=1e-12)
    assert run.gradient_ratio() == pytest.approx(ratios[-1], rel=1e-12)
    assert run.late_gradient_ratio == pytest.approx(np.median(ratios[2:]), rel=1e-12)
    with pytest.raises(ValueError, match="step"):
        run.gradient_ratio(12)


def test_added_variance_is_the_difference_of_squared_stream_rms():
    profile = tf.init_profile("pre", 3, seed=1, batch_size=8)
    assert profile.added_variance == pytest.approx(
        profile.stream[-1] ** 2 - profile.stream[0] ** 2, rel=1e-12
    )


def test_warmup_experiment_runs_the_cases_through_train_reverse():
    setting = {"depth": 1, "lr": 0.01, "warmup_steps": 3, "steps": 2}
    runs = tf.warmup_experiment(seeds=(0,), residual_scaled=True, **setting)
    assert list(runs) == ["post, no warm-up", "post, warm-up", "pre, no warm-up",
                          "post, no warm-up, s = 1/√(2N)"]  # fmt: skip
    same = tf.train_reverse("post", 1, lr=0.01, warmup_steps=3, steps=2, seed=0)
    assert runs["post, warm-up"][0] is same
    assert runs["post, no warm-up, s = 1/√(2N)"][0].residual_scale == pytest.approx(0.5**0.5)
    assert runs["pre, no warm-up"][0].warmup_steps == 0
    with pytest.raises(TypeError, match="setting"):
        tf.warmup_experiment(width=3)
