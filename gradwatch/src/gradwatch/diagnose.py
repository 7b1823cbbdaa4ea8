"""Telling a vanishing-gradient plateau from convergence: :func:`diagnose`.

``diagnose`` reads a :class:`gradwatch.GradientMonitor` (or any object with the same attributes)
and labels the run "vanishing", "exploding", "converged" or "healthy", with the rule that fired,
the numbers behind it and a plain-language explanation. Every threshold lives in
:data:`gradwatch.thresholds.THRESHOLDS` with its source.

The rules (first match wins; :data:`gradwatch.thresholds.RULES` lists them):

0. insufficient evidence - fewer than 10 stored rows: no label.
1. exploding  - a loss or gradient norm is NaN/inf; or the loss spiked to ≥ 10x its starting
                value; or first/last layer gradient ratio > 70 (AUTOTRAINER's β3); or the total
                gradient norm grew ≥ 1000x while the loss did not fall.
2. vanishing  - first/last layer gradient ratio < 1e-3 and first-layer norm < 1e-4 of the
                reference loss (AUTOTRAINER's β1 and β2, the latter divided by the loss so that
                scaling the loss changes nothing), whatever the loss does (an adaptive
                optimizer can hide it).
3. healthy    - the loss is still improving: :func:`find_plateau` finds no plateau, or the
                last quarter of the record still brought ≥ 5% of the loss's whole (log) decline,
                more than 3 standard errors from flat, while above 1% of its reference.
4. converged  - the loss plateaued at most half of its starting (or baseline) level.
5. vanishing  - the loss stalled (plateaued before halving) and ≥ 70% of some layer's units are
                dead (dying ReLU) or saturated; or a recurrent layer's gradient at the first
                tenth of its input sequence is < 1e-3 of that at the last tenth (vanishing
                through time); or every layer's gradient is < 1e-3 of the loss (too small for
                SGD to move it); or the gradients collapsed ≥ 100x since the start.
6. healthy    - stalled, gradients fine, but every update is < 1e-4 of its weights: the
                learning rate is too small (the look-alike of vanishing).
7. converged  - stalled with usable gradients and updates: gradient flow is not the problem
                (capacity, data or learning rate are).

"Halving" is measured from the reference: the starting loss, or the baseline (the best constant
prediction's loss) if that is lower.
"""

import math
from dataclasses import dataclass

from gradwatch import _checks
from gradwatch.evidence import _first_nonfinite, default_window, gather_evidence, read_monitor
from gradwatch.layers import SATURATION_THRESHOLDS
from gradwatch.thresholds import (
    FIT_FRACTION,
    INSUFFICIENT,
    LOSS_FELL,
    MIN_ROWS,
    STILL_FALLING_SHARE,
    STILL_FALLING_T,
    THRESHOLDS,
)


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

    label: "vanishing", "exploding", "converged", "healthy" or "insufficient evidence".
    rule: the key of :data:`RULES` that fired. cause: a short name for the likely cause (e.g.
    "dying ReLU"). evidence: the numbers (see :func:`gather_evidence`). explanation and fix:
    plain language. notes: further
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
        if self.label == INSUFFICIENT:
            return [*out, f"Why: {self.explanation}", f"Fix: {self.fix}"]
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
    "scale the initialization to the activation and layer size (Xavier for tanh, He for ReLU; "
    "Xavier does not rescue a deep sigmoid stack; notebook 06), use a non-saturating activation "
    "(notebook 05), or add normalization or skip connections (notebook 07); which fix suits "
    "which cause: notebook 08"
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
    ratio, first = ev["layer_ratio"], ev["grad_first_rel"]
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
    if not (ratio < _t("vanishing_ratio") and ev["grad_first_rel"] < _t("tiny_gradient")):
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
        f"the first layer's gradient ({_sci(ev['grad_first'])}, {_sci(ev['grad_first_rel'])} of "
        f"the loss {_num(ev['loss_scale'])}) is {_sci(ratio)} times the last layer's: below "
        f"{_t('vanishing_ratio'):g}, and under {_t('tiny_gradient'):g} of the loss (AUTOTRAINER's "
        "rule, made independent of the loss's scale), so the early layers barely learn.",
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
            f"{SATURATION_THRESHOLDS['sigmoid']:g}, tanh: |z| > "
            f"{SATURATION_THRESHOLDS['tanh']:g}).",
            "standardize the inputs (zero mean, unit variance) and scale the initialization to "
            "the activation and layer size (Xavier for tanh, He for ReLU; notebook 06)",
        )
    if ev["time_min"] < _t("time_ratio"):
        return Diagnosis(
            "vanishing",
            "through-time",
            "vanishing through time",
            ev,
            f"{level}, and in {ev['time_layer']} the gradient reaching the first tenth of the "
            f"input sequence is {_sci(ev['time_min'])} times the gradient at the last tenth "
            f"(below {_t('time_ratio'):g}): the early time steps no longer reach the loss, so "
            "dependencies over long lags cannot be learned.",
            "use an LSTM or GRU (with the forget-gate bias at +1) instead of a plain RNN, "
            "shorten the lag the task needs, or add skip or attention paths over time "
            "(notebook 09)",
        )
    if ev["grad_max_rel"] < _t("stalled_gradient"):
        return Diagnosis(
            "vanishing",
            "all-small",
            "no usable gradient in any layer",
            ev,
            f"{level}, and every layer's gradient is below {_t('stalled_gradient'):g} of the "
            f"loss (largest {_sci(ev['grad_max'])}, {_sci(ev['grad_max_rel'])} of the loss "
            f"{_num(ev['loss_scale'])}): the network has lost the input's signal, so no layer "
            "gets a gradient it can learn from.",
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

    monitor: a ``gradwatch.GradientMonitor`` after training (or any object with its
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
        baseline = _checks.nonnegative(baseline, "baseline")
    if record.steps < MIN_ROWS:  # unless it already diverged: NaN/inf is evidence enough
        if _first_nonfinite(record) is None:
            return _insufficient(record, monitor)
        return _exploding(gather_evidence(record, baseline=baseline, window=1))
    if window is None:
        window = default_window(record.steps)
    else:
        window = _checks.positive_int(window, "window")
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
    still_falling = (
        ev["tail_trend"] < STILL_FALLING_T  # a real trend, not noise ...
        and ev["tail_share"] >= STILL_FALLING_SHARE  # ... still a part of the progress ...
        and ev["drop"] < 1 - FIT_FRACTION  # ... and not a fitted loss shrinking further
    )
    if ev["plateau_step"] is None or still_falling:
        slow = ev["update_max"] < _t("healthy_update")
        extra = ()
        if slow:
            extra = (
                f"every layer's update is below the typical {_t('healthy_update'):g} of its "
                f"weights (largest {_sci(ev['update_max'])}) while the gradients are balanced "
                f"(first/last {_sci(ev['layer_ratio'])}): progress is slow because the learning "
                "rate is small, not because gradients vanish; try a larger one.",
            )
        falling = f"the loss is still falling ({_num(ev['loss_start'])} -> {_num(ev['loss_end'])}"
        if ev["plateau_step"] is not None:
            falling += (
                f"; {_pct(-ev['tail_change'])} lower over the last quarter of the record, "
                f"{_pct(ev['tail_share'])} of the whole decline, {_num(-ev['tail_trend'])} "
                "standard errors from flat"
            )
        return Diagnosis(
            "healthy",
            "still-improving",
            "learning rate too small" if slow else "training in progress",
            ev,
            f"{falling}) and the first layer's gradient is {_sci(ev['layer_ratio'])} of the "
            "last's, not a vanishing ratio.",
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
            (*_still_falling_note(ev), *notes, *(() if baseline is not None else (NO_BASELINE,))),
        )
    diagnosis = _stalled(ev)
    if diagnosis.label == "vanishing":
        return diagnosis
    if baseline is None:
        notes = (*notes, NO_BASELINE)
    return Diagnosis(**{**diagnosis.__dict__, "notes": diagnosis.notes + notes})


def _still_falling_note(ev: dict) -> tuple[str, ...]:
    if not (ev["tail_trend"] < STILL_FALLING_T and ev["tail_share"] >= STILL_FALLING_SHARE):
        return ()
    return (
        f"the loss is still falling ({_pct(-ev['tail_change'])} over the last quarter of the "
        f"record), but it is already below {FIT_FRACTION:.0%} of its reference: the model fits "
        "its training data, and more steps mostly sharpen what it already predicts.",
    )


NO_BASELINE = (
    "no baseline was given, so 'how far the loss fell' is measured from its starting value; "
    "a model that fell from a bad start to the constant prediction's loss and learned nothing "
    "would look the same. Pass diagnose(monitor, baseline=...) (ln C for C balanced classes, "
    "Var(y) for mean squared error)."
)


def _insufficient(record, monitor) -> Diagnosis:
    every = getattr(monitor, "every", None)
    how = f" (every={every}: one step in {every})" if every and every > 1 else ""
    return Diagnosis(
        INSUFFICIENT,
        "too-few-rows",
        "too few measured steps",
        {"steps": record.steps, "loss_start": float(record.losses[0])},
        f"the monitor stored {record.steps} measured step(s){how}; the rules need at least "
        f"{MIN_ROWS} to compare the start of the run with its end.",
        "train longer, or record more often (GradientMonitor(model, every=1))",
    )
