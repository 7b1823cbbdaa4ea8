"""Notebook 01's tangent explorer: time per slider move and per activation switch (< 100 ms)."""

import time

import numpy as np

from benchmarks import Row
from helpers.explorers.activation import ActivationExplorer

XS = np.linspace(-8, 8, 17)


def _per_change(explorer, control, values) -> np.ndarray:
    times = []
    for value in values:
        start = time.perf_counter()
        control.value = value
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000


def activation_explorer_speed() -> list[Row]:
    explorer = ActivationExplorer()
    _per_change(explorer, explorer.slider, XS)  # warm-up
    moves = _per_change(explorer, explorer.slider, XS)
    switches = _per_change(explorer, explorer.dropdown, ["tanh", "sigmoid"] * 3)
    name = "explorer 01 (tangent)"
    return [
        Row(name, f"slider move, median of {len(XS)}", float(np.median(moves)), "ms", 100.0),
        Row(name, "slider move, slowest", float(moves.max()), "ms", 100.0),
        Row(name, "activation switch, median", float(np.median(switches)), "ms", 100.0),
    ]


BENCHMARKS = [activation_explorer_speed]
