"""Notebook 01's explorer: move x and watch f(x), its tangent line and f'(x) follow.

:func:`compute_view` is the pure step (numbers and arrays, tested, microseconds);
:class:`ActivationExplorer` draws them on one persistent matplotlib figure. The curves and axes are
drawn once per activation; a change of x only restores that background, draws the tangent and the
two points on it (blitting) and sends the PNG to an ipywidgets ``Image``: about 10-20 ms a change.
"""

import io
from dataclasses import dataclass
from numbers import Real

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from helpers import _validate
from helpers import activations as A
from helpers.plots import COLORS

X_RANGE = (-8.0, 8.0)
GRID = np.linspace(*X_RANGE, 401)
TANGENT_HALF_WIDTH = 2.0
SYMBOLS = {"sigmoid": "σ", "tanh": "tanh"}


@dataclass(frozen=True)
class View:
    """Everything the explorer draws for one (activation, x)."""

    name: str
    x: float
    fx: float  # f(x)
    dfx: float  # f'(x), the slope of the tangent
    grid: np.ndarray  # x values of the curves
    f_grid: np.ndarray  # f on the grid
    df_grid: np.ndarray  # f' on the grid
    tangent_x: np.ndarray  # two end points of the tangent line ...
    tangent_y: np.ndarray  # ... y = f(x) + f'(x)(t − x)
    derivative_max: float
    saturated: bool  # |x| beyond the activation's saturation threshold
    readout: str


def _readout(name: str, x: float, fx: float, dfx: float, peak: float, saturated: bool) -> str:
    s = SYMBOLS.get(name, name)
    if name == "sigmoid":
        rule = f"σ(1 − σ) = {fx:.4f} × {1 - fx:.4f}"
    elif name == "tanh":
        rule = f"1 − tanh² = 1 − ({fx:.4f})²" if fx < 0 else f"1 − tanh² = 1 − {fx:.4f}²"
    else:
        rule = "closed form"
    share = f"{dfx / peak:.1%} of its peak {peak:g}"
    state = f"saturated (|x| > {A.saturation_threshold(name):g})" if saturated else "not saturated"
    return f"{s}({x:.2f}) = {fx:.4f}  ·  {s}'({x:.2f}) = {rule} = {dfx:.4f}  ·  {share}  ·  {state}"


def compute_view(name: str, x: float) -> View:
    """The curves of ``name`` and its derivative, the point at ``x`` and the tangent there."""
    name = _validate.choice(name, A.ACTIVATIONS, "activation")
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"x must be a real number, got {x!r}")
    x = float(x)
    fx = A.activation(name, x)
    dfx = A.derivative(name, x)
    tangent_x = np.array([x - TANGENT_HALF_WIDTH, x + TANGENT_HALF_WIDTH])
    threshold = A.saturation_threshold(name)
    saturated = threshold is not None and abs(x) > threshold
    peak = A.derivative_max(name)
    return View(
        name=name,
        x=x,
        fx=fx,
        dfx=dfx,
        grid=GRID,
        f_grid=A.activation(name, GRID),
        df_grid=A.derivative(name, GRID),
        tangent_x=tangent_x,
        tangent_y=fx + dfx * (tangent_x - x),
        derivative_max=peak,
        saturated=saturated,
        readout=_readout(name, x, fx, dfx, peak, saturated),
    )


class ActivationExplorer:
    """Slider for x, dropdown for the activation; f with its tangent above, f' below."""

    def __init__(self, names=("sigmoid", "tanh"), x: float = 1.0):
        names = tuple(_validate.choice(n, A.ACTIVATIONS, "activation") for n in names)
        if not names:
            raise ValueError("names must list at least one activation")
        self.slider = widgets.FloatSlider(
            value=x,
            min=X_RANGE[0],
            max=X_RANGE[1],
            step=0.1,
            description="x",
            continuous_update=True,
            readout_format=".1f",
            layout=widgets.Layout(width="420px"),
        )
        self.dropdown = widgets.Dropdown(options=names, value=names[0], description="activation")
        self.readout = widgets.HTML()
        self.image = widgets.Image(format="png")
        self._build_figure()
        self.slider.observe(self._on_change, names="value")
        self.dropdown.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.dropdown, self.slider]), self.readout, self.image]
        )
        self.update()

    def _build_figure(self) -> None:
        self.fig = Figure(figsize=(6.0, 4.2), dpi=72)
        self.fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.12, hspace=0.12)
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax_f, self.ax_df = self.fig.subplots(2, 1, sharex=True)
        (self.f_line,) = self.ax_f.plot([], [], color=COLORS["blue"])
        (self.df_line,) = self.ax_df.plot([], [], color=COLORS["orange"])
        self.peak_line = self.ax_df.axhline(0.0, ls=":", lw=1, color=COLORS["black"])
        # The moving artists are "animated": left out of the full draw, drawn on the background.
        (self.tangent,) = self.ax_f.plot([], [], "--", color=COLORS["vermillion"], animated=True)
        (self.f_point,) = self.ax_f.plot([], [], "o", color=COLORS["black"], animated=True)
        (self.df_point,) = self.ax_df.plot([], [], "o", color=COLORS["black"], animated=True)
        self.ax_f.set(xlim=X_RANGE)
        self.ax_df.set(xlim=X_RANGE, xlabel="x (pre-activation)")
        for ax in (self.ax_f, self.ax_df):
            ax.grid(True, alpha=0.3)
            ax.spines[["top", "right"]].set_visible(False)
        self._name = None
        self._background = None
        self._spans = []

    def _on_change(self, _change=None) -> None:
        self.update()

    def update(self) -> View:
        """Recompute the view for the current widget values and redraw."""
        view = compute_view(self.dropdown.value, self.slider.value)
        if view.name != self._name:  # the curves only change with the activation
            self._draw_background(view)
        self.tangent.set_data(view.tangent_x, view.tangent_y)
        self.f_point.set_data([view.x], [view.fx])
        self.df_point.set_data([view.x], [view.dfx])
        self.canvas.restore_region(self._background)
        for artist in (self.tangent, self.f_point, self.df_point):
            self.fig.draw_artist(artist)
        self.readout.value = f"<code>{view.readout}</code>"
        self.image.value = self._png()
        return view

    def _draw_background(self, view: View) -> None:
        self._name = view.name
        s = SYMBOLS.get(view.name, view.name)
        self.f_line.set_data(view.grid, view.f_grid)
        self.df_line.set_data(view.grid, view.df_grid)
        self.peak_line.set_ydata([view.derivative_max] * 2)
        lo, hi = view.f_grid.min(), view.f_grid.max()
        pad = 0.1 * (hi - lo)
        self.ax_f.set_ylim(lo - pad, hi + pad)
        self.ax_df.set_ylim(0.0, 1.15 * view.derivative_max)
        for span in self._spans:
            span.remove()
        threshold = A.saturation_threshold(view.name)
        self._spans = (
            []
            if threshold is None
            else [
                ax.axvspan(lo_x, hi_x, color=COLORS["vermillion"], alpha=0.1, lw=0)
                for ax in (self.ax_f, self.ax_df)
                for lo_x, hi_x in ((X_RANGE[0], -threshold), (threshold, X_RANGE[1]))
            ]
        )
        self.ax_f.set_ylabel(f"{s}(x)")
        self.ax_df.set_ylabel(f"{s}'(x)")
        self.ax_f.set_title(
            f"{s}(x), its tangent; {s}'(x) below, peak {view.derivative_max:g}; shaded: saturated"
        )
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)

    def _png(self) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(self.canvas.buffer_rgba())).save(
            buffer, format="png", compress_level=1
        )
        return buffer.getvalue()


def sigmoid_explorer(names=("sigmoid", "tanh"), x: float = 1.0) -> widgets.VBox:
    """The explorer widget for notebook 01 (display it as a cell's last expression)."""
    return ActivationExplorer(names, x).widget
