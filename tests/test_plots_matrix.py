"""helpers.plots.matrix draws what it says, from stand-in cells."""

import matplotlib
import numpy as np

matplotlib.use("Agg")

from helpers.plots import matrix as plots  # noqa: E402


def test_backward_profiles_draw_one_line_per_cell_and_zeros_at_the_bottom():
    profiles = [("a", np.array([1e-9, 1e-3, 1.0])), ("b", np.array([0.0, 0.0, 0.1]))]
    fig = plots.backward_profiles(profiles, title="t")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert ax.get_yscale() == "log" and ax.lines[1].get_ydata()[0] == 1e-30


def test_heatmap_annotates_every_cell_and_marks_divergence():
    grid = [[0.1, np.inf], [2.0, 0.5]]
    fig = plots.matrix_heatmap(grid, ["r1", "r2"], ["c1", "c2"], title="t")
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == sorted(["0.10", "∞", ">1", "0.50"])
