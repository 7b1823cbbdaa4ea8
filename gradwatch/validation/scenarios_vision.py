"""Convolutional scenarios on small synthetic images: a deep sigmoid CNN and a BatchNorm CNN on
bar orientations, and two convolutional autoencoders with ConvTranspose decoders on blob images.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ._common import Outcome, class_entropy, he_init, start, variance

# The four bar orientations as (row, column) offsets of five pixels around a centre.
_BARS = torch.tensor(
    [
        [(0, -2), (0, -1), (0, 0), (0, 1), (0, 2)],  # horizontal
        [(-2, 0), (-1, 0), (0, 0), (1, 0), (2, 0)],  # vertical
        [(-2, -2), (-1, -1), (0, 0), (1, 1), (2, 2)],  # diagonal
        [(-2, 2), (-1, 1), (0, 0), (1, -1), (2, -2)],  # anti-diagonal
    ]
)


def bars(n: int, size: int = 12, noise: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` noisy 1×size×size images of one 5-pixel bar at a random place; label: orientation."""
    y = torch.randint(0, 4, (n,))
    centre = torch.randint(2, size - 2, (n, 2))
    pixels = centre[:, None, :] + _BARS[y]  # (n, 5, 2)
    img = noise * torch.randn(n, 1, size, size)
    rows = torch.arange(n)[:, None].expand(n, 5)
    img[rows, 0, pixels[..., 0], pixels[..., 1]] += 1.0
    return img, y


class ConvNet(nn.Module):
    """``depth`` 3×3 convolutions (optionally with BatchNorm), global average pool, linear head."""

    def __init__(self, act: type[nn.Module], depth: int, channels: int = 8, bn: bool = False):
        super().__init__()
        blocks, c_in = [], 1
        for _ in range(depth):
            blocks.append(nn.Conv2d(c_in, channels, 3, padding=1, bias=not bn))
            if bn:
                blocks.append(nn.BatchNorm2d(channels))
            blocks.append(act())
            c_in = channels
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(channels, 4)

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


def _train_bars(model, make_monitor, opt, steps, batch=32):
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = bars(batch)
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return monitor


def sigmoid_cnn_deep(make_monitor, *, seed=0, steps=250, act="sigmoid"):
    """An 8-layer all-sigmoid CNN (PyTorch default init, SGD + momentum), LeNet-era style, on bar
    orientations: σ' ≤ 1/4 at every layer starves the early filters."""
    start(seed)
    if act == "sigmoid":
        model = ConvNet(nn.Sigmoid, depth=8)
    else:  # the usual fix: BatchNorm and ReLU
        model = ConvNet(nn.ReLU, depth=8, bn=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Outcome(_train_bars(model, make_monitor, opt, steps), class_entropy(bars(20000)[1], 4))


def bn_cnn(make_monitor, *, seed=0, steps=200):
    """A 6-layer Conv-BatchNorm-ReLU CNN (SGD + momentum) on bar orientations, stopped after 200
    steps while the loss is still falling."""
    start(seed)
    model = ConvNet(nn.ReLU, depth=6, bn=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return Outcome(_train_bars(model, make_monitor, opt, steps), class_entropy(bars(20000)[1], 4))


def blobs(n: int, size: int = 16) -> torch.Tensor:
    """``n`` 1×size×size images, each the sum of two Gaussian bumps at random places."""
    grid = torch.arange(size).float()
    centres = torch.rand(n, 2, 2) * (size - 4) + 2  # (image, bump, row/col)
    dr = (grid[None, None, :] - centres[..., 0:1]) ** 2  # (n, 2, size)
    dc = (grid[None, None, :] - centres[..., 1:2]) ** 2
    img = torch.exp(-(dr[..., :, None] + dc[..., None, :]) / 4.0).sum(1)
    return img[:, None]


class ConvAutoencoder(nn.Module):
    """Strided-conv encoder to a 4×4 code, ConvTranspose decoder back to 16×16."""

    def __init__(self, act: type[nn.Module], extra: int = 0):
        super().__init__()
        enc = [nn.Conv2d(1, 16, 4, 2, 1), act(), nn.Conv2d(16, 32, 4, 2, 1), act()]
        dec = [nn.ConvTranspose2d(32, 16, 4, 2, 1), act()]
        for _ in range(extra):  # more same-size layers on both sides
            enc += [nn.Conv2d(32, 32, 3, 1, 1), act()]
            dec = [nn.ConvTranspose2d(32, 32, 3, 1, 1), act()] + dec
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec, nn.ConvTranspose2d(16, 1, 4, 2, 1))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def _train_autoencoder(model, make_monitor, opt, steps, batch=32):
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x = blobs(batch)
            opt.zero_grad()
            loss = F.mse_loss(model(x), x)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return monitor


def conv_autoencoder(make_monitor, *, seed=0, steps=300):
    """A ReLU conv autoencoder with a ConvTranspose decoder (Adam), stopped while the
    reconstruction error is still falling."""
    start(seed)
    model = ConvAutoencoder(nn.ReLU)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return Outcome(_train_autoencoder(model, make_monitor, opt, steps), variance(blobs(4000)))


def sigmoid_conv_autoencoder(make_monitor, *, seed=0, steps=300, act="sigmoid"):
    """An 8-layer sigmoid conv autoencoder (ConvTranspose decoder, SGD + momentum), the pre-ReLU
    style: the decoder's last bias learns the mean image and nothing deeper trains."""
    start(seed)
    if act == "sigmoid":
        model = ConvAutoencoder(nn.Sigmoid, extra=2)
    else:
        model = he_init(ConvAutoencoder(nn.ReLU, extra=2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Outcome(_train_autoencoder(model, make_monitor, opt, steps), variance(blobs(4000)))
