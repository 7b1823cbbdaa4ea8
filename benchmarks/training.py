"""The batched trainer against a loop over the same runs (helpers.training).

The course's comparisons train many copies of one small network: here 5 seeds × 3 learning rates
of a 10-layer, 32-wide sigmoid MLP on the toy regression (the cause × remedy matrix's network),
200 full-batch SGD steps, at batch 256 (the course's full batch; budget: at least 3× faster)
and at batch 32. CPU time of this thread (wall time inflates on a busy machine), best of 3.

On one thread the batched step at batch 256 is bound by arithmetic: its 27 large batched matrix
products run at about 125 GFLOP/s and take some 60% of it, while each looped run is about half
overhead. The last row gives the batched trainer a second thread (``VG_THREADS=2``, wall time),
which the loop over 8-kB tensors cannot use.
"""

import contextlib
import os
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


@contextlib.contextmanager
def _course_threads(count: int):
    before = os.environ.get("VG_THREADS")
    os.environ["VG_THREADS"] = str(count)
    try:
        yield
    finally:
        if before is None:
            del os.environ["VG_THREADS"]
        else:
            os.environ["VG_THREADS"] = before


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
    x, y = x_all, y_all
    looped_wall = best_of(lambda: _looped(x, y), repeat=3)
    with _course_threads(2):
        batched_wall = best_of(lambda: _batched(x, y), repeat=3)
    name = "train_many, 15 runs, batch 256"
    rows.append(Row(name, "looped, 1 thread (wall)", looped_wall, "s"))
    rows.append(Row(name, "batched, 2 threads (wall)", batched_wall, "s"))
    rows.append(Row(name, "speed-up, 2 threads", looped_wall / batched_wall, "x"))
    return rows


BENCHMARKS = [batched_speedup]
