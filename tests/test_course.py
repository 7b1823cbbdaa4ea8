import random

import matplotlib as mpl
import numpy as np
import pytest
import torch

from helpers import course, plots


def draws():
    return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002


def test_seed_everything_makes_every_generator_repeat():
    course.seed_everything(3)
    first = draws()
    course.seed_everything(3)
    assert draws() == first
    course.seed_everything(4)
    assert draws() != first


def test_setup_seeds_sets_one_thread_and_course_style(monkeypatch):
    monkeypatch.delenv("VG_THREADS", raising=False)
    torch.set_num_threads(2)
    course.setup(seed=5)
    assert torch.get_num_threads() == 1
    assert mpl.rcParams["figure.dpi"] == plots.STYLE["figure.dpi"]
    after_setup = draws()
    course.seed_everything(5)
    assert draws() == after_setup


@pytest.mark.parametrize("value, threads", [("1", 1), ("2", 2)])
def test_thread_count_follows_environment(monkeypatch, value, threads):
    monkeypatch.setenv("VG_THREADS", value)
    assert course.choose_threads() == threads


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_thread_count_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("VG_THREADS", value)
    with pytest.raises(ValueError, match="VG_THREADS"):
        course.choose_threads()


def test_progress_is_silent_when_quiet(monkeypatch):
    monkeypatch.setenv("VG_QUIET", "1")
    items = range(3)
    assert course.progress(items) is items


def test_progress_wraps_in_a_bar_otherwise(monkeypatch):
    monkeypatch.setenv("VG_QUIET", "")
    bar = course.progress(range(3), disable=True)
    assert list(bar) == [0, 1, 2]
    assert bar is not range(3)


def test_palette_is_okabe_ito():
    assert plots.COLORS["blue"] == "#0072B2" and len(set(plots.CYCLE)) == len(plots.CYCLE)


def test_setup_makes_the_courses_own_deprecations_errors():
    import warnings

    from helpers import course

    with warnings.catch_warnings():
        course.treat_own_deprecations_as_errors()
        with pytest.raises(DeprecationWarning):
            warnings.warn_explicit("old", DeprecationWarning, "x.py", 1, module="helpers.models")
        with pytest.raises(FutureWarning):
            warnings.warn_explicit("old", FutureWarning, "x.py", 1, module="gradwatch.monitor")
        with pytest.warns(DeprecationWarning):  # a third-party warning stays a warning
            warnings.warn_explicit("theirs", DeprecationWarning, "x.py", 1, module="numpy.core")


def test_inline_figures_are_stored_at_twice_their_displayed_size_with_a_palette():
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    png, metadata = plots.figure_png(fig)
    plt.close(fig)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P" and len(image.getpalette()) // 3 <= plots.PALETTE_COLORS
    assert image.size == (2 * metadata["width"], 2 * metadata["height"])
    # the displayed size is the figure's size at its dpi (cropped to the drawn area, never larger)
    width, height = fig.get_size_inches() * fig.dpi
    assert 0.8 * width <= metadata["width"] <= width + 1
    assert 0.8 * height <= metadata["height"] <= height + 1
    corner = image.convert("RGB").getpixel((0, 0))
    assert corner == (255, 255, 255), "the background stays opaque white"
