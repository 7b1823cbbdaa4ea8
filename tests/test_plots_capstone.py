"""helpers.plots.capstone: the figures of notebook 11 draw what they say, from stand-in runs."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.plots import capstone as plots  # noqa: E402


def _run(fix, losses, grads):
    return SimpleNamespace(
        fix=fix, losses=np.asarray(losses), baseline=0.693,
        monitor=SimpleNamespace(grad_norms=np.asarray(grads)),
    )  # fmt: skip


def test_median_gradients_skip_non_finite_steps():
    grads = np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_allclose(plots._median_gradients(SimpleNamespace(grad_norms=grads)), [3, 4])
    np.testing.assert_allclose(
        plots._median_gradients(SimpleNamespace(grad_norms=grads), window=1), [5, 6]
    )
    assert np.isnan(plots._median_gradients(SimpleNamespace(grad_norms=[[np.nan]]))).all()


def test_plot_comparison_draws_both_runs_and_the_baseline():
    before = _run("none", [0.7, 0.69], [[1e-6, 1e-3]] * 2)
    after = _run("relu_he", [0.7, 0.1], [[1e-2, 2e-2]] * 2)
    fig = plots.plot_comparison(SimpleNamespace(before=before, after=after))
    left, right = fig.axes
    assert [line.get_label() for line in left.lines] == ["before", "after: relu_he", "baseline"]
    np.testing.assert_allclose(right.lines[1].get_ydata(), [1e-2, 2e-2])
    assert left.get_yscale() == "log"
    plt.close(fig)


def test_plot_lag_profile_is_relative_to_lag_zero():
    profile = SimpleNamespace(lags=np.arange(4), h=np.array([2.0, 1.0, 0.5, 0.25]))
    fig = plots.plot_lag_profile(profile)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [1.0, 0.5, 0.25, 0.125])
    plt.close(fig)


def test_plot_overview_divides_by_the_baseline_and_names_runs_above_the_chart():
    calm = SimpleNamespace(name="C", losses=np.array([1.1, 0.01]), baseline=1.1)
    wild = SimpleNamespace(name="B", losses=np.array([3.5e5, np.inf]), baseline=1.0)
    fig = plots.plot_overview([calm, wild])
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 0.01 / 1.1])
    assert "B: 4e+05× at step 0" in ax.texts[0].get_text()
    plt.close(fig)
    with pytest.raises(ValueError, match="has not been trained"):
        plots.plot_overview([SimpleNamespace(name="A", losses=None, baseline=1.0)])
