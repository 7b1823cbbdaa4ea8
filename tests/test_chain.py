"""helpers.chain: the hand-written chain rule against autograd, finite differences, its bounds."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import chain

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def networks(draw, activations=chain.CHAIN_ACTIVATIONS, max_depth=6, max_width=6):
    """(weights, x, y, activation): a random zero-bias network of depth 1..6 and widths 1..6."""
    depth = draw(st.integers(1, max_depth))
    sizes = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
    scale = draw(st.floats(0.1, 3.0))
    seed = draw(st.integers(0, 2**32 - 1))
    activation = draw(st.sampled_from(activations))
    net = chain.random_network(sizes, scale=scale, seed=seed)
    return net.weights, net.x, net.y, activation


def torch_gradients(weights, x, y, activation):
    """dLoss/dW_l from PyTorch autograd on nn.Linear(bias=False) layers with copied weights."""
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}[activation]
    layers = []
    for W in weights:
        layer = nn.Linear(W.shape[1], W.shape[0], bias=False, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(W))
        layers.append(layer)
    a = torch.from_numpy(x)
    for layer in layers:
        a = f(layer(a))
    loss = 0.5 * ((a - torch.from_numpy(y)) ** 2).sum()
    loss.backward()
    return [layer.weight.grad.numpy() for layer in layers]


def chain_product(factors, n_in):
    """J_k ... J_1 for factors [J_1, ..., J_k] (the identity of size n_in when empty)."""
    product = np.eye(n_in)
    for J in factors:
        product = J @ product
    return product


def loss(weights, x, y, activation):
    a = chain.forward(weights, x, activation).a[-1]
    return 0.5 * np.sum((a - y) ** 2)


# --- manual_backprop equals autograd and finite differences -------------------------------------


@SETTINGS
@given(networks())
def test_manual_backprop_equals_torch_autograd(network):
    weights, x, y, activation = network
    manual = chain.manual_backprop(weights, x, y, activation)
    reference = torch_gradients(weights, x, y, activation)
    assert len(manual) == len(weights)
    for g, r, W in zip(manual, reference, weights, strict=True):
        assert g.shape == W.shape and g.dtype == np.float64
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", chain.CHAIN_ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 6])
def test_manual_backprop_equals_autograd_at_every_depth(depth, activation):
    net = chain.random_network([3] + [4] * depth, scale=1.0, seed=depth)
    manual = chain.manual_backprop(net.weights, net.x, net.y, activation)
    for g, r in zip(manual, torch_gradients(*net, activation), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", chain.CHAIN_ACTIVATIONS)
def test_manual_backprop_equals_central_finite_differences(activation):
    weights, x, y = chain.random_network([3, 4, 4, 2], scale=1.0, seed=7)
    grads = chain.manual_backprop(weights, x, y, activation)
    h = 1e-6
    for layer, (i, j) in [(0, (0, 0)), (0, (3, 2)), (1, (1, 3)), (2, (1, 0))]:
        plus = [W.copy() for W in weights]
        minus = [W.copy() for W in weights]
        plus[layer][i, j] += h
        minus[layer][i, j] -= h
        numeric = (loss(plus, x, y, activation) - loss(minus, x, y, activation)) / (2 * h)
        assert grads[layer][i, j] == pytest.approx(numeric, rel=1e-6, abs=1e-10)


def test_three_layer_zero_bias_sigmoid_network():
    """The course's case: 2 -> 3 -> 3 -> 1, sigmoid after every layer, no bias."""
    weights = [
        np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]]),
        np.array([[1.0, -0.5, 0.3], [0.2, 0.4, -1.2], [-0.7, 0.9, 0.1]]),
        np.array([[1.1, -0.6, 0.4]]),
    ]
    x, y = np.array([1.0, 2.0]), np.array([1.0])
    grads = chain.manual_backprop(weights, x, y)
    for g, r in zip(grads, torch_gradients(weights, x, y, "sigmoid"), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-15)

    # The same gradient written as the product of factors: delta_1 = D1 W2^T D2 W3^T D3 (a3 - y).
    s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    z1 = weights[0] @ x
    z2 = weights[1] @ s(z1)
    z3 = weights[2] @ s(z2)
    d1, d2, d3 = (np.diag(s(z) * (1 - s(z))) for z in (z1, z2, z3))
    delta1 = d1 @ weights[1].T @ d2 @ weights[2].T @ d3 @ (s(z3) - y)
    np.testing.assert_allclose(grads[0], np.outer(delta1, x), rtol=1e-12)


def test_one_unit_chain_gradient_is_a_product_of_scalars():
    """With one unit per layer, dL/dW1 = (a3 - y) s'(z3) w3 s'(z2) w2 s'(z1) x."""
    w1, w2, w3, x, y = 0.7, -1.3, 2.0, 0.9, 0.2
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    dsig = lambda z: sig(z) * (1 - sig(z))  # noqa: E731
    z1 = w1 * x
    z2 = w2 * sig(z1)
    z3 = w3 * sig(z2)
    expected = (sig(z3) - y) * dsig(z3) * w3 * dsig(z2) * w2 * dsig(z1) * x
    grads = chain.manual_backprop(
        [np.array([[w1]]), np.array([[w2]]), np.array([[w3]])], np.array([x]), np.array([y])
    )
    assert grads[0][0, 0] == pytest.approx(expected, rel=1e-13)


def test_accepts_lists_and_returns_float64():
    grads = chain.manual_backprop([[[1, 2]], [[3]]], [1, 0], [0], "tanh")
    assert [g.dtype for g in grads] == [np.float64, np.float64]
    assert [g.shape for g in grads] == [(1, 2), (1, 1)]


# --- forward, error signals and factors ----------------------------------------------------------


@SETTINGS
@given(networks())
def test_forward_matches_the_definition(network):
    weights, x, _, activation = network
    f = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}[activation]
    fwd = chain.forward(weights, x, activation)
    assert len(fwd.z) == len(weights) and len(fwd.a) == len(weights) + 1
    np.testing.assert_array_equal(fwd.a[0], x)
    for W, z, a_prev, a in zip(weights, fwd.z, fwd.a[:-1], fwd.a[1:], strict=True):
        np.testing.assert_allclose(z, W @ a_prev, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(a, f(z), rtol=1e-14, atol=1e-15)


@SETTINGS
@given(networks())
def test_gradient_is_error_signal_times_previous_activation(network):
    weights, x, y, activation = network
    deltas = chain.error_signals(weights, x, y, activation)
    a = chain.forward(weights, x, activation).a
    for g, delta, a_prev in zip(chain.manual_backprop(*network), deltas, a[:-1], strict=True):
        np.testing.assert_allclose(g, np.outer(delta, a_prev), rtol=1e-14, atol=1e-300)


@SETTINGS
@given(networks())
def test_factors_give_the_input_jacobian_and_the_first_layer_gradient(network):
    weights, x, y, activation = network
    f = chain.backprop_factors(weights, x, activation)
    fwd = chain.forward(weights, x, activation)
    # J_L ... J_1 is the Jacobian da_L/da_0, checked against autograd.
    product = chain_product(f.factors, len(x))
    fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}[activation]

    def net(a):
        for W in weights:
            a = fn(torch.from_numpy(W) @ a)
        return a

    jac = torch.autograd.functional.jacobian(net, torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(product, jac.reshape(product.shape), rtol=1e-10, atol=1e-13)
    # delta_1 = diag(f'(z_1)) (J_L ... J_2)^T (a_L - y), and dL/dW_1 = delta_1 x^T.
    above = chain_product(f.factors[1:], weights[0].shape[0])
    delta1 = f.fprime[0] * (above.T @ (fwd.a[-1] - y))
    np.testing.assert_allclose(
        np.outer(delta1, x), chain.manual_backprop(*network)[0], rtol=1e-10, atol=1e-13
    )


def test_factor_norms_sit_below_their_bounds():
    net = chain.random_network([5, 6, 6, 6, 2], scale=1.0, seed=3)
    for activation in chain.CHAIN_ACTIVATIONS:
        norms = chain.factor_norms(net.weights, net.x, activation)
        peak = {"sigmoid": 0.25, "tanh": 1.0}[activation]
        expected_w = [np.linalg.svd(W, compute_uv=False)[0] for W in net.weights]
        np.testing.assert_allclose(norms.weight_norm, expected_w, rtol=1e-12)
        np.testing.assert_allclose(norms.bound, peak * norms.weight_norm, rtol=1e-15)
        assert np.all(norms.factor_norm <= norms.bound)
        assert np.all((0 < norms.mean_fprime) & (norms.mean_fprime <= peak))


def test_layer_gradient_norms_are_frobenius_norms_of_the_gradients():
    net = chain.random_network([3, 4, 4, 4, 1], seed=1)
    expected = [np.sqrt(np.sum(g**2)) for g in chain.manual_backprop(*net)]
    np.testing.assert_allclose(chain.layer_gradient_norms(*net), expected, rtol=1e-14)


def test_random_network_is_seeded_and_shaped_like_nn_linear():
    a = chain.random_network([2, 3, 1], scale=0.5, seed=4)
    b = chain.random_network([2, 3, 1], scale=0.5, seed=4)
    assert [W.shape for W in a.weights] == [(3, 2), (1, 3)]
    assert a.x.shape == (2,) and a.y.shape == (1,) and 0 <= a.y[0] <= 1
    for u, v in zip(a.weights + [a.x, a.y], b.weights + [b.x, b.y], strict=True):
        np.testing.assert_array_equal(u, v)
    big = chain.random_network([200, 200], scale=0.5, seed=0).weights[0]
    assert big.std() == pytest.approx(0.5, rel=0.02)


# --- the bound (f'_max ||W||_2)^L ----------------------------------------------------------------


def test_depth_bound_values():
    assert chain.depth_bound(1, 2.0) == 0.5
    assert chain.depth_bound(20, 2.0) == pytest.approx(0.5**20)
    assert chain.depth_bound(3, 4.0) == 1.0
    assert chain.depth_bound(2, 0.5, "tanh") == 0.25
    assert chain.depth_bound(5, 0.0) == 0.0


@SETTINGS
@given(networks(activations=("sigmoid",)))
def test_sigmoid_factor_product_obeys_the_depth_bound(network):
    weights, x, y, _ = network
    f = chain.backprop_factors(weights, x, "sigmoid")
    norms = [np.linalg.norm(W, 2) for W in weights]
    product = chain_product(f.factors, len(x))
    slack = 1 + 1e-12
    assert np.linalg.norm(product, 2) <= math.prod(0.25 * w for w in norms) * slack
    assert np.linalg.norm(product, 2) <= chain.depth_bound(len(weights), max(norms)) * slack
    # The backpropagated error: ||dL/da_0|| <= (0.25 ||W||_2)^L ||dL/da_L||.
    out_grad = chain.forward(weights, x).a[-1] - y
    in_grad = product.T @ out_grad
    bound = chain.depth_bound(len(weights), max(norms)) * np.linalg.norm(out_grad)
    assert np.linalg.norm(in_grad) <= bound * slack


@SETTINGS
@given(networks())
def test_first_layer_gradient_obeys_its_bound(network):
    weights, x, y, activation = network
    grad = np.linalg.norm(chain.manual_backprop(weights, x, y, activation)[0])
    bound = chain.first_layer_bound(weights, x, y, activation)
    assert grad <= bound * (1 + 1e-12)
    # The bound has L factors f'_max but only L-1 weight norms (W_1 multiplies x, not the error).
    peak = {"sigmoid": 0.25, "tanh": 1.0}[activation]
    out_error = np.linalg.norm(chain.forward(weights, x, activation).a[-1] - y)
    above = math.prod(np.linalg.norm(W, 2) for W in weights[1:])
    expected = np.linalg.norm(x) * out_error * peak ** len(weights) * above
    assert bound == pytest.approx(expected, rel=1e-12)


# --- geometric decay with depth ------------------------------------------------------------------


def test_small_orthogonal_weights_shrink_the_error_by_a_quarter_of_their_norm_per_layer():
    """W_l = c Q_l (Q_l orthogonal): ||W^T v|| = c ||v|| exactly, and near zero f' = 1/4, so each
    added layer multiplies ||delta_1|| / ||a_L - y|| by 0.25 c: the bound is then nearly tight."""
    rng = np.random.default_rng(0)
    c, width, depth = 0.05, 8, 10
    weights = [c * np.linalg.qr(rng.normal(size=(width, width)))[0] for _ in range(depth)]
    x, y = rng.normal(size=width), np.ones(width)
    shrink = []
    for d in range(1, depth + 1):
        out_error = chain.forward(weights[:d], x).a[-1] - y
        delta1 = chain.error_signals(weights[:d], x, y)[0]
        shrink.append(np.linalg.norm(delta1) / np.linalg.norm(out_error))
    np.testing.assert_allclose(shrink[1:], np.array(shrink[:-1]) * 0.25 * c, rtol=0.002)
    # ...and the first-layer bound 0.25 (0.25 c)^(L-1) is within 1% of it at every depth.
    bound = [0.25 * (0.25 * c) ** (d - 1) for d in range(1, depth + 1)]
    np.testing.assert_allclose(shrink, bound, rtol=0.01)
    assert np.all(np.array(shrink) <= bound)


def test_small_gaussian_weights_shrink_the_gradient_geometrically():
    """W ~ N(0, s^2), square n x n: a typical vector is stretched by s sqrt(n) (E||W^T v||^2 =
    n s^2 ||v||^2), so near zero the rate is 0.25 s sqrt(n); the bound's rate is 0.25 ||W||_2,
    about twice that since ||W||_2 is about 2 s sqrt(n)."""
    width, scale = 64, 0.2 / 8  # s sqrt(n) = 0.2
    sweep = chain.first_layer_gradient_vs_depth(range(1, 13), width, scale, seed=0)
    rate = chain.per_layer_rate(sweep.depths, sweep.grad_norm)
    assert rate == pytest.approx(0.25 * scale * math.sqrt(width), rel=0.1)
    assert chain.per_layer_rate(sweep.depths, sweep.bound) == pytest.approx(
        0.25 * sweep.weight_norm, rel=0.02
    )
    assert sweep.weight_norm == pytest.approx(2 * scale * math.sqrt(width), rel=0.1)
    assert np.all(sweep.grad_norm <= sweep.bound)
    assert np.all(np.diff(np.log(sweep.grad_norm)) < 0)


def test_depth_sweep_uses_nested_networks():
    sweep = chain.first_layer_gradient_vs_depth([1, 3, 5], width=4, scale=0.5, seed=2)
    net = chain.random_network([4] * 6, scale=0.5, seed=2)
    for depth, value in zip(sweep.depths, sweep.grad_norm, strict=True):
        expected = np.linalg.norm(chain.manual_backprop(net.weights[:depth], net.x, net.y)[0])
        assert value == pytest.approx(expected, rel=1e-14)
    assert (sweep.activation, sweep.width, sweep.scale) == ("sigmoid", 4, 0.5)


def test_per_layer_rate_recovers_a_geometric_sequence():
    depths = np.arange(1, 8)
    assert chain.per_layer_rate(depths, 3.0 * 0.4**depths) == pytest.approx(0.4, rel=1e-12)


# --- errors name the argument --------------------------------------------------------------------

W2 = [np.ones((3, 2)), np.ones((1, 3))]
X, Y = np.ones(2), np.ones(1)


@pytest.mark.parametrize(
    ("weights", "x", "y", "error", "match"),
    [
        (np.ones((3, 2)), X, Y, TypeError, "weights must be a list"),
        ([], X, Y, ValueError, "weights must contain at least one"),
        ([np.ones(3)], X, Y, ValueError, r"weights\[0\] must be a 2-D array"),
        ([np.ones((1, 2)), np.ones((2, 2, 2))], X, Y, ValueError, r"weights\[1\] must be a 2-D"),
        ([np.ones((3, 2)), "abc"], X, Y, TypeError, r"weights\[1\] must be a numeric"),
        (
            [np.ones((3, 2)), np.ones((1, 4))],
            X,
            Y,
            ValueError,
            r"weights\[1\] has shape \(1, 4\).*weights\[0\] has shape \(3, 2\)",
        ),
        (
            [np.ones((3, 2)), np.full((1, 3), np.nan)],
            X,
            Y,
            ValueError,
            r"weights\[1\] contains non-finite",
        ),
        (W2, np.ones((2, 1)), Y, ValueError, "x must be a 1-D array"),
        (W2, np.ones(3), Y, ValueError, "x has length 3.*must have length 2"),
        (W2, np.array([1.0, np.inf]), Y, ValueError, "x contains non-finite"),
        (W2, X, np.ones(2), ValueError, "y has length 2.*must have length 1"),
        (W2, X, np.ones((1, 1)), ValueError, "y must be a 1-D array"),
        (W2, X, np.array([np.nan]), ValueError, "y contains non-finite"),
    ],
)
def test_manual_backprop_rejects_bad_networks(weights, x, y, error, match):
    with pytest.raises(error, match=match):
        chain.manual_backprop(weights, x, y)


@pytest.mark.parametrize("name", ["relu", "Sigmoid", None])
def test_unknown_activation_lists_the_valid_names(name):
    for call in (
        lambda: chain.manual_backprop(W2, X, Y, name),
        lambda: chain.forward(W2, X, name),
        lambda: chain.depth_bound(3, 1.0, name),
        lambda: chain.first_layer_gradient_vs_depth([1, 2], 4, 0.1, activation=name),
    ):
        with pytest.raises(ValueError, match=r"activation.*'sigmoid', 'tanh'"):
            call()


def test_other_public_functions_validate_their_arguments():
    with pytest.raises(ValueError, match="x has length"):
        chain.backprop_factors(W2, np.ones(5))
    with pytest.raises(ValueError, match="y has length"):
        chain.first_layer_bound(W2, X, np.ones(3))
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        chain.depth_bound(0, 1.0)
    with pytest.raises(TypeError, match="depth must be a positive integer"):
        chain.depth_bound(2.5, 1.0)
    with pytest.raises(ValueError, match="weight_norm must be a finite number >= 0"):
        chain.depth_bound(3, -1.0)
    with pytest.raises(ValueError, match="depths must be a non-empty list"):
        chain.first_layer_gradient_vs_depth([], 4, 0.1)
    with pytest.raises(ValueError, match="depths must be a positive integer"):
        chain.first_layer_gradient_vs_depth([1, 0], 4, 0.1)
    with pytest.raises(ValueError, match="width must be a positive integer"):
        chain.first_layer_gradient_vs_depth([1, 2], 0, 0.1)
    with pytest.raises(ValueError, match="scale must be > 0"):
        chain.first_layer_gradient_vs_depth([1, 2], 4, 0.0)
    with pytest.raises(ValueError, match="scale must be a finite number >= 0"):
        chain.random_network([2, 2], scale=-1.0)
    with pytest.raises(ValueError, match="sizes must be a list of at least two"):
        chain.random_network([3])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer"):
        chain.random_network([3, 0])
    with pytest.raises(ValueError, match="W must be a 2-D array"):
        chain.spectral_norm(np.ones(3))
    with pytest.raises(ValueError, match="values must be > 0"):
        chain.per_layer_rate([1, 2], [1.0, 0.0])
    with pytest.raises(ValueError, match="same length >= 2"):
        chain.per_layer_rate([1, 2, 3], [1.0, 0.5])


# --- figures (helpers.plots.chain) draw the data they are given ----------------------------------


def test_figures_plot_the_values_on_log_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.plots import chain as chain_plots

    norms = np.array([1e-5, 1e-3, 1e-1])
    ax = chain_plots.layer_gradient_norms(norms).axes[0]
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], norms)

    sweep = chain.first_layer_gradient_vs_depth([1, 2, 3], width=4, scale=0.3)
    tanh = chain.first_layer_gradient_vs_depth([1, 2, 3], width=4, scale=0.3, activation="tanh")
    ax = chain_plots.gradient_vs_depth([sweep, tanh]).axes[0]
    assert ax.get_yscale() == "log" and "depth" in ax.get_xlabel()
    measured, bound = ax.lines[0], ax.lines[1]
    np.testing.assert_allclose(measured.get_ydata(), sweep.grad_norm)
    np.testing.assert_allclose(bound.get_ydata(), sweep.bound)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "sigmoid: measured",
        "sigmoid: bound",
        "tanh: measured",
        "tanh: bound",
    ]
    assert len(chain_plots.gradient_vs_depth(sweep, show_bound=False).axes[0].lines) == 1
    plt.close("all")
