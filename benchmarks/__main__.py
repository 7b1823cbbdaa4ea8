"""Run every benchmark module (or those named on the command line) and print one table.

Usage: python -m benchmarks [module ...]     e.g. python -m benchmarks sweep explorer
"""

import importlib
import os
import pkgutil
import sys
import time

import benchmarks
from benchmarks import Row, one_thread


def modules(names: list[str]) -> list[str]:
    found = sorted(info.name for info in pkgutil.iter_modules(benchmarks.__path__))
    unknown = [name for name in names if name not in found]
    if unknown:
        raise SystemExit(f"unknown benchmark module(s) {unknown}; available: {', '.join(found)}")
    return names or found


def format_value(row: Row) -> str:
    return f"{row.value:.3g} {row.unit}"


def print_table(rows: list[Row]) -> None:
    headers = ("benchmark", "measure", "value", "budget", "")
    table = [(r.benchmark, r.measure, format_value(r), r.budget_text, r.verdict) for r in rows]
    widths = [max([len(h), *(len(line[i]) for line in table)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for line in table:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def main(argv: list[str]) -> int:
    rows: list[Row] = []
    with one_thread():
        for name in modules(argv):
            module = importlib.import_module(f"benchmarks.{name}")
            for fn in getattr(module, "BENCHMARKS", []):
                start = time.perf_counter()
                rows.extend(fn())
                print(
                    f"ran {name}.{fn.__name__} in {time.perf_counter() - start:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    print_table(rows)
    print(
        f"(load average {benchmarks.load_average():.1f} on {os.cpu_count()} CPUs: timings on a "
        "busy machine run long; CPU-time rows are less affected)"
    )
    return 1 if any(row.verdict == "OVER BUDGET" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
