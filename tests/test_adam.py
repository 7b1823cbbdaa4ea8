"""helpers.adam: Adam's first step is lr·g/(|g| + ε), matches torch.optim.Adam, and exactly-zero
(or far-below-ε) gradients never move a weight."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import adam
from helpers.models import linear_layers, mlp, toy_regression


@pytest.mark.parametrize("g", [0.3, -2e-3, 1e-7, 1e-9, -1e-12, 0.0])
def test_adam_first_step_matches_torch_adam(g):
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=0.01)
    w.grad = torch.tensor([g], dtype=torch.float64)
    optimizer.step()
    assert -float(w.detach()) == pytest.approx(adam.adam_first_step(g, lr=0.01), rel=1e-9, abs=0)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e3, 1e3, allow_nan=False), st.floats(1e-6, 1.0), st.floats(0, 1e-4))
def test_adam_first_step_is_at_most_lr_and_never_against_the_gradient(g, lr, eps):
    step = adam.adam_first_step(g, lr=lr, eps=eps)
    assert abs(step) <= lr * (1 + 1e-12)
    assert step * g >= 0  # never against the gradient (0 when lr·g/ε underflows)
    if g == 0:
        assert step == 0
    if g != 0 and abs(g) >= 1e3 * eps:
        assert abs(step) == pytest.approx(lr, rel=1.01e-3)


def test_adam_first_step_rescales_large_gradients_but_not_those_far_below_eps():
    steps = adam.adam_first_step(np.array([1e-2, 1e-5, 1e-12, 0.0]), lr=1e-3)
    np.testing.assert_allclose(steps[:2], [1e-3, 1e-3], rtol=1e-3)
    assert steps[2] == pytest.approx(1e-3 * 1e-12 / 1e-8, rel=1e-3)
    assert steps[3] == 0.0
    with pytest.raises(ValueError, match="lr"):
        adam.adam_first_step(1.0, lr=0)


@pytest.mark.slow
def test_exactly_zero_gradients_stay_put_under_adam():
    model = mlp(20, 32, init="normal", scale=0.005, seed=0)
    x, y = toy_regression(256, seed=0)
    result = adam.adam_on_vanishing(model, x, y, steps=5, lr=1e-3)
    assert result.zero_gradients[0] == 1.0  # the first layer's gradient underflowed to 0
    assert result.unchanged[0] == 1.0  # ... and Adam never moved a single one of its weights
    assert result.largest_gradient[-1] > 1e-5 and result.unchanged[-1] == 0.0
    # layers whose gradients are nonzero but far below ε do not move either
    tiny = (result.largest_gradient > 0) & (result.largest_gradient < 1e-20)
    assert tiny.any() and (result.unchanged[tiny] == 1.0).all()
    # the model passed in is untouched
    assert torch.equal(
        linear_layers(model)[-1].weight,
        linear_layers(mlp(20, 32, init="normal", scale=0.005, seed=0))[-1].weight,
    )
