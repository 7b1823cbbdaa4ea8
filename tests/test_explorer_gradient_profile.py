"""helpers.explorers.gradient_profile: compute() is gradient_profile/forward_profile of the same
mlp, and the widget redraws when its controls change."""

import numpy as np
import pytest

from helpers.explorers import gradient_profile as E
from helpers.models import initialize, mlp, toy_regression
from helpers.monitor import forward_profile, gradient_profile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("activation", "init", "scale"),
    [("sigmoid", "normal", 0.05), ("tanh", "uniform", 0.3), ("relu", "he", None),
     ("sigmoid", "orthogonal", None)],
)  # fmt: skip
def test_compute_is_the_monitor_on_the_same_mlp(activation, init, scale):
    profile = E.compute(6, 12, activation, init, scale, seed=2)
    model = mlp(6, 12, activation=activation)
    model = initialize(model, init, activation=activation, scale=scale, seed=2).double()
    x, y = toy_regression(E.BATCH, seed=0)
    np.testing.assert_allclose(profile.grad, gradient_profile(model, x, y), rtol=1e-12)
    np.testing.assert_allclose(profile.saturation, forward_profile(model, x).saturation)
    assert profile.grad.shape == (7,) and profile.saturation.shape == (6,)
    assert profile.first_to_output == pytest.approx(profile.grad[0] / profile.grad[-1])


def test_scale_only_matters_for_normal_and_uniform():
    a, b = E.compute(4, 8, "tanh", "xavier", 0.01), E.compute(4, 8, "tanh", "xavier", 5.0)
    np.testing.assert_array_equal(a.grad, b.grad)
    assert a.scale is None
    assert E.compute(4, 8, "tanh", "normal", 0.5).scale == 0.5


def test_saturation_is_nan_where_the_activation_cannot_saturate():
    for activation in ("relu", "linear"):
        profile = E.compute(3, 8, activation, "normal", 1.0)
        assert np.isnan(profile.saturation).all()
        assert "does not saturate" in profile.readout()
    big = E.compute(8, 32, "sigmoid", "normal", 3.0)
    assert 0.5 < np.nanmean(big.saturation) <= 1.0
    assert "saturated: " in big.readout()


def test_readout_warns_when_float32_would_lose_the_gradient():
    tiny = E.compute(30, 32, "sigmoid", "normal", 0.01)
    assert 0 < tiny.grad[0] < E.FLOAT32_TINY
    assert "float32" in tiny.readout()
    assert "float32" not in E.compute(3, 8, "sigmoid", "normal", 0.5).readout()


def test_cached_network_is_redrawn_every_time():
    first = E.compute(5, 8, "tanh", "normal", 0.3, seed=1)
    E.compute(5, 8, "tanh", "he", None, seed=7)  # same cached network, other weights
    again = E.compute(5, 8, "tanh", "normal", 0.3, seed=1)
    np.testing.assert_array_equal(first.grad, again.grad)


def test_errors_come_from_the_model_builder():
    with pytest.raises(ValueError, match="'sigmoid'"):
        E.compute(3, 8, "swish")
    with pytest.raises(ValueError, match="depth"):
        E.compute(0, 8)
    with pytest.raises(ValueError, match="'xavier'"):
        E.compute(3, 8, "tanh", "glorot")


def test_widget_redraws_on_every_control():
    explorer = E.GradientProfileExplorer(depth=10, width=16, scale=0.1)
    assert bytes(explorer.grad_image.value).startswith(PNG_SIGNATURE)
    assert bytes(explorer.sat_image.value).startswith(PNG_SIGNATURE)
    changes = [
        (explorer.scale, 1.0),
        (explorer.depth, 30),
        (explorer.width, 48),
        (explorer.activation, "tanh"),
        (explorer.init, "orthogonal"),
    ]
    for control, value in changes:
        before, text = bytes(explorer.grad_image.value), explorer.readout.value
        control.value = value
        assert bytes(explorer.grad_image.value) != before, control.description
        assert explorer.readout.value != text
    assert explorer.scale.disabled  # orthogonal sets its own scale
    explorer.init.value = "uniform"
    assert not explorer.scale.disabled


def test_drawn_line_is_the_computed_profile():
    explorer = E.GradientProfileExplorer(depth=12, width=16, activation="sigmoid", scale=0.05)
    profile = explorer.update()
    xs, ys = explorer.grad_line.get_data()
    np.testing.assert_array_equal(xs, np.arange(1, 14))
    np.testing.assert_allclose(ys, np.log10(profile.grad))
    low, high = explorer.ax_grad.get_ylim()
    assert low <= ys.min() and ys.max() <= high  # the whole profile is inside the axes
    _, sat = explorer.sat_line.get_data()
    np.testing.assert_array_equal(sat, profile.saturation)
    assert explorer.depth.max == E.MAX_DEPTH and explorer.width.max == E.MAX_WIDTH


def test_limits_follow_the_data_across_many_changes():
    explorer = E.GradientProfileExplorer(depth=20, width=32, scale=0.01)
    for scale in (0.02, 0.1, 0.5, 2.0, 8.0, 0.003):
        explorer.scale.value = scale
        _, ys = explorer.grad_line.get_data()
        low, high = explorer.ax_grad.get_ylim()
        finite = ys[np.isfinite(ys)]
        assert low <= finite.min() and finite.max() <= high
        span = finite.max() - finite.min()
        # Kept limits hold while the data fill a third of them; fresh ones pad and snap.
        fresh = span + 2 * max(1.0, 0.15 * span) + 2 * E.DECADES
        assert high - low <= max(3 * span, fresh)
        assert low % E.DECADES == 0 and high % E.DECADES == 0
