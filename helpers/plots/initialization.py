"""Figures for notebook 06 (weight initialization): the variance recursion against measurement,
the reproductions of Glorot & Bengio (2010) and He et al. (2015), deep Jacobian spectra
(Gaussian versus orthogonal) and the depth × σ_w² trainability map of Schoenholz et al. (2017).
Each function returns the figure; the notebook calls ``plt.show()``.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from helpers import initialization as I
from helpers.plots import COLORS, CYCLE

INIT_COLORS = {
    "xavier": COLORS["vermillion"],
    "he": COLORS["blue"],
    "default": COLORS["black"],
    "standard": COLORS["vermillion"],
    "normalized": COLORS["blue"],
    "gaussian": COLORS["vermillion"],
    "orthogonal": COLORS["blue"],
}


def _layers(ax, n: int, label: str = "hidden layer (1 = next to the input)") -> np.ndarray:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(label)
    return np.arange(1, n + 1)


def recursion_vs_measurement(measured, predicted):
    """Var[z_l] per hidden layer: measured in real networks (markers; mean over seeds, bars from
    the smallest to the largest) against the variance recursion (lines). Log y axis.

    measured: {label: array (seeds, depth)}; predicted: {label: array (depth,)}."""
    fig, ax = plt.subplots()
    for color, (label, rows) in zip(CYCLE, measured.items(), strict=False):
        rows = np.asarray(rows, dtype=float)
        layers = _layers(ax, rows.shape[1])
        mean = rows.mean(axis=0)
        err = np.vstack([mean - rows.min(axis=0), rows.max(axis=0) - mean])
        ax.errorbar(layers, mean, yerr=err, fmt="o", ms=4, color=color, label=f"{label}: measured")
        ax.plot(layers, predicted[label], "-", color=color, lw=1.2, alpha=0.8)
    ax.plot([], [], "-", color=COLORS["black"], lw=1.2, label="lines: the recursion")
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 60)  # room for the legend above the data
    ax.set_ylabel("Var[z_l] (pre-activation variance)")
    ax.set_title("The variance recursion predicts every layer")
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    return fig


def glorot_profiles(runs):
    """Left: RMS of the back-propagated gradient ∂L/∂z per layer, relative to the top hidden
    layer (Glorot & Bengio's Figure 7). Right: weight-gradient norms (their Figure 8). One line per
    seed. runs: {init: helpers.initialization.GlorotRun}."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    for init, run in runs.items():
        color = INIT_COLORS[init]
        layers = _layers(left, run.backward.shape[1])
        _layers(right, run.backward.shape[1])
        for i, (back, grad) in enumerate(zip(run.backward, run.weight_grad, strict=True)):
            label = f"{init} init" if i == 0 else None
            left.semilogy(layers, back / back[-1], "o-", ms=3, color=color, label=label)
            right.semilogy(layers, grad, "o-", ms=3, color=color, label=label)
    left.set(ylabel="RMS of ∂L/∂z_l ÷ top layer's", title="Back-propagated gradients")
    right.set(ylabel=r"$\|\partial L/\partial W_l\|$", title="Weight gradients")
    left.legend(fontsize=8)
    return fig


def he_reproduction(runs, *, theory_rate: float = 1 / math.sqrt(2)):
    """Left: RMS of each hidden layer's pre-activations at initialization (one line per seed),
    with Xavier's predicted 1/√2 per layer dashed. Right: training loss (one line per seed) and the
    mean-predictor baseline. runs: {init: helpers.initialization.TrainingRun}."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    for init, run in runs.items():
        color = INIT_COLORS[init]
        hidden = run.forward[:, :-1]
        layers = _layers(left, hidden.shape[1])
        for i, (row, losses) in enumerate(zip(hidden, run.losses, strict=True)):
            label = f"{init} init" if i == 0 else None
            left.semilogy(layers, row, color=color, lw=1.2, label=label)
            right.plot(np.arange(1, len(losses) + 1), losses, color=color, lw=1.2, label=label)
        if init == "xavier":
            start = np.exp(np.log(hidden[:, 0]).mean())
            left.semilogy(
                layers,
                start * theory_rate ** (layers - 1.0),
                "--",
                color=color,
                lw=1,
                label="× 1/√2 per layer",
            )
    baseline = next(iter(runs.values())).baseline
    right.axhline(baseline, color=COLORS["black"], ls=":", lw=1, label="predict the mean")
    left.set(ylabel="RMS of z_l at initialization", title="Signal scale per layer")
    right.set(
        xlabel="SGD step",
        ylabel="training loss (MSE)",
        title="Training",
        ylim=(0.0, 2.0 * baseline),
    )
    left.legend(fontsize=8, loc="lower left")
    right.legend(fontsize=8, loc="upper right")
    return fig


def jacobian_spectra(spectra):
    """Histograms of log10(singular value) of a deep network's input-output Jacobian, one panel
    per setting, Gaussian and orthogonal weights overlaid. spectra: {title: {weights: values}}.
    A grey band marks where float64 cannot resolve them: below 1e-15 of the panel's largest."""
    fig, axes = plt.subplots(1, len(spectra), figsize=(9.0, 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    all_logs = np.concatenate([np.log10(v) for panel in spectra.values() for v in panel.values()])
    bins = np.linspace(math.floor(all_logs.min()), max(0.5, math.ceil(all_logs.max())), 60)
    for ax, (title, panel) in zip(axes, spectra.items(), strict=True):
        for weights, values in panel.items():
            ax.hist(
                np.log10(values),
                bins=bins,
                color=INIT_COLORS[weights],
                alpha=0.6,
                label=f"{weights} weights",
            )
        ax.axvline(0.0, color=COLORS["black"], lw=1, ls=":")
        floor = math.log10(max(float(np.max(v)) for v in panel.values())) - 15.0
        if floor > bins[0]:
            label = "below float64's resolution"
            ax.axvspan(bins[0], floor, color=COLORS["black"], alpha=0.12, lw=0, label=label)
        ax.set(xlabel="log10(singular value)", title=title)
    axes[0].set_ylabel("number of singular values")
    axes[0].legend(fontsize=8, loc="upper left")
    return fig


def trainability(result, *, multiple: float = 6.0):
    """The depth × σ_w² map of final loss ÷ mean baseline (dark = trained, bright = learned
    nothing), with the depth scale ``multiple``·ξ, ξ = −1/ln σ_w², drawn on top."""
    fig, ax = plt.subplots()
    s2, depths = result.sigma_w2s, result.depths
    image = ax.pcolormesh(
        np.arange(len(s2) + 1) - 0.5,
        np.arange(len(depths) + 1) - 0.5,
        np.clip(result.loss, 0.0, 1.0),
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
    )
    fig.colorbar(image, ax=ax, label="final loss ÷ predict-the-mean loss")
    ax.set_xticks(range(len(s2)), [f"{v:g}" for v in s2])
    ax.set_yticks(range(len(depths)), [str(d) for d in depths])
    # 6ξ in the map's index coordinates: depths are on a log2 grid, so interpolate in log depth.
    fine = np.linspace(s2[0], min(s2[-1], 0.999), 200)
    xi = np.array([multiple * I.depth_scale(v) for v in fine])
    y = np.interp(
        np.log(xi), np.log(depths), np.arange(len(depths)), left=-0.5, right=len(depths) - 0.5
    )
    x = np.interp(fine, s2, np.arange(len(s2)))
    ax.plot(x, y, color=COLORS["vermillion"], lw=2, label=f"depth = {multiple:g}ξ, ξ = −1/ln σ_w²")
    ax.set(xlabel="σ_w² = fan_in · Var[W]", ylabel="hidden layers (tanh, no biases)")
    ax.set_title("Trainable depth follows the depth scale ξ")
    ax.legend(fontsize=8, loc="upper left")
    return fig
