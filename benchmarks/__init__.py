"""Speed and memory benchmarks, kept apart from the tests (no timing assertions there).

``python -m benchmarks`` (what ``make bench`` runs) imports every module of this package, runs the
functions listed in its ``BENCHMARKS`` and prints one table. To add a benchmark, add a module
with ``BENCHMARKS = [fn, ...]``; each ``fn()`` returns a list of :class:`Row`.
Timings are wall-clock (``time.perf_counter``), best of several repeats, on one torch thread.
"""

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the table: a measurement, its unit and, if it has one, its budget.

    ``budget`` is an upper limit in the same unit (None: informational); ``lower_is_better``
    False turns it into a lower limit (e.g. a speed-up of at least 5x).
    """

    benchmark: str
    measure: str
    value: float
    unit: str
    budget: float | None = None
    lower_is_better: bool = True

    @property
    def verdict(self) -> str:
        if self.budget is None:
            return ""
        ok = self.value < self.budget if self.lower_is_better else self.value >= self.budget
        return "ok" if ok else "OVER BUDGET"

    @property
    def budget_text(self) -> str:
        if self.budget is None:
            return ""
        return f"{'<' if self.lower_is_better else '>='} {self.budget:g} {self.unit}"


def best_of(
    fn: Callable[[], object], repeat: int = 5, number: int = 1, clock=time.perf_counter
) -> float:
    """Smallest time of ``repeat`` runs of ``number`` calls, per call, in seconds. ``clock`` is
    wall time by default; ``time.thread_time`` gives this thread's CPU time, which a busy
    machine inflates much less (a shared 2-core machine can stretch wall times several-fold)."""
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        for _ in range(number):
            fn()
        best = min(best, (clock() - start) / number)
    return best


def load_average() -> float:
    """The machine's 1-minute load average (NaN where the OS does not report it)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread (what helpers.course.setup chooses), restoring the count after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
