"""helpers.models.conv: the 1-D convolutional net of the capstone (shapes, initializations,
residual blocks)."""

import math

import pytest
import torch

from helpers.models import conv


def test_conv_net_shapes_and_he_variance():
    model = conv.conv_net(3, 16, 20, activation="relu", init="he", seed=0)
    assert model(torch.zeros(5, 1, 20)).shape == (5, 1)
    weights = model.block2.conv.weight.detach()
    assert float(weights.var()) == pytest.approx(2.0 / (16 * 3), rel=0.15)  # He: 2/fan_in
    assert float(model.block2.conv.bias.detach().abs().max()) == 0.0


def test_conv_net_default_init_is_pytorchs_and_seeded():
    a = conv.conv_net(2, 4, 8, seed=1)
    b = conv.conv_net(2, 4, 8, seed=1)
    bound = 1 / math.sqrt(4 * 3)
    assert torch.equal(a.block2.conv.weight, b.block2.conv.weight)
    assert float(a.block2.conv.weight.detach().abs().max()) <= bound


def test_conv_net_residual_block_adds_its_input():
    model = conv.conv_net(2, 4, 8, activation="relu", residual=True, seed=0)
    h = torch.randn(3, 4, 8)
    block = model.block2
    assert torch.allclose(block(h), h + torch.relu(block.conv(h)))
    assert not model.block1.residual  # 1 -> 4 channels: no skip


def test_conv_net_rejects_unknown_init():
    with pytest.raises(ValueError, match="unknown init 'lecun'"):
        conv.conv_net(2, 4, 8, init="lecun")
