"""helpers.training: the one loop, and the batched trainer against it."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import training
from helpers.models import mean_baseline_loss, mlp, toy_regression
from helpers.training.batched import Stack, clip_per_copy, train_many


@pytest.fixture(scope="module")
def data():
    return toy_regression(128, seed=0)


def test_one_sgd_step_is_lr_times_the_gradient(data):
    x, y = data
    model = mlp(2, 8, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    reference = mlp(2, 8, seed=0)
    nn.functional.mse_loss(reference(x), y).backward()
    result = training.train(model, (x, y), steps=1, lr=0.1)
    for p0, p1, ref in zip(before, model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p1.detach(), p0 - 0.1 * ref.grad)
    assert result.losses.shape == (1,)
    first = float(nn.functional.mse_loss(reference(x), y).detach())
    assert result.losses[0] == pytest.approx(first)


def test_loss_falls_and_final_and_held_out_losses_are_reported(data):
    x, y = data
    model = mlp(2, 16, activation="tanh", init="xavier", seed=0)
    held = toy_regression(64, seed=1)
    result = training.train(model, (x, y), steps=300, lr=0.1, held_out=held)
    assert result.final_loss < 0.5 * mean_baseline_loss(y)
    assert result.held_out == pytest.approx(training.evaluate(model, *held))
    assert result.final_loss < result.losses[0] and not result.diverged


def test_divergence_stops_training(data):
    x, y = data
    model = mlp(3, 16, activation="relu", init="he", scale=20.0, seed=0)
    result = training.train(model, (x, y), steps=50, lr=10.0)
    assert result.diverged and len(result.losses) < 50
    assert not math.isfinite(result.losses[-1]) and math.isnan(result.final_loss)


def test_clipping_bounds_the_norm_and_counts(data):
    x, y = data
    model = mlp(3, 16, activation="relu", init="he", seed=0)
    result = training.train(model, (x, y), steps=5, lr=0.01, clip=1e-3)
    assert len(result.grad_norms) == 5 and result.clipped == 5
    assert (result.grad_norms > 1e-3).all()


class Recorder:
    """Stands in for a GradientMonitor: keeps the loss of every record() call."""

    def __init__(self):
        self.losses = []

    def record(self, loss):
        self.losses.append(float(loss.detach()))


def test_monitor_records_once_per_step(data):
    x, y = data
    recorder = Recorder()
    result = training.train(mlp(2, 8, seed=0), (x, y), steps=7, lr=0.1, monitor=recorder)
    np.testing.assert_allclose(recorder.losses, result.losses)


def test_minibatches_cover_every_row_each_epoch():
    x = torch.arange(10.0)[:, None]
    batches = training.minibatches(x, x, 5, seed=0)
    epoch = torch.cat([next(batches)[0] for _ in range(2)]).flatten()
    assert sorted(epoch.tolist()) == list(range(10))


def test_a_batch_iterator_and_bce(data):
    x, _ = data
    labels = (x[:, :1] > 0).float()
    batches = iter([(x, labels)] * 100)
    result = training.train(mlp(2, 8, activation="relu", init="he", seed=0), batches,
                            steps=100, lr=0.5, loss="bce")  # fmt: skip
    assert result.losses[-1] < 0.5 * math.log(2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"lr": -1.0}, "lr must be"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
        ({"loss": "hinge"}, "unknown loss 'hinge'"),
        ({"clip": 0.0}, "clip must be > 0"),
    ],
)
def test_bad_arguments_name_themselves(data, kwargs, message):
    arguments = {"steps": 1, "lr": 0.1, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        training.train(mlp(2, 4, seed=0), data, **arguments)


def test_empty_or_mismatched_data_is_refused():
    model = mlp(2, 4, seed=0)
    with pytest.raises(ValueError, match="data is empty"):
        training.train(model, (torch.zeros(0, 2), torch.zeros(0, 1)), steps=1, lr=0.1)
    with pytest.raises(ValueError, match="x has 3 rows but y has 2"):
        training.train(model, (torch.zeros(3, 2), torch.zeros(2, 1)), steps=1, lr=0.1)


# --- the batched trainer -------------------------------------------------------------------------

CONFIGS = {
    "sigmoid": ({"depth": 8, "width": 16}, "sgd", 0.0, None, (0.05, 0.2)),
    "relu adam": ({"depth": 8, "width": 16, "activation": "relu", "init": "he"}, "adam", 0.0,
                  None, (1e-3, 1e-2)),
    "batch norm": ({"depth": 4, "width": 16, "norm": "batch"}, "sgd", 0.0, None, (0.02,)),
    "layer norm": ({"depth": 4, "width": 16, "norm": "layer", "activation": "tanh"}, "sgd", 0.0,
                   None, (0.05,)),
    "residual clip": ({"depth": 4, "width": 16, "residual": True, "activation": "relu",
                       "init": "he"}, "sgd", 0.0, 0.5, (0.05,)),
    "momentum": ({"depth": 4, "width": 16, "activation": "tanh"}, "sgd", 0.9, None, (0.02,)),
}  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
def test_batched_copies_follow_their_single_runs_for_20_steps(data, config):
    kwargs, optimizer, momentum, clip, lrs = CONFIGS[config]

    def build(seed):
        return mlp(seed=seed, **kwargs)

    options = {"optimizer": optimizer, "momentum": momentum, "clip": clip, "steps": 20}
    many = train_many(build, data, seeds=[0, 1], lrs=lrs, **options)
    assert many.losses.shape == (2 * len(lrs), 20)
    for k, (seed, lr) in enumerate(zip(many.seeds, many.lrs, strict=True)):
        single = training.train(build(int(seed)), data, lr=float(lr), **options)
        np.testing.assert_allclose(many.losses[k], single.losses, rtol=2e-4)
        assert many.final_loss[k] == pytest.approx(single.final_loss, rel=2e-4)


def test_batched_centred_scaled_residual_blocks_follow_their_single_runs(data):
    def build(seed):
        model = mlp(4, 16, residual=True, seed=seed)
        for block in (model.block2, model.block3, model.block4):
            block.centre, block.branch_scale = 0.5, 0.5
        return model

    many = train_many(build, data, seeds=[0], lrs=[0.1], steps=20)
    single = training.train(build(0), data, lr=0.1, steps=20)
    np.testing.assert_allclose(many.losses[0], single.losses, rtol=2e-4)


def test_batched_weights_are_written_back_and_the_grid_is_seed_major(data):
    many = train_many(lambda s: mlp(2, 8, seed=s), data, seeds=[3, 4], lrs=[0.1, 0.2, 0.3],
                      steps=3)  # fmt: skip
    assert many.seeds.tolist() == [3, 3, 3, 4, 4, 4] and many.grid(many.lrs)[1].tolist() == [
        0.1, 0.2, 0.3]  # fmt: skip
    x, y = data
    for k, model in enumerate(many.models):
        assert training.evaluate(model, x, y, train_mode=True) == pytest.approx(
            many.final_loss[k], rel=1e-5
        )


def test_batch_norm_running_statistics_update_and_held_out_uses_them(data):
    x, y = data
    many = train_many(lambda s: mlp(3, 8, norm="batch", seed=s), data, seeds=[0], lrs=[0.05],
                      steps=10, held_out=(x, y))  # fmt: skip
    model = many.models[0]
    single = mlp(3, 8, norm="batch", seed=0)
    training.train(single, data, steps=10, lr=0.05)
    torch.testing.assert_close(model.norm1.running_mean, single.norm1.running_mean, rtol=1e-3,
                               atol=1e-5)  # fmt: skip
    assert int(model.norm1.num_batches_tracked) == 10
    assert many.held_out[0] == pytest.approx(training.evaluate(single, x, y), rel=1e-3)


def test_a_diverged_copy_stops_alone(data):
    many = train_many(lambda s: mlp(3, 16, activation="relu", init="he", seed=s),
                      data, seeds=[0], lrs=[0.01, 100.0], steps=30)  # fmt: skip
    assert many.diverged.tolist() == [False, True]
    assert np.isfinite(many.losses[0]).all() and np.isnan(many.losses[1, -1])
    assert np.isnan(many.final_loss[1]) and np.isfinite(many.final_loss[0])


def test_per_copy_clipping_matches_torch():
    params = {"w": torch.zeros(2, 3, requires_grad=True)}
    params["w"].grad = torch.tensor([[3.0, 4.0, 0.0], [0.3, 0.4, 0.0]])
    norms = clip_per_copy(params, 1.0)
    np.testing.assert_allclose(norms.numpy(), [5.0, 0.5])
    np.testing.assert_allclose(params["w"].grad[0].norm().item(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(params["w"].grad[1].numpy(), [0.3, 0.4, 0.0])


def test_unsupported_modules_are_named():
    model = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.1), nn.Linear(4, 1))
    with pytest.raises(TypeError, match=r"module '1' \(Dropout\)"):
        Stack([model])


def test_record_nonfinite_shows_the_diverged_step_to_the_monitor(data):
    x, y = data
    runs = []
    for flag in (False, True):
        recorder = Recorder()
        model = mlp(3, 16, activation="relu", init="he", scale=20.0, seed=0)
        result = training.train(
            model, (x, y), steps=50, lr=10.0, monitor=recorder, record_nonfinite=flag
        )
        runs.append((recorder.losses, result.losses))
    (quiet, losses), (loud, same) = runs
    np.testing.assert_array_equal(losses, same)
    assert len(quiet) == len(losses) - 1 and all(math.isfinite(v) for v in quiet)
    assert len(loud) == len(losses) and not math.isfinite(loud[-1])


def test_batch_norm_with_momentum_none_keeps_torchs_cumulative_average(data):
    def build(seed):
        model = mlp(2, 8, norm="batch", seed=seed)
        model.norm1.momentum = model.norm2.momentum = None
        return model

    many = train_many(build, data, seeds=[0], lrs=[0.05], steps=5)
    single = build(0)
    training.train(single, data, steps=5, lr=0.05)
    torch.testing.assert_close(many.models[0].norm2.running_var, single.norm2.running_var,
                               rtol=1e-4, atol=1e-6)  # fmt: skip
    assert int(many.models[0].norm2.num_batches_tracked) == 5


def test_warmup_scales_the_first_steps_learning_rate(data):
    # step t uses lr · min(1, (t + 1)/W): with plain SGD the first update is lr/W times the gradient
    x, y = data
    model, reference = mlp(2, 8, seed=0), mlp(2, 8, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    nn.functional.mse_loss(reference(x), y).backward()
    training.train(model, (x, y), steps=1, lr=0.1, warmup_steps=4)
    for p0, p1, ref in zip(before, model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p1.detach(), p0 - 0.025 * ref.grad)
    plain, warmed = mlp(2, 8, seed=0), mlp(2, 8, seed=0)
    a = training.train(plain, (x, y), steps=5, lr=0.1).losses
    b = training.train(warmed, (x, y), steps=5, lr=0.1, warmup_steps=1).losses
    np.testing.assert_array_equal(a, b)  # a warm-up of one step is no warm-up


class _ScalerRecorder:
    def __init__(self):
        self.scales = []

    def record(self, loss, scaler=None):
        self.scales.append(None if scaler is None else float(scaler.get_scale()))


def test_float16_autocast_and_loss_scaling(data):
    x, y = data
    model = mlp(2, 8, seed=0)
    with torch.autocast("cpu", dtype=torch.float16):
        out = model(x)
    expected = float(nn.functional.mse_loss(out.float(), y).detach())
    fp16 = training.train(mlp(2, 8, seed=0), (x, y), steps=1, lr=0.1, autocast="float16")
    assert fp16.losses[0] == pytest.approx(expected, rel=1e-6)
    fp32 = training.train(mlp(2, 8, seed=0), (x, y), steps=1, lr=0.1)
    assert fp16.losses[0] != fp32.losses[0]  # the forward pass really ran in float16
    recorder = _ScalerRecorder()
    training.train(
        mlp(2, 8, seed=0), (x, y), steps=3, lr=0.1, autocast="float16", loss_scaling=True,
        monitor=recorder, clip=1.0,
    )  # fmt: skip
    assert recorder.scales == [2.0**16] * 3  # the monitor is handed the GradScaler


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup_steps": -1}, "warmup_steps must be an integer >= 0"),
        ({"warmup_steps": 2.5}, "warmup_steps must be an integer >= 0"),
        ({"autocast": "float8"}, "unknown autocast 'float8'"),
        ({"loss_scaling": True}, "loss_scaling=True is for autocast='float16'"),
        ({"loss_scaling": True, "autocast": "bfloat16"}, "loss_scaling=True is for"),
        ({"loss_scaling": 1}, "loss_scaling must be True or False"),
    ],
)
def test_bad_precision_and_warmup_arguments_name_themselves(data, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        training.train(mlp(2, 4, seed=0), data, steps=1, lr=0.1, **kwargs)
