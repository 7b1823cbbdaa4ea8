"""find_plateau on constructed curves (closed forms), and every rule of diagnose on records built
to fire it. Records are plain objects with the monitor's attributes, so each rule is tested in
isolation; tests/test_runs.py checks the labels on real training runs."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import diagnose as D
from helpers.monitor import GradientMonitor

STEPS = 160  # diagnose's default window is then 160 // 8 = 20


# --- find_plateau: closed forms ----------------------------------------------------------------


def test_flat_curve_plateaus_at_once():
    assert D.find_plateau(np.full(50, 0.693), window=10) == 0


def exponential_knee(c, a, tau, n, window, rel_tol):
    """First i where c + a·exp(−t/τ), smoothed by an odd moving median (s_i = L[i + h]), comes
    within rel_tol·L[0] of its final smoothed value: a(e^(−(i+h)/τ) − e^(−(n−1−h)/τ)) ≤ tol."""
    h = (window - 1) // 2
    tol = rel_tol * (c + a)
    final = math.exp(-(n - 1 - h) / tau)
    # e^(−(i+h)/τ) ≤ tol/a + final  <=>  i ≥ −τ·ln(tol/a + final) − h
    return max(0, math.ceil(-tau * math.log(tol / a + final) - h - 1e-9))


@pytest.mark.parametrize("tau", [5.0, 12.0, 25.0])
def test_decay_then_flat_plateaus_where_the_remaining_fall_drops_below_tolerance(tau):
    n, window, rel_tol = 300, 9, 0.01
    t = np.arange(n)
    losses = 0.1 + 0.9 * np.exp(-t / tau)
    expected = exponential_knee(0.1, 0.9, tau, n, window, rel_tol)
    assert D.find_plateau(losses, window=window, rel_tol=rel_tol) == expected
    # about τ·ln(a / tol) steps: the point where the rest of the decay is worth 1% of the start
    assert expected == pytest.approx(tau * math.log(0.9 / 0.01) - 4, abs=1.5)


def test_still_falling_curve_has_no_plateau():
    losses = 1.0 - 0.004 * np.arange(200)  # falls 0.04 per window of 10, tolerance 0.01
    assert D.find_plateau(losses, window=10, rel_tol=0.01) is None


@settings(max_examples=200, deadline=None)
@given(
    slope=st.floats(1e-5, 5e-3),
    n=st.integers(40, 300),
    window=st.integers(1, 20),
    rel_tol=st.floats(1e-3, 0.05),
)
def test_linear_decline_plateaus_exactly_when_a_window_gains_less_than_tolerance(
    slope, n, window, rel_tol
):
    """L = 2 − s·t: the gap to the future minimum at i is s·(n − w − i), so the plateau starts at
    ceil(n − w − tol/s) and is kept iff it leaves w smoothed points, i.e. iff s·w ≤ tol."""
    assume(n >= 2 * window and slope * n < 1.0)
    tol = rel_tol * 2.0
    assume(abs(slope * window - tol) > 1e-6 * tol)
    assume(abs(tol / slope - round(tol / slope)) > 1e-6)  # not exactly on a step boundary
    losses = 2.0 - slope * np.arange(n)
    result = D.find_plateau(losses, window=window, rel_tol=rel_tol)
    if slope * window > tol:
        assert result is None
    else:
        assert result == max(0, math.ceil(n - window - tol / slope))


@settings(max_examples=50, deadline=None)
@given(scale=st.floats(1e-6, 1e6), seed=st.integers(0, 1000))
def test_answer_does_not_depend_on_the_loss_units(scale, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(120)
    losses = 0.2 + np.exp(-t / 15) + 0.01 * rng.standard_normal(t.size)
    assert D.find_plateau(losses * scale, window=10) == D.find_plateau(losses, window=10)


def test_noisy_decay_then_flat_finds_the_knee():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    clean = 0.1 + 0.9 * np.exp(-t / 20)
    knee = D.find_plateau(clean, window=15)
    for seed in range(5):
        noisy = clean + 0.02 * np.random.default_rng(seed).standard_normal(t.size)
        found = D.find_plateau(noisy, window=15)
        assert found is not None and 0.5 * knee <= found <= 1.5 * knee
    flat = 0.693 + 0.02 * rng.standard_normal(400)
    assert D.find_plateau(flat, window=15) <= 30


def test_noisy_but_still_falling_curve_has_no_plateau():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        losses = 1.0 - 0.004 * np.arange(200) + 0.02 * rng.standard_normal(200)
        assert D.find_plateau(losses, window=15) is None


def test_a_single_spike_does_not_hide_the_plateau():
    losses = np.full(100, 0.3)
    losses[60] = 5.0
    assert D.find_plateau(losses, window=10) == 0


def test_noise_level_estimates_sigma_and_ignores_trends():
    rng = np.random.default_rng(1)
    noise = rng.normal(0.0, 0.05, 20_000)
    assert D.noise_level(noise) == pytest.approx(0.05, rel=0.05)
    assert D.noise_level(3.0 - 0.01 * np.arange(100)) == pytest.approx(0.0, abs=1e-12)
    assert D.noise_level(np.array([1.0, 2.0])) == 0.0


def test_moving_median_matches_a_plain_loop():
    values = np.random.default_rng(2).standard_normal(37)
    expected = [np.median(values[i : i + 6]) for i in range(37 - 6 + 1)]
    np.testing.assert_allclose(D.moving_median(values, 6), expected)


@pytest.mark.parametrize(
    "losses, kwargs, error, match",
    [
        ([], {}, ValueError, "empty"),
        ([1.0, float("nan"), 0.5] * 10, {}, ValueError, "non-finite.*index 1"),
        ([1.0] * 20 + [float("inf")], {}, ValueError, "non-finite"),
        ([1.0] * 30, {"window": 0}, ValueError, "window"),
        ([1.0] * 30, {"window": 2.5}, TypeError, "window"),
        ([1.0] * 30, {"rel_tol": -0.1}, ValueError, "rel_tol"),
        ([1.0] * 15, {"window": 10}, ValueError, "at least 2·window = 20"),
        ([[1.0, 2.0]] * 20, {}, ValueError, "1-D"),
        (["a", "b"], {}, TypeError, "losses"),
    ],
)
def test_find_plateau_rejects_bad_input_naming_the_argument(losses, kwargs, error, match):
    with pytest.raises(error, match=match):
        D.find_plateau(losses, **kwargs)


# --- diagnose: one constructed record per rule ------------------------------------------------


def record(
    losses,
    grads,
    updates=None,
    *,
    dead=None,
    saturation=None,
    time=None,
):
    """A monitor-like object. grads: (layers,) constant per step, or a (steps, layers) array."""
    losses = np.asarray(losses, dtype=float)
    steps = losses.size
    grads = np.asarray(grads, dtype=float)
    if grads.ndim == 1:
        grads = np.tile(grads, (steps, 1))
    layers = grads.shape[1]
    if updates is None:
        updates = np.full(layers, 1e-3)
    updates = np.tile(np.asarray(updates, dtype=float), (steps, 1))
    updates[0] = np.nan
    monitor = SimpleNamespace(
        losses=losses,
        grad_norms=grads,
        update_ratios=updates,
        layer_names=[f"linear{i + 1}" for i in range(layers)],
    )
    if dead is not None or saturation is not None:
        n = len(dead if dead is not None else saturation)
        monitor.activation_names = [f"act{i + 1}" for i in range(n)]
        nan = np.full(n, np.nan)
        monitor.dead_fraction = np.tile(dead if dead is not None else nan, (steps, 1))
        monitor.saturation = np.tile(saturation if saturation is not None else nan, (steps, 1))
    if time is not None:
        monitor.time_names = [f"rnn{i + 1}" for i in range(len(time))]
        monitor.time_ratios = np.tile(np.asarray(time, dtype=float), (steps, 1))
    return monitor


T = np.arange(STEPS)
FLAT = np.full(STEPS, 0.693)
FALLING = 0.7 - 0.002 * T  # still improving at the end
CONVERGED = 0.05 + 0.65 * np.exp(-T / 10)  # plateaus 93% below its start
HEALTHY = [0.1, 0.2, 0.3]


def spiking_loss():
    # Recurrent nets with spectral radius > 1 spike like this, then settle high (Pascanu et al.).
    losses = np.full(STEPS, 1.1)
    losses[40:45] = [50.0, 900.0, 11_000.0, 300.0, 20.0]
    return losses


def growing_gradients():
    g = np.tile([0.1, 0.1, 0.1], (STEPS, 1))
    g[-40:] *= 1e4
    return g


CASES = {
    "non-finite": (record(np.r_[FALLING[:100], [np.nan] * 60], HEALTHY), "exploding"),
    "loss-spike": (record(spiking_loss(), HEALTHY), "exploding"),
    "layer-ratio-high": (record(FALLING, [50.0, 1.0, 0.5]), "exploding"),
    "gradient-growth": (record(FLAT, growing_gradients()), "exploding"),
    "layer-ratio": (record(FLAT, [1e-7, 1e-3, 1e-2]), "vanishing"),
    "still-improving": (record(FALLING, HEALTHY), "healthy"),
    "plateau-low": (record(CONVERGED, [1e-5, 1e-5, 2e-5]), "converged"),
    "dying-relu": (record(FLAT, [0.0, 0.0, 0.0], dead=[0.2, 0.85]), "vanishing"),
    "saturation": (record(FLAT, [3e-4, 2e-4, 3e-4], saturation=[0.95, 0.3]), "vanishing"),
    "all-small": (record(FLAT, [3e-6, 4e-6, 5e-6]), "vanishing"),
    "through-time": (record(FLAT, HEALTHY, time=[1e-9]), "vanishing"),
    "too-few-rows": (record(FLAT[:9], HEALTHY), "insufficient evidence"),
    "gradient-collapse": (
        record(FLAT, np.r_[np.tile([0.1, 0.2, 0.3], (20, 1)), np.tile([2e-3] * 3, (140, 1))]),
        "vanishing",
    ),
    "tiny-updates": (record(FLAT, HEALTHY, updates=[1e-6, 2e-6, 1e-6]), "healthy"),
    "plateau-high": (record(FLAT, HEALTHY), "converged"),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_fires_on_its_constructed_record(rule):
    monitor, label = CASES[rule]
    result = D.diagnose(monitor)
    assert (result.rule, result.label) == (rule, label)
    assert D.RULES[rule][0] == label


def test_every_rule_has_a_case_and_a_label_from_the_fixed_set():
    assert set(CASES) == set(D.RULES)
    assert {label for label, _ in D.RULES.values()} == set(D.OUTCOMES)
    assert D.LABELS == ("vanishing", "exploding", "converged", "healthy")
    assert D.OUTCOMES == (*D.LABELS, "insufficient evidence")


def test_every_threshold_states_its_meaning_and_source():
    for name, threshold in D.THRESHOLDS.items():
        assert threshold.value > 0, name
        assert len(threshold.meaning) > 20 and len(threshold.source) > 5, name
    assert D.THRESHOLDS["vanishing_ratio"].value == 1e-3  # AUTOTRAINER β1
    assert D.THRESHOLDS["tiny_gradient"].value == 1e-4  # β2
    assert D.THRESHOLDS["exploding_ratio"].value == 70  # β3
    assert D.THRESHOLDS["dead_fraction"].value == 0.7  # γ


def test_vanishing_and_converged_plateaus_are_told_apart_by_level_and_layers():
    """Same tiny gradients everywhere: at the starting level it is vanishing, far below it is
    convergence (small gradients are expected at a minimum)."""
    tiny = [2e-6, 3e-6, 4e-6]
    assert D.diagnose(record(FLAT, tiny)).label == "vanishing"
    assert D.diagnose(record(CONVERGED, tiny)).label == "converged"


def test_small_learning_rate_look_alike_is_not_vanishing():
    slow = 0.7 - 0.0005 * T  # falls 1.4% of the start per window of 20: still improving
    result = D.diagnose(record(slow, HEALTHY, updates=[2e-5, 3e-5, 2e-5]))
    assert (result.label, result.rule, result.cause) == (
        "healthy",
        "still-improving",
        "learning rate too small",
    )
    assert "not because gradients vanish" in str(result)


def test_vanishing_under_a_falling_loss_says_the_optimizer_hides_it():
    result = D.diagnose(record(CONVERGED, [1e-8, 1e-4, 1e-3], updates=[1e-6, 1e-3, 1e-3]))
    assert (result.label, result.rule) == ("vanishing", "layer-ratio")
    text = str(result)
    assert "Adam" in text and "hardly move" in text


def test_layer_ratio_needs_the_first_layer_to_be_tiny_too():
    """AUTOTRAINER's rule has two parts: a ratio < 1e-3 with a first layer >= 1e-4 is not it."""
    assert D.diagnose(record(FALLING, [2e-4, 0.5, 1.0])).label == "healthy"


def test_dead_units_while_still_improving_are_noted_not_labelled():
    result = D.diagnose(record(FALLING, HEALTHY, dead=[0.8, 0.1]))
    assert result.label == "healthy"
    assert any("dead" in note for note in result.notes)


def test_baseline_makes_a_run_that_fell_to_the_baseline_count_as_stalled():
    """Outputs wildly off at first (loss 5), then the output layer finds the mean (ln 2) and the
    loss stalls there: a 86% drop from the start, 0% from the baseline."""
    losses = np.r_[5.0, 3.0, 1.5, np.full(STEPS - 3, 0.693)]
    tiny = [1e-6, 2e-6, 3e-6]
    assert D.diagnose(record(losses, tiny)).label == "converged"
    assert D.diagnose(record(losses, tiny), baseline=math.log(2)).label == "vanishing"


def test_frozen_layers_recorded_as_nan_are_left_out():
    grads = np.tile([np.nan, 0.1, 0.2, 0.3], (STEPS, 1))
    result = D.diagnose(record(FALLING, grads))
    assert (result.label, result.rule) == ("healthy", "still-improving")
    assert len(result.evidence["grad_per_layer"]) == 3


def test_a_nan_gradient_with_finite_losses_is_exploding():
    grads = np.tile(HEALTHY, (STEPS, 1))
    grads[100:, 0] = np.nan
    result = D.diagnose(record(FALLING, grads))
    assert (result.label, result.evidence["nonfinite_step"]) == ("exploding", 100)


def test_report_prints_label_rule_numbers_and_fix():
    text = str(D.diagnose(CASES["all-small"][0]))
    lines = text.splitlines()
    assert (
        lines[0]
        == "Diagnosis: VANISHING  (rule: all-small; cause: no usable gradient in any layer)"
    )
    assert "first layer 3.0e-06, last layer 5.0e-06, first/last 6.0e-01" in text
    assert "0% below the reference 0.693" in text and "-0%" not in text
    assert any(line.startswith("Fix: ") for line in lines)


def test_evidence_numbers_are_the_medians_of_the_recent_window():
    grads = np.tile([1e-3, 1e-2, 1e-1], (STEPS, 1))
    grads[-20:, 0] = 1e-9  # the last window (160 // 8 = 20 steps)
    ev = D.diagnose(record(FLAT, grads)).evidence
    assert ev["window"] == 20
    assert ev["grad_first"] == pytest.approx(1e-9)
    assert ev["layer_ratio"] == pytest.approx(1e-8)
    assert ev["early_layer_ratio"] == pytest.approx(1e-2)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.integers(2, 80),
    layers=st.integers(1, 5),
    seed=st.integers(0, 10_000),
)
def test_any_finite_record_gets_one_of_the_outcomes(steps, layers, seed):
    rng = np.random.default_rng(seed)
    losses = np.abs(rng.standard_normal(steps)).cumsum()[::-1]
    grads = 10.0 ** rng.uniform(-12, 2, (steps, layers))
    grads[rng.random((steps, layers)) < 0.1] = 0.0
    updates = 10.0 ** rng.uniform(-9, -1, (steps, layers))
    monitor = SimpleNamespace(losses=losses, grad_norms=grads, update_ratios=updates)
    result = D.diagnose(monitor)
    assert result.label in D.OUTCOMES and result.rule in D.RULES
    assert result.label == D.RULES[result.rule][0]
    assert (result.label == "insufficient evidence") == (steps < D.MIN_ROWS)
    assert str(result).startswith("Diagnosis: ")


# --- diagnose: input checks --------------------------------------------------------------------


def test_diagnose_rejects_an_object_without_the_monitor_attributes():
    with pytest.raises(TypeError, match="monitor.*losses"):
        D.diagnose(object())
    with pytest.raises(TypeError, match="grad_norms"):
        D.diagnose(SimpleNamespace(losses=[1.0, 0.5]))


def test_a_short_record_is_insufficient_evidence_unless_it_diverged():
    short = record(FLAT[: D.MIN_ROWS - 1], [1e-9, 1.0])  # would look vanishing
    result = D.diagnose(short)
    assert (result.label, result.rule) == ("insufficient evidence", "too-few-rows")
    assert f"stored {D.MIN_ROWS - 1} measured step" in str(result)
    diverged = record([0.7, 5.0, np.inf], [[0.1, 0.2]] * 3)
    assert (D.diagnose(diverged).label, D.diagnose(diverged).rule) == ("exploding", "non-finite")
    enough = record(FLAT[: D.MIN_ROWS], [1e-9, 1.0])
    assert D.diagnose(enough).label == "vanishing"
    with pytest.raises(ValueError, match="recorded nothing yet"):
        D.diagnose(SimpleNamespace(losses=[], grad_norms=np.empty((0, 2)), update_ratios=[]))


def test_diagnose_rejects_arrays_of_different_lengths():
    monitor = record(FLAT, HEALTHY)
    monitor.grad_norms = monitor.grad_norms[:-1]
    with pytest.raises(ValueError, match="disagree"):
        D.diagnose(monitor)


def test_diagnose_rejects_all_frozen_layers():
    with pytest.raises(ValueError, match="no tracked layer ever had one"):
        D.diagnose(record(FLAT, np.full((STEPS, 2), np.nan)))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"baseline": -1.0}, ValueError, "baseline"),
        ({"baseline": float("nan")}, ValueError, "baseline"),
        ({"window": 0}, ValueError, "window"),
        ({"window": 100}, ValueError, "window=100 needs at least 200"),
    ],
)
def test_diagnose_rejects_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        D.diagnose(record(FLAT, HEALTHY), **kwargs)


# --- diagnose on a real monitor, on a model the helpers did not build -------------------------


class TwoPath(nn.Module):
    """A hand-written model (not helpers.models.mlp) with a frozen embedding-like first layer."""

    def __init__(self):
        super().__init__()
        self.frozen = nn.Linear(2, 8)
        self.frozen.requires_grad_(False)
        self.hidden = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(torch.tanh(self.frozen(x)))))


@pytest.fixture
def one_thread():
    """Small models train fastest on one thread (FIELD-NOTES); restore the count afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_diagnose_reads_a_real_monitor_from_a_plain_training_loop(one_thread):
    torch.manual_seed(0)
    model = TwoPath()
    x = torch.randn(64, 2)
    y = (x[:, :1] + x[:, 1:] > 0).float()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss_fn = nn.BCEWithLogitsLoss()
    with GradientMonitor(model, every=1) as monitor:
        for _ in range(60):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            monitor.record(loss)
            optimizer.step()
    result = D.diagnose(monitor, baseline=math.log(2))
    assert result.label == "healthy"  # still learning after 60 steps
    assert result.evidence["steps"] == 60
    assert len(result.evidence["grad_per_layer"]) == 2  # the frozen layer is left out


def test_a_loss_spike_below_ten_times_the_start_is_not_exploding():
    losses = spiking_loss()
    losses[40:45] = [2.0, 5.0, 9.0, 3.0, 1.5]  # peak 9 / 1.1 < 10x
    assert D.diagnose(record(losses, HEALTHY)).rule != "loss-spike"


@settings(max_examples=40, deadline=None)
@given(
    steps=st.integers(10, 80),
    layers=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    power=st.sampled_from([-13, -7, 7, 13]),
)
def test_multiplying_the_loss_by_a_constant_changes_no_label(steps, layers, seed, power):
    """A loss ×c makes every gradient ×c; c = 2^k keeps the floats exact. The label, the rule and
    every scale-free number stay the same (the issue: a loss ×1e-4 used to read as vanishing)."""
    rng = np.random.default_rng(seed)
    losses = np.abs(rng.standard_normal(steps)).cumsum()[::-1] + rng.uniform(0, 2)
    grads = 10.0 ** rng.uniform(-9, 1, (steps, layers))
    updates = 10.0 ** rng.uniform(-7, -1, (steps, layers))
    c = 2.0**power
    plain = SimpleNamespace(losses=losses, grad_norms=grads, update_ratios=updates)
    scaled = SimpleNamespace(losses=c * losses, grad_norms=c * grads, update_ratios=updates)
    baseline = float(losses[0])
    a, b = D.diagnose(plain, baseline=baseline), D.diagnose(scaled, baseline=c * baseline)
    assert (a.label, a.rule) == (b.label, b.rule)
