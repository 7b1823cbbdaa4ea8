"""Figures for notebook 01: activation curves, their derivatives, and how three ways agree.

Each function draws one idea on one figure and returns the Figure; the notebook calls
``plt.show()``. Every number drawn comes from :mod:`helpers.activations`.
"""

import matplotlib.pyplot as plt
import numpy as np

from helpers import activations as A
from helpers.plots import COLORS

# Errors that are exactly 0 cannot sit on a log axis; they are drawn on this floor instead.
ERROR_FLOOR = 1e-18


def _shade_saturation(ax, name: str, x_max: float, label: bool = True) -> None:
    """Shade |x| > saturation_threshold(name), where the unit counts as saturated."""
    threshold = A.saturation_threshold(name)
    ax.axvspan(threshold, x_max, color=COLORS["vermillion"], alpha=0.1, lw=0)
    ax.axvspan(
        -x_max,
        -threshold,
        color=COLORS["vermillion"],
        alpha=0.1,
        lw=0,
        label=f"saturated: |x| > {threshold:g}" if label else None,
    )


def sigmoid_and_derivative(x_max: float = 8.0):
    """σ(x) and σ'(x) = σ(x)(1 − σ(x)), the peak 0.25 at x = 0 marked, saturation shaded."""
    x = np.linspace(-x_max, x_max, 801)
    fig, ax = plt.subplots()
    ax.plot(x, A.activation("sigmoid", x), color=COLORS["blue"], label="σ(x)")
    ax.plot(x, A.derivative("sigmoid", x), color=COLORS["orange"], label="σ'(x) = σ(x)(1 − σ(x))")
    peak = A.derivative_max("sigmoid")
    ax.plot([0.0], [peak], "o", color=COLORS["black"])
    ax.annotate(
        f"peak σ'(0) = {peak:g}",
        xy=(0.0, peak),
        xytext=(1.2, 0.36),
        arrowprops={"arrowstyle": "->", "color": COLORS["black"]},
    )
    _shade_saturation(ax, "sigmoid", x_max)
    ax.set(xlim=(-x_max, x_max), ylim=(-0.02, 1.05), xlabel="x (pre-activation)", ylabel="value")
    ax.set_title("The sigmoid and its derivative")
    ax.legend(loc="upper left")
    return fig


def derivatives_compared(names=("sigmoid", "tanh"), x_max: float = 6.0):
    """The derivatives of ``names`` on one axis, each peak marked with its value."""
    x = np.linspace(-x_max, x_max, 801)
    fig, ax = plt.subplots()
    colors = [COLORS["orange"], COLORS["green"], COLORS["blue"], COLORS["purple"]]
    for name, color in zip(names, colors, strict=False):
        ax.plot(x, A.derivative(name, x), color=color, label=f"{name}'(x)")
        peak = A.derivative_max(name)
        ax.axhline(peak, color=color, ls=":", lw=1)
        ax.text(x_max, peak, f" max {peak:g}", color=color, va="bottom", ha="right")
        threshold = A.saturation_threshold(name)
        if threshold is not None:
            ax.axvline(threshold, color=color, ls="--", lw=1)
            ax.axvline(
                -threshold,
                color=color,
                ls="--",
                lw=1,
                label=f"{name} saturates: |x| > {threshold:g}",
            )
    ax.set(xlim=(-x_max, x_max), ylim=(0.0, 1.1), xlabel="x (pre-activation)", ylabel="f'(x)")
    ax.set_title("Derivatives: the sigmoid's peak is a quarter of the tanh's")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def derivative_agreement(names=("sigmoid", "tanh"), x_max: float = 6.0, h: float = 1e-5):
    """|closed form − finite difference| and |closed form − autograd| against x, log scale.

    Exact agreement (error 0) is drawn on :data:`ERROR_FLOOR`.
    """
    x = np.linspace(-x_max, x_max, 121)
    fig, ax = plt.subplots()
    markers = {"sigmoid": "o", "tanh": "^"}
    for name in names:
        closed = A.derivative(name, x)
        fd = np.abs(closed - A.finite_difference(name, x, h=h))
        ag = np.abs(closed - A.autograd_derivative(name, x))
        style = {"ls": "none", "ms": 3, "marker": markers.get(name, "s")}
        ax.plot(
            x,
            np.maximum(fd, ERROR_FLOOR),
            color=COLORS["vermillion"],
            **style,
            label=f"{name}: finite difference (h = {h:g})",
        )
        ax.plot(
            x,
            np.maximum(ag, ERROR_FLOOR),
            color=COLORS["blue"],
            **style,
            label=f"{name}: autograd (float64)",
        )
    ax.axhline(np.finfo(np.float64).eps, color=COLORS["black"], lw=1, ls=":")
    ax.text(-x_max, np.finfo(np.float64).eps * 1.5, "float64 machine epsilon", fontsize=8)
    ax.set_yscale("log")
    ax.set(
        xlim=(-x_max, x_max),
        ylim=(ERROR_FLOOR / 3, 1e-6),
        xlabel="x",
        ylabel="|closed form − other method|",
    )
    ax.set_title(f"Agreement with the closed form (0 drawn at {ERROR_FLOOR:g})")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def finite_difference_steps(name: str = "sigmoid", x: float = 1.0):
    """Error of the central difference at ``x`` against the step h: truncation (∝ h²) wins for
    large h, rounding (∝ ε/h) for small h."""
    steps = np.logspace(-12, -1, 45)
    exact = A.derivative(name, x)
    errors = np.array([abs(A.finite_difference(name, x, h=h) - exact) for h in steps])
    fig, ax = plt.subplots()
    ax.loglog(
        steps,
        np.maximum(errors, ERROR_FLOOR),
        "o-",
        ms=3,
        color=COLORS["vermillion"],
        label="|finite difference − closed form|",
    )
    ax.axvline(1e-5, color=COLORS["black"], ls=":", lw=1, label="h = 1e-5 (the default)")
    ax.text(1e-11, 1e-9, "rounding\nerror ∝ ε/h", ha="center", fontsize=8)
    ax.text(1e-2, 1e-9, "truncation\nerror ∝ h²", ha="center", fontsize=8)
    ax.set(xlabel="step h", ylabel=f"error of {name}'({x:g})")
    ax.set_title("Central differences: too large a step or too small both hurt")
    ax.legend(loc="upper center", fontsize=8)
    return fig


def chain_preview(
    max_depth: int = 20, points=(("sigmoid", 0.0), ("sigmoid", 2.0), ("tanh", 0.0), ("tanh", 1.0))
):
    """f'(x)^L against depth L, log scale: the derivative factors alone that a gradient picks
    up through L units all sitting at the same x (weights of 1; notebook 02 adds the weights)."""
    depth = np.arange(0, max_depth + 1)
    fig, ax = plt.subplots()
    colors = [COLORS["orange"], COLORS["vermillion"], COLORS["green"], COLORS["sky"]]
    for (name, x), color in zip(points, colors, strict=False):
        factor = A.derivative(name, x)
        ax.semilogy(
            depth,
            factor ** depth.astype(float),
            "o-",
            ms=3,
            color=color,
            label=f"{name}'({x:g})^L = {factor:.3g}^L",
        )
    ax.set(xlabel="number of layers L", ylabel="product of derivative factors")
    ax.set_xticks(depth[::2])
    ax.set_title("A product of factors below 1 shrinks geometrically")
    ax.legend(loc="lower left", fontsize=8)
    return fig
