"""Notebook 07's comparison summarised: per configuration its runs over the seeds (:class:`Row`),
every row with the target and mean-predictor loss (:class:`Comparison`), and the fixed-width
tables the notebook prints. The runs themselves come from :func:`helpers.comparison.compare`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from helpers.comparison import Budget

# A run "ends at the mean predictor" (learned nothing) when its final loss is within this
# fraction of Var(y). The stuck rows of notebook 07 end within 1e-5 of it, the learning rows
# below 0.5 of it, so the count does not depend on the floating-point path.
STUCK_TOLERANCE = 0.01


def steps_to_target(losses, target: float) -> int | None:
    """The first t with losses[t] <= target (the number of steps taken to get there), or None."""
    losses = np.asarray(losses, dtype=np.float64)
    hit = np.flatnonzero(losses <= target)
    return int(hit[0]) if hit.size else None


@dataclass(frozen=True)
class Row:
    """One configuration summarised over its seeds."""

    name: str
    label: str
    runs: tuple
    target: float

    @property
    def final_losses(self) -> np.ndarray:
        return np.array([r.final_loss for r in self.runs])

    @property
    def steps(self) -> list:
        return [steps_to_target(r.losses, self.target) for r in self.runs]

    @property
    def reached(self) -> int:
        return sum(s is not None for s in self.steps)

    @property
    def diverged(self) -> int:
        return sum(r.diverged for r in self.runs)

    @property
    def ratios_start(self) -> np.ndarray:
        return np.array([r.ratio_start for r in self.runs])

    @property
    def ratios_end(self) -> np.ndarray:
        return np.array([r.ratio_end for r in self.runs])

    @property
    def steps_or_inf(self) -> np.ndarray:
        """Steps to target per seed as floats, inf for a seed that never reached it (so that
        "every seed reached it within N steps" is ``(steps_or_inf <= N).all()``)."""
        return np.array([math.inf if s is None else float(s) for s in self.steps])

    @property
    def median_steps(self) -> float | None:
        """Median steps-to-target over the seeds that reached it (None if none did)."""
        hits = [s for s in self.steps if s is not None]
        return float(np.median(hits)) if hits else None


@dataclass(frozen=True)
class Comparison:
    """Every configuration's runs, with the target and the mean-predictor loss they are read
    against. ``str(comparison)`` is the fixed-width table the notebook prints."""

    rows: tuple
    budget: Budget
    seeds: tuple
    mean_predictor_loss: float
    target: float

    def __getitem__(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        valid = ", ".join(repr(r.name) for r in self.rows)
        raise KeyError(f"no configuration {name!r} in this comparison; it has {valid}")

    @property
    def names(self) -> list:
        return [r.name for r in self.rows]

    def _rows(self, names) -> list:
        if isinstance(names, str):
            raise TypeError(f"names must be a list of configuration names, got {names!r}")
        rows = [self[name] for name in names]
        if not rows:
            raise ValueError("names must list at least one configuration")
        return rows

    def final_ratios(self, names: Sequence[str]) -> np.ndarray:
        """Final loss ÷ mean-predictor loss of every run of the configurations ``names`` (one
        value per configuration and seed, NaN for a diverged run): 1 means "learned nothing"."""
        finals = np.concatenate([row.final_losses for row in self._rows(names)])
        return finals / self.mean_predictor_loss

    def steps_needed(self, names: Sequence[str]) -> np.ndarray:
        """Steps to target of every run of the configurations ``names``, inf where a run never
        reached it (one value per configuration and seed)."""
        return np.concatenate([row.steps_or_inf for row in self._rows(names)])

    def at_mean_predictor(self, row: Row, tolerance: float = STUCK_TOLERANCE) -> int:
        """How many of ``row``'s seeds end within ``tolerance`` (relative) of the mean-predictor
        loss: runs that learned nothing."""
        ratios = row.final_losses / self.mean_predictor_loss
        return int(np.sum(np.abs(ratios - 1) <= tolerance))

    def verdicts(self) -> str:
        """The comparison's verdict columns as text: per configuration its parameter count, how
        many seeds reached the target, how many ended at the mean predictor (within 1%) and the
        first/last gradient ratio at initialization. Unlike :meth:`table`, nothing here depends
        on the last digits of a trajectory, so it prints the same on every floating-point path
        as long as the counts keep their margins (the notebook checks those as claims)."""
        return format_verdicts(self)

    def table(self) -> str:
        """The comparison as a fixed-width text table (rounded, deterministic)."""
        return format_table(self)

    __str__ = table


# --- the table -----------------------------------------------------------------------------------


def _geometric_summary(values: np.ndarray) -> str:
    """'g [lo, hi]' with g the geometric mean, for positive values spanning decades."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "n/a"
    if (values <= 0).any():
        return f"{values.min():.0e} .. {values.max():.0e}"
    geo = float(np.exp(np.mean(np.log(values))))
    return f"{geo:.0e} [{values.min():.0e}, {values.max():.0e}]"


DIVERGED_MARK = "†"


def _loss_summary(row: Row) -> str:
    finite = row.final_losses[np.isfinite(row.final_losses)]
    if finite.size == 0:
        return "diverged"
    text = f"{finite.mean():.3f} ± {finite.std():.3f}"
    return f"{text} {DIVERGED_MARK}" if row.diverged else text


def _steps_summary(row: Row) -> str:
    hits = [s for s in row.steps if s is not None]
    if not hits:
        return "not reached"
    return f"{np.median(hits):.0f} [{min(hits)}, {max(hits)}]"


COLUMNS = (
    ("mitigation", 20),
    ("params", 6),
    ("final loss", 15),
    ("reached", 7),
    ("steps to target", 15),
    ("ratio at init", 19),
    ("ratio after", 19),
)


def _text_table(columns, rows) -> list[str]:
    """A header, a rule and one line per row of cells, each column ``(title, width)`` wide; the
    second cell (the parameter count) is right-aligned in its column."""
    widths = [width for _, width in columns]
    lines = [
        "  ".join(f"{title:<{width}}" for title, width in columns),
        "  ".join("-" * width for width in widths),
    ]
    for label, parameters, *rest in rows:
        cells = (label, f"{parameters:>{widths[1]}}", *rest)
        lines.append("  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)))
    return lines


def format_table(comparison: Comparison) -> str:
    """Fixed-width text: per configuration its parameter count, the final loss (mean ± std over
    the seeds), how many seeds reached the target, the steps they took (median [min, max]) and
    the first/last gradient ratio ‖∂L/∂W_first‖/‖∂L/∂W_last‖ before and after training
    (geometric mean [min, max])."""
    n = len(comparison.seeds)
    rows = [
        (
            row.label,
            row.runs[0].parameters,
            _loss_summary(row),
            f"{row.reached}/{n}",
            _steps_summary(row),
            _geometric_summary(row.ratios_start),
            _geometric_summary(row.ratios_end),
        )
        for row in comparison.rows
    ]
    lines = _text_table(COLUMNS, rows)
    budget = comparison.budget
    lines.append(
        f"target: loss <= {comparison.target:.4f} ({budget.target_fraction:g} x the mean "
        f"predictor's {comparison.mean_predictor_loss:.4f}); {budget.steps} steps; SGD lr "
        f"{budget.lr:g}, Adam lr {budget.adam_lr:g}; seeds {', '.join(map(str, comparison.seeds))}"
    )
    if any(0 < row.diverged < len(row.runs) for row in comparison.rows):
        lines.append(
            f"{DIVERGED_MARK} a seed diverged (loss NaN or inf): mean ± std over the other seeds"
        )
    return "\n".join(line.rstrip() for line in lines)


VERDICT_COLUMNS = (
    ("mitigation", 20),
    ("params", 6),
    ("reached", 7),
    ("at the mean predictor", 21),
    ("ratio at init", 19),
)


def format_verdicts(comparison: Comparison) -> str:
    """Fixed-width text of :meth:`Comparison.verdicts`: parameter count, seeds that reached the
    target, seeds that ended within :data:`STUCK_TOLERANCE` of the mean-predictor loss, and the
    first/last gradient ratio at initialization (geometric mean [min, max], deterministic)."""
    n = len(comparison.seeds)
    rows = [
        (
            row.label,
            row.runs[0].parameters,
            f"{row.reached}/{n}",
            f"{comparison.at_mean_predictor(row)}/{n}",
            _geometric_summary(row.ratios_start),
        )
        for row in comparison.rows
    ]
    lines = _text_table(VERDICT_COLUMNS, rows)
    budget = comparison.budget
    lines.append(
        f"reached: loss <= {budget.target_fraction:g} x the mean predictor's at some step; "
        f"at the mean predictor: final loss within {STUCK_TOLERANCE:.0%} of it; "
        f"{budget.steps} steps; seeds {', '.join(map(str, comparison.seeds))}"
    )
    return "\n".join(line.rstrip() for line in lines)
