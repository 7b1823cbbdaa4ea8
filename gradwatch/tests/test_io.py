"""gradwatch.io: a saved record reads back as the monitor it came from (arrays, metadata and
diagnosis), refuses what it cannot read, and exports to TensorBoard event files."""

import json
import math
import sys
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

import gradwatch
from gradwatch.io import FORMAT_VERSION, SavedRecord, load, save, to_tensorboard

ARRAYS = ["losses", "grad_norms", "update_ratios", "bias_grad_norms", "norm_grad_norms"]
COUNTS = ["step_index", "loss_counts"]
FORWARD = ["activation_scale", "saturation", "dead_fraction"]
META = ["every", "calls", "overflow_steps", "layer_order", "steps"]
NAMES = ["layer_names", "norm_names", "activation_names"]


def train(steps=120, every=3, forward_stats=True, capacity=8192, seed=0):
    """A small MLP with a LayerNorm on XOR-like data, recorded by a monitor."""
    torch.manual_seed(seed)
    x = torch.randn(64, 2)
    y = (x[:, :1] * x[:, 1:] > 0).float()
    model = nn.Sequential(
        nn.Linear(2, 16), nn.LayerNorm(16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    monitor = gradwatch.GradientMonitor(
        model, every=every, forward_stats=forward_stats, capacity=capacity
    )
    with monitor:
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
            loss.backward()
            monitor.record(loss)
            optimizer.step()
    return monitor


def assert_same_diagnosis(a, b):
    assert (a.label, a.rule, a.cause, a.explanation, a.fix, a.notes) == (
        b.label,
        b.rule,
        b.cause,
        b.explanation,
        b.fix,
        b.notes,
    )
    assert a.evidence.keys() == b.evidence.keys()
    for key, value in a.evidence.items():
        other = b.evidence[key]
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(other, float) and math.isnan(other), key
        else:
            assert value == other, key
    assert str(a) == str(b)


def assert_same_record(monitor, record, forward=True):
    for name in ARRAYS + (FORWARD if forward else []):
        got, want = getattr(record, name), getattr(monitor, name)
        assert got.dtype == np.float64 and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)  # NaN == NaN here
    for name in COUNTS:
        got = getattr(record, name)
        assert got.dtype == np.int64, name
        np.testing.assert_array_equal(got, getattr(monitor, name), err_msg=name)
    for name in META + NAMES:
        assert getattr(record, name) == getattr(monitor, name), name
    assert record.coverage() == monitor.coverage()
    assert json.dumps(record.summary()) == json.dumps(monitor.summary())  # NaN-safe


def test_a_saved_record_reads_back_as_the_monitor(tmp_path):
    monitor = train()
    path = save(monitor, tmp_path / "run.npz")
    assert path == tmp_path / "run.npz"
    record = load(path)
    assert isinstance(record, SavedRecord)
    assert_same_record(monitor, record)
    assert record.steps == 40 and record.calls == 120 and record.every == 3
    assert record.stride == 1 and record.format_version == FORMAT_VERSION
    assert record.gradwatch_version == gradwatch.__version__
    assert record.layer_names == ["0", "3", "5"] and record.norm_names == ["1"]
    assert record.activation_names == ["2", "4"]
    for baseline in (None, math.log(2)):
        assert_same_diagnosis(
            gradwatch.diagnose(record, baseline=baseline),
            gradwatch.diagnose(monitor, baseline=baseline),
        )


def test_forward_statistics_are_absent_when_not_recorded(tmp_path):
    monitor = train(forward_stats=False)
    record = load(save(monitor, tmp_path / "run.npz"))
    assert_same_record(monitor, record, forward=False)
    for name in FORWARD:
        with pytest.raises(AttributeError, match="forward_stats=True"):
            getattr(monitor, name)
        with pytest.raises(AttributeError, match="forward_stats=True"):
            getattr(record, name)
    assert_same_diagnosis(gradwatch.diagnose(record), gradwatch.diagnose(monitor))


def test_a_thinned_record_keeps_its_stride_and_loss_counts(tmp_path):
    monitor = train(steps=150, every=1, forward_stats=False, capacity=16)
    assert monitor._store.stride > 1  # the store thinned its older rows
    record = load(save(monitor, tmp_path / "thinned.npz"))
    assert record.stride == monitor._store.stride
    assert record.loss_counts.sum() == 150 and record.loss_counts.max() > 1
    assert_same_record(monitor, record, forward=False)


def test_the_record_is_read_only(tmp_path):
    record = load(save(train(steps=30), tmp_path / "run.npz"))
    with pytest.raises(AttributeError, match="read-only"):
        record.calls = 0
    with pytest.raises(AttributeError, match="read-only"):
        record.extra = 1
    with pytest.raises(ValueError, match="read-only"):
        record.grad_norms[0, 0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        record.step_index[0] = 5
    record.layer_names.append("x")  # a copy: the record is unchanged
    assert record.layer_names == ["0", "3", "5"]


def test_a_record_saves_again_and_an_empty_monitor_saves(tmp_path):
    monitor = train(steps=30)
    first = load(save(monitor, tmp_path / "a.npz"))
    second = load(save(first, tmp_path / "b.npz"))
    assert_same_record(monitor, second)

    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    empty = load(save(gradwatch.GradientMonitor(model), tmp_path / "empty.npz"))
    assert empty.steps == 0 and empty.calls == 0 and empty.grad_norms.shape == (0, 2)
    with pytest.raises(ValueError, match="recorded nothing"):
        gradwatch.diagnose(empty)


def test_the_file_is_plain_arrays_at_exactly_the_given_path(tmp_path):
    path = save(train(steps=30), tmp_path / "no-extension")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no-extension"]  # no temporary left
    with np.load(path, allow_pickle=False) as data:
        assert int(data["format_version"]) == FORMAT_VERSION
        assert all(data[name].dtype != object for name in data.files)
        assert data["grad_norms"].dtype == np.float32  # as the monitor stores them: no loss
        meta = json.loads(str(data["meta"]))
    assert meta["stride"] == 1 and meta["forward_stats"] is True
    assert {"gradwatch_version", "every", "calls", "overflow_steps", "layer_order"} <= set(meta)
    assert load(str(path)).calls == 30  # str paths too


def rewrite(path, **changes):
    """Rewrite the .npz at path with some arrays replaced (None: removed)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    for name, value in changes.items():
        if value is None:
            arrays.pop(name)
        else:
            arrays[name] = value
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_a_newer_or_unknown_format_version_is_refused(tmp_path):
    path = save(train(steps=30), tmp_path / "run.npz")
    rewrite(path, format_version=np.array(FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=r"run\.npz.*format 2.*format 1.*upgrade"):
        load(path)
    rewrite(path, format_version=np.array(0))
    with pytest.raises(ValueError, match=r"run\.npz.*unknown gradwatch record format 0"):
        load(path)
    rewrite(path, format_version=np.array(1.5))
    with pytest.raises(ValueError, match=r"run\.npz.*not an integer"):
        load(path)
    rewrite(path, format_version=None)
    with pytest.raises(ValueError, match=r"run\.npz.*no format_version"):
        load(path)


def test_damaged_or_foreign_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        load(tmp_path / "missing.npz")
    text = tmp_path / "notes.txt"
    text.write_text("not a record")
    with pytest.raises(ValueError, match=r"notes\.txt.*not a numpy \.npz"):
        load(text)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, format_version=np.array(1), meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"pickled\.npz"):
        load(pickled)  # object arrays need pickle, which load never allows
    path = save(train(steps=30), tmp_path / "run.npz")
    rewrite(path, grad_norms=np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"run\.npz.*grad_norms has shape"):
        load(path)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"broken\.npz"):
        load(broken)
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as archive:
        archive.writestr("x.npy", b"nonsense")
    with pytest.raises(ValueError, match=r"other\.npz"):
        load(tmp_path / "other.npz")


def test_what_is_not_a_monitor_is_refused(tmp_path):
    with pytest.raises(TypeError, match="GradientMonitor"):
        save({"losses": [1.0]}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="GradientMonitor"):
        save(nn.Linear(2, 1), tmp_path / "x.npz")
    with pytest.raises(TypeError, match="path"):
        save(train(steps=10), 42)
    with pytest.raises(TypeError, match="GradientMonitor"):
        to_tensorboard("run.npz", tmp_path / "tb")
    assert not (tmp_path / "x.npz").exists()


def read_scalars(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def test_tensorboard_scalars_round_trip(tmp_path):
    pytest.importorskip("tensorboard")
    monitor = train(steps=60, every=5)
    record = load(save(monitor, tmp_path / "run.npz"))
    assert to_tensorboard(monitor, tmp_path / "live") == tmp_path / "live"
    to_tensorboard(record, tmp_path / "saved")
    live, saved = read_scalars(tmp_path / "live"), read_scalars(tmp_path / "saved")
    assert live == saved
    steps = monitor.step_index.tolist()
    assert steps == list(range(0, 60, 5))
    expected = {"loss": monitor.losses}
    for prefix, names, values in (
        ("grad_norm", monitor.layer_names, monitor.grad_norms),
        ("update_ratio", monitor.layer_names, monitor.update_ratios),
        ("bias_grad_norm", monitor.layer_names, monitor.bias_grad_norms),
        ("norm_grad_norm", monitor.norm_names, monitor.norm_grad_norms),
        ("activation_scale", monitor.activation_names, monitor.activation_scale),
        ("saturation", monitor.activation_names, monitor.saturation),
        ("dead_fraction", monitor.activation_names, monitor.dead_fraction),
    ):
        for k, name in enumerate(names):
            if not np.isnan(values[:, k]).all():  # an all-NaN series is not written at all
                expected[f"{prefix}/{name}"] = values[:, k]
    assert set(live) == set(expected)
    assert "saturation/4" not in live  # ReLU has no saturation (NaN), but a dead fraction
    for tag, values in expected.items():
        want = [(s, v) for s, v in zip(steps, values.tolist(), strict=True) if not math.isnan(v)]
        got = live[tag]
        assert [s for s, _ in got] == [s for s, _ in want], tag
        np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=1e-6)
    assert [s for s, _ in live["update_ratio/0"]] == steps[1:]  # row 0 has no previous step
    assert [s for s, _ in live["dead_fraction/4"]] == steps


def test_a_nan_loss_is_exported_and_a_one_layer_model_is_named_model(tmp_path):
    pytest.importorskip("tensorboard")
    model = nn.Linear(3, 1)
    with gradwatch.GradientMonitor(model, every=1) as monitor:
        for loss in (1.0, math.nan, 0.5):
            model.zero_grad()
            model(torch.randn(4, 3)).sum().backward()
            monitor.record(loss)
    scalars = read_scalars(to_tensorboard(monitor, tmp_path / "tb"))
    assert set(scalars) == {"loss", "grad_norm/model", "update_ratio/model", "bias_grad_norm/model"}
    values = [v for _, v in scalars["loss"]]
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == 0.5


def test_to_tensorboard_without_tensorboard_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install gradwatch\[tensorboard\]"):
        to_tensorboard(train(steps=10), tmp_path / "tb")


def test_a_recurrent_record_keeps_its_time_ratios(tmp_path):
    torch.manual_seed(3)
    rnn, head = nn.RNN(1, 8, batch_first=True), nn.Linear(8, 1)
    model = nn.ModuleDict({"rnn": rnn, "head": head})
    x, y = torch.randn(16, 30, 1), torch.randn(16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with gradwatch.GradientMonitor(model, every=1) as monitor:
        for _ in range(12):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(head(rnn(x)[0][:, -1]), y)
            loss.backward()
            monitor.record(loss)
            optimizer.step()
    record = load(save(monitor, tmp_path / "rnn.npz"))
    assert record.time_names == ["rnn"] == monitor.time_names
    np.testing.assert_array_equal(record.time_ratios, monitor.time_ratios)
    assert np.isfinite(record.time_ratios).all() and (record.time_ratios < 1).all()
    assert_same_diagnosis(gradwatch.diagnose(monitor), gradwatch.diagnose(record))
