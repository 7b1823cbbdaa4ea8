"""How a signal and its gradient travel through a network, measured: per-layer forward and
backward scales (notebook 06), the first/last weight-gradient ratio, the spread of each layer's
inputs before and after a norm layer, and the gradient reaching each hidden representation of a
plain or residual stack (notebook 07). Measurements that must resolve tiny numbers run on a
float64 copy of the model; the model itself is never changed.
"""

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch
from torch import nn

from helpers import _validate
from helpers.data import toy_regression
from helpers.models import linear_layers, mlp
from helpers.monitor import activation_modules, gradient_profile

# --- measuring a real network, layer by layer ----------------------------------------------------


@dataclass(frozen=True)
class LayerScales:
    """One forward/backward pass, per nn.Linear layer (first first, output layer last).

    forward     RMS of the layer's output z = Wa + b over batch and units (its std when zero-mean).
    backward    RMS of ∂L/∂z, the back-propagated gradient Glorot & Bengio plot (NaN without y).
    weight_grad ‖∂L/∂W‖₂ (NaN without y): helpers.monitor.gradient_profile's number.
    """

    names: list[str]
    forward: np.ndarray
    backward: np.ndarray
    weight_grad: np.ndarray


def _linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError(f"model has no nn.Linear layer ({type(model).__name__})")
    return found


def _rms(t: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(t, dtype=torch.float64) / math.sqrt(max(t.numel(), 1)))


def layer_scales(model: nn.Module, x, y=None, loss_fn=None) -> LayerScales:
    """Measure the per-layer forward and backward scales of ``model`` on the batch ``x``.

    With ``y`` (and ``loss_fn``, default ``nn.MSELoss()``) the backward scales are measured too.
    Works on a copy of the model: its weights, gradients, buffers and hooks are untouched.
    """
    model = copy.deepcopy(model)
    layers = _linears(model)
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(x).to(dtype)
    outputs: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for _, m in layers]
    try:
        with torch.enable_grad():
            prediction = model(x)
    finally:
        for handle in handles:
            handle.remove()
    forward = np.array([_rms(z.detach()) for z in outputs])
    nan = np.full(len(layers), np.nan)
    if y is None:
        return LayerScales([n for n, _ in layers], forward, nan, nan.copy())
    y = torch.as_tensor(y).to(dtype)
    if prediction.shape != y.shape and loss_fn is None:
        raise ValueError(
            f"y has shape {tuple(y.shape)}, the model's output {tuple(prediction.shape)}"
        )
    loss = (loss_fn or nn.MSELoss())(prediction, y)
    weights = [m.weight for _, m in layers]
    grads = torch.autograd.grad(loss, outputs + weights)
    backward = np.array([_rms(g) for g in grads[: len(layers)]])
    weight_grad = np.array(
        [float(torch.linalg.vector_norm(g, dtype=torch.float64)) for g in grads[len(layers) :]]
    )
    return LayerScales([n for n, _ in layers], forward, backward, weight_grad)


def gradient_flow(
    name: str,
    depth: int,
    *,
    width: int = 64,
    init: str = "he",
    scale: float | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    n: int = 256,
) -> np.ndarray:
    """Per-layer weight-gradient norms, shape (len(seeds), depth + 1), of
    ``mlp(depth, width, activation=name, init=init, scale=scale, seed=s)`` on
    ``toy_regression(n)`` with MSE: ``helpers.monitor.gradient_profile`` once per seed."""
    x, y = toy_regression(n, seed=0)
    rows = [
        gradient_profile(mlp(depth, width, activation=name, init=init, scale=scale, seed=s), x, y)
        for s in seeds
    ]
    return np.array(rows)


# --- the first/last ratio -------------------------------------------------------------------------


def first_last_ratio(model: nn.Module, x, y) -> float:
    """‖∂L/∂W_first‖ / ‖∂L/∂W_last‖: the weight-gradient norm of the first hidden layer over that
    of the last hidden layer, for the MSE loss on (x, y). It measures how much of the gradient
    survives the trip down the hidden stack: 1 means none is lost, 1e-12 means it vanished.

    The output layer is left out on purpose: it is linear, and its gradient grows with the size
    of the last hidden representation, not with what the stack does to the gradient. (For a
    single hidden layer, first = last and the ratio is 1.)

    Computed on a float64 copy of ``model`` (via ``helpers.monitor.gradient_profile``), so that
    norms as small as 1e-60 are measured instead of underflowing to 0 as float32 would (in float32,
    ``torch.linalg.vector_norm`` of entries below about 1e-23 is 0). The model is not changed.
    """
    profile = gradient_profile(_float64_copy(model), _as64(x), _as64(y))
    return float(profile[0] / profile[-2])


def _float64_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).double()


def _as64(t) -> torch.Tensor:
    return torch.as_tensor(t).detach().double()


# --- batch normalization: what it does to a layer's inputs ---------------------------------------


@dataclass(frozen=True)
class Spread:
    """Per hidden layer (first first):

    linear: the spread over the batch of the Linear layer's output z (standard deviation over the
        examples, averaged over the units): how much z varies with the input.
    activation_input: the same for the activation's input (z after the norm, if any).
    across_units: the spread of z over the units of one example (standard deviation over the
        units, averaged over the examples), the scale a layer norm divides by.
    """

    linear: np.ndarray
    activation_input: np.ndarray
    across_units: np.ndarray


def preactivation_spread(model: nn.Module, x) -> Spread:
    """How much each hidden unit's input varies from example to example, before and after the
    norm layer. Batch normalization (Ioffe & Szegedy 2015, Algorithm 1) sets
    ẑ = (z − mean_batch(z)) / √(var_batch(z) + ε), then γẑ + β; with γ = 1, β = 0 at the start,
    every unit's input has batch standard deviation ≈ 1 however small the weights are.

    Runs one forward pass of ``x`` through a float64 copy of ``model`` (in its current mode;
    BatchNorm in training mode uses the batch's statistics), so the model is untouched.
    """
    probe = _float64_copy(model)
    hidden = [layer for layer in linear_layers(probe)][:-1]
    acts = [module for _, module, _ in activation_modules(probe)]
    seen: dict = {"linear": [], "act": []}

    def keep(kind, take_input):
        def hook(module, inputs, output):
            seen[kind].append((inputs[0] if take_input else output).detach())

        return hook

    handles = [h.register_forward_hook(keep("linear", False)) for h in hidden]
    handles += [a.register_forward_hook(keep("act", True)) for a in acts]
    try:
        with torch.no_grad():
            probe(_as64(x))
    finally:
        for handle in handles:
            handle.remove()

    def spread(tensors, dim=0):
        return np.array([float(t.std(dim=dim, correction=0).mean()) for t in tensors])

    return Spread(spread(seen["linear"]), spread(seen["act"]), spread(seen["linear"], dim=1))


# Next to the sigmoid's output of 0.5, float64's spacing is 2^-53 ≈ 1.1e-16: the outputs of a
# layer whose input spread is below this differ only by rounding, so such a spread is noise.
RESOLUTION = 1e-16


def format_spread(value: float, floor: float = RESOLUTION) -> str:
    """A spread as ``'6.5e-03'``, or ``'<1e-16'`` when it is below ``floor`` (exact zeros
    included): below float64's resolution next to 0.5 the digits are rounding noise that changes
    with the CPU and BLAS build, and only the bound is worth printing."""
    value = float(value)
    floor = _validate.positive(floor, "floor")
    if math.isnan(value) or value < 0:
        raise ValueError(f"a spread is a nonnegative number, got {value!r}")
    return f"{value:.1e}" if value >= floor else f"<{floor:.0e}"


def weight_gradient_after_scaling(model: nn.Module, layer: int, factor: float, x, y) -> float:
    """‖∂L/∂W_layer‖ after multiplying W_layer by ``factor``, over ‖∂L/∂W_layer‖ before (float64
    copies; ``layer`` counts the Linear layers from 0).

    Behind a batch norm the layer is scale-invariant: BN(c·Wx) = BN(Wx), so the loss does not
    change and the gradient scales as 1/c (Ioffe & Szegedy 2015, sec. 3.3). Without a norm the
    ratio depends on the network.
    """
    factor = _validate.positive(factor, "factor")
    layers = linear_layers(model)
    if isinstance(layer, bool) or not isinstance(layer, Integral) or not 0 <= layer < len(layers):
        raise ValueError(f"layer must be an integer in [0, {len(layers) - 1}], got {layer!r}")
    before = gradient_profile(_float64_copy(model), _as64(x), _as64(y))[layer]
    scaled = _float64_copy(model)
    with torch.no_grad():
        linear_layers(scaled)[layer].weight.mul_(factor)
    after = gradient_profile(scaled, _as64(x), _as64(y))[layer]
    return float(after / before)


# --- residual connections: the identity path -----------------------------------------------------


def hidden_outputs(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules whose outputs are the hidden representations x_1 .. x_depth of an
    ``helpers.models.mlp``: ``act1`` then ``act2``.. (plain) or ``block2``.. (residual)."""
    found = [
        (name, module)
        for name, module in model.named_children()
        if name.startswith("act") or name.startswith("block")
    ]
    if not found:
        raise ValueError(
            "model has no hidden layers named act<i> or block<i>; build it with helpers.models.mlp"
        )
    return found


def last_hidden_spread(model: nn.Module, x) -> float:
    """How much of the input reaches the top: the standard deviation over the examples of the
    last hidden representation x_depth (``hidden_outputs``), averaged over its units, from one
    forward pass of a float64 copy of ``model``."""
    probe = _float64_copy(model)
    seen: list = []
    handle = hidden_outputs(probe)[-1][1].register_forward_hook(
        lambda module, inputs, out: seen.append(out.detach())
    )
    try:
        with torch.no_grad():
            probe(_as64(x))
    finally:
        handle.remove()
    return float(seen[0].std(dim=0, correction=0).mean())


def representation_gradients(model: nn.Module, x, y) -> np.ndarray:
    """‖∂L/∂x_l‖ for each hidden representation x_1 .. x_depth (first first), MSE loss, float64.

    In a plain stack x_(l+1) = f(W x_l) and ∂L/∂x_l = ∂L/∂x_(l+1) · diag(f'(z)) W: a product
    whose factors shrink it layer by layer. In a residual block x_(l+1) = x_l + f(W x_l), so
    ∂L/∂x_l = ∂L/∂x_(l+1) · (I + diag(f'(z)) W): the identity term passes ∂L/∂x_(l+1) through
    unchanged however small the second term is (He, Zhang, Ren & Sun 2016).
    """
    probe = _float64_copy(model)
    outputs: list = []
    handles = [
        module.register_forward_hook(lambda m, i, out: outputs.append(out))
        for _, module in hidden_outputs(probe)
    ]
    try:
        with torch.enable_grad():
            loss = nn.functional.mse_loss(probe(_as64(x)), _as64(y))
            grads = torch.autograd.grad(loss, outputs)
    finally:
        for handle in handles:
            handle.remove()
    return np.array([float(torch.linalg.vector_norm(g)) for g in grads])


def weight_gradients(model: nn.Module, x, y) -> list[torch.Tensor]:
    """∂L/∂W of every Linear layer (first first), MSE loss, in the model's own dtype (float32
    for the course's models), computed without touching the model's ``.grad`` fields."""
    weights = [layer.weight for layer in linear_layers(model)]
    with torch.enable_grad():
        loss = nn.functional.mse_loss(model(torch.as_tensor(x)), torch.as_tensor(y))
        return [g.detach() for g in torch.autograd.grad(loss, weights)]


def unchanged_fractions(model: nn.Module, start: list[torch.Tensor]) -> np.ndarray:
    """Per Linear layer, the fraction of weights bit-for-bit equal to ``start`` (their values
    before training)."""
    return np.array(
        [
            float((layer.weight.detach() == w0).double().mean())
            for layer, w0 in zip(linear_layers(model), start, strict=True)
        ]
    )
