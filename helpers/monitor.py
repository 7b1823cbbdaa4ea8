"""Watching gradients and activations inside any ``nn.Module``, layer by layer.

Notebook 03 uses :func:`gradient_profile` and :func:`forward_profile` to show gradients shrinking
(or growing) from the output back to the input; notebook 04 builds :class:`GradientMonitor` into a
training loop and hands it to ``helpers.diagnose``. Nothing here changes the model it looks at:
weights, ``.grad`` fields, buffers and train/eval mode are as they were afterwards, and hooks
remove themselves (fastai-style, as a context manager).

A *tracked layer* is a module that owns a weight matrix the gradient flows through:
``nn.Linear``, ``nn.Conv1d/2d/3d``, ``nn.RNN/LSTM/GRU`` and their ``*Cell`` versions, found in
registration order (``model.named_modules()``), first layer first.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

TRACKED_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase, nn.RNNCellBase)

# Activation modules the forward statistics hook, and the course's name for each (the key into
# helpers.activations' table of constants, e.g. saturation_threshold).
ACTIVATION_MODULES = {
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.ELU: "elu",
    nn.GELU: "gelu",
    nn.SELU: "selu",
}
# Activations whose units can die: output exactly 0 for every input of the batch.
DEAD_UNIT_ACTIVATIONS = ("relu", "leaky_relu", "elu")


# --- finding layers and their weights ------------------------------------------------------------


def tracked_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of every tracked layer in registration order, first layer first.

    Tracked: ``nn.Linear``, ``nn.Conv1d/2d/3d``, ``nn.RNN/LSTM/GRU`` and ``nn.RNNCell/LSTMCell/
    GRUCell``. A module registered twice (weight sharing) appears once.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [(name, m) for name, m in model.named_modules() if isinstance(m, TRACKED_TYPES)]


def layer_weights(layer: nn.Module) -> list[torch.Tensor]:
    """The weight tensors of one tracked layer: ``weight`` for Linear/Conv; every parameter whose
    name starts with "weight" (``weight_ih_l0``, ``weight_hh_l0``, ...) for the RNN family."""
    if isinstance(layer, nn.RNNBase | nn.RNNCellBase):
        return [p for name, p in layer.named_parameters(recurse=False) if name.startswith("weight")]
    return [layer.weight]


def _tracked_or_raise(model) -> list[tuple[str, nn.Module]]:
    layers = tracked_layers(model)
    if not layers:
        raise ValueError(
            f"model has no layer to track: gradient_profile and GradientMonitor look for "
            f"nn.Linear, nn.Conv1d/2d/3d and nn.RNN/LSTM/GRU (or their cells); "
            f"{type(model).__name__} has none"
        )
    return layers


def _norms(tensors: list[torch.Tensor]) -> list[float]:
    """‖t‖₂ of each tensor, accumulated in float64 (float32 squares of gradients below 1e-19
    underflow to 0, and deep sigmoid nets have gradients far smaller than that)."""
    if not tensors:
        return []
    return torch.stack(torch._foreach_norm(tensors, 2, dtype=torch.float64)).tolist()


# --- one forward/backward pass -------------------------------------------------------------------


def _as_input(value, argument: str, dtype: torch.dtype) -> torch.Tensor:
    """A tensor from ``value``; floating values take the model's dtype (integers stay, e.g. class
    labels for CrossEntropyLoss)."""
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{argument} must be a tensor or an array of numbers, got {type(value).__name__}"
        ) from None
    return tensor.to(dtype) if tensor.is_floating_point() else tensor


def _first_output(output):
    """The prediction of ``model(x)``: the first element when a module returns a tuple, as
    ``nn.RNN/LSTM/GRU`` do (output, hidden)."""
    while isinstance(output, tuple | list):
        output = output[0]
    return output


def _model_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


class _Preserved:
    """Context manager: restore ``requires_grad``, buffers (e.g. BatchNorm's running statistics)
    and train/eval mode of ``model`` on exit."""

    def __init__(self, model: nn.Module, weights: list[torch.Tensor] = ()):
        self.model = model
        self.weights = weights

    def __enter__(self):
        self.requires = [w.requires_grad for w in self.weights]
        self.buffers = [(b, b.detach().clone()) for b in self.model.buffers()]
        self.modes = [(m, m.training) for m in self.model.modules()]
        for w in self.weights:
            w.requires_grad_(True)
        return self

    def __exit__(self, *exc):
        for w, flag in zip(self.weights, self.requires, strict=True):
            w.requires_grad_(flag)
        with torch.no_grad():
            for buffer, saved in self.buffers:
                buffer.copy_(saved)
        for module, training in self.modes:
            module.training = training
        return False


def _loss(model: nn.Module, x, y, loss_fn) -> torch.Tensor:
    """Forward pass and loss (inside the caller's grad mode)."""
    output = _first_output(model(x))
    if loss_fn is None:
        if output.shape != y.shape:
            raise ValueError(
                f"y has shape {tuple(y.shape)} but the model's output has shape "
                f"{tuple(output.shape)}; MSELoss needs them equal"
            )
        loss_fn = nn.MSELoss()
    return loss_fn(output, y)


def _gradient_pass(model: nn.Module, x, y, loss_fn) -> np.ndarray:
    """Validate, run one forward/backward pass with autograd.grad, return per-layer norms."""
    layers = _tracked_or_raise(model)
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (e.g. nn.MSELoss()), got {loss_fn!r}")
    dtype = _model_dtype(model)
    x = _as_input(x, "x", dtype)
    y = _as_input(y, "y", dtype)
    groups = [layer_weights(layer) for _, layer in layers]
    weights = [w for group in groups for w in group]
    with _Preserved(model, weights), torch.enable_grad():
        loss = _loss(model, x, y, loss_fn)
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
    present = [g for g in grads if g is not None]
    norms = iter(_norms(present))
    squares = [next(norms) ** 2 if g is not None else 0.0 for g in grads]
    owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    return np.sqrt(np.bincount(owner, weights=squares, minlength=len(groups)))


def gradient_profile(model: nn.Module, x, y, loss_fn=None) -> np.ndarray:
    """‖∂L/∂W‖₂ of every tracked layer for one forward/backward pass, first layer first.

    L = ``loss_fn(model(x), y)``; ``loss_fn`` defaults to ``nn.MSELoss()`` (mean over all
    elements). For an RNN-family layer the norm covers all its ``weight*`` matrices together.
    A module returning a tuple (``nn.LSTM``) is scored on its first element.

    The gradients come from ``torch.autograd.grad``, so nothing is accumulated into ``.grad``:
    the model's weights, ``.grad`` fields, buffers and train/eval mode are untouched (a
    BatchNorm in train mode normalises with batch statistics, as in training, and its running
    statistics are restored). Frozen weights (``requires_grad=False``) are differentiated too.
    A weight the loss does not depend on has gradient 0.
    """
    return _gradient_pass(model, x, y, loss_fn)


def layer_factor(grads) -> float:
    """The average factor by which the gradient norm changes per layer, going down from the
    output layer to layer 2: (‖∂L/∂W_2‖ / ‖∂L/∂W_out‖)^(1/(n − 2)) for n layers, the geometric
    mean of the ratios of neighbouring layers. Layer 1 is left out: its input is the data, not a
    layer of activations, so its gradient sits off the line (see notebook 03).

    For a sigmoid net with small weights N(0, s²) and width n it is ≈ 0.25·s·√n.
    """
    grads = np.asarray(grads, dtype=np.float64)
    if grads.ndim != 1 or grads.size < 3:
        raise ValueError(
            f"grads must be a 1-D profile of at least 3 layers, got shape {grads.shape}"
        )
    if not (grads[1:] > 0).all():
        return 0.0 if grads[1] == 0 else math.nan
    return float((grads[1] / grads[-1]) ** (1.0 / (grads.size - 2)))


# --- forward statistics --------------------------------------------------------------------------


def activation_modules(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """(qualified name, module, course activation name) of every activation module in ``model``
    that the forward statistics hook: nn.Sigmoid/Tanh/ReLU/LeakyReLU/ELU/GELU/SELU."""
    found = []
    for name, module in model.named_modules():
        kind = ACTIVATION_MODULES.get(type(module))
        if kind is not None:
            found.append((name, module, kind))
    return found


def _saturation_thresholds(kinds: list[str]) -> list[float | None]:
    from helpers.activations import saturation_threshold

    return [saturation_threshold(kind) for kind in kinds]


def _unit_stats(module, z: torch.Tensor, a: torch.Tensor, threshold, dead_applies, slopes):
    """Statistics of a stack of activation calls of the same module type and shape, z and a of
    shape (calls, batch, ...): per call, RMS of the output a; fraction of |z| > threshold;
    fraction of units whose output is 0 for the whole batch; and, if ``slopes``, the RMS of
    f'(z) (autograd through ``module.forward``, which skips the hooks). Returns (4, calls)."""
    calls = z.shape[0]
    z2, a2 = z.reshape(calls, -1), a.reshape(calls, -1)
    nan = torch.full((calls,), math.nan, dtype=torch.float64)
    rms = torch.linalg.vector_norm(a2, dim=1, dtype=torch.float64) / math.sqrt(a2.shape[1])
    if threshold is None:
        saturated = nan
    else:
        saturated = torch.count_nonzero(z2.abs() > threshold, dim=1).double() / z2.shape[1]
    if dead_applies:
        units = a.reshape(calls, a.shape[1], -1) if a.dim() > 2 else a.reshape(calls, 1, -1)
        dead = torch.count_nonzero((units == 0).all(dim=1), dim=1).double() / units.shape[2]
    else:
        dead = nan
    slope_rms = nan
    if slopes:
        zg = z2.detach().requires_grad_(True)
        with torch.enable_grad():
            out = module.forward(zg.clone())  # clone: an in-place module may not write to zg
            (slope,) = torch.autograd.grad(out, zg, torch.ones_like(out))
        slope_rms = torch.linalg.vector_norm(slope, dim=1, dtype=torch.float64) / math.sqrt(
            slope.shape[1]
        )
    return torch.stack([rms, saturated, dead, slope_rms])


@dataclass(frozen=True)
class ForwardProfile:
    """Forward statistics of each hooked activation module, first first.

    scale: RMS of the module's output a, √mean(a²), over batch and units.
    saturation: fraction of pre-activations z with |z| beyond the activation's saturation
        threshold (sigmoid 5, tanh 2.5; NaN for activations that do not saturate).
    dead_fraction: fraction of units whose output is exactly 0 for every example of the batch
        (ReLU, Leaky ReLU, ELU; NaN for the others).
    slope_rms: RMS of the derivative f'(z), √mean(f'(z)²). For random weights of scale s and
        width n, the backward signal is multiplied per layer by about s·√n·slope_rms.
    """

    names: list[str]
    kinds: list[str]
    scale: np.ndarray
    saturation: np.ndarray
    dead_fraction: np.ndarray
    slope_rms: np.ndarray


class _ActivationHooks:
    """Forward hooks on a model's activation modules that keep the latest statistics per module.

    Only forward passes that build a graph (``torch.is_grad_enabled()``) are recorded, so an
    evaluation pass under ``torch.no_grad()`` between backward and record does not overwrite the
    training batch's statistics (unless ``always`` is set). ``slopes`` adds the RMS of f'(z).
    """

    def __init__(self, model: nn.Module, always: bool = False, slopes: bool = False):
        found = activation_modules(model)
        self.names = [name for name, _, _ in found]
        self.kinds = [kind for _, _, kind in found]
        self.modules = [module for _, module, _ in found]
        # Modules of one type with the same settings (e.g. LeakyReLU slope) can share a stack.
        self._module_keys = [(type(m), m.extra_repr()) for m in self.modules]
        self.thresholds = _saturation_thresholds(self.kinds)
        self.latest: list = [None] * len(found)
        self.always = always
        self.slopes = slopes
        self._inputs: dict = {}  # pre-activations of in-place modules, saved before the call
        self.handles = []
        for i, module in enumerate(self.modules):
            if getattr(module, "inplace", False):  # e.g. nn.ReLU(inplace=True) overwrites z
                self.handles.append(module.register_forward_pre_hook(self._pre_hook(i)))
            self.handles.append(module.register_forward_hook(self._hook(i)))

    def _recording(self) -> bool:
        return self.always or torch.is_grad_enabled()

    def _pre_hook(self, index: int):
        def hook(module, inputs):
            if self._recording():
                self._inputs[index] = inputs[0].detach().clone()

        return hook

    def _hook(self, index: int):
        def hook(module, inputs, output):
            if self._recording():
                z = self._inputs.pop(index, None)
                z = inputs[0].detach() if z is None else z
                self.latest[index] = (z, output.detach())

        return hook

    def take(self) -> np.ndarray:
        """(4, n_activations) array of the latest rms, saturation, dead fraction, slope RMS; NaN
        where no forward pass was seen since the last take. Resets the latest values.

        Calls of the same module type, parameters and shape are stacked and reduced together
        (one autograd call per group), so a 50-layer MLP costs a handful of tensor operations.
        """
        out = np.full((4, len(self.latest)), np.nan)
        groups: dict = {}
        for i, seen in enumerate(self.latest):
            if seen is not None:
                key = (self._module_keys[i], seen[0].shape, seen[0].dtype)
                groups.setdefault(key, []).append(i)
        for indices in groups.values():
            i = indices[0]
            z = torch.stack([self.latest[j][0] for j in indices])
            a = torch.stack([self.latest[j][1] for j in indices])
            stats = _unit_stats(
                self.modules[i],
                z,
                a,
                self.thresholds[i],
                self.kinds[i] in DEAD_UNIT_ACTIVATIONS,
                self.slopes,
            )
            out[:, indices] = np.array(stats.tolist(), dtype=np.float64)
        self.latest = [None] * len(self.latest)
        return out

    def profile(self) -> ForwardProfile:
        stats = self.take()
        return ForwardProfile(list(self.names), list(self.kinds), *stats)

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def forward_profile(model: nn.Module, x) -> ForwardProfile:
    """Per-activation-module output scale, saturated fraction, dead fraction and derivative RMS
    for one forward pass of ``x`` (buffers and mode restored, hooks removed afterwards).

    A sigmoid unit counts as saturated when |z| > 5 (σ'(z) < 0.0067, under 2.7% of its peak
    0.25), a tanh unit when |z| > 2.5; see ``helpers.activations.saturation_threshold``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = _as_input(x, "x", _model_dtype(model))
    hooks = _ActivationHooks(model, always=True, slopes=True)
    try:
        with _Preserved(model), torch.no_grad():
            model(x)
        return hooks.profile()
    finally:
        hooks.close()


def layer_profile(
    model: nn.Module, x, y, loss_fn=None, *, slopes: bool = True
) -> tuple[np.ndarray, ForwardProfile]:
    """:func:`gradient_profile` and :func:`forward_profile` from one forward/backward pass.
    ``slopes=False`` skips the derivative RMS (``slope_rms`` is then NaN), which saves an
    autograd pass."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    hooks = _ActivationHooks(model, always=True, slopes=slopes)
    try:
        grads = _gradient_pass(model, x, y, loss_fn)
        return grads, hooks.profile()
    finally:
        hooks.close()


# --- how far training moved the weights ----------------------------------------------------------


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


def _divide(a: float, b: float) -> float:
    """a / b with IEEE semantics (x/0 = ±inf, 0/0 = NaN) instead of ZeroDivisionError."""
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.inf
    return a / b


# --- a monitor for any training loop -------------------------------------------------------------


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
      (steps, activations; fraction of |z| beyond ``saturation_threshold``, NaN for activations
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
        self._losses.append(loss.item() if torch.is_tensor(loss) else float(loss))
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
        return np.array(self._grad_rows, dtype=np.float64).reshape(self.steps, -1)

    @property
    def update_ratios(self) -> np.ndarray:
        return np.array(self._ratio_rows, dtype=np.float64).reshape(self.steps, -1)

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
