"""Each notebook top to bottom in a fresh kernel: wall time, the kernel's peak memory, and the
margin of every claim about training that the notebooks check (``helpers.claims``).

Budgets come from the issues: 01-02 < 20 s, 03 < 25 s, 04 and 11 < 30 s, 08 (the matrix) < 60 s,
every other notebook < 40 s; the whole course < 180 s; every notebook < 1 GB peak (Binder gives
1-2 GB). A claim's margin is the factor by which its worst seed clears its threshold, against the
factor it requires (``make portability`` shows the same margins on all four floating-point paths).
Runs without saving, through the same runner as `make execute`.
"""

import importlib.util
import json
import os
import tempfile
from pathlib import Path

from benchmarks import Row

ROOT = Path(__file__).resolve().parents[1]
SECONDS = {"01": 20, "02": 20, "03": 25, "04": 30, "08": 60, "11": 30}
NOTEBOOK_SECONDS = 40
PEAK_MB = 1024
COURSE_SECONDS = 180


def _runner():
    spec = importlib.util.spec_from_file_location("execute", ROOT / "scripts/execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def claim_margins(log: Path) -> list[Row]:
    """One row per claim: its smallest logged margin against the factor it requires."""
    worst: dict[str, tuple[float, float]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        entry = json.loads(line)
        margin, required = worst.get(entry["claim"], (float("inf"), entry["required"]))
        worst[entry["claim"]] = (min(margin, entry["margin"]), required)
    return [
        Row(f"claim {name}", "worst-seed margin", margin, "x", required, lower_is_better=False)
        for name, (margin, required) in sorted(worst.items())
    ]


def notebook_times() -> list[Row]:
    execute = _runner().execute
    rows, total = [], 0.0
    with tempfile.TemporaryDirectory(prefix="vg-bench-") as tmp:
        log = Path(tmp) / "claims.jsonl"
        os.environ["VG_CLAIMS_LOG"] = str(log)  # the kernels inherit it
        try:
            for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
                seconds, peak = execute(path, save=False)
                total += seconds
                budget = SECONDS.get(path.name[:2], NOTEBOOK_SECONDS)
                rows.append(Row(f"notebook {path.stem}", "top to bottom", seconds, "s", budget))
                rows.append(Row(f"notebook {path.stem}", "kernel peak memory", peak, "MB", PEAK_MB))
        finally:
            del os.environ["VG_CLAIMS_LOG"]
        rows.append(Row("whole course", "all notebooks in turn", total, "s", COURSE_SECONDS))
        rows.extend(claim_margins(log))
    return rows


BENCHMARKS = [notebook_times]
