"""Where a loss curve stops improving: :func:`find_plateau`, robust to noise."""

import math

import numpy as np

from gradwatch import _checks
from gradwatch.thresholds import _MAD_TO_SIGMA, _MEDIAN_SE, PLATEAU_NOISE_Z


def _as_losses(losses) -> np.ndarray:
    try:
        values = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"losses must be a 1-D sequence of numbers, got {type(losses).__name__}"
        ) from None
    if values.ndim != 1:
        raise ValueError(f"losses must be 1-D (one loss per step), got shape {values.shape}")
    if values.size == 0:
        raise ValueError(
            "losses is empty: record at least a few steps before looking for a plateau"
        )
    return values


def moving_median(values: np.ndarray, window: int) -> np.ndarray:
    """s_i = median(values[i : i + window]) for i = 0 .. n − window (forward-looking)."""
    windows = np.lib.stride_tricks.sliding_window_view(values, window)
    return np.median(windows, axis=1)


def noise_level(values: np.ndarray) -> float:
    """Robust σ of step-to-step noise: 1.4826·median|Δ²x| / √6.

    Second differences cancel any locally linear trend, so a smooth falling curve has noise ≈ 0
    while i.i.d. noise of standard deviation σ gives Δ²e with variance 6σ².
    """
    if values.size < 3:
        return 0.0
    second = np.diff(values, n=2)
    return float(_MAD_TO_SIGMA * np.median(np.abs(second)) / math.sqrt(6.0))


def find_plateau(losses, window: int = 10, rel_tol: float = 0.01) -> int | None:
    """The step from which the loss stops improving, or None if it is still improving.

    1. Smooth with a forward moving median: s_i = median(losses[i : i + window]).
    2. Tolerance: tol = rel_tol · scale + 3 · 1.2533 · σ̂ / √window, where scale is the larger of
       |losses[0]| and max|s| (for a falling loss: where it started), σ̂ the step-to-step noise
       (:func:`noise_level`; 0 for a smooth curve) and 1.2533·σ̂/√window the standard error of a
       median of ``window`` samples.
    3. The plateau starts at the first i with s_i − min_(k ≥ i) s_k ≤ tol: from there on the
       smoothed loss never gets more than ``tol`` below its value at i.
    4. It must last: if fewer than ``window`` smoothed points follow i (i > n − 2·window), the
       loss was still improving at the end and the answer is None.

    ``losses`` must be finite: a NaN or inf loss means training diverged, which has no plateau
    (``diagnose`` reports it as exploding). Raises ValueError for empty or non-finite ``losses``,
    for fewer than 2·window values, window < 1 or rel_tol < 0.
    """
    values = _as_losses(losses)
    window = _checks.positive_int(window, "window")
    rel_tol = _checks.nonnegative(rel_tol, "rel_tol")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(
            f"losses contains a non-finite value ({values[bad[0]]}) at index {bad[0]}: training "
            "diverged there and has no plateau (diagnose() reports such runs as exploding)"
        )
    n = values.size
    if n < 2 * window:
        raise ValueError(
            f"losses has {n} values but find_plateau needs at least 2·window = {2 * window}; "
            "pass a smaller window or record more steps"
        )
    smooth = moving_median(values, window)
    scale = max(abs(float(values[0])), float(np.max(np.abs(smooth))))
    tol = rel_tol * scale
    tol += PLATEAU_NOISE_Z * _MEDIAN_SE * noise_level(values) / math.sqrt(window)
    future_min = np.minimum.accumulate(smooth[::-1])[::-1]
    start = int(np.flatnonzero(smooth - future_min <= tol)[0])
    if start > n - 2 * window:
        return None
    return start
