"""helpers.explorers.activation: the pure view is right, and the widget answers its controls."""

import ipywidgets as widgets
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import activations as A
from helpers.explorers import activation as E

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@given(
    name=st.sampled_from(A.ACTIVATIONS),
    x=st.floats(min_value=-8.0, max_value=8.0, allow_nan=False),
)
def test_view_point_and_tangent(name, x):
    view = E.compute_view(name, x)
    assert view.fx == A.activation(name, x)
    assert view.dfx == A.derivative(name, x)
    (x0, x1), (y0, y1) = view.tangent_x, view.tangent_y
    # The tangent's slope is the derivative, and the line passes through (x, f(x)).
    assert (y1 - y0) / (x1 - x0) == pytest.approx(view.dfx, rel=1e-9, abs=1e-12)
    assert y0 + view.dfx * (x - x0) == pytest.approx(view.fx, rel=1e-9, abs=1e-12)
    assert x0 < x < x1


def test_view_curves_are_the_activation_and_its_derivative():
    view = E.compute_view("tanh", 0.5)
    np.testing.assert_array_equal(view.f_grid, A.activation("tanh", view.grid))
    np.testing.assert_array_equal(view.df_grid, A.derivative("tanh", view.grid))
    assert view.grid[0] == E.X_RANGE[0] and view.grid[-1] == E.X_RANGE[1]


def test_view_at_zero_reports_the_sigmoid_peak():
    view = E.compute_view("sigmoid", 0.0)
    assert (view.fx, view.dfx, view.derivative_max) == (0.5, 0.25, 0.25)
    assert "σ'(0.00) = σ(1 − σ) = 0.5000 × 0.5000 = 0.2500" in view.readout
    assert "100.0% of its peak 0.25" in view.readout
    assert "not saturated" in view.readout


@pytest.mark.parametrize(
    ("name", "x", "saturated"),
    [
        ("sigmoid", 5.1, True),
        ("sigmoid", -5.1, True),
        ("sigmoid", 4.9, False),
        ("tanh", 2.6, True),
        ("tanh", 2.4, False),
        ("relu", 7.0, False),
    ],
)
def test_view_saturation_flag(name, x, saturated):
    view = E.compute_view(name, x)
    assert view.saturated is saturated
    assert ("not saturated" not in view.readout) is saturated


def test_tanh_readout_shows_one_minus_tanh_squared():
    view = E.compute_view("tanh", -1.0)
    assert "1 − tanh² = 1 − (-0.7616)² = 0.4200" in view.readout


def test_view_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        E.compute_view("swish", 0.0)
    for bad_x in ("1.0", True, np.array([1.0, 2.0]), None):
        with pytest.raises(TypeError, match="^x must be a real number"):
            E.compute_view("sigmoid", bad_x)


def _find(widget, kind):
    if isinstance(widget, kind):
        return [widget]
    children = getattr(widget, "children", ())
    return [w for child in children for w in _find(child, kind)]


def test_sigmoid_explorer_builds_a_box_with_slider_dropdown_readout_and_image():
    box = E.sigmoid_explorer()
    assert isinstance(box, widgets.VBox)
    (slider,) = _find(box, widgets.FloatSlider)
    (dropdown,) = _find(box, widgets.Dropdown)
    (readout,) = _find(box, widgets.HTML)
    (image,) = _find(box, widgets.Image)
    assert dropdown.options == ("sigmoid", "tanh")
    assert slider.value == 1.0
    assert "σ(1.00) = 0.7311" in readout.value
    assert bytes(image.value).startswith(PNG_SIGNATURE)


def test_moving_the_slider_updates_readout_picture_and_lines():
    box = E.sigmoid_explorer()
    (slider,) = _find(box, widgets.FloatSlider)
    (readout,) = _find(box, widgets.HTML)
    (image,) = _find(box, widgets.Image)
    before_text, before_png = readout.value, image.value
    slider.value = 3.0
    assert readout.value != before_text and "σ(3.00) = 0.9526" in readout.value
    assert bytes(image.value) != bytes(before_png)
    assert bytes(image.value).startswith(PNG_SIGNATURE)


def test_explorer_lines_follow_the_slider():
    explorer = E.ActivationExplorer()
    for x in (-8.0, -5.3, -0.1, 0.0, 0.7, 2.5, 8.0):
        explorer.slider.value = x
        assert explorer.f_point.get_xdata()[0] == x
        assert explorer.f_point.get_ydata()[0] == A.activation("sigmoid", x)
        assert explorer.df_point.get_ydata()[0] == A.derivative("sigmoid", x)
        np.testing.assert_allclose(explorer.tangent.get_xdata(), [x - 2.0, x + 2.0])


def test_switching_activation_redraws_the_curves_and_limits():
    explorer = E.ActivationExplorer()
    explorer.dropdown.value = "tanh"
    np.testing.assert_array_equal(explorer.f_line.get_ydata(), A.activation("tanh", E.GRID))
    np.testing.assert_array_equal(explorer.df_line.get_ydata(), A.derivative("tanh", E.GRID))
    assert explorer.ax_df.get_ylim()[1] == pytest.approx(1.15)
    assert "tanh(1.00) = 0.7616" in explorer.readout.value
    assert len(explorer.ax_f.patches) == 2  # the two saturated regions, not four


def test_update_returns_the_current_view():
    explorer = E.ActivationExplorer(names=("tanh",), x=-2.0)
    view = explorer.update()
    assert (view.name, view.x) == ("tanh", -2.0)


def test_explorer_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown activation"):
        E.ActivationExplorer(names=("sigmoid", "swish"))
    with pytest.raises(ValueError, match="names"):
        E.ActivationExplorer(names=())
