"""Each notebook top to bottom in a fresh kernel: wall time and the kernel's peak memory.

Budgets come from the issues: 01-02 < 20 s, 03 < 25 s, 04 and 09 < 30 s, 05-07 < 40 s,
08 < 45 s; the whole course < 180 s; every notebook < 1 GB peak (Binder gives 1-2 GB).
Runs without saving, through the same runner as `make execute`.
"""

import importlib.util
from pathlib import Path

from benchmarks import Row

ROOT = Path(__file__).resolve().parents[1]
SECONDS = {"01": 20, "02": 20, "03": 25, "04": 30, "05": 40, "06": 40, "07": 40, "08": 45, "09": 30}
PEAK_MB = 1024
COURSE_SECONDS = 180


def _runner():
    spec = importlib.util.spec_from_file_location("execute", ROOT / "scripts/execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook_times() -> list[Row]:
    execute = _runner().execute
    rows, total = [], 0.0
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        seconds, peak = execute(path, save=False)
        total += seconds
        budget = SECONDS.get(path.name[:2])
        rows.append(Row(f"notebook {path.stem}", "top to bottom", seconds, "s", budget=budget))
        rows.append(Row(f"notebook {path.stem}", "kernel peak memory", peak, "MB", PEAK_MB))
    rows.append(Row("whole course", "all notebooks in turn", total, "s", COURSE_SECONDS))
    return rows


BENCHMARKS = [notebook_times]
