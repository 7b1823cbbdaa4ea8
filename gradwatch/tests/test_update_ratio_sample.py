"""Update ratios of large weight tensors read an evenly spaced sample of blocks (monitor.py's
``_ratio_stride``): the sample's ratio against the exact ‖ΔW‖/‖W‖, the sample's shape, and a
parameter whose storage is replaced."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gradwatch import GradientMonitor
from gradwatch.monitor import RATIO_BLOCK, RATIO_SAMPLE, _ratio_sample, _ratio_stride


def exact_ratios(model, optimizer, x, y, steps):
    """Train ``steps`` steps with a monitor at every step; return the monitor's update ratios
    and the exact ones, ‖W_k − W_(k−1)‖ / ‖W_(k−1)‖ per layer, computed in float64."""
    monitor = GradientMonitor(model, every=1)
    layers = [m for m in model if isinstance(m, nn.Linear)]
    exact = []
    before = None
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        now = [m.weight.detach().double().clone() for m in layers]
        if before is not None:
            pairs = zip(now, before, strict=True)
            exact.append([float((n - b).norm() / b.norm()) for n, b in pairs])
        monitor.record(loss)
        optimizer.step()
        before = now
    return monitor.update_ratios[1:], np.array(exact)


@pytest.mark.parametrize(
    ("optimizer", "lr"), [(torch.optim.SGD, 0.05), (torch.optim.Adam, 1e-3)], ids=["SGD", "Adam"]
)
def test_a_sampled_ratio_is_within_a_few_percent_of_the_exact_one(optimizer, lr):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 300), nn.ReLU(), nn.Linear(300, 300), nn.ReLU())
    model.append(nn.Linear(300, 1))
    x, y = torch.randn(64, 16), torch.randn(64, 1)
    sampled, exact = exact_ratios(model, optimizer(model.parameters(), lr=lr), x, y, 12)
    assert model[2].weight.numel() > 2 * RATIO_SAMPLE  # the middle layer is sampled
    np.testing.assert_allclose(sampled[:, 1], exact[:, 1], rtol=0.05)
    # layers small enough to be read whole are exact
    np.testing.assert_allclose(sampled[:, [0, 2]], exact[:, [0, 2]], rtol=1e-4)


def test_dead_units_do_not_bias_the_sample():
    """Rows of a weight that never move (dead output units) are sampled in proportion."""
    torch.manual_seed(1)
    layer = nn.Linear(256, 256, bias=False)
    model = nn.Sequential(layer)
    monitor = GradientMonitor(model, every=1)
    before = layer.weight.detach().double().clone()
    layer(torch.randn(2, 256)).sum().backward()
    monitor.record(0.0)
    with torch.no_grad():
        layer.weight[::4] += 0.01  # a quarter of the rows move
    layer(torch.randn(2, 256)).sum().backward()
    monitor.record(0.0)
    want = float((layer.weight.detach().double() - before).norm() / before.norm())
    assert monitor.update_ratios[1, 0] == pytest.approx(want, rel=0.05)


def test_replaced_storage_is_read_afresh():
    """``p.data = ...`` (same shape and dtype) gives the parameter new storage: the sample
    follows it instead of reading the old tensor."""
    torch.manual_seed(2)
    layer = nn.Linear(128, 128, bias=False)
    monitor = GradientMonitor(nn.Sequential(layer), every=1)
    layer(torch.randn(2, 128)).sum().backward()
    monitor.record(0.0)
    before = layer.weight.detach().double().clone()
    layer.weight.data = layer.weight.detach() * 1.5  # new storage, 50% larger
    layer(torch.randn(2, 128)).sum().backward()
    monitor.record(0.0)
    want = float((layer.weight.detach().double() - before).norm() / before.norm())
    assert want == pytest.approx(0.5)
    assert monitor.update_ratios[1, 0] == pytest.approx(want, rel=1e-4)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 1000),
    columns=st.integers(1, 1000),
    trailing=st.sampled_from([(), (3, 3), (5,)]),
)
def test_the_sample_visits_every_column_block_evenly(rows, columns, trailing):
    weight = torch.empty(rows, columns, *trailing)
    stride = _ratio_stride(weight, embedding=False)
    n = weight.numel()
    if n <= 2 * RATIO_SAMPLE:
        assert stride is None
        return
    sample = _ratio_sample(weight, stride)
    assert sample.shape[1] == RATIO_BLOCK
    assert RATIO_SAMPLE // 3 <= sample.numel() <= 3 * RATIO_SAMPLE
    blocks_per_row = max(1, n // rows // RATIO_BLOCK)
    assert math.gcd(stride, blocks_per_row) == 1
    assert sample.data_ptr() == weight.data_ptr()  # a view: no copy of the weight


def test_embeddings_and_non_contiguous_weights_are_read_whole():
    assert _ratio_stride(torch.empty(1000, 100), embedding=True) is None
    assert _ratio_stride(torch.empty(1000, 100).t(), embedding=False) is None
    assert _ratio_stride(torch.empty(90, 90), embedding=False) is None  # ≤ 2·RATIO_SAMPLE
