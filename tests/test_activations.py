"""helpers.activations: closed forms vs finite differences vs torch autograd, laws, edge cases."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from helpers import activations as A

# Points away from the kinks at 0 (relu, leaky_relu, elu with alpha != 1, selu).
GRID = np.concatenate([np.linspace(-8.0, -0.01, 200), np.linspace(0.01, 8.0, 200)])
PARAMS = {"leaky_relu": [{}, {"slope": 0.2}], "elu": [{}, {"alpha": 0.5}, {"alpha": 2.0}]}
CASES = [(name, p) for name in A.ACTIVATIONS for p in PARAMS.get(name, [{}])]
CASE_IDS = [f"{n}-{p}" if p else n for n, p in CASES]

reals = st.floats(min_value=-700.0, max_value=700.0, allow_nan=False)
any_reals = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)


# --- three ways to the derivative agree ---------------------------------------------------------


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_closed_form_matches_torch_autograd(name, params):
    closed = A.derivative(name, GRID, **params)
    np.testing.assert_allclose(
        closed, A.autograd_derivative(name, GRID, **params), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_closed_form_matches_central_finite_difference(name, params):
    closed = A.derivative(name, GRID, **params)
    np.testing.assert_allclose(closed, A.finite_difference(name, GRID, **params), rtol=0, atol=1e-8)


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_convention_at_zero_matches_torch(name, params):
    assert A.derivative(name, 0.0, **params) == pytest.approx(
        A.autograd_derivative(name, 0.0, **params), abs=1e-15
    )


def test_documented_values_at_the_kink():
    assert A.derivative("relu", 0.0) == 0.0
    assert A.derivative("leaky_relu", 0.0, slope=0.2) == 0.2
    assert A.derivative("elu", 0.0, alpha=2.0) == 2.0
    assert A.derivative("selu", 0.0) == pytest.approx(A.SELU_LAMBDA * A.SELU_ALPHA, rel=1e-15)


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_function_matches_torch_module(name, params):
    module = A.torch_activation(name, **params)
    expected = module(torch.tensor(GRID, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(A.activation(name, GRID, **params), expected, rtol=1e-13, atol=1e-15)


def test_torch_activation_builds_the_matching_module_with_its_parameters():
    assert isinstance(A.torch_activation("sigmoid"), nn.Sigmoid)
    assert isinstance(A.torch_activation("linear"), nn.Identity)
    leaky = A.torch_activation("leaky_relu", slope=0.3)
    assert isinstance(leaky, nn.LeakyReLU) and leaky.negative_slope == 0.3
    assert A.torch_activation("elu", alpha=0.7).alpha == 0.7
    assert A.torch_activation("gelu").approximate == "none"


def test_known_values():
    assert A.activation("sigmoid", 0.0) == 0.5
    assert A.activation("tanh", 1.0) == pytest.approx(math.tanh(1.0), rel=1e-15)
    assert A.activation("gelu", 1.0) == pytest.approx(0.8413447460685429, rel=1e-14)
    assert A.activation("leaky_relu", -2.0) == pytest.approx(-0.02)
    assert A.activation("elu", -1.0, alpha=2.0) == pytest.approx(2.0 * math.expm1(-1.0))
    assert A.activation("selu", 1.0) == pytest.approx(1.0507009873554805, rel=1e-15)
    assert A.derivative("gelu", 0.0) == 0.5
    assert A.derivative("sigmoid", 2.0) == pytest.approx(
        math.exp(-2.0) / (1 + math.exp(-2.0)) ** 2, rel=1e-14
    )


# --- laws that hold for every input (hypothesis) -------------------------------------------------


@given(reals)
def test_sigmoid_derivative_is_sigma_times_one_minus_sigma(x):
    s = A.activation("sigmoid", x)
    # 1 − σ(x) is only good to one ulp of 1 (2.2e-16) for large x: an absolute tolerance ...
    assert A.derivative("sigmoid", x) == pytest.approx(s * (1 - s), rel=1e-12, abs=2.3e-16)
    # ... and relatively against the cancellation-free form 1 − σ(x) = σ(−x).
    expected = s * A.activation("sigmoid", -x)
    assert A.derivative("sigmoid", x) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@given(reals)
def test_sigmoid_derivative_is_positive_and_at_most_a_quarter(x):
    assert 0.0 < A.derivative("sigmoid", x) <= 0.25


def test_sigmoid_derivative_peaks_at_exactly_a_quarter_at_zero():
    assert A.derivative("sigmoid", 0.0) == 0.25
    grid = np.linspace(-10, 10, 20001)
    values = A.derivative("sigmoid", grid)
    assert grid[np.argmax(values)] == 0.0
    assert values.max() == 0.25


@given(reals)
def test_tanh_derivative_is_one_minus_tanh_squared(x):
    t = A.activation("tanh", x)
    assert A.derivative("tanh", x) == pytest.approx(1 - t * t, abs=1e-15)


@given(st.floats(min_value=5.0, max_value=1e300, exclude_min=True), st.booleans())
def test_sigmoid_saturates_beyond_five(magnitude, negative):
    x = -magnitude if negative else magnitude
    assert A.derivative("sigmoid", x) < 0.0067


@given(reals)
def test_sigmoid_symmetry(x):
    assert A.activation("sigmoid", -x) == pytest.approx(1 - A.activation("sigmoid", x), abs=1e-15)


@given(reals)
def test_sigmoid_is_a_shifted_scaled_tanh(x):
    expected = (1 + A.activation("tanh", x / 2)) / 2
    assert A.activation("sigmoid", x) == pytest.approx(expected, abs=1e-15)


@given(reals)
def test_tanh_is_two_sigma_of_two_x_minus_one(x):
    expected = 2 * A.activation("sigmoid", 2 * x) - 1
    assert A.activation("tanh", x) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
@given(x=any_reals)
def test_derivative_bounded_by_derivative_max(name, params, x):
    assert abs(A.derivative(name, x, **params)) <= A.derivative_max(name, **params)


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_derivative_max_is_attained(name, params):
    grid = np.concatenate([np.linspace(-10, 10, 200001), [0.0, math.sqrt(2.0)]])
    peak = np.abs(A.derivative(name, grid, **params)).max()
    assert peak == pytest.approx(A.derivative_max(name, **params), rel=1e-9)


def test_derivative_max_values():
    assert A.derivative_max("sigmoid") == 0.25
    assert A.derivative_max("tanh") == 1.0
    assert A.derivative_max("gelu") == pytest.approx(1.1289, abs=1e-4)
    assert A.derivative("gelu", math.sqrt(2.0)) == pytest.approx(A.derivative_max("gelu"))
    assert A.derivative_max("selu") == pytest.approx(1.7581, abs=1e-4)
    assert A.derivative_max("leaky_relu", slope=3.0) == 3.0
    assert A.derivative_max("elu", alpha=2.0) == 2.0


# --- saturation thresholds and gains (the one table) ---------------------------------------------


def test_saturation_thresholds():
    assert A.saturation_threshold("sigmoid") == 5.0
    assert A.saturation_threshold("tanh") == 2.5
    assert A.derivative("sigmoid", 5.0) == pytest.approx(0.006648, abs=1e-6)
    # The same fraction of each peak: tanh'(x) = 4σ'(2x).
    sigmoid_fraction = A.derivative("sigmoid", 5.0) / A.derivative_max("sigmoid")
    tanh_fraction = A.derivative("tanh", 2.5) / A.derivative_max("tanh")
    assert sigmoid_fraction == pytest.approx(tanh_fraction, rel=1e-12)
    assert sigmoid_fraction < 0.027
    for name in ("relu", "leaky_relu", "elu", "gelu", "selu", "linear"):
        assert A.saturation_threshold(name) is None


@pytest.mark.parametrize("name", [n for n in A.ACTIVATIONS if A.PROPERTIES[n].torch_gain])
def test_gain_matches_torch_calculate_gain(name):
    assert A.gain(name) == pytest.approx(nn.init.calculate_gain(name), rel=1e-15)


def test_leaky_relu_gain_uses_the_slope():
    assert A.gain("leaky_relu", slope=0.2) == pytest.approx(
        nn.init.calculate_gain("leaky_relu", 0.2), rel=1e-15
    )


@pytest.mark.parametrize("name", ["elu", "gelu"])
def test_gain_without_a_torch_value_is_one_and_flagged(name):
    with pytest.raises(ValueError):
        nn.init.calculate_gain(name)
    assert not A.PROPERTIES[name].torch_gain
    assert A.gain(name) == 1.0


def test_properties_cover_every_activation():
    assert set(A.PROPERTIES) == set(A.ACTIVATIONS) == set(A.REGISTRY)


# --- large inputs, types and shapes --------------------------------------------------------------

LARGE = np.array([-1e6, -1000.0, 1000.0, 1e6])


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_large_inputs_are_finite_and_warning_free(name, params):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (A.activation, A.derivative, A.finite_difference, A.autograd_derivative):
            values = fn(name, LARGE, **params)
            assert np.all(np.isfinite(values)), (fn.__name__, values)
            for x in LARGE:
                assert math.isfinite(fn(name, float(x), **params))


def test_large_input_limits():
    np.testing.assert_array_equal(A.activation("sigmoid", LARGE), [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(A.derivative("sigmoid", LARGE), [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(A.activation("tanh", LARGE), [-1.0, -1.0, 1.0, 1.0])
    assert A.activation("elu", -1e6) == -1.0
    assert A.derivative("gelu", 1e6) == 1.0


def test_small_tail_keeps_relative_precision():
    # 1 − σ(x) would round to 0 at x = 40; the closed form keeps σ'(40) ≈ e^(−40).
    assert A.derivative("sigmoid", 40.0) == pytest.approx(math.exp(-40.0), rel=1e-12)
    assert A.derivative("tanh", 20.0) == pytest.approx(4 * math.exp(-40.0), rel=1e-12)


@pytest.mark.parametrize("fn", [A.activation, A.derivative, A.finite_difference])
@pytest.mark.parametrize("x", [0.5, 2, np.float32(0.5), np.float64(-1.0), np.array(0.3)])
def test_scalar_in_float_out(fn, x):
    assert type(fn("tanh", x)) is float


@pytest.mark.parametrize("fn", [A.activation, A.derivative, A.finite_difference])
@pytest.mark.parametrize("name", A.ACTIVATIONS)
def test_array_in_array_out_same_shape(fn, name):
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    out = fn(name, x)
    assert isinstance(out, np.ndarray) and out.shape == (3, 4) and out.dtype == np.float64


def test_autograd_derivative_keeps_the_shape_and_scalar_type():
    assert type(A.autograd_derivative("sigmoid", 0.0)) is float
    assert A.autograd_derivative("sigmoid", np.zeros((2, 3))).shape == (2, 3)


def test_lists_are_accepted_as_arrays():
    np.testing.assert_array_equal(A.derivative("sigmoid", [0.0, 0.0]), [0.25, 0.25])


# --- every documented error ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        A.activation,
        A.derivative,
        A.finite_difference,
        A.autograd_derivative,
        lambda name, x: A.derivative_max(name),
        lambda name, x: A.saturation_threshold(name),
        lambda name, x: A.gain(name),
        lambda name, x: A.torch_activation(name),
    ],
)
def test_unknown_name_lists_the_valid_names(fn):
    with pytest.raises(ValueError, match="unknown activation 'softsign'.*'sigmoid'.*'linear'"):
        fn("softsign", 0.0)


def test_non_string_name_is_rejected():
    with pytest.raises(ValueError, match="unknown activation"):
        A.activation(None, 0.0)


@pytest.mark.parametrize("fn", [A.activation, A.derivative, A.gain, A.torch_activation])
def test_parameter_the_activation_does_not_take(fn):
    args = ("sigmoid", 0.0) if fn in (A.activation, A.derivative) else ("sigmoid",)
    with pytest.raises(TypeError, match="'slope'"):
        fn(*args, slope=0.1)


def test_parameter_of_another_activation():
    with pytest.raises(TypeError, match="'alpha'"):
        A.derivative("leaky_relu", 1.0, alpha=0.1)


@pytest.mark.parametrize(
    ("name", "params", "error", "pattern"),
    [
        ("elu", {"alpha": -1.0}, ValueError, "alpha"),
        ("leaky_relu", {"slope": -0.1}, ValueError, "slope"),
        ("leaky_relu", {"slope": float("inf")}, ValueError, "slope"),
        ("elu", {"alpha": "big"}, TypeError, "alpha"),
    ],
)
def test_invalid_parameter_values(name, params, error, pattern):
    with pytest.raises(error, match=pattern):
        A.activation(name, 1.0, **params)


@pytest.mark.parametrize("x", ["1.0", None, [1.0, "a"], 1 + 2j, True, [[1.0], [1.0, 2.0]], {}])
@pytest.mark.parametrize("fn", [A.activation, A.derivative, A.finite_difference])
def test_non_numeric_x_is_a_type_error_naming_x(fn, x):
    with pytest.raises(TypeError, match=r"^x must be a real number"):
        fn("sigmoid", x)


@pytest.mark.parametrize(("h", "error"), [(0.0, ValueError), (-1e-5, ValueError), ("a", TypeError)])
def test_finite_difference_step_must_be_positive(h, error):
    with pytest.raises(error, match="h"):
        A.finite_difference("sigmoid", 0.0, h=h)


@pytest.mark.parametrize("x", [1e-12, -1e-12, 1e-9, 3e-8, -2e-7])
def test_derivative_peaks_are_never_exceeded_by_rounding_near_zero(x):
    # Found by hypothesis: e/(1+e)^2 rounded to 0.25000000000000006 at x = 1e-12.
    assert A.derivative("sigmoid", x) <= 0.25
    assert A.derivative("tanh", x) <= 1.0
