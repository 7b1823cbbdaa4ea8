"""A monitor for any training loop: per-layer gradient norms, update ratios and the loss.

Nothing here changes the model it looks at, and hooks remove themselves (fastai-style, as a
context manager). The README's "monitor's API" section is the contract this module implements.
"""

import math
from numbers import Real

import numpy as np
import torch
from torch import nn

from gradwatch import _checks
from gradwatch.forward import _ActivationHooks
from gradwatch.layers import (
    ForwardOrder,
    _tracked_or_raise,
    in_data_flow_order,
    layer_weights,
    parameter_groups,
    warn,
)
from gradwatch.store import RowStore
from gradwatch.through_time import TimeHooks, recurrent_modules

DEFAULT_EVERY = 10
DEFAULT_CAPACITY = 8192
# A weight tensor with more entries than twice this has its update ratio measured on an evenly
# spaced sample of about this many entries, in blocks of 16 (64 bytes of float32: the sample
# touches 1/16 of the tensor's cache lines, where one entry in every k would touch them all).
RATIO_SAMPLE = 4096
RATIO_BLOCK = 16


def _ratio_stride(weight: torch.Tensor, embedding: bool) -> int | None:
    """None (read the whole tensor) or the step s, in blocks, of the sample
    :func:`_ratio_sample` reads: about RATIO_SAMPLE entries (a third to three times as many
    for small tensors), s the step nearest n / RATIO_SAMPLE that is coprime with the number of
    blocks per row, so that the sample visits every row and every column evenly.
    ‖ΔW_S‖/‖W_S‖ over such a sample estimates ‖ΔW‖/‖W‖ within a few percent for the dense
    updates of SGD and Adam (tested against the exact ratio). Embeddings (judged per moved row)
    and non-contiguous tensors are read whole."""
    n = weight.numel()
    if embedding or n <= 2 * RATIO_SAMPLE or not weight.is_contiguous():
        return None
    blocks_per_row = max(1, n // weight.shape[0] // RATIO_BLOCK)
    target = n // RATIO_SAMPLE
    # the nearest step coprime with the row: target, target + 1, target − 1, target + 2, ...
    nearby = (target + d * sign for d in range(target) for sign in (1, -1))
    return next(s for s in nearby if s >= 1 and math.gcd(s, blocks_per_row) == 1)


def _ratio_sample(weight: torch.Tensor, stride: int | None) -> torch.Tensor:
    if stride is None:
        return weight
    whole = weight.numel() - weight.numel() % RATIO_BLOCK
    return weight.view(-1)[:whole].view(-1, RATIO_BLOCK)[::stride]


def snapshot_weights(model: nn.Module) -> list[torch.Tensor]:
    """A detached copy of each tracked layer's weights (flattened into one vector per layer)."""
    return [
        torch.cat([w.detach().reshape(-1) for w in layer_weights(layer)]).clone()
        for _, layer in _tracked_or_raise(model)
    ]


def relative_change(model: nn.Module, snapshot: list[torch.Tensor]) -> np.ndarray:
    """‖W_now − W_then‖ / ‖W_then‖ per tracked layer, against a :func:`snapshot_weights` copy.

    A layer whose snapshot is all zeros has change inf (0 if it is still all zeros)."""
    now = snapshot_weights(model)
    if not isinstance(snapshot, list | tuple) or not all(torch.is_tensor(a) for a in snapshot):
        raise TypeError(
            "snapshot must be the list of tensors snapshot_weights(model) returned, got "
            f"{type(snapshot).__name__}"
        )
    if [a.shape for a in snapshot] != [b.shape for b in now]:
        raise ValueError(
            f"snapshot does not match the model's tracked layers: its shapes are "
            f"{[tuple(a.shape) for a in snapshot]}, the model's {[tuple(b.shape) for b in now]}"
        )
    change = np.array(
        [
            float(torch.linalg.vector_norm(b.double() - a.double()))
            for a, b in zip(snapshot, now, strict=True)
        ],
        dtype=np.float64,
    )
    then = np.array([float(torch.linalg.vector_norm(a.double())) for a in snapshot])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = change / then
    return np.where((then == 0) & (change == 0), 0.0, ratio)


def _loss_value(loss):
    """The loss as a detached 0-d float32/64 tensor (no host synchronisation) or a float; else an
    error."""
    if torch.is_tensor(loss):
        if loss.numel() != 1:
            raise ValueError(
                f"loss must be a scalar (one element), got a tensor of shape {tuple(loss.shape)}; "
                "pass the reduced loss, e.g. loss.mean()"
            )
        if loss.dtype == torch.bool or loss.is_complex():
            raise TypeError(f"loss must be a real number, got a tensor of dtype {loss.dtype}")
        value = loss.detach()
        value = value.reshape(()) if value.dim() else value
        return value if value.dtype in (torch.float32, torch.float64) else value.float()
    if isinstance(loss, bool) or not isinstance(loss, Real):
        raise TypeError(
            f"loss must be the step's loss, a scalar tensor or a number, got {loss!r} "
            f"({type(loss).__name__})"
        )
    return float(loss)


def _host_norms(tensors: list[torch.Tensor]) -> np.ndarray:
    """``torch._foreach_norm`` of the tensors as a float64 host array; float16 and bfloat16
    tensors are accumulated in float32 (in their own type a norm above 65504 or 3e38 overflows
    and a small one loses most of its digits)."""
    low = [t.dtype in (torch.float16, torch.bfloat16) for t in tensors]
    if not any(low):
        norms = torch._foreach_norm(tensors)
    else:
        wide = [t for t, h in zip(tensors, low, strict=True) if not h]
        half = [t for t, h in zip(tensors, low, strict=True) if h]
        wide = iter(torch._foreach_norm(wide) if wide else [])
        half = iter(torch._foreach_norm(half, 2, dtype=torch.float32))
        norms = [next(half) if h else next(wide) for h in low]
    if len({n.dtype for n in norms}) > 1:  # e.g. float64 weights beside float32 ones
        norms = [n.to(torch.float64) for n in norms]
    return torch.stack(norms).cpu().numpy().astype(np.float64)


def _norms(tensors: list[torch.Tensor]) -> np.ndarray:
    """‖t‖₂ of each tensor, computed in float32 (many times faster than in float64) and copied
    to the host as float64: that copy is the one host synchronisation of a measured step. A norm
    float32 cannot square safely (below 1e-15, where the squares of the entries underflow, or
    above 1e18; deep sigmoid nets reach 1e-20 and less) is recomputed on the tensor scaled by
    2⁶⁴ or 2⁻⁶⁴, and in float64 if even that is out of range."""
    norms = _host_norms(tensors)
    for factor in (2.0**64, 2.0**-64):
        index = np.flatnonzero((norms < 1e-15) if factor > 1 else (norms > 1e18)).tolist()
        if not index:
            continue
        scaled = torch._foreach_mul([tensors[i] for i in index], factor)
        again = _host_norms(scaled)
        again /= factor
        if (((again < 1e-15) | (again > 1e18)) & (again != 0)).any():
            exact = torch._foreach_norm([tensors[i] for i in index], 2, dtype=torch.float64)
            again = torch.stack(exact).cpu().numpy()
        norms[index] = again
    return norms


def _check_scaler(scaler) -> None:
    if scaler is not None and not (hasattr(scaler, "get_scale") and hasattr(scaler, "is_enabled")):
        raise TypeError(
            f"scaler must be a torch.amp.GradScaler (or None), got {type(scaler).__name__}"
        )


def _grad_scale(scaler) -> float:
    """1 / the scale the gradients carry: GradScaler's current scale, or 1 if it is disabled or
    ``unscale_`` was already called for this step. ``get_scale()`` copies the scale to the host,
    so this is read at measured steps only."""
    if scaler is None or not scaler.is_enabled():
        return 1.0
    states = getattr(scaler, "_per_optimizer_states", {})
    if any(getattr(s.get("stage"), "name", "") == "UNSCALED" for s in states.values()):
        return 1.0  # scaler.unscale_(optimizer) already divided the gradients
    return 1.0 / scaler.get_scale()


class GradientMonitor:
    """Records per-layer gradient norms, update ratios and the loss (see the README).

    ``GradientMonitor(model, every=10, forward_stats=False, capacity=8192)``; call
    ``record(loss)`` once per optimizer step, after backward and before ``optimizer.step()``.
    Gradients are measured at steps 0, every, 2·every, ...; between them ``record`` only adds the
    loss to a running sum. Each measured step is one row of ``grad_norms`` (rows, layers),
    ``update_ratios``, ``bias_grad_norms``, ``norm_grad_norms`` (rows, norms), ``losses`` (the
    mean loss since the previous row) and ``step_index`` (the step of each row); with
    ``forward_stats`` also ``activation_scale``, ``saturation`` and ``dead_fraction``.

    Layers are the modules that own a weight matrix, in the order the first forward pass after
    the monitor's creation reaches them (``layer_order``); the order is fixed at the first
    ``record``. A gradient that is None is NaN ("no gradient"), never 0.

    Memory: float32 rows, at most ``capacity`` of them (older rows thinned, ``store.stride``),
    plus one copy of what the update ratios read of the weights (``weight_copy_bytes``: each
    tensor whole, or a sample of a large one, see :func:`_ratio_stride`).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        every: int = DEFAULT_EVERY,
        forward_stats: bool = False,
        capacity: int = DEFAULT_CAPACITY,
    ):
        groups = parameter_groups(model, trainable_only=True)
        if not any(g.is_layer for g in groups):
            _tracked_or_raise(model)  # the clear error for a model without weight matrices
            raise ValueError(
                "model has no trainable weight matrix: every layer has requires_grad=False"
            )
        if not isinstance(forward_stats, bool | np.bool_):
            raise TypeError(f"forward_stats must be True or False, got {forward_stats!r}")
        self.every = _checks.positive_int(every, "every")
        self.capacity = _checks.positive_int(capacity, "capacity")
        if self.capacity < 16:
            raise ValueError(f"capacity must be at least 16 rows, got {capacity}")
        self.model = model
        self._groups = groups
        self._order = ForwardOrder(model)
        self.layer_order = "registration"
        self._columns_from(groups)
        self._hooks = _ActivationHooks(model, at_once=True) if forward_stats else None
        self.activation_names = self._hooks.names if self._hooks else []
        if forward_stats and not self.activation_names:
            warn(
                "forward_stats=True, but the model has no activation module (nn.ReLU, "
                "nn.Sigmoid, ...): activations applied as functions (F.relu, torch.tanh, inside "
                "nn.TransformerEncoderLayer) cannot be hooked, so no forward statistics are kept"
            )
        self._time = TimeHooks(model) if recurrent_modules(model) else None
        self.time_names = self._time.names if self._time else []
        self._store = None
        self._loss_sum = 0.0
        self._loss_count = 0
        self._previous = None  # what _read_weights read at the previous call
        self._layout = self._stride_layout = None
        self._before = None  # ‖W‖ per layer at the previous call
        self._strides: list = []
        self._samples: dict = {}  # index in _weights → buffer of its sample
        self._views: list = []  # the samples as views of the parameters
        self._warned: set = set()
        self._index_cache: dict = {}
        self.calls = 0
        self.overflow_steps = 0

    # -- columns --

    def _columns_from(self, groups) -> None:
        """Fix the column order: layers (data-flow order), then norm groups."""
        layers = [g for g in groups if g.is_layer]
        norms = [g for g in groups if not g.is_layer]
        self.layer_names = [g.name for g in layers]
        self.norm_names = [g.name for g in norms]
        n_layers = len(layers)
        # Parameter lists in column order, with the column each reads.
        self._weights = [p for g in layers for _, p in g.weights]
        self._weight_col = [k for k, g in enumerate(layers) for _ in g.weights]
        others = [(k, p) for k, g in enumerate(layers) for _, p in g.others]
        others += [(n_layers + k, p) for k, g in enumerate(norms) for _, p in g.others]
        self._others = [p for _, p in others]
        self._other_col = [k for k, _ in others]
        self._names = {}
        for g in layers + norms:
            for pname, p in g.weights + g.others:
                self._names[id(p)] = f"{g.name}.{pname}" if g.name else pname
        self._embedding_cols = [
            k for k, g in enumerate(layers) if isinstance(g.module, nn.Embedding)
        ]
        self._embedding_tensors = [  # (index in _weights, layer column)
            (i, k) for i, k in enumerate(self._weight_col) if k in self._embedding_cols
        ]

    def _fix_order(self) -> None:
        """At the first record: order the layers as the forward pass reached them."""
        order = self._order
        order.close()
        if order.order:
            self.layer_order = "forward"
            self._columns_from(in_data_flow_order(self._groups, order))
        else:
            warn(
                "GradientMonitor saw no forward pass between its creation and the first "
                "record(): layers are in registration order, which may not be the order the "
                "data flows (create the monitor before the first forward pass)"
            )
        self._order = None

    def coverage(self) -> dict[str, str]:
        """Each tracked parameter's name → where it is read: "layer <name>", "bias of <name>" or
        "norm <name>"."""
        out = {}
        n = len(self.layer_names)
        for p, k in zip(self._weights, self._weight_col, strict=True):
            out[self._names[id(p)]] = f"layer {self.layer_names[k]}"
        for p, k in zip(self._others, self._other_col, strict=True):
            where = f"bias of {self.layer_names[k]}" if k < n else f"norm {self.norm_names[k - n]}"
            out[self._names[id(p)]] = where
        return out

    # -- recording --

    def record(self, loss, *, scaler=None) -> None:
        """Count one optimizer step; at measured steps store a row (see the class docstring).

        Call after the backward pass that completes the step's gradient (the last micro-batch's
        under gradient accumulation) and before ``optimizer.step()``. Under
        ``torch.amp.GradScaler`` pass ``scaler=``: the gradients are divided by its scale unless
        ``scaler.unscale_(optimizer)`` was called already; a step whose gradients overflowed is
        not stored (``overflow_steps`` counts it).
        """
        value = _loss_value(loss)
        _check_scaler(scaler)
        if self._order is not None:
            self._fix_order()
        step = self.calls
        self.calls += 1
        self._loss_sum = value if self._loss_count == 0 else self._loss_sum + value
        self._loss_count += 1
        current = before = None  # what this call's row read of the weights, ‖W‖ per layer
        if step % self.every == 0:
            current, before = self._measure(step, _grad_scale(scaler), scaler is not None)
        hooks = [h for h in (self._hooks, self._time) if h is not None]
        if (step + 1) % self.every == 0:  # the next call is measured: prepare for it
            self._snapshot(current, before)
            for h in hooks:
                h.attach()
        else:
            for h in hooks:
                h.close()

    def _snapshot(self, current: list | None, before: torch.Tensor | None) -> None:
        """Keep what the update ratios read of the weights now, and ‖W‖ per layer (``before``,
        measured with them when this call's row read them; otherwise measured here)."""
        if before is None or not self._same_layout(self._weights):
            current = self._read_weights()
            before = self._layer_norms(_norms(current))
        with torch.no_grad():
            if self._previous is None or not self._same_layout(self._weights):
                self._previous = [w.clone(memory_format=torch.contiguous_format) for w in current]
                self._layout = self._layout_of(self._weights)
            else:
                torch._foreach_copy_(self._previous, current)
        self._before = before

    def _layer_norms(self, norms: np.ndarray) -> np.ndarray:
        """Per layer √Σ‖t‖² over its weight tensors, from the norms of the tensors."""
        return np.sqrt(np.bincount(self._weight_col, norms**2, minlength=len(self.layer_names)))

    def _read_weights(self) -> list[torch.Tensor]:
        """What the update ratios read of each weight tensor: the tensor, or its evenly spaced
        sample (:func:`_ratio_stride`; the steps are fixed per layout) copied into a contiguous
        buffer (norms of strided views run several times slower)."""
        weights = [p.detach() for p in self._weights]
        layout = self._layout_of(weights)
        key = (layout, [w.data_ptr() for w in weights])
        if self._stride_layout != key:
            self._stride_layout = key
            embedding = [k in self._embedding_cols for k in self._weight_col]
            self._strides = [_ratio_stride(w, e) for w, e in zip(weights, embedding, strict=True)]
            sampled = [i for i, s in enumerate(self._strides) if s is not None]
            self._views = [_ratio_sample(weights[i], self._strides[i]) for i in sampled]
            self._samples = {
                i: torch.empty_like(v, memory_format=torch.contiguous_format)
                for i, v in zip(sampled, self._views, strict=True)
            }
        if self._samples:  # the views stay valid while the parameters keep their storage
            with torch.no_grad():
                torch._foreach_copy_(list(self._samples.values()), self._views)
        return [self._samples.get(i, w) for i, w in enumerate(weights)]

    @staticmethod
    def _layout_of(params) -> list:
        return [(p.dtype, p.device, p.shape) for p in params]

    def _same_layout(self, params) -> bool:
        return self._layout == self._layout_of(params)

    def _warn_once(self, key, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warn(message)

    def _measure(self, step: int, inverse_scale: float, scaled: bool) -> tuple:
        """Store this step's row. Returns what the update ratios read of the weights and ‖W‖ per
        layer, for the snapshot of the same call.

        One float32 pass (``_norms``) over every gradient, the change since the snapshot
        (W_(k−1) − W_k, written over the snapshot) and the weights read now; on the host the
        squares are summed per column: [0, 2L + M) gradients of layers, biases and norms, then
        the L layers' change, then their weights."""
        n_layers = len(self.layer_names)
        size = 2 * n_layers + len(self.norm_names)
        self._check_gradients()
        params = self._weights + self._others
        present = [i for i, p in enumerate(params) if p.grad is not None]
        grads = [params[i].grad for i in present]
        grads = [g.coalesce().values() if g.is_sparse else g for g in grads]
        current = self._read_weights()
        change = self._previous if self._ratios_possible() else []
        if change:
            with torch.no_grad():
                torch._foreach_sub_(change, current)
        norms = _norms(grads + change + current)
        if scaled and not np.isfinite(norms[: len(grads)]).all():
            self.overflow_steps += 1  # GradScaler skips this step; so does the record
            return current, None
        index, have = self._columns_index(present, bool(change), size)
        roots = np.sqrt(np.bincount(index, norms**2, minlength=size + 2 * n_layers))
        columns = np.where(have, roots[:size] * inverse_scale, np.nan)
        before = roots[size + n_layers :]
        ratios = np.full(n_layers, np.nan)
        if change:
            ratios = roots[size : size + n_layers] / self._before
            for i, k in self._embedding_tensors:  # an embedding: ‖W‖ over the rows that moved
                moved = change[i].abs().amax(dim=1) > 0
                rows = (current[i] + change[i])[moved]
                before_rows = torch.linalg.vector_norm(rows, dtype=torch.float64)
                ratios[k] = roots[size + k] / float(before_rows)
        loss = float(self._loss_sum) / self._loss_count
        row = [np.array([loss]), columns[:n_layers], ratios, columns[n_layers:]]
        if self._time is not None:
            row.append(np.asarray(self._time.take(), dtype=np.float64))
        if self._hooks is not None:
            row.append(self._hooks.take()[:3].reshape(-1))
            for name in sorted(self._hooks.reused - self._warned):
                self._warn_once(name, _reused_message(name))
        row = np.concatenate(row)
        if self._store is None:
            self._store = RowStore(row.size, capacity=self.capacity)
        self._store.append(step, self._loss_count, row)
        self._loss_sum, self._loss_count = 0.0, 0
        return current, before

    def _columns_index(self, present: list[int], change: bool, size: int) -> tuple:
        """The column of each norm ``_measure`` computes, and which gradient columns have one,
        cached by the pattern of present gradients."""
        key = (tuple(present), change)
        if key not in self._index_cache:
            if len(self._index_cache) >= 8:  # the pattern of missing gradients keeps changing
                self._index_cache.clear()
            n_layers = len(self.layer_names)
            cols = self._weight_col + [n_layers + k for k in self._other_col]
            index = [cols[i] for i in present]
            have = np.zeros(size, dtype=bool)
            have[index] = True
            if change:
                index += [size + k for k in self._weight_col]
            index += [size + n_layers + k for k in self._weight_col]
            self._index_cache[key] = (np.array(index, dtype=np.int64), have)
        return self._index_cache[key]

    def _ratios_possible(self) -> bool:
        if self._previous is None or self._before is None:
            return False
        if self._same_layout(self._weights):
            return True
        weights = self._weights
        self._warn_once(
            ("moved", str(weights[0].dtype), str(weights[0].device)),
            "the model's weights changed dtype or device since the monitor last read them "
            "(model.double(), .to(...)): the monitor follows them; this step's update ratios "
            "are NaN",
        )
        self._previous = None
        return False

    def _check_gradients(self) -> None:
        params = self._weights + self._others
        missing = [p for p in params if p.grad is None]
        if len(missing) == len(params):
            self._warn_once(
                "no gradient",
                "record() found no gradient on any parameter: call it after loss.backward() "
                "and before optimizer.zero_grad()",
            )
            return
        for p in missing:
            name = self._names[id(p)]
            self._warn_once(
                name,
                f"parameter {name!r} has no gradient (.grad is None): the loss does not reach "
                "it (an unused module, a branch run under no_grad, a reparametrization); it is "
                "recorded as NaN, not 0",
            )

    # -- results --

    def _read(self):
        if self._store is None:
            width = self._forward_start() + 3 * len(self.activation_names)
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, width), np.float32)
        return self._store.read()

    def _columns(self, start: int, count: int) -> np.ndarray:
        values = self._read()[2]
        return values[:, start : start + count].astype(np.float64)

    @property
    def steps(self) -> int:
        """The number of stored rows."""
        return len(self._read()[0])

    @property
    def step_index(self) -> np.ndarray:
        """(rows,) the step (0-based count of record calls) each row was measured at."""
        return self._read()[0]

    @property
    def loss_counts(self) -> np.ndarray:
        """(rows,) how many steps' losses each row's loss averages."""
        return self._read()[1]

    @property
    def losses(self) -> np.ndarray:
        return self._columns(0, 1)[:, 0]

    @property
    def grad_norms(self) -> np.ndarray:
        return self._columns(1, len(self.layer_names))

    @property
    def update_ratios(self) -> np.ndarray:
        n = len(self.layer_names)
        return self._columns(1 + n, n)

    @property
    def bias_grad_norms(self) -> np.ndarray:
        n = len(self.layer_names)
        return self._columns(1 + 2 * n, n)

    @property
    def norm_grad_norms(self) -> np.ndarray:
        n = len(self.layer_names)
        return self._columns(1 + 3 * n, len(self.norm_names))

    def _forward(self, which: int) -> np.ndarray:
        if self._hooks is None:
            raise AttributeError(
                "forward statistics are off; create the monitor with forward_stats=True"
            )
        a = len(self.activation_names)
        return self._columns(self._forward_start() + which * a, a)

    def _forward_start(self) -> int:
        return 1 + 3 * len(self.layer_names) + len(self.norm_names) + len(self.time_names)

    @property
    def time_ratios(self) -> np.ndarray:
        """(rows, recurrent layers): median ‖∂L/∂x_t‖ over the first tenth of the input sequence
        ÷ over the last tenth, for each nn.RNN/LSTM/GRU (see :mod:`gradwatch.through_time`)."""
        start = 1 + 3 * len(self.layer_names) + len(self.norm_names)
        return self._columns(start, len(self.time_names))

    @property
    def activation_scale(self) -> np.ndarray:
        """(rows, activations): RMS of each activation module's output."""
        return self._forward(0)

    @property
    def saturation(self) -> np.ndarray:
        return self._forward(1)

    @property
    def dead_fraction(self) -> np.ndarray:
        return self._forward(2)

    @property
    def record_bytes(self) -> int:
        """Memory held by the record itself (not the weight copy)."""
        return 0 if self._store is None else self._store.nbytes

    @property
    def weight_copy_bytes(self) -> int:
        """Memory of the copy the update ratios keep (whole tensors, samples of large ones)."""
        if self._previous is None:
            return 0
        return sum(t.numel() * t.element_size() for t in self._previous)

    def summary(self) -> dict:
        """Rows, last loss, and per layer the median gradient norm and update ratio."""
        return summarize(self)

    # -- cleanup --

    def close(self) -> None:
        """Remove every hook. Recorded data stay readable."""
        for hooks in (self._hooks, self._time):
            if hooks is not None:
                hooks.close()
        if self._order is not None:
            self._order.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self) -> str:
        return (
            f"GradientMonitor({len(self.layer_names)} layers, {self.steps} rows of "
            f"{self.calls} steps, every={self.every})"
        )


def summarize(record) -> dict:
    """Rows, calls, last loss, and per layer the median gradient norm and update ratio of a
    monitor or a saved record (NaN entries, "not measured", left out of the medians)."""

    def median(rows: np.ndarray) -> list[float]:
        finite = [col[~np.isnan(col)] for col in rows.T]
        return [float(np.median(c)) if c.size else math.nan for c in finite]

    losses = record.losses
    return {
        "steps": record.steps,
        "calls": record.calls,
        "last_loss": float(losses[-1]) if losses.size else math.nan,
        "layer_names": list(record.layer_names),
        "median_grad_norm": median(record.grad_norms),
        "median_update_ratio": median(record.update_ratios),
    }


def _reused_message(name: str) -> str:
    return (
        f"activation module {name!r} is called more than once per forward pass: its forward "
        "statistics describe its last call only (give each layer its own activation module)"
    )
