"""The monitor's API as the README states it: data-flow order, every parameter covered once, no
gradient is NaN (never 0), sampling with ``every``, GradScaler, moved weights, a reused
activation module, and a bounded record."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from gradwatch import GradientMonitor
from gradwatch.layers import GradwatchWarning
from gradwatch.store import RowStore


def step(model, monitor, x, y, optimizer=None, **record):
    if optimizer is not None:
        optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    monitor.record(loss, **record)
    if optimizer is not None:
        optimizer.step()
    return loss


class HeadFirst(nn.Module):
    """A ModuleDict whose head is registered before the trunk that feeds it."""

    def __init__(self):
        super().__init__()
        self.parts = nn.ModuleDict({"head": nn.Linear(8, 1), "trunk": nn.Linear(3, 8)})

    def forward(self, x):
        return self.parts["head"](torch.tanh(self.parts["trunk"](x)))


def test_layers_follow_the_data_not_the_registration():
    model = HeadFirst()
    monitor = GradientMonitor(model, every=1)
    step(model, monitor, torch.randn(4, 3), torch.randn(4, 1))
    assert monitor.layer_order == "forward"
    assert monitor.layer_names == ["parts.trunk", "parts.head"]
    assert monitor.grad_norms[0, 0] == pytest.approx(
        model.parts["trunk"].weight.grad.norm().item(), rel=1e-6
    )


def test_without_a_forward_pass_the_order_is_registration_and_says_so():
    model = HeadFirst()
    loss = nn.functional.mse_loss(model(torch.randn(4, 3)), torch.randn(4, 1))
    loss.backward()
    monitor = GradientMonitor(model, every=1)  # made after the forward pass
    with pytest.warns(GradwatchWarning, match="registration order"):
        monitor.record(loss)
    assert monitor.layer_order == "registration"
    assert monitor.layer_names == ["parts.head", "parts.trunk"]


def test_a_transformer_is_covered_parameter_by_parameter():
    torch.manual_seed(0)
    encoder = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    model = nn.Sequential(nn.Embedding(10, 16), encoder)
    monitor = GradientMonitor(model, every=1)
    out = model(torch.randint(0, 10, (4, 5)))
    out.pow(2).mean().backward()
    monitor.record(out.pow(2).mean())
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert set(monitor.coverage()) == trainable
    assert monitor.layer_names == [
        "0", "1.self_attn", "1.self_attn.out_proj", "1.linear1", "1.linear2",
    ]  # fmt: skip
    assert monitor.norm_names == ["1.norm1", "1.norm2"]
    want = model[1].self_attn.in_proj_weight.grad.norm().item()
    assert monitor.grad_norms[0, 1] == pytest.approx(want, rel=1e-6)
    bias = model[1].linear1.bias.grad.norm().item()
    assert monitor.bias_grad_norms[0, 3] == pytest.approx(bias, rel=1e-6)
    assert np.isnan(monitor.bias_grad_norms[0, 0])  # an embedding has no bias
    norm = math.hypot(model[1].norm2.weight.grad.norm(), model[1].norm2.bias.grad.norm())
    assert monitor.norm_grad_norms[0, 1] == pytest.approx(norm, rel=1e-6)


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.spare = nn.Linear(3, 1), nn.Linear(3, 1)

    def forward(self, x):
        return self.used(x)


@pytest.mark.filterwarnings("ignore::gradwatch.GradwatchWarning")
def test_a_missing_gradient_is_nan_and_named_in_a_warning():
    model = Unused()
    monitor = GradientMonitor(model, every=1)
    with pytest.warns(GradwatchWarning, match=r"'spare.weight' has no gradient"):
        step(model, monitor, torch.randn(4, 3), torch.randn(4, 1))
    assert monitor.layer_names == ["used", "spare"]  # the unused one last
    assert monitor.grad_norms[0, 0] > 0 and np.isnan(monitor.grad_norms[0, 1])


def test_record_before_backward_warns():
    model = nn.Linear(3, 1)
    monitor = GradientMonitor(model, every=1)
    with pytest.warns(GradwatchWarning, match="after loss.backward"):
        monitor.record(nn.functional.mse_loss(model(torch.randn(2, 3)), torch.zeros(2, 1)))


def test_every_measures_one_step_in_n_and_averages_the_losses_between():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    monitor = GradientMonitor(model, every=4)
    losses, grads, weights = [], [], []
    for _ in range(10):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        weights.append(model[0].weight.detach().clone())
        grads.append(model[0].weight.grad.norm().item())
        losses.append(loss.item())
        monitor.record(loss)
        optimizer.step()
    assert monitor.calls == 10 and list(monitor.step_index) == [0, 4, 8]
    np.testing.assert_allclose(
        monitor.losses, [losses[0], np.mean(losses[1:5]), np.mean(losses[5:9])], rtol=1e-6
    )
    np.testing.assert_allclose(monitor.grad_norms[:, 0], [grads[0], grads[4], grads[8]], rtol=1e-6)
    ratio = ((weights[8] - weights[7]).norm() / weights[7].norm()).item()  # one step's update
    assert monitor.update_ratios[2, 0] == pytest.approx(ratio, rel=1e-5)
    assert list(monitor.loss_counts) == [1, 4, 4]


def test_forward_hooks_are_attached_only_for_measured_steps():
    model = nn.Sequential(nn.Linear(3, 8), nn.Sigmoid(), nn.Linear(8, 1))
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    with GradientMonitor(model, every=3, forward_stats=True) as monitor:
        attached = []
        for _ in range(7):
            attached.append(bool(model[1]._forward_hooks))
            step(model, monitor, x, y)
    assert attached == [True, False, False, True, False, False, True]
    assert monitor.saturation.shape == (3, 1) and np.isfinite(monitor.activation_scale).all()
    assert not model[1]._forward_hooks


def test_grad_scaler_is_unscaled_and_overflow_steps_are_skipped():
    torch.manual_seed(2)
    model = nn.Linear(3, 1)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    monitor = GradientMonitor(model, every=1)
    loss = nn.functional.mse_loss(model(x), y)
    scaler.scale(loss).backward()
    monitor.record(loss, scaler=scaler)
    scaled = model.weight.grad.norm().item()
    assert monitor.grad_norms[0, 0] == pytest.approx(scaled / 1024.0, rel=1e-6)
    model.weight.grad[0, 0] = math.inf  # an overflow: GradScaler would skip this step
    monitor.record(loss, scaler=scaler)
    assert monitor.steps == 1 and monitor.overflow_steps == 1 and monitor.calls == 2
    with pytest.raises(TypeError, match="scaler must be"):
        monitor.record(loss, scaler="yes")


def test_gradients_already_unscaled_are_not_divided_again():
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
    monitor = GradientMonitor(model, every=1)
    loss = nn.functional.mse_loss(model(torch.randn(8, 3)), torch.randn(8, 1))
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    monitor.record(loss, scaler=scaler)
    assert monitor.grad_norms[0, 0] == pytest.approx(model.weight.grad.norm().item(), rel=1e-6)


def test_weights_moved_to_double_are_followed_with_a_warning():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    monitor = GradientMonitor(model, every=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    step(model, monitor, x, y, optimizer)
    model.double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(GradwatchWarning, match="changed dtype or device"):
        step(model, monitor, x.double(), y.double(), optimizer)
    assert np.isnan(monitor.update_ratios[1]).all()
    step(model, monitor, x.double(), y.double(), optimizer)
    assert np.isfinite(monitor.update_ratios[2]).all()  # reads the new weights, not stale ones
    assert monitor.grad_norms[2, 0] == pytest.approx(model[0].weight.grad.norm().item(), rel=1e-6)


class SharedActivation(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))
        self.act = nn.ReLU()

    def forward(self, x):
        for layer in self.layers:
            x = self.act(layer(x))
        return x.sum(1, keepdim=True)


def test_a_reused_activation_module_is_named_in_a_warning():
    model = SharedActivation()
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    with GradientMonitor(model, every=1, forward_stats=True) as monitor:
        with pytest.warns(GradwatchWarning, match="'act' is called more than once"):
            step(model, monitor, x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            step(model, monitor, x, y)  # said once


def test_an_embedding_update_ratio_reads_the_rows_that_moved():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Embedding(100, 8), nn.Flatten(), nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    tokens, y = torch.tensor([[1, 2], [2, 3]]), torch.randn(2, 1)
    monitor = GradientMonitor(model, every=1)
    seen = []
    for _ in range(2):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(tokens), y)
        loss.backward()
        seen.append(model[0].weight.detach().clone())
        monitor.record(loss)
        optimizer.step()
    before, after = seen
    want = ((after - before).norm() / before[[1, 2, 3]].norm()).item()
    assert monitor.update_ratios[1, 0] == pytest.approx(want, rel=1e-5)
    whole = ((after - before).norm() / before.norm()).item()
    assert monitor.update_ratios[1, 0] > 4 * whole  # 3 of 100 rows moved


def test_store_thins_old_rows_and_keeps_every_loss():
    store = RowStore(2, capacity=128)
    losses = np.arange(1000, dtype=np.float64)
    for k, loss in enumerate(losses):
        store.append(k, 1, torch.tensor([loss, 10.0 * k]))
    steps, counts, values = store.read()
    assert len(steps) <= 128 and counts.sum() == 1000
    assert (np.diff(steps) > 0).all() and steps[-1] == 999
    assert list(steps[-64:]) == list(range(936, 1000))  # the recent half at full resolution
    np.testing.assert_allclose(values[:, 1], 10.0 * steps)  # each row's values are its own
    # each row's loss is the mean of the steps since the previous kept row
    edges = np.concatenate([[-1], steps])
    want = [losses[a + 1 : b + 1].mean() for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_allclose(values[:, 0], want, rtol=1e-6)


def test_a_long_record_stays_within_its_capacity():
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(5)])
    monitor = GradientMonitor(model, every=1, capacity=256)
    loss = model(torch.randn(2, 4)).sum()
    loss.backward()
    for _ in range(3000):
        monitor.record(loss)
    assert monitor.steps <= 256 and monitor.step_index[-1] == 2999
    assert monitor.loss_counts.sum() == 3000


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"every": 0}, ValueError, "every must be a positive integer"),
        ({"every": 1.5}, TypeError, "every must be a positive integer"),
        ({"capacity": 8}, ValueError, "capacity must be at least 16"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        GradientMonitor(nn.Linear(2, 1), **kwargs)


def test_gradient_profile_follows_the_data_too():
    from gradwatch import gradient_profile

    torch.manual_seed(5)
    model = HeadFirst()
    x, y = torch.randn(6, 3), torch.randn(6, 1)
    got = gradient_profile(model, x, y)
    nn.functional.mse_loss(model(x), y).backward()
    want = [
        model.parts["trunk"].weight.grad.norm().item(),
        model.parts["head"].weight.grad.norm().item(),
    ]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_conv_transpose_and_functional_activations():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.ConvTranspose2d(4, 1, 3, stride=2))
    with pytest.warns(GradwatchWarning, match="no activation module"):
        monitor = GradientMonitor(model, every=1, forward_stats=True)
    x = torch.randn(2, 1, 9, 9)
    loss = (model(x) - x).square().mean()
    loss.backward()
    monitor.record(loss)
    assert monitor.layer_names == ["0", "1"]
    assert set(monitor.coverage()) == {name for name, _ in model.named_parameters()}
    assert monitor.grad_norms[0, 1] == pytest.approx(model[1].weight.grad.norm().item(), rel=1e-6)


def test_the_scalers_scale_is_read_at_measured_steps_only():
    model = nn.Linear(3, 1)
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0)
    reads = []
    get_scale = scaler.get_scale
    scaler.get_scale = lambda: reads.append(1) or get_scale()  # get_scale syncs with the host
    monitor = GradientMonitor(model, every=4)
    loss = nn.functional.mse_loss(model(torch.randn(4, 3)), torch.randn(4, 1))
    scaler.scale(loss).backward()
    for _ in range(8):
        monitor.record(loss, scaler=scaler)
    assert len(reads) == 2 and list(monitor.step_index) == [0, 4]
    with pytest.raises(TypeError, match="scaler must be"):
        monitor.record(loss, scaler="yes")  # an unmeasured step still checks its argument
