"""helpers.signal: per-layer forward and backward scales of a real network (notebook 06) and the
measurements notebook 07's mitigations stand on: the first/last gradient ratio, the spread of
a layer's inputs around batch norm, the gradient reaching each hidden representation."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import comparison, recursion, signal
from helpers.models import linear_layers, mlp, toy_regression
from helpers.monitor import gradient_profile

X, Y = toy_regression(64, seed=3)


# --- measuring a network -------------------------------------------------------------------------


def test_layer_scales_agree_with_gradient_profile_and_leave_the_model_alone():
    model = mlp(4, 16, activation="tanh", init="xavier", seed=0)
    x, y = toy_regression(64)
    before = [p.detach().clone() for p in model.parameters()]
    scales = signal.layer_scales(model, x, y)
    np.testing.assert_allclose(scales.weight_grad, gradient_profile(model, x, y), rtol=1e-5)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    # output layer: dL/dz = 2(ŷ − y)/N for the mean squared error
    with torch.no_grad():
        expected = (2 * (model(x) - y) / len(x)).pow(2).mean().sqrt()
    assert scales.backward[-1] == pytest.approx(float(expected), rel=1e-5)
    assert scales.names[-1] == "output" and len(scales.forward) == 5


def test_layer_scales_without_target_measure_only_forward():
    scales = signal.layer_scales(mlp(2, 8, seed=0), torch.ones(4, 2))
    assert np.all(np.isfinite(scales.forward)) and np.all(np.isnan(scales.backward))


def test_gradient_flow_shape_and_sigmoid_vanishing():
    relu = signal.gradient_flow(
        "relu", 20, width=32, scale=recursion.recommended_scale("relu"), seeds=(0, 1)
    )
    sigmoid = signal.gradient_flow("sigmoid", 20, width=32, scale=1.0, seeds=(0, 1))
    assert relu.shape == (2, 21)
    assert np.all(relu[:, 0] / relu[:, -2] > 1e-2)  # ReLU at its gain: first layer alive
    assert np.all(sigmoid[:, 0] / sigmoid[:, -2] < 1e-8)  # sigmoid: vanished


# --- He et al. (2015): the mechanism, measured at initialization ---------------------------------


@pytest.fixture(scope="module")
def thirty_layer_relu():
    x, y = toy_regression(256)
    out = {}
    for init in ("xavier", "he"):
        out[init] = [
            signal.layer_scales(mlp(30, 32, activation="relu", init=init, seed=s), x, y)
            for s in range(3)
        ]
    return out


def test_he_keeps_every_layer_gradient_within_two_orders_of_magnitude(thirty_layer_relu):
    for scales in thirty_layer_relu["he"]:
        spread = scales.weight_grad.max() / scales.weight_grad.min()
        assert spread < 100  # measured 5-34 over seeds 0-4


def test_xavier_gradients_are_over_a_thousandfold_below_he_at_every_layer(thirty_layer_relu):
    # Not a first-to-last decay: Xavier's own profile is flat-ish (the backward shrink toward the
    # input and the forward shrink toward the output cancel in ∂L/∂W_l = δ_l·a_(l−1)ᵀ); every
    # layer sits ~2^(−15) below He's (measured 1e-4 to 1e-8 over seeds 0-4).
    for xav, he in zip(thirty_layer_relu["xavier"], thirty_layer_relu["he"], strict=True):
        assert np.all(xav.weight_grad / he.weight_grad < 1e-3)


def test_xavier_halves_relu_variance_per_layer_he_keeps_it(thirty_layer_relu):
    for xav, he in zip(thirty_layer_relu["xavier"], thirty_layer_relu["he"], strict=True):
        assert recursion.geometric_rate(xav.forward[1:-1]) == pytest.approx(
            1 / math.sqrt(2), abs=0.07
        )
        assert 0.85 < recursion.geometric_rate(he.forward[1:-1]) < 1.1


# --- first/last ratio ----------------------------------------------------------------------------


def test_first_last_ratio_is_the_float64_gradient_profile_ratio():
    model = comparison.build_model("baseline", 0)
    profile = gradient_profile(model.double(), X.double(), Y.double())
    assert signal.first_last_ratio(model, X, Y) == pytest.approx(
        profile[0] / profile[-2], rel=1e-12
    )


def test_baseline_ratio_is_vanishingly_small_and_float32_norms_underflow():
    """The failing network's first-layer gradient is many orders below the output layer's; in
    float32 its norm is not even representable (vector_norm squares entries below ~1e-23 to 0)."""
    model = mlp(20, 32, init="normal", scale=0.005, seed=0)
    assert signal.first_last_ratio(model, X, Y) < 1e-30
    assert gradient_profile(model, X, Y)[0] == 0.0  # float32: the norm itself underflows


# --- batch normalization -------------------------------------------------------------------------


def test_batch_norm_gives_every_unit_input_unit_spread_however_small_the_weights():
    plain = signal.preactivation_spread(comparison.build_model("baseline", 0), X)
    normed = signal.preactivation_spread(comparison.build_model("batch_norm", 0), X)
    depth = comparison.FAILING_NETWORK["depth"]
    assert plain.activation_input.shape == normed.activation_input.shape == (depth,)
    # without a norm the input spread collapses layer by layer
    np.testing.assert_array_equal(plain.linear, plain.activation_input)
    assert plain.activation_input[-1] < 1e-6 * plain.activation_input[0]
    # with batch norm it is of order 1 at every depth: below 1 only because BN divides by
    # √(var + ε) with ε = 1e-5, comparable to var when the weights are N(0, 0.005²) ...
    assert (normed.activation_input > 0.5).all() and (normed.activation_input <= 1).all()
    # ... and equal to 1 once the batch variance dwarfs ε (PyTorch's default init)
    wide = signal.preactivation_spread(mlp(6, 32, norm="batch", seed=0), X)
    np.testing.assert_allclose(wide.activation_input, 1.0, rtol=2e-3)


def test_behind_batch_norm_a_layer_is_scale_invariant_and_its_gradient_scales_as_one_over_c():
    model = mlp(4, 16, norm="batch", seed=0)  # default init: batch variance ≫ BN's ε
    for factor in (2.0, 10.0):  # exact up to ε = 1e-5 in √(var + ε), hence rel=3e-3
        assert signal.weight_gradient_after_scaling(model, 2, factor, X, Y) == pytest.approx(
            1 / factor, rel=3e-3
        )
    scaled = mlp(4, 16, norm="batch", seed=0)
    with torch.no_grad():
        linear_layers(scaled)[2].weight.mul_(10.0)
        np.testing.assert_allclose(scaled(X), model(X), rtol=1e-3)  # up to BN's ε


def test_without_a_norm_scaling_a_layer_changes_its_gradient_differently():
    model = mlp(4, 16, seed=0)
    assert abs(signal.weight_gradient_after_scaling(model, 2, 10.0, X, Y) - 0.1) > 0.05


def test_weight_gradient_after_scaling_validates_its_arguments():
    model = mlp(2, 4, seed=0)
    with pytest.raises(ValueError, match="layer"):
        signal.weight_gradient_after_scaling(model, 3, 2.0, X, Y)
    with pytest.raises(ValueError, match="factor"):
        signal.weight_gradient_after_scaling(model, 0, 0.0, X, Y)


def test_format_spread_prints_a_bound_below_float64_resolution():
    assert signal.format_spread(6.53e-3) == "6.5e-03"
    assert signal.format_spread(7.2e-16) == "7.2e-16"
    assert signal.format_spread(5.8e-18) == "<1e-16"
    assert signal.format_spread(0.0) == "<1e-16"
    assert signal.format_spread(3e-10, floor=1e-9) == "<1e-09"
    # the floor is float64's spacing next to 0.5, the sigmoid's output at z = 0
    assert np.spacing(0.5) == pytest.approx(signal.RESOLUTION, rel=0.2)
    with pytest.raises(ValueError, match="nonnegative"):
        signal.format_spread(-1e-3)
    with pytest.raises(ValueError, match="floor"):
        signal.format_spread(1.0, floor=0)


# --- residual connections ------------------------------------------------------------------------


def test_residual_blocks_keep_the_representation_gradient_of_a_30_layer_sigmoid_net():
    plain = signal.representation_gradients(mlp(30, 32, init="normal", scale=0.005, seed=0), X, Y)
    res = signal.representation_gradients(
        mlp(30, 32, init="normal", scale=0.005, residual=True, seed=0), X, Y
    )
    assert plain.shape == res.shape == (30,)
    assert plain[0] / plain[-1] < 1e-50  # each plain layer multiplies by ≈ 0.25·0.005·√32
    assert 0.1 < res[0] / res[-1] < 10  # the identity path carries it through all 30 layers


def test_hidden_outputs_rejects_a_model_without_named_layers():
    with pytest.raises(ValueError, match="helpers.models.mlp"):
        signal.hidden_outputs(nn.Sequential(nn.Linear(2, 1)))


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: signal.layer_scales("model", 0), TypeError, "nn.Module"),
        (lambda: signal.layer_scales(nn.ReLU(), 0), ValueError, "no nn.Linear"),
    ],
)
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_last_hidden_spread_is_the_batch_std_of_the_top_representation():
    from helpers.signal import last_hidden_spread

    model = mlp(1, 3, activation="linear", seed=0)
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(1))
    w, b = model.linear1.weight.detach().double(), model.linear1.bias.detach().double()
    expected = (x.double() @ w.T + b).std(dim=0, correction=0).mean()
    assert last_hidden_spread(model, x) == pytest.approx(float(expected), rel=1e-12)
    assert model.linear1.weight.dtype == torch.float32  # the model itself is untouched
    dead = mlp(3, 4, activation="relu", init="he", seed=0)
    with torch.no_grad():
        for layer in (dead.linear1, dead.linear2, dead.linear3):
            layer.bias.fill_(-100.0)
    assert last_hidden_spread(dead, x) == 0.0
