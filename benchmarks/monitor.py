"""GradientMonitor's cost per training step, side by side with the alternatives, and the size of
its record over a long run.

Three models (issue 13): a 10 × 256 ReLU MLP (batch 256), an 8-layer 16-channel CNN on 16 × 16
images (batch 32) and a 12-layer transformer encoder (d = 32, sequence 16, batch 32), each
trained with Adam. Per step, against the unmonitored loop: the floor for reading gradient norms
at all (one ``torch._foreach_norm`` over the gradients), Lightning's ``grad_norm`` utility where
``lightning`` is installed, and the monitor at every step, at its default sampling and with
``forward_stats``. Budgets: ≤ 10% at every step, ≤ 2% at the default sampling, forward_stats
≤ 15%. Memory (issue 17): 100 × Linear(64, 64) over 100 000 recorded steps, under 50 MB and at
most 32 bytes per layer per stored row.
"""

import time

import numpy as np
import torch
from torch import nn

from benchmarks import Row
from helpers.monitor import GradientMonitor

STEPS = 200


def _mlp():
    layers = [nn.Linear(32, 256), nn.ReLU()]
    for _ in range(9):
        layers += [nn.Linear(256, 256), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(256, 1))
    return model, torch.randn(256, 32), torch.randn(256, 1)


def _cnn():
    layers, channels = [], 1
    for _ in range(8):
        layers += [nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU()]
        channels = 16
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * 16 * 16, 1))
    return model, torch.randn(32, 1, 16, 16), torch.randn(32, 1)


class _Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(16, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 12, enable_nested_tensor=False)
        self.head = nn.Linear(32, 16)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens))).flatten(0, 1)


def _transformer():
    tokens = torch.randint(0, 16, (32, 16))
    return _Transformer(), tokens, tokens.flip(1).reshape(-1)


MODELS = {
    "MLP 10 x 256, batch 256": (_mlp, nn.functional.mse_loss),
    "CNN 8 x 16 ch, 16 x 16, batch 32": (_cnn, nn.functional.mse_loss),
    "transformer 12 x d32, seq 16, batch 32": (_transformer, nn.functional.cross_entropy),
}


def _lightning_grad_norm():
    try:
        from lightning.pytorch.utilities import grad_norm
    except ImportError:
        return None
    return grad_norm


def _stepper(build, loss_fn, variant: str):
    torch.manual_seed(0)
    model, x, y = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    monitor, after_backward = None, None
    params = [p for p in model.parameters() if p.requires_grad]
    if variant == "foreach_norm floor":

        def after_backward(loss):
            torch._foreach_norm([p.grad for p in params])

    elif variant == "Lightning grad_norm":
        grad_norm = _lightning_grad_norm()

        def after_backward(loss):
            grad_norm(model, norm_type=2)

    elif variant != "plain":
        kwargs = {
            "monitor, every step": {"every": 1},
            "monitor, default every=10": {},
            "monitor + forward_stats, every step": {"every": 1, "forward_stats": True},
        }[variant]
        monitor = GradientMonitor(model, **kwargs)

        def after_backward(loss):
            monitor.record(loss)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if after_backward is not None:
            after_backward(loss)
        optimizer.step()

    return step, monitor


VARIANTS = (
    "plain",
    "foreach_norm floor",
    "Lightning grad_norm",
    "monitor, every step",
    "monitor, default every=10",
    "monitor + forward_stats, every step",
)
BUDGETS = {
    "monitor, every step": 10.0,
    "monitor, default every=10": 2.0,
    "monitor + forward_stats, every step": 15.0,
}


def _overheads(build, loss_fn) -> dict[str, float]:
    """Median CPU seconds per step of each variant, run step by step in turn so that the
    machine's load hits all alike (CPU time: a step is a millisecond or two, shorter than a busy
    scheduler's pauses)."""
    variants = [v for v in VARIANTS if v != "Lightning grad_norm" or _lightning_grad_norm()]
    runs = {v: _stepper(build, loss_fn, v) for v in variants}
    times: dict[str, list[float]] = {v: [] for v in runs}
    for _ in range(STEPS):
        for v, (step, _) in runs.items():
            start = time.thread_time()
            step()
            times[v].append(time.thread_time() - start)
    for _, monitor in runs.values():
        if monitor is not None:
            monitor.close()
    return {v: float(np.median(t[STEPS // 5 :])) for v, t in times.items()}  # warm-up dropped


def monitor_overhead() -> list[Row]:
    rows = []
    for name, (build, loss_fn) in MODELS.items():
        t = _overheads(build, loss_fn)
        rows.append(
            Row(f"monitor, {name}", "training step (Adam), CPU time", 1000 * t["plain"], "ms")
        )
        for variant, seconds in t.items():
            if variant == "plain":
                continue
            rows.append(
                Row(
                    f"monitor, {name}",
                    f"{variant}: overhead",
                    100 * (seconds / t["plain"] - 1),
                    "%",
                    budget=BUDGETS.get(variant),
                )
            )
    return rows


def record_memory(layers: int = 100, width: int = 64, steps: int = 100_000) -> list[Row]:
    """The record of ``layers`` × Linear(width, width) over ``steps`` recorded steps at the
    default every=10: 10 000 measured rows, more than the 8192 the store keeps, so the bound is
    reached; the same loss and gradients are recorded again and again (only the size counts)."""
    model = nn.Sequential(*[nn.Linear(width, width) for _ in range(layers)])
    monitor = GradientMonitor(model)
    loss = model(torch.randn(4, width)).square().mean()
    loss.backward()
    start = time.perf_counter()
    for _ in range(steps):
        monitor.record(loss)
    seconds = time.perf_counter() - start
    rows_kept = monitor.steps
    name = f"monitor record, {layers} x Linear({width}, {width}), {steps:,} steps, every=10"
    per_row = monitor.record_bytes / rows_kept / layers
    return [
        Row(name, "record size", monitor.record_bytes / 1e6, "MB", budget=50.0),
        Row(name, "bytes per layer per stored row", per_row, "B", budget=32.0),
        Row(name, f"rows kept of {monitor.calls // monitor.every:,} measured", rows_kept, ""),
        Row(name, "weight copy for update ratios (apart)", monitor.weight_copy_bytes / 1e6, "MB"),
        Row(name, "record() per call, averaged over the run", 1e6 * seconds / steps, "µs"),
    ]


def record_width_with_every_statistic(layers: int = 100, width: int = 64, rows: int = 2000):
    """Bytes per layer per stored row with every statistic the monitor keeps: forward statistics
    on (an activation module after every Linear). A row's size does not depend on how many rows
    there are, so 2000 measured steps suffice; the forward statistics of the steps recorded
    without a new forward pass are NaN, which takes the same room."""
    blocks = [m for _ in range(layers) for m in (nn.Linear(width, width), nn.ReLU())]
    model = nn.Sequential(*blocks)
    with GradientMonitor(model, every=1, forward_stats=True) as monitor:
        loss = model(torch.randn(4, width)).square().mean()
        loss.backward()
        for _ in range(rows):
            monitor.record(loss)
    name = f"monitor record, {layers} x (Linear({width}, {width}) + ReLU), forward_stats"
    per_row = monitor.record_bytes / monitor.steps / layers
    return [Row(name, "bytes per layer per stored row", per_row, "B", budget=32.0)]


BENCHMARKS = [monitor_overhead, record_memory, record_width_with_every_statistic]
