"""Speed of notebook 07's comparison, and the learning-rate sweep behind its caveats.

``python -m benchmarks mitigations`` times the comparison (part of ``make bench``). Run as a
module for more:

    .venv/bin/python -m benchmarks.mitigations            # seconds per configuration
    .venv/bin/python -m benchmarks.mitigations --sweep    # final loss per configuration and lr

The sweep trains every configuration at four learning rates on seeds the comparison does not
use (100, 101), so what it shows is not fitted to the seeds the notebook reports.
"""

import argparse
import time
from dataclasses import replace

import numpy as np

from benchmarks import Row, one_thread
from helpers import mitigations as M
from helpers.models import mean_baseline_loss

SWEEP_SEEDS = (100, 101)
SGD_RATES = (0.01, 0.03, 0.1, 0.3)
ADAM_RATES = (1e-3, 3e-3, 1e-2, 3e-2)
# The notebook must run top to bottom in under 40 s; the comparison is most of it.
COMPARISON_BUDGET_S = 30.0


def _time_configurations(seeds=M.DEFAULT_SEEDS) -> dict:
    """{name: (wall s, CPU s)} for training every configuration once per seed (no cache)."""
    times = {}
    M.train_run("baseline", 0)  # warm up torch (first-call overheads)
    for name in M.MITIGATIONS:
        wall, cpu = time.perf_counter(), time.thread_time()
        for seed in seeds:
            M.train_run(name, seed)
        times[name] = (time.perf_counter() - wall, time.thread_time() - cpu)
    return times


def comparison_speed() -> list[Row]:
    """The whole comparison (every configuration x 3 seeds, notebook 07's budget)."""
    times = _time_configurations()
    wall = sum(w for w, _ in times.values())
    cpu = sum(c for _, c in times.values())
    slowest = max(times, key=lambda name: times[name][1])
    name = f"comparison, {len(times)} configs x {len(M.DEFAULT_SEEDS)} seeds"
    return [
        Row(name, "time", wall, "s", budget=COMPARISON_BUDGET_S),
        Row(name, "CPU time", cpu, "s"),
        Row(name, f"slowest config ({slowest}), CPU per run", times[slowest][1] / 3, "s"),
    ]


BENCHMARKS = [comparison_speed]


def print_configurations() -> None:
    print(f"{'configuration':22} {'wall s':>7} {'cpu s':>7}")
    for name, (wall, cpu) in _time_configurations().items():
        print(f"{name:22} {wall:7.2f} {cpu:7.2f}", flush=True)


def sweep(budget: M.Budget = M.DEFAULT_BUDGET) -> None:
    """Median final loss (and how many runs diverged) per configuration and learning rate."""
    _, y = M.training_data(budget)
    print(f"mean-predictor loss {mean_baseline_loss(y):.4f}; {budget.steps} steps; {SWEEP_SEEDS=}")
    for name, mitigation in M.MITIGATIONS.items():
        adam = mitigation.optimizer == "adam"
        cells = []
        for lr in ADAM_RATES if adam else SGD_RATES:
            b = replace(budget, adam_lr=lr) if adam else replace(budget, lr=lr)
            finals = np.array([M.train_run(name, s, b).final_loss for s in SWEEP_SEEDS])
            ok = finals[np.isfinite(finals)]
            text = f"{np.median(ok):.4f}" if ok.size else "  nan "
            cells.append(f"lr {lr:g}: {text}{'*' * (len(finals) - ok.size)}")
        print(f"{name:14} " + "  ".join(cells), flush=True)
    print("* one run diverged (NaN) per star")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="learning-rate sweep")
    args = parser.parse_args(argv)
    with one_thread():
        if args.sweep:
            sweep()
        else:
            print_configurations()


if __name__ == "__main__":
    main()
