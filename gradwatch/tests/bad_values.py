"""Bad values and the one assertion the property tests of gradwatch (gradwatch/tests) and of
the course (tests/test_bad_input_property.py) share: a call either returns, or raises
TypeError/ValueError naming the argument."""

import math
import warnings

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FAST = settings(
    max_examples=40,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

special_floats = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, -0.0, 1e308])
huge_ints = st.sampled_from([10**12, 10**30, -(10**12), 2**63])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.integers(-5, 5),
    huge_ints,
    special_floats,
    st.floats(allow_nan=True, allow_infinity=True),
)
containers = st.one_of(
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just([]),
    st.just(()),
    st.just([[1.0], [2.0, 3.0]]),  # ragged
    st.just(object()),
)


def outcome(call, *names):
    """Run ``call``; return ("ok", result), or ("error", exc) for a TypeError/ValueError whose
    message names one of ``names``. Any other exception, or an unnamed one, fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", call()
    except (TypeError, ValueError) as err:
        message = str(err)
        assert any(n in message for n in names), (
            f"{type(err).__name__} does not name {names}: {message!r}"
        )
        return "error", err


def refused(call, *names):
    kind, value = outcome(call, *names)
    assert kind == "error", f"expected an error naming {names}, got {value!r}"


def is_positive_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1
