"""helpers.attention: the softmax Jacobian in closed form against autograd, its laws (rows sum
to 0, symmetric, positive semi-definite, trace 1 − Σp²) for all logits (Hypothesis), its limits
(equal logits, one dominant logit), the query gradient against autograd, and the saturation
sweeps behind notebook 10 (Vaswani et al. 2017, §3.2.1)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers.attention import (
    SATURATED,
    dk_sweep,
    entropy,
    logit_scale_sweep,
    query_gradient,
    softmax,
    softmax_jacobian,
)

logit_vectors = arrays(
    np.float64, st.integers(1, 12), elements=st.floats(-30, 30, allow_nan=False, width=64)
)


@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_closed_form_jacobian_equals_autograd(n):
    gen = torch.Generator().manual_seed(n)
    z = 3 * torch.randn(n, generator=gen, dtype=torch.float64)
    expected = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=-1), z)
    torch.testing.assert_close(softmax_jacobian(z), expected, rtol=0, atol=1e-15)


def test_jacobian_of_a_batch_is_the_jacobian_of_each_row():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(3, 4, 6, generator=gen, dtype=torch.float64)
    jac = softmax_jacobian(z)
    assert jac.shape == (3, 4, 6, 6)
    for i in range(3):
        for j in range(4):
            row = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), z[i, j])
            torch.testing.assert_close(jac[i, j], row, rtol=0, atol=1e-15)


def test_arrays_in_give_arrays_out_and_tensors_keep_their_dtype():
    jac = softmax_jacobian([0.0, 1.0, 2.0])
    assert isinstance(jac, np.ndarray) and jac.dtype == np.float64
    assert softmax_jacobian(torch.zeros(3, dtype=torch.float32)).dtype == torch.float32
    p = softmax([0.0, 0.0])
    np.testing.assert_array_equal(p, [0.5, 0.5])


@settings(max_examples=200, deadline=None)
@given(z=logit_vectors)
def test_jacobian_laws_hold_for_all_logits(z):
    jac = softmax_jacobian(z)
    p = softmax(z)
    np.testing.assert_allclose(jac.sum(axis=1), 0, atol=1e-15)  # J·1 = 0
    np.testing.assert_array_equal(jac, jac.T)  # symmetric
    assert np.linalg.eigvalsh(jac).min() >= -1e-15  # positive semi-definite
    assert np.trace(jac) == pytest.approx(1 - np.sum(p**2), abs=1e-15)
    # xᵀJx is the variance of x under p, for any x
    x = np.arange(len(z), dtype=float)
    variance = np.sum(p * x**2) - np.sum(p * x) ** 2
    assert x @ jac @ x == pytest.approx(variance, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(z=logit_vectors, shift=st.floats(-100, 100))
def test_softmax_and_its_jacobian_ignore_a_common_shift(z, shift):
    np.testing.assert_allclose(softmax(z + shift), softmax(z), atol=1e-14)
    np.testing.assert_allclose(softmax_jacobian(z + shift), softmax_jacobian(z), atol=1e-14)


def test_equal_logits_give_the_uniform_jacobian():
    n = 8
    jac = softmax_jacobian(np.full(n, 2.5))
    np.testing.assert_allclose(jac, (np.eye(n) - np.ones((n, n)) / n) / n, atol=1e-16)
    assert np.linalg.norm(jac) == pytest.approx(math.sqrt(n - 1) / n)


def test_one_dominant_logit_makes_the_jacobian_vanish():
    norms = [np.linalg.norm(softmax_jacobian([gap, 0.0, 0.0, 0.0])) for gap in (0, 5, 10, 20, 40)]
    assert all(a > b for a, b in zip(norms, norms[1:], strict=False))
    # with ε = e^(−g): J_11 = p_1(1 − p_1) ≈ 3ε, J_1j = J_j1 ≈ −ε (six entries), J_jj ≈ ε
    # (three), the rest O(ε²): ‖J‖_F ≈ √(9 + 6 + 3)·ε
    assert norms[3] == pytest.approx(math.sqrt(18) * math.exp(-20), rel=1e-6)
    assert norms[4] < 1e-16
    assert np.array_equal(softmax_jacobian([5.0]), [[0.0]])  # one key: p = 1 whatever z is


def test_entropy_limits_and_values():
    assert entropy(np.full(16, 1 / 16)) == pytest.approx(math.log(16))
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    assert entropy([0.5, 0.5]) == pytest.approx(math.log(2))
    batch = entropy(torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64))
    torch.testing.assert_close(batch, torch.tensor([0.0, math.log(2)], dtype=torch.float64))


def test_query_gradient_equals_autograd():
    gen = torch.Generator().manual_seed(3)
    q = torch.randn(5, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    k = torch.randn(5, 6, 8, generator=gen, dtype=torch.float64)
    v = torch.randn(5, 6, 4, generator=gen, dtype=torch.float64)
    g = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    for scaled in (True, False):
        tau = math.sqrt(8) if scaled else 1.0
        p = torch.softmax((k @ q.unsqueeze(-1)).squeeze(-1) / tau, dim=-1)
        out = (p.unsqueeze(-1) * v).sum(dim=-2)
        (expected,) = torch.autograd.grad((out * g).sum(), q)
        got = query_gradient(q.detach(), k, v, g, scaled=scaled)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)


def test_logit_scale_zero_is_uniform_and_saturation_grows_with_the_scale():
    sweep = logit_scale_sweep([0, 1, 4, 16], n_keys=16, n_samples=500, seed=0)
    assert sweep.entropy[0] == pytest.approx(math.log(16), abs=1e-12)
    assert sweep.max_prob[0] == pytest.approx(1 / 16)
    assert sweep.jacobian_median[0] == pytest.approx(sweep.uniform_jacobian_norm)
    assert sweep.logit_std[0] == 0
    assert np.all(np.diff(sweep.entropy) < 0) and np.all(np.diff(sweep.max_prob) > 0)
    assert sweep.saturated_share[0] == 0 and sweep.saturated_share[-1] > 0.4
    # the typical query's Jacobian collapses once the logits are large
    assert sweep.jacobian_median[-1] < 0.05 * sweep.jacobian_median[1]
    assert np.isnan(sweep.query_grad_median).all()
    assert SATURATED == 0.99


def test_the_scale_keeps_logits_at_unit_variance_and_without_it_they_grow_like_sqrt_dk():
    d_ks = [4, 64, 256]
    scaled = dk_sweep(d_ks, scaled=True, n_samples=500, seed=1)
    raw = dk_sweep(d_ks, scaled=False, n_samples=500, seed=1)
    np.testing.assert_allclose(scaled.logit_std, 1, atol=0.06)
    np.testing.assert_allclose(raw.logit_std / np.sqrt(d_ks), 1, atol=0.06)
    # with the scale the statistics do not depend on d_k; without it the softmax saturates
    assert np.ptp(scaled.jacobian_median) < 0.05
    assert raw.jacobian_median[-1] < 0.05 * scaled.jacobian_median[-1]
    assert raw.logit_grad_median[-1] < 0.05 * scaled.logit_grad_median[-1]
    assert raw.saturated_share[-1] > 0.4 and scaled.saturated_share.max() < 0.01
    assert raw.entropy[-1] < 0.2 * scaled.entropy[-1]


def test_sweeps_are_reproducible_from_their_seed():
    a = dk_sweep([16, 64], scaled=False, n_samples=200, seed=7)
    b = dk_sweep([16, 64], scaled=False, n_samples=200, seed=7)
    c = dk_sweep([16, 64], scaled=False, n_samples=200, seed=8)
    fields = ("logit_std", "entropy", "jacobian_mean", "query_grad_median", "saturated_share")
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)
    assert not np.array_equal(a.jacobian_mean, c.jacobian_mean)


@pytest.mark.parametrize(
    ("call", "error", "argument"),
    [
        (lambda: softmax_jacobian([]), ValueError, "logits"),
        (lambda: softmax_jacobian([1.0, float("nan")]), ValueError, "logits"),
        (lambda: softmax_jacobian(torch.tensor([1, 2])), TypeError, "logits"),
        (lambda: softmax_jacobian(["a", "b"]), TypeError, "logits"),
        (lambda: entropy([0.5, 0.6]), ValueError, "p"),
        (lambda: entropy([1.5, -0.5]), ValueError, "p"),
        (lambda: logit_scale_sweep([-1.0]), ValueError, "scales"),
        (lambda: logit_scale_sweep([]), ValueError, "scales"),
        (lambda: logit_scale_sweep([1.0], n_keys=1), ValueError, "n_keys"),
        (lambda: logit_scale_sweep([1.0], n_samples=0), ValueError, "n_samples"),
        (lambda: logit_scale_sweep([1.0], seed=-1), ValueError, "seed"),
        (lambda: dk_sweep([0], scaled=True), ValueError, "d_ks"),
        (lambda: dk_sweep([2.5], scaled=True), ValueError, "d_ks"),
        (lambda: dk_sweep([4], scaled="yes"), TypeError, "scaled"),
        (lambda: dk_sweep([4], scaled=True, d_v=0), ValueError, "d_v"),
        (
            lambda: query_gradient(
                torch.zeros(4), torch.zeros(3, 5), torch.zeros(3, 2), torch.zeros(2)
            ),  # fmt: skip
            ValueError,
            "shapes",
        ),
        (lambda: query_gradient([0.0], [[0.0]], [[0.0]], [0.0]), TypeError, "q"),
    ],
)
def test_bad_arguments_raise_errors_that_name_them(call, error, argument):
    with pytest.raises(error, match=argument):
        call()
