"""helpers.reproductions: the He, Glorot & Bengio and Schoenholz et al. reproductions of
notebook 06, and the side-by-side training they run on."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from helpers import reproductions
from helpers.models import mlp, toy_regression

# --- He et al. (2015) ----------------------------------------------------------------------------


@pytest.mark.slow
def test_he_reproduction_xavier_stalls_he_trains():
    # The claims notebook 06 checks, on its runs (seeds 0-4, 150 steps). Measured on four
    # floating-point paths: Xavier within 0.8% of the baseline, He at most 0.29 of it, He's
    # held-out MSE at most 0.67 of the held-out baseline.
    runs = reproductions.he_reproduction()
    xavier, he = runs["xavier"], runs["he"]
    assert xavier.losses.shape == (5, 150) and he.weight_grad.shape == (5, 31)
    assert np.all(np.abs(xavier.losses[:, -1] / xavier.baseline - 1) < 0.02)  # at the mean
    assert np.all(xavier.losses[:, -1] > 0.97 * xavier.losses[:, 0])  # where it began
    assert np.all(he.losses[:, -1] < 0.5 * he.baseline)
    assert np.all(he.test_loss < he.test_baseline)


# --- Glorot & Bengio (2010) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def glorot():
    return reproductions.glorot_reproduction(width=64, seeds=(0, 1), jacobian_examples=2)


def test_glorot_standard_init_shrinks_backprop_variance_about_threefold(glorot):
    standard = glorot["standard"].backward_variance_factor()
    normalized = glorot["normalized"].backward_variance_factor()
    assert np.all((standard > 0.2) & (standard < 0.36))  # theory ≤ 1/3: n·Var[W]·E[tanh'²]
    assert np.all(normalized > 1.8 * standard)


def test_glorot_weight_gradients_do_not_shrink_with_standard_init(glorot):
    # their Figure 8: "the weight gradients do not!"
    for row in glorot["standard"].weight_grad:
        assert row.max() / row.min() < 1.5


def test_glorot_layer_jacobian_singular_values(glorot):
    assert 0.4 < glorot["standard"].jacobian.mean() < 0.55  # paper: about 0.5
    assert 0.6 < glorot["normalized"].jacobian.mean() < 0.85  # paper: about 0.8


# --- Schoenholz et al. (2017) --------------------------------------------------------------------


@given(st.floats(min_value=0.05, max_value=0.98))
def test_depth_scale_without_bias_is_minus_one_over_log_sigma_w2(s2):
    assert reproductions.depth_scale(s2) == pytest.approx(-1 / math.log(s2), rel=1e-9)


def test_depth_scale_diverges_at_the_critical_point_and_is_finite_in_chaos():
    assert reproductions.depth_scale(1.0) == math.inf
    assert 5 < reproductions.depth_scale(4.0) < 20 and reproductions.depth_scale(
        2.0
    ) > reproductions.depth_scale(4.0)


def test_trainability_map_small():
    result = reproductions.trainability_map([0.3, 0.9], [2, 16], steps=30)
    assert result.loss.shape == (2, 2)
    assert result.loss[1, 0] > 0.95  # 16 layers ≫ 6ξ = 5 at σ_w² = 0.3: nothing learned
    assert result.loss[0, 0] < 0.8 and result.loss[1, 1] < 0.8  # shallow, or near-critical
    np.testing.assert_array_equal(reproductions.deepest_trainable(result), [2, 16])


def test_train_lowers_the_loss():
    model = mlp(2, 16, activation="tanh", init="xavier", seed=0)
    x, y = toy_regression(128)
    losses = reproductions.train(model, x, y, steps=50, lr=0.05)
    assert losses.shape == (50,) and losses[-1] < 0.7 * losses[0]
    adam = reproductions.train(
        mlp(2, 16, activation="tanh", seed=0), x, y, steps=50, lr=0.01, optimizer="adam"
    )
    assert adam[-1] < adam[0]


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: reproductions.depth_scale(0.0), ValueError, "sigma_w2"),
        (
            lambda: reproductions.train(nn.Linear(1, 1), 0, 0, steps=1, lr=0.1, optimizer="rms"),
            ValueError,
            "sgd",
        ),
        (lambda: reproductions.train(nn.Linear(1, 1), 0, 0, steps=0, lr=0.1), ValueError, "steps"),
        (lambda: reproductions.deepest_trainable(None, threshold=0), ValueError, "threshold"),
    ],
)
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
