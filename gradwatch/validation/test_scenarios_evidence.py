"""Independent evidence, in plain torch, that every validation run behaves as its label says.

Each scenario runs with :class:`LossLog`, a stand-in monitor that only keeps the losses (gradwatch
is not imported). The checks read the loss curve against the scenario's baseline and, where the
label is a claim about a cause, rerun the scenario with that one cause changed:

- vanishing: the loss stays at the baseline, and the same run with the gradient-flow fix (init,
  activation, normalisation, a short lag) falls well below it;
- exploding: the loss reaches NaN/inf or 10× its start, and the fixed run stays finite and learns;
- converged: the loss is flat over its last 40%, a run twice as long gains almost nothing, and it
  sits at a known floor (noise, entropy) or the same net learns when the cause (shuffled labels,
  too few units) is removed;
- healthy: the loss is still falling over its last 20%, and a run twice as long ends lower;
- insufficient evidence: 40 steps, i.e. 4 rows at the default every=10.

Every check runs at seeds 0, 1 and 2 (each scenario's own seed is 0).
"""

import numpy as np
import pytest
import torch

from .scenarios import BY_NAME, SCENARIOS
from .scenarios_language import Names, name_stream
from .scenarios_sequence import noise_floor

SEEDS = [0, 1, 2]


class LossLog:
    """A stand-in monitor: stores each step's loss; accepts ``record(loss, scaler=None)``."""

    def __init__(self, model):
        self.model = model
        self.losses = []

    def record(self, loss, scaler=None):
        if torch.is_tensor(loss):
            loss = loss.detach().float().item()
        self.losses.append(float(loss))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def run(name, **kwargs):
    """Run a scenario with the stand-in monitor: (losses / baseline as an array, baseline)."""
    out = BY_NAME[name].function(LossLog, **kwargs)
    return np.asarray(out.monitor.losses) / out.baseline, out.baseline


def mean(losses, start, stop):
    """Mean of the losses between two fractions of the run."""
    n = len(losses)
    return float(np.mean(losses[int(start * n) : int(stop * n)]))


def final(losses, frac=0.2):
    return mean(losses, 1 - frac, 1)


# -- the label's defining property, on the loss curve divided by the baseline --


def assert_stuck(r, tol=0.04):
    """Vanishing: the last 30% of the run is at the baseline (within ``tol``)."""
    assert abs(final(r, 0.3) - 1) < tol, f"not at the baseline: {final(r, 0.3):.3f}"


def assert_learns(r, below=0.8):
    """The fixed run's last 20% is well below the baseline."""
    assert final(r) < below, f"the fixed run does not learn: {final(r):.3f}"


def assert_exploded(r):
    finite = r[np.isfinite(r)]
    assert not np.all(np.isfinite(r)) or finite.max() > 10 * r[0], "no blow-up"


def assert_finite_and_learns(r, below=1.0):
    assert np.all(np.isfinite(r)) and r.max() < 10 * r[0], "the fixed run blows up too"
    assert final(r) < below, f"the fixed run does not learn: {final(r):.3f}"


def assert_flat(r, tol=0.03):
    """Converged: the last 20% is within ``tol`` (of the baseline) of the 20% before it."""
    a, b = mean(r, 0.6, 0.8), mean(r, 0.8, 1.0)
    assert abs(a - b) < tol, f"still moving: {a:.3f} → {b:.3f}"


def assert_longer_gains_little(name, r, seed, tol=0.03, **kw):
    steps = len(r)
    longer, _ = run(name, seed=seed, steps=2 * steps, **kw)
    gain = final(r) - final(longer)
    assert gain < tol, f"twice the steps still gains {gain:.3f} of the baseline"


def assert_falling(r, rel=0.02):
    """Healthy: the last 10% is at least ``rel`` lower than the 70–80% window."""
    a, b = mean(r, 0.7, 0.8), mean(r, 0.9, 1.0)
    assert b < (1 - rel) * a, f"not falling at the end: {a:.4f} → {b:.4f}"


def assert_longer_is_lower(name, r, seed, rel=0.05, **kw):
    longer, _ = run(name, seed=seed, steps=2 * len(r), **kw)
    assert final(longer) < (1 - rel) * final(r), "a longer run does not improve: not cut short"


# -- one check per scenario --


def vanishing(fix):
    def check(name, seed):
        r, _ = run(name, seed=seed)
        assert_stuck(r)
        assert_learns(run(name, seed=seed, **fix)[0])

    return check


def exploding(fix, below=1.0):
    def check(name, seed):
        r, _ = run(name, seed=seed)
        assert_exploded(r)
        assert_finite_and_learns(run(name, seed=seed, **fix)[0], below)

    return check


def healthy(rel=0.02):
    def check(name, seed):
        r, _ = run(name, seed=seed)
        assert final(r) < 0.97, "it has not started learning"
        assert_falling(r, rel)
        assert_longer_is_lower(name, r, seed)

    return check


def check_rnn_long_lag(name, seed):
    r, _ = run(name, seed=seed)
    assert_stuck(r)
    assert_learns(run(name, seed=seed, length=5)[0], 0.3)  # the same RNN, a 5-step lag
    assert_learns(run("lstm_long_lag", seed=seed)[0], 0.4)  # an LSTM, the same 60-step lag


def check_shuffled(name, seed):
    r, _ = run(name, seed=seed)
    assert abs(final(r, 0.5) - 1) < 0.03  # at the baseline over the whole second half
    assert_flat(r, 0.02)
    assert_learns(run(name, seed=seed, shuffle=False)[0], 0.6)  # gradients flow: true labels fit


def check_noise_floor(name, seed):
    r, baseline = run(name, seed=seed)
    floor = 0.25 / baseline
    assert_flat(r)
    assert abs(final(r, 0.4) / floor - 1) < 0.15, f"{final(r, 0.4):.3f} vs floor {floor:.3f}"
    assert_longer_gains_little(name, r, seed)


def check_spiral(name, seed):
    r, _ = run(name, seed=seed)
    assert 0.3 < final(r) < 0.9  # a partial fit
    assert_flat(r, 0.02)
    assert_longer_gains_little(name, r, seed, tol=0.03)
    assert_learns(run(name, seed=seed, hidden=64)[0], 0.1)  # capacity was the limit


def check_scaled_down(name, seed):
    r, baseline = run(name, seed=seed)
    floor = 1e-4 * 0.25 / baseline
    assert_flat(r)
    assert abs(final(r, 0.4) / floor - 1) < 0.15
    unscaled, _ = run(name, seed=seed, weight=1.0)  # Adam: the same run up to the scale
    assert abs(final(r) / final(unscaled) - 1) < 0.1


def check_frozen(name, seed):
    r, _ = run(name, seed=seed)
    assert final(r) < 0.8  # the head learned something
    assert_flat(r, 0.03)
    assert_longer_gains_little(name, r, seed, tol=0.04)


def floor_check(floor_of, rel):
    def check(name, seed):
        r, baseline = run(name, seed=seed)
        floor = floor_of() / baseline
        assert_flat(r, 0.04)
        assert abs(final(r, 0.4) / floor - 1) < rel, f"{final(r, 0.4):.3f} vs floor {floor:.3f}"

    return check


def _chain_floor():
    x, y = Names().examples()
    return Names().floor(x, y)


def check_lr_small(name, seed):
    r, _ = run(name, seed=seed)
    assert_falling(r, 0.02)
    assert_longer_is_lower(name, r, seed)
    fast, _ = run(name, seed=seed, lr=0.3)  # the intended rate: the gradients were fine
    assert final(fast) < final(r) - 0.25


def check_scaled_up(name, seed):
    r, _ = run(name, seed=seed)
    assert_falling(r)
    assert_longer_is_lower(name, r, seed)
    unscaled, _ = run(name, seed=seed, weight=1.0)
    assert abs(final(r) / final(unscaled) - 1) < 0.05  # Adam ignores the scale


def check_short(failing):
    def check(name, seed):
        r, _ = run(name, seed=seed)
        assert len(r) == 40  # 4 rows at every=10: fewer than 10
        if failing:
            assert abs(mean(r, 0.5, 1) - 1) < 0.08
        else:
            assert mean(r, 0.75, 1) < 0.85 * mean(r, 0, 0.25)

    return check


CHECKS = {
    "tanh_mlp_tiny_init": vanishing({"init": "xavier"}),
    "relu_mlp_dead_units": vanishing({"bias": 0.0}),
    "sigmoid_mlp_shared_activation": vanishing({"act": "relu"}),
    "relu_mlp_default_init_deep": vanishing({"init": "he"}),
    "moduledict_head_first": vanishing({"init": "xavier"}),
    "sigmoid_mlp_float64": vanishing({"act": "relu"}),
    "fp16_sigmoid_deep": vanishing({"act": "relu"}),
    "sigmoid_cnn_deep": vanishing({"act": "bn_relu"}),
    "sigmoid_conv_autoencoder": vanishing({"act": "relu"}),
    "rnn_long_lag": check_rnn_long_lag,
    "makemore_deep_small_gain": vanishing({"gain": 5 / 3}),
    "mlp_lr_too_large": exploding({"lr": 0.01}),
    "randn_init_custom_layers": exploding({"init": "he"}),
    "sum_reduction_sgd": exploding({"reduction": "mean"}),
    "unscaled_features": exploding({"standardize": True}, below=0.5),
    "rnn_large_recurrent": exploding({"gain": 1.0}, below=1.01),
    "shuffled_labels": check_shuffled,
    "noise_floor_regression": check_noise_floor,
    "spiral_too_small": check_spiral,
    "loss_scaled_down": check_scaled_down,
    "frozen_backbone_head": check_frozen,
    "post_ln_transformer_sort": floor_check(lambda: noise_floor(0.1, 10), 0.15),
    "lstm_long_lag": floor_check(lambda: noise_floor(0.05, 4), 0.25),
    "makemore_mlp": floor_check(_chain_floor, 0.05),
    "tied_embedding_gpt": floor_check(lambda: name_stream()[3], 0.05),
    "lr_far_too_small": check_lr_small,
    "loss_scaled_up": check_scaled_up,
    "unused_module": healthy(),
    "weight_norm_mlp": healthy(),
    "gradient_accumulation": healthy(),
    "bn_cnn": healthy(),
    "conv_autoencoder": healthy(),
    "pre_ln_transformer_sort": healthy(),
    "bf16_autocast": healthy(),
    "fp16_grad_scaler": healthy(),
    "no_grad_backbone_head": healthy(),
    "short_sigmoid_run": check_short(failing=True),
    "short_healthy_run": check_short(failing=False),
}


def test_every_scenario_has_a_check_and_the_registry_is_well_formed():
    assert set(CHECKS) == set(BY_NAME)
    assert len(SCENARIOS) >= 24
    labels = [s.label for s in SCENARIOS]
    assert labels.count("insufficient evidence") == 2
    assert labels.count("vanishing") >= len(SCENARIOS) // 4
    for s in SCENARIOS:
        assert s.imitates and s.why and callable(s.function)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CHECKS))
def test_label_is_true_of_the_run(name, seed):
    CHECKS[name](name, seed)


def test_the_readme_table_lists_every_scenario_with_its_label():
    from pathlib import Path

    text = (Path(__file__).parent / "README.md").read_text()
    for s in SCENARIOS:
        assert f"`{s.name}`" in text and f"| {s.label} |" in text, s.name
        row = next(line for line in text.splitlines() if f"`{s.name}`" in line)
        assert f"| {s.label} |" in row, f"{s.name}: the README gives another label"
