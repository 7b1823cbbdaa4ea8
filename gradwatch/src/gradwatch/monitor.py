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
    """The loss as a detached 0-d tensor (no host synchronisation) or a float; else an error."""
    if torch.is_tensor(loss):
        if loss.numel() != 1:
            raise ValueError(
                f"loss must be a scalar (one element), got a tensor of shape {tuple(loss.shape)}; "
                "pass the reduced loss, e.g. loss.mean()"
            )
        if loss.dtype == torch.bool or loss.is_complex():
            raise TypeError(f"loss must be a real number, got a tensor of dtype {loss.dtype}")
        return loss.detach().reshape(()).to(torch.float64)
    if isinstance(loss, bool) or not isinstance(loss, Real):
        raise TypeError(
            f"loss must be the step's loss, a scalar tensor or a number, got {loss!r} "
            f"({type(loss).__name__})"
        )
    return float(loss)


def _norms(tensors: list[torch.Tensor]) -> torch.Tensor:
    """‖t‖₂ of each tensor as a float64 tensor, computed in float32 (many times faster than in
    float64). A norm float32 cannot square safely (below 1e-15, where the squares of the entries
    underflow, or above 1e18; deep sigmoid nets reach 1e-20 and less) is recomputed on the
    tensor scaled by 2⁶⁴ or 2⁻⁶⁴, and in float64 if even that is out of range. Deciding which is
    the one host synchronisation of a measured step."""
    norms = torch.stack(torch._foreach_norm(tensors)).to(torch.float64)
    for factor in (2.0**64, 2.0**-64):
        unsafe = (norms < 1e-15) if factor > 1 else (norms > 1e18)
        if not bool(unsafe.any()):
            continue
        index = unsafe.nonzero().flatten().tolist()
        scaled = torch._foreach_mul([tensors[i] for i in index], factor)
        again = torch.stack(torch._foreach_norm(scaled)).to(norms) / factor
        exact = (again < 1e-15) | (again > 1e18)
        if bool((exact & (again != 0)).any()):
            again = torch.stack(
                torch._foreach_norm([tensors[i] for i in index], 2, dtype=torch.float64)
            ).to(norms)
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
    plus one copy of the weights for the update ratios (``weight_copy_bytes``).
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
        self._previous = None  # weights at the previous call, for the update ratios
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
        self._loss_sum = self._loss_sum + value
        self._loss_count += 1
        if step % self.every == 0:
            self._measure(step, _grad_scale(scaler), scaler is not None)
        hooks = [h for h in (self._hooks, self._time) if h is not None]
        if (step + 1) % self.every == 0:  # the next call is measured: prepare for it
            self._snapshot()
            for h in hooks:
                h.attach()
        else:
            for h in hooks:
                h.close()

    def _snapshot(self) -> None:
        weights = [p.detach() for p in self._weights]
        with torch.no_grad():
            if self._previous is None or not self._same_layout(weights):
                self._previous = [w.clone() for w in weights]
            else:
                torch._foreach_copy_(self._previous, weights)

    def _same_layout(self, weights) -> bool:
        return all(
            w.dtype == q.dtype and w.device == q.device and w.shape == q.shape
            for w, q in zip(weights, self._previous, strict=True)
        )

    def _warn_once(self, key, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warn(message)

    def _measure(self, step: int, inverse_scale: float, scaled: bool) -> None:
        weights = [p.detach() for p in self._weights]
        device = weights[0].device
        n_layers, n_norms = len(self.layer_names), len(self.norm_names)
        self._check_gradients()
        # One float32 pass over every gradient, and over the previous weights when an update
        # ratio can be measured: columns [0, L) weights, [L, 2L) biases, [2L, 2L + M) norms.
        params = self._weights + self._others
        cols = self._weight_col + [n_layers + k for k in self._other_col]
        present = [i for i, p in enumerate(params) if p.grad is not None]
        grads = [params[i].grad for i in present]
        grads = [g.coalesce().values() if g.is_sparse else g for g in grads]
        previous = self._previous if self._ratios_possible(weights) else []
        norms = _norms(grads + list(previous)) if grads or previous else None
        size = 2 * n_layers + n_norms
        columns = torch.full((size,), torch.nan, dtype=torch.float64, device=device)
        finite = True
        if grads:
            index = self._index(tuple(cols[i] for i in present), device)
            squares = torch.zeros(size, dtype=torch.float64, device=device)
            squares.index_add_(0, index, norms[: len(grads)].to(device) ** 2)
            columns[index] = squares[index].sqrt() * inverse_scale
            if scaled:
                finite = bool(torch.isfinite(norms[: len(grads)]).all())
        if not finite:
            self.overflow_steps += 1  # GradScaler skips this step; so does the record
            return
        ratios = torch.full((n_layers,), torch.nan, dtype=torch.float64, device=device)
        if previous:
            ratios = self._update_ratios(weights, norms[len(grads) :].to(device), device)
        loss = torch.as_tensor(self._loss_sum, dtype=torch.float64, device=device)
        row = [(loss / self._loss_count).reshape(1), columns[:n_layers], ratios]
        row.append(columns[n_layers:])
        if self._time is not None:
            row.append(torch.tensor(self._time.take(), dtype=torch.float64, device=device))
        if self._hooks is not None:
            stats = torch.as_tensor(self._hooks.take()[:3], device=device).reshape(-1)
            row.append(stats)
            for name in sorted(self._hooks.reused - self._warned):
                self._warn_once(name, _reused_message(name))
        row = torch.cat([r.to(torch.float64) for r in row])
        if self._store is None:
            self._store = RowStore(row.numel(), capacity=self.capacity)
        self._store.append(step, self._loss_count, row)
        self._loss_sum, self._loss_count = 0.0, 0

    def _index(self, cols: tuple, device) -> torch.Tensor:
        """The column of each present gradient as a tensor, cached by the pattern of columns."""
        key = (cols, str(device))
        if key not in self._index_cache:
            if len(self._index_cache) >= 8:  # the pattern of missing gradients keeps changing
                self._index_cache.clear()
            self._index_cache[key] = torch.tensor(cols, device=device)
        return self._index_cache[key]

    def _ratios_possible(self, weights) -> bool:
        if self._previous is None:
            return False
        if self._same_layout(weights):
            return True
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

    def _update_ratios(self, weights, before, device) -> torch.Tensor:
        """‖W_k − W_(k−1)‖ / ‖W_(k−1)‖ per layer, given ‖W_(k−1)‖ per weight tensor (``before``);
        leaves the change in ``self._previous`` (the next snapshot overwrites it)."""
        previous = self._previous
        with torch.no_grad():
            torch._foreach_sub_(previous, weights)  # previous ← W_(k−1) − W_k, no allocation
            change = _norms(previous).to(device)
            for k in self._embedding_cols:  # an embedding: ‖W‖ over the rows that moved
                i = self._weight_col.index(k)
                moved = previous[i].abs().amax(dim=1) > 0
                before[i] = torch.linalg.vector_norm(
                    (weights[i] + previous[i])[moved], dtype=torch.float64
                )
        n_layers = len(self.layer_names)
        index = self._index(tuple(self._weight_col), device)
        change_sq = torch.zeros(n_layers, dtype=torch.float64, device=device)
        before_sq = torch.zeros(n_layers, dtype=torch.float64, device=device)
        change_sq.index_add_(0, index, change**2)
        before_sq.index_add_(0, index, before**2)
        return change_sq.sqrt() / before_sq.sqrt()

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
        """Memory of the one copy of the weights the update ratios need."""
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
