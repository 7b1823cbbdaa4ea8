"""Figures for notebook 10's second half: softmax saturation in attention, float16 underflow,
loss scaling and bfloat16's lost updates.

Each function draws one idea and returns the Figure; the notebook calls ``plt.show()``. The
numbers come from :mod:`helpers.attention` and :mod:`helpers.precision`.
"""

import matplotlib.pyplot as plt
import numpy as np

from helpers import precision
from helpers.plots import COLORS

FORMAT_COLORS = {
    "bfloat16": COLORS["vermillion"],
    "float16": COLORS["orange"],
    "float32": COLORS["blue"],
}


def attention_saturation(scaled, unscaled):
    """Median ‖J‖_F of the softmax Jacobian (left) and the share of saturated queries (right)
    against d_k, with and without the 1/√d_k scale; two :func:`helpers.attention.dk_sweep`s."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    for sweep, color, label in (
        (scaled, COLORS["blue"], "q·k/√d_k"),
        (unscaled, COLORS["vermillion"], "q·k (no scale)"),
    ):
        left.plot(sweep.setting, sweep.jacobian_median, "o-", color=color, label=label)
        right.plot(sweep.setting, sweep.saturated_share, "o-", color=color, label=label)
    left.axhline(scaled.uniform_jacobian_norm, color="grey", ls=":", label="equal logits")
    left.set(
        xscale="log",
        yscale="log",
        xlabel="key dimension d_k",
        ylabel="median ‖J‖_F",
        title="Size of the softmax Jacobian",
    )
    right.set(
        xscale="log",
        xlabel="key dimension d_k",
        ylabel="share of queries",
        title="Largest weight above 0.99",
        ylim=(-0.03, 1),
    )
    left.legend(fontsize=8)
    return fig


def gradient_entries(grads: dict, loss_scale: float = 2.0**16):
    """Per layer, the spread of the float32 gradient entries' sizes (box: middle half, whiskers
    5% to 95%), with the level below which float16 rounds to 0, plain and with ``loss_scale``."""
    fig, ax = plt.subplots()
    ax.boxplot([np.abs(g[g != 0]) for g in grads.values()], whis=(5, 95), showfliers=False)
    ax.set_xticks(range(1, len(grads) + 1), list(grads), rotation=45)
    zero_below = precision.float_format("float16").underflow_below
    ax.axhline(
        zero_below, color=COLORS["vermillion"], ls="--", label="float16 rounds to 0 below 2⁻²⁵"
    )
    exponent = int(np.log2(loss_scale))
    ax.axhline(
        zero_below / loss_scale,
        color=COLORS["blue"],
        ls=":",
        label=f"... with loss scale 2^{exponent}",
    )
    ax.set(
        yscale="log",
        ylabel="|gradient entry| (float32)",
        title="Gradient entries per layer, at initialization",
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def underflow_by_layer(plain, scaled):
    """Share of each layer's gradient entries that became exactly 0 in float16, without and
    with loss scaling (two :class:`helpers.precision.Underflow` of the same model)."""
    fig, ax = plt.subplots()
    layers = np.arange(len(plain.layers))
    ax.bar(
        layers - 0.2, plain.per_layer, 0.4, color=COLORS["vermillion"], label="float16, no scaling"
    )
    ax.bar(
        layers + 0.2,
        scaled.per_layer,
        0.4,
        color=COLORS["blue"],
        label=f"float16, loss scale {scaled.loss_scale:g}",
    )
    ax.set_xticks(layers, plain.layers, rotation=45)
    ax.set(
        ylabel="share of entries that became 0", ylim=(0, 1.05), title="Float16 underflow per layer"
    )
    ax.legend(fontsize=8)
    return fig


def precision_losses(groups):
    """Training loss ÷ baseline (log axis) of every run; ``groups`` is a list of
    (runs, colour, label), one legend entry per group."""
    fig, ax = plt.subplots()
    for runs, color, label in groups:
        for i, run in enumerate(runs):
            ax.plot(run.losses / run.baseline, color=color, label=label if i == 0 else None)
    ax.set(
        yscale="log",
        xlabel="step",
        ylabel="training loss ÷ ln 2",
        title="Training in 16-bit floats",
    )
    ax.legend(fontsize=8)
    return fig


def lost_updates(ratios, typical: float = 1e-3):
    """Share of updates w + Δ that round back to w against |Δ|/|w|: measured on log-uniform
    weights (points) and clip(−p − log₂ r, 0, 1) (lines), for bfloat16, float16 and float32."""
    fig, ax = plt.subplots()
    for name, color in FORMAT_COLORS.items():
        measured = precision.lost_update_fraction(ratios, name)
        ax.plot(ratios, measured, "o", ms=3, color=color, label=f"{name}, measured")
        ax.plot(ratios, precision.lost_update_theory(ratios, name), "-", lw=1, color=color)
    ax.axvline(typical, color="grey", ls=":", label=f"typical ratio {typical:g}")
    ax.set(
        xscale="log",
        xlabel="update / weight, |Δ| / |w|",
        ylabel="share of updates lost",
        title="Updates that w + Δ rounds away (lines: theory)",
    )
    ax.legend(fontsize=8)
    return fig
