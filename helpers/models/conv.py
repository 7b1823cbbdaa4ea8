"""A 1-D convolutional network for signals (the capstone's mystery A): :func:`conv_net`.

Each :class:`ConvBlock` is Conv1d (kernel 3, the length kept) -> [BatchNorm1d] -> activation,
optionally residual; a linear read-out of all feature maps gives one logit. The initializations
are those of ``helpers.models.initializers``, applied to each kernel viewed as a matrix.
"""

from collections import OrderedDict

import torch
from torch import nn

from helpers import _validate
from helpers.activations import torch_activation
from helpers.models.initializers import INITIALIZERS, init_linear

__all__ = ["ConvBlock", "conv_net"]


class ConvBlock(nn.Module):
    """Conv1d (kernel 3, length kept) -> [BatchNorm1d] -> activation; with ``residual`` the block
    returns x + f(x) (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, activation: str, norm: bool, residual: bool):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel_size=3, padding=1)
        if norm:
            self.norm = nn.BatchNorm1d(c_out)
        self.act = torch_activation(activation)
        self.residual = residual

    def forward(self, x):
        z = self.conv(x)
        if hasattr(self, "norm"):
            z = self.norm(z)
        return x + self.act(z) if self.residual else self.act(z)


def conv_net(
    depth: int,
    channels: int,
    length: int,
    *,
    activation: str = "sigmoid",
    init: str = "default",
    scale: float | None = None,
    norm: str | None = None,
    residual: bool = False,
    seed: int = 0,
) -> nn.Sequential:
    """``depth`` :class:`ConvBlock` layers of ``channels`` channels on a 1-channel signal of
    ``length`` samples, then the flattened feature maps feed a Linear(channels·length, 1) logit.

    init as in ``helpers.models.mlp``: "default" keeps PyTorch's U(±1/√fan_in) with fan_in =
    channels_in × kernel size; the others apply ``helpers.models.INITIALIZERS`` to the kernel
    viewed as a (channels_out, channels_in·3) matrix, biases zero. norm: None or "batch".
    residual: blocks 2..depth add their input (block 1 changes the channel count, so it cannot).
    """
    depth = _validate.positive_int(depth, "depth")
    channels = _validate.positive_int(channels, "channels")
    length = _validate.positive_int(length, "length")
    _validate.choice(init, INITIALIZERS, "init")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(1, depth + 1):
            c_in = 1 if i == 1 else channels
            layers[f"block{i}"] = ConvBlock(
                c_in, channels, activation, norm == "batch", residual and i > 1
            )
        layers["flatten"] = nn.Flatten()
        layers["output"] = nn.Linear(channels * length, 1)
        model = nn.Sequential(layers)
        if init != "default":
            for module in model.modules():
                if isinstance(module, nn.Conv1d):
                    with torch.no_grad():
                        weight = module.weight.view(module.weight.shape[0], -1)
                        INITIALIZERS[init](weight, activation, scale)
                        module.bias.zero_()
            init_linear(model.output, init, activation, scale)
    return model
