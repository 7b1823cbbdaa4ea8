"""helpers.jacobians: input-output and per-layer Jacobians against hand-built products, and the
deep Jacobian spectrum of Gaussian versus orthogonal weights."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers import jacobians
from helpers.models import mlp


def test_jacobian_of_a_linear_net_is_the_weight_product():
    model = mlp(3, 5, in_features=4, out_features=2, activation="linear", init="he", seed=0)
    product = torch.eye(4, dtype=torch.float64)
    for layer in [m for m in model if isinstance(m, nn.Linear)]:
        product = layer.weight.detach().double() @ product
    x = np.ones(4)
    np.testing.assert_allclose(
        jacobians.input_output_jacobian(model, x), product.numpy(), atol=1e-12
    )
    np.testing.assert_allclose(
        jacobians.jacobian_singular_values(model, x),
        np.linalg.svd(product.numpy(), compute_uv=False),
    )


def test_layer_jacobians_are_diag_slope_times_weight():
    model = mlp(2, 6, in_features=3, activation="tanh", init="xavier", seed=1)
    x = torch.randn(3, 3, generator=torch.Generator().manual_seed(0))
    svs = jacobians.layer_jacobian_singular_values(model, x)
    assert len(svs) == 2 and svs[0].shape == (3, 3) and svs[1].shape == (3, 6)
    w1 = model.linear1.weight.detach().double()
    z = x.double() @ w1.T + model.linear1.bias.detach().double()
    for i in range(3):
        jac = torch.diag(1 - torch.tanh(z[i]) ** 2) @ w1
        np.testing.assert_allclose(svs[0][i], torch.linalg.svdvals(jac).numpy(), rtol=1e-10)


def test_orthogonal_weights_concentrate_the_deep_jacobian_spectrum():
    gaussian = jacobians.deep_jacobian_spectrum("gaussian", depth=32, width=64, input_std=0.1)
    orthogonal = jacobians.deep_jacobian_spectrum("orthogonal", depth=32, width=64, input_std=0.1)
    assert np.log10(gaussian.max() / gaussian.min()) > 8  # spread over many decades
    assert orthogonal.max() / orthogonal.min() < 3  # measured about 2
    assert 0.3 < orthogonal.min() and orthogonal.max() < 1.01


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: jacobians.deep_jacobian_spectrum("uniform"), ValueError, "weights"),
        (
            lambda: jacobians.input_output_jacobian(nn.Linear(2, 2), np.ones((2, 2))),
            ValueError,
            "1-D",
        ),
        (
            lambda: jacobians.layer_jacobian_singular_values(nn.Linear(2, 2), np.ones((1, 2))),
            TypeError,
            "Sequential",
        ),
    ],
)
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
