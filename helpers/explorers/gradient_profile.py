"""Notebook 03's explorer: choose depth, width, activation, init scheme and weight scale, and watch
the per-layer gradient profile and the fraction of saturated units change.

:func:`compute` is the pure step: it builds ``helpers.models.mlp`` (float64, fixed seed) and runs
one forward/backward pass on a fixed batch with ``helpers.monitor.layer_profile``.
:class:`GradientProfileExplorer` draws the result on one persistent matplotlib figure (artists
updated with ``set_data``) and sends it as PNG to an ipywidgets ``Image``. Compute and redraw
take well under 100 ms at width 64 and depth 50 (``python -m benchmarks``).
"""

import functools
import io
import math
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from PIL import Image
from torch import nn

from helpers import _validate
from helpers.activations import ACTIVATIONS, saturation_threshold
from helpers.models import (
    INITS,
    NEEDS_SCALE,
    init_linear,
    linear_layers,
    mlp,
    toy_regression,
)
from helpers.monitor import layer_profile
from helpers.plots import COLORS

MAX_DEPTH = 50
MAX_WIDTH = 64
BATCH = 64
DECADES = 5  # the profile's y limits snap to multiples of this many decades
FLOAT32_TINY = float(np.finfo(np.float32).tiny)  # 1.2e-38: smaller float32 numbers lose digits


@dataclass(frozen=True)
class Profile:
    """What the explorer shows for one setting.

    grad: ‖∂L/∂W_l‖ for the depth hidden layers and the output layer (first layer first).
    saturation: fraction of each hidden layer's units with |z| beyond the activation's saturation
    threshold (NaN for activations that do not saturate).
    """

    depth: int
    width: int
    activation: str
    init: str
    scale: float | None
    grad: np.ndarray
    saturation: np.ndarray

    @property
    def first_to_output(self) -> float:
        """‖∂L/∂W_1‖ / ‖∂L/∂W_out‖: how much of the output layer's gradient reaches layer 1."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(self.grad[0] / self.grad[-1])

    def readout(self) -> str:
        scale = f", scale {self.scale:.3g}" if self.scale is not None else ""
        parts = [
            f"{self.activation}, {self.depth} × {self.width}, init {self.init!r}{scale}",
            f"‖∂L/∂W₁‖ = {self.grad[0]:.2e}",
            f"output layer {self.grad[-1]:.2e}",
            f"ratio {self.first_to_output:.1e}",
        ]
        if np.isfinite(self.saturation).any():
            parts.append(f"saturated: {np.nanmean(self.saturation):.0%} of hidden units")
        else:
            parts.append(f"{self.activation} does not saturate")
        if 0 < np.min(self.grad) < FLOAT32_TINY:
            parts.append("below 1e-38 float32 would round some gradients to 0")
        return "  ·  ".join(parts)


def _power_of_ten(value, _position) -> str:
    return "1" if value == 0 else f"1e{value:.0f}"


@functools.lru_cache(maxsize=4)
def _data(batch: int):
    x, y = toy_regression(batch, seed=0)
    return x.double(), y.double()


@functools.lru_cache(maxsize=8)
def _network(depth: int, width: int, activation: str) -> nn.Sequential:
    """The float64 ``mlp(depth, width, activation=...)`` whose weights :func:`compute` re-draws:
    building 51 ``nn.Linear`` modules costs more than drawing their weights, and a slider
    changes one setting at a time."""
    return mlp(depth, width, activation=activation, seed=0).double()


def _draw_weights(model: nn.Module, init: str, activation: str, scale, seed: int) -> None:
    """``initialize(model, init, ..., seed=seed)`` as if ``model`` were float32: each layer's
    weights are drawn into a float32 scratch layer of the same shape (the same random stream,
    hence the same numbers) and copied into the float64 model."""
    layers = linear_layers(model)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        scratch = {  # built before seeding: nn.Linear draws its own initial weights
            tuple(layer.weight.shape): nn.Linear(
                *layer.weight.shape[::-1], bias=layer.bias is not None
            )
            for layer in layers
        }
        torch.manual_seed(seed)
        for layer in layers:
            shape = tuple(layer.weight.shape)
            init_linear(scratch[shape], init, activation, scale)
            layer.weight.copy_(scratch[shape].weight)
            if layer.bias is not None:
                layer.bias.copy_(scratch[shape].bias)


def compute(
    depth: int = 20,
    width: int = 32,
    activation: str = "sigmoid",
    init: str = "normal",
    scale: float | None = 0.1,
    *,
    seed: int = 0,
    batch: int = BATCH,
) -> Profile:
    """The gradient profile and saturation of the network ``initialize(mlp(depth, width,
    activation=...), init, activation=..., scale=..., seed=seed)`` (``helpers.models``), drawn in
    float32 and evaluated in float64 (so that gradients far below float32's 1e-38 still show),
    on ``toy_regression(batch, seed=0)`` with MSE loss.

    ``scale`` is used only by "normal" and "uniform"; the other schemes set their own scale, so
    it is ignored (and reported as None) for them.
    """
    _validate.choice(init, INITS, "init")
    scale = scale if init in NEEDS_SCALE else None
    if scale is None and init in NEEDS_SCALE:
        raise ValueError(f"init={init!r} needs a weight scale: pass scale=")
    if scale is not None:
        scale = _validate.nonnegative(scale, "scale")
    model = _network(depth, width, activation)  # mlp checks depth, width and activation
    _draw_weights(model, init, activation, scale, seed)
    x, y = _data(_validate.positive_int(batch, "batch"))
    grad, forward = layer_profile(model, x, y, slopes=False)
    if len(forward.names) != depth:  # "linear" has no activation module to hook
        saturation = np.full(depth, math.nan)
    else:
        saturation = forward.saturation
    return Profile(int(depth), int(width), activation, init, scale, grad, saturation)


class GradientProfileExplorer:
    """Sliders for depth, width and scale, dropdowns for activation and init; the gradient
    profile (log scale) on the left, the saturated fraction per hidden layer on the right."""

    def __init__(
        self,
        depth: int = 20,
        width: int = 32,
        activation: str = "sigmoid",
        init: str = "normal",
        scale: float = 0.1,
    ):
        first = compute(depth, width, activation, init, scale)  # validates the arguments
        self.depth = widgets.IntSlider(
            value=depth, min=1, max=MAX_DEPTH, description="depth", continuous_update=False
        )
        self.width = widgets.IntSlider(
            value=width, min=2, max=MAX_WIDTH, description="width", continuous_update=False
        )
        self.activation = widgets.Dropdown(
            options=ACTIVATIONS, value=activation, description="activation"
        )
        self.init = widgets.Dropdown(options=INITS, value=init, description="init")
        self.scale = widgets.FloatLogSlider(
            value=scale,
            base=10,
            min=-3,
            max=1,
            step=0.05,
            description="scale",
            readout_format=".3g",
            continuous_update=False,
        )
        self.readout = widgets.HTML()
        self.grad_image = widgets.Image(format="png")
        self.sat_image = widgets.Image(format="png")
        self._build_figure()
        for control in (self.depth, self.width, self.activation, self.init, self.scale):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.depth, self.width, self.scale]),
                widgets.HBox([self.activation, self.init]),
                self.readout,
                widgets.HBox([self.grad_image, self.sat_image]),
            ]
        )
        self.draw(first)

    def _build_figure(self) -> None:
        # Two small figures, each sent as its own PNG: a change that moves the profile's axis
        # limits re-renders only that figure; the saturation panel is redrawn in full only when
        # depth or activation change. Lines and the note are "animated": left out of the full
        # draw and blitted onto the saved background.
        self.fig_grad, self.ax_grad = _figure((4.6, 3.0))
        self.fig_sat, self.ax_sat = _figure((3.0, 3.0))
        (self.grad_line,) = self.ax_grad.plot([], [], color=COLORS["blue"], animated=True)
        (self.sat_line,) = self.ax_sat.plot([], [], color=COLORS["vermillion"], animated=True)
        self.sat_note = self.ax_sat.text(
            0.5, 0.5, "", ha="center", va="center", transform=self.ax_sat.transAxes, animated=True
        )
        # log10 of the norm on a linear axis, labelled 1e-k: a log-scale axis draws 2x slower.
        self.ax_grad.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        self.ax_grad.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
        self.ax_grad.set(xlabel="layer (last = output)", ylabel="‖∂L/∂W_l‖ (log scale)")
        self.ax_sat.set(xlabel="hidden layer", ylim=(-0.03, 1.03), yticks=[0, 0.5, 1])
        self._grad_key = self._sat_key = None
        self._grad_background = self._sat_background = None

    def _on_change(self, _change=None) -> None:
        self.scale.disabled = self.init.value not in NEEDS_SCALE
        self.update()

    def update(self) -> Profile:
        """Recompute for the current widget values and redraw."""
        profile = compute(
            self.depth.value,
            self.width.value,
            self.activation.value,
            self.init.value,
            self.scale.value,
        )
        self.draw(profile)
        return profile

    def _grad_limits(self, log_grad: np.ndarray) -> tuple[float, float]:
        """y limits (decades) for the profile; kept while the data fit and fill a third of
        them, so most changes leave the axes alone and only the lines are redrawn."""
        finite = log_grad[np.isfinite(log_grad)]
        if not finite.size:
            return self._grad_key[1] if self._grad_key else (-1.0, 1.0)
        low, high = float(finite.min()), float(finite.max())
        if self._grad_key is not None:
            old_low, old_high = self._grad_key[1]
            if old_low <= low and high <= old_high and (high - low) >= (old_high - old_low) / 3:
                return old_low, old_high
        # Pad by a decade or more and snap outwards to multiples of DECADES, so that the next
        # few changes usually still fit (a full redraw costs several times a blit).
        pad = max(1.0, 0.15 * (high - low))
        return (
            DECADES * math.floor((low - pad) / DECADES),
            DECADES * math.ceil((high + pad) / DECADES),
        )

    def draw(self, profile: Profile) -> None:
        """Update the persistent artists with ``profile``, render, and send the PNGs."""
        with np.errstate(divide="ignore"):
            log_grad = np.where(profile.grad > 0, np.log10(profile.grad), np.nan)
        threshold = saturation_threshold(profile.activation)
        marker = "o" if profile.depth <= 25 else ""

        grad_key = (profile.depth, self._grad_limits(log_grad))
        if grad_key != self._grad_key:  # new limits: full draw, save the background
            self._grad_key = grad_key
            self.ax_grad.set_xlim(0.5, profile.depth + 1.5)
            self.ax_grad.set_ylim(*grad_key[1])
            self._grad_background = _full_draw(self.fig_grad)
        self.grad_line.set_data(np.arange(1, profile.depth + 2), log_grad)
        self.grad_line.set_marker(marker)
        _blit(self.fig_grad, self._grad_background, [self.grad_line])

        sat_key = (profile.depth, threshold)
        if sat_key != self._sat_key:
            self._sat_key = sat_key
            self.ax_sat.set_xlim(0.5, profile.depth + 0.5)
            self.ax_sat.set_ylabel(
                f"fraction saturated (|z| > {threshold:g})" if threshold else "fraction saturated"
            )
            self._sat_background = _full_draw(self.fig_sat)
        self.sat_line.set_data(np.arange(1, profile.depth + 1), profile.saturation)
        self.sat_line.set_marker(marker)
        self.sat_note.set_text("" if threshold else f"{profile.activation}\ndoes not saturate")
        _blit(self.fig_sat, self._sat_background, [self.sat_line, self.sat_note])

        self.readout.value = f"<code>{profile.readout()}</code>"
        self.grad_image.value = _png(self.fig_grad)
        self.sat_image.value = _png(self.fig_sat)


def _figure(size):
    fig = Figure(figsize=size, dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.2, right=0.96, top=0.95, bottom=0.16)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # few labels: text is slow
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _full_draw(fig):
    fig.canvas.draw()
    return fig.canvas.copy_from_bbox(fig.bbox)


def _blit(fig, background, artists) -> None:
    fig.canvas.restore_region(background)
    for artist in artists:
        fig.draw_artist(artist)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).save(
        buffer, format="png", compress_level=1
    )
    return buffer.getvalue()


def gradient_profile_explorer(**settings) -> widgets.VBox:
    """The explorer widget for notebook 03 (display it as a cell's last expression)."""
    return GradientProfileExplorer(**settings).widget
