"""Figures for notebook 03 (weight-size effects): per-layer gradient profiles with their predicted
slope, a training run stalled at the mean-predictor baseline, how far each layer's weights moved,
saturated fractions per layer, and the depth × weight-scale map. One idea per figure; each
function returns the figure and the notebook calls ``plt.show()``.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import MaxNLocator

from helpers.plots import COLORS, CYCLE


def _axes(ax, **kwargs):
    if ax is None:
        fig, ax = plt.subplots(**kwargs)
        return fig, ax
    return ax.figure, ax


def layer_axis(ax, n_layers: int) -> None:
    """x axis of a per-layer plot: layers 1..n, the last one the output layer."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.5, n_layers + 0.5)
    ax.set_xlabel(f"layer (1 = next to the input, {n_layers} = output)")


def gradient_profiles(profiles, *, predicted=None, title=None, ax=None):
    """‖∂L/∂W_l‖ against layer l on a log scale, one line per entry of ``profiles``.

    profiles: {label: per-layer norms (first layer first, output layer last)}.
    predicted: optional {label: per-layer values}, drawn dashed in the matching colour.
    """
    fig, ax = _axes(ax)
    predicted = predicted or {}
    for color, (label, norms) in zip(CYCLE, profiles.items(), strict=False):
        norms = np.asarray(norms, dtype=float)
        layers = np.arange(1, len(norms) + 1)
        ax.plot(layers, norms, "o-", color=color, markersize=4, label=label)
        if label in predicted:
            ax.plot(
                layers,
                predicted[label],
                "--",
                color=color,
                lw=1.2,
                alpha=0.9,
                label=f"{label}: predicted",
            )
    ax.set_yscale("log")
    layer_axis(ax, max(len(np.asarray(p)) for p in profiles.values()))
    ax.set_ylabel(r"$\|\partial L/\partial W_l\|$ (gradient norm)")
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title)
    return fig


def loss_curves(curves, *, baseline: float, title=None, ax=None):
    """Training loss against step for each entry of ``curves`` ({label: losses}, or {label:
    list of loss arrays} for several seeds), over a wide grey line at the mean-predictor
    baseline, so that a run sitting on the baseline stays visible."""
    fig, ax = _axes(ax)
    ax.axhline(
        baseline, color="0.6", lw=6, alpha=0.5, zorder=0, label=f"predict the mean: {baseline:.3f}"
    )
    for color, (label, runs) in zip(CYCLE, curves.items(), strict=False):
        runs = [np.asarray(runs, dtype=float)] if np.ndim(runs[0]) == 0 else runs
        for i, losses in enumerate(runs):
            ax.plot(
                np.arange(len(losses)),
                losses,
                color=color,
                alpha=0.9 if i == 0 else 0.5,
                lw=1.5,
                label=label if i == 0 else None,
            )
    ax.set_yscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("training loss (MSE)")
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title)
    return fig


def relative_changes(changes, *, floor: float = 1e-12, title=None, ax=None):
    """Bars of ‖W_after − W_before‖ / ‖W_before‖ per layer (log scale). Layers whose weights did
    not change at all (exactly 0) are drawn as hollow markers at ``floor`` and labelled."""
    changes = np.asarray(changes, dtype=float)
    fig, ax = _axes(ax)
    layers = np.arange(1, len(changes) + 1)
    moved = changes > 0
    ax.bar(layers[moved], changes[moved], color=COLORS["blue"], width=0.6, label="relative change")
    if (~moved).any():
        ax.plot(
            layers[~moved],
            np.full((~moved).sum(), floor),
            "v",
            mfc="none",
            color=COLORS["vermillion"],
            label="exactly 0: not a single bit changed",
        )
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor / 3)
    layer_axis(ax, len(changes))
    ax.set_ylabel(r"$\|\Delta W_l\| / \|W_l\|$ after training")
    ax.legend(fontsize=9, loc="upper left")
    if title:
        ax.set_title(title)
    return fig


def saturation_by_layer(fractions, *, title=None, ax=None):
    """Fraction of saturated units in each hidden layer, one line per entry of ``fractions``
    ({label: per-hidden-layer fractions})."""
    fig, ax = _axes(ax)
    for color, (label, values) in zip(CYCLE, fractions.items(), strict=False):
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, "o-", color=color, markersize=4, label=label)
    ax.set_ylim(-0.03, 1.03)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("hidden layer (1 = next to the input)")
    ax.set_ylabel("fraction of units saturated")
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title)
    return fig


def depth_scale_map(grid, *, levels=(1e-6, 1e-2, 1e2), title=None, ax=None):
    """log10 ‖∂L/∂W_1‖ over depth (y) × weight scale (x, log axis) from
    :func:`helpers.sweep.first_layer_gradient_map`, with contour lines at ``levels``.

    The colour scale is diverging around 10⁰ = 1: blue where the first layer's gradient has
    vanished, red where it has exploded.
    """
    fig, ax = _axes(ax, figsize=(6.0, 4.0))
    with np.errstate(divide="ignore"):
        log_grad = np.log10(grid.grad)
    finite = log_grad[np.isfinite(log_grad)]
    low, high = min(finite.min(), -1.0), max(finite.max(), 1.0)
    mesh = ax.pcolormesh(
        grid.scales,
        grid.depths,
        np.clip(log_grad, low, high),
        shading="nearest",
        cmap="RdBu_r",
        norm=TwoSlopeNorm(0.0, low, high),
    )
    lines = ax.contour(
        grid.scales, grid.depths, log_grad, levels=np.log10(levels), colors="k", linewidths=1.0
    )
    ax.clabel(lines, fmt=lambda v: f"$10^{{{v:.0f}}}$", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("weight scale s (weights ~ N(0, s²))")
    ax.set_ylabel("depth (hidden layers)")
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\|\partial L/\partial W_1\|$")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return fig
