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
    grad_norms: np.ndarray  # (steps, layers); frozen layers removed
    update_ratios: np.ndarray  # (steps, layers)
    layer_names: list[str]
    saturation: np.ndarray | None = None  # (steps, activations)
    dead_fraction: np.ndarray | None = None
    activation_names: list[str] = field(default_factory=list)

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

    A layer whose gradient norm is NaN at every step is frozen (``requires_grad=False``; the
    monitor records NaN for it) and is left out. Raises TypeError/ValueError naming ``monitor``.
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
    if steps < 2:
        raise ValueError(
            f"monitor has {steps} recorded step(s); diagnose needs at least 2 (call "
            "monitor.record(loss) once per training step)"
        )
    if grads.shape[0] != steps or ratios.shape != grads.shape:
        raise ValueError(
            f"monitor's arrays disagree: losses {losses.shape}, grad_norms {grads.shape}, "
            f"update_ratios {ratios.shape} (expected (steps,), (steps, layers), (steps, layers))"
        )
    names = list(getattr(monitor, "layer_names", [f"layer {i + 1}" for i in range(grads.shape[1])]))
    if len(names) != grads.shape[1]:
        names = [f"layer {i + 1}" for i in range(grads.shape[1])]
    frozen = np.all(np.isnan(grads), axis=0)
    if frozen.all():
        raise ValueError("monitor recorded no gradients: every tracked layer is frozen")
    keep = ~frozen
    activation_names = list(getattr(monitor, "activation_names", []))
    saturation = _optional(monitor, "saturation", steps)
    dead = _optional(monitor, "dead_fraction", steps)
    return Record(
        losses=losses,
        grad_norms=grads[:, keep],
        update_ratios=ratios[:, keep],
        layer_names=[n for n, k in zip(names, keep, strict=True) if k],
        saturation=saturation,
        dead_fraction=dead,
        activation_names=activation_names,
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


def _first_nonfinite(record: Record) -> int | None:
    bad_loss = ~np.isfinite(record.losses)
    bad_grad = ~np.isfinite(record.grad_norms).all(axis=1)
    bad = np.flatnonzero(bad_loss | bad_grad)
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
    ev["plateau_step"] = find_plateau(losses, window=w, rel_tol=THRESHOLDS["plateau_rel_tol"].value)

    grads = record.grad_norms
    recent = np.median(grads[-w:], axis=0)
    early = np.median(grads[:w], axis=0)
    ev["grad_per_layer"] = tuple(float(g) for g in recent)
    ev["grad_first"] = float(recent[0])
    ev["grad_last"] = float(recent[-1])
    ev["grad_max"] = float(recent.max())
    two_layers = grads.shape[1] >= 2
    ev["layer_ratio"] = _ratio(recent[0], recent[-1]) if two_layers else math.nan
    ev["early_layer_ratio"] = _ratio(early[0], early[-1]) if two_layers else math.nan
    ev["grad_collapse"] = _ratio(recent.max(), early.max())
    total = np.sqrt(np.sum(grads**2, axis=1))
    ev["grad_growth"] = _ratio(float(np.median(total[-w:])), float(np.median(total[:w])))

    updates = _nanmedian_columns(record.update_ratios[1:][-w:])
    finite = updates[np.isfinite(updates)]
    ev["update_min"] = float(finite.min()) if finite.size else math.nan
    ev["update_max"] = float(finite.max()) if finite.size else math.nan
    ev["update_first_last"] = _ratio(updates[0], updates[-1]) if two_layers else math.nan

    names = record.activation_names
    ev["dead_max"], ev["dead_layer"] = _worst(record.dead_fraction, names, w)
    ev["saturation_max"], ev["saturation_layer"] = _worst(record.saturation, names, w)
    return ev
