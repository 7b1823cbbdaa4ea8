"""helpers.dead_units: exact counts on hand-built layers, the zero-gradient mechanism that makes a
dead ReLU unit stay dead, and the two measured causes (depth at init, large learning rates)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import data, training
from helpers import dead_units as D
from helpers.data import toy_regression
from helpers.models import mlp


def layer_with_one_dead_unit(act: nn.Module) -> nn.Sequential:
    """4 units on 2 inputs: unit 0 has zero weights and bias −1 (z = −1 for every input); the
    others have bias +5 and small weights, so they are active for every input used below."""
    linear = nn.Linear(2, 4)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1]]))
        linear.bias.copy_(torch.tensor([-1.0, 5.0, 5.0, 5.0]))
    return nn.Sequential(linear, act, nn.Linear(4, 1))


X = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    ("act", "dead", "slope"),
    [
        (nn.ReLU(), 0.25, 0.0),
        (nn.LeakyReLU(0.01), 0.0, 0.01),
        (nn.ELU(alpha=1.0), 0.0, math.exp(-1.0)),  # elu'(−1) = α·e^(−1)
    ],
)
def test_counts_on_a_hand_built_layer(act, dead, slope):
    activity = D.unit_activity(layer_with_one_dead_unit(act), X)
    assert activity.dead.tolist() == [dead]
    assert activity.inactive.tolist() == [0.25]  # the same unit, whatever the activation
    assert activity.slope[0] == pytest.approx(slope, rel=1e-12)


def test_no_inactive_unit_gives_nan_slope():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.fill_(1.0)
    activity = D.unit_activity(model, X)
    assert activity.inactive.tolist() == [0.0] and math.isnan(activity.slope[0])


def test_a_dead_relu_unit_gets_exactly_zero_gradient_a_leaky_one_does_not():
    for act, zero in ((nn.ReLU(), True), (nn.LeakyReLU(0.01), False)):
        model = layer_with_one_dead_unit(act)
        model(X).pow(2).mean().backward()
        w_grad, b_grad = model[0].weight.grad[0], model[0].bias.grad[0]
        assert (float(w_grad.abs().sum() + b_grad.abs()) == 0.0) == zero


def test_dead_matches_the_monitor_definition():
    from helpers.monitor import forward_profile

    model = mlp(10, 16, activation="relu", init="default", seed=3)
    x, _ = toy_regression(256)
    np.testing.assert_array_equal(
        D.unit_activity(model, x).dead, forward_profile(model, x).dead_fraction
    )
    activity = D.unit_activity(model, x)
    assert np.all(activity.dead == activity.inactive)  # for ReLU, dead ⇔ z ≤ 0 everywhere
    assert activity.names == [f"act{i}" for i in range(1, 11)]
    assert activity.kinds == ["relu"] * 10


def test_counting_leaves_no_hooks_behind():
    model = mlp(3, 8, activation="relu", seed=0)
    D.unit_activity(model, X)
    assert all(not m._forward_hooks for m in model.modules())


# --- causes --------------------------------------------------------------------------------------


def test_first_layer_is_never_dead_with_zero_bias():
    # z = w·x with x Gaussian in 2-D: w·x ≤ 0 for every x would need w = 0.
    profile = D.dead_profile_at_init(4, "he", seeds=(0, 1))
    assert np.all(profile[:, 0] == 0.0)


def test_deep_narrow_relu_nets_are_born_with_dead_units_default_init_more():
    default = D.dead_profile_at_init(20, "default", seeds=(0, 1, 2))
    he = D.dead_profile_at_init(20, "he", seeds=(0, 1, 2))
    assert default.shape == (3, 20)
    # measured over seeds 0-4: default 0.41-0.45, He 0.20-0.27 (mean over layers)
    assert default.mean() > he.mean() + 0.1
    assert he[:, 10:].mean() > 0.15  # even He's deep layers lose units (Lu et al. 2019)
    assert he[:, 10:].mean() > he[:, :3].mean()  # more dead with depth


@pytest.mark.slow
def test_a_large_learning_rate_kills_relu_units_and_they_stay_dead():
    small = D.dying_run("relu", "he", 1e-3, steps=60, seeds=(0, 1))
    large = D.dying_run("relu", "he", 0.1, steps=60, recovery_steps=40, seeds=(0, 1))
    assert np.all(small.dead_after < 0.3)
    assert np.all(large.dead_after > 0.5)  # measured 0.71-0.74 after 100 steps
    assert np.all(large.dead_recovered >= large.dead_after - 0.02)  # zero gradient: no way back
    leaky = D.dying_run("leaky_relu", "he", 0.1, steps=60, seeds=(0, 1))
    assert np.all(leaky.dead_after == 0.0) and np.all(leaky.inactive_after > 0.3)
    assert math.isnan(leaky.dead_recovered[0])


def test_dying_table_shows_mean_and_range_over_seeds():
    nan = np.full(2, np.nan)
    dead_after = np.array([0.7, 0.8])
    run = D.DyingRun(
        "relu", "he", 0.1, np.array([0.1, 0.2]), dead_after, dead_after, np.zeros(2),
        nan, nan, np.array([0.3, 0.25]), nan, 0.26,
    )  # fmt: skip
    header, row = D.dying_table([run]).splitlines()
    assert header.split()[:3] == ["activation", "init", "lr"]
    assert row.split()[:3] == ["relu", "he", "0.1"]
    assert row.count("0.75 (0.70–0.80)") == 2 and "0.15 (0.10–0.20)" in row
    assert row.endswith("–")  # no recovery phase: not measured


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: D.unit_activity("model", X), TypeError, "nn.Module"),
        (lambda: D.unit_activity(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), X), ValueError, "ReLU"),
        (lambda: D.dying_run("relu", "he", 0.0), ValueError, "lr"),
        (lambda: D.dying_run("relu", "he", 0.1, steps=0), ValueError, "steps"),
        (lambda: D.dying_run("relu", "he", 0.1, recovery_steps=-1), ValueError, "recovery_steps"),
        (lambda: D.dying_run("relu", "kaiming", 0.1), ValueError, "valid names"),
    ],
)
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_dying_runs_train_each_network_as_the_course_loop_would():
    """Each network trains as helpers.training.train trains it alone (up to float rounding)."""
    run = D.dying_run("relu", "he", 0.1, steps=20, seeds=(3,))
    x, y = data.toy_regression(256, seed=0)
    x_test, y_test = data.toy_regression(1024, seed=1)
    model = mlp(6, 32, activation="relu", init="he", seed=3)
    training.train(model, (x, y), steps=20, lr=0.1, optimizer="adam", loss="mse")
    assert run.dead_after[0] == pytest.approx(D.unit_activity(model, x_test).dead.mean(), abs=0.011)
    with torch.no_grad():
        test = float(nn.functional.mse_loss(model(x_test), y_test))
    assert run.test_after[0] == pytest.approx(test, rel=1e-3)
    assert run.baseline == pytest.approx(float(torch.mean((y_test - y.mean()) ** 2)))
