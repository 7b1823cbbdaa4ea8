"""Property-based: the course's public names (../shared/COURSE.md, "Public names"), fed random bad
input, either return a documented result or raise TypeError/ValueError naming the argument;
never a numpy/torch internal message, another exception type, a hang or a silent wrong answer."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import activations, chain, diagnose, exercises, matrix, models, monitor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gradwatch" / "tests"))
from bad_values import (  # noqa: E402 (shared with gradwatch's own property tests)
    FAST,
    containers,
    huge_ints,
    is_positive_int,
    outcome,
    refused,
    scalars,
)

TRAINING = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

arrays = st.one_of(
    st.just(np.zeros(0)),
    st.just(np.zeros((0, 2))),
    st.just(np.zeros((2, 2, 2))),
    st.just(np.full(3, np.nan)),
    st.just(np.full((2, 3), np.inf)),
    st.just(np.array(["a", "b"])),
    st.just(np.array([True, False])),
    st.just(np.array([1 + 2j])),
    st.just(torch.zeros(0, 2)),
)
bad = st.one_of(scalars, containers, arrays)


# --- helpers.activations --------------------------------------------------------------------


@FAST
@given(name=st.one_of(scalars, containers, st.sampled_from(["Sigmoid", "relu ", "softmax"])))
def test_unknown_activation_names_are_refused(name):
    refused(lambda: activations.activation(name, 0.5), "activation")
    refused(lambda: activations.derivative(name, 0.5), "activation")


@FAST
@given(name=st.sampled_from(activations.ACTIVATIONS), x=bad)
def test_activation_of_bad_x(name, x):
    for f in (activations.activation, activations.derivative):
        kind, value = outcome(lambda f=f: f(name, x), "x")
        if kind == "ok":  # numbers and real arrays, empty or non-finite ones included
            array = np.asarray(x)
            assert array.dtype.kind in "iuf" and not isinstance(x, bool)
            assert np.shape(value) == array.shape
            finite = np.isfinite(array.astype(np.float64))
            assert np.isfinite(np.asarray(value)[finite]).all()


@FAST
@given(
    name=st.sampled_from(["leaky_relu", "elu"]),
    key=st.sampled_from(["slope", "alpha", "beta"]),
    value=scalars,
)
def test_activation_parameters(name, key, value):
    kind, result = outcome(lambda: activations.activation(name, -1.0, **{key: value}), key)
    takes = {"leaky_relu": "slope", "elu": "alpha"}[name]
    valid = (
        key == takes
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
    assert (kind == "ok") == valid, (name, key, value, result)
    if kind == "ok":
        assert math.isfinite(result) and result <= 0


# --- helpers.chain.manual_backprop ----------------------------------------------------------


def _network():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, 2)), rng.normal(size=(1, 3))], np.ones(2), np.ones(1)


@FAST
@given(weights=st.one_of(bad, st.lists(bad, min_size=1, max_size=2)))
def test_manual_backprop_bad_weights(weights):
    _, x, y = _network()
    refused(lambda: chain.manual_backprop(weights, x, y), "weights")


@FAST
@given(which=st.sampled_from(["x", "y"]), value=st.one_of(bad, st.just(np.ones(5))))
def test_manual_backprop_bad_x_or_y(which, value):
    weights, x, y = _network()
    args = {"x": x, "y": y, which: value}
    refused(lambda: chain.manual_backprop(weights, args["x"], args["y"]), which)


@FAST
@given(activation=st.one_of(scalars, containers, st.sampled_from(["relu", "Sigmoid"])))
def test_manual_backprop_bad_activation(activation):
    weights, x, y = _network()
    refused(lambda: chain.manual_backprop(weights, x, y, activation), "activation")


@FAST
@given(
    shapes=st.lists(st.integers(1, 4), min_size=2, max_size=5),
    activation=st.sampled_from(["sigmoid", "tanh"]),
)
def test_manual_backprop_on_valid_networks_matches_autograd(shapes, activation):
    rng = np.random.default_rng(len(shapes))
    weights = [rng.normal(size=(o, i)) for i, o in zip(shapes, shapes[1:], strict=False)]
    x, y = rng.normal(size=shapes[0]), rng.normal(size=shapes[-1])
    grads = chain.manual_backprop(weights, x, y, activation)
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    a = torch.tensor(x)
    f = torch.sigmoid if activation == "sigmoid" else torch.tanh
    for w in ws:
        a = f(w @ a)
    (0.5 * ((a - torch.tensor(y)) ** 2).sum()).backward()
    for g, w in zip(grads, ws, strict=True):
        np.testing.assert_allclose(g, w.grad.numpy(), rtol=1e-9, atol=1e-12)


# --- helpers.models.mlp ---------------------------------------------------------------------


@FAST
@given(depth=st.one_of(scalars, containers), width=st.one_of(scalars, st.integers(1, 4)))
def test_mlp_depth_and_width(depth, width):
    kind, model = outcome(lambda: models.mlp(depth, width), "depth", "width")
    valid = is_positive_int(depth) and is_positive_int(width)
    valid = valid and models.perceptron.parameter_count(depth, width, 2, 1) <= 10**8
    assert (kind == "ok") == valid, (depth, width)
    if kind == "ok":
        assert sum(isinstance(m, nn.Linear) for m in model.modules()) == depth + 1


@FAST
@given(
    key=st.sampled_from(
        ["in_features", "out_features", "activation", "init", "norm", "bias", "residual", "seed"]
    ),
    value=st.one_of(scalars, containers, st.sampled_from([2**64, -(2**63) - 1, 10**30])),
)
def test_mlp_keyword_arguments(key, value):
    kind, model = outcome(lambda: models.mlp(2, 3, **{key: value}), key)
    if kind == "ok":
        out = model(torch.ones(4, model[0].in_features))
        assert out.shape[0] == 4 and torch.isfinite(out).all()


@FAST
@given(init=st.sampled_from(models.INITS), scale=st.one_of(scalars, containers))
def test_mlp_scale(init, scale):
    kind, model = outcome(lambda: models.mlp(2, 3, init=init, scale=scale), "scale")
    if kind == "ok":
        assert scale is None or (math.isfinite(scale) and scale >= 0)
        assert all(torch.isfinite(p).all() for p in model.parameters())


# --- helpers.monitor and helpers.diagnose (the toolkit under the course's names) -------------


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))


@FAST
@given(x=bad, y=bad)
def test_gradient_profile_bad_batch(x, y):
    refused(lambda: monitor.gradient_profile(_model(), x, y), "x", "y")
    refused(lambda: monitor.layer_profile(_model(), x, y), "x", "y")


@FAST
@given(model=st.one_of(scalars, containers, arrays))
def test_monitor_names_refuse_non_modules(model):
    refused(lambda: monitor.GradientMonitor(model), "model")
    refused(lambda: monitor.gradient_profile(model, torch.ones(2, 2), torch.ones(2, 1)), "model")
    refused(lambda: monitor.layer_profile(model, torch.ones(2, 2), torch.ones(2, 1)), "model")


@FAST
@given(every=bad, loss=bad)
def test_gradient_monitor_every_and_loss(every, loss):
    model = _model()
    kind, mon = outcome(lambda: monitor.GradientMonitor(model, every=every), "every")
    assert (kind == "ok") == is_positive_int(every)
    if kind == "ok":
        model(torch.ones(2, 2)).sum().backward()
        kind, _ = outcome(lambda: mon.record(loss), "loss")
        number = isinstance(loss, int | float) and not isinstance(loss, bool)
        assert (kind == "ok") == number
        assert mon.calls == (1 if number else 0)


@FAST
@given(grads=st.one_of(bad, st.lists(st.floats(0, 10), max_size=2)))
def test_layer_factor_bad_profile(grads):
    refused(lambda: monitor.layer_factor(grads), "grads")


@FAST
@given(
    losses=st.one_of(bad, st.lists(st.floats(), max_size=40)),
    window=st.one_of(scalars, st.integers(1, 5)),
    rel_tol=st.one_of(scalars, st.floats(0, 0.5)),
)
def test_find_plateau_result_or_named_error(losses, window, rel_tol):
    kind, value = outcome(
        lambda: diagnose.find_plateau(losses, window=window, rel_tol=rel_tol),
        "losses",
        "window",
        "rel_tol",
    )
    if kind == "ok":
        n = len(losses)
        assert np.isfinite(losses).all() and n >= 2 * window
        assert value is None or 0 <= value <= n - 2 * window


@FAST
@given(mon=st.one_of(bad, st.just(nn.Linear(2, 2))), baseline=st.one_of(scalars, st.none()))
def test_diagnose_refuses_a_non_monitor(mon, baseline):
    refused(lambda: diagnose.diagnose(mon, baseline=baseline), "monitor", "baseline")


def test_diagnose_refuses_an_empty_record():
    refused(lambda: diagnose.diagnose(monitor.GradientMonitor(_model())), "monitor")


# --- helpers.matrix.cell: only the checks before any training --------------------------------


@pytest.fixture
def no_training(monkeypatch):
    """Replace the training by a marker: a call that passes validation returns it at once."""
    monkeypatch.setattr(matrix, "_cell", lambda cause, remedy, seeds: ("trained", seeds))


@TRAINING
@given(cause=st.one_of(scalars, containers, st.just("Tiny_Init")))
def test_cell_refuses_unknown_causes(cause, no_training):
    refused(lambda: matrix.cell(cause, "none"), "cause")


@TRAINING
@given(remedy=st.one_of(scalars, containers, st.just("adamw")))
def test_cell_refuses_unknown_remedies(remedy, no_training):
    refused(lambda: matrix.cell("tiny_init", remedy), "remedy")


@TRAINING
@given(
    seeds=st.one_of(
        scalars,
        containers,
        st.lists(st.one_of(st.floats(), st.booleans(), st.text(max_size=2)), min_size=1),
        st.lists(huge_ints, min_size=1, max_size=2),
        st.just([0, 0]),
        st.just([-1]),
        st.lists(st.integers(0, 100), min_size=1, max_size=4, unique=True),
    )
)
def test_cell_seeds(seeds, no_training):
    kind, value = outcome(lambda: matrix.cell("tiny_init", "none", seeds=seeds), "seeds")
    if kind == "ok":
        assert value == ("trained", tuple(seeds))
        assert all(is_positive_int(s + 1) for s in seeds) and len(set(seeds)) == len(seeds)


# --- helpers.exercises.load_all -------------------------------------------------------------


def test_load_all_gives_every_exercise_with_its_check_and_solution():
    found = exercises.load_all()
    assert found and all(name == ex.name for name, ex in found.items())
    assert all(callable(ex.check) and callable(ex.solution) for ex in found.values())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(exercises.load_all())),
    answer=st.one_of(scalars, containers, arrays, st.just(...)),
)
def test_exercise_checks_answer_bad_input_with_feedback(name, answer):
    """A wrong kind of answer gets "Not yet" feedback, not a traceback."""
    check = exercises.load_all()[name].check
    try:
        feedback = check(answer)
    except TypeError as err:  # a check that takes several answers, called with one
        assert "argument" in str(err)
        return
    assert isinstance(feedback, exercises.Feedback) and feedback.message
