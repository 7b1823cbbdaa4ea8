"""helpers.claims: verdicts that hold with a margin, or a clear ClaimFailed."""

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import claims

positive = st.floats(1e-6, 1e6, allow_nan=False)


def test_all_below_reports_the_worst_values_margin():
    verdict = claims.all_below([0.1, 0.2, 0.25], 0.5, name="t", sentence="all below half")
    assert verdict.margin == pytest.approx(2.0)
    assert str(verdict) == "✓ all below half (each by a factor of at least 1.5)"
    np.testing.assert_array_equal(verdict.values, [0.1, 0.2, 0.25])


def test_all_below_fails_when_one_seed_lacks_the_margin():
    with pytest.raises(claims.ClaimFailed, match=r"'t' does not hold.*0\.4.*factor of 1\.25"):
        claims.all_below([0.1, 0.4], 0.5, name="t", sentence="all below half")


def test_all_above_and_all_near():
    assert claims.all_above([3.0, 4.0], 1.0, name="a", sentence="s", margin=2).margin == 3.0
    with pytest.raises(claims.ClaimFailed):
        claims.all_above([3.0, 1.5], 1.0, name="a", sentence="s", margin=2)
    near = claims.all_near([0.999, 1.002], 1.0, 0.01, name="n", sentence="s")
    assert near.margin == pytest.approx(5.0)
    with pytest.raises(claims.ClaimFailed):
        claims.all_near([0.999, 1.008], 1.0, 0.01, name="n", sentence="s")


def test_nan_never_passes():
    for check in (claims.all_below, claims.all_above):
        with pytest.raises(claims.ClaimFailed):
            check([0.1, math.nan], 0.5, name="nan", sentence="s")
    with pytest.raises(claims.ClaimFailed):
        claims.all_near([1.0, math.nan], 1.0, 0.1, name="nan", sentence="s")


def test_every_is_a_discrete_verdict():
    assert str(claims.every([True, True], name="e", sentence="all labelled")) == "✓ all labelled"
    with pytest.raises(claims.ClaimFailed, match="'e'"):
        claims.every([True, False], name="e", sentence="all labelled")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": []}, "values is empty"),
        ({"threshold": 0.0}, "threshold must be a positive"),
        ({"threshold": math.inf}, "threshold must be a positive"),
        ({"margin": 0.5}, "margin must be a number ≥ 1"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, message):
    arguments = {"values": [0.1], "threshold": 0.5, "margin": 1.5, **kwargs}
    with pytest.raises(ValueError, match=message):
        claims.all_below(name="bad", sentence="s", **arguments)


def test_margins_go_to_the_log_file(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("VG_CLAIMS_LOG", str(log))
    claims.all_below([0.1, 0.2], 0.5, name="logged", sentence="s")
    claims.all_above([2.0], 1.0, name="logged-too", sentence="s")
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["claim"] for e in entries] == ["logged", "logged-too"]
    assert entries[0]["margin"] == pytest.approx(2.5) and entries[0]["values"] == [0.1, 0.2]


def test_a_failed_claim_is_not_logged(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("VG_CLAIMS_LOG", str(log))
    with pytest.raises(claims.ClaimFailed):
        claims.all_below([0.9], 0.5, name="no", sentence="s")
    assert not log.exists()


@given(st.lists(positive, min_size=1, max_size=8), positive, st.floats(1, 10))
def test_all_below_holds_exactly_when_the_worst_clears_the_margin(values, threshold, margin):
    ok = max(values) * margin <= threshold
    try:
        verdict = claims.all_below(values, threshold, name="p", sentence="s", margin=margin)
    except claims.ClaimFailed:
        assert not ok or math.isclose(max(values) * margin, threshold, rel_tol=1e-12)
    else:
        assert verdict.margin >= margin
        assert ok or math.isclose(max(values) * margin, threshold, rel_tol=1e-12)
