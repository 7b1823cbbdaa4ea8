"""The depth × scale sweep of notebook 03: batched versus one gradient_profile call per point."""

import time

import numpy as np

from benchmarks import Row, best_of
from helpers.sweep import first_layer_gradient_map, first_layer_gradient_map_naive

DEPTHS = np.arange(1, 41)  # 40 depths
SCALES = np.geomspace(0.01, 10.0, 30)  # × 30 scales
WIDTH = 32


def sweep_speed() -> list[Row]:
    """Batched map (best of 3) against the naive loop over the same 1200 points (one run)."""
    batched = best_of(lambda: first_layer_gradient_map(DEPTHS, SCALES, width=WIDTH), repeat=3)
    batched_cpu = best_of(
        lambda: first_layer_gradient_map(DEPTHS, SCALES, width=WIDTH),
        repeat=3,
        clock=time.thread_time,
    )
    start, start_cpu = time.perf_counter(), time.thread_time()
    naive = first_layer_gradient_map_naive(DEPTHS, SCALES, width=WIDTH)
    naive_time = time.perf_counter() - start
    naive_cpu = time.thread_time() - start_cpu
    fast = first_layer_gradient_map(DEPTHS, SCALES, width=WIDTH)
    error = np.abs(fast.grad / naive.grad - 1)
    ordered = SCALES <= 1.0  # below the sigmoid band: no chaotic amplification of rounding
    name = f"sweep {len(DEPTHS)}x{len(SCALES)}, width {WIDTH}"
    return [
        Row(name, "batched time", batched, "s", budget=2.0),
        Row(name, "batched CPU time", batched_cpu, "s"),
        Row(name, "naive loop time (one run)", naive_time, "s"),
        Row(name, "naive loop CPU time", naive_cpu, "s"),
        Row(name, "speed-up", naive_time / batched, "x", budget=5.0, lower_is_better=False),
        Row(name, "speed-up in CPU time", naive_cpu / batched_cpu, "x"),
        Row(
            name,
            "max relative difference, scales <= 1",
            float(error[:, ordered].max()),
            "",
            budget=1e-9,
        ),
        # Beyond the band the network is chaotic: it amplifies float64 rounding differences
        # between the two computation orders layer by layer (not an error of either).
        Row(name, "max relative difference, all scales", float(error.max()), ""),
    ]


BENCHMARKS = [sweep_speed]
