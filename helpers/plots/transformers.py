"""Figures for notebook 10's first half: the residual stream, per-block gradients, warm-up,
residual scaling and clipping in a transformer stack.

Each function draws one idea and returns the Figure; the notebook calls ``plt.show()``. The
numbers come from :mod:`helpers.transformers` (initialization profiles and reversal runs).
"""

import matplotlib.pyplot as plt
import numpy as np

from helpers.plots import COLORS

# (norm position, residual scale name) of helpers.transformers.residual_scaling_profiles
PROFILE_COLORS = {
    ("post", "1"): COLORS["vermillion"],
    ("pre", "1"): COLORS["blue"],
    ("post", "1/sqrt(2N)"): COLORS["orange"],
    ("pre", "1/sqrt(2N)"): COLORS["sky"],
}
# the cases of helpers.transformers.warmup_experiment
CASE_COLORS = {
    "post, no warm-up": COLORS["vermillion"],
    "post, warm-up": COLORS["orange"],
    "pre, no warm-up": COLORS["blue"],
    "post, no warm-up, s = 1/√(2N)": COLORS["green"],
}


def _profile_label(key) -> str:
    position, scale = key
    return f"{position}-LN, s = {'1/√(2N)' if scale != '1' else '1'}"


def _seed_lines(ax, groups: dict, colors: dict, values, label=str, **style) -> None:
    """One line per run, one colour and one legend entry per group."""
    for key, items in groups.items():
        for i, item in enumerate(items):
            x, y = values(item)
            ax.plot(
                x, y, color=colors[key], alpha=0.8, label=label(key) if i == 0 else None, **style
            )


def stream_profiles(profiles: dict):
    """RMS of the residual stream after the embedding (position 0) and after each block, one line
    per seed, for every (norm position, residual scale) of ``profiles``."""
    fig, ax = plt.subplots()
    _seed_lines(
        ax,
        profiles,
        PROFILE_COLORS,
        lambda p: (np.arange(len(p.stream)), p.stream),
        label=_profile_label,
        marker="o",
    )
    ax.set(
        xlabel="position in the stack (0 = embedding, then after each block)",
        ylabel="RMS of the residual stream h",
        title="The residual stream at initialization",
    )
    ax.legend(fontsize=8)
    return fig


def block_gradients(profiles: dict, keys=(("post", "1"), ("pre", "1"))):
    """Per-block gradient norm ‖∂L/∂θ_block‖ at initialization (log axis), one line per seed."""
    fig, ax = plt.subplots()
    chosen = {key: profiles[key] for key in keys}
    _seed_lines(
        ax,
        chosen,
        PROFILE_COLORS,
        lambda p: (np.arange(1, len(p.grad_norms) + 1), p.grad_norms),
        label=_profile_label,
        marker="o",
    )
    ax.set(
        yscale="log",
        xlabel="block (1 = next to the embedding)",
        ylabel="‖∂L/∂θ_block‖",
        title="Per-block gradient at initialization",
    )
    ax.legend(fontsize=8)
    return fig


def warmup_schedule(lrs_warmup, lr: float, warmup_steps: int):
    """The learning rate of each step with a linear warm-up, against the constant peak."""
    fig, ax = plt.subplots(figsize=(6.0, 2.6))
    steps = np.arange(len(lrs_warmup))
    ax.step(
        steps,
        lrs_warmup,
        where="post",
        color=COLORS["orange"],
        label=f"warm-up, W = {warmup_steps}",
    )
    ax.axhline(lr, color=COLORS["vermillion"], ls="--", label="no warm-up")
    ax.set(
        xlabel="optimizer step t",
        ylabel="learning rate",
        ylim=(0, 1.1 * lr),
        title="lr_t = lr · min(1, (t + 1)/W)",
    )
    ax.legend(fontsize=8)
    return fig


def _cases(runs: dict, cases) -> dict:
    return {case: runs[case] for case in (cases or runs)}


def reverse_losses(runs: dict, cases=None, *, title: str):
    """Training loss ÷ the baseline ln(vocab) of every run, one colour per case."""
    fig, ax = plt.subplots()
    _seed_lines(
        ax,
        _cases(runs, cases),
        CASE_COLORS,
        lambda r: (np.arange(len(r.losses)), r.losses / r.baseline),
    )
    ax.axhline(1, color="grey", ls=":", label="baseline ln 16 (ignores the input)")
    ax.set(xlabel="step", ylabel="training loss ÷ baseline", title=title)
    ax.legend(fontsize=8)
    return fig


def update_sizes(runs: dict, cases=None):
    """Length of each Adam update, ‖θ_after − θ_before‖ over all parameters (log axis)."""
    fig, ax = plt.subplots()
    _seed_lines(
        ax,
        _cases(runs, cases),
        CASE_COLORS,
        lambda r: (np.arange(len(r.update_norms)), r.update_norms),
    )
    ax.set(
        yscale="log", xlabel="step", ylabel="‖θ_after − θ_before‖", title="Size of each Adam update"
    )
    ax.legend(fontsize=8)
    return fig


def gradient_ratios(runs: dict, cases=None):
    """Last block's ÷ first block's gradient norm at every step (log axis)."""
    fig, ax = plt.subplots()

    def ratios(run):
        return np.arange(len(run.block_norms)), [
            run.gradient_ratio(t) for t in range(len(run.block_norms))
        ]

    _seed_lines(ax, _cases(runs, cases), CASE_COLORS, ratios)
    ax.axhline(1, color="grey", ls=":")
    ax.set(
        yscale="log",
        xlabel="step",
        ylabel="‖g_last block‖ ÷ ‖g_first block‖",
        title="How much less gradient reaches the first block",
    )
    ax.legend(fontsize=8)
    return fig


def clipping_norms(clipped: list, clip: float):
    """Global gradient norm before clipping of each step, with the clipping threshold."""
    fig, ax = plt.subplots()
    for i, run in enumerate(clipped):
        label = "post-LN, no warm-up, clipped" if i == 0 else None
        ax.plot(run.global_norms, color=COLORS["vermillion"], alpha=0.8, label=label)
    ax.axhline(clip, color="grey", ls="--", label=f"max norm {clip:g}")
    ax.set(
        yscale="log",
        xlabel="step",
        ylabel="global gradient norm before clipping",
        title="Clipping engages on most steps",
    )
    ax.legend(fontsize=8)
    return fig
