"""helpers.clipping: clipping by norm caps the length and keeps the direction, clipping by value
bounds every component and bends the direction; the laws are property-tested with Hypothesis and
the in-place version is checked against ``torch.nn.utils.clip_grad_norm_``."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers.clipping import clip_by_norm, clip_by_value, clip_grad_norm, cosine, global_norm
from helpers.data.sequences import adding_problem
from helpers.models.recurrent import make_model

finite = st.floats(-1e6, 1e6, allow_nan=False, width=64)
vectors = arrays(np.float64, st.integers(1, 20), elements=finite)
thresholds = st.floats(1e-3, 1e3)


@settings(max_examples=200, deadline=None)
@given(g=vectors, max_norm=thresholds)
def test_clip_by_norm_caps_the_norm_keeps_direction_and_never_grows(g, max_norm):
    original = g.copy()
    clipped, norm = clip_by_norm(g, max_norm)
    assert norm == pytest.approx(np.linalg.norm(g), rel=1e-12)
    assert np.array_equal(g, original), "the input is not modified"
    assert np.linalg.norm(clipped) <= norm * (1 + 1e-12)
    assert np.linalg.norm(clipped) == pytest.approx(min(norm, max_norm), rel=1e-9, abs=1e-300)
    if norm <= max_norm:
        assert np.array_equal(clipped, g), "identity below the threshold"
    assume(norm > 1e-100)
    assert cosine(clipped, g) == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(g=vectors, max_value=thresholds)
def test_clip_by_value_bounds_every_component_and_never_grows(g, max_value):
    clipped = clip_by_value(g, max_value)
    assert np.all(np.abs(clipped) <= max_value)
    assert np.linalg.norm(clipped) <= np.linalg.norm(g) * (1 + 1e-12)


def test_clip_by_value_bends_the_direction_where_clip_by_norm_does_not():
    g = np.array([10.0, 0.1])
    by_value = clip_by_value(g, 1.0)
    by_norm, _ = clip_by_norm(g, 1.0)
    np.testing.assert_allclose(by_value, [1.0, 0.1])
    assert cosine(by_value, g) < 0.999
    assert cosine(by_norm, g) == pytest.approx(1.0)


def test_clip_by_norm_on_a_list_of_tensors_uses_the_global_norm():
    grads = [torch.tensor([3.0, 0.0]), torch.tensor([[4.0]])]
    clipped, norm = clip_by_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    torch.testing.assert_close(clipped[0], torch.tensor([0.6, 0.0]))
    torch.testing.assert_close(clipped[1], torch.tensor([[0.8]]))
    assert global_norm(clipped) == pytest.approx(1.0)
    assert cosine(clipped, grads) == pytest.approx(1.0)


@pytest.mark.parametrize("max_norm", [0.01, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    x, y = adding_problem(8, 15, seed=0)
    mine, theirs = make_model("lstm", seed=0), make_model("lstm", seed=0)
    for model in (mine, theirs):
        ((model(x) - y) ** 2).mean().backward()
    norm = clip_grad_norm(mine.parameters(), max_norm)
    torch_norm = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm)
    assert norm == pytest.approx(float(torch_norm), rel=1e-6)
    for a, b in zip(mine.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-9)


def test_clipping_errors():
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_norm(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="max_value"):
        clip_by_value(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="non-finite"):
        clip_by_norm(np.array([np.inf, 1.0]), 1.0)
    with pytest.raises(ValueError, match="zero vector"):
        cosine(np.zeros(2), np.ones(2))
