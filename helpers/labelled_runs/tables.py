"""Tables of labelled runs for reading: labels per seed, the confusion table and the numbers.

Each function takes finished runs (``helpers.runs.RunResult``, or anything with the same fields).
"""

import math

import numpy as np

from helpers.diagnose import LABELS
from helpers.labelled_runs.recipes import RUNS


def confusion(results) -> np.ndarray:
    """counts[i, j]: runs expected to be LABELS[i] that were diagnosed LABELS[j]."""
    counts = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for result in results:
        counts[LABELS.index(result.expected), LABELS.index(result.label)] += 1
    return counts


def format_confusion(counts: np.ndarray) -> str:
    """The confusion table as text: rows expected, columns diagnosed."""
    counts = np.asarray(counts)
    width = max(len(label) for label in LABELS) + 2
    head = "expected \\ diagnosed".ljust(22) + "".join(label.rjust(width) for label in LABELS)
    rows = [
        label.ljust(22) + "".join(str(c).rjust(width) for c in counts[i])
        for i, label in enumerate(LABELS)
    ]
    correct = int(np.trace(counts))
    return "\n".join([head, *rows, f"{correct} of {int(counts.sum())} runs labelled as expected"])


def _number(value: float, spec: str) -> str:
    return format(value, spec) if math.isfinite(value) else "nan".rjust(int(spec.split(".")[0]))


def summary_table(results) -> str:
    """Numbers for reading, one line per run: label, rule, final training loss, held-out accuracy
    and loss. These digits depend on the floating-point path; the labels do not."""
    head = f"{'run':22}{'seed':>4}  {'diagnosed':10} {'rule':17}{'loss':>7}{'test acc':>9}"
    lines = [head + f"{'test loss':>10}"]
    for r in results:
        lines.append(
            f"{r.name:22}{r.seed:>4}  {r.label:10} {r.diagnosis.rule:17}"
            f"{_number(r.monitor.losses[-1], '7.3f')}{r.test_accuracy:9.2f}"
            f"{_number(r.test_loss, '10.3f')}"
        )
    return "\n".join(lines)


def _seeds(results) -> list[int]:
    return sorted({r.seed for r in results})


def label_table(results) -> str:
    """Each run's expected label and the label ``diagnose`` gave it on each seed ("-" if that run
    and seed are not in ``results``), in :data:`RUNS` order."""
    results = list(results)
    seeds = _seeds(results)
    found = {(r.name, r.seed): r.label for r in results}
    lines = [f"{'run':22}{'expected':11}" + "".join(f"{f'seed {s}':11}" for s in seeds).rstrip()]
    for name in RUNS:
        if any((name, s) in found for s in seeds):
            labels = "".join(f"{found.get((name, s), '-'):11}" for s in seeds)
            lines.append(f"{name:22}{RUNS[name].expected:11}{labels}".rstrip())
    return "\n".join(lines)
