"""Figures for notebook 08: each cause's signal at initialization, and the cause × remedy matrix.

Each function draws one idea and returns the Figure; the numbers come from :mod:`helpers.matrix`.
"""

import matplotlib.pyplot as plt
import numpy as np

from helpers.plots import CYCLE


def backward_profiles(profiles, *, title: str):
    """‖∂L/∂x_l‖ of every hidden representation at initialization against the layer index, one
    line per (label, profile) pair (``helpers.matrix.signals``), log scale; exact zeros are drawn
    at the bottom."""
    fig, ax = plt.subplots()
    for i, (label, profile) in enumerate(profiles):
        profile = np.asarray(profile, dtype=np.float64)
        layers = np.arange(1, profile.size + 1)
        ax.plot(layers, np.maximum(profile, 1e-30), color=CYCLE[i % len(CYCLE)], marker=".",
                label=label)  # fmt: skip
    ax.set_yscale("log")
    ax.set(xlabel="hidden layer l (1 = first)", ylabel="‖∂L/∂x_l‖ at initialization", title=title)
    ax.legend(fontsize=8)
    return fig


def matrix_heatmap(grid, causes, remedies, *, title: str):
    """The median relative loss (test MSE ÷ the mean predictor's) of every cell, clipped to
    [0, 1.2]; below 0.5 (the target) is learned. Each cell is annotated with its value."""
    values = np.asarray(grid, dtype=np.float64)
    shown = np.clip(np.nan_to_num(values, nan=1.2, posinf=1.2), 0.0, 1.2)
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    image = ax.imshow(shown, cmap="cividis_r", vmin=0.0, vmax=1.2, aspect="auto")
    for (row, col), value in np.ndenumerate(values):
        text = "∞" if not np.isfinite(value) else (">1" if value > 1.2 else f"{value:.2f}")
        ax.text(col, row, text, ha="center", va="center", fontsize=7,
                color="black" if shown[row, col] < 0.6 else "white")  # fmt: skip
    ax.set_xticks(range(len(remedies)), remedies, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(causes)), causes, fontsize=8)
    ax.set(title=title)
    fig.colorbar(image, ax=ax, label="median test loss ÷ mean predictor's")
    return fig
