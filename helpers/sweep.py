"""The first-layer gradient over a whole grid of depths × weight scales, computed in one batch.

Notebook 03 draws the depth × scale map with it. The quantity, exactly: for depth d and scale s,
the network is ``mlp(d, width, activation=..., init="normal", scale=s, bias=False)`` in float64
with weights W_l = s·G_l, where the G_l are fixed standard-normal matrices drawn once from
``seed`` (so every grid point shares the same random directions and differs only in d and s).
The loss is the mean squared error on a fixed batch (:func:`sweep_data`); the map holds
‖∂L/∂W_1‖_F, the first layer's gradient norm. :func:`sweep_model` builds that very network, so
``helpers.monitor.gradient_profile(sweep_model(d, s), *sweep_data())[0]`` is the same number;
:func:`first_layer_gradient_map_naive` computes the map that way, one network at a time.

:func:`scale_statistics` measures, per seed, what notebook 03's table of weight scales shows: the
saturated fraction, the typical slope and the gradient's factor per layer of ``mlp`` networks.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import _validate, data
from helpers.activations import ACTIVATIONS, torch_activation

# Largest number of float64 elements in the batched backward signal at once (about 64 MB);
# scales are processed in chunks below it.
MAX_ELEMENTS = 8_000_000


@dataclass(frozen=True)
class DepthScaleMap:
    """``grad[i, j]`` = ‖∂L/∂W_1‖ for ``depths[i]`` hidden layers and weight scale ``scales[j]``."""

    depths: np.ndarray
    scales: np.ndarray
    grad: np.ndarray
    width: int
    activation: str


# --- the fixed ingredients -----------------------------------------------------------------------


def sweep_data(batch: int = 32, *, in_features: int = 2, seed: int = 0):
    """The fixed batch (x, y), float64: ``helpers.data.toy_regression(batch, seed=seed)``."""
    x, y = data.toy_regression(batch, in_features=in_features, seed=seed)
    return x.double(), y.double()


def sweep_directions(depth: int, width: int, *, in_features: int = 2, seed: int = 0):
    """The standard-normal matrices G (float64): ``(hidden, out)`` with hidden = [G_1 (width ×
    in_features), G_2 .. G_depth (width × width)] and out (1 × width).

    G_out is drawn first and the hidden ones in order, so a deeper sweep extends a shallower one
    with the same matrices (the first d of them never depend on the maximum depth).
    """
    generator = torch.Generator().manual_seed(int(seed))
    out = torch.randn(1, width, generator=generator, dtype=torch.float64)
    hidden = [
        torch.randn(
            width, in_features if index == 0 else width, generator=generator, dtype=torch.float64
        )
        for index in range(depth)
    ]
    return hidden, out


def sweep_model(
    depth: int,
    scale: float,
    *,
    width: int = 32,
    activation: str = "sigmoid",
    in_features: int = 2,
    seed: int = 0,
) -> nn.Sequential:
    """The float64 network of grid point (depth, scale): ``mlp(..., init="normal", bias=False)``
    with weights scale·G_l from :func:`sweep_directions`."""
    from helpers.models import linear_layers, mlp

    model = mlp(
        depth,
        width,
        in_features=in_features,
        activation=activation,
        init="normal",
        scale=scale,
        bias=False,
        seed=seed,
    ).double()
    hidden, out = sweep_directions(depth, width, in_features=in_features, seed=seed)
    with torch.no_grad():
        for layer, direction in zip(linear_layers(model), [*hidden, out], strict=True):
            layer.weight.copy_(scale * direction)
    return model


# --- the batched computation ---------------------------------------------------------------------


def _activation_and_slope(act: nn.Module, z: torch.Tensor):
    """a = f(z) and f'(z) elementwise, f' by autograd (exact for every torch activation)."""
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        a = act(z)
        (slope,) = torch.autograd.grad(a, z, torch.ones_like(a))
    return a.detach(), slope


def _map_chunk(depths, scales, hidden, out, act, x, y) -> torch.Tensor:
    """‖∂L/∂W_1‖ for every requested depth (ascending) and the given scales, shape (K, S).

    Forward once through max(depths) layers for all scales at once (scales are a batch
    dimension: z_l = s·a_(l−1) G_lᵀ for every s in one matmul). Then one backward sweep from the
    deepest layer down, carrying the signals ∂L/∂a_l of all depths d ≥ l together (shape K×S×B×n):
    at layer l = d the depth-d network's output signal joins the stack, and every step applies
    the chain rule ∂L/∂z_l = ∂L/∂a_l ⊙ f'(z_l), ∂L/∂a_(l−1) = s·(∂L/∂z_l) G_l to all of them.
    """
    s = scales.view(-1, 1, 1)  # (S, 1, 1)
    batch, width = x.shape[0], out.shape[1]
    a, slopes, acts = x.expand(len(scales), *x.shape), [], []
    for direction in hidden[: depths[-1]]:
        a, slope = _activation_and_slope(act, s * (a @ direction.T))
        slopes.append(slope)
        acts.append(a)
    # signal[k] = ∂L/∂a_l of the network with depths[k] layers; rows k >= first are active.
    signal = torch.zeros(len(depths), len(scales), batch, width, dtype=x.dtype)
    dz = torch.empty_like(signal)
    first = len(depths)
    for layer in range(depths[-1], 0, -1):  # layer index l, 1-based
        if first > 0 and depths[first - 1] == layer:
            first -= 1
            residual = s * (acts[layer - 1] @ out.T) - y  # ŷ − y, (S, B, 1)
            signal[first] = (2.0 / batch) * residual * (s * out)  # ∂L/∂ŷ · ∂ŷ/∂a_l
        torch.mul(signal[first:], slopes[layer - 1], out=dz[first:])  # ∂L/∂z_l
        if layer > 1:  # ∂L/∂a_(l−1) = s·(∂L/∂z_l) G_l, one GEMM for all depths and scales
            torch.matmul(
                dz[first:].view(-1, width), hidden[layer - 1], out=signal[first:].view(-1, width)
            )
            signal[first:].mul_(s)
    grad_w1 = torch.einsum("ksbn,bi->ksni", dz, x)
    return torch.linalg.vector_norm(grad_w1, dim=(-2, -1))


def _check_grid(depths, scales, width, activation, in_features, batch):
    depths = np.asarray(depths)
    scales = np.asarray(scales, dtype=np.float64)
    if depths.ndim != 1 or depths.size == 0 or depths.dtype.kind not in "iu":
        raise ValueError(f"depths must be a non-empty 1-D sequence of integers, got {depths!r}")
    if (depths < 1).any():
        raise ValueError(f"depths must all be >= 1, got {depths.min()}")
    if scales.ndim != 1 or scales.size == 0:
        raise ValueError(f"scales must be a non-empty 1-D sequence of numbers, got {scales!r}")
    if not np.isfinite(scales).all() or (scales < 0).any():
        raise ValueError("scales must all be finite and >= 0")
    _validate.positive_int(width, "width")
    _validate.positive_int(in_features, "in_features")
    _validate.positive_int(batch, "batch")
    _validate.choice(activation, ACTIVATIONS, "activation")
    return depths.astype(int), scales


def first_layer_gradient_map(
    depths,
    scales,
    *,
    width: int = 32,
    activation: str = "sigmoid",
    in_features: int = 2,
    batch: int = 32,
    seed: int = 0,
) -> DepthScaleMap:
    """‖∂L/∂W_1‖ over the grid ``depths`` × ``scales`` (see the module docstring), batched.

    All scales run together as a batch dimension and all depths share one forward pass and one
    backward sweep (see ``_map_chunk``); exact, not an approximation: it agrees with
    :func:`first_layer_gradient_map_naive` to float64 rounding (about 1e-15 relative). Only in the
    chaotic corner of large scales and depths, where a network amplifies any perturbation layer
    by layer, do the two computation orders drift apart, up to ~1e-4 relative at depth 40 and
    scale 10. 40 depths × 30 scales at width 32 take a few tenths of a second on one CPU thread,
    about 50 times less than the naive loop (``python -m benchmarks sweep``).
    """
    depths, scales = _check_grid(depths, scales, width, activation, in_features, batch)
    order = np.argsort(depths)
    unique, inverse = np.unique(depths[order], return_inverse=True)
    hidden, out = sweep_directions(int(unique[-1]), width, in_features=in_features, seed=seed)
    x, y = sweep_data(batch, in_features=in_features, seed=seed)
    act = torch_activation(activation)
    per_scale = len(unique) * batch * width
    chunk = max(1, MAX_ELEMENTS // per_scale)
    scale_tensor = torch.as_tensor(scales, dtype=torch.float64)
    with torch.no_grad():
        parts = [
            _map_chunk(unique.tolist(), scale_tensor[i : i + chunk], hidden, out, act, x, y)
            for i in range(0, len(scales), chunk)
        ]
    grad_sorted = torch.cat(parts, dim=1).numpy()[inverse]
    grad = np.empty_like(grad_sorted)
    grad[order] = grad_sorted
    return DepthScaleMap(depths, scales, grad, int(width), activation)


def first_layer_gradient_map_naive(
    depths,
    scales,
    *,
    width: int = 32,
    activation: str = "sigmoid",
    in_features: int = 2,
    batch: int = 32,
    seed: int = 0,
) -> DepthScaleMap:
    """The same map, one network per grid point: build :func:`sweep_model`, call
    ``helpers.monitor.gradient_profile`` and keep the first entry. The reference the batched
    version is tested and benchmarked against."""
    from helpers.monitor import gradient_profile

    depths, scales = _check_grid(depths, scales, width, activation, in_features, batch)
    x, y = sweep_data(batch, in_features=in_features, seed=seed)
    grad = np.empty((len(depths), len(scales)))
    for i, depth in enumerate(depths):
        for j, scale in enumerate(scales):
            model = sweep_model(
                int(depth),
                float(scale),
                width=width,
                activation=activation,
                in_features=in_features,
                seed=seed,
            )
            grad[i, j] = gradient_profile(model, x, y)[0]
    return DepthScaleMap(depths, scales, grad, int(width), activation)


def depth_below(grid: DepthScaleMap, threshold: float = 1e-6) -> np.ndarray:
    """For each scale, the smallest depth in the grid whose first-layer gradient is below
    ``threshold`` (NaN if none is)."""
    threshold = _validate.positive(threshold, "threshold")
    order = np.argsort(grid.depths)
    below = grid.grad[order] < threshold
    first = np.argmax(below, axis=0)
    return np.where(below.any(axis=0), grid.depths[order][first].astype(float), np.nan)


def band(grid: DepthScaleMap, depth: int, low: float = 1e-2, high: float = 1e2):
    """(smallest, largest) scale of the widest run of neighbouring grid scales at which a network
    of ``depth`` layers has low < ‖∂L/∂W_1‖ < high; None if there is no such scale."""
    matches = np.flatnonzero(grid.depths == depth)
    if not matches.size:
        raise ValueError(f"depth {depth!r} is not in the grid; it has {grid.depths.tolist()}")
    order = np.argsort(grid.scales)
    g = grid.grad[matches[0]][order]
    inside = (g > low) & (g < high)
    best, start = None, None
    for j, flag in enumerate([*inside, False]):
        if flag and start is None:
            start = j
        elif not flag and start is not None:
            if best is None or j - start > best[1] - best[0]:
                best = (start, j)
            start = None
    if best is None:
        return None
    scales = grid.scales[order]
    return float(scales[best[0]]), float(scales[best[1] - 1])


# --- per-seed statistics of whole networks at one weight scale -----------------------------------


@dataclass(frozen=True)
class ScaleStatistics:
    """Statistics at initialization of ``mlp(depth, width, activation=..., init="normal",
    scale=...)``, one entry per seed, over hidden layers 2..depth (layer 1 sees the data):

    saturation  mean fraction of saturated pre-activations (``ForwardProfile.saturation``);
    slope       typical slope: geometric mean over the layers of RMS f'(z) (``slope_rms``);
    factor      the gradient's average factor per layer, ``helpers.monitor.layer_factor``.
    """

    activation: str
    scale: float
    seeds: tuple[int, ...]
    saturation: np.ndarray
    slope: np.ndarray
    factor: np.ndarray


def scale_statistics(
    activations, scales, x, y, *, depth: int = 10, width: int = 32, seeds=range(5)
) -> dict[tuple[str, float], ScaleStatistics]:
    """:class:`ScaleStatistics` for every (activation, scale), keyed by that pair, activations
    outer: one forward/backward pass on (x, y) per network (``helpers.monitor.layer_profile``).
    The activations are the saturating ones, "sigmoid" and "tanh".

    Several seeds, because one random network can sit far from the typical one, and because past
    the edge of chaos (tanh with large weights) the forward pass amplifies differences in the last
    bit of a weight: the factor of one network then differs between floating-point paths, while
    bounds over seeds hold on all of them (notebook 03).
    """
    from helpers.models import mlp
    from helpers.monitor import layer_factor, layer_profile

    depth = _validate.positive_int(depth, "depth")
    if depth < 3:
        raise ValueError(f"depth must be at least 3 to measure a factor per layer, got {depth}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    stats = {}
    for activation in activations:
        _validate.choice(activation, ("sigmoid", "tanh"), "activation")
        for scale in scales:
            scale = _validate.positive(scale, "scales")
            rows = []
            for seed in seeds:
                net = mlp(
                    depth, width, activation=activation, init="normal", scale=scale, seed=seed
                )
                grads, forward = layer_profile(net, x, y)
                slope = float(np.exp(np.mean(np.log(forward.slope_rms[1:]))))
                rows.append((float(np.mean(forward.saturation[1:])), slope, layer_factor(grads)))
            columns = np.array(rows).T
            stats[activation, scale] = ScaleStatistics(activation, scale, seeds, *columns)
    return stats
