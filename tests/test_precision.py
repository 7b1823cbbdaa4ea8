"""helpers.precision: float16 and bfloat16 facts from torch.finfo, rounding checked value by
value and property-tested (Hypothesis), the underflow count by hand on a tiny model, loss-scaled
float16 gradients equal to float32 ones within float16 precision, the course's deep sigmoid
network (large underflow without loss scaling, almost none with it), the training runs, the
bfloat16 lost updates against their closed form, and the error cases."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import precision
from helpers.models import mlp
from helpers.precision import (
    Setup,
    float_format,
    lost_update_fraction,
    lost_update_theory,
    precision_run,
    stored,
    underflow_at_init,
    underflow_fraction,
    zero_share,
)

# --- the formats ----------------------------------------------------------------------------------


def test_float16_facts():
    f16 = float_format("float16")
    assert f16.bits == 16 and f16.precision_bits == 11
    assert f16.smallest_subnormal == 2.0**-24 == pytest.approx(5.96e-8, rel=1e-3)
    assert f16.smallest_normal == 2.0**-14 == pytest.approx(6.10e-5, rel=1e-3)
    assert f16.max == 65504.0
    assert f16.eps == 2.0**-10
    assert f16.underflow_below == 2.0**-25


def test_bfloat16_has_float32_range_and_8_bits_of_precision():
    bf16, f32 = float_format("bfloat16"), float_format(torch.float32)
    assert bf16.precision_bits == 8 and f32.precision_bits == 24
    assert bf16.eps == 2.0**-7 and bf16.relative_half_gap == 2.0**-8
    assert bf16.smallest_normal == f32.smallest_normal == 2.0**-126
    assert bf16.max == pytest.approx(3.39e38, rel=1e-3)
    assert stored([1 + 2**-8, 1 + 2**-7], "bfloat16").tolist() == [1.0, 1 + 2**-7]


@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16"])
def test_smallest_subnormal_is_the_next_number_after_zero(name):
    dt = getattr(torch, name)
    nxt = torch.nextafter(torch.zeros(1, dtype=dt), torch.ones(1, dtype=dt))
    assert float(nxt) == float_format(name).smallest_subnormal


def test_float16_rounding_value_by_value():
    values = [2.0**-26, 2.0**-25, 1.5 * 2.0**-25, 2.0**-24, 1e-7, 65504.0, 65519.0, 65520.0]
    assert stored(values, "float16").tolist() == [
        0.0, 0.0, 2.0**-24, 2.0**-24, 2.0**-23, 65504.0, 65504.0, math.inf,
    ]  # fmt: skip
    assert stored([1 + 2**-11, 1 + 2**-10], "float16").tolist() == [1.0, 1 + 2**-10]
    assert stored([1e-30, 7e4], "bfloat16").min() > 0  # no underflow, no overflow


@settings(max_examples=300, deadline=None)
@given(x=st.floats(2.0**-14, 65504.0))
def test_float16_normal_numbers_keep_11_bits(x):
    y = stored([x], "float16")[0]
    assert abs(y - x) <= 2.0**-11 * x


@settings(max_examples=200, deadline=None)
@given(x=st.floats(0, 2.0**-25, exclude_max=True))
def test_float16_rounds_everything_below_2_to_the_minus_25_to_zero(x):
    assert stored([x, -x], "float16").tolist() == [0.0, 0.0]


@settings(max_examples=200, deadline=None)
@given(x=st.floats(1e-38, 1e38))
def test_bfloat16_keeps_the_range_and_8_bits(x):
    y = stored([x], "bfloat16")[0]
    assert y > 0 and abs(y - x) <= 2.0**-8 * x


# --- underflow ------------------------------------------------------------------------------------


def test_zero_share_by_hand():
    reference = np.array([1e-3, 0.0, 2e-8, -5e-9, 1.0])
    low = np.array([1e-3, 0.0, 0.0, 0.0, 1.0])
    assert zero_share(reference, low) == (2, 4)


def _tiny():
    layer = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    x = torch.tensor([[1.0, 0.1, 1e-3]])
    y = torch.tensor([[1e-7]])

    def loss_fn(out, target):  # ∂L/∂out = target, so ∂L/∂w = target · x
        return (out * target).sum()

    return layer, x, y, loss_fn


def test_underflow_fraction_equals_a_hand_count_on_a_tiny_model():
    # float32 gradient: 1e-7 · x = [1e-7, 1e-8, 1e-10], all nonzero. In float16 the incoming
    # gradient 1e-7 is stored as 2⁻²³ ≈ 1.19e-7 and the products 1.19e-8 and 1.19e-10 are below
    # 2⁻²⁵ ≈ 3e-8: two of the three entries become 0.
    layer, x, y, loss_fn = _tiny()
    for mode in ("autocast", "half"):
        result = underflow_fraction(layer, x, y, loss_fn, mode=mode)
        assert result.zeroed.tolist() == [2] and result.counted.tolist() == [3]
        assert result.overall == pytest.approx(2 / 3) and result.per_layer.tolist() == [2 / 3]
        assert result.layers == ("",) and result.overflowed == 0
    assert result.median_magnitude[0] == pytest.approx(1e-8, rel=1e-6)
    assert underflow_fraction(layer, x, y, loss_fn, loss_scale=2.0**16).overall == 0
    assert underflow_fraction(layer, x, y, loss_fn, dtype="bfloat16").overall == 0
    assert layer.weight.grad is None and layer.weight.dtype == torch.float32  # left as it was


def test_float32_gradients_are_the_autograd_gradients_layer_by_layer():
    model = mlp(2, 4, seed=0)
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    grads = precision.float32_gradients(model, x, y, F.mse_loss)
    assert list(grads) == ["linear1", "linear2", "output"]
    F.mse_loss(model(x), y).backward()
    expected = torch.cat([model.output.weight.grad.reshape(-1), model.output.bias.grad])
    np.testing.assert_allclose(grads["output"], expected.double().numpy(), rtol=1e-6)


def test_too_large_a_loss_scale_overflows():
    layer, _, _, loss_fn = _tiny()
    x, y = torch.tensor([[4.0, 0.1, 1e-3]]), torch.tensor([[0.25]])
    result = underflow_fraction(layer, x, y, loss_fn, loss_scale=2.0**17)
    # the scaled incoming gradient 0.25 · 2¹⁷ = 32768 fits; times 4 it exceeds 65504
    assert result.overflowed == 1 and result.zeroed.tolist() == [0]
    assert result.relative_error[0] < 1e-3  # the two finite entries are right


def test_loss_scaled_float16_gradients_equal_float32_within_float16_precision():
    model = mlp(3, 16, activation="tanh", seed=0)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=gen)
    y = torch.randn(64, 1, generator=gen)
    result = underflow_fraction(model, x, y, F.mse_loss, loss_scale=2.0**10)
    assert result.overall == 0 and result.overflowed == 0
    # forward and backward each round to 11 bits (2⁻¹¹ ≈ 5e-4) a few times per layer
    assert result.relative_error.max() < 1e-2
    assert result.relative_error.max() > 1e-5  # but it is float16, not float32


def test_the_course_network_underflows_without_loss_scaling_and_not_with_it():
    for seed in (0, 1, 2):
        plain = underflow_at_init(seed)
        scaled = underflow_at_init(seed, loss_scale=2.0**16)
        assert plain.overall > 0.5 and plain.per_layer[0] == 1.0 and plain.per_layer[-1] == 0
        assert scaled.overall < 1e-3 and scaled.overflowed == 0
        assert underflow_at_init(seed, dtype="bfloat16").overall == 0
    # model.half() rounds exactly where autocast does on this network
    half = underflow_at_init(0, mode="half")
    assert half.overall == pytest.approx(underflow_at_init(0).overall, abs=0.02)


def test_batch_norm_statistics_are_restored():
    model = mlp(2, 8, norm="batch", seed=0)
    before = model.norm1.running_mean.clone()
    x = torch.randn(16, 2)
    underflow_fraction(model, x, torch.randn(16, 1), F.mse_loss)
    torch.testing.assert_close(model.norm1.running_mean, before)


# --- what works on the CPU ------------------------------------------------------------------------


def test_float16_autocast_and_grad_scaler_work_on_the_cpu_and_half_weights_do_not_scale():
    model = nn.Linear(4, 1)
    with torch.autocast("cpu", dtype=torch.float16):
        out = model(torch.ones(2, 4))
    assert out.dtype == torch.float16
    scaler = torch.amp.GradScaler("cpu")
    assert scaler.is_enabled() and scaler.get_scale() == 2.0**16
    half = nn.Linear(4, 1).half()
    optimizer = torch.optim.SGD(half.parameters(), lr=0.1)
    scaler.scale(half(torch.ones(2, 4).half()).float().sum()).backward()
    with pytest.raises(ValueError, match="FP16 gradients"):
        scaler.step(optimizer)


# --- training -------------------------------------------------------------------------------------

SHORT = Setup(steps=25)


def test_float16_without_loss_scaling_freezes_the_first_layers():
    run = precision_run(0, setup=SHORT)
    assert run.zero_layers[:2].all() and run.never_moved[:2].all()
    assert not run.zero_layers[-1] and not run.never_moved[-1]
    assert np.all(run.monitor.grad_norms[:, 0] == 0)  # zero, not NaN: the gradient exists
    assert run.zero_steps[0] == run.monitor.steps
    assert run.scale == 1.0 and len(run.losses) == 25


def test_loss_scaling_moves_every_layer():
    run = precision_run(0, loss_scaling="dynamic", setup=SHORT)
    assert not run.never_moved.any() and not run.zero_layers.any()
    assert run.scale in (2.0**16, 2.0**15)


def test_frozen_control_keeps_exactly_the_frozen_layers_still():
    run = precision_run(0, precision="float32", frozen=3, setup=SHORT)
    assert run.never_moved.tolist()[:4] == [True, True, True, False]
    assert not run.zero_layers.any()  # float32 gradients: tiny but never exactly 0


@pytest.mark.slow
def test_the_notebook_runs_stall_without_scaling_and_learn_with_it():
    plain = precision_run(1)
    scaled = precision_run(1, loss_scaling="dynamic")
    assert plain.relative_loss == pytest.approx(1, abs=1e-3) and plain.test_accuracy == 0.5
    assert scaled.relative_loss < 0.05 and scaled.test_accuracy > 0.95


def test_mystery_f_stalls_and_its_fix_learns():
    stuck, fixed = precision.mystery_f(0), precision.mystery_f(0, fix="grad_scaler")
    assert stuck.relative_loss == pytest.approx(1, abs=1e-3) and stuck.zero_layers[:3].all()
    assert fixed.test_accuracy > 0.85 and not fixed.never_moved.any()


# --- bfloat16 lost updates ------------------------------------------------------------------------


def test_bfloat16_weight_swallows_a_small_update_by_hand():
    w = torch.tensor([1.0, 1.0, 1.5], dtype=torch.bfloat16)
    delta = torch.tensor([2.0**-9, 2.0**-7, 2.0**-8], dtype=torch.bfloat16)
    assert w.add(delta).tolist() == [1.0, 1 + 2.0**-7, 1.5]  # 2⁻⁸ is below half the gap at 1.5


def test_lost_updates_match_the_closed_form():
    ratios = 2.0 ** np.arange(-12, -5, 0.25)
    for name in ("bfloat16", "float16"):
        measured = lost_update_fraction(ratios, name, n=8192)
        np.testing.assert_allclose(measured, lost_update_theory(ratios, name), atol=0.03)
    assert lost_update_fraction([1e-3], "bfloat16").tolist() == [1.0]  # a typical Adam step
    assert lost_update_fraction([1e-2], "bfloat16").tolist() == [0.0]
    assert lost_update_fraction([1e-3, 1e-6], "float32").tolist() == [0.0, 0.0]


@settings(max_examples=50, deadline=None)
@given(log_r=st.floats(-14, -4))
def test_lost_share_follows_the_theory_for_any_ratio(log_r):
    r = [2.0**log_r]
    assert lost_update_fraction(r, n=2048)[0] == pytest.approx(lost_update_theory(r)[0], abs=0.05)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "argument"),
    [
        (lambda: float_format("float64"), ValueError, "dtype"),
        (lambda: stored([1.0], "fp16"), ValueError, "dtype"),
        (lambda: zero_share(np.ones(2), np.ones(3)), ValueError, "same shape"),
        (lambda: underflow_fraction(*_tiny(), dtype="float32"), ValueError, "dtype"),
        (lambda: underflow_fraction(*_tiny(), mode="amp"), ValueError, "mode"),
        (lambda: underflow_fraction(*_tiny(), loss_scale=0), ValueError, "loss_scale"),
        (lambda: underflow_fraction(*_tiny(), loss_scale=math.inf), ValueError, "loss_scale"),
        (lambda: underflow_fraction(*_tiny()[:3], "mse"), TypeError, "loss_fn"),
        (lambda: underflow_fraction("net", *_tiny()[1:]), TypeError, "model"),
        (lambda: underflow_fraction(nn.ReLU(), *_tiny()[1:]), ValueError, "weight matrix"),
        (lambda: precision_run(0, precision="fp16"), ValueError, "precision"),
        (lambda: precision_run(0, loss_scaling="static"), ValueError, "loss_scaling"),
        (
            lambda: precision_run(0, precision="bfloat16", loss_scaling="dynamic"),
            ValueError,
            "loss_scaling",
        ),  # fmt: skip
        (lambda: precision_run(0, frozen=-1), ValueError, "frozen"),
        (lambda: precision_run(0, frozen=9), ValueError, "frozen"),
        (lambda: precision_run(-1), ValueError, "seed"),
        (lambda: precision_run(0, setup={"depth": 8}), TypeError, "setup"),
        (lambda: precision_run(0, setup=Setup(depth=0)), ValueError, "depth"),
        (lambda: lost_update_fraction([0.0]), ValueError, "ratios"),
        (lambda: lost_update_fraction([1e-3], n=0), ValueError, "n"),
        (lambda: lost_update_theory([-1.0]), ValueError, "ratios"),
        (lambda: precision.mystery_f(0, fix="relu"), ValueError, "fix"),
    ],
)
def test_bad_arguments_raise_errors_that_name_them(call, error, argument):
    with pytest.raises(error, match=argument):
        call()
