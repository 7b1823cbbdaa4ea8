"""helpers.plots.transformers and helpers.plots.precision: each figure draws one line (or box,
or bar) per run it is given, from the numbers it is given, on the axes its docstring names."""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from helpers.plots import precision as pplots  # noqa: E402
from helpers.plots import transformers as tplots  # noqa: E402


def profile(scale):
    return SimpleNamespace(
        stream=np.array([1.4, 1.5, 1.6]) * scale, grad_norms=np.array([0.2, 0.3])
    )


PROFILES = {key: [profile(1), profile(2)] for key in tplots.PROFILE_COLORS}


def run(losses, ratio=2.0):
    losses = np.asarray(losses, dtype=float)
    norms = np.column_stack([np.ones_like(losses), np.full_like(losses, ratio)])
    return SimpleNamespace(
        losses=losses,
        baseline=2.0,
        update_norms=losses / 10,
        block_norms=norms,
        global_norms=losses,
        gradient_ratio=lambda t: norms[t, -1] / norms[t, 0],
    )


RUNS = {
    case: [run([2.0, 1.0, 0.5]), run([2.0, 2.0, 2.0], ratio=100.0)] for case in tplots.CASE_COLORS
}


def lines(fig, axis=0):
    return fig.axes[axis].get_lines()


def test_stream_profiles_draw_one_line_per_seed_with_the_rms_values():
    fig = tplots.stream_profiles(PROFILES)
    drawn = lines(fig)
    assert len(drawn) == 8
    np.testing.assert_allclose(drawn[1].get_ydata(), [2.8, 3.0, 3.2])
    assert len(fig.axes[0].get_legend().get_texts()) == 4


def test_block_gradients_number_the_blocks_from_one_on_a_log_axis():
    fig = tplots.block_gradients(PROFILES)
    drawn = lines(fig)
    assert len(drawn) == 4 and fig.axes[0].get_yscale() == "log"
    np.testing.assert_array_equal(drawn[0].get_xdata(), [1, 2])


def test_warmup_schedule_draws_the_steps_and_the_peak():
    fig = tplots.warmup_schedule([0.1, 0.2, 0.2], 0.2, 2)
    drawn = lines(fig)
    np.testing.assert_allclose(drawn[0].get_ydata(), [0.1, 0.2, 0.2])
    np.testing.assert_allclose(drawn[1].get_ydata(), [0.2, 0.2])


def test_reverse_losses_are_divided_by_the_baseline_and_only_the_chosen_cases_drawn():
    fig = tplots.reverse_losses(RUNS, ["post, warm-up"], title="t")
    drawn = lines(fig)
    assert len(drawn) == 3  # two runs and the baseline
    np.testing.assert_allclose(drawn[0].get_ydata(), [1.0, 0.5, 0.25])


def test_update_sizes_and_gradient_ratios_use_every_case_by_default():
    assert len(lines(tplots.update_sizes(RUNS))) == 8
    fig = tplots.gradient_ratios(RUNS)
    drawn = lines(fig)
    assert len(drawn) == 9  # 8 runs and the line at 1
    np.testing.assert_allclose(drawn[1].get_ydata(), [100.0] * 3)


def test_clipping_norms_mark_the_threshold():
    fig = tplots.clipping_norms([run([3.0, 2.0]), run([1.0, 0.1])], 0.25)
    drawn = lines(fig)
    assert len(drawn) == 3
    np.testing.assert_allclose(drawn[-1].get_ydata(), [0.25, 0.25])


def sweep(share):
    return SimpleNamespace(
        setting=np.array([4, 16]),
        jacobian_median=np.array([0.3, 0.3 * (1 - share)]),
        saturated_share=np.array([0.0, share]),
        uniform_jacobian_norm=0.24,
    )


def test_attention_saturation_has_two_panels_with_both_sweeps():
    fig = pplots.attention_saturation(sweep(0.0), sweep(0.6))
    assert len(fig.axes) == 2
    np.testing.assert_allclose(lines(fig, 1)[1].get_ydata(), [0.0, 0.6])


def test_gradient_entries_draw_one_box_per_layer_and_the_two_underflow_levels():
    grads = {"a": np.array([1e-9, 0.0, 2e-9]), "b": np.array([1e-3, 2e-3])}
    fig = pplots.gradient_entries(grads, loss_scale=2.0**16)
    levels = [line.get_ydata()[0] for line in lines(fig) if len(line.get_ydata()) == 2]
    assert 2.0**-25 in levels and pytest.approx(2.0**-41) in levels


def test_underflow_by_layer_draws_two_bars_per_layer():
    plain = SimpleNamespace(layers=("a", "b"), per_layer=np.array([1.0, 0.5]), loss_scale=1.0)
    scaled = SimpleNamespace(layers=("a", "b"), per_layer=np.array([0.0, 0.0]), loss_scale=65536.0)
    fig = pplots.underflow_by_layer(plain, scaled)
    heights = [patch.get_height() for patch in fig.axes[0].patches]
    assert heights == [1.0, 0.5, 0.0, 0.0]


def test_precision_losses_and_lost_updates():
    group = [SimpleNamespace(losses=np.array([0.7, 0.35]), baseline=0.7)]
    fig = pplots.precision_losses([(group, "red", "a"), (group, "blue", "b")])
    np.testing.assert_allclose(lines(fig)[0].get_ydata(), [1.0, 0.5])
    fig = pplots.lost_updates(np.array([1e-4, 1e-3, 1e-1]))
    bfloat16_measured = lines(fig)[0].get_ydata()
    np.testing.assert_allclose(bfloat16_measured, [1.0, 1.0, 0.0])
