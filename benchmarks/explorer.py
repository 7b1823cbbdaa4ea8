"""Notebook 03's gradient-profile explorer: compute + redraw per control change, at the largest
size it offers (width 64, depth 50)."""

import time

import numpy as np

from benchmarks import Row, best_of
from helpers.explorers.gradient_profile import (
    MAX_DEPTH,
    MAX_WIDTH,
    GradientProfileExplorer,
    compute,
)

# A learner's session: sweep the scale, switch activation and init, change depth and back.
CHANGES = [
    *[("scale", float(s)) for s in np.geomspace(0.003, 5.0, 12)],
    ("activation", "tanh"), ("scale", 0.2), ("activation", "relu"), ("init", "he"),
    ("init", "orthogonal"), ("init", "xavier"), ("activation", "sigmoid"), ("init", "normal"),
    ("depth", 30), ("depth", MAX_DEPTH), ("width", 48), ("width", MAX_WIDTH),
]  # fmt: skip


def explorer_speed() -> list[Row]:
    explorer = GradientProfileExplorer(depth=MAX_DEPTH, width=MAX_WIDTH, scale=0.1)
    times, cpu = [], []
    for _ in range(3):  # the first pass warms caches; keep the best time of each change
        session, session_cpu = [], []
        for control, value in CHANGES:
            start, start_cpu = time.perf_counter(), time.thread_time()
            getattr(explorer, control).value = value
            session.append(time.perf_counter() - start)
            session_cpu.append(time.thread_time() - start_cpu)
        times.append(session)
        cpu.append(session_cpu)
    per_change = np.min(times, axis=0) * 1000
    per_change_cpu = np.min(cpu, axis=0) * 1000
    profile = compute(MAX_DEPTH, MAX_WIDTH, "sigmoid", "normal", 0.1)
    compute_ms = best_of(lambda: compute(MAX_DEPTH, MAX_WIDTH, "sigmoid", "normal", 0.1)) * 1000
    blit_ms = best_of(lambda: explorer.draw(profile)) * 1000

    def full_draw():
        explorer._grad_key = explorer._sat_key = None
        explorer.draw(profile)

    full_ms = best_of(full_draw) * 1000
    name = f"explorer {MAX_DEPTH} layers x {MAX_WIDTH}"
    return [
        Row(
            name,
            f"median per change ({len(CHANGES)} changes)",
            float(np.median(per_change)),
            "ms",
            budget=100.0,
        ),
        Row(name, "slowest change", float(per_change.max()), "ms", budget=100.0),
        Row(name, "median per change, CPU time", float(np.median(per_change_cpu)), "ms"),
        Row(name, "slowest change, CPU time", float(per_change_cpu.max()), "ms"),
        Row(name, "compute only", compute_ms, "ms"),
        Row(name, "redraw, axes kept (blit + PNG)", blit_ms, "ms"),
        Row(name, "redraw, axes changed (full + PNG)", full_ms, "ms"),
    ]


BENCHMARKS = [explorer_speed]
