"""Notebook 09's adding problem: time per training step, and the full multi-seed comparison.

The notebook trains a tanh RNN and an LSTM for three seeds at T = 40; this module measures what
that costs and runs the wider study behind the notebook's claims: five seeds at T = 40 for the
tanh RNN, the LSTM and the GRU, and five LSTM seeds plus two RNN seeds at T = 80 (where the
notebook only describes what changes). Run alone with ``python -m benchmarks recurrent``; the
seed study takes a few minutes on one core.
"""

import os
import time

import numpy as np

from benchmarks import Row, best_of
from helpers import recurrent, sequences

HIDDEN, BATCH, STEPS, LR = 32, 32, 1000, 0.01
NOTEBOOK_SEEDS = 3


def _one_step(kind: str, length: int):
    """A closure running one Adam training step of a fresh model on one fixed batch."""
    import torch

    model = recurrent.make_model(kind, hidden_size=HIDDEN, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=LR, foreach=True)
    x, y = sequences.adding_problem(BATCH, length, seed=0)

    def step():
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def step_time() -> list[Row]:
    """Wall time per training step at T = 40 (best of 5 × 50 steps), and the notebook's total."""
    rows, per_step = [], {}
    for kind in ("rnn", "lstm", "gru"):
        per_step[kind] = best_of(_one_step(kind, 40), repeat=5, number=50)
        rows.append(Row(f"adding T=40, {kind}", "time per training step", per_step[kind] * 1e3,
                        "ms"))  # fmt: skip
    notebook = NOTEBOOK_SEEDS * STEPS * (per_step["rnn"] + per_step["lstm"])
    rows.append(Row("notebook 09 training (2 kinds x 3 seeds)", "estimated time", notebook, "s",
                    budget=30.0))  # fmt: skip
    return rows


STUDY = [  # (kind, length, seeds)
    ("rnn", 40, range(5)),
    ("lstm", 40, range(5)),
    ("gru", 40, range(5)),
    ("lstm", 80, range(5)),
    ("rnn", 80, range(2)),
]


def seed_study() -> list[Row]:
    """Held-out MSE after 1000 Adam steps, per kind, length and seed. Several minutes, so it runs
    only with VG_BENCH_SLOW=1 (`make bench-all`)."""
    if os.environ.get("VG_BENCH_SLOW") != "1":
        return []
    rows = []
    for kind, length, seeds in STUDY:
        start = time.perf_counter()
        runs = [recurrent.train_adding(kind, length, STEPS, seed) for seed in seeds]
        elapsed = time.perf_counter() - start
        mse = np.array([run.test_mse for run in runs])
        name = f"adding T={length}, {kind}, {len(runs)} seeds"
        rows += [
            Row(name, "seeds with test MSE < 0.01", float(np.sum(mse < 0.01)), "seeds"),
            Row(name, "seeds with test MSE < 0.15", float(np.sum(mse < 0.15)), "seeds"),
            Row(name, "median test MSE", float(np.median(mse)), ""),
            Row(name, "largest test MSE", float(np.max(mse)), ""),
            Row(name, "training time per run", elapsed / len(runs), "s"),
        ]
    return rows


BENCHMARKS = [step_time, seed_study]
