"""Saving a monitor's record to one file, reading it back, and exporting it to TensorBoard.

    from gradwatch.io import load, save, to_tensorboard

    save(monitor, "run.npz")              # after (or during) training
    record = load("run.npz")              # read-only, with the monitor's attributes
    print(gradwatch.diagnose(record, baseline=math.log(2)))
    to_tensorboard(record, "runs/exp1")   # needs: pip install gradwatch[tensorboard]

The file is a numpy ``.npz`` archive holding plain arrays only (it is read with
``allow_pickle=False``, so loading a file never runs code): one array per recorded quantity and a
JSON string of metadata, with a format version (:data:`FORMAT_VERSION`). A file written by a newer
gradwatch, with a higher format version, is refused with a ValueError rather than misread.
"""

import json
import math
import os
import secrets
import zipfile
from pathlib import Path

import numpy as np

from gradwatch.monitor import GradientMonitor, summarize

FORMAT_VERSION = 1
"""The version of the file layout :func:`save` writes; :func:`load` reads versions 1 to this."""

# The per-row arrays: name -> the metadata list that names its columns (None: one value a row).
_ROWS = {
    "losses": None,
    "grad_norms": "layer_names",
    "update_ratios": "layer_names",
    "bias_grad_norms": "layer_names",
    "norm_grad_norms": "norm_names",
    "time_ratios": "time_names",
}
_FORWARD = {
    name: "activation_names" for name in ("activation_scale", "saturation", "dead_fraction")
}
_FORWARD_OFF = "forward statistics are off; create the monitor with forward_stats=True"


def _path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return Path(path)


def _forward_recorded(monitor) -> bool:
    try:
        _ = monitor.saturation
    except AttributeError:
        return False
    return True


def _check_record(obj, what: str) -> None:
    if not isinstance(obj, (GradientMonitor, SavedRecord)):
        raise TypeError(
            f"{what} must be a gradwatch.GradientMonitor or a record from gradwatch.io.load(), "
            f"got {type(obj).__name__}"
        )


def save(monitor, path) -> Path:
    """Write ``monitor``'s record (a GradientMonitor, or a :class:`SavedRecord`) to ``path``.

    The file is written whole or not at all (a temporary file in the same folder, then renamed),
    with exactly the name given (no ``.npz`` is appended). Returns the path. Steps counted after
    the last stored row (their losses wait in the monitor's running sum) are counted in
    ``calls`` but, as on the live monitor, are in no row.
    """
    _check_record(monitor, "monitor")
    path = _path(path)
    import gradwatch

    forward = _forward_recorded(monitor)
    if isinstance(monitor, SavedRecord):
        stride = monitor.stride
    else:
        store = monitor._store  # None until the first row is stored
        stride = 1 if store is None else int(store.stride)
    meta = {
        "format_version": FORMAT_VERSION,
        "gradwatch_version": gradwatch.__version__,
        "every": int(monitor.every),
        "calls": int(monitor.calls),
        "overflow_steps": int(monitor.overflow_steps),
        "layer_order": str(monitor.layer_order),
        "layer_names": [str(n) for n in monitor.layer_names],
        "norm_names": [str(n) for n in monitor.norm_names],
        "activation_names": [str(n) for n in monitor.activation_names],
        "time_names": [str(n) for n in monitor.time_names],
        "forward_stats": forward,
        "stride": stride,
        "coverage": {str(k): str(v) for k, v in monitor.coverage().items()},
    }
    arrays = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "meta": np.array(json.dumps(meta)),
        "step_index": np.asarray(monitor.step_index, dtype=np.int64),
        "loss_counts": np.asarray(monitor.loss_counts, dtype=np.int64),
    }
    for name in [*_ROWS, *(_FORWARD if forward else [])]:
        arrays[name] = _compact(getattr(monitor, name))
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:
            np.savez_compressed(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _compact(values) -> np.ndarray:
    """float32 if that loses nothing (the monitor stores float32 rows), else float64."""
    values = np.asarray(values, dtype=np.float64)
    single = values.astype(np.float32)
    if np.array_equal(single.astype(np.float64), values, equal_nan=True):
        return single
    return values


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


class SavedRecord:
    """A monitor's record read back by :func:`load`: read-only, with the attributes of a
    :class:`gradwatch.GradientMonitor` (``losses``, ``grad_norms``, ``update_ratios``,
    ``bias_grad_norms``, ``norm_grad_norms``, ``step_index``, ``loss_counts``, ``steps``,
    ``calls``, ``every``, ``overflow_steps``, ``layer_order``, ``layer_names``, ``norm_names``,
    ``activation_names``; ``saturation``, ``dead_fraction`` and ``activation_scale`` only if the
    monitor recorded them, else AttributeError), plus ``stride``, ``path``, ``format_version``
    and ``gradwatch_version``. ``gradwatch.diagnose(record)`` reads it as it reads the monitor.
    Arrays are float64 (int64 for the step counts) and not writeable.
    """

    __slots__ = ("_meta", "_arrays", "path")

    def __init__(self, meta: dict, arrays: dict, path: Path):
        object.__setattr__(self, "_meta", meta)
        object.__setattr__(self, "_arrays", arrays)
        object.__setattr__(self, "path", path)

    def __setattr__(self, name, value):
        raise AttributeError(f"a SavedRecord is read-only (cannot set {name!r})")

    def __delattr__(self, name):
        raise AttributeError(f"a SavedRecord is read-only (cannot delete {name!r})")

    # -- metadata --

    every = property(lambda self: self._meta["every"], doc="The monitor's sampling interval.")
    calls = property(lambda self: self._meta["calls"], doc="The number of record() calls.")
    overflow_steps = property(lambda self: self._meta["overflow_steps"])
    layer_order = property(lambda self: self._meta["layer_order"])
    stride = property(
        lambda self: self._meta["stride"],
        doc="The store's resolution of the older rows when saved (1 until the record filled).",
    )
    format_version = property(lambda self: self._meta["format_version"])
    gradwatch_version = property(lambda self: self._meta["gradwatch_version"])

    @property
    def layer_names(self) -> list[str]:
        return list(self._meta["layer_names"])

    @property
    def norm_names(self) -> list[str]:
        return list(self._meta["norm_names"])

    @property
    def activation_names(self) -> list[str]:
        return list(self._meta["activation_names"])

    @property
    def time_names(self) -> list[str]:
        return list(self._meta["time_names"])

    def coverage(self) -> dict[str, str]:
        """Each tracked parameter's name → where it was read (as ``GradientMonitor.coverage``)."""
        return dict(self._meta["coverage"])

    # -- rows --

    @property
    def steps(self) -> int:
        return len(self._arrays["step_index"])

    @property
    def step_index(self) -> np.ndarray:
        return self._arrays["step_index"]

    @property
    def loss_counts(self) -> np.ndarray:
        return self._arrays["loss_counts"]

    losses = property(lambda self: self._arrays["losses"])
    grad_norms = property(lambda self: self._arrays["grad_norms"])
    update_ratios = property(lambda self: self._arrays["update_ratios"])
    bias_grad_norms = property(lambda self: self._arrays["bias_grad_norms"])
    norm_grad_norms = property(lambda self: self._arrays["norm_grad_norms"])
    time_ratios = property(lambda self: self._arrays["time_ratios"])

    def _forward(self, name: str) -> np.ndarray:
        if not self._meta["forward_stats"]:
            raise AttributeError(_FORWARD_OFF)
        return self._arrays[name]

    activation_scale = property(lambda self: self._forward("activation_scale"))
    saturation = property(lambda self: self._forward("saturation"))
    dead_fraction = property(lambda self: self._forward("dead_fraction"))

    def summary(self) -> dict:
        """Rows, last loss, and per layer the median gradient norm and update ratio (as
        ``GradientMonitor.summary``)."""
        return summarize(self)

    def __repr__(self) -> str:
        return (
            f"SavedRecord({len(self.layer_names)} layers, {self.steps} rows of {self.calls} "
            f"steps, every={self.every}, from {str(self.path)!r})"
        )


def _corrupt(path: Path, why: str) -> ValueError:
    return ValueError(f"{str(path)!r} is not a readable gradwatch record: {why}")


def load(path) -> SavedRecord:
    """Read a record written by :func:`save`; returns a read-only :class:`SavedRecord`.

    Raises FileNotFoundError if ``path`` does not exist, and ValueError naming the path if it is
    not a gradwatch record, is damaged, or was written in a format version this gradwatch does
    not know (a newer one: upgrade gradwatch to read it).
    """
    path = _path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no gradwatch record at {str(path)!r}: the file does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {name: data[name] for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise _corrupt(path, f"not a numpy .npz archive of plain arrays ({err})") from None
    if "format_version" not in contents or "meta" not in contents:
        raise _corrupt(path, "it has no format_version or meta entry")
    version = contents["format_version"]
    if version.shape != () or version.dtype.kind not in "iu":
        raise _corrupt(path, f"its format_version is not an integer ({version!r})")
    version = int(version)
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} was written in gradwatch record format {version}, newer than the "
            f"format {FORMAT_VERSION} this gradwatch reads: upgrade gradwatch to load it"
        )
    if version < 1:
        raise ValueError(
            f"{str(path)!r} has unknown gradwatch record format {version}; this gradwatch reads "
            f"formats 1 to {FORMAT_VERSION}"
        )
    try:
        meta = json.loads(str(contents["meta"][()]))
    except (TypeError, ValueError, IndexError) as err:
        raise _corrupt(path, f"its metadata is not JSON ({err})") from None
    return SavedRecord(meta, _arrays(path, meta, contents), path)


def _arrays(path: Path, meta: dict, contents: dict) -> dict:
    """The per-row arrays, checked against each other and the metadata."""
    required = ["every", "calls", "overflow_steps", "layer_order", "stride", "coverage"]
    required += ["layer_names", "norm_names", "activation_names", "time_names", "forward_stats"]
    missing = [key for key in required if key not in meta]
    if missing:
        raise _corrupt(path, f"its metadata lacks {', '.join(missing)}")
    columns = dict(_ROWS, **(_FORWARD if meta["forward_stats"] else {}))
    absent = [name for name in [*columns, "step_index", "loss_counts"] if name not in contents]
    if absent:
        raise _corrupt(path, f"it lacks the arrays {', '.join(absent)}")
    rows = len(contents["step_index"])
    out = {}
    for name in ("step_index", "loss_counts"):
        array = np.array(contents[name], dtype=np.int64)
        if array.shape != (rows,):
            raise _corrupt(path, f"{name} has shape {array.shape}, expected ({rows},)")
        array.setflags(write=False)
        out[name] = array
    for name, names in columns.items():
        shape = (rows,) if names is None else (rows, len(meta[names]))
        array = contents[name]
        if array.shape != shape or array.dtype.kind != "f":
            raise _corrupt(path, f"{name} has shape {array.shape}, expected {shape}")
        out[name] = _read_only(array)
    return out


def _tag(prefix: str, name: str) -> str:
    return f"{prefix}/{name or 'model'}"


def to_tensorboard(monitor_or_record, log_dir) -> Path:
    """Write the record as TensorBoard scalars under ``log_dir``; returns ``log_dir``.

    Each stored row is written at its ``step_index``: ``loss``; per layer ``grad_norm/<layer>``,
    ``update_ratio/<layer>`` and ``bias_grad_norm/<layer>``; per norm module
    ``norm_grad_norm/<norm>``; with forward statistics ``activation_scale/<module>``,
    ``saturation/<module>`` and ``dead_fraction/<module>`` (a layer named "" — a model that is
    itself one layer — is written as "model"). NaN entries of the per-layer series mean "not
    measured" (no gradient, no bias, the first row's update ratio) and are left out; a NaN or inf
    loss is written as it is. Needs the ``tensorboard`` package (``pip install
    gradwatch[tensorboard]``).
    """
    _check_record(monitor_or_record, "monitor_or_record")
    log_dir = _path(log_dir)
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ImportError(
            "to_tensorboard needs the tensorboard package: pip install gradwatch[tensorboard]"
        ) from err
    record = monitor_or_record
    steps = [int(s) for s in record.step_index]
    series = [("loss", None, record.losses, True)]
    for prefix, names, attribute in (
        ("grad_norm", record.layer_names, "grad_norms"),
        ("update_ratio", record.layer_names, "update_ratios"),
        ("bias_grad_norm", record.layer_names, "bias_grad_norms"),
        ("norm_grad_norm", record.norm_names, "norm_grad_norms"),
    ):
        series.append((prefix, names, getattr(record, attribute), False))
    if _forward_recorded(record):
        for name in _FORWARD:
            series.append((name, record.activation_names, getattr(record, name), False))
    writer = SummaryWriter(log_dir=str(log_dir))
    try:
        for prefix, names, values, keep_nan in series:
            if names is None:
                columns = [(prefix, values)]
            else:
                columns = [(_tag(prefix, n), values[:, k]) for k, n in enumerate(names)]
            for tag, column in columns:
                for step, value in zip(steps, column.tolist(), strict=True):
                    if keep_nan or not math.isnan(value):
                        writer.add_scalar(tag, value, global_step=step)
        writer.flush()
    finally:
        writer.close()
    return log_dir
