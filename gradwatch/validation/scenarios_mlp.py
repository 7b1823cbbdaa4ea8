"""Fully connected scenarios: the initialisation, activation, learning-rate and loss-scale bugs
people write into plain MLPs, and their well-behaved look-alikes.

Each function is ``name(make_monitor, *, seed=0, steps=..., <the setting under test>)``; the
registry in :mod:`validation.scenarios` calls them with their defaults. The extra keyword is the
one thing an expert would change to fix (or break) the run; the evidence tests use it.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._common import Outcome, Teacher, batches, class_entropy, he_init, start, variance

HARD = dict(dim=32, classes=8, hidden=64)  # a teacher that takes a few hundred steps to learn


def _classify(model, make_monitor, teacher, optimizer, steps, batch=64, loss_scale=1.0):
    """The README recipe on fresh teacher-labelled batches (cross-entropy)."""
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = teacher.sample(batch)
            optimizer.zero_grad()
            loss = loss_scale * F.cross_entropy(model(x), y)
            loss.backward()
            monitor.record(loss)
            optimizer.step()
    return monitor


def tanh_mlp_tiny_init(make_monitor, *, seed=0, steps=300, init="tiny"):
    """An 8-layer tanh MLP initialised with N(0, 0.01²) (an old recipe's "small random weights"),
    trained with SGD + momentum: the signal and its gradient shrink ~12× per layer
    (``init="xavier"``: std (5/3)/√fan_in, the fix)."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    widths = [16] + [64] * 8
    layers = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(64, 4))
    for m in model:
        if isinstance(m, nn.Linear):
            std = 0.01 if init == "tiny" else 5 / 3 / math.sqrt(m.in_features)
            nn.init.normal_(m.weight, std=std)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


def relu_mlp_dead_units(make_monitor, *, seed=0, steps=300, bias=-1.0):
    """A 5-layer ReLU MLP whose biases were set to -1 "for sparse activations": from the second
    layer on every unit is dead, so no gradient reaches anything but the output bias."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    model = nn.Sequential(
        nn.Linear(16, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 4),
    )  # fmt: skip
    for m in list(model)[:-1]:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.bias, bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


class SharedActivationMLP(nn.Module):
    """Eight Linear layers and one activation module applied after each of them."""

    def __init__(self, act: nn.Module, width=64, depth=8, classes=4):
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Linear(16 if i == 0 else width, width) for i in range(depth)]
        )
        self.act = act  # one module, called `depth` times per forward pass
        self.out = nn.Linear(width, classes)

    def forward(self, x):
        for layer in self.layers:
            x = self.act(layer(x))
        return self.out(x)


def sigmoid_mlp_shared_activation(make_monitor, *, seed=0, steps=300, act="sigmoid"):
    """An 8-layer sigmoid MLP (PyTorch default init, SGD) that reuses one nn.Sigmoid module:
    σ' ≤ 1/4 per layer starves the first layers."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    model = SharedActivationMLP(nn.Sigmoid() if act == "sigmoid" else nn.ReLU())
    if act != "sigmoid":
        he_init(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


def relu_mlp_default_init_deep(make_monitor, *, seed=0, steps=300, init="default"):
    """A 20-layer plain ReLU MLP with PyTorch's default init (std 1/√(3·fan_in), not He's
    √(2/fan_in)): each layer scales the signal and the gradient by ~0.4."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    layers = [nn.Linear(16, 64), nn.ReLU()]
    for _ in range(19):
        layers += [nn.Linear(64, 64), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(64, 4))
    if init == "he":
        he_init(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


class TrunkAndHead(nn.Module):
    """A ModuleDict whose "head" is registered before the "trunk" it reads."""

    def __init__(self, depth=16, width=32):
        super().__init__()
        trunk = [nn.Linear(8, width), nn.Tanh()]
        for _ in range(depth - 1):
            trunk += [nn.Linear(width, width), nn.Tanh()]
        self.blocks = nn.ModuleDict({"head": nn.Linear(width, 1), "trunk": nn.Sequential(*trunk)})

    def forward(self, x):
        return self.blocks["head"](self.blocks["trunk"](x)).squeeze(1)


def _smooth_target(x, w):
    """A smooth nonlinear regression target with unit variance."""
    y = torch.sin(x @ w).sum(1)
    return y / 1.5


def moduledict_head_first(make_monitor, *, seed=0, steps=300, init="default"):
    """A 16-layer tanh regression trunk with PyTorch's default init (gain ≈ 0.58 per layer),
    held in a ModuleDict that registers the head first; SGD + momentum."""
    start(seed)
    w = torch.randn(8, 4) / math.sqrt(8) * 2
    x = torch.randn(4096, 8)
    y = _smooth_target(x, w)
    model = TrunkAndHead()
    if init == "xavier":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight, gain=5 / 3)
                nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    data = batches(x, y, size=64)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            xb, yb = next(data)
            opt.zero_grad()
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, variance(y))


def sigmoid_mlp_float64(make_monitor, *, seed=0, steps=300, act="sigmoid"):
    """A 10-layer sigmoid MLP moved to float64 with ``model.double()`` after the monitor was made
    ("more precision for the tiny gradients"): precision does not change σ' ≤ 1/4."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    layers = [nn.Linear(16, 64), nn.Sigmoid() if act == "sigmoid" else nn.ReLU()]
    for _ in range(9):
        layers += [nn.Linear(64, 64), nn.Sigmoid() if act == "sigmoid" else nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(64, 4))
    if act != "sigmoid":
        he_init(model)
    with make_monitor(model) as monitor:
        model.double()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(steps):
            x, y = teacher.sample(64)
            opt.zero_grad()
            loss = F.cross_entropy(model(x.double()), y)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, teacher.baseline())


def mlp_lr_too_large(make_monitor, *, seed=0, steps=200, lr=0.5):
    """A 6-layer He-initialised ReLU MLP trained with SGD at lr=0.5, momentum 0.9 (a learning
    rate copied from a shallow model)."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    layers = [nn.Linear(16, 128), nn.ReLU()]
    for _ in range(5):
        layers += [nn.Linear(128, 128), nn.ReLU()]
    model = he_init(nn.Sequential(*layers, nn.Linear(128, 4)))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


class Dense(nn.Module):
    """A hand-written linear layer: ``torch.randn`` weights times ``scale`` (1: no 1/√fan_in)."""

    def __init__(self, n_in, n_out, scale=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * scale)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


def randn_init_custom_layers(make_monitor, *, seed=0, steps=200, init="randn"):
    """Five custom ``Dense`` layers with ``torch.randn`` weights and ReLU, SGD lr=0.01: every
    layer multiplies the signal by ~√(fan_in/2) ≈ 8 (``init="he"``: times √(2/fan_in))."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)

    def dense(n_in, n_out):
        return Dense(n_in, n_out, 1.0 if init == "randn" else math.sqrt(2 / n_in))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            dims = [16, 128, 128, 128, 128]
            self.hidden = nn.ModuleList(
                [dense(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)]
            )
            self.out = dense(128, 4)

        def forward(self, x):
            for layer in self.hidden:
                x = F.relu(layer(x))
            return self.out(x)

    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


def sum_reduction_sgd(make_monitor, *, seed=0, steps=200, reduction="sum"):
    """A multi-output regression MLP whose loss is summed over a 256×8 batch instead of averaged,
    with the SGD learning rate (0.02) that was tuned for the mean: a 2048× larger step."""
    start(seed)
    w = torch.randn(10, 8)
    x = torch.randn(8192, 10)
    y = torch.tanh(x @ w / 3) * 2
    model = nn.Sequential(nn.Linear(10, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
    model.append(nn.Linear(64, 8))
    opt = torch.optim.SGD(model.parameters(), lr=0.02)
    data = batches(x, y, size=256)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            xb, yb = next(data)
            opt.zero_grad()
            loss = F.mse_loss(model(xb), yb, reduction=reduction)
            loss.backward()
            monitor.record(loss)
            opt.step()
    scale = 256 * 8 if reduction == "sum" else 1
    return Outcome(monitor, variance(y) * scale)


def _houses(n):
    """House prices from raw features: area (m²), year built, rooms; price in units of 100k."""
    area = 50 + 250 * torch.rand(n)
    year = torch.randint(1950, 2021, (n,)).float()
    rooms = torch.randint(1, 9, (n,)).float()
    price = 0.012 * area + 0.02 * (year - 1950) + 0.1 * rooms + 0.3 * torch.randn(n)
    return torch.stack([area, year, rooms], 1), price


def unscaled_features(make_monitor, *, seed=0, steps=200, standardize=False):
    """A small regression MLP fed raw features (a year ≈ 2000, an area ≈ 200) without
    standardisation, SGD lr=0.01: the curvature along those inputs is ~10⁶, far past 2/lr."""
    start(seed)
    x, y = _houses(4096)
    if standardize:
        x = (x - x.mean(0)) / x.std(0)
    model = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    data = batches(x, y, size=64)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            xb, yb = next(data)
            opt.zero_grad()
            loss = F.mse_loss(model(xb).squeeze(1), yb)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, variance(y))


def shuffled_labels(make_monitor, *, seed=0, steps=400, shuffle=True):
    """A healthy ReLU MLP (Adam) on a data set whose labels were permuted independently of the
    inputs (a data-loading bug): there is nothing to learn beyond the class frequencies."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    x, y = teacher.sample(8192)
    if shuffle:
        y = y[torch.randperm(len(y))]
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
    model.append(nn.Linear(64, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = batches(x, y, size=128)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            xb, yb = next(data)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, class_entropy(y, 4))


def _noisy_regression(n, noise=0.5):
    """y = sin(2x₁) + cos(x₂) (centred) + Gaussian noise of std ``noise``: MSE floor noise²."""
    x = 4 * torch.rand(n, 2) - 2
    y = torch.sin(2 * x[:, 0]) + torch.cos(x[:, 1]) - 0.7
    return x, y + noise * torch.randn(n)


def noise_floor_regression(make_monitor, *, seed=0, steps=500, noise=0.5):
    """A tanh MLP (Adam) fitting a smooth function plus noise of std 0.5: once it has the function
    the MSE sits at the noise variance, 0.25."""
    start(seed)
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
    model.append(nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = _noisy_regression(128, noise)
            opt.zero_grad()
            loss = F.mse_loss(model(x).squeeze(1), y)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, variance(_noisy_regression(20000, noise)[1]))


def spiral(n_per_class=200, arms=3, noise=0.2):
    """The classic cs231n spiral: ``arms`` interleaved spiral arms in 2-D."""
    r = torch.linspace(0.05, 1, n_per_class).repeat(arms)
    k = torch.arange(arms).repeat_interleave(n_per_class)
    t = k * (2 * math.pi / arms) + r * 4 + noise * torch.randn(len(r))
    return torch.stack([r * t.sin(), r * t.cos()], 1), k


def spiral_too_small(make_monitor, *, seed=0, steps=1500, hidden=3):
    """A 2-3-3 ReLU network on the 3-arm spiral, full batch, Adam: three hidden units cannot carve
    out spiral arms, so it settles at the best fit it can make."""
    start(seed)
    x, y = spiral()
    model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, class_entropy(y, 3))


def loss_scaled_down(make_monitor, *, seed=0, steps=500, weight=1e-4):
    """The noisy regression with the loss multiplied by 1e-4 (a multi-task weight left on the only
    loss) and logged that way; Adam does not care about the loss's scale, so it converges."""
    start(seed)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
    model.append(nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = _noisy_regression(128)
            opt.zero_grad()
            loss = weight * F.mse_loss(model(x).squeeze(1), y)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, weight * variance(_noisy_regression(20000)[1]))


def loss_scaled_up(make_monitor, *, seed=0, steps=250, weight=1e4):
    """A teacher-student classifier whose cross-entropy is multiplied by 1e4 (a loss in
    "basis points"), Adam lr=3e-4, stopped after 250 steps while it is still learning."""
    start(seed)
    teacher = Teacher(**HARD)
    model = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
    model.append(nn.Linear(128, 8))
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    monitor = _classify(model, make_monitor, teacher, opt, steps, loss_scale=weight)
    return Outcome(monitor, weight * teacher.baseline())


def lr_far_too_small(make_monitor, *, seed=0, steps=300, lr=0.01):
    """A 3-layer ReLU MLP trained with plain SGD at lr=0.01 (meant: 0.3): the gradients are fine,
    the steps are 30× too small, and the loss creeps down all run long."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    model = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
    model.append(nn.Linear(128, 4))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


class UnusedHeadNet(nn.Module):
    """An MLP that still registers an auxiliary head its forward pass no longer calls."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 128), nn.GELU())
        self.aux_head = nn.Linear(128, 10)  # left over from an experiment; never used
        self.head = nn.Linear(128, 8)

    def forward(self, x):
        return self.head(self.body(x))


def unused_module(make_monitor, *, seed=0, steps=250):
    """A GELU MLP with a registered but unused auxiliary head, Adam, cut short while learning."""
    start(seed)
    teacher = Teacher(**HARD)
    model = UnusedHeadNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


def weight_norm_mlp(make_monitor, *, seed=0, steps=250):
    """A ReLU MLP whose layers use ``torch.nn.utils.parametrizations.weight_norm`` (SGD +
    momentum, as in Salimans & Kingma), cut short while it is still learning."""
    from torch.nn.utils.parametrizations import weight_norm

    start(seed)
    teacher = Teacher(**HARD)
    model = nn.Sequential(
        weight_norm(nn.Linear(32, 128)), nn.ReLU(),
        weight_norm(nn.Linear(128, 128)), nn.ReLU(),
        weight_norm(nn.Linear(128, 8)),
    )  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=5e-3, momentum=0.9)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())


def gradient_accumulation(make_monitor, *, seed=0, steps=250, micro=8):
    """A tanh MLP trained with 8 micro-batches of 16 per optimizer step (loss / 8 each), recorded
    once per step after the last micro-batch's backward; cut short while learning."""
    start(seed)
    teacher = Teacher(**HARD)
    model = nn.Sequential(nn.Linear(32, 96), nn.Tanh(), nn.Linear(96, 96), nn.Tanh())
    model.append(nn.Linear(96, 8))
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            opt.zero_grad()
            step_loss = 0.0
            for _ in range(micro):
                x, y = teacher.sample(16)
                loss = F.cross_entropy(model(x), y) / micro
                loss.backward()
                step_loss += loss.item()
            monitor.record(step_loss)  # once per optimizer step: the step's mean loss
            opt.step()
    return Outcome(monitor, teacher.baseline())


def short_sigmoid_run(make_monitor, *, seed=0, steps=40):
    """The 8-layer shared-sigmoid MLP stopped after 40 steps: it looks stuck, but 40 steps at
    every=10 are 4 measured rows."""
    return sigmoid_mlp_shared_activation(make_monitor, seed=seed, steps=steps)


def short_healthy_run(make_monitor, *, seed=0, steps=40):
    """A good ReLU MLP (Adam) stopped after 40 steps: it is learning, but 4 rows are too few."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    model = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 4))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    return Outcome(_classify(model, make_monitor, teacher, opt, steps), teacher.baseline())
