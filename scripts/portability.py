"""Validate the notebooks under four floating-point paths that stand in for other machines.

Usage: python scripts/portability.py [--path NAME ...] [--only-notebooks] [NOTEBOOK ...]

Training small networks is chaotic: another CPU, BLAS build or thread count ends a run elsewhere.
The course states verdicts with margins instead of trajectories, and this script checks that the
stored outputs reproduce on each of these paths (FIELD-NOTES, "torch on a small CPU"):

- ``native``: this machine as it is (two nbval workers, one torch thread each);
- ``mkl-avx2``: MKL's AVX2 kernels (``MKL_ENABLE_INSTRUCTIONS=AVX2``);
- ``sse42-default``: MKL's SSE4.2 kernels and torch's unvectorised ones
  (``MKL_ENABLE_INSTRUCTIONS=SSE4_2 ATEN_CPU_CAPABILITY=default``);
- ``two-threads``: two torch threads (``VG_THREADS=2``) with a single worker, since two threads on
  each of two workers oversubscribe two cores.

Each path runs nbval over every notebook and the unit tests that assert training outcomes
(``-m slow``). Every checked claim logs its margin (``helpers.claims``); the table at the end shows
each claim's smallest margin over the paths. Exits non-zero if any path fails.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = {
    "native": ({}, 2),
    "mkl-avx2": ({"MKL_ENABLE_INSTRUCTIONS": "AVX2"}, 2),
    "sse42-default": ({"MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ATEN_CPU_CAPABILITY": "default"}, 2),
    "two-threads": ({"VG_THREADS": "2"}, 1),
}
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval-sanitize.cfg"]


def pytest_commands(workers: int, notebooks: list[str], only_notebooks: bool) -> list[list[str]]:
    """nbval over the notebooks, then the unit tests that assert training outcomes."""
    base = [sys.executable, "-m", "pytest", "-q"]
    base += ["-n", str(workers), "--dist", "loadscope"] if workers > 1 else ["-p", "no:xdist"]
    commands = [[*base, *NBVAL, *notebooks]]
    if not only_notebooks:
        commands.append(
            [
                *base,
                "tests",
                "--ignore=tests/browser",
                "--ignore=tests/colab",
                "--ignore=tests/site",
                "-m",
                "slow",
            ]
        )
    return commands


def run_path(name: str, args, log_dir: Path) -> tuple[bool, float, Path]:
    extra, workers = PATHS[name]
    log = log_dir / f"{name}.jsonl"
    env = {**os.environ, **extra, "VG_QUIET": "1", "VG_CLAIMS_LOG": str(log)}
    env.setdefault("VG_THREADS", "1")
    shown = " ".join(f"{k}={v}" for k, v in extra.items()) or "(this machine as it is)"
    print(f"== {name}: {shown}, {workers} worker(s)", flush=True)
    start = time.perf_counter()
    commands = pytest_commands(workers, args.notebooks or ["notebooks"], args.only_notebooks)
    codes = [subprocess.run(command, cwd=ROOT, env=env).returncode for command in commands]
    ok = all(code == 0 for code in codes)
    seconds = time.perf_counter() - start
    print(f"== {name}: {'passed' if ok else 'FAILED'} in {seconds:.0f} s", flush=True)
    return ok, seconds, log


def margins(logs: dict[str, Path]) -> dict[str, dict[str, float]]:
    """{claim: {path: smallest margin logged on that path}} from the claims' JSON-lines logs."""
    table: dict[str, dict[str, float]] = {}
    for path_name, log in logs.items():
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            row = table.setdefault(entry["claim"], {})
            row[path_name] = min(row.get(path_name, float("inf")), entry["margin"])
    return table


def print_margins(table: dict[str, dict[str, float]], names: list[str]) -> None:
    if not table:
        print("no claims were logged")
        return
    width = max(len(claim) for claim in table)
    print(f"\n{'claim margin (worst seed; ×)':<{width}}  " + "  ".join(f"{n:>13}" for n in names))
    for claim in sorted(table):
        cells = [table[claim].get(n) for n in names]
        shown = "  ".join(f"{'—' if c is None else f'{c:.3g}':>13}" for c in cells)
        print(f"{claim:<{width}}  {shown}")
    worst = min(min(row.values()) for row in table.values())
    print(f"smallest margin over every claim and path: ×{worst:.3g}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", action="append", choices=sorted(PATHS), help="run only these")
    parser.add_argument("--only-notebooks", action="store_true", help="skip the unit tests")
    parser.add_argument("notebooks", nargs="*", help="notebooks to validate (default: all)")
    args = parser.parse_args()
    names = args.path or list(PATHS)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vg-portability-") as tmp:
        results = {name: run_path(name, args, Path(tmp)) for name in names}
        print_margins(margins({name: log for name, (_, _, log) in results.items()}), names)
    print(f"\n{'path':<15}{'result':>8}{'seconds':>9}")
    for name, (ok, seconds, _) in results.items():
        print(f"{name:<15}{'passed' if ok else 'FAILED':>8}{seconds:9.0f}")
    print(f"all paths: {time.perf_counter() - start:.0f} s")
    return 0 if all(ok for ok, _, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
