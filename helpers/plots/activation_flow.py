"""Figures for notebook 05 (activation functions): the functions and their slopes, why a slope of
exactly 1 keeps the backward factor fixed, SELU's fixed point, gradient flow through deep stacks
and dead ReLU units per layer. Each function returns the figure; the notebook calls
``plt.show()``. Every number drawn comes from :mod:`helpers.activations`,
:mod:`helpers.initialization` or :mod:`helpers.dead_units`.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from helpers import activations as A
from helpers import initialization as I
from helpers.plots import COLORS

# One colour per activation, the same in every figure of the notebook.
ACTIVATION_COLORS = {
    "sigmoid": COLORS["black"],
    "tanh": COLORS["orange"],
    "relu": COLORS["blue"],
    "leaky_relu": COLORS["sky"],
    "elu": COLORS["green"],
    "gelu": COLORS["purple"],
    "selu": COLORS["vermillion"],
    "linear": COLORS["yellow"],
}
LABELS = {"leaky_relu": "leaky ReLU (0.01)", "elu": "ELU (α = 1)", "relu": "ReLU"}


def _label(name: str) -> str:
    return LABELS.get(name, name.upper() if name in ("gelu", "selu") else name)


def functions_and_slopes(names=("relu", "leaky_relu", "elu", "tanh", "gelu", "selu"), x_max=4.0):
    """Left: f(x); right: f'(x), for each activation. Slopes of exactly 1 for x > 0 (λ for
    SELU) sit on the dotted line; tanh's slope is 1 only at x = 0."""
    x = np.linspace(-x_max, x_max, 801)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    for name in names:
        color = ACTIVATION_COLORS[name]
        left.plot(x, A.activation(name, x), color=color, label=_label(name))
        right.plot(x, A.derivative(name, x), color=color, label=_label(name))
    right.axhline(1.0, color=COLORS["black"], lw=1, ls=":")
    left.set(xlabel="x (pre-activation)", ylabel="f(x)", ylim=(-2.0, x_max))
    right.set(xlabel="x (pre-activation)", ylabel="f'(x)", ylim=(-0.25, 1.9))
    left.set_title("The activations")
    right.set_title("Their derivatives")
    left.legend(fontsize=8, loc="upper left")
    return fig


def slope_moment_vs_scale(names=("sigmoid", "tanh", "relu", "elu", "gelu", "selu")):
    """E[f'(z)²] for z ~ N(0, s²) against the spread s of the pre-activations, log x axis.

    The per-layer backward factor is σ_w²·E[f'(z)²]: flat curves mean the weights alone set it."""
    spreads = np.logspace(-1.5, 1.5, 40)
    fig, ax = plt.subplots()
    for name in names:
        values = [I.slope_second_moment(name, s * s) for s in spreads]
        ax.semilogx(spreads, values, color=ACTIVATION_COLORS[name], label=_label(name))
    ax.axhline(0.5, color=COLORS["black"], lw=1, ls=":")
    ax.text(spreads[0], 0.52, "1/2: ReLU at every scale", fontsize=8)
    ax.set(
        xlabel="spread of the pre-activations, std of z",
        ylabel="E[f'(z)²]",
        ylim=(0.0, 2.0),
    )
    ax.set_title("How much of the gradient an activation passes, by signal size")
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    return fig


def selu_trajectories(paths):
    """Paths of (mean, variance) of SELU activations through layers, each from its own start,
    converging to the fixed point (0, 1). ``paths``: list of (steps + 1, 2) arrays."""
    fig, ax = plt.subplots()
    for color, path in zip(
        (COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["purple"]), paths, strict=False
    ):
        ax.plot(
            path[:, 0],
            path[:, 1],
            "o-",
            ms=3,
            color=color,
            label=f"start (μ, ν) = ({path[0, 0]:g}, {path[0, 1]:g})",
        )
    ax.plot([0.0], [1.0], "*", ms=14, color=COLORS["vermillion"], label="fixed point (0, 1)")
    ax.set(xlabel="mean of the activations μ", ylabel="variance of the activations ν")
    ax.set_title("SELU layer after layer: mean and variance return to (0, 1)")
    ax.legend(fontsize=8)
    return fig


def gradient_flow(profiles):
    """Per-layer weight-gradient norms, one panel per depth, one line per activation: the
    geometric mean over seeds, with the band from the smallest to the largest seed.

    profiles: {depth: {activation name: array (seeds, depth + 1)}}."""
    fig, axes = plt.subplots(1, len(profiles), figsize=(9.0, 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (depth, by_name) in zip(axes, profiles.items(), strict=True):
        for name, rows in by_name.items():
            rows = np.asarray(rows, dtype=float)
            layers = np.arange(1, rows.shape[1] + 1)
            color = ACTIVATION_COLORS[name]
            ax.semilogy(layers, np.exp(np.log(rows).mean(axis=0)), color=color, label=_label(name))
            ax.fill_between(
                layers, rows.min(axis=0), rows.max(axis=0), color=color, alpha=0.15, lw=0
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(
            xlabel=f"layer (1 = input side, {depth + 1} = output)", title=f"{depth} hidden layers"
        )
    axes[0].set_ylabel(r"$\|\partial L/\partial W_l\|$")
    axes[-1].legend(fontsize=8, loc="lower right")
    return fig


def dead_per_layer(profiles):
    """Fraction of dead units per hidden layer at initialization: the mean over seeds, with the
    band from the smallest to the largest seed. profiles: {label: array (seeds, depth)}."""
    fig, ax = plt.subplots()
    for color, (label, rows) in zip(
        (COLORS["vermillion"], COLORS["blue"], COLORS["green"]), profiles.items(), strict=False
    ):
        rows = np.asarray(rows, dtype=float)
        layers = np.arange(1, rows.shape[1] + 1)
        ax.plot(layers, rows.mean(axis=0), "o-", ms=3, color=color, label=label)
        ax.fill_between(layers, rows.min(axis=0), rows.max(axis=0), color=color, alpha=0.15, lw=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(
        xlabel="hidden layer (1 = next to the input)",
        ylabel="fraction of dead units",
        ylim=(0.0, 1.0),
    )
    ax.set_title("Dead ReLU units at initialization, before any training")
    ax.legend(fontsize=9, loc="upper left")
    return fig
