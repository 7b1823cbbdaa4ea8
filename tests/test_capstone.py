"""helpers.capstone and the checks of notebook 09: each mystery gets its intended diagnosis over
several seeds, each intended fix repairs it on five seeds by a stated margin, the fixes the hints
call useless are, every verdict of the checks and every reading the notebook prints holds by a
margin (so another machine reads the same), the learner's path and the cached runs agree, and the
checklist quotes diagnose's thresholds and matches docs/checklist.md and the notebook.

The mysteries train for about a second each; runs are cached per process.
"""

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from helpers import capstone
from helpers.activations import saturation_threshold
from helpers.claims import ClaimFailed
from helpers.diagnose import THRESHOLDS, diagnose
from helpers.exercises import nb09
from helpers.monitor import GradientMonitor

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "09_capstone_diagnose_and_fix.ipynb"
SEEDS = (0, 1)

# What diagnose says about each mystery: (label, rule or None for any rule of that label).
# E is diagnose's blind spot: a recurrent net whose gradient vanishes along the sequence looks
# fine layer by layer; the lag profile shows the cause.
EXPECTED = {
    "A": ("vanishing", None),
    "B": ("exploding", "non-finite"),
    "C": ("converged", "plateau-low"),
    "D": ("healthy", None),
    "E": ("converged", "plateau-high"),
}
INTENDED_FIX = {"A": "relu_he", "B": "he_init", "D": "raise_lr", "E": "gru"}
FIVE_SEEDS = range(5)
# The margin by which each intended fix reaches the target on all five seeds (the worst of the
# training-loss and held-out conditions): B's repair ends at R² ≈ 0.6 against the target 0.5.
REPAIR_MARGIN = {"A": 2.0, "B": 1.1, "D": 1.25, "E": 2.0}
# The fixes the checks accept (their docstrings in helpers.exercises.nb09 say the same).
ACCEPTED_FIXES = {
    "A": {"relu_he", "batch_norm", "residual"},
    "B": {"he_init", "relu_he", "xavier"},
    "D": {"raise_lr"},
    "E": {"gru"},
}


# --- the data ------------------------------------------------------------------------------------


def test_drifts_are_balanced_seeded_and_drift_the_right_way():
    x, y = capstone.drifts(64, seed=3)
    assert x.shape == (64, 1, 32) and y.shape == (64, 1)
    assert float(y.mean()) == 0.5
    again, _ = capstone.drifts(64, seed=3)
    assert torch.equal(x, again)
    assert not torch.equal(x, capstone.drifts(64, seed=4)[0])
    # the drift ±(t − 1/2) is the class: late minus early samples has the label's sign on average
    rise = x[:, 0, 24:].mean(dim=1) - x[:, 0, :8].mean(dim=1)
    assert float(rise[y[:, 0] == 1].mean()) > 0.4 > -0.4 > float(rise[y[:, 0] == 0].mean())


def test_friedman_matches_its_formula():
    x, y = capstone.friedman(5, seed=7)
    u = x / math.sqrt(12.0) + 0.5  # undo the standardization
    clean = (
        10 * torch.sin(math.pi * u[:, 0] * u[:, 1])
        + 20 * (u[:, 2] - 0.5) ** 2
        + 10 * u[:, 3]
        + 5 * u[:, 4]
    )
    noise = y[:, 0] - clean
    assert x.shape == (5, 10) and float(x.min()) >= -math.sqrt(3) - 1e-6
    assert float(noise.abs().max()) < 5  # N(0, 1) noise, nothing else
    assert float(x.abs().max()) <= math.sqrt(3) + 1e-6


def test_clusters_are_balanced_three_classes():
    x, y = capstone.clusters(300, seed=0)
    assert x.shape == (300, 4)
    assert torch.bincount(y).tolist() == [100, 100, 100]
    centres = torch.stack([x[y == k].mean(dim=0) for k in range(3)])
    assert torch.allclose(centres, 3 * torch.eye(4)[:3], atol=0.35)


@pytest.mark.parametrize("make", [capstone.drifts, capstone.friedman, capstone.clusters])
def test_data_reject_a_non_positive_size(make):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        make(0)


def test_regression_baseline_is_the_variance_of_the_training_targets():
    m = capstone.mystery("B")
    assert m.baseline == pytest.approx(float(torch.var(m.data.y, correction=0)), rel=1e-6)
    assert m.baseline == pytest.approx(1.0, rel=1e-5)  # standardized with its own statistics


# --- the convolutional net -----------------------------------------------------------------------


def test_conv_net_shapes_and_he_variance():
    model = capstone.conv_net(3, 16, 20, activation="relu", init="he", seed=0)
    assert model(torch.zeros(5, 1, 20)).shape == (5, 1)
    weights = model.block2.conv.weight.detach()
    assert float(weights.var()) == pytest.approx(2.0 / (16 * 3), rel=0.15)  # He: 2/fan_in
    assert float(model.block2.conv.bias.detach().abs().max()) == 0.0


def test_conv_net_default_init_is_pytorchs_and_seeded():
    a = capstone.conv_net(2, 4, 8, seed=1)
    b = capstone.conv_net(2, 4, 8, seed=1)
    bound = 1 / math.sqrt(4 * 3)
    assert torch.equal(a.block2.conv.weight, b.block2.conv.weight)
    assert float(a.block2.conv.weight.detach().abs().max()) <= bound


def test_conv_net_residual_block_adds_its_input():
    model = capstone.conv_net(2, 4, 8, activation="relu", residual=True, seed=0)
    h = torch.randn(3, 4, 8)
    block = model.block2
    assert torch.allclose(block(h), h + torch.relu(block.conv(h)))
    assert not model.block1.residual  # 1 -> 4 channels: no skip


def test_conv_net_rejects_unknown_init():
    with pytest.raises(ValueError, match="unknown init 'lecun'"):
        capstone.conv_net(2, 4, 8, init="lecun")


# --- the mysteries -------------------------------------------------------------------------------

CAUSE_WORDS = re.compile(r"vanish|explod|converge|learning rate|\blr\b|tiny|large init|small", re.I)


@pytest.mark.parametrize("name", capstone.MYSTERIES)
def test_what_the_learner_sees_does_not_give_the_cause_away(name):
    m = capstone.mystery(name)
    assert not CAUSE_WORDS.search(repr(m)), repr(m)
    assert m.losses is None


def test_mystery_validates_its_arguments():
    with pytest.raises(ValueError, match="unknown mystery 'Z'.*'A', 'B'"):
        capstone.mystery("Z")
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        capstone.mystery("A", seed=-1)
    assert capstone.mystery("a").name == "A"


def test_a_mystery_trains_once():
    m = capstone.mystery("B")
    losses = m.train()
    assert len(losses) == 2 and math.isinf(losses[-1])  # stops after the first overflow
    with pytest.raises(RuntimeError, match="already trained"):
        m.train()


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", capstone.MYSTERIES)
def test_each_mystery_gets_its_intended_diagnosis(name, seed):
    label, rule = EXPECTED[name]
    diagnosis = capstone.run(name, seed=seed).diagnosis
    assert diagnosis.label == label, str(diagnosis)
    if rule is not None:
        assert diagnosis.rule == rule, str(diagnosis)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_d_is_flat_with_usable_gradients_and_tiny_updates(seed):
    r = capstone.run("D", seed=seed)
    assert r.diagnosis.cause == "learning rate too small"
    assert r.evidence("layer_ratio") > THRESHOLDS["vanishing_ratio"].value
    assert r.evidence("update_max") < THRESHOLDS["tiny_update"].value
    assert r.recent_loss > 0.75 * r.baseline  # flat: far from the fitted level


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_e_vanishes_along_the_sequence(seed):
    m = capstone.run("E", seed=seed).trained
    profile = capstone.lag_profile(m, n=64)
    assert capstone.lag_decay(profile) < THRESHOLDS["vanishing_ratio"].value
    assert np.all(np.diff(np.log(profile.h[:10])) < 0)  # falls at every step back
    assert m.held_out() < 0.1  # R²: no better than the mean


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(INTENDED_FIX))
def test_each_intended_fix_repairs_its_mystery_on_five_seeds(name):
    # what confirm_repair checks in the notebook for A, for every mystery's intended fix; the
    # smallest margins are the fixes' own: B's repair reaches R² ≈ 0.6 against the target 0.5
    fix = INTENDED_FIX[name]
    comparison = capstone.Comparison(capstone.run(name), capstone.run(name, fix))
    assert comparison.improved
    confirmation = capstone.confirm_repair(comparison, FIVE_SEEDS, margin=REPAIR_MARGIN[name])
    assert [v.name for v in confirmation.verdicts] == [
        f"09.{name}-as-given",
        f"09.{name}-{fix}-loss",
        f"09.{name}-{fix}-held-out",
    ]


@pytest.mark.slow
def test_confirm_repair_fails_for_a_fix_that_does_not_repair():
    comparison = capstone.Comparison(capstone.run("A"), capstone.run("A", "xavier"))
    with pytest.raises(ClaimFailed, match="09.A-xavier-loss"):
        capstone.confirm_repair(comparison, seeds=[0])


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_c_needs_no_fix(seed):
    r = capstone.run("C", seed=seed)
    assert r.target_met and r.score >= 0.9
    assert r.recent_loss < 0.01 * r.baseline


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "fix", "why"),
    [
        ("A", "xavier", "the sigmoid's slope still shrinks the gradient"),
        ("A", "he_init", "He's scale does not make up for the sigmoid's slope"),
        ("B", "clip", "finite, but the weights stay too large"),
        ("B", "lower_lr", "the first forward pass already overflows"),
        ("B", "batch_norm", "the training loss falls, the held-out R² stays below 0"),
        ("B", "residual", "with weights this large the signal grows even faster"),
        ("E", "lstm", "the LSTM needs more than 300 steps"),
    ],
)
def test_fixes_the_hints_call_useless_do_not_repair_on_five_seeds(name, fix, why):
    for seed in FIVE_SEEDS:
        r = capstone.outcome(name, fix, seed)
        assert not r.target_met and r.target_margin >= 1.5, (seed, why)
        if (name, fix) == ("B", "clip"):
            assert not r.diverged and r.recent_loss > 100 * r.baseline
        if (name, fix) == ("B", "lower_lr"):
            assert r.diverged
        if (name, fix) == ("B", "batch_norm"):
            assert r.recent_loss < 0.5 * r.baseline and r.score < 0
        if (name, fix) == ("B", "residual"):
            assert r.diverged
            start = capstone.outcome(name, "none", seed).losses[0]
            assert r.losses[0] > 2 * start  # the first forward pass is larger still


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ACCEPTED_FIXES))
def test_every_check_verdict_holds_by_a_margin(name):
    # judge_fix trains seed 0 and answers "Correct" exactly for the fixes that reach the target;
    # each verdict must hold by a margin, or another machine could reverse it
    accepted = set()
    for fix in capstone.applicable_fixes(name):
        if fix == "none":
            continue
        r = capstone.run(name, fix)
        assert r.target_margin >= 1.15, (fix, r.target_margin)
        if r.target_met:
            accepted.add(fix)
    assert accepted == ACCEPTED_FIXES[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", capstone.MYSTERIES)
def test_the_notebooks_readings_are_far_from_their_band_edges(name):
    # notebook 09 prints these words for seed 0; a margin near 1 would let another machine print
    # another word (FIELD-NOTES: the four floating-point paths agree on seed 0 to a few percent)
    marks = capstone.readings(capstone.run(name))
    assert min(margin for _, margin in marks.values()) >= 1.3, marks
    assert marks["diagnosis"][0] == EXPECTED[name][0]


@pytest.mark.slow
def test_an_outcome_is_the_run_without_its_monitor():
    # the monitor only reads the training: the same losses to the last bit
    np.testing.assert_array_equal(capstone.outcome("D").losses, capstone.run("D").losses)
    assert capstone.outcome("D").score == capstone.run("D").score


@pytest.mark.slow
def test_the_learners_run_equals_the_cached_run():
    m = capstone.mystery("A")
    with GradientMonitor(m.model, forward_stats=True) as monitor:
        m.train(monitor)
    comparison = capstone.compare(m, monitor, "relu_he")
    cached = capstone.run("A")
    np.testing.assert_allclose(comparison.before.losses, cached.losses, rtol=1e-6)
    assert comparison.before.diagnosis.rule == cached.diagnosis.rule
    assert comparison.after is capstone.run("A", "relu_he")
    text = str(comparison)
    assert "held-out accuracy" in text and "not met" in text and text.rstrip().endswith("met")
    assert m.report().startswith("training loss at the last step 0.693 (baseline 0.693)")


def test_run_validates_name_fix_and_applicability():
    with pytest.raises(ValueError, match="unknown mystery"):
        capstone.run("F")
    with pytest.raises(ValueError, match="unknown fix 'he'"):
        capstone.run("A", "he")
    with pytest.raises(ValueError, match="'gru' does not apply to mystery A"):
        capstone.run("A", "gru")
    with pytest.raises(ValueError, match="'relu_he' does not apply to mystery E"):
        capstone.run("E", "relu_he")
    assert "gru" in capstone.applicable_fixes("E") and "gru" not in capstone.applicable_fixes("A")


def test_fixes_change_one_thing():
    recipe = capstone._RECIPES["D"]
    assert capstone._apply_fix("D", "raise_lr").lr == pytest.approx(100 * recipe.lr)
    assert capstone._apply_fix("D", "lower_lr").lr == pytest.approx(0.1 * recipe.lr)
    assert capstone._apply_fix("D", "clip").clip == capstone.CLIP_NORM
    he = capstone._apply_fix("B", "he_init")
    assert he.model == {**capstone._RECIPES["B"].model, "init": "he", "scale": None}
    assert capstone._apply_fix("C", "none") == capstone._RECIPES["C"]


def test_from_training_and_lag_profile_reject_wrong_input():
    with pytest.raises(ValueError, match="has not been trained"):
        capstone.Run.from_training(capstone.mystery("C"), None)
    with pytest.raises(TypeError, match="expected a Mystery"):
        capstone.Run.from_training("C", None)
    with pytest.raises(TypeError, match="recurrent mystery"):
        capstone.lag_profile(capstone.mystery("A"))
    with pytest.raises(ValueError, match="has not been trained"):
        capstone.mystery("C").report()


def test_held_out_score_is_nan_for_non_finite_outputs():
    m = capstone.mystery("D")
    with torch.no_grad():
        m.model.output.bias.fill_(float("inf"))
    assert math.isnan(m.held_out())


def test_typical_lag_is_three_quarters_of_the_sequence():
    assert capstone.typical_lag(30) == 22
    assert capstone.typical_lag(8) == 6


# --- readings: the evidence in words that hold on every machine ---------------------------------


@pytest.mark.parametrize(
    ("value", "word", "margin"),
    [
        (2e-5, "below", 25.0),  # the band "near 10⁻³" is [5e-4, 2e-3]
        (1.4e-3, "near", 2e-3 / 1.4e-3),
        (6e-4, "near", 1.2),
        (5e-3, "above", 2.5),
        (0.0, "below", math.inf),
        (math.nan, "n/a", math.inf),
    ],
)
def test_versus_places_a_value_against_a_threshold(value, word, margin):
    assert capstone.versus(value, 1e-3) == (word, pytest.approx(margin))


def test_versus_rejects_a_bad_threshold_or_band():
    with pytest.raises(ValueError, match="threshold must be a positive finite number"):
        capstone.versus(1.0, 0.0)
    with pytest.raises(ValueError, match="threshold must be a positive finite number"):
        capstone.versus(1.0, math.inf)
    with pytest.raises(ValueError, match="near must be a factor above 1"):
        capstone.versus(1.0, 1e-3, near=1.0)


@pytest.mark.parametrize(
    ("ratio", "word", "margin"),
    [
        (0.09, "between", 0.09 / 2e-3),
        (1e-4, "below 10⁻³", 5.0),
        (8e-4, "near 10⁻³", 1.6),
        (50.0, "near 70", 50 / 35),
        (280.0, "above 70", 2.0),
    ],
)
def test_the_first_last_ratio_is_read_against_both_thresholds(ratio, word, margin):
    assert capstone._ratio_reading(ratio) == (word, pytest.approx(margin))


@pytest.mark.parametrize(
    ("end", "word", "margin"),
    [
        (0.693, "within 10%", math.inf),
        (0.002, "below half", 250.0),
        (0.94, "within 10%", 0.1 / 0.06),
        (0.8, "fell", 0.9 / 0.8),
        (1.43, "rose", 1.3),
    ],
)
def test_the_loss_is_read_against_its_reference(end, word, margin):
    reference = 0.693 if end == 0.693 else 1.0
    ev = {"loss_end": end, "reference": reference}
    assert capstone._loss_reading(ev) == (word, pytest.approx(margin))


def test_the_first_loss_of_a_diverged_run_is_read_in_powers_of_ten():
    assert capstone._start_reading(3.52e5, 1.0) == ("over 10⁵ times", pytest.approx(1.76))
    assert capstone._start_reading(45.0, 1.5) == ("over 10¹ times", pytest.approx(1.5))
    assert capstone._start_reading(5.0, 1.0)[0] == "not far from"


@pytest.mark.parametrize(
    ("score", "metric", "word", "margin"),
    [
        (0.94, "accuracy", "reaches", 0.1 / 0.06),
        (0.635, "accuracy", "below", 3.65),
        (0.142, "R²", "below", 0.858 / 0.5),
        (-0.04, "R²", "below", 2.08),
        (math.nan, "R²", "n/a", math.inf),
    ],
)
def test_the_held_out_score_is_read_against_its_target(score, metric, word, margin):
    assert capstone._held_out_reading(score, metric) == (word, pytest.approx(margin))


def _outcome(loss, score, metric="accuracy", baseline=0.693):
    losses = np.full(20, loss)
    return capstone.Outcome("A", "none", 0, losses, score, metric, baseline)


def test_target_margin_says_by_how_much_a_verdict_holds():
    stalled = _outcome(0.693, 0.6)  # loss at the baseline (a factor of 2 off), error 0.4 (4x)
    assert not stalled.target_met and stalled.target_margin == pytest.approx(4.0)
    repaired = _outcome(0.00693, 0.98)  # loss 50x under half the baseline, error 5x under 0.1
    assert repaired.target_met and repaired.target_margin == pytest.approx(5.0)
    close = _outcome(0.3, 0.52, "R²", baseline=1.0)  # R² 0.52 against 0.5: 0.5 / 0.48
    assert close.target_met and close.target_margin == pytest.approx(0.5 / 0.48)
    diverged = _outcome(math.inf, math.nan)
    assert not diverged.target_met and diverged.target_margin == math.inf


def test_read_evidence_of_a_diverged_run_and_its_logged_margin(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("VG_CLAIMS_LOG", str(log))
    m = capstone.mystery("B")
    with GradientMonitor(m.model, forward_stats=True) as monitor:
        m.train(monitor)
    evidence = capstone.read_evidence(m, monitor)
    assert str(evidence).splitlines() == [
        'Mystery B (seed 0) against diagnose\'s thresholds ("near": within a factor of 2):',
        "  diagnosis  EXPLODING (cause: numerical overflow)",
        "  loss       NaN/inf from step 1; at step 0, before any update, over 10⁵ times the "
        "baseline 1",
        "  held-out   R² n/a: the run diverged",
    ]
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["claim"] == "09.evidence-B" and entry["margin"] == pytest.approx(evidence.margin)
    assert 1.5 < evidence.margin < 2  # the first loss, 3.5e5 times the baseline, against 2e5


def test_readings_of_a_stalled_run_from_a_fake_monitor():
    steps, layers = 40, 3
    monitor = SimpleNamespace(
        losses=np.full(steps, 0.693),
        grad_norms=np.tile([2e-6, 1e-5, 2e-5], (steps, 1)),
        update_ratios=np.full((steps, layers), 3e-6),
    )
    diagnosis = diagnose(monitor, baseline=0.693)
    r = capstone.Run("A", "none", 0, monitor.losses, 0.6, "accuracy", 0.693, diagnosis)
    words = {key: word for key, (word, _) in capstone.readings(r).items()}
    assert words == {
        "diagnosis": "vanishing",
        "loss": "within 10%",
        "gradient": "below",
        "first_layer": "below",
        "ratio": "between",
        "update": "below",
        "held_out": "below",
    }


def test_confirm_repair_names_its_seeds_and_rejects_none():
    assert capstone._seeds_text([0, 1, 2, 3, 4]) == "seeds 0–4"
    assert capstone._seeds_text([0, 2]) == "seeds 0, 2"
    comparison = capstone.Comparison(capstone.run("B"), capstone.run("B", "lower_lr"))
    with pytest.raises(ValueError, match="seeds is empty"):
        capstone.confirm_repair(comparison, seeds=[])
    with pytest.raises(ClaimFailed, match="09.B-lower_lr-loss"):  # diverged: no repair
        capstone.confirm_repair(comparison, seeds=[0])


# --- the checks' answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("B", "Exploding gradients"),
        ("B", "exploding-gradient"),
        ("C", "  converged. "),
        ("C", "nothing wrong"),
        ("D", "Learning rate too small"),
        ("D", "low LR"),
        ("E", "vanishing gradients through time"),
        ("A", "VANISHING_GRADIENTS"),
    ],
)
def test_causes_are_accepted_in_several_phrasings(name, answer):
    assert nb09.judge_cause(name, answer).correct


def test_every_broken_mystery_has_a_hint_for_fixes_that_fail():
    broken = {name for name, cause in capstone.ANSWERS.items() if cause != "converged"}
    assert set(nb09.WHAT_A_REPAIR_CHANGES) == broken
    assert {name for name, _ in nb09.FIX_HINTS} <= broken


def test_fix_answers_of_the_wrong_kind_get_a_hint_without_training():
    assert "as a string" in nb09.judge_fix("B", 3).message
    assert "not on the menu" in nb09.judge_fix("B", "dropout").message
    assert "does not fit" in nb09.judge_fix("A", "lstm").message
    assert "shown above" in nb09.judge_fix("A", "ReLU", exclude=("relu_he",)).message


def test_the_named_causes_are_understood():
    for key, text in capstone.CAUSES.items():
        assert nb09.classify_cause(text) == key
    assert set(capstone.ANSWERS.values()) <= set(capstone.CAUSES)


@pytest.mark.slow
def test_a_wrong_cause_gets_a_hint_with_the_runs_own_numbers():
    feedback = nb09.judge_cause("D", "vanishing")
    assert not feedback.correct
    ratio = capstone.run("D").evidence("layer_ratio")
    assert f"{ratio:.1e}" in feedback.message
    assert capstone.format_threshold("vanishing_ratio") in feedback.message
    healthy = nb09.judge_cause("C", "healthy")
    assert not healthy.correct and "done" in healthy.message
    unknown = nb09.judge_cause("B", "bad luck")
    assert "not one of the causes" in unknown.message


@pytest.mark.slow
def test_fix_answers_are_normalized_and_judged_by_training():
    assert nb09.normalize_fix("He") == "he_init"
    assert nb09.normalize_fix("Batch Norm") == "batch_norm"
    assert nb09.check_mystery_b(("exploding", "He")).correct  # a (cause, fix) pair unpacks
    clipped = nb09.check_mystery_b("exploding", "clip")
    assert not clipped.correct and "symptom" in clipped.message
    assert not nb09.check_mystery_c("converged", "relu_he").correct
    assert nb09.check_mystery_c("converged", "stop").correct
    assert "does not fit" in nb09.check_mystery_e("vanishing", "batch_norm").message
    half = nb09.check_mystery_d("learning rate too small")
    assert not half.correct and "second ..." in half.message


# --- the checklist -------------------------------------------------------------------------------

_SUPERSCRIPT_DIGITS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def parse_threshold(text: str) -> float:
    """Inverse of capstone.format_threshold: '10⁻³' -> 1e-3, '70%' -> 0.7, '1000' -> 1000."""
    if text.endswith("%"):
        return float(text[:-1]) / 100
    if text.startswith("10") and text[2:3] in ("⁻", "⁰", "¹", "²", "³"):
        return 10.0 ** int(text[2:].translate(_SUPERSCRIPT_DIGITS))
    return float(text)


def test_checklist_quotes_every_threshold_diagnose_applies():
    quoted = set(capstone.CHECKLIST_THRESHOLDS)
    assert quoted == set(THRESHOLDS) - set(capstone.NOT_QUOTED), "update the checklist"
    text = capstone.checklist_markdown()
    for key in quoted:
        printed = capstone.format_threshold(key)
        assert printed in text, key
        assert parse_threshold(printed) == pytest.approx(THRESHOLDS[key].value, rel=1e-12), key
        assert THRESHOLDS[key].source in text, key
    for name in ("sigmoid", "tanh"):
        assert f"±{saturation_threshold(name):g}" in text


@pytest.mark.parametrize(
    ("key", "printed"),
    [("vanishing_ratio", "10⁻³"), ("exploding_ratio", "70"), ("dead_fraction", "70%")],
)
def test_format_threshold(key, printed):
    assert capstone.format_threshold(key) == printed


def test_checklist_has_one_row_per_symptom():
    rows = [line for line in capstone.checklist_markdown().splitlines() if line.startswith("| ")]
    symptoms = [row.split(" | ")[0].lstrip("| ") for row in rows[1:]]
    assert len(symptoms) == 7 and all(row.count(" | ") == 3 for row in rows)
    for words in ("near the baseline", "far below", "NaN", "slowly", "dead ReLU", "RNN"):
        assert any(words in s for s in symptoms), words


def test_docs_checklist_is_the_generated_one():
    path = ROOT / "docs" / "checklist.md"
    assert path.read_text() == capstone.checklist_document(), (
        'regenerate: python -c "from helpers.capstone import checklist_document; '
        "open('docs/checklist.md', 'w').write(checklist_document())\""
    )


def test_notebook_ends_with_the_same_checklist():
    nb = json.loads(NOTEBOOK.read_text())
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    expected = capstone.checklist_markdown().strip()
    assert expected in [text.strip() for text in markdown], "rebuild notebook 09's checklist cell"
    position = [text.strip() for text in markdown].index(expected)
    assert all(not text.startswith("## ") or "Summary" in text or "reading" in text
               for text in markdown[position + 1:])  # fmt: skip
