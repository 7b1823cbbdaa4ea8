"""Plot style and palette shared by every figure; one module per concept holds its figures.

Colours are the Okabe-Ito palette, safe for the common forms of colour blindness. Figures are
rendered as small PNGs so the stored notebooks stay light.
"""

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
    "figure.dpi": 72,
    "savefig.dpi": 72,
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


def use_course_style() -> None:
    """Apply the course style to matplotlib and render inline figures as PNG."""
    mpl.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # outside IPython the inline backend is absent; nothing to set
        pass
