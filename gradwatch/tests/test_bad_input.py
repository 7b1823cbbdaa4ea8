"""Bad input gets a clear error naming the argument, never a numpy or torch internal message."""

import numpy as np
import pytest
import torch
from torch import nn

import gradwatch


@pytest.fixture
def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))


def test_diagnose_before_any_record_says_nothing_was_recorded(model):
    monitor = gradwatch.GradientMonitor(model, every=1)
    assert monitor.grad_norms.shape == (0, 2) and monitor.update_ratios.shape == (0, 2)
    with pytest.raises(ValueError, match="monitor has recorded nothing yet"):
        gradwatch.diagnose(monitor)


@pytest.mark.parametrize("loss", ["x", None, [0.5], True])
def test_a_loss_that_is_not_a_number_is_refused(model, loss):
    monitor = gradwatch.GradientMonitor(model, every=1)
    with pytest.raises(TypeError, match="loss must be the step's loss"):
        monitor.record(loss)
    assert monitor.steps == 0


def test_a_loss_tensor_with_several_elements_is_refused(model):
    with pytest.raises(ValueError, match=r"loss must be a scalar .* shape \(3,\)"):
        gradwatch.GradientMonitor(model, every=1).record(torch.ones(3))


@pytest.mark.filterwarnings("ignore::gradwatch.GradwatchWarning")
def test_numbers_and_scalar_tensors_are_recorded(model):
    monitor = gradwatch.GradientMonitor(model, every=1)
    monitor.record(0.5)
    monitor.record(torch.tensor([0.25]))
    monitor.record(np.float32(0.125))
    np.testing.assert_array_equal(monitor.losses, [0.5, 0.25, 0.125])


@pytest.mark.parametrize("argument", ["x", "y"])
def test_gradient_profile_refuses_an_empty_batch(model, argument):
    x, y = torch.zeros(4, 2), torch.zeros(4, 1)
    empty = {"x": (torch.zeros(0, 2), y), "y": (x, torch.zeros(0, 1))}[argument]
    with pytest.raises(ValueError, match=rf"{argument} is empty \(shape \(0, \d\)\)"):
        gradwatch.gradient_profile(model, *empty)


def test_real_array_refuses_what_casting_would_misread():
    from gradwatch._checks import real_array

    np.testing.assert_array_equal(real_array([1, 2.5], "x"), [1.0, 2.5])
    for value in ([True, False], [1 + 2j], ["a"], [[1.0], [2.0, 3.0]], None):
        with pytest.raises(TypeError, match="^x must be"):
            real_array(value, "x")
