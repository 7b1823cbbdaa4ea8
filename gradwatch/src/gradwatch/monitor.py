"""A monitor for any training loop: per-layer gradient norms, update ratios and the loss.

Nothing here changes the model it looks at, and hooks remove themselves (fastai-style, as a
context manager).
"""

import math
from numbers import Real

import numpy as np
import torch
from torch import nn

from gradwatch.forward import _ActivationHooks
from gradwatch.layers import _tracked_or_raise, layer_weights


def snapshot_weights(model: nn.Module) -> list[torch.Tensor]:
    """A detached copy of each tracked layer's weights (flattened into one vector per layer)."""
    return [
        torch.cat([w.detach().reshape(-1) for w in layer_weights(layer)]).clone()
        for _, layer in _tracked_or_raise(model)
    ]


def relative_change(model: nn.Module, snapshot: list[torch.Tensor]) -> np.ndarray:
    """‖W_now − W_then‖ / ‖W_then‖ per tracked layer, against a :func:`snapshot_weights` copy."""
    now = snapshot_weights(model)
    if [a.shape for a in snapshot] != [b.shape for b in now]:
        raise ValueError("snapshot does not match the model's tracked layers")
    return np.array(
        [
            float(torch.linalg.vector_norm(b.double() - a.double()))
            / float(torch.linalg.vector_norm(a.double()))
            for a, b in zip(snapshot, now, strict=True)
        ],
        dtype=np.float64,
    )


def _loss_value(loss) -> float:
    """The loss as a float: a one-element tensor or a real number; anything else is refused."""
    if torch.is_tensor(loss):
        if loss.numel() != 1:
            raise ValueError(
                f"loss must be a scalar (one element), got a tensor of shape {tuple(loss.shape)}; "
                "pass the reduced loss, e.g. loss.mean()"
            )
        return float(loss.detach())
    if isinstance(loss, bool) or not isinstance(loss, Real):
        raise TypeError(
            f"loss must be the step's loss, a scalar tensor or a number, got {loss!r} "
            f"({type(loss).__name__})"
        )
    return float(loss)


def _divide(a: float, b: float) -> float:
    """a / b with IEEE semantics (x/0 = ±inf, 0/0 = NaN) instead of ZeroDivisionError."""
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.inf
    return a / b


class GradientMonitor:
    """Records per-layer gradient norms, update ratios and the loss at every ``record`` call.

    Works with any ``nn.Module`` and any training loop::

        monitor = GradientMonitor(model)        # or: with GradientMonitor(model, ...) as monitor:
        for step in range(steps):
            opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward()
            monitor.record(loss)                 # after backward, before the optimizer step
            opt.step()

    Attributes (numpy arrays, one row per ``record`` call):

    - ``layer_names``: the tracked layers (see :func:`tracked_layers`), first layer first.
    - ``losses`` (steps,): the loss; NaN and inf are recorded, never raised.
    - ``grad_norms`` (steps, layers): ‖∂L/∂W‖₂ at record time; 0 where a layer's ``.grad`` is
      None (the loss did not reach it), NaN for frozen weights (``requires_grad=False``).
    - ``update_ratios`` (steps, layers): ‖W_k − W_(k−1)‖ / ‖W_(k−1)‖ between consecutive record
      calls, i.e. the relative size of the update the optimizer made; row 0 is NaN.
    - with ``forward_stats=True`` (hooks on nn.Sigmoid/Tanh/ReLU/LeakyReLU/ELU/GELU/SELU, removed
      by ``close()`` or on leaving the ``with`` block): ``activation_names``, ``saturation``
      (steps, activations; fraction of |z| beyond ``SATURATION_THRESHOLDS``, NaN for activations
      that do not saturate) and ``dead_fraction`` (units with output exactly 0 for the whole
      batch; ReLU/LeakyReLU/ELU, NaN elsewhere). They describe the latest forward pass that built
      a graph before the record call.

    Memory: a few floats per step and layer, plus one copy of the weights for the update ratios.
    """

    def __init__(self, model: nn.Module, *, forward_stats: bool = False):
        layers = _tracked_or_raise(model)
        self.model = model
        self.layer_names = [name for name, _ in layers]
        groups = [layer_weights(layer) for _, layer in layers]
        self._params = [w for group in groups for w in group]
        self._weights = [w.detach() for w in self._params]
        counts = np.cumsum([0] + [len(g) for g in groups])
        self._layer_tensors = [
            list(range(a, b)) for a, b in zip(counts[:-1], counts[1:], strict=True)
        ]
        self._previous = [w.clone() for w in self._weights]
        self._layer_of = [k for k, idx in enumerate(self._layer_tensors) for _ in idx]
        self._one_tensor_per_layer = all(len(idx) == 1 for idx in self._layer_tensors)
        self._previous_norms = None  # per-layer ‖W‖ at the previous record
        self._losses: list[float] = []
        self._grad_rows: list[list[float]] = []
        self._ratio_rows: list[list[float]] = []
        self._forward_rows: list[np.ndarray] = []
        self._hooks = _ActivationHooks(model) if forward_stats else None
        self.activation_names = self._hooks.names if self._hooks else []

    # -- recording --

    def _per_layer(self, norms: list[float]) -> list[float]:
        """Per-layer norms from per-tensor norms: √(Σ‖t‖²) over a layer's tensors (an RNN layer
        has several; a Linear layer one, and then this is the identity)."""
        if self._one_tensor_per_layer:
            return list(norms)
        return [math.sqrt(sum(norms[i] ** 2 for i in idx)) for idx in self._layer_tensors]

    def record(self, loss) -> None:
        """Store this step's loss, per-layer gradient norms, update ratios (and forward stats).

        One fused ``torch._foreach_norm`` over gradients, weight changes and weights keeps this
        cheap next to a training step (``python -m benchmarks monitor``). A gradient norm that
        float32 cannot square safely (below 1e-17 or above 1e18; deep sigmoid nets reach 1e-20
        and less) is recomputed in float64.
        """
        self._losses.append(_loss_value(loss))
        grads = [p.grad for p in self._params]
        missing = [i for i, g in enumerate(grads) if g is None]
        for i in missing:  # no gradient reached this weight (or it is frozen): it is 0
            grads[i] = torch.zeros_like(self._weights[i])
        first = self._previous_norms is None
        n = len(grads)
        with torch.no_grad():
            if first:
                norms = torch.stack(torch._foreach_norm(grads + self._weights)).tolist()
                norms[n:n] = [math.nan] * n  # no change to measure yet
            else:  # previous ← previous − W: the change (up to sign), then previous ← W
                torch._foreach_sub_(self._previous, self._weights)
                tensors = grads + self._previous + self._weights
                norms = torch.stack(torch._foreach_norm(tensors)).tolist()
            torch._foreach_copy_(self._previous, self._weights)
        for i in range(n):
            if not 1e-17 < norms[i] < 1e18:
                norms[i] = float(torch.linalg.vector_norm(grads[i], dtype=torch.float64))
        grad_row = self._per_layer(norms[:n])
        for i in missing:
            if not self._params[i].requires_grad:  # frozen: no gradient is computed
                grad_row[self._layer_of[i]] = math.nan
        self._grad_rows.append(grad_row)
        weight_row = self._per_layer(norms[-n:])
        if first:
            self._ratio_rows.append([math.nan] * len(self.layer_names))
        else:
            change = self._per_layer(norms[n : 2 * n])
            before = self._previous_norms
            self._ratio_rows.append([_divide(c, b) for c, b in zip(change, before, strict=True)])
        self._previous_norms = weight_row
        if self._hooks is not None:
            self._forward_rows.append(self._hooks.take())

    # -- results --

    @property
    def steps(self) -> int:
        return len(self._losses)

    @property
    def losses(self) -> np.ndarray:
        return np.array(self._losses, dtype=np.float64)

    @property
    def grad_norms(self) -> np.ndarray:
        rows = self._grad_rows
        return np.array(rows, dtype=np.float64).reshape(self.steps, len(self.layer_names))

    @property
    def update_ratios(self) -> np.ndarray:
        rows = self._ratio_rows
        return np.array(rows, dtype=np.float64).reshape(self.steps, len(self.layer_names))

    def _forward(self, row: int) -> np.ndarray:  # rows of _ActivationHooks.take()
        if self._hooks is None:
            raise AttributeError(
                "forward statistics are off; create the monitor with forward_stats=True"
            )
        n = len(self.activation_names)
        if not self._forward_rows:
            return np.empty((0, n))
        return np.array([stats[row] for stats in self._forward_rows], dtype=np.float64)

    @property
    def activation_scale(self) -> np.ndarray:
        """(steps, activations): RMS of each activation module's output."""
        return self._forward(0)

    @property
    def saturation(self) -> np.ndarray:
        return self._forward(1)

    @property
    def dead_fraction(self) -> np.ndarray:
        return self._forward(2)

    def summary(self) -> dict:
        """Steps, last loss, and per layer the median gradient norm and update ratio."""

        def median(rows: np.ndarray) -> list[float]:
            finite = [col[~np.isnan(col)] for col in rows.T]
            return [float(np.median(c)) if c.size else math.nan for c in finite]

        return {
            "steps": self.steps,
            "last_loss": self._losses[-1] if self._losses else math.nan,
            "layer_names": list(self.layer_names),
            "median_grad_norm": median(self.grad_norms),
            "median_update_ratio": median(self.update_ratios),
        }

    # -- cleanup --

    def close(self) -> None:
        """Remove the forward hooks (if any). Recorded data stay readable."""
        if self._hooks is not None:
            self._hooks.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self) -> str:
        return f"GradientMonitor({len(self.layer_names)} layers, {self.steps} steps)"
