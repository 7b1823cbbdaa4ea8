"""Reading a monitor's record and turning it into the numbers the diagnosis rules read."""

import math
from dataclasses import dataclass, field

import numpy as np

from gradwatch.plateau import find_plateau
from gradwatch.thresholds import THRESHOLDS


@dataclass(frozen=True)
class Record:
    """The arrays diagnose reads, checked and shaped: one row per recorded step."""

    losses: np.ndarray  # (steps,)
    grad_norms: np.ndarray  # (steps, layers); layers that never had a gradient removed
    update_ratios: np.ndarray  # (steps, layers)
    layer_names: list[str]
    saturation: np.ndarray | None = None  # (steps, activations)
    dead_fraction: np.ndarray | None = None
    activation_names: list[str] = field(default_factory=list)
    time_ratios: np.ndarray | None = None  # (steps, recurrent layers)
    time_names: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # layers that never had a gradient

    @property
    def steps(self) -> int:
        return self.losses.size


def _array(monitor, name: str, ndim: int) -> np.ndarray:
    try:
        value = getattr(monitor, name)
    except AttributeError:
        raise TypeError(
            f"monitor must be a GradientMonitor (or have its attributes losses, grad_norms and "
            f"update_ratios); {type(monitor).__name__} has no {name!r}"
        ) from None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"monitor.{name} must be an array of numbers") from None
    if array.ndim != ndim:
        raise ValueError(f"monitor.{name} must be {ndim}-D, got shape {array.shape}")
    return array


def _optional(monitor, name: str, steps: int) -> np.ndarray | None:
    """A forward statistic if the monitor recorded one for every step, else None."""
    try:
        value = getattr(monitor, name)
    except AttributeError:  # forward statistics off
        return None
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != steps or array.shape[1] == 0:
        return None
    return array


def read_monitor(monitor) -> Record:
    """Check ``monitor``'s attributes and return them as a :class:`Record`.

    A layer whose gradient norm is NaN at every step never had a gradient (the monitor records
    NaN for "no gradient") and is left out. Raises TypeError/ValueError naming ``monitor``.
    """
    losses = _array(monitor, "losses", 1)
    if losses.size == 0:
        raise ValueError(
            "monitor has recorded nothing yet: call monitor.record(loss) after loss.backward() "
            "at every training step, then diagnose(monitor)"
        )
    grads = _array(monitor, "grad_norms", 2)
    ratios = _array(monitor, "update_ratios", 2)
    steps = losses.size
    if grads.shape[0] != steps or ratios.shape != grads.shape:
        raise ValueError(
            f"monitor's arrays disagree: losses {losses.shape}, grad_norms {grads.shape}, "
            f"update_ratios {ratios.shape} (expected (steps,), (steps, layers), (steps, layers))"
        )
    names = list(getattr(monitor, "layer_names", [f"layer {i + 1}" for i in range(grads.shape[1])]))
    if len(names) != grads.shape[1]:
        names = [f"layer {i + 1}" for i in range(grads.shape[1])]
    no_gradient = np.all(np.isnan(grads), axis=0)  # frozen, or never reached by the loss
    if no_gradient.all():
        raise ValueError(
            "monitor recorded no gradients: no tracked layer ever had one (call "
            "monitor.record(loss) after loss.backward())"
        )
    keep = ~no_gradient
    activation_names = list(getattr(monitor, "activation_names", []))
    saturation = _optional(monitor, "saturation", steps)
    dead = _optional(monitor, "dead_fraction", steps)
    time_ratios = _optional(monitor, "time_ratios", steps)
    return Record(
        losses=losses,
        grad_norms=grads[:, keep],
        update_ratios=ratios[:, keep],
        layer_names=[n for n, k in zip(names, keep, strict=True) if k],
        saturation=saturation,
        dead_fraction=dead,
        activation_names=activation_names,
        time_ratios=time_ratios,
        time_names=list(getattr(monitor, "time_names", [])),
        missing=[n for n, k in zip(names, keep, strict=True) if not k],
    )


def default_window(steps: int) -> int:
    """Steps per smoothing window: an eighth of the run, between 1 and 25."""
    return int(min(25, max(1, steps // 8)))


def _nanmedian_columns(rows: np.ndarray) -> np.ndarray:
    """Median of each column ignoring NaN; NaN for an all-NaN column (no warning)."""
    out = np.full(rows.shape[1], np.nan)
    for j in range(rows.shape[1]):
        column = rows[:, j]
        column = column[~np.isnan(column)]
        if column.size:
            out[j] = np.median(column)
    return out


def _nanmax(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.max()) if finite.size else math.nan


def _ratio(a: float, b: float) -> float:
    """a / b, NaN when undefined (b = 0 or either is NaN)."""
    if not (np.isfinite(a) and np.isfinite(b)) or b == 0:
        return math.nan
    return a / b


def _worst(rows: np.ndarray | None, names: list[str], window: int):
    """(largest recent median over columns, its column name) of a forward statistic."""
    if rows is None:
        return math.nan, None
    recent = _nanmedian_columns(rows[-window:])
    if np.all(np.isnan(recent)):
        return math.nan, None
    j = int(np.nanargmax(recent))
    name = str(names[j]) if j < len(names) else f"activation {j + 1}"
    # nn.Sequential names its children "0", "1", ...: say that they are module indices.
    return float(recent[j]), f"module {name}" if name.isdigit() else name


def _tail_trend(losses: np.ndarray) -> tuple[float, float]:
    """(t, change) of the least-squares line through the loss over the last quarter of the
    record (at least 8 rows; NaN if fewer). t is the slope over its standard error; change is
    the line's relative change across that stretch (−0.05: it fell 5%). On a log scale when
    every loss is positive, so multiplying the loss by a constant changes nothing and a geometric
    decay far below the start still counts. A flat but noisy plateau gives t ≤ −3 about once in
    a thousand records."""
    rows = max(8, losses.size // 4)
    if losses.size < rows:
        return math.nan, math.nan
    y = losses[-rows:]
    positive = bool((y > 0).all())
    y = np.log(y) if positive else y
    x = np.arange(rows, dtype=np.float64)
    x -= x.mean()
    slope = float(x @ (y - y.mean()) / (x @ x))
    span = slope * (rows - 1)
    change = math.expm1(span) if positive else _ratio(span, abs(float(y.mean())))
    residual = y - y.mean() - slope * x
    spread = float(residual @ residual) / (rows - 2)
    if spread == 0:
        return (-math.inf if slope < 0 else (math.inf if slope > 0 else 0.0)), change
    return slope / math.sqrt(spread / float(x @ x)), change


def _tail_share(change: float, start: float, end: float) -> float:
    """The share of the run's whole decline that came in its last quarter: log(1 + change) ÷
    log(end / start) for positive losses (NaN if the loss did not fall). Over a long plateau it
    goes to 0; for a loss still falling at its usual pace it is a quarter or more."""
    if not (start > 0 and end > 0 and end < start and change > -1):
        return math.nan
    return math.log1p(change) / math.log(end / start)


def _first_nonfinite(record: Record) -> int | None:
    """The first row with a NaN/inf loss, an infinite gradient, or a NaN gradient in a layer
    that had a finite one before (a NaN where a layer never had a gradient is "no gradient")."""
    grads = record.grad_norms
    reached = np.maximum.accumulate(np.isfinite(grads), axis=0)
    bad_grad = np.isinf(grads).any(axis=1)
    bad_grad[1:] |= (np.isnan(grads[1:]) & reached[:-1]).any(axis=1)
    bad = np.flatnonzero(~np.isfinite(record.losses) | bad_grad)
    return int(bad[0]) if bad.size else None


def gather_evidence(record: Record, *, baseline: float | None, window: int) -> dict:
    """The numbers the rules read, each a float (NaN if undefined), int or None.

    Gradient and update statistics are medians over the last ``window`` steps ("recent") or the
    first ``window`` steps ("early"); first/last means the first and last tracked layers.
    """
    w = window
    ev: dict = {"steps": record.steps, "window": w, "baseline": baseline}
    ev["nonfinite_step"] = _first_nonfinite(record)
    losses = record.losses
    ev["loss_start"] = float(losses[0])
    ev["loss_end"] = float(np.median(losses[-w:]))
    if ev["nonfinite_step"] is not None:
        return ev
    ev["loss_peak"] = float(losses.max())
    ev["loss_spike"] = _ratio(ev["loss_peak"], abs(ev["loss_start"]))
    reference = ev["loss_start"] if baseline is None else min(ev["loss_start"], baseline)
    ev["reference"] = reference
    ev["drop"] = (reference - ev["loss_end"]) / abs(reference) if reference != 0 else 0.0
    # Gradients are judged relative to the loss they come from: ×c on the loss is ×c on both.
    ev["loss_scale"] = abs(reference) if reference != 0 else math.nan
    ev["tail_trend"], ev["tail_change"] = _tail_trend(losses)
    ev["tail_share"] = _tail_share(ev["tail_change"], ev["loss_start"], ev["loss_end"])
    ev["plateau_step"] = find_plateau(losses, window=w, rel_tol=THRESHOLDS["plateau_rel_tol"].value)

    grads = record.grad_norms
    recent = _nanmedian_columns(grads[-w:])
    early = _nanmedian_columns(grads[:w])
    ev["grad_per_layer"] = tuple(float(g) for g in recent)
    ev["grad_first"] = float(recent[0])
    ev["grad_last"] = float(recent[-1])
    ev["grad_max"] = _nanmax(recent)
    ev["grad_first_rel"] = _ratio(ev["grad_first"], ev["loss_scale"])
    ev["grad_max_rel"] = _ratio(ev["grad_max"], ev["loss_scale"])
    two_layers = grads.shape[1] >= 2
    ev["layer_ratio"] = _ratio(recent[0], recent[-1]) if two_layers else math.nan
    ev["early_layer_ratio"] = _ratio(early[0], early[-1]) if two_layers else math.nan
    ev["grad_collapse"] = _ratio(ev["grad_max"], _nanmax(early))
    total = np.sqrt(np.nansum(grads**2, axis=1))
    ev["grad_growth"] = _ratio(float(np.median(total[-w:])), float(np.median(total[:w])))

    updates = _nanmedian_columns(record.update_ratios[1:][-w:])
    finite = updates[np.isfinite(updates)]
    ev["update_min"] = float(finite.min()) if finite.size else math.nan
    ev["update_max"] = float(finite.max()) if finite.size else math.nan
    ev["update_first_last"] = _ratio(updates[0], updates[-1]) if two_layers else math.nan

    ev["time_min"], ev["time_layer"] = math.nan, None
    if record.time_ratios is not None:
        recent_time = _nanmedian_columns(record.time_ratios[-w:])
        if np.isfinite(recent_time).any():
            j = int(np.nanargmin(recent_time))
            ev["time_min"], ev["time_layer"] = float(recent_time[j]), record.time_names[j]
    ev["missing_layers"] = tuple(record.missing)
    names = record.activation_names
    ev["dead_max"], ev["dead_layer"] = _worst(record.dead_fraction, names, w)
    ev["saturation_max"], ev["saturation_layer"] = _worst(record.saturation, names, w)
    return ev
