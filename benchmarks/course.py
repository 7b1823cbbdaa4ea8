"""Repository size (notebooks with outputs included) and, on request, `make test`'s time.

`make test` re-runs everything (install check, lint, unit tests, nbval, browser test), so it is
measured only when VG_BENCH_MAKE_TEST=1 (`make bench-all`).
"""

import os
import subprocess
import time
from pathlib import Path

from benchmarks import Row

ROOT = Path(__file__).resolve().parents[1]
REPO_MB = 20
MAKE_TEST_SECONDS = 300


def tracked_size_mb() -> float:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    return sum((ROOT / f.decode()).stat().st_size for f in files if f) / 1e6


def repository_size() -> list[Row]:
    notebooks = sum(p.stat().st_size for p in (ROOT / "notebooks").glob("*.ipynb")) / 1e6
    return [
        Row("repository", "tracked files", tracked_size_mb(), "MB", REPO_MB),
        Row("repository", "notebooks with outputs", notebooks, "MB"),
    ]


def make_test_time() -> list[Row]:
    if os.environ.get("VG_BENCH_MAKE_TEST") != "1":
        return []
    start = time.perf_counter()
    subprocess.run(["make", "test"], cwd=ROOT, check=True, capture_output=True)
    return [Row("make test", "environment present", time.perf_counter() - start, "s")]


BENCHMARKS = [repository_size, make_test_time]
