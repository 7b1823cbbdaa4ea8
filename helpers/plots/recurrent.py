"""Figures for notebook 09: gradient versus time lag, adding-problem training, clipping.

Each function draws one idea and returns the Figure; the notebook calls ``plt.show()``. The
numbers come from :mod:`helpers.recurrent` (profiles and training runs).
"""

import matplotlib.pyplot as plt
import numpy as np

from helpers.data.sequences import ADDING_BASELINE_MSE
from helpers.plots import COLORS, CYCLE

KIND_COLORS = {
    "rnn": COLORS["vermillion"],
    "lstm": COLORS["blue"],
    "gru": COLORS["green"],
    "linear": COLORS["black"],
}


def lag_profiles(
    curves, references=(), *, title: str, ylabel: str = "relative gradient norm", colors=None
):
    """Gradient norms against the time lag k on a log axis, each normalised by its value at k = 0.

    curves: (label, lags, norms) triples drawn as solid lines; references: (label, lags, values)
    drawn dashed in the colour of the curve with the same index (e.g. the bound (γσ)^k).
    colors: one colour per curve (default: the course palette in order).
    """
    colors = list(colors) if colors is not None else [CYCLE[i % len(CYCLE)] for i in range(9)]
    fig, ax = plt.subplots()
    for i, (label, lags, norms) in enumerate(curves):
        norms = np.asarray(norms, dtype=np.float64)
        ax.plot(lags, norms / norms[0], color=colors[i], label=label)
    for i, (label, lags, values) in enumerate(references):
        ax.plot(lags, values, color=colors[i], ls="--", lw=1, label=label)
    ax.set_yscale("log")
    ax.set(xlabel="time lag k (steps back from the last step T)", ylabel=ylabel, title=title)
    ax.legend(fontsize=8, ncol=2)
    return fig


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average over ``window`` steps (shorter at the start)."""
    csum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def adding_runs(runs: dict, *, window: int = 25, threshold: float = 0.01):
    """Training MSE (moving average over ``window`` steps) of every run, one colour per kind,
    with the mean-predictor baseline 1/6 and the "solved" threshold marked."""
    fig, ax = plt.subplots()
    for kind, kind_runs in runs.items():
        for i, run in enumerate(kind_runs):
            label = f"{kind} ({len(kind_runs)} seeds)" if i == 0 else None
            ax.plot(_smooth(run.losses, window), color=KIND_COLORS[kind], lw=1.2, label=label)
    ax.axhline(ADDING_BASELINE_MSE, color=COLORS["black"], ls="--", lw=1, label="predict 1: 1/6")
    ax.axhline(threshold, color=COLORS["black"], ls=":", lw=1, label=f"solved: {threshold:g}")
    ax.set_yscale("log")
    length = next(iter(runs.values()))[0].length
    ax.set(
        xlabel="training step (Adam, one fresh batch per step)",
        ylabel=f"training MSE ({window}-step average)",
        title=f"The adding problem, T = {length}",
    )
    ax.legend(fontsize=8)
    return fig


def clipping_runs(unclipped: list, clipped: list, max_norm: float):
    """Two panels for the same seeds: the training loss and the gradient norm (before clipping)
    per step, without clipping and with clipping at ``max_norm``. A run whose loss became
    infinite ends with an x."""
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    styles = [(unclipped, COLORS["vermillion"], "no clipping"),
              (clipped, COLORS["blue"], f"clipped at ‖g‖ ≤ {max_norm:g}")]  # fmt: skip
    for group, color, label in styles:
        for i, run in enumerate(group):
            finite = np.isfinite(run.losses) & np.isfinite(run.grad_norms)
            steps = np.flatnonzero(finite)
            name = label if i == 0 else None
            ax_loss.plot(steps, run.losses[finite], color=color, lw=1, label=name)
            ax_grad.plot(steps, run.grad_norms[finite], color=color, lw=1, label=name)
            if not finite.all():
                last = steps[-1]
                ax_loss.plot(last, run.losses[last], "x", color=color, ms=8, mew=2)
    ax_loss.axhline(ADDING_BASELINE_MSE, color=COLORS["black"], ls="--", lw=1, label="1/6")
    ax_grad.axhline(max_norm, color=COLORS["black"], ls=":", lw=1, label="max_norm")
    for ax in (ax_loss, ax_grad):
        ax.set_yscale("log")
        ax.set_xlabel("training step (SGD)")
        ax.legend(fontsize=7)
    ax_loss.set(ylabel="training MSE", title="loss (x: became infinite)")
    ax_grad.set(ylabel="‖g‖ before clipping", title="gradient norm")
    return fig


def clipping_geometry(g, by_norm, by_value, threshold: float):
    """A 2-D gradient ``g`` and its two clipped versions: by norm (radius ``threshold``, same
    direction) and by value (each component in [−threshold, threshold], direction bent)."""
    fig, ax = plt.subplots(figsize=(6.0, 3.0))
    theta = np.linspace(0, 2 * np.pi, 200)
    ax.plot(threshold * np.cos(theta), threshold * np.sin(theta), color=COLORS["blue"], lw=1,
            ls=":", label=f"‖g‖ = {threshold:g}")  # fmt: skip
    box = threshold * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]])
    ax.plot(box[:, 0], box[:, 1], color=COLORS["orange"], lw=1, ls=":", label="|g_i| = max_value")
    arrows = [
        (g, COLORS["black"], "g"),
        (by_norm, COLORS["blue"], "clipped by norm"),
        (by_value, COLORS["orange"], "clipped by value"),
    ]
    for vector, color, label in arrows:
        ax.annotate("", xy=tuple(vector), xytext=(0, 0),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 2})  # fmt: skip
        ax.plot([], [], color=color, lw=2, label=label)
    g = np.asarray(g, dtype=np.float64)
    ax.set(
        xlim=(-1.2 * threshold, 1.1 * max(g[0], threshold)),
        ylim=(-1.2 * threshold, 1.2 * max(g[1], threshold)),
        aspect="equal",
    )
    ax.set(xlabel="g₁", ylabel="g₂", title="What clipping does to the update")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig
