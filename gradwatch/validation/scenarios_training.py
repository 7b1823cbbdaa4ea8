"""Training-loop variations: mixed precision (bf16 autocast, fp16 with a GradScaler) and a frozen
pretrained backbone with a trained head (frozen by ``requires_grad_(False)`` or by running it
under ``torch.no_grad()``).

Float16 autocast works on the CPU in torch 2.13, so the fp16 runs use
``torch.autocast("cpu", dtype=torch.float16)`` with ``torch.amp.GradScaler("cpu")``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ._common import Outcome, Teacher, class_entropy, start
from .scenarios_mlp import HARD


def _mlp(act=nn.ReLU, depth=2, width=128, dim=32, classes=8):
    layers, d = [], dim
    for _ in range(depth):
        layers += [nn.Linear(d, width), act()]
        d = width
    return nn.Sequential(*layers, nn.Linear(width, classes))


def bf16_autocast(make_monitor, *, seed=0, steps=250):
    """A GELU MLP whose forward pass runs under ``torch.autocast("cpu", dtype=torch.bfloat16)``
    (AdamW, no scaler, as bf16 needs none), cut short while it is still learning."""
    start(seed)
    teacher = Teacher(**HARD)
    model = _mlp(nn.GELU)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = teacher.sample(64)
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, teacher.baseline())


def _train_fp16(model, make_monitor, teacher, opt, steps, batch=64):
    """The torch.amp recipe: fp16 autocast, scaled backward, record with the scaler, scaler step."""
    scaler = torch.amp.GradScaler("cpu")
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = teacher.sample(batch)
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.float16):
                loss = F.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            monitor.record(loss, scaler=scaler)  # the logged (unscaled) loss, and the scaler
            scaler.step(opt)
            scaler.update()
    return monitor


def fp16_grad_scaler(make_monitor, *, seed=0, steps=250):
    """A SiLU MLP trained in float16 autocast with ``torch.amp.GradScaler`` (Adam), cut short
    while it is still learning."""
    start(seed)
    teacher = Teacher(**HARD)
    model = _mlp(nn.SiLU, width=96)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    return Outcome(_train_fp16(model, make_monitor, teacher, opt, steps), teacher.baseline())


def fp16_sigmoid_deep(make_monitor, *, seed=0, steps=300, act="sigmoid"):
    """An 8-layer sigmoid MLP (default init, SGD + momentum) trained with fp16 autocast and a
    GradScaler: the scaler keeps tiny gradients from underflowing but cannot make σ' ≤ 1/4
    any larger, so the first layers still do not train."""
    start(seed)
    teacher = Teacher(dim=16, classes=4)
    if act == "sigmoid":
        model = _mlp(nn.Sigmoid, depth=8, width=64, dim=16, classes=4)
    else:
        model = _mlp(nn.ReLU, depth=8, width=64, dim=16, classes=4)
        for m in model:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Outcome(_train_fp16(model, make_monitor, teacher, opt, steps), teacher.baseline())


def _related_tasks():
    """An upstream teacher and a downstream one that shares its hidden layer (new readout)."""
    upstream = Teacher(**HARD)
    downstream = Teacher(**HARD)
    downstream.w1 = upstream.w1
    return upstream, downstream


def _pretrained_backbone(upstream, steps=300):
    """ "Load pretrained weights": a ReLU MLP body trained (without any monitor) upstream."""
    body = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
    head = nn.Linear(128, 8)
    opt = torch.optim.Adam([*body.parameters(), *head.parameters()], lr=1e-3)
    for _ in range(steps):
        x, y = upstream.sample(128)
        opt.zero_grad()
        F.cross_entropy(head(body(x)), y).backward()
        opt.step()
    return body


class Probe(nn.Module):
    """A pretrained backbone and a new linear head; ``no_grad`` runs the backbone graph-free."""

    def __init__(self, backbone, classes, no_grad=False):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(128, classes)
        self.no_grad = no_grad

    def forward(self, x):
        if self.no_grad:
            with torch.no_grad():
                features = self.backbone(x)
        else:
            features = self.backbone(x)
        return self.head(features)


def _train_probe(model, make_monitor, downstream, opt, steps, batch=128, coarse=False):
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = downstream.sample(batch)
            y = y // 2 if coarse else y
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            monitor.record(loss)
            opt.step()
    return monitor


def frozen_backbone_head(make_monitor, *, seed=0, steps=500, lr=1e-2):
    """A pretrained backbone frozen with ``requires_grad_(False)`` and a new linear head (Adam)
    for coarser labels (pairs of the upstream classes): a convex problem on fixed features,
    trained until the head has plateaued."""
    start(seed)
    upstream, _ = _related_tasks()
    backbone = _pretrained_backbone(upstream).requires_grad_(False)
    model = Probe(backbone, classes=4)
    opt = torch.optim.Adam(model.head.parameters(), lr=lr)
    monitor = _train_probe(model, make_monitor, upstream, opt, steps, coarse=True)
    return Outcome(monitor, class_entropy(upstream.sample(20000)[1] // 2, 4))


def no_grad_backbone_head(make_monitor, *, seed=0, steps=250, lr=1e-2):
    """A pretrained backbone run under ``torch.no_grad()`` inside forward (its parameters still
    require grad; only the head is given to Adam) and a new head for a related task (same
    teacher features, new readout), cut short while the head is still learning."""
    start(seed)
    upstream, downstream = _related_tasks()
    model = Probe(_pretrained_backbone(upstream), classes=8, no_grad=True)
    opt = torch.optim.Adam(model.head.parameters(), lr=lr)
    monitor = _train_probe(model, make_monitor, downstream, opt, steps)
    return Outcome(monitor, downstream.baseline())
