"""Notebook 07's configurations: training time per configuration, and the learning-rate sweep
behind its caveats. Not part of ``make bench`` (notebook 07's own time is measured by
:mod:`benchmarks.notebooks`); run as a module:

    .venv/bin/python -m benchmarks.mitigations            # seconds per configuration
    .venv/bin/python -m benchmarks.mitigations --sweep    # final loss per configuration and lr

The sweep trains every configuration at four learning rates on seeds the notebook does not use
(100, 101), so what it shows is not fitted to the seeds the notebook reports.
"""

import argparse
import time
from dataclasses import replace

import numpy as np

from benchmarks import one_thread
from helpers import mitigations as M
from helpers.models import mean_baseline_loss

SWEEP_SEEDS = (100, 101)
SGD_RATES = (0.01, 0.03, 0.1, 0.3)
ADAM_RATES = (1e-3, 3e-3, 1e-2, 3e-2)


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
