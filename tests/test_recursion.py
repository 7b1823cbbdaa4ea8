"""helpers.recursion: the initialization rules, Gaussian expectations of each activation against
closed forms and Monte Carlo, and the variance recursion against closed forms and wide networks."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from helpers import recursion, signal
from helpers.activations import activation, derivative
from helpers.models import mlp

variances = st.floats(min_value=1e-3, max_value=50.0)


# --- the rules -----------------------------------------------------------------------------------


def test_weight_variance_rules():
    assert recursion.weight_variance("he", 256) == pytest.approx(2 / 256)
    assert recursion.weight_variance("default", 100) == pytest.approx(1 / 300)
    assert recursion.weight_variance("xavier", 100, 300) == pytest.approx(2 / 400)
    assert recursion.weight_variance("xavier", 64) == pytest.approx(1 / 64)  # square layer: 1/n
    assert recursion.weight_variance("lecun", 50) == pytest.approx(1 / 50)


def test_pytorch_default_linear_is_one_third_of_lecun_not_he():
    torch.manual_seed(0)
    layer = nn.Linear(400, 400)  # 160 000 weights: the sample variance is within ~0.5%
    measured = float(layer.weight.detach().double().var())
    assert measured == pytest.approx(recursion.weight_variance("default", 400), rel=0.02)
    assert measured == pytest.approx(recursion.weight_variance("he", 400) / 6, rel=0.02)
    bound = float(layer.weight.detach().abs().max())
    assert bound <= 1 / math.sqrt(400) and bound > 0.99 / math.sqrt(400)


def test_recommended_scale_is_torch_gain_except_selu():
    assert recursion.recommended_scale("relu") == pytest.approx(math.sqrt(2))
    assert recursion.recommended_scale("tanh") == pytest.approx(5 / 3)
    assert recursion.recommended_scale("selu") == 1.0
    assert nn.init.calculate_gain("selu") == 0.75  # torch's, which SELU's fixed point does not use


# --- Gaussian expectations -----------------------------------------------------------------------


@given(variances)
def test_relu_moments_closed_forms(q):
    assert recursion.second_moment("relu", q) == pytest.approx(q / 2, rel=1e-9)
    assert recursion.slope_second_moment("relu", q) == pytest.approx(0.5, rel=1e-9)
    assert recursion.mean_output("relu", q) == pytest.approx(math.sqrt(q / (2 * math.pi)), rel=1e-8)


@given(variances, st.floats(min_value=-3, max_value=3))
def test_linear_and_leaky_closed_forms(q, mean):
    assert recursion.second_moment("linear", q, mean) == pytest.approx(
        q + mean**2, rel=1e-9, abs=1e-12
    )
    assert recursion.second_moment("leaky_relu", q) == pytest.approx(
        (1 + 0.01**2) * q / 2, rel=1e-9
    )
    assert recursion.slope_second_moment("leaky_relu", q) == pytest.approx(
        (1 + 0.01**2) / 2, rel=1e-9
    )


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "gelu", "selu"])
def test_expectations_match_monte_carlo(name):
    rng = np.random.default_rng(0)
    z = rng.normal(0.3, 1.4, 400_000)
    # Monte Carlo standard error is about 0.2% here; 1% is a five-sigma margin.
    assert recursion.second_moment(name, 1.96, 0.3) == pytest.approx(
        np.mean(activation(name, z) ** 2), rel=0.01
    )
    assert recursion.slope_second_moment(name, 1.96, 0.3) == pytest.approx(
        np.mean(derivative(name, z) ** 2), rel=0.01
    )


def test_sigmoid_slope_moment_is_at_most_one_sixteenth():
    for q in (0.0, 0.01, 1.0, 10.0):
        assert recursion.slope_second_moment("sigmoid", q) <= 1 / 16 + 1e-12
    assert recursion.slope_second_moment("sigmoid", 0.0) == pytest.approx(1 / 16)
    assert recursion.slope_second_moment("tanh", 0.0) == pytest.approx(1.0)
    assert (
        recursion.slope_second_moment("tanh", 4.0) < 0.3
    )  # saturation: tanh's factor falls with scale


def test_selu_fixed_point_and_attraction():
    mean, var = recursion.mean_var_map("selu", 0.0, 1.0)
    assert abs(mean) < 1e-8 and var == pytest.approx(1.0, abs=1e-8)
    path = recursion.iterate_mean_var_map("selu", 0.5, 2.0, 30)
    assert path.shape == (31, 2)
    assert abs(path[-1, 0]) < 2e-3 and abs(path[-1, 1] - 1) < 2e-3
    # distance to (0, 1) shrinks at every step
    distance = np.hypot(path[:, 0], path[:, 1] - 1)
    assert np.all(np.diff(distance) < 0)


# --- the recursion -------------------------------------------------------------------------------


def test_recursion_relu_closed_form():
    he = recursion.variance_recursion("relu", 6, 2.0)
    np.testing.assert_allclose(he.q, 2.0)
    np.testing.assert_allclose(he.chi, 1.0)
    lecun = recursion.variance_recursion("relu", 6, 1.0)
    np.testing.assert_allclose(lecun.q, 0.5 ** np.arange(6))
    np.testing.assert_allclose(lecun.chi, 0.5)
    per_layer = recursion.variance_recursion("relu", 3, [1.0, 2.0, 4.0], input_second_moment=3.0)
    np.testing.assert_allclose(per_layer.q, [3.0, 3.0, 6.0])


@pytest.mark.parametrize(
    ("name", "init", "scale", "sigma_w2", "width"),
    [
        ("relu", "he", None, 2.0, 1024),
        ("relu", "xavier", None, 1.0, 1024),  # square layers: n·2/(2n) = 1
        ("tanh", "he", 1.0, 1.0, 256),
    ],
)
def test_recursion_predicts_a_wide_network(name, init, scale, sigma_w2, width):
    depth = 6
    x = torch.randn(64, width, generator=torch.Generator().manual_seed(1))
    # One network's per-layer gain fluctuates by ~√(2/width) around the mean-field value and, at
    # ReLU's marginal He point, the fluctuations compound with depth (measured: single networks of
    # width 1024 within ±16% at layer 6); the mean over four networks stays within 15%.
    measured = np.mean(
        [
            signal.layer_scales(
                mlp(
                    depth, width, in_features=width, activation=name, init=init, scale=scale, seed=s
                ),
                x,
            ).forward[:-1]
            ** 2
            for s in range(4)
        ],
        axis=0,
    )
    predicted = recursion.variance_recursion(name, depth, sigma_w2).q
    np.testing.assert_allclose(measured, predicted, rtol=0.15)


def test_geometric_rate():
    assert recursion.geometric_rate([8.0, 4.0, 2.0, 1.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="values"):
        recursion.geometric_rate([1.0])
    with pytest.raises(ValueError, match="> 0"):
        recursion.geometric_rate([1.0, 0.0])


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: recursion.weight_variance("glorot", 3), ValueError, "valid names are 'default'"),
        (lambda: recursion.weight_variance("he", 0), ValueError, "fan_in"),
        (lambda: recursion.second_moment("swish", 1.0), ValueError, "valid names"),
        (lambda: recursion.second_moment("relu", -1.0), ValueError, "var"),
        (lambda: recursion.mean_var_map("selu", "0", 1.0), TypeError, "mean"),
        (lambda: recursion.variance_recursion("relu", 0, 2.0), ValueError, "depth"),
        (lambda: recursion.variance_recursion("relu", 3, [1.0, -1.0, 1.0]), ValueError, "sigma_w2"),
    ],
)
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
