"""helpers.sweep: the batched depth × scale map equals gradient_profile on the same networks."""

import math

import numpy as np
import pytest
import torch

from helpers import sweep
from helpers.activations import ACTIVATIONS
from helpers.models import linear_layers
from helpers.monitor import gradient_profile

DEPTHS = np.arange(1, 13)
SCALES = np.geomspace(0.01, 5.0, 9)


@pytest.fixture(scope="module")
def sigmoid_map():
    return sweep.first_layer_gradient_map(DEPTHS, SCALES, width=16)


def test_agrees_with_gradient_profile_at_sampled_grid_points(sigmoid_map):
    rng = np.random.default_rng(0)
    x, y = sweep.sweep_data()
    for i, j in zip(rng.integers(0, len(DEPTHS), 8), rng.integers(0, len(SCALES), 8), strict=True):
        model = sweep.sweep_model(int(DEPTHS[i]), float(SCALES[j]), width=16)
        expected = gradient_profile(model, x, y)[0]
        assert sigmoid_map.grad[i, j] == pytest.approx(expected, rel=1e-9), (DEPTHS[i], SCALES[j])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_agrees_with_the_naive_loop_for_every_activation(activation):
    depths, scales = [1, 4, 2], [0.05, 0.4, 2.0]
    kwargs = {"width": 8, "activation": activation, "batch": 16, "seed": 3}
    batched = sweep.first_layer_gradient_map(depths, scales, **kwargs)
    naive = sweep.first_layer_gradient_map_naive(depths, scales, **kwargs)
    np.testing.assert_allclose(batched.grad, naive.grad, rtol=1e-9)
    assert batched.activation == activation and batched.width == 8


def test_one_linear_layer_by_hand():
    """Depth 1, linear: ŷ = s·G_out · s·G_1 x, so ∂L/∂W_1 = (2/B) Σ_b (ŷ_b − y_b) s·G_outᵀ x_bᵀ."""
    s = 0.7
    hidden, out = sweep.sweep_directions(1, 6)
    x, y = sweep.sweep_data()
    residual = (s * out) @ (s * hidden[0]) @ x.T - y.T  # (1, B)
    grad = (2 / x.shape[0]) * (s * out).T @ residual @ x  # (6, 2)
    got = sweep.first_layer_gradient_map([1], [s], width=6, activation="linear").grad[0, 0]
    assert got == pytest.approx(torch.linalg.norm(grad).item(), rel=1e-12)


def test_sweep_model_holds_scaled_directions():
    model = sweep.sweep_model(3, 0.25, width=5)
    hidden, out = sweep.sweep_directions(3, 5)
    layers = linear_layers(model)
    assert len(layers) == 4 and all(layer.bias is None for layer in layers)
    for layer, direction in zip(layers, [*hidden, out], strict=True):
        assert layer.weight.dtype == torch.float64
        torch.testing.assert_close(layer.weight.detach(), 0.25 * direction)


def test_deeper_sweeps_extend_shallower_ones(sigmoid_map):
    shallow = sweep.first_layer_gradient_map(DEPTHS[:4], SCALES, width=16)
    np.testing.assert_allclose(shallow.grad, sigmoid_map.grad[:4], rtol=1e-12)
    hidden5, out5 = sweep.sweep_directions(5, 4)
    hidden2, out2 = sweep.sweep_directions(2, 4)
    assert torch.equal(out5, out2) and all(map(torch.equal, hidden5[:2], hidden2))


def test_depth_order_and_duplicates(sigmoid_map):
    depths = [7, 2, 7, 1]
    result = sweep.first_layer_gradient_map(depths, SCALES[:3], width=16)
    np.testing.assert_allclose(result.grad, sigmoid_map.grad[np.array(depths) - 1, :3], rtol=1e-12)
    np.testing.assert_array_equal(result.depths, depths)


def test_chunking_over_scales_changes_nothing(monkeypatch, sigmoid_map):
    monkeypatch.setattr(sweep, "MAX_ELEMENTS", 1)  # one scale per chunk
    chunked = sweep.first_layer_gradient_map(DEPTHS, SCALES, width=16)
    np.testing.assert_allclose(chunked.grad, sigmoid_map.grad, rtol=1e-12)


def test_small_sigmoid_weights_shrink_by_quarter_scale_sqrt_width_per_layer():
    """Near z = 0, σ' ≈ 1/4 and ‖Wᵀv‖ ≈ s·√n·‖v‖: each extra layer multiplies by ≈ s·√n/4."""
    width, scale = 64, 0.01
    grid = sweep.first_layer_gradient_map(np.arange(2, 12), [scale], width=width)
    per_layer = math.exp(np.mean(np.diff(np.log(grid.grad[:, 0]))))
    assert per_layer == pytest.approx(0.25 * scale * math.sqrt(width), rel=0.1)


def test_depth_below():
    grid = sweep.DepthScaleMap(
        depths=np.array([3, 1, 2]),
        scales=np.array([0.1, 1.0]),
        grad=np.array([[1e-7, 1.0], [1e-3, 1.0], [1e-5, 1.0]]),
        width=4,
        activation="sigmoid",
    )
    below = sweep.depth_below(grid, 1e-4)
    assert below[0] == 2 and math.isnan(below[1])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"depths": []}, ValueError, "depths"),
        ({"depths": [0, 3]}, ValueError, "depths"),
        ({"depths": [1.5]}, ValueError, "depths"),
        ({"scales": [-0.1]}, ValueError, "scales"),
        ({"scales": [float("nan")]}, ValueError, "scales"),
        ({"scales": []}, ValueError, "scales"),
        ({"width": 0}, ValueError, "width"),
        ({"activation": "swish"}, ValueError, "'sigmoid'"),
    ],
)
def test_errors(kwargs, error, match):
    args = {"depths": [1, 2], "scales": [0.1]} | kwargs
    with pytest.raises(error, match=match):
        sweep.first_layer_gradient_map(args.pop("depths"), args.pop("scales"), **args)


def test_band_is_the_widest_run_of_scales_inside_the_limits():
    grid = sweep.DepthScaleMap(
        depths=np.array([5]),
        scales=np.array([0.1, 0.2, 0.4, 0.8, 1.6, 3.2]),
        grad=np.array([[1e-5, 0.5, 50.0, 5e3, 7.0, 1e3]]),
        width=4,
        activation="tanh",
    )
    assert sweep.band(grid, 5) == (0.2, 0.4)  # not (0.2, 1.6): 0.8 is outside
    assert sweep.band(grid, 5, low=1e-6, high=1e4) == (0.1, 3.2)
    assert sweep.band(grid, 5, low=1e4, high=1e5) is None
    with pytest.raises(ValueError, match="depth"):
        sweep.band(grid, 6)


# --- scale_statistics: notebook 03's table of weight scales --------------------------------------


@pytest.fixture(scope="module")
def toy():
    from helpers.models import toy_regression

    return toy_regression(64, seed=0)


def test_scale_statistics_match_one_network_measured_by_hand(toy):
    from helpers.models import mlp
    from helpers.monitor import layer_factor, layer_profile

    x, y = toy
    stats = sweep.scale_statistics(["tanh"], [0.3], x, y, depth=5, width=16, seeds=(2, 4))
    row = stats["tanh", 0.3]
    assert list(stats) == [("tanh", 0.3)] and row.seeds == (2, 4)
    net = mlp(5, 16, activation="tanh", init="normal", scale=0.3, seed=4)
    grads, forward = layer_profile(net, x, y)
    assert row.factor[1] == pytest.approx(layer_factor(grads), rel=1e-12)
    assert row.saturation[1] == pytest.approx(np.mean(forward.saturation[1:]), rel=1e-12)
    geometric = math.exp(np.mean(np.log(forward.slope_rms[1:])))
    assert row.slope[1] == pytest.approx(geometric, rel=1e-12)


def test_scale_statistics_of_tiny_sigmoid_weights_follow_the_prediction(toy):
    """Near z = 0 every sigmoid unit has slope 1/4, none saturates, and the gradient shrinks by
    0.25·s·√n per layer."""
    x, y = toy
    stats = sweep.scale_statistics(["sigmoid"], [0.01], x, y, depth=6, width=64, seeds=(0, 1, 2))
    row = stats["sigmoid", 0.01]
    assert row.saturation.tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(row.slope, 0.25, rtol=1e-3)  # σ′(z) ≈ 1/4 − z²/16
    np.testing.assert_allclose(row.factor, 0.25 * 0.01 * math.sqrt(64), rtol=0.15)


def test_scale_statistics_of_large_tanh_weights_saturate_and_grow(toy):
    x, y = toy
    stats = sweep.scale_statistics(["sigmoid", "tanh"], [0.05, 3.0], x, y, depth=6, width=32)
    assert list(stats) == [("sigmoid", 0.05), ("sigmoid", 3.0), ("tanh", 0.05), ("tanh", 3.0)]
    big, small = stats["tanh", 3.0], stats["tanh", 0.05]
    assert len(big.factor) == 5  # five seeds by default
    assert np.all(big.saturation > 0.8) and np.all(small.saturation == 0.0)
    assert np.all(big.slope < 0.5 * small.slope)
    assert np.all(big.factor > 1.5)  # past the edge of chaos the gradient grows per layer


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activations": ["relu"]}, "'sigmoid'"),
        ({"scales": [0.0]}, "scales"),
        ({"depth": 2}, "depth"),
        ({"seeds": ()}, "seeds"),
    ],
)
def test_scale_statistics_errors(toy, kwargs, match):
    args = {"activations": ["tanh"], "scales": [0.1], "depth": 4, "width": 4} | kwargs
    with pytest.raises(ValueError, match=match):
        sweep.scale_statistics(args.pop("activations"), args.pop("scales"), *toy, **args)
