"""GradientMonitor's cost as a fraction of a training step of a 10-layer MLP (budget < 10%).

The budgeted configuration is the course's: width 32, full-batch SGD on the 256 examples of
``helpers.models.toy_regression``. A 64-example batch is shown too: the monitor's cost depends on
the number of weights, not the batch, so its share grows as the step gets cheaper.
"""

import time

import numpy as np
import torch
from torch import nn

from benchmarks import Row
from helpers.models import mlp, toy_regression
from helpers.monitor import GradientMonitor

DEPTH, WIDTH, STEPS = 10, 32, 600


def _stepper(batch: int, make_monitor):
    """A function that runs one SGD step (with the monitor's record call, if any)."""
    model = mlp(DEPTH, WIDTH, activation="tanh", init="xavier", seed=0)
    x, y = toy_regression(batch, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    watcher = make_monitor(model) if make_monitor else None

    def step():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        if watcher is not None:
            watcher.record(loss)
        opt.step()

    return step, watcher


def _step_times(batch: int) -> dict[str, float]:
    """Median CPU seconds (``time.thread_time``) per step without a monitor, with one, and
    with forward statistics.

    The three run step by step in turn (not one after the other), so that the machine's load,
    which changes from second to second on a shared machine, hits all three alike; CPU time
    rather than wall time, because a step takes about a millisecond and a busy machine's
    scheduler pauses are longer than that.
    """
    runs = {
        "plain": _stepper(batch, None),
        "monitor": _stepper(batch, GradientMonitor),
        "forward": _stepper(batch, lambda m: GradientMonitor(m, forward_stats=True)),
    }
    times: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(STEPS):
        for key, (step, _) in runs.items():
            start = time.thread_time()
            step()
            times[key].append(time.thread_time() - start)
    runs["forward"][1].close()
    return {key: float(np.median(values)) for key, values in times.items()}


def monitor_overhead() -> list[Row]:
    rows = []
    for batch, budget in ((256, 10.0), (64, None)):
        t = _step_times(batch)
        name = f"monitor, MLP {DEPTH} x {WIDTH}, batch {batch}"
        rows += [
            Row(name, "training step (SGD), CPU time", t["plain"] * 1000, "ms"),
            Row(
                name,
                "GradientMonitor overhead",
                100 * (t["monitor"] / t["plain"] - 1),
                "%",
                budget=budget,
            ),
            Row(name, "with forward_stats=True", 100 * (t["forward"] / t["plain"] - 1), "%"),
        ]
    return rows


BENCHMARKS = [monitor_overhead]
