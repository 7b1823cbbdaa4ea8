"""helpers.monitor: gradient profiles equal hand-computed autograd results on models built without
the course's helpers, the model is untouched afterwards, and the monitor records what it says."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import monitor
from helpers.activations import derivative
from helpers.models import mlp


def reference_norms(model, x, y, loss_fn=None, select=None):
    """Per-layer weight-gradient norms by plain loss.backward() on a float64 deep copy."""
    loss_fn = nn.MSELoss() if loss_fn is None else loss_fn
    model = copy.deepcopy(model).double()
    for p in model.parameters():
        p.requires_grad_(True)  # the gradient of a frozen weight exists all the same
    output = model(x.double())
    output = output[0] if isinstance(output, tuple) else output
    target = y.double() if y.is_floating_point() else y
    loss_fn(output, target).backward()
    norms = []
    for layer in select(model):
        params = [p for n, p in layer.named_parameters(recurse=False) if n.startswith("weight")]
        norms.append(math.sqrt(sum((p.grad.double() ** 2).sum().item() for p in params)))
    return np.array(norms)


class Custom(nn.Module):
    """A model the course's helpers did not build: conv, then two linear layers, tanh."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 3, kernel_size=3)
        self.fc = nn.Linear(3 * 6, 5)
        self.head = nn.Linear(5, 1)

    def forward(self, x):
        h = torch.tanh(self.conv(x.unsqueeze(1))).flatten(1)
        return self.head(torch.tanh(self.fc(h)))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class WithUnused(nn.Module):
    """Wraps a network and also registers a layer its forward never uses."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.unused = nn.Linear(8, 8)

    def forward(self, x):
        return self.net(x)


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 8, generator=g), torch.randn(16, 1, generator=g)


# --- the profile equals autograd on foreign models -----------------------------------------------


def test_single_linear_layer_closed_form():
    """L = mean((Wx − y)²) ⇒ ∂L/∂W = (2/N) Σ (Wx_i − y_i) x_iᵀ."""
    torch.manual_seed(0)
    layer = nn.Linear(3, 2, bias=False).double()
    x, y = torch.randn(10, 3, dtype=torch.float64), torch.randn(10, 2, dtype=torch.float64)
    residual = x @ layer.weight.detach().T - y
    expected = (2 / residual.numel()) * residual.T @ x
    assert monitor.gradient_profile(layer, x, y)[0] == pytest.approx(
        torch.linalg.norm(expected).item(), rel=1e-12
    )


def test_custom_module(data):
    torch.manual_seed(1)
    model, (x, y) = Custom(), data
    got = monitor.gradient_profile(model, x, y)
    want = reference_norms(model, x, y, select=lambda m: [m.conv, m.fc, m.head])
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert [name for name, _ in monitor.tracked_layers(model)] == ["conv", "fc", "head"]


def test_sequential_with_conv2d(data):
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Unflatten(1, (2, 2, 2)), nn.Conv2d(2, 3, 2), nn.Sigmoid(), nn.Flatten(),
        nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1),
    )  # fmt: skip
    x, y = data
    got = monitor.gradient_profile(model, x, y)
    want = reference_norms(model, x, y, select=lambda m: [m[1], m[4], m[6]])
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_lstm_counts_all_its_weight_matrices(data):
    torch.manual_seed(3)
    model = Recurrent()
    x, y = torch.randn(6, 5, 3), torch.randn(6, 1)
    got = monitor.gradient_profile(model, x, y)
    want = reference_norms(model, x, y, select=lambda m: [m.lstm, m.head])
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert len(monitor.layer_weights(model.lstm)) == 4  # ih, hh for two layers; no biases


def test_bare_gru_is_scored_on_its_output():
    torch.manual_seed(4)
    gru = nn.GRU(2, 3)
    x, y = torch.randn(5, 4, 2), torch.randn(5, 4, 3)
    np.testing.assert_allclose(
        monitor.gradient_profile(gru, x, y),
        reference_norms(gru, x, y, select=lambda m: [m]),
        rtol=1e-5,
    )


def test_cells_and_cross_entropy():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    cell = nn.RNNCell(3, 3)
    assert monitor.tracked_layers(cell) == [("", cell)]
    x, labels = torch.randn(9, 4), torch.tensor([0, 1, 2] * 3)
    got = monitor.gradient_profile(model, x, labels, loss_fn=nn.CrossEntropyLoss())
    want = reference_norms(model, x, labels, nn.CrossEntropyLoss(), lambda m: [m[0], m[2]])
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_tiny_float32_gradients_do_not_underflow_to_zero():
    """A deep sigmoid net with weights 0.005: first-layer gradient ~1e-23, squares ~1e-46."""
    model = mlp(10, 32, init="normal", scale=0.005, seed=0)
    x, y = torch.randn(64, 2), torch.randn(64, 1)
    got = monitor.gradient_profile(model, x, y)
    assert 0 < got[0] < 1e-18
    want = reference_norms(model, x, y, select=lambda m: [m[i] for i in range(0, 21, 2)])
    np.testing.assert_allclose(got, want, rtol=1e-3)


def test_shared_and_unused_and_frozen_layers(data):
    torch.manual_seed(6)
    shared = nn.Linear(8, 8)
    model = WithUnused(nn.Sequential(shared, nn.Tanh(), shared, nn.Linear(8, 1)))
    model.net[3].weight.requires_grad_(False)
    x, y = data
    got = monitor.gradient_profile(model, x, y)
    assert len(got) == 3  # shared once, the output layer, the unused layer
    assert got[2] == 0.0 and got[1] > 0  # frozen weights are differentiated too
    assert not model.net[3].weight.requires_grad  # and stay frozen
    want = reference_norms(model.net, x, y, select=lambda m: [m[0], m[3]])
    np.testing.assert_allclose(got[:2], want, rtol=1e-5)


# --- the model is left as it was -----------------------------------------------------------------


@pytest.mark.parametrize("training", [True, False])
def test_model_unchanged_weights_grads_buffers_mode(data, training):
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(8, 6), nn.BatchNorm1d(6), nn.Sigmoid(), nn.Linear(6, 1))
    model.train(training)
    x, y = data
    model(x).sum().backward()  # the caller's own gradients, which must survive
    model[3].weight.grad = None
    state = copy.deepcopy(model.state_dict())
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    monitor.gradient_profile(model, x, y)
    monitor.forward_profile(model, x)
    monitor.layer_profile(model, x, y)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key  # weights and BatchNorm running stats
    for p, g in zip(model.parameters(), grads, strict=True):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    assert all(m.training == training for m in model.modules())
    assert not any(m._forward_hooks for m in model.modules())


# --- forward statistics --------------------------------------------------------------------------


def test_forward_profile_counts_saturation_dead_units_and_slopes():
    torch.manual_seed(8)
    first = nn.Linear(5, 5)
    with torch.no_grad():
        first.bias[0] = -100.0  # unit 0 of the ReLU below is dead for every input
    model = nn.Sequential(nn.Linear(3, 5), nn.Sigmoid(), first, nn.ReLU(), nn.Linear(5, 1))
    with torch.no_grad():
        model[0].weight.mul_(8.0)
    x = torch.randn(200, 3).double()
    model = model.double()
    profile = monitor.forward_profile(model, x)
    z1 = model[0](x).detach()
    a1 = torch.sigmoid(z1)
    z2 = model[2](a1).detach()
    assert profile.names == ["1", "3"] and profile.kinds == ["sigmoid", "relu"]
    assert profile.saturation[0] == pytest.approx((z1.abs() > 5).double().mean().item())
    assert 0.1 < profile.saturation[0] < 0.9
    assert math.isnan(profile.saturation[1]) and math.isnan(profile.dead_fraction[0])
    dead = (torch.relu(z2) == 0).all(dim=0).double().mean().item()
    assert profile.dead_fraction[1] == pytest.approx(dead) and dead >= 0.2
    assert profile.scale[0] == pytest.approx(a1.pow(2).mean().sqrt().item())
    slope = derivative("sigmoid", z1.numpy())
    assert profile.slope_rms[0] == pytest.approx(np.sqrt(np.mean(slope**2)), rel=1e-9)


def test_layer_profile_is_both_profiles_in_one_pass(data):
    model = mlp(4, 6, in_features=8, activation="tanh", init="normal", scale=0.5, seed=0)
    x, y = data
    grads, forward = monitor.layer_profile(model, x, y)
    np.testing.assert_allclose(grads, monitor.gradient_profile(model, x, y), rtol=1e-6)
    separate = monitor.forward_profile(model, x)
    np.testing.assert_allclose(forward.saturation, separate.saturation)
    np.testing.assert_allclose(forward.slope_rms, separate.slope_rms, rtol=1e-6)


# --- how far the weights moved -------------------------------------------------------------------


def test_relative_change():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    snapshot = monitor.snapshot_weights(model)
    before = model[1].weight.detach().clone()
    with torch.no_grad():
        model[1].weight.add_(0.1)
    change = monitor.relative_change(model, snapshot)
    assert change[0] == 0.0
    assert change[1] == pytest.approx(
        (torch.full_like(before, 0.1).norm() / before.norm()).item(), rel=1e-5
    )
    with pytest.raises(ValueError, match="snapshot"):
        monitor.relative_change(model, snapshot[:1])


# --- the monitor ---------------------------------------------------------------------------------


def grad_norm(layer) -> float:
    return math.nan if layer.weight.grad is None else layer.weight.grad.norm().item()


def train(model, monitor_, steps=4, x=None, y=None, lr=0.1):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, generator=g) if x is None else x
    y = torch.randn(32, 1, generator=g) if y is None else y
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        history.append(
            (
                [grad_norm(p) for p in model if isinstance(p, nn.Linear)],
                [p.weight.detach().clone() for p in model if isinstance(p, nn.Linear)],
            )
        )
        monitor_.record(loss)
        opt.step()
    return history


def test_monitor_records_grad_norms_and_update_ratios():
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    mon = monitor.GradientMonitor(model, every=1)
    history = train(model, mon)
    assert mon.layer_names == ["0", "2"] and mon.steps == 4
    assert mon.losses.shape == (4,) and mon.grad_norms.shape == (4, 2)
    np.testing.assert_allclose(mon.grad_norms, [h[0] for h in history], rtol=1e-5)
    assert np.isnan(mon.update_ratios[0]).all()
    for k in range(1, 4):
        for i in range(2):
            before, after = history[k - 1][1][i], history[k][1][i]
            ratio = ((after - before).norm() / before.norm()).item()
            assert mon.update_ratios[k, i] == pytest.approx(ratio, rel=1e-4)


@pytest.mark.filterwarnings("ignore::gradwatch.GradwatchWarning")
def test_monitor_keeps_nan_and_inf_losses():
    model = nn.Sequential(nn.Linear(2, 1))
    mon = monitor.GradientMonitor(model, every=1)
    for value in (1.0, float("nan"), float("inf"), torch.tensor(2.0)):
        mon.record(value)
    np.testing.assert_array_equal(mon.losses, [1.0, np.nan, np.inf, 2.0])
    assert np.isnan(mon.grad_norms).all()  # no backward yet: no gradient, which is not 0


def test_monitor_does_not_track_a_layer_frozen_before_it_was_made():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    model[0].weight.requires_grad_(False)
    model[0].bias.requires_grad_(False)
    mon = monitor.GradientMonitor(model, every=1)
    train(model, mon, steps=1)
    assert mon.layer_names == ["1"] and mon.grad_norms.shape == (1, 1) and mon.grad_norms[0, 0] > 0


def test_monitor_forward_stats_and_hook_removal():
    model = nn.Sequential(
        nn.Linear(2, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)
    )
    with monitor.GradientMonitor(model, every=1, forward_stats=True) as mon:
        assert len(model[1]._forward_hooks) == 1
        train(model, mon, steps=3)
        x = torch.randn(32, 2) * 100  # an evaluation pass without a graph is not recorded
        with torch.no_grad():
            model(x)
        mon.record(0.0)  # no graph-building forward since the last record: NaN row
    assert not model[1]._forward_hooks and not model[3]._forward_hooks
    assert mon.activation_names == ["1", "3"]
    assert mon.saturation.shape == (4, 2) and mon.dead_fraction.shape == (4, 2)
    assert np.isnan(mon.saturation[:, 1]).all() and np.isnan(mon.dead_fraction[:, 0]).all()
    assert (mon.saturation[:3, 0] < 0.5).all() and np.isnan(mon.saturation[3]).all()
    assert (mon.activation_scale[:3] > 0).all()


def test_monitor_works_with_an_lstm():
    model = Recurrent()
    mon = monitor.GradientMonitor(model, every=1)
    x, y = torch.randn(4, 5, 3), torch.randn(4, 1)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    mon.record(loss)
    want = math.sqrt(sum(w.grad.norm().item() ** 2 for w in monitor.layer_weights(model.lstm)))
    assert mon.grad_norms[0, 0] == pytest.approx(want, rel=1e-5)
    summary = mon.summary()
    assert summary["steps"] == 1 and summary["layer_names"] == ["lstm", "head"]
    assert math.isnan(summary["median_update_ratio"][0])


def test_monitor_without_forward_stats_says_how_to_enable():
    mon = monitor.GradientMonitor(nn.Linear(2, 1), every=1)
    with pytest.raises(AttributeError, match="forward_stats=True"):
        mon.saturation  # noqa: B018


# --- errors --------------------------------------------------------------------------------------


def test_errors_name_the_problem(data):
    x, y = data
    model = nn.Sequential(nn.Linear(8, 1))
    with pytest.raises(TypeError, match="model"):
        monitor.gradient_profile("not a model", x, y)
    with pytest.raises(ValueError, match="no layer to track"):
        monitor.gradient_profile(nn.Sequential(nn.Tanh()), x, y)
    with pytest.raises(ValueError, match="no layer to track"):
        monitor.GradientMonitor(nn.ReLU())
    with pytest.raises(ValueError, match=r"y has shape \(16,\)"):
        monitor.gradient_profile(model, x, y[:, 0])
    with pytest.raises(TypeError, match="loss_fn"):
        monitor.gradient_profile(model, x, y, loss_fn="mse")
    with pytest.raises(TypeError, match="x must be"):
        monitor.gradient_profile(model, "abc", y)


def test_in_place_activation_is_measured_before_it_overwrites_its_input():
    torch.manual_seed(9)
    x = torch.randn(50, 3)
    plain = nn.Sequential(nn.Linear(3, 6), nn.ELU(), nn.Linear(6, 1))
    inplace = copy.deepcopy(plain)
    inplace[1] = nn.ELU(inplace=True)
    a, b = monitor.forward_profile(plain, x), monitor.forward_profile(inplace, x)
    assert b.slope_rms[0] == pytest.approx(a.slope_rms[0], rel=1e-6)
    assert b.scale[0] == pytest.approx(a.scale[0], rel=1e-6)
