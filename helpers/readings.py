"""A trained mystery's evidence in words that hold on every machine, and before/after tables.

:func:`readings` places each number of a run's diagnosis against the thresholds of
``helpers.diagnose`` ("below", "near", "above", with the margin by which it clears its band);
:func:`read_evidence` prints them for a mystery the learner trained, :func:`compare` sets a run
against the same mystery with one repair (``helpers.repairs.run``).
"""

import math
from dataclasses import dataclass

from helpers.checklist import _SUPERSCRIPT, format_threshold
from helpers.diagnose import THRESHOLDS
from helpers.mysteries import TARGETS, Mystery
from helpers.repairs import Outcome, Run, _factor, leading_zero_layers, never_moved, run

# Training is chaotic: the last digits of a run's numbers differ between CPUs, BLAS builds and
# thread counts (FIELD-NOTES). What decides a diagnosis is where each number sits against the
# thresholds of helpers.diagnose, so that is what the notebook prints: "below 10⁻³", "near 10⁻³"
# (within a factor of NEAR) or "above 10⁻³". A reading's margin is the factor by which its number
# clears the nearest edge of its band; the notebook's readings are logged with their margins
# (helpers.claims) so that `make portability` shows how far each is from reading otherwise.
NEAR = 2.0
LOSS_NEAR_REFERENCE = 0.1  # "stayed within 10% of its reference"


def versus(value: float, threshold: float, *, near: float = NEAR) -> tuple[str, float]:
    """Where ``value`` sits against ``threshold``: ("below" | "near" | "above", margin).

    "near" means within a factor of ``near`` of the threshold. The margin is the factor by which
    ``value`` clears the nearest edge of its band (≥ 1); ("n/a", inf) for NaN.
    """
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
    if not near > 1:
        raise ValueError(f"near must be a factor above 1, got {near!r}")
    if math.isnan(value):
        return "n/a", math.inf
    low, high = threshold / near, threshold * near
    if value < low:
        return "below", _factor(low, value)
    if value > high:
        return "above", value / high
    return "near", min(value / low, high / value)


def _f(key: str) -> str:
    """A threshold of helpers.diagnose as the checklist prints it (10⁻³, 70, 70%)."""
    return format_threshold(key)


def _ratio_range() -> str:
    """diagnose's vanishing and exploding first/last ratios, "10⁻³ and 70"."""
    return f"{_f('vanishing_ratio')} and {_f('exploding_ratio')}"


def _ratio_reading(ratio: float) -> tuple[str, float]:
    """The first/last gradient ratio against diagnose's vanishing and exploding thresholds."""
    low, high = THRESHOLDS["vanishing_ratio"].value, THRESHOLDS["exploding_ratio"].value
    word_low, margin_low = versus(ratio, low)
    word_high, margin_high = versus(ratio, high)
    if word_low in ("below", "near", "n/a"):
        return f"{word_low} {_f('vanishing_ratio')}", margin_low
    if word_high != "below":
        return f"{word_high} {_f('exploding_ratio')}", margin_high
    return "between", min(margin_low, margin_high)


def _loss_reading(ev: dict) -> tuple[str, float]:
    """The final training loss (median of diagnose's last window) against its reference, the
    lower of the starting loss and the baseline: "within 10%", "below half", "fell" (by 10% to
    50%) or "rose" (by over 10%)."""
    ratio = ev["loss_end"] / ev["reference"]
    half, near = 1.0 - THRESHOLDS["converged_drop"].value, LOSS_NEAR_REFERENCE
    if ratio < half:
        return "below half", _factor(half, ratio)
    if abs(ratio - 1.0) < near:
        return "within 10%", _factor(near, abs(ratio - 1.0))
    if ratio < 1.0:
        return "fell", min(ratio / half, (1.0 - near) / ratio)
    return "rose", ratio / (1.0 + near)


def _start_reading(loss_start: float, baseline: float) -> tuple[str, float]:
    """The first loss, before any update, as "over 10ᵏ times the baseline" with the largest k that
    leaves a factor of 2."""
    times = loss_start / baseline
    if not (math.isfinite(times) and times >= 20):
        return "not far from", math.inf
    k = math.floor(math.log10(times / 2))
    margin = min(times / (2 * 10.0**k), 2 * 10.0 ** (k + 1) / times)
    return "over 10" + str(k).translate(_SUPERSCRIPT) + " times", margin


def _fraction_reading(fraction: float, key: str) -> tuple[str, float]:
    word, margin = versus(fraction, THRESHOLDS[key].value)
    return ("near or above" if word in ("near", "above") else word), margin


def _held_out_reading(score: float, metric: str) -> tuple[str, float]:
    """The held-out score against its target, compared as shortfalls 1 − score ≤ 1 − target."""
    if math.isnan(score):
        return "n/a", math.inf
    allowed, shortfall = 1.0 - TARGETS[metric], 1.0 - score
    if shortfall <= allowed:
        return "reaches", _factor(allowed, shortfall)
    return "below", shortfall / allowed


def readings(r: Run) -> dict[str, tuple[str, float]]:
    """Each quantity of ``r``'s evidence as (word, margin): see :func:`versus`.

    Keys: "diagnosis" (the label), "loss" and "held_out"; for a diverged run also "start", the
    first loss against the baseline; otherwise "gradient" (largest layer ÷ the reference loss vs
    10⁻³), "first_layer" (÷ the loss, vs 10⁻⁴), "ratio" (first/last vs 10⁻³ and 70), "time" (a
    recurrent layer's early/late input gradient vs 10⁻³) and "update" (largest update/weight
    ratio vs 10⁻⁴), "saturated" / "dead" (vs 70%) where the monitor counted them, and "zeros":
    which layers, counted from the first, had a gradient norm of exactly 0.0 at every step
    ("none", "the first layer", "the first 2 layers"). A label or a count has no margin (inf).
    """
    ev = r.diagnosis.evidence
    out = {"diagnosis": (r.diagnosis.label, math.inf)}
    if ev.get("nonfinite_step") is not None:
        out["loss"] = (f"NaN/inf from step {ev['nonfinite_step']}", math.inf)
        out["start"] = _start_reading(ev["loss_start"], r.baseline)
    else:
        out["loss"] = _loss_reading(ev)
        out["gradient"] = versus(ev["grad_max_rel"], THRESHOLDS["stalled_gradient"].value)
        out["first_layer"] = versus(ev["grad_first_rel"], THRESHOLDS["tiny_gradient"].value)
        out["ratio"] = _ratio_reading(ev["layer_ratio"])
        if not math.isnan(ev.get("time_min", math.nan)):
            out["time"] = versus(ev["time_min"], THRESHOLDS["time_ratio"].value)
        out["update"] = versus(ev["update_max"], THRESHOLDS["tiny_update"].value)
        for key, name in (("saturated", "saturation_max"), ("dead", "dead_max")):
            if not math.isnan(ev[name]):
                out[key] = _fraction_reading(ev[name], f"{key}_fraction")
        if r.monitor is not None:
            out["zeros"] = (_zeros_word(leading_zero_layers(r.monitor)), math.inf)
    out["held_out"] = _held_out_reading(r.score, r.metric)
    return out


def _zeros_word(count: int) -> str:
    if count == 0:
        return "none"
    return "the first layer" if count == 1 else f"the first {count} layers"


def _log_margins(name: str, sentence: str, marks: dict[str, tuple[str, float]]) -> None:
    """Log the smallest margin of ``marks`` as a claim (helpers.claims), for `make portability`."""
    from helpers import claims

    margins = [margin for _, margin in marks.values()]
    claims.all_above(margins, 1.0, margin=1.0, name=name, sentence=sentence)


_LOSS_WORDS = {
    "within 10%": "stayed within 10% of its reference",
    "below half": "ended below half of its reference",
    "fell": "fell, but ended above half of its reference",
    "rose": "ended more than 10% above its reference",
}


@dataclass(frozen=True)
class Evidence:
    """A trained mystery's evidence in words: each line compares a number with a threshold of
    ``helpers.diagnose``, so it reads the same on every machine. ``margin`` is the smallest factor
    by which a number clears the edge of its band (see :func:`versus`)."""

    title: str
    lines: tuple[tuple[str, str], ...]
    margin: float

    def __str__(self) -> str:
        return "\n".join([self.title, *(f"  {key:<9}  {text}" for key, text in self.lines)])

    __repr__ = __str__


def _evidence_lines(r: Run, marks: dict) -> list[tuple[str, str]]:
    word = {key: value[0] for key, value in marks.items()}
    lines = [("diagnosis", f"{r.diagnosis.label.upper()} (cause: {r.diagnosis.cause})")]
    baseline = f"{r.baseline:.3g}"
    if "start" in word:
        lines.append(
            (
                "loss",
                f"{word['loss']}; at step 0, before any update, {word['start']} "
                f"the baseline {baseline}",
            )
        )
        lines.append(("held-out", f"{r.metric} n/a: the run diverged"))
        return lines
    reference = f"(the lower of its start and the baseline {baseline})"
    ratio = word["ratio"]
    if ratio == "between":
        ratio = f"between {_ratio_range()}"
    lines.append(("loss", f"{_LOSS_WORDS[word['loss']]} {reference}"))
    lines.append(
        (
            "gradient",
            f"÷ the loss: largest layer {word['gradient']} {_f('stalled_gradient')}, first "
            f"layer {word['first_layer']} {_f('tiny_gradient')}; first/last {ratio}",
        )
    )
    if "time" in word:
        lines.append(
            (
                "in time",
                f"input gradient, first tenth of the sequence ÷ last tenth: {word['time']} "
                f"{_f('time_ratio')}",
            )
        )
    lines.append(
        (
            "update",
            f"largest update/weight per step {word['update']} "
            f"{_f('tiny_update')} (healthy: about {_f('healthy_update')})",
        )
    )
    units = [
        f"{key} {word[key]} {_f(key + '_fraction')}" for key in ("saturated", "dead") if key in word
    ]
    if units:
        lines.append(("units", ", ".join(units) + " in every layer"))
    if word.get("zeros", "none") != "none":
        count = leading_zero_layers(r.monitor)
        moved = "" if r.trained is None else _moved_words(r, count)
        lines.append(
            (
                "zeros",
                f"gradient norm exactly 0.0 (not NaN, not merely small) at every step in "
                f"{word['zeros']}{moved}",
            )
        )
    target = f"{TARGETS[r.metric]:g}"
    lines.append(("held-out", f"{r.metric} {word['held_out']} the target {target}"))
    return lines


def _moved_words(r: Run, count: int) -> str:
    frozen = never_moved(r.trained, r.monitor.layer_names[:count])
    if frozen.all():
        return ": their weights never moved"
    return ": yet some of their weights moved" if frozen.any() else ""


def read_evidence(trained: Mystery, monitor) -> Evidence:
    """Diagnose a mystery you trained under ``monitor`` and say what its numbers show against
    diagnose's thresholds (:func:`readings`), with its held-out score against the target.

    ``print(diagnose(monitor, baseline=trained.baseline))`` shows the numbers themselves; their
    last digits differ from machine to machine, the words here do not (unless a number sits at
    the edge of a band: the margin says how close).
    """
    r = Run.from_training(trained, monitor)
    marks = readings(r)
    seed = f"seed {r.seed}" + ("" if r.fix == "none" else f", fix {r.fix!r}")
    title = (
        f"Mystery {r.name} ({seed}) against diagnose's thresholds "
        f'("near": within a factor of {NEAR:g}):'
    )
    tag = r.name if r.fix == "none" else f"{r.name}-{r.fix}"
    _log_margins(f"11.evidence-{tag}", f"each reading of mystery {tag} clears its band", marks)
    return Evidence(title, tuple(_evidence_lines(r, marks)), min(m for _, m in marks.values()))


# --- before and after ----------------------------------------------------------------------------


def _sci(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.1e}"


def _num(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:.3g}" if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _score(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.2f}"


def _met(r: Outcome) -> str:
    return "met" if r.target_met else "not met"


@dataclass(frozen=True)
class Comparison:
    """A mystery's run before and after one fix, and whether the fix reached the target.

    Printing it gives the readings of both runs (:func:`readings`), which do not depend on the
    machine; :meth:`numbers` gives the numbers themselves, for reading.
    """

    before: Run
    after: Run

    @property
    def improved(self) -> bool:
        return self.after.target_met and not self.before.target_met

    def _target_label(self) -> str:
        metric = self.before.metric
        return f"target ({metric} ≥ {TARGETS[metric]:g}, loss ≤ half the baseline)"

    def rows(self) -> list[tuple[str, str, str]]:
        """(quantity, before, after) in words, as printed."""
        marks = readings(self.before), readings(self.after)

        def both(key):
            return tuple(m[key][0] if key in m else "n/a" for m in marks)

        metric = self.before.metric
        rows = [
            ("training loss vs its reference", *both("loss")),
            (f"held-out {metric} vs the target {TARGETS[metric]:g}", *both("held_out")),
            (f"largest layer gradient vs {_f('stalled_gradient')}", *both("gradient")),
            (f"first-layer gradient vs {_f('tiny_gradient')}", *both("first_layer")),
            (f"first/last gradient ratio vs {_ratio_range()}", *both("ratio")),
            (f"largest update/weight per step vs {_f('tiny_update')}", *both("update")),
            ("diagnosis", *both("diagnosis")),
            (self._target_label(), _met(self.before), _met(self.after)),
        ]
        if any(m.get("zeros", ("none",))[0] != "none" for m in marks):
            rows.insert(-2, ("layers with a gradient of exactly 0.0 at every step", *both("zeros")))
        return rows

    def numbers(self) -> str:
        """The same comparison in numbers (their last digits differ from machine to machine)."""
        b, a = self.before, self.after

        def both(fmt, get):
            return fmt(get(b)), fmt(get(a))

        rows = [
            ("training loss (median of the last 10 steps)", *both(_num, lambda r: r.recent_loss)),
            ("baseline (best constant prediction)", *both(_num, lambda r: r.baseline)),
            (f"held-out {b.metric}", *both(_score, lambda r: r.score)),
            ("gradient ratio first/last layer", *both(_sci, lambda r: r.evidence("layer_ratio"))),
            ("first-layer gradient norm", *both(_sci, lambda r: r.evidence("grad_first"))),
            ("largest update/weight per step", *both(_sci, lambda r: r.evidence("update_max"))),
            ("diagnosis", *both(str, lambda r: r.diagnosis.label)),
            (self._target_label(), _met(b), _met(a)),
        ]
        return self._table(rows)

    def _table(self, rows) -> str:
        head = f"Mystery {self.before.name} (seed {self.before.seed}): before, and after fix "
        head += repr(self.after.fix)
        width = max(len(r[0]) for r in rows)
        column = max(10, *(len(cell) for row in rows for cell in row[1:]))
        lines = [head, f"{'':{width}}  {'before':>{column}}  {'after':>{column}}"]
        lines += [f"{label:{width}}  {b:>{column}}  {a:>{column}}" for label, b, a in rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._table(self.rows())

    __repr__ = __str__


_TABLE_KEYS = (
    "loss", "held_out", "gradient", "first_layer", "ratio", "update", "zeros", "diagnosis",
)  # fmt: skip


def compare(trained: Mystery, monitor, fix: str) -> Comparison:
    """Your trained mystery and its monitor (before) against :func:`run` of the same mystery and
    seed with ``fix`` applied (after). The readings' margins are logged (helpers.claims)."""
    before = Run.from_training(trained, monitor)
    comparison = Comparison(before, run(trained.name, fix, trained.seed))
    marks = {
        f"{side} {key}": value
        for side, r in (("before", before), ("after", comparison.after))
        for key, value in readings(r).items()
        if key in _TABLE_KEYS
    }
    tag = f"{before.name}-{comparison.after.fix}"
    _log_margins(
        f"11.compare-{tag}", f"each reading of the comparison {tag} clears its band", marks
    )
    return comparison
