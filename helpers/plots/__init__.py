"""Plot style and palette shared by every figure; one module per concept holds its figures.

Colours are the Okabe-Ito palette, safe for the common forms of colour blindness. Inline figures
are stored as PNGs with twice the pixels of their displayed size (sharp on HiDPI screens) and a
256-colour palette, which keeps each about as small as a plain PNG at the displayed size: the
stored notebooks stay light. The background stays opaque white, readable in light and dark themes.
"""

import io

import matplotlib as mpl

# Okabe & Ito (2008), "Color Universal Design".
COLORS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
CYCLE = [COLORS[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]

STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 96,  # displayed size: a 6-inch figure is 576 CSS pixels wide, 10 pt text 13 px
    "savefig.dpi": 96,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.autolayout": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "font.size": 10,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
}


PIXEL_RATIO = 2  # stored pixels per displayed pixel
PALETTE_COLORS = 256


def figure_png(fig) -> tuple[bytes, dict]:
    """``fig`` as a PNG at PIXEL_RATIO × its displayed size, with a PALETTE_COLORS palette, and
    the metadata that makes Jupyter display it at its displayed size (as IPython's "retina"
    format does). Cropped to the drawn area, as the inline backend's figures are."""
    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=fig.dpi * PIXEL_RATIO, bbox_inches="tight")
    image = Image.open(io.BytesIO(raw.getvalue())).convert("RGB")
    palette = image.quantize(
        PALETTE_COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    palette.save(out, format="png", optimize=True)
    width, height = image.size
    return out.getvalue(), {"width": width // PIXEL_RATIO, "height": height // PIXEL_RATIO}


def use_course_style() -> None:
    """Apply the course style to matplotlib and render inline figures with :func:`figure_png`."""
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # outside IPython the inline backend is absent; nothing to set
        return
    shell = get_ipython()
    if shell is None:
        return
    set_matplotlib_formats("png")
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
