"""Forward statistics of activation modules: output scale, saturated and dead units, slopes.

``GradientMonitor(model, forward_stats=True)`` keeps these per step through forward hooks that
remove themselves; :func:`forward_profile` measures them for one forward pass.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gradwatch.layers import (
    DEAD_UNIT_ACTIVATIONS,
    SATURATION_THRESHOLDS,
    Hooks,
    activation_modules,
)
from gradwatch.profile import _as_input, _forward, _model_dtype, _Preserved


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


class _ActivationHooks(Hooks):
    """Forward hooks on a model's activation modules that keep the latest statistics per module.

    Only forward passes that build a graph (``torch.is_grad_enabled()``) are recorded, so an
    evaluation pass under ``torch.no_grad()`` between backward and record does not overwrite the
    training batch's statistics (unless ``always`` is set). ``slopes`` adds the RMS of f'(z).
    """

    def __init__(
        self, model: nn.Module, always: bool = False, slopes: bool = False, at_once: bool = False
    ):
        found = activation_modules(model)
        self.model = model
        self.names = [name for name, _, _ in found]
        self.kinds = [kind for _, _, kind in found]
        self.modules = [module for _, module, _ in found]
        # Modules of one type with the same settings (e.g. LeakyReLU slope) can share a stack.
        self._module_keys = [(type(m), m.extra_repr()) for m in self.modules]
        self.thresholds = [SATURATION_THRESHOLDS.get(kind) for kind in self.kinds]
        self.latest: list = [None] * len(found)
        self.always = always
        self.slopes = slopes
        # at_once: reduce each call to its three numbers inside the hook and keep no tensors
        # (the monitor); otherwise keep z and a and reduce stacks of them in take() (fewer
        # operations for many small layers, and the slopes need z).
        self.at_once = at_once and not slopes
        self._inputs: dict = {}  # pre-activations of in-place modules, saved before the call
        self._calls = [0] * len(found)
        self.reused: set[str] = set()  # modules seen called more than once in one forward pass
        self.handles = []
        self.attach()

    def _register(self):
        yield self.model.register_forward_pre_hook(self._new_pass)
        for i, module in enumerate(self.modules):
            if getattr(module, "inplace", False):  # e.g. nn.ReLU(inplace=True) overwrites z
                yield module.register_forward_pre_hook(self._pre_hook(i))
            yield module.register_forward_hook(self._hook(i))

    def _new_pass(self, module, inputs):
        self._calls = [0] * len(self._calls)

    def _recording(self) -> bool:
        return self.always or torch.is_grad_enabled()

    def _pre_hook(self, index: int):
        def hook(module, inputs):
            if self._recording() and not (self.at_once and self.thresholds[index] is None):
                self._inputs[index] = inputs[0].detach().clone()

        return hook

    def _hook(self, index: int):
        def hook(module, inputs, output):
            if self._recording():
                z = self._inputs.pop(index, None)
                if z is None and not (self.at_once and self.thresholds[index] is None):
                    z = inputs[0].detach()  # at once, only a saturation count reads z
                if self.at_once:
                    self.latest[index] = self._summary(index, z, output.detach())
                else:
                    self.latest[index] = (z, output.detach())
                self._calls[index] += 1
                if self._calls[index] == 2:  # twice in one forward pass of the model
                    self.reused.add(self.names[index])

        return hook

    def _summary(self, index: int, z: torch.Tensor, a: torch.Tensor) -> tuple:
        """(‖a‖₂, values with |z| beyond the threshold, each unit's largest |a| over the batch,
        number of values, number of units) of one call as tensors kept on the device (None
        where a statistic does not apply); take() turns them into the RMS and the two fractions,
        counting the live units of every call at once. As few operations as possible, since
        this runs inside the forward pass."""
        if a.dim() < 2:
            a = a.reshape(1, -1)  # no batch dimension: one example
        norm = torch.linalg.vector_norm(a, dtype=torch.float32)
        threshold = self.thresholds[index]
        saturated = None if threshold is None else torch.count_nonzero(z.abs() > threshold)
        largest = None
        kind = self.kinds[index]
        if kind in DEAD_UNIT_ACTIVATIONS:  # a unit is dead if its largest |a| is 0
            largest = (a if kind == "relu" else a.abs()).amax(dim=0)  # ReLU's a ≥ 0
        return norm, saturated, largest, a.numel(), a[0].numel()

    def take(self) -> np.ndarray:
        """(4, n_activations) array of the latest rms, saturation, dead fraction, slope RMS; NaN
        where no forward pass was seen since the last take. Resets the latest values.

        Calls of the same module type, parameters and shape are stacked and reduced together
        (one autograd call per group), so a 50-layer MLP costs a handful of tensor operations.
        """
        out = np.full((4, len(self.latest)), np.nan)
        if self.at_once:
            seen = [(i, stats) for i, stats in enumerate(self.latest) if stats is not None]
            norms = [stats[0] for _, stats in seen]
            saturated = [stats[1] for _, stats in seen if stats[1] is not None]
            largest = [stats[2] for _, stats in seen if stats[2] is not None]
            norms = iter(torch.stack(norms).tolist() if norms else [])
            saturated = iter(torch.stack(saturated).tolist() if saturated else [])
            live = iter(torch.stack(torch._foreach_norm(largest, 0)).tolist() if largest else [])
            for i, (_, beyond, top, count, units) in seen:
                out[0, i] = next(norms) / math.sqrt(max(1, count))
                if beyond is not None:
                    out[1, i] = next(saturated) / max(1, count)
                if top is not None:  # the 0-"norm" counts the units whose largest |a| is not 0
                    out[2, i] = (units - next(live)) / max(1, units)
            self.latest = [None] * len(self.latest)
            return out
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


def forward_profile(model: nn.Module, x) -> ForwardProfile:
    """Per-activation-module output scale, saturated fraction, dead fraction and derivative RMS
    for one forward pass of ``x`` (buffers and mode restored, hooks removed afterwards).

    A sigmoid unit counts as saturated when |z| > 5 (σ'(z) < 0.0067, under 2.7% of its peak
    0.25), a tanh unit when |z| > 2.5 (:data:`gradwatch.layers.SATURATION_THRESHOLDS`).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = _as_input(x, "x", _model_dtype(model))
    hooks = _ActivationHooks(model, always=True, slopes=True)
    try:
        with _Preserved(model), torch.no_grad():
            _forward(model, x)
        return hooks.profile()
    finally:
        hooks.close()
