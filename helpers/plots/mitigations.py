"""Figures for notebook 07 (normalization, skip connections, Adam): what batch norm does to each
layer's inputs, the gradient along the residual stream, and which layers Adam can move. Each
function returns the figure; the notebook calls ``plt.show()``.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from helpers.plots import COLORS, CYCLE


def _axes(ax, **kwargs):
    if ax is None:
        fig, ax = plt.subplots(**kwargs)
        return fig, ax
    return ax.figure, ax


def _layer_axis(ax, n: int, label: str) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.5, n + 0.5)
    ax.set_xlabel(label)


def preactivation_spread(spreads, *, ax=None):
    """Per hidden layer, the batch standard deviation of the activation's input (averaged over
    units), one line per entry of ``spreads`` ({label: array}); log scale. A spread of exactly 0
    (rounded away) cannot be drawn on a log axis and is left out."""
    fig, ax = _axes(ax)
    n = 1
    for color, (label, values) in zip(CYCLE, spreads.items(), strict=False):
        values = np.asarray(values, dtype=float)
        n = max(n, len(values))
        shown = np.where(values > 0, values, np.nan)
        ax.plot(np.arange(1, len(values) + 1), shown, "o-", color=color, ms=4, label=label)
    ax.set_yscale("log")
    _layer_axis(ax, n, "hidden layer (1 = next to the input)")
    ax.set_ylabel("spread of the activation's input\n(std over the batch)")
    ax.legend(fontsize=9)
    return fig


def representation_gradients(profiles, *, ax=None):
    """‖∂L/∂x_l‖ against hidden layer l, one line per entry of ``profiles`` ({label: array});
    log scale."""
    fig, ax = _axes(ax)
    n = 1
    for color, (label, values) in zip(CYCLE, profiles.items(), strict=False):
        values = np.asarray(values, dtype=float)
        n = max(n, len(values))
        ax.plot(np.arange(1, len(values) + 1), values, "o-", color=color, ms=3, label=label)
    ax.set_yscale("log")
    _layer_axis(ax, n, "hidden layer l (1 = next to the input)")
    ax.set_ylabel(r"$\|\partial L/\partial x_l\|$")
    ax.legend(fontsize=9)
    return fig


def adam_layers(result, *, eps: float = 1e-8, ax=None):
    """Per Linear layer: the largest |∂L/∂W| at the start (log scale; exact zeros drawn at the
    bottom), filled where Adam changed at least half of the layer's weights and hollow where it
    left them bit-for-bit unchanged; Adam's ε as a dashed line."""
    fig, ax = _axes(ax)
    largest = np.asarray(result.largest_gradient, dtype=float)
    moved = np.asarray(result.unchanged) < 0.5
    layers = np.arange(1, len(largest) + 1)
    floor = largest[largest > 0].min() / 10 if (largest > 0).any() else 1e-45
    shown = np.where(largest > 0, largest, floor)
    ax.plot(layers, shown, "-", color=COLORS["black"], lw=0.8, alpha=0.5)
    ax.scatter(layers[moved], shown[moved], color=COLORS["blue"], zorder=3, label="Adam moved it")
    ax.scatter(
        layers[~moved],
        shown[~moved],
        facecolors="none",
        edgecolors=COLORS["vermillion"],
        zorder=3,
        label=f"unchanged after {result.steps} Adam steps",
    )
    zeros = largest == 0
    if zeros.any():
        ax.scatter(layers[zeros], shown[zeros], marker="x", color=COLORS["vermillion"], zorder=4)
        ax.annotate(
            "exactly 0",
            (layers[zeros][0], floor),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=9,
        )
    ax.axhline(eps, ls="--", color=COLORS["green"], lw=1.2, label=f"Adam's ε = {eps:g}")
    ax.set_yscale("log")
    _layer_axis(ax, len(largest), f"layer (1 = next to the input, {len(largest)} = output)")
    ax.set_ylabel(r"largest $|\partial L/\partial W|$ (float32)")
    ax.legend(fontsize=9, loc="upper left")
    return fig
