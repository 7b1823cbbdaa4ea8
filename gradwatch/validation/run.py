"""Run every labelled scenario under GradientMonitor and compare diagnose with its label.

    cd gradwatch && python -m validation.run          # the table and the accuracy
    cd gradwatch && python -m validation.run --seeds 0 1 2

Each run is diagnosed twice: with its baseline (the README's recipe) and without one.
"""

import argparse
import inspect
import time
import warnings
from dataclasses import dataclass

import torch

from gradwatch import GradientMonitor, diagnose

from .scenarios import SCENARIOS


@dataclass(frozen=True)
class Result:
    name: str
    seed: int
    expected: str
    with_baseline: str
    rule: str
    without_baseline: str
    seconds: float

    @property
    def agrees(self) -> bool:
        return self.with_baseline == self.expected


def run_one(scenario, seed: int = 0) -> Result:
    kwargs = {"seed": seed} if "seed" in inspect.signature(scenario.function).parameters else {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the monitor's warnings are part of what it says
        outcome = scenario.function(GradientMonitor, **kwargs)
        seconds = time.perf_counter() - start
        told = diagnose(outcome.monitor, baseline=outcome.baseline)
        bare = diagnose(outcome.monitor)
    return Result(scenario.name, seed, scenario.label, told.label, told.rule, bare.label, seconds)


def run_all(seeds=(0,)) -> list[Result]:
    torch.set_num_threads(1)
    return [run_one(s, seed) for seed in seeds for s in SCENARIOS]


def accuracy(results: list[Result]) -> tuple[float, float]:
    """(with the baseline, without it): the fraction of runs labelled as expected."""
    n = len(results)
    told = sum(r.agrees for r in results) / n
    bare = sum(r.without_baseline == r.expected for r in results) / n
    return told, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    results = run_all(tuple(args.seeds))
    width = max(len(r.name) for r in results)
    print(f"{'run':<{width}}  seed  {'expected':<21}  {'diagnose':<21}  {'rule':<17}  no baseline")
    for r in results:
        mark = " " if r.agrees else "✗"
        print(
            f"{r.name:<{width}}  {r.seed:>4}  {r.expected:<21}  {r.with_baseline:<21}  "
            f"{r.rule:<17}  {r.without_baseline}  {mark}"
        )
    told, bare = accuracy(results)
    total = sum(r.seconds for r in results)
    print(f"\nagreement with the expected label: {told:.0%} with the baseline, {bare:.0%} without")
    print(f"{len(results)} runs in {total:.0f} s")


if __name__ == "__main__":
    main()
