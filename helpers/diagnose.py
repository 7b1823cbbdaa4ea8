"""Telling a vanishing-gradient plateau from convergence: :func:`find_plateau` and :func:`diagnose`.

Notebook 04 teaches with these, and notebook 09 uses them on mystery models. ``diagnose`` reads a
``helpers.monitor.GradientMonitor`` (or any object with the same attributes) and labels the run
"vanishing", "exploding", "converged" or "healthy", with the rule that fired, the numbers behind
it and a plain-language explanation. Every threshold lives in :data:`THRESHOLDS` with its source.

The rules (first match wins; :data:`RULES` lists them):

1. exploding  - a loss or gradient norm is NaN/inf; or the loss spiked to ≥ 10x its starting
                value; or first/last layer gradient ratio > 70 (AUTOTRAINER's β3); or the total
                gradient norm grew ≥ 1000x while the loss did not fall.
2. vanishing  - first/last layer gradient ratio < 1e-3 and first-layer norm < 1e-4 (AUTOTRAINER's
                β1 and β2), whatever the loss does (an adaptive optimizer can hide it).
3. healthy    - the loss is still improving (:func:`find_plateau` finds no plateau).
4. converged  - the loss plateaued at most half of its starting (or baseline) level.
5. vanishing  - the loss stalled (plateaued before halving) and ≥ 70% of some layer's units are
                dead (dying ReLU) or saturated, or every layer's gradient is < 1e-3 (too small
                for SGD to move the loss), or the gradients collapsed ≥ 100x since the start.
6. healthy    - stalled, gradients fine, but every update is < 1e-4 of its weights: the
                learning rate is too small (the look-alike of vanishing).
7. converged  - stalled with usable gradients and updates: gradient flow is not the problem
                (capacity, data or learning rate are).

"Halving" is measured from the reference: the starting loss, or the baseline (the best constant
prediction's loss) if that is lower.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from helpers import _validate
from helpers.activations import saturation_threshold

LABELS = ("vanishing", "exploding", "converged", "healthy")


@dataclass(frozen=True)
class Threshold:
    """One documented constant of the rules: its value, what it means and where it comes from."""

    value: float
    meaning: str
    source: str


# Zhang, Zhai, Ma & Shen (2021), "AUTOTRAINER: An Automatic DNN Training Problem Detection
# and Repair System", ICSE 2021; their detector (utils/monitor.py, gradient_issue) uses β1 = 1e-3,
# β2 = 1e-4, β3 = 70 and γ = 0.7. Karpathy (2022), "Building makemore part 3: Activations &
# Gradients, BatchNorm": update-to-data ratio ≈ 1e-3 (log10 ≈ -3) for a healthy learning rate.
# Wardat, Cruz, Le & Rajan (2022), "DeepDiagnosis", ICSE 2022, check the same kinds of symptoms
# (loss not decreasing, unchanged weights, saturated activations, dead nodes).
THRESHOLDS = {
    "vanishing_ratio": Threshold(
        1e-3,
        "first-layer / last-layer gradient norm below this: early layers starve",
        "AUTOTRAINER β1 (Zhang et al., ICSE 2021)",
    ),
    "tiny_gradient": Threshold(
        1e-4,
        "first-layer gradient norm below this (together with β1) means vanishing; also the "
        "floor under which a first-layer gradient cannot count as exploding. Assumes a loss ~1",
        "AUTOTRAINER β2 (Zhang et al., ICSE 2021)",
    ),
    "stalled_gradient": Threshold(
        1e-3,
        "at a plateau before the loss halved, every layer's gradient below this is unusable: "
        "an SGD step of size η lowers the loss by about η·g², under 1e-6 for g < 1e-3, η ≤ 1",
        "first-order estimate (course choice); AUTOTRAINER's β2 = 1e-4 bounds the first layer",
    ),
    "exploding_ratio": Threshold(
        70.0,
        "first-layer / last-layer gradient norm above this: gradients grow toward the input",
        "AUTOTRAINER β3 (Zhang et al., ICSE 2021)",
    ),
    "loss_spike": Threshold(
        10.0,
        "largest recorded loss / starting loss at or above this: the updates overshoot",
        "course choice: an order of magnitude; such spikes are the signature of exploding "
        "gradients in recurrent nets (Pascanu, Mikolov & Bengio 2013)",
    ),
    "exploding_growth": Threshold(
        1e3,
        "total gradient norm (last window / first window) grew by this factor, loss not falling",
        "course choice: three orders of magnitude, the mirror image of β1",
    ),
    "dead_fraction": Threshold(
        0.7,
        "fraction of a layer's units dead on the whole batch (ReLU output 0 for every example)",
        "AUTOTRAINER γ (they count zero gradient entries; the monitor counts dead units)",
    ),
    "saturated_fraction": Threshold(
        0.7,
        "fraction of a layer's pre-activations beyond the saturation threshold (sigmoid |z| > 5)",
        "course choice: AUTOTRAINER's γ reused for units that pass almost no gradient",
    ),
    "gradient_collapse": Threshold(
        1e-2,
        "largest layer gradient now / at the start below this while the loss has not fallen",
        "course choice: two orders of magnitude",
    ),
    "healthy_update": Threshold(
        1e-3,
        "typical update-to-weight ratio per step for a well-tuned learning rate (reference line)",
        "Karpathy (2022), makemore part 3",
    ),
    "tiny_update": Threshold(
        1e-4,
        "every layer's update-to-weight ratio below this: the learning rate is too small",
        "a decade below Karpathy's ≈ 1e-3",
    ),
    "converged_drop": Threshold(
        0.5,
        "the plateau lies at least this fraction below the reference loss: converged",
        "course choice: the loss at least halved from its start (or the baseline)",
    ),
    "plateau_rel_tol": Threshold(
        0.01,
        "find_plateau's tolerance: improvement below 1% of the loss scale does not count",
        "course choice",
    ),
}

# find_plateau's noise allowance: a difference of smoothed losses within PLATEAU_NOISE_Z standard
# errors of the moving median counts as noise. The median of w Gaussian samples has standard
# error √(π/2)·σ/√w ≈ 1.2533·σ/√w (its asymptotic variance is πσ²/(2w)).
PLATEAU_NOISE_Z = 3.0
_MEDIAN_SE = math.sqrt(math.pi / 2.0)
# σ of i.i.d. noise from second differences: Δ²e has variance 6σ², and 1.4826·MAD estimates σ.
_MAD_TO_SIGMA = 1.4826

# A note (not a rule): the loss counts as having fallen when it ends at least 10% below its
# reference; used to explain an Adam-trained network whose gradients vanish.
LOSS_FELL = 0.1

RULES = {
    "non-finite": ("exploding", "a loss or gradient norm is NaN or infinite"),
    "loss-spike": ("exploding", "the loss spiked to 10x its starting value or more"),
    "layer-ratio-high": ("exploding", "first/last layer gradient ratio above 70"),
    "gradient-growth": ("exploding", "gradient norm grew 1000x while the loss did not fall"),
    "layer-ratio": ("vanishing", "first/last gradient ratio < 1e-3 and first layer < 1e-4"),
    "still-improving": ("healthy", "no plateau: the loss is still falling"),
    "plateau-low": ("converged", "plateau after the loss at least halved"),
    "dying-relu": ("vanishing", "stalled (not halved) with ≥ 70% dead units in a layer"),
    "saturation": ("vanishing", "stalled (not halved) with ≥ 70% saturated units in a layer"),
    "all-small": ("vanishing", "stalled (not halved) with every layer's gradient < 1e-3"),
    "gradient-collapse": ("vanishing", "stalled (not halved), gradients shrank 100x"),
    "tiny-updates": ("healthy", "stalled (not halved), gradients fine, updates < 1e-4"),
    "plateau-high": ("converged", "stalled (not halved), gradients and updates fine"),
}


# --- find_plateau --------------------------------------------------------------------------------


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
    window = _validate.positive_int(window, "window")
    rel_tol = _validate.nonnegative(rel_tol, "rel_tol")
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


# --- reading a monitor ---------------------------------------------------------------------------


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


# --- the evidence --------------------------------------------------------------------------------


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


# --- the diagnosis -------------------------------------------------------------------------------


def _sci(x) -> str:
    """A magnitude for printing: two significant digits in scientific notation, or "n/a"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.1e}"


def _num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.3g}"


def _pct(x) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return f"{round(100 * x) + 0:.0f}%"  # + 0 turns -0 into 0


def _below(drop: float, reference: float) -> str:
    """The drop as text, e.g. "40% below the reference 0.693" (or "12% above" if it rose)."""
    where = f"below the reference {_num(reference)}"
    if round(100 * drop) < 0:
        return f"{_pct(-drop)} above the reference {_num(reference)}"
    return f"{_pct(drop)} {where}"


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one training run.

    label: "vanishing", "exploding", "converged" or "healthy". rule: the key of :data:`RULES` that
    fired. cause: a short name for the likely cause (e.g. "dying ReLU"). evidence: the numbers
    (see :func:`gather_evidence`). explanation and fix: plain language. notes: further
    observations that do not change the label (e.g. "updates are tiny: raise the learning rate").
    """

    label: str
    rule: str
    cause: str
    evidence: dict
    explanation: str
    fix: str
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        ev = self.evidence
        out = [f"Diagnosis: {self.label.upper()}  (rule: {self.rule}; cause: {self.cause})"]
        start, end = _num(ev["loss_start"]), _num(ev["loss_end"])
        loss = f"  loss      {start} -> {end} over {ev['steps']} steps"
        if ev.get("nonfinite_step") is not None:
            out.append(loss + f"; first NaN/inf at step {ev['nonfinite_step']}")
        else:
            plateau = ev["plateau_step"]
            where = "no plateau" if plateau is None else f"plateau from step {plateau}"
            out.append(loss + f"; {where}; {_below(ev['drop'], ev['reference'])}")
            out.append(
                f"  gradient  first layer {_sci(ev['grad_first'])}, last layer "
                f"{_sci(ev['grad_last'])}, first/last {_sci(ev['layer_ratio'])}"
            )
            out.append(
                f"  update    update/weight per step {_sci(ev['update_min'])} to "
                f"{_sci(ev['update_max'])} (typical ~1e-3)"
            )
            units = []
            for key, name in (("dead", "dead"), ("saturation", "saturated")):
                value = ev[f"{key}_max"]
                if not math.isnan(value):
                    layer = f" ({ev[f'{key}_layer']})" if value > 0 else ""
                    units.append(f"{name} {_pct(value)}{layer}")
            if units:
                out.append("  units     " + ", ".join(units))
        out.append(f"Why: {self.explanation}")
        out.append(f"Fix: {self.fix}")
        out.extend(f"Note: {note}" for note in self.notes)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _t(name: str) -> float:
    return THRESHOLDS[name].value


VANISHING_FIX = (
    "scale the initialization to the layer size (Xavier for tanh/sigmoid, He for ReLU; notebook "
    "06), use a non-saturating activation (notebook 05), or add normalization or skip "
    "connections (notebook 07)"
)
EXPLODING_FIX = (
    "lower the learning rate, clip the gradient norm, and scale the initialization to the layer "
    "size (He for ReLU, Xavier for tanh; notebook 06)"
)


def _exploding(ev: dict) -> Diagnosis | None:
    if ev["nonfinite_step"] is not None:
        return Diagnosis(
            "exploding",
            "non-finite",
            "numerical overflow",
            ev,
            f"the loss or a gradient became NaN/inf at step {ev['nonfinite_step']}: updates grew "
            "until the numbers overflowed, and every later step is meaningless.",
            EXPLODING_FIX,
        )
    if ev["loss_spike"] >= _t("loss_spike"):
        return Diagnosis(
            "exploding",
            "loss-spike",
            "updates overshoot",
            ev,
            f"the loss spiked to {_sci(ev['loss_spike'])} times its starting value (peak "
            f"{_sci(ev['loss_peak'])}): some updates were far too large, the signature of "
            "exploding gradients.",
            EXPLODING_FIX,
        )
    ratio, first = ev["layer_ratio"], ev["grad_first"]
    if ratio > _t("exploding_ratio") and first >= _t("tiny_gradient"):
        return Diagnosis(
            "exploding",
            "layer-ratio-high",
            "gradients grow toward the input",
            ev,
            f"the first layer's gradient is {_sci(ratio)} times the last layer's (above "
            f"{_t('exploding_ratio'):g}): the layers multiply the backward signal by more than 1.",
            EXPLODING_FIX,
        )
    if ev["grad_growth"] >= _t("exploding_growth") and ev["loss_end"] >= ev["loss_start"]:
        return Diagnosis(
            "exploding",
            "gradient-growth",
            "gradients grow during training",
            ev,
            f"the total gradient norm grew {_sci(ev['grad_growth'])}x over the run while the loss "
            "did not fall.",
            EXPLODING_FIX,
        )
    return None


def _vanishing_by_ratio(ev: dict) -> Diagnosis | None:
    ratio = ev["layer_ratio"]
    if not (ratio < _t("vanishing_ratio") and ev["grad_first"] < _t("tiny_gradient")):
        return None
    notes = []
    if ev["drop"] >= LOSS_FELL:
        notes.append(
            f"the loss fell ({_below(ev['drop'], ev['reference'])}): the later layers learn, "
            "and an adaptive optimizer (Adam, RMSProp) rescales each parameter's step, which "
            "hides vanishing gradients from the loss curve. Plain SGD has no such rescaling; "
            "with it such a network usually stalls at its starting loss."
        )
    if ev["update_first_last"] < 0.1:
        notes.append(
            f"the first layer's updates are {_sci(ev['update_first_last'])} times the last "
            "layer's: the early layers hardly move (even Adam cannot rescale gradients far "
            "below its ε = 1e-8 per weight)."
        )
    return Diagnosis(
        "vanishing",
        "layer-ratio",
        "gradients shrink layer by layer",
        ev,
        f"the first layer's gradient ({_sci(ev['grad_first'])}) is {_sci(ratio)} times the last "
        f"layer's: below {_t('vanishing_ratio'):g} and under {_t('tiny_gradient'):g} in absolute "
        "size (AUTOTRAINER's rule), so the early layers barely learn.",
        VANISHING_FIX,
        tuple(notes),
    )


def _history_notes(ev: dict) -> list[str]:
    """Observations about the run that do not change its label."""
    notes = []
    if ev["early_layer_ratio"] < _t("vanishing_ratio") and ev["layer_ratio"] >= _t(
        "vanishing_ratio"
    ):
        notes.append(
            "in the first steps the first/last gradient ratio was "
            f"{_sci(ev['early_layer_ratio'])}: the network started with vanishing gradients and "
            "got out of it."
        )
    if ev["dead_max"] >= _t("dead_fraction"):
        notes.append(
            f"{_pct(ev['dead_max'])} of the units in {ev['dead_layer']} are dead; watch for the "
            "loss stalling (dying ReLU)."
        )
    return notes


def _stalled(ev: dict) -> Diagnosis:
    """The loss plateaued before halving: which kind of stall is it?"""
    where = _below(ev["drop"], ev["reference"])
    if ev["drop"] < LOSS_FELL:
        level = f"the loss stopped near its starting level ({where})"
    else:
        level = f"the loss stopped at {_num(ev['loss_end'])}, only {where}"
    if ev["dead_max"] >= _t("dead_fraction"):
        return Diagnosis(
            "vanishing",
            "dying-relu",
            "dying ReLU",
            ev,
            f"{level}, and {_pct(ev['dead_max'])} of the units in {ev['dead_layer']} output 0 for "
            "every example. A dead unit passes no gradient, so nothing before it can learn and "
            "it never recovers.",
            "lower the learning rate, start biases at 0 (not negative), or use Leaky ReLU or ELU "
            "(notebook 05)",
        )
    if ev["saturation_max"] >= _t("saturated_fraction"):
        return Diagnosis(
            "vanishing",
            "saturation",
            "saturated activations",
            ev,
            f"{level}, and {_pct(ev['saturation_max'])} of the pre-activations in "
            f"{ev['saturation_layer']} sit in the flat tails of the activation, where its "
            "derivative is under 3% of its peak (sigmoid: |z| > "
            f"{saturation_threshold('sigmoid'):g}, tanh: |z| > {saturation_threshold('tanh'):g}).",
            "standardize the inputs (zero mean, unit variance) and scale the initialization to "
            "the layer size (Xavier; notebook 06)",
        )
    if ev["grad_max"] < _t("stalled_gradient"):
        return Diagnosis(
            "vanishing",
            "all-small",
            "no usable gradient in any layer",
            ev,
            f"{level}, and every layer's gradient is below {_t('stalled_gradient'):g} (largest "
            f"{_sci(ev['grad_max'])}): the network has lost the input's signal, so no layer gets "
            "a gradient it can learn from.",
            VANISHING_FIX,
        )
    if ev["grad_collapse"] < _t("gradient_collapse"):
        return Diagnosis(
            "vanishing",
            "gradient-collapse",
            "gradients collapsed",
            ev,
            f"{level}, while the largest layer gradient shrank to {_sci(ev['grad_collapse'])} of "
            "its size in the first steps: the gradients died out before the loss moved.",
            VANISHING_FIX,
        )
    if ev["update_max"] < _t("tiny_update"):
        return Diagnosis(
            "healthy",
            "tiny-updates",
            "learning rate too small",
            ev,
            f"{level}, but the gradients are usable (first/last {_sci(ev['layer_ratio'])}) and "
            f"every step changes the weights by under {_t('tiny_update'):g} of their size "
            f"(largest {_sci(ev['update_max'])}): the flatness is not vanishing gradients.",
            "raise the learning rate until the update/weight ratio is near 1e-3",
        )
    notes = ()
    if abs(ev["drop"]) < 0.01:
        notes = (
            "the loss sits at its reference level: if that is the constant-prediction baseline, "
            "the model ignores its input. Record with GradientMonitor(model, forward_stats=True) "
            "to check for saturated or dead units.",
        )
    return Diagnosis(
        "converged",
        "plateau-high",
        "stuck for a reason other than gradient flow",
        ev,
        f"{level} although gradients reach every layer (first/last {_sci(ev['layer_ratio'])}) "
        "and the updates are normal-sized: the optimizer found nothing better nearby.",
        "not a gradient-flow problem: check the data and labels, add capacity, or lower the "
        "learning rate if the loss oscillates",
        notes,
    )


def diagnose(monitor, *, baseline: float | None = None, window: int | None = None) -> Diagnosis:
    """Label a training run "vanishing", "exploding", "converged" or "healthy" from its record.

    monitor: a ``helpers.monitor.GradientMonitor`` after training (or any object with its
        attributes ``losses``, ``grad_norms``, ``update_ratios``; ``layer_names``,
        ``saturation``, ``dead_fraction`` and ``activation_names`` are used when present).
        At least 2 recorded steps.
    baseline: the loss of the best constant prediction (ln 2 ≈ 0.693 for balanced binary
        cross-entropy, Var(y) for MSE). "Near the start" is judged against min(start, baseline),
        so a run whose first outputs were wildly off and then fell to the baseline still counts
        as stalled. Without it, the starting loss is the reference.
    window: steps per smoothing window (default: an eighth of the run, 1 to 25).

    The rules are listed in the module docstring and :data:`RULES`; the thresholds, with their
    sources, in :data:`THRESHOLDS`. Printing the result gives a short report.
    """
    record = read_monitor(monitor)
    if baseline is not None:
        baseline = _validate.nonnegative(baseline, "baseline")
    if window is None:
        window = default_window(record.steps)
    else:
        window = _validate.positive_int(window, "window")
        if 2 * window > record.steps:
            raise ValueError(
                f"window={window} needs at least {2 * window} recorded steps; the monitor has "
                f"{record.steps}"
            )
    ev = gather_evidence(record, baseline=baseline, window=window)
    found = _exploding(ev) or _vanishing_by_ratio(ev)
    if found is not None:
        return found
    notes = tuple(_history_notes(ev))
    if ev["plateau_step"] is None:
        slow = ev["update_max"] < _t("healthy_update")
        extra = ()
        if slow:
            extra = (
                f"every layer's update is below the typical {_t('healthy_update'):g} of its "
                f"weights (largest {_sci(ev['update_max'])}) while the gradients are balanced "
                f"(first/last {_sci(ev['layer_ratio'])}): progress is slow because the learning "
                "rate is small, not because gradients vanish; try a larger one.",
            )
        return Diagnosis(
            "healthy",
            "still-improving",
            "learning rate too small" if slow else "training in progress",
            ev,
            f"the loss is still falling ({_num(ev['loss_start'])} -> {_num(ev['loss_end'])}) "
            "and gradients reach every layer.",
            "keep training" + (", with a larger learning rate" if slow else ""),
            extra + notes,
        )
    if ev["drop"] >= _t("converged_drop"):
        return Diagnosis(
            "converged",
            "plateau-low",
            "training finished",
            ev,
            f"the loss plateaued at {_num(ev['loss_end'])}, {_pct(ev['drop'])} below its "
            f"reference {_num(ev['reference'])}; small gradients are expected at a minimum "
            f"(largest layer {_sci(ev['grad_max'])}).",
            "nothing to fix in the gradients; judge the model by its held-out accuracy",
            notes,
        )
    diagnosis = _stalled(ev)
    if diagnosis.label == "vanishing":
        return diagnosis
    return Diagnosis(**{**diagnosis.__dict__, "notes": diagnosis.notes + notes})
