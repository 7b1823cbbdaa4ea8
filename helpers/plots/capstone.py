"""The figures of notebook 11 (the capstone): a repair's before and after, the gradient along a
sequence, and the training loss of every mystery against its baseline."""

import numpy as np

from helpers.mysteries import RECENT_STEPS


def _median_gradients(monitor, window: int = RECENT_STEPS) -> np.ndarray:
    """Per tracked layer, the median gradient norm over the last ``window`` finite steps."""
    grads = np.asarray(monitor.grad_norms, dtype=float)
    finite = grads[np.isfinite(grads).all(axis=1)]
    if finite.size == 0:
        return np.full(grads.shape[1], np.nan)
    return np.median(finite[-window:], axis=0)


def plot_comparison(comparison):
    """Two panels: the training loss per step before and after the fix (log scale, the baseline
    dashed), and each layer's gradient norm at the end of training (first layer on the left)."""
    import matplotlib.pyplot as plt

    from helpers.plots import COLORS

    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    runs = ((comparison.before, "before", COLORS["vermillion"]),)
    runs += ((comparison.after, f"after: {comparison.after.fix}", COLORS["blue"]),)
    for r, label, color in runs:
        steps = np.arange(len(r.losses))
        left.plot(steps, r.losses, color=color, label=label)
        grads = _median_gradients(r.monitor)
        right.plot(np.arange(1, len(grads) + 1), grads, "o-", color=color, ms=4, label=label)
    left.axhline(comparison.before.baseline, color=COLORS["black"], ls="--", lw=1, label="baseline")
    left.set(yscale="log", xlabel="training step", ylabel="training loss")
    right.set(yscale="log", xlabel="tracked layer (1 = next to the input)")
    right.set_ylabel("gradient norm ‖∂L/∂W‖\n(median of the last 10 steps)")
    right.xaxis.get_major_locator().set_params(integer=True)
    left.legend(fontsize=8)
    return fig


def plot_lag_profile(profile):
    """‖∂L/∂h_{T−k}‖ / ‖∂L/∂h_T‖ against the lag k (log scale), with the lags where the adding
    problem's first marked value sits (k ≥ T/2) shaded."""
    import matplotlib.pyplot as plt

    from helpers.plots import COLORS

    fig, ax = plt.subplots()
    relative = profile.h / profile.h[0]
    ax.plot(profile.lags, relative, "o-", ms=3, color=COLORS["blue"])
    half = len(profile.lags) // 2
    ax.axvspan(half, profile.lags[-1], color=COLORS["orange"], alpha=0.15)
    ax.text(half + 0.5, relative.max(), "first marked value\nsits in here", va="top", fontsize=9)
    ax.set(yscale="log", xlabel="lag k (steps before the end of the sequence)")
    ax.set_ylabel("‖∂L/∂h at step T − k‖\nrelative to k = 0")
    return fig


def plot_overview(trained):
    """The training loss of each trained mystery divided by its baseline, per step (log scale):
    1 is the best constant prediction. Runs that overflow leave the chart."""
    import matplotlib.pyplot as plt

    from helpers.plots import COLORS, CYCLE

    top = 1e2
    fig, ax = plt.subplots()
    above = []
    for color, m in zip(CYCLE, trained, strict=False):
        if m.losses is None:
            raise ValueError(f"mystery {m.name} has not been trained yet: call .train()")
        relative = m.losses / m.baseline
        ax.plot(np.arange(len(relative)), relative, color=color, label=m.name)
        if not np.all(relative[np.isfinite(relative)] < top) or not np.isfinite(relative).all():
            above.append(f"{m.name}: {relative[0]:.0e}× at step 0, then {relative[-1]:.0f}")
    if above:
        ax.text(0.02, 0.97, "above the chart: " + "; ".join(above), transform=ax.transAxes,
                va="top", fontsize=8)  # fmt: skip
    ax.axhline(1.0, color=COLORS["black"], ls="--", lw=1)
    ax.set(yscale="log", ylim=(1e-4, top), xlabel="training step")
    ax.set_ylabel("training loss / baseline")
    ax.legend(
        title="mystery", fontsize=8, ncol=len(trained), loc="upper right", bbox_to_anchor=(1, 0.9)
    )
    return fig
