"""The batched trainer against a loop over the same runs (helpers.training).

The course's comparisons train many copies of one small network: here 5 seeds × 3 learning rates
of a 10-layer, 32-wide sigmoid MLP on the toy regression (the cause × remedy matrix's network),
200 full-batch SGD steps, at batch 256 (the course's full batch; budget: at least 3× faster)
and at batch 32. CPU time of this thread (wall time inflates on a busy machine), best of 3.
"""

import time

from benchmarks import Row, best_of
from helpers import training
from helpers.data import toy_regression
from helpers.models import mlp

SEEDS, LRS, STEPS = range(5), (0.3, 1.0, 3.0), 200


def _build(seed: int):
    return mlp(10, 32, seed=seed)


def _looped(x, y) -> None:
    for seed in SEEDS:
        for lr in LRS:
            training.train(_build(seed), (x, y), steps=STEPS, lr=lr)


def _batched(x, y) -> None:
    training.train_many(_build, (x, y), seeds=SEEDS, lrs=LRS, steps=STEPS)


def batched_speedup() -> list[Row]:
    rows = []
    x_all, y_all = toy_regression(256, seed=0)
    for batch, budget in ((256, 3.0), (32, None)):
        x, y = x_all[:batch], y_all[:batch]
        looped = best_of(lambda x=x, y=y: _looped(x, y), repeat=3, clock=time.thread_time)
        batched = best_of(lambda x=x, y=y: _batched(x, y), repeat=3, clock=time.thread_time)
        name = f"train_many, 15 runs, batch {batch}"
        rows.append(Row(name, "looped runs (CPU)", looped, "s"))
        rows.append(Row(name, "batched (CPU)", batched, "s"))
        rows.append(Row(name, "speed-up", looped / batched, "x", budget, lower_is_better=False))
    return rows


BENCHMARKS = [batched_speedup]
