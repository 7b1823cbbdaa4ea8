"""Property-based: every public callable of gradwatch, fed random bad input, either returns a
documented result or raises TypeError/ValueError naming the argument; never a numpy/torch
internal message, another exception type, a hang or a silent wrong answer."""

import math

import numpy as np
import pytest
import torch
from bad_values import (  # gradwatch/tests/bad_values.py, shared with the course's test
    FAST,
    containers,
    huge_ints,
    is_positive_int,
    outcome,
    refused,
    scalars,
    special_floats,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import gradwatch
from gradwatch import io as gio

tensors = st.one_of(
    st.just(torch.zeros(0)),
    st.just(torch.zeros(0, 2)),
    st.just(torch.zeros(3, 0)),
    st.just(torch.tensor(1.0)),
    st.just(torch.zeros(2, 2, 2)),
    st.just(torch.zeros(4, 5)),
    st.just(torch.full((4, 2), math.nan)),
    st.just(torch.full((4, 2), math.inf)),
    st.just(torch.ones(4, 2, dtype=torch.bool)),
    st.just(torch.ones(4, 2, dtype=torch.complex64)),
    st.just(np.zeros((0, 2))),
    st.just(np.array(["a", "b"])),
)
bad = st.one_of(scalars, containers, tensors)
non_modules = st.one_of(scalars, containers, tensors, st.just(nn.Linear))


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))


# --- GradientMonitor ------------------------------------------------------------------------


@FAST
@given(model=non_modules)
def test_monitor_refuses_a_model_that_is_not_a_module(model):
    refused(lambda: gradwatch.GradientMonitor(model), "model")


@FAST
@given(every=bad, capacity=bad)
def test_monitor_every_and_capacity(every, capacity):
    kind, value = outcome(
        lambda: gradwatch.GradientMonitor(_model(), every=every, capacity=capacity),
        "every",
        "capacity",
    )
    valid = is_positive_int(every) and is_positive_int(capacity) and capacity >= 16
    assert (kind == "ok") == valid, (every, capacity, value)
    if kind == "ok":
        assert value.every == every and value.layer_names == ["0", "2"]


@FAST
@given(flag=st.one_of(scalars, containers))
def test_monitor_forward_stats_must_be_a_flag(flag):
    kind, value = outcome(
        lambda: gradwatch.GradientMonitor(_model(), forward_stats=flag), "forward_stats"
    )
    assert (kind == "ok") == isinstance(flag, bool), (flag, value)


def _stepped_monitor(**kwargs):
    model = _model()
    monitor = gradwatch.GradientMonitor(model, every=1, **kwargs)
    loss = model(torch.ones(4, 2)).pow(2).mean()
    loss.backward()
    return monitor, loss


@FAST
@given(loss=st.one_of(bad, st.just(torch.ones(3)), st.just(torch.tensor([]))))
def test_record_refuses_a_loss_that_is_not_one_real_number(loss):
    monitor, _ = _stepped_monitor()
    kind, _ = outcome(lambda: monitor.record(loss), "loss")
    number = isinstance(loss, int | float) and not isinstance(loss, bool)
    scalar_tensor = (
        torch.is_tensor(loss)
        and loss.numel() == 1
        and loss.dtype not in (torch.bool, torch.complex64)
    )
    assert (kind == "ok") == (number or scalar_tensor), loss
    if kind == "ok":  # a NaN/inf loss is recorded as such: diagnose reports it as exploding
        assert monitor.steps == 1
        with np.errstate(over="ignore"):
            expected = float(np.float32(float(loss)))  # rows are stored in float32
        assert monitor.losses[0] == pytest.approx(expected, nan_ok=True) or (
            math.isinf(expected) and monitor.losses[0] == expected
        )
    else:
        assert monitor.steps == 0 and monitor.calls == 0


@FAST
@given(scaler=bad)
def test_record_refuses_a_scaler_that_is_not_a_grad_scaler(scaler):
    monitor, loss = _stepped_monitor()
    kind, _ = outcome(lambda: monitor.record(loss, scaler=scaler), "scaler")
    assert (kind == "ok") == (scaler is None)


# --- diagnose -------------------------------------------------------------------------------


@FAST
@given(monitor=st.one_of(bad, st.just(nn.Linear(2, 2))))
def test_diagnose_refuses_a_non_monitor(monitor):
    refused(lambda: gradwatch.diagnose(monitor), "monitor")


def test_diagnose_refuses_an_empty_record():
    monitor = gradwatch.GradientMonitor(_model(), every=1)
    refused(lambda: gradwatch.diagnose(monitor), "monitor")


class _Fake:
    def __init__(self, losses, grads, ratios):
        self.losses, self.grad_norms, self.update_ratios = losses, grads, ratios


@FAST
@given(
    losses=st.one_of(bad, st.lists(st.floats(), min_size=1, max_size=30)),
    layers=st.integers(0, 3),
)
def test_diagnose_on_odd_records_gives_a_label_or_a_named_error(losses, layers):
    try:
        n = len(losses)
    except TypeError:
        n = 3
    grads = np.ones((n, layers))
    fake = _Fake(losses, grads, grads * 1e-3)
    kind, value = outcome(lambda: gradwatch.diagnose(fake), "monitor", "losses")
    if kind == "ok":
        assert value.label in gradwatch.OUTCOMES and str(value)


@FAST
@given(baseline=bad, window=bad)
def test_diagnose_baseline_and_window(baseline, window):
    model = _model()
    x, y = torch.randn(16, 2), torch.randn(16, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gradwatch.GradientMonitor(model, every=1) as monitor:
        for _ in range(20):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            monitor.record(loss)
            opt.step()
    kind, value = outcome(
        lambda: gradwatch.diagnose(monitor, baseline=baseline, window=window),
        "baseline",
        "window",
    )
    baseline_ok = baseline is None or (
        isinstance(baseline, int | float)
        and not isinstance(baseline, bool)
        and math.isfinite(baseline)
        and baseline >= 0
    )
    window_ok = window is None or (is_positive_int(window) and 2 * window <= 20)
    assert (kind == "ok") == (baseline_ok and window_ok), (baseline, window, value)
    if kind == "ok":
        assert value.label in gradwatch.OUTCOMES


# --- find_plateau ---------------------------------------------------------------------------


@FAST
@given(losses=st.one_of(bad, st.lists(st.one_of(st.text(max_size=2), st.none()), min_size=1)))
def test_find_plateau_refuses_bad_losses(losses):
    refused(lambda: gradwatch.find_plateau(losses, window=1), "losses")


@FAST
@given(
    losses=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
    window=st.one_of(st.integers(-3, 40), huge_ints, scalars),
    rel_tol=st.one_of(st.floats(0, 1), scalars),
)
def test_find_plateau_result_or_named_error(losses, window, rel_tol):
    kind, value = outcome(
        lambda: gradwatch.find_plateau(losses, window=window, rel_tol=rel_tol),
        "window",
        "rel_tol",
        "losses",
    )
    if kind == "ok":
        assert value is None or (isinstance(value, int) and 0 <= value <= len(losses) - 2 * window)
        # scale-free: multiplying the losses by a constant changes nothing
        scaled = gradwatch.find_plateau([4.0 * v for v in losses], window=window, rel_tol=rel_tol)
        assert scaled == value
    else:
        valid = is_positive_int(window) and 2 * window <= len(losses)
        valid = valid and isinstance(rel_tol, float) and math.isfinite(rel_tol) and rel_tol >= 0
        assert not valid, (window, rel_tol, value)


@FAST
@given(bad_value=special_floats.filter(lambda v: not math.isfinite(v)), at=st.integers(0, 19))
def test_find_plateau_refuses_non_finite_losses(bad_value, at):
    losses = list(np.linspace(1.0, 0.1, 20))
    losses[at] = bad_value
    refused(lambda: gradwatch.find_plateau(losses, window=2), "losses")


# --- gradient_profile and forward_profile ---------------------------------------------------


@FAST
@given(model=non_modules)
def test_profiles_refuse_a_non_module(model):
    refused(lambda: gradwatch.gradient_profile(model, torch.ones(4, 2), torch.ones(4, 1)), "model")
    refused(lambda: gradwatch.forward_profile(model, torch.ones(4, 2)), "model")


@FAST
@given(x=bad)
def test_gradient_profile_bad_x(x):
    refused(lambda: gradwatch.gradient_profile(_model(), x, torch.ones(4, 1)), "x")


@FAST
@given(y=bad)
def test_gradient_profile_bad_y(y):
    refused(lambda: gradwatch.gradient_profile(_model(), torch.ones(4, 2), y), "y")


@FAST
@given(loss_fn=st.one_of(scalars, containers, st.just(lambda out, y: "x"), st.just(lambda o, y: o)))
def test_gradient_profile_bad_loss_fn(loss_fn):
    kind, _ = outcome(
        lambda: gradwatch.gradient_profile(_model(), torch.ones(4, 2), torch.ones(4, 1), loss_fn),
        "loss_fn",
    )
    assert (kind == "ok") == (loss_fn is None)


@FAST
@given(rows=st.integers(1, 8))
def test_gradient_profile_valid_batches(rows):
    grads = gradwatch.gradient_profile(_model(), torch.randn(rows, 2), torch.randn(rows, 1))
    assert grads.shape == (2,) and np.isfinite(grads).all() and (grads >= 0).all()


@FAST
@given(x=bad)
def test_forward_profile_bad_x(x):
    kind, value = outcome(lambda: gradwatch.forward_profile(_model(), x), "x")
    if kind == "ok":  # nn.Linear takes extra leading dimensions: (2, 2, 2) is a valid batch
        assert tuple(x.shape) == (2, 2, 2) and value.names == ["1"]


# --- layers, snapshots ----------------------------------------------------------------------


@FAST
@given(model=non_modules)
def test_layer_functions_refuse_non_modules(model):
    refused(lambda: gradwatch.tracked_layers(model), "model")
    refused(lambda: gradwatch.activation_modules(model), "model")
    refused(lambda: gradwatch.layer_weights(model), "layer")
    refused(lambda: gradwatch.snapshot_weights(model), "model")
    refused(lambda: gradwatch.relative_change(model, []), "model")


@FAST
@given(
    snapshot=st.one_of(
        bad,
        st.just([torch.zeros(9)]),
        st.just([torch.zeros(9), torch.zeros(4)]),
        st.just([torch.zeros(9), torch.zeros(5)]),
        st.just([torch.zeros(9), torch.zeros(4), torch.zeros(1)]),
    )
)
def test_relative_change_refuses_a_bad_snapshot(snapshot):
    kind, value = outcome(lambda: gradwatch.relative_change(_model(), snapshot), "snapshot")
    if kind == "ok":  # a snapshot of zero weights: the change relative to 0 is inf
        assert value.shape == (2,) and np.isinf(value).all()


def test_relative_change_of_an_unchanged_model_is_zero():
    model = _model()
    snapshot = gradwatch.snapshot_weights(model)
    np.testing.assert_array_equal(gradwatch.relative_change(model, snapshot), [0.0, 0.0])


# --- io.save / io.load ----------------------------------------------------------------------


@FAST
@given(monitor=st.one_of(bad, st.just(nn.Linear(2, 2))))
def test_save_refuses_a_non_monitor(monitor, tmp_path):
    refused(lambda: gio.save(monitor, tmp_path / "run.npz"), "monitor")


@FAST
@given(path=st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), containers, tensors))
def test_save_and_load_refuse_a_path_that_is_not_a_path(path):
    monitor = gradwatch.GradientMonitor(_model(), every=1)
    refused(lambda: gio.save(monitor, path), "path")
    refused(lambda: gio.load(path), "path")


@settings(
    max_examples=25, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=64))
def test_load_refuses_a_file_that_is_not_a_record(content, tmp_path):
    path = tmp_path / "not-a-record.npz"
    path.write_bytes(content)
    refused(lambda: gio.load(path), str(path))


def test_an_empty_record_saves_and_loads(tmp_path):
    monitor = gradwatch.GradientMonitor(_model(), every=1)
    record = gio.load(gio.save(monitor, tmp_path / "empty.npz"))
    assert record.steps == 0 and record.layer_names == ["0", "2"]
    refused(lambda: gradwatch.diagnose(record), "monitor")
