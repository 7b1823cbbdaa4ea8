"""diagnose on the labelled runs of gradwatch/validation (seed 0): at least 90% agree with the
label each was given from its scenario. The labels' own evidence is tested apart, in
``gradwatch/validation/test_scenarios_evidence.py`` (``make validate``: about 2.5 minutes)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from validation import run as validation  # noqa: E402


@pytest.mark.slow
def test_diagnose_agrees_with_the_scenario_labels():
    results = validation.run_all(seeds=(0,))
    told, bare = validation.accuracy(results)
    misses = [(r.name, r.expected, r.with_baseline, r.rule) for r in results if not r.agrees]
    assert len(results) >= 20
    assert told >= 0.9, misses
    assert bare >= 0.9
