"""Figures for notebook 04: what a ``GradientMonitor`` recorded, plateaus, and the benchmark.

A layer × step heatmap of log gradient norm, the update-to-weight ratio against the ≈ 1e-3
reference (CS231n notes; Karpathy), loss curves with their plateau shaded, held-out accuracy per
run and seed, and how far apart two runs end that started one float32 step apart. Each function
draws one idea and returns the Figure; the notebook calls ``plt.show()``.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from helpers.diagnose import LABELS, THRESHOLDS, default_window, find_plateau
from helpers.plots import COLORS

LABEL_COLORS = {
    "vanishing": COLORS["vermillion"],
    "exploding": COLORS["purple"],
    "converged": COLORS["blue"],
    "healthy": COLORS["green"],
}
# Values that cannot sit on a log axis (exactly 0) are drawn at this floor.
LOG_FLOOR = 1e-30


def _axes(ax, **kwargs):
    if ax is None:
        fig, ax = plt.subplots(**kwargs)
        return fig, ax
    return ax.figure, ax


def _log10(values) -> np.ndarray:
    """log10 of positive finite values; NaN for 0, negative or non-finite ones (no warnings)."""
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.nan)
    good = np.isfinite(values) & (values > 0)
    out[good] = np.log10(values[good])
    return out


def gradient_heatmap(monitor, *, title: str | None = None, vmin=None, vmax=None, ax=None):
    """Layers (first at the top) × steps, coloured by log10 of each layer's weight-gradient norm.

    A healthy network shows similar colours down each column; vanishing gradients show as a
    band of dark rows near the input (or a dark picture everywhere). Cells that are exactly 0,
    NaN or inf are grey. vmin/vmax fix the colour range (in log10 units) to compare heatmaps.
    """
    fig, ax = _axes(ax)
    grid = _log10(monitor.grad_norms).T
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.8")
    image = ax.imshow(
        np.ma.masked_invalid(grid),
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        extent=(-0.5, grid.shape[1] - 0.5, grid.shape[0] + 0.5, 0.5),
    )
    colorbar = fig.colorbar(image, ax=ax)
    colorbar.set_label("log₁₀ ‖∂L/∂W‖")
    names = [str(n) for n in getattr(monitor, "layer_names", range(1, grid.shape[0] + 1))]
    # nn.Sequential names its children "0", "1", ...: say that they are module indices.
    names = [f"module {n}" if n.isdigit() else n for n in names]
    ticks = np.arange(1, grid.shape[0] + 1)
    step = max(1, len(ticks) // 8)
    ax.set_yticks(ticks[::step])
    ax.set_yticklabels(names[::step], fontsize=8)
    ax.set(xlabel="training step", ylabel="layer (input at the top)")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return fig


def update_ratios(monitors: dict, *, reference: float | None = None):
    """The update-to-weight ratio ‖ΔW‖/‖W‖ per step, one panel per entry of ``monitors``
    ({title: monitor}), one line per layer (dark = near the input, light = near the output),
    log scale, with the reference line at ≈ 1e-3 (CS231n notes; Karpathy). Exact zeros are drawn
    at the floor.
    """
    reference = THRESHOLDS["healthy_update"].value if reference is None else reference
    fig, axes = plt.subplots(1, len(monitors), sharey=True, figsize=(4.0 * len(monitors), 3.4))
    axes = np.atleast_1d(axes)
    lowest = reference
    for ax, (title, monitor) in zip(axes, monitors.items(), strict=True):
        ratios = np.asarray(monitor.update_ratios, dtype=float)
        colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, ratios.shape[1]))
        for j in range(ratios.shape[1]):
            shown = np.where(ratios[:, j] > 0, ratios[:, j], np.nan)
            ax.plot(shown, color=colors[j], lw=1.2)
            finite = shown[np.isfinite(shown)]
            if finite.size:
                lowest = min(lowest, float(finite.min()))
        ax.axhline(reference, color=COLORS["black"], ls="--", lw=1.2)
        ax.text(0, reference * 1.6, f"≈ {reference:g} (CS231n; Karpathy)", fontsize=8)
        ax.set_yscale("log")
        ax.set(title=title, xlabel="training step")
    axes[0].set_ylabel("update / weight per step")
    axes[0].set_ylim(bottom=max(lowest / 3, LOG_FLOOR))
    handles = [
        plt.Line2D([], [], color=plt.get_cmap("viridis")(0.0), label="first layer"),
        plt.Line2D([], [], color=plt.get_cmap("viridis")(0.85), label="last layer"),
    ]
    axes[-1].legend(handles=handles, fontsize=8, loc="lower right")
    return fig


def shade_plateau(ax, losses, plateau: int | None, *, color=None) -> None:
    """Shade the steps from ``plateau`` to the end (nothing if it is None)."""
    if plateau is None:
        return
    ax.axvspan(plateau, len(losses) - 1, color=color or COLORS["orange"], alpha=0.15, lw=0)


def loss_with_plateau(losses, *, baseline=None, window=None, title=None, color=None, ax=None):
    """The loss curve with the plateau :func:`find_plateau` finds shaded, and the baseline (the
    constant predictor's loss) as a dashed line."""
    fig, ax = _axes(ax)
    losses = np.asarray(losses, dtype=float)
    window = default_window(losses.size) if window is None else window
    plateau = find_plateau(losses, window=window)
    ax.plot(losses, color=color or COLORS["blue"], label="training loss")
    shade_plateau(ax, losses, plateau)
    if baseline is not None:
        ax.axhline(baseline, color=COLORS["black"], ls="--", lw=1, label="constant predictor")
    where = "no plateau" if plateau is None else f"plateau from step {plateau}"
    ax.set(xlabel="training step", ylabel="loss", title=title or where)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def plateau_pair(left, right, *, baseline=None):
    """Two runs side by side (each a RunResult: ``.name``, ``.monitor``, ``.diagnosis``): on top
    the loss with its plateau shaded, below each layer's recent gradient norm (log scale, shared;
    a gradient that is exactly 0 is marked by a triangle on the bottom edge)."""
    fig, axes = plt.subplots(2, 2, figsize=(8.0, 5.6), sharey="row")
    top_limit = max(float(np.nanmax(r.monitor.losses)) for r in (left, right))
    if baseline is not None:
        top_limit = max(top_limit, baseline)
    positive = [g for r in (left, right) for g in r.diagnosis.evidence["grad_per_layer"] if g > 0]
    floor = min(positive) / 30 if positive else 1e-12
    ceiling = max(
        max(positive) * 30 if positive else 1.0, THRESHOLDS["stalled_gradient"].value * 10
    )
    for column, result in enumerate((left, right)):
        ev = result.diagnosis.evidence
        color = LABEL_COLORS[result.diagnosis.label]
        top, bottom = axes[0, column], axes[1, column]
        losses = result.monitor.losses
        if baseline is not None:
            top.axhline(baseline, color=COLORS["black"], ls="--", lw=1, label="constant predictor")
        top.plot(losses, color=color, lw=2.2, label="training loss")
        shade_plateau(top, losses, ev.get("plateau_step"))
        top.set(title=f"{result.name}: {result.diagnosis.label}", xlabel="training step")
        top.set_ylim(0, 1.25 * top_limit)
        top.legend(fontsize=8, loc="upper right")
        grads = np.asarray(ev["grad_per_layer"], dtype=float)
        layers = np.arange(1, grads.size + 1)
        shown = np.where(grads > 0, grads, np.nan)
        bottom.plot(layers, shown, "o-", color=color)
        zero = grads == 0
        if zero.any():
            bottom.plot(
                layers[zero],
                np.full(zero.sum(), floor),
                "v",
                color=color,
                ms=9,
                clip_on=False,
                label="exactly 0",
            )
            bottom.legend(fontsize=8, loc="center left")
        bottom.set_yscale("log")
        bottom.set_ylim(floor, ceiling)
        bottom.axhline(THRESHOLDS["stalled_gradient"].value, color=COLORS["black"], ls=":", lw=1)
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.set(xlabel="layer (1 = next to the input)")
    axes[0, 0].set_ylabel("loss (plateau shaded)")
    axes[1, 0].set_ylabel("recent ‖∂L/∂W‖ per layer")
    return fig


def accuracy_by_run(results):
    """Held-out accuracy of each run, one row per run and one dot per seed, coloured by the label
    its cause should get; the dashed line is chance (0.5, balanced classes)."""
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    names = list(dict.fromkeys(r.name for r in results))
    positions = dict(zip(names, np.arange(len(names))[::-1], strict=True))
    for name in names:
        runs = [r for r in results if r.name == name]
        accuracy = [r.test_accuracy for r in runs]
        color = LABEL_COLORS[runs[0].expected]
        row = positions[name]
        ax.plot([min(accuracy), max(accuracy)], [row, row], color=color, lw=1.5, alpha=0.6)
        ax.plot(accuracy, np.full(len(accuracy), row), "o", color=color, ms=5)
    ax.set_yticks(list(positions.values()))
    ax.set_yticklabels(names, fontsize=8)
    ax.axvline(0.5, color=COLORS["black"], ls="--", lw=1)
    seeds = sorted({r.seed for r in results})
    ax.set(xlim=(0, 1), xlabel=f"held-out accuracy (one dot per seed: {len(seeds)} seeds)")
    handles = [Patch(color=LABEL_COLORS[label], label=label) for label in LABELS]
    ax.legend(
        handles=handles,
        fontsize=8,
        title="expected",
        title_fontsize=8,
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
    )
    ax.grid(axis="y", visible=False)
    return fig


def twin_divergence(twins):
    """Runs trained from weights one float32 step apart (a list of ``runs.Twins``, one per seed).
    Left: both training losses of the first pair. Right: the distance between the two runs'
    weights at every step, one line per seed, log scale; the dotted line is the starting nudge."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    first = twins[0]
    for losses, style, name in zip(first.losses, ("-", "--"), ("run", "nudged twin"), strict=True):
        left.plot(losses, ls=style, lw=1.6, label=name)
    left.set_yscale("log")
    left.set(
        xlabel="training step", ylabel="training loss", title=f"seed {first.seed}: the two losses"
    )
    left.legend(fontsize=8)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.8, len(twins)))
    for pair, color in zip(twins, colors, strict=True):
        right.plot(pair.distance, color=color, lw=1.6, label=f"seed {pair.seed}")
    start = min(pair.distance[0] for pair in twins)
    right.axhline(start, color=COLORS["black"], ls=":", lw=1)
    right.text(0, start * 2.0, "one float32 step in one weight", fontsize=8)
    right.set_yscale("log")
    right.set(xlabel="training step", ylabel="‖θ₂ − θ₁‖", title="distance between the two runs")
    right.legend(fontsize=8, loc="lower right")
    return fig


def overview(monitor, *, baseline=None, title: str | None = None):
    """Everything a monitor holds in one row: loss with plateau, gradient heatmap, update ratios.
    For the "use it on your own model" recipe."""
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.4))
    losses = np.asarray(monitor.losses, dtype=float)
    if np.isfinite(losses).all() and losses.size >= 2:
        loss_with_plateau(losses, baseline=baseline, ax=axes[0])
    else:
        axes[0].plot(losses, color=COLORS["purple"])
        axes[0].set(xlabel="training step", ylabel="loss", title="loss (diverged)")
    gradient_heatmap(monitor, ax=axes[1], title="gradient norm per layer")
    ratios = np.asarray(monitor.update_ratios, dtype=float)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, ratios.shape[1]))
    for j in range(ratios.shape[1]):
        axes[2].plot(np.where(ratios[:, j] > 0, ratios[:, j], np.nan), color=colors[j], lw=1)
    axes[2].axhline(THRESHOLDS["healthy_update"].value, color=COLORS["black"], ls="--", lw=1)
    axes[2].set_yscale("log")
    axes[2].set(xlabel="training step", ylabel="update / weight", title="update ratio per layer")
    if title:
        fig.suptitle(title)
    return fig
