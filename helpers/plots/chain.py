"""Figures for notebook 02 (the chain rule as a product): per-layer gradient norms, and the
first-layer gradient against depth with its bound. Each function draws one idea and returns the
figure; the notebook calls ``plt.show()``.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from helpers.plots import COLORS

ACTIVATION_COLORS = {"sigmoid": COLORS["blue"], "tanh": COLORS["orange"]}


def _axes(ax):
    if ax is None:
        fig, ax = plt.subplots()
        return fig, ax
    return ax.figure, ax


def layer_gradient_norms(norms, *, title=None, ax=None):
    """Bar chart of ||dL/dW_l||_F for layers l = 1..L on a log scale (first layer on the left)."""
    norms = np.asarray(norms, dtype=float)
    fig, ax = _axes(ax)
    layers = np.arange(1, len(norms) + 1)
    ax.bar(layers, norms, color=COLORS["blue"], width=0.6)
    ax.set_yscale("log")
    ax.set_xticks(layers)
    ax.set_xlabel("layer l (1 = next to the input)")
    ax.set_ylabel(r"$\|\partial L / \partial W_l\|_F$ (loss per unit weight)")
    if title:
        ax.set_title(title)
    return fig


def gradient_vs_depth(sweeps, *, show_bound=True, title=None, ax=None):
    """||dL/dW_1||_F against depth (log y) for one or more depth sweeps, with their bounds.

    ``sweeps``: a :class:`helpers.chain.DepthSweep` or a list of them (e.g. one per seed or per
    activation). Measured values are solid lines with markers; each sweep's bound
    ||x|| ||a_L - y|| f'_max^L prod_(l>=2) ||W_l||_2 (:func:`helpers.chain.first_layer_bound`)
    is the dashed line of the same colour.
    """
    if not isinstance(sweeps, (list, tuple)) or hasattr(sweeps, "depths"):
        sweeps = [sweeps]
    fig, ax = _axes(ax)
    labelled = set()
    for sweep in sweeps:
        color = ACTIVATION_COLORS.get(sweep.activation, COLORS["black"])
        first = sweep.activation not in labelled
        labelled.add(sweep.activation)
        ax.plot(
            sweep.depths,
            sweep.grad_norm,
            "o-",
            color=color,
            markersize=4,
            label=f"{sweep.activation}: measured" if first else None,
        )
        if show_bound:
            ax.plot(
                sweep.depths,
                sweep.bound,
                "--",
                color=color,
                alpha=0.8,
                label=f"{sweep.activation}: bound" if first else None,
            )
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("depth L (layers)")
    ax.set_ylabel(r"$\|\partial L / \partial W_1\|_F$ (loss per unit weight)")
    if len(labelled) > 1:  # several activations: keep the legend clear of the lines
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    else:
        ax.legend(loc="best", fontsize=9)
    if title:
        ax.set_title(title)
    return fig
