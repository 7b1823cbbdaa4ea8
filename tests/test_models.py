"""helpers.models: layout, every init scheme's weight statistics, seeding, options and errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers.activations import ACTIVATIONS, gain
from helpers.models import (
    INITS,
    LEAKY_SLOPE,
    ResidualBlock,
    initialize,
    linear_layers,
    mean_baseline_loss,
    mlp,
    toy_regression,
)
from helpers.monitor import gradient_profile

WIDE = 400  # wide layers: sample variances within a few percent of the formula


def hidden_weight(model) -> torch.Tensor:
    """The second hidden layer's weight (width × width)."""
    return linear_layers(model)[1].weight.detach().double()


# --- layout --------------------------------------------------------------------------------------


@given(
    depth=st.integers(1, 6),
    width=st.integers(1, 12),
    in_features=st.integers(1, 4),
    out_features=st.integers(1, 3),
)
@settings(max_examples=25, deadline=None)
def test_layer_count_and_shapes(depth, width, in_features, out_features):
    model = mlp(depth, width, in_features=in_features, out_features=out_features, seed=0)
    layers = linear_layers(model)
    assert len(layers) == depth + 1
    assert layers[0].weight.shape == (width, in_features)
    assert all(layer.weight.shape == (width, width) for layer in layers[1:-1])
    assert layers[-1].weight.shape == (out_features, width)
    assert model(torch.zeros(5, in_features)).shape == (5, out_features)


def test_named_layout_linear_then_activation_output_last():
    model = mlp(3, 4, activation="tanh", seed=0)
    assert list(dict(model.named_children())) == [
        "linear1", "act1", "linear2", "act2", "linear3", "act3", "output",
    ]  # fmt: skip
    assert isinstance(model.output, nn.Linear) and isinstance(model.act2, nn.Tanh)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_is_the_matching_module(name):
    model = mlp(2, 3, activation=name, seed=0)
    x = torch.linspace(-3, 3, 9).reshape(-1, 1).repeat(1, 3)
    from helpers.activations import torch_activation

    expected = torch_activation(name)
    assert type(model.act1) is type(expected)
    torch.testing.assert_close(model.act1(x), expected(x))


def test_forward_is_the_composition_of_its_layers():
    model = mlp(2, 5, activation="sigmoid", seed=1).double()
    x = torch.randn(7, 2, dtype=torch.float64)
    w1, w2, w3 = (layer.weight for layer in linear_layers(model))
    b1, b2, b3 = (layer.bias for layer in linear_layers(model))
    expected = torch.sigmoid(torch.sigmoid(x @ w1.T + b1) @ w2.T + b2) @ w3.T + b3
    torch.testing.assert_close(model(x), expected)


# --- initialization: statistics match each formula -----------------------------------------------


def test_default_init_is_pytorch_uniform_not_he():
    model = mlp(2, WIDE, seed=0)
    w = hidden_weight(model)
    bound = 1 / math.sqrt(WIDE)
    assert w.abs().max() <= bound
    assert w.var().item() == pytest.approx(1 / (3 * WIDE), rel=0.03)  # He would be 2/WIDE
    b = linear_layers(model)[1].bias.detach()
    assert b.abs().max() <= bound and b.abs().max() > bound / 2  # PyTorch's bias, not zero


@pytest.mark.parametrize("scale", [0.005, 0.3, 2.0])
def test_normal_init_has_std_scale(scale):
    w = hidden_weight(mlp(2, WIDE, init="normal", scale=scale, seed=0))
    assert w.mean().item() == pytest.approx(0.0, abs=4 * scale / WIDE)
    assert w.std().item() == pytest.approx(scale, rel=0.02)
    kurtosis = ((w - w.mean()) ** 4).mean() / w.var() ** 2
    assert kurtosis.item() == pytest.approx(3.0, abs=0.1)  # Gaussian, not uniform (1.8)


def test_uniform_init_is_bounded_by_scale():
    w = hidden_weight(mlp(2, WIDE, init="uniform", scale=0.5, seed=0))
    assert w.abs().max() <= 0.5 and w.abs().max() > 0.499
    assert w.var().item() == pytest.approx(0.25 / 3, rel=0.02)


def test_xavier_is_glorot_normalized_init_without_gain():
    model = mlp(2, WIDE, in_features=40, activation="relu", init="xavier", seed=0)
    first, hidden = linear_layers(model)[0].weight.detach().double(), hidden_weight(model)
    assert hidden.var().item() == pytest.approx(2 / (WIDE + WIDE), rel=0.03)
    assert first.var().item() == pytest.approx(2 / (40 + WIDE), rel=0.03)  # 2/(fan_in+fan_out)
    assert first.abs().max() <= math.sqrt(6 / (40 + WIDE))  # Glorot's uniform bound


def test_xavier_scale_overrides_the_gain():
    g = gain("tanh")
    w = hidden_weight(mlp(2, WIDE, activation="tanh", init="xavier", scale=g, seed=0))
    assert w.var().item() == pytest.approx(g**2 * 2 / (2 * WIDE), rel=0.03)


@pytest.mark.parametrize(
    ("activation", "variance"),
    [
        ("relu", 2 / WIDE),
        ("leaky_relu", 2 / ((1 + LEAKY_SLOPE**2) * WIDE)),
        ("tanh", 2 / WIDE),  # "he" means Var = 2/fan_in whatever the activation
    ],
)
def test_he_variance(activation, variance):
    w = hidden_weight(mlp(2, WIDE, activation=activation, init="he", seed=0))
    assert w.var().item() == pytest.approx(variance, rel=0.03)


def test_he_scale_replaces_the_gain():
    w = hidden_weight(mlp(2, WIDE, activation="relu", init="he", scale=3.0, seed=0))
    assert w.var().item() == pytest.approx(9.0 / WIDE, rel=0.03)


@pytest.mark.parametrize(
    ("activation", "scale"), [("sigmoid", None), ("tanh", None), ("relu", None), ("tanh", 0.7)]
)
def test_orthogonal_rows_are_orthonormal_times_gain(activation, scale):
    model = mlp(2, 16, in_features=3, activation=activation, init="orthogonal", scale=scale, seed=0)
    g = gain(activation) if scale is None else scale
    w = hidden_weight(model)
    torch.testing.assert_close(
        w @ w.T, g**2 * torch.eye(16, dtype=torch.float64), atol=1e-6, rtol=0
    )  # float32 weights
    first = linear_layers(model)[0].weight.detach().double()  # 16 × 3: orthonormal columns
    torch.testing.assert_close(
        first.T @ first, g**2 * torch.eye(3, dtype=torch.float64), atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("init", [i for i in INITS if i != "default"])
def test_biases_start_at_zero_except_default(init):
    model = mlp(3, 8, init=init, scale=0.1, seed=0)
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in linear_layers(model))


def test_default_scale_multiplies_the_bound():
    w = hidden_weight(mlp(2, WIDE, init="default", scale=2.0, seed=0))
    assert w.abs().max() <= 2 / math.sqrt(WIDE)
    assert w.var().item() == pytest.approx(4 / (3 * WIDE), rel=0.03)


def test_output_layer_uses_the_same_scheme():
    model = mlp(2, WIDE, init="normal", scale=0.2, seed=0)
    assert linear_layers(model)[-1].weight.std().item() == pytest.approx(0.2, rel=0.15)


def test_scale_zero_gives_zero_weights():
    model = mlp(2, 4, init="normal", scale=0.0, seed=0)
    assert all(torch.count_nonzero(layer.weight) == 0 for layer in linear_layers(model))


# --- seeding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("init", INITS)
def test_same_seed_same_network(init):
    a, b = (mlp(3, 6, init=init, scale=0.5, seed=7) for _ in range(2))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_different_seeds_differ():
    a, b = mlp(2, 6, seed=1), mlp(2, 6, seed=2)
    assert not torch.equal(a.linear1.weight, b.linear1.weight)


def test_seed_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    mlp(3, 8, init="orthogonal", seed=5)
    assert torch.equal(torch.get_rng_state(), state)


def test_no_seed_draws_from_the_global_generator():
    torch.manual_seed(3)
    a = mlp(2, 5)
    torch.manual_seed(3)
    b = mlp(2, 5)
    c = mlp(2, 5)
    assert torch.equal(a.linear2.weight, b.linear2.weight)
    assert not torch.equal(b.linear2.weight, c.linear2.weight)


# --- options -------------------------------------------------------------------------------------


def test_no_bias():
    model = mlp(3, 4, bias=False, seed=0)
    assert all(layer.bias is None for layer in linear_layers(model))


@pytest.mark.parametrize(("norm", "kind"), [("batch", nn.BatchNorm1d), ("layer", nn.LayerNorm)])
def test_norm_sits_between_linear_and_activation(norm, kind):
    model = mlp(3, 6, norm=norm, seed=0)
    names = list(dict(model.named_children()))
    assert names[:3] == ["linear1", "norm1", "act1"]
    assert isinstance(model.norm2, kind) and names[-1] == "output"
    x = torch.randn(10, 2)
    z = model.norm1(model.linear1(x))
    torch.testing.assert_close(model.act1(z), model[:3](x))
    # Normalized pre-activations: mean 0, variance 1 (per unit for batch, per example for layer).
    dim = 0 if norm == "batch" else 1
    torch.testing.assert_close(z.mean(dim=dim), torch.zeros(z.shape[1 - dim]), atol=1e-5, rtol=0)
    assert model(x).shape == (10, 1)


def test_residual_blocks_add_the_input():
    model = mlp(3, 5, activation="tanh", residual=True, seed=0).double()
    names = list(dict(model.named_children()))
    assert names == ["linear1", "act1", "block2", "block3", "output"]
    assert isinstance(model.block2, ResidualBlock)
    h = torch.randn(4, 5, dtype=torch.float64)
    block = model.block2
    torch.testing.assert_close(block(h), h + torch.tanh(block.linear(h)))
    assert len(linear_layers(model)) == 4  # depth + 1, found in order
    assert linear_layers(model)[1] is model.block2.linear


def test_a_centred_scaled_branch_adds_s_times_f_minus_c():
    block = ResidualBlock(5, "sigmoid", None, True, centre=0.5, branch_scale=0.25).double()
    h = torch.randn(4, 5, dtype=torch.float64)
    expected = h + 0.25 * (torch.sigmoid(block.linear(h)) - 0.5)
    torch.testing.assert_close(block(h), expected)
    with torch.no_grad():  # a zero branch weight: σ(0) − ½ = 0, the block is the identity
        block.linear.weight.zero_()
        block.linear.bias.zero_()
    torch.testing.assert_close(block(h), h)


def test_residual_with_norm_and_depth_one():
    model = mlp(2, 4, residual=True, norm="layer", seed=0)
    assert isinstance(model.block2.norm, nn.LayerNorm)
    assert list(dict(mlp(1, 4, residual=True, seed=0).named_children())) == [
        "linear1", "act1", "output",
    ]  # fmt: skip


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"activation": "swish"}, ValueError, ["activation", "'swish'", "'sigmoid'", "'relu'"]),
        ({"init": "kaiming"}, ValueError, ["init", "'kaiming'", "'xavier'", "'he'"]),
        ({"norm": "group"}, ValueError, ["norm", "'group'", "'batch'", "'layer'", "None"]),
        ({"norm": True}, ValueError, ["norm"]),
        ({"init": "normal"}, ValueError, ["scale", "normal"]),
        ({"init": "uniform"}, ValueError, ["scale", "uniform"]),
        ({"init": "normal", "scale": -0.1}, ValueError, ["scale", "-0.1"]),
        ({"scale": float("nan")}, ValueError, ["scale"]),
        ({"scale": "big"}, TypeError, ["scale"]),
        ({"in_features": 0}, ValueError, ["in_features"]),
        ({"out_features": -2}, ValueError, ["out_features"]),
        ({"bias": 1}, TypeError, ["bias"]),
        ({"residual": "yes"}, TypeError, ["residual"]),
        ({"seed": 1.5}, TypeError, ["seed"]),
    ],
)
def test_bad_options_raise_naming_the_argument(kwargs, error, words):
    with pytest.raises(error) as info:
        mlp(2, 4, **kwargs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    ("depth", "width", "error", "argument"),
    [
        (0, 4, ValueError, "depth"),
        (-3, 4, ValueError, "depth"),
        (2.0, 4, TypeError, "depth"),
        (2, 0, ValueError, "width"),
        (2, -1, ValueError, "width"),
        (2, None, TypeError, "width"),
    ],
)
def test_bad_depth_or_width(depth, width, error, argument):
    with pytest.raises(error, match=argument):
        mlp(depth, width)


# --- the toy task --------------------------------------------------------------------------------


def test_toy_regression_is_seeded_and_shaped():
    x, y = toy_regression(50, seed=4)
    x2, y2 = toy_regression(50, seed=4)
    assert x.shape == (50, 2) and y.shape == (50, 1) and x.dtype == torch.float32
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, toy_regression(50, seed=5)[0])
    clean = torch.sin(2 * x[:, 0]) * torch.cos(x[:, 1])
    assert (y[:, 0] - clean).std().item() == pytest.approx(0.05, rel=0.3)  # the noise level


def test_toy_regression_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    toy_regression(10, in_features=1, seed=0)
    assert torch.equal(torch.get_rng_state(), state)


def test_toy_regression_errors():
    with pytest.raises(ValueError, match="n"):
        toy_regression(0)
    with pytest.raises(ValueError, match="noise"):
        toy_regression(10, noise=-1.0)


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=30), st.floats(-10, 10))
def test_mean_baseline_is_the_best_constant(values, constant):
    y = np.array(values)
    baseline = mean_baseline_loss(y)
    assert baseline == pytest.approx(np.var(y), abs=1e-9)
    assert np.mean((y - constant) ** 2) >= baseline - 1e-9


@pytest.mark.parametrize("init", INITS)
def test_initialize_redraws_by_the_same_rules(init):
    a = initialize(
        mlp(3, WIDE, activation="relu", seed=1), init, activation="relu", scale=0.3, seed=4
    )
    b = initialize(
        mlp(3, WIDE, activation="tanh", seed=2), init, activation="relu", scale=0.3, seed=4
    )
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)  # only the seed and the scheme matter, not the old weights
    reference = hidden_weight(mlp(3, WIDE, activation="relu", init=init, scale=0.3, seed=9))
    assert hidden_weight(a).var().item() == pytest.approx(reference.var().item(), rel=0.05)


def test_initialize_leaves_the_global_generator_and_other_modules_alone():
    model = mlp(2, 4, norm="layer", seed=0)
    with torch.no_grad():
        model.norm1.weight.fill_(2.0)
    state = torch.get_rng_state()
    initialize(model, "xavier", seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert (model.norm1.weight == 2.0).all()


def test_initialize_checks_its_arguments():
    model = mlp(2, 3, seed=0)
    with pytest.raises(TypeError, match="model"):
        initialize("model", "he")
    with pytest.raises(ValueError, match="'orthogonal'"):
        initialize(model, "lecun")
    with pytest.raises(ValueError, match="scale"):
        initialize(model, "uniform")
    with pytest.raises(TypeError, match="seed"):
        initialize(model, "he", seed="0")


def test_a_model_too_large_to_allocate_is_refused_up_front():
    from helpers.models import MAX_PARAMETERS, parameter_count

    with pytest.raises(ValueError, match=r"mlp\(depth=1, width=1000000000000\) would have 4e\+12"):
        mlp(1, 10**12)
    model = mlp(3, 7, in_features=4, out_features=2)
    assert parameter_count(3, 7, 4, 2) == sum(p.numel() for p in model.parameters())
    assert parameter_count(12, 3000, 2, 1) < MAX_PARAMETERS < parameter_count(13, 3000, 2, 1)


# --- residual connections and homogeneity, measured through the gradients ------------------------

X, Y = toy_regression(64, seed=3)


def test_residual_block_backward_is_identity_plus_branch_jacobian():
    """∂L/∂x_l = ∂L/∂x_(l+1) · (I + ∂f/∂x_l), checked with autograd Jacobians in float64."""
    torch.manual_seed(0)
    block = ResidualBlock(5, "sigmoid", None, True).double()
    x = torch.randn(5, dtype=torch.float64)
    upstream = torch.randn(5, dtype=torch.float64)  # ∂L/∂x_(l+1)
    jac_block = torch.autograd.functional.jacobian(block, x)
    jac_branch = torch.autograd.functional.jacobian(lambda v: block(v) - v, x)
    torch.testing.assert_close(jac_block, torch.eye(5, dtype=torch.float64) + jac_branch)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(block(x), x, upstream)
    torch.testing.assert_close(grad, upstream @ (torch.eye(5, dtype=torch.float64) + jac_branch))


@pytest.mark.parametrize("init, scale", [("default", None), ("normal", 0.005)])
def test_residual_blocks_keep_the_first_layer_weight_gradient_of_a_30_layer_sigmoid_net(
    init, scale
):
    def profile(residual):
        model = mlp(30, 32, init=init, scale=scale, residual=residual, seed=1).double()
        return gradient_profile(model, X.double(), Y.double())

    plain, res = profile(False), profile(True)
    assert plain[0] / plain[-2] < 1e-15  # first hidden layer vs last hidden layer: collapsed
    assert res[0] / res[-2] > 1e-3  # within about two orders of magnitude (plus input size)


@settings(max_examples=20, deadline=None)
@given(st.floats(min_value=0.3, max_value=3.0))
def test_bias_free_relu_net_is_positively_homogeneous(c):
    """Scaling every weight by c scales ∂(Σ output)/∂W_l by c^(L−1): why Xavier's 1/√2-smaller
    weights give every layer a gradient 2^(−(L−1)/2) times He's, not a decay across layers."""
    model = mlp(6, 8, activation="relu", init="he", bias=False, seed=0).double()
    scaled = mlp(6, 8, activation="relu", init="he", bias=False, seed=0).double()
    with torch.no_grad():
        for p in scaled.parameters():
            p.mul_(c)
    x = torch.randn(16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def loss_fn(out, _y):  # linear in the output, so the output's scale passes straight through
        return out.sum()

    g = gradient_profile(model, x, torch.zeros(16, 1), loss_fn=loss_fn)
    g_scaled = gradient_profile(scaled, x, torch.zeros(16, 1), loss_fn=loss_fn)
    np.testing.assert_allclose(g_scaled, g * c**6, rtol=1e-9)  # 7 Linear layers: L − 1 = 6
