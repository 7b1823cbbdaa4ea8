"""helpers.matrix: the causes, the remedies, a fair cell and the signals at initialization."""

import math
from dataclasses import fields

import numpy as np
import pytest
import torch
from torch import nn

from helpers import matrix
from helpers.models import ResidualBlock
from helpers.recursion import variance_recursion


def test_the_public_names_of_course_md():
    assert {"tiny_init", "deep_sigmoid", "relu_mismatched_init", "large_init", "dying_relu"} <= set(
        matrix.CAUSES
    )
    assert {"none", "relu_he", "matched_init", "batch_norm", "layer_norm", "residual",
            "fewer_layers", "adam", "clip"} <= set(matrix.REMEDIES)  # fmt: skip


def test_critical_sigmoid_scale_makes_the_backward_factor_one():
    s = matrix.critical_sigmoid_scale(32)
    chi = variance_recursion("sigmoid", 60, 32 * s**2).chi[-1]
    assert chi == pytest.approx(1.0, abs=1e-6)
    assert 1.7 < s < 1.9  # about ten times Xavier's std at width 32
    assert matrix.critical_sigmoid_scale(128) == pytest.approx(s * math.sqrt(32 / 128))
    below = variance_recursion("sigmoid", 60, 32 * (0.9 * s) ** 2).chi[-1]
    assert below < 1


def test_at_the_critical_scale_the_measured_per_layer_factor_is_about_one():
    net = matrix.REMEDIES["matched_init"](matrix.CAUSES["deep_sigmoid"])
    rates = []
    for seed in range(3):
        _, profile = matrix.signals(net, seed=seed)
        rates.append((profile[-1] / profile[0]) ** (1 / (len(profile) - 1)))
    assert all(0.7 < r < 1.4 for r in rates), rates
    _, default = matrix.signals(matrix.CAUSES["deep_sigmoid"])
    assert (default[-1] / default[0]) ** (1 / 9) > 5  # the default scale loses ~10x per layer


@pytest.mark.parametrize("remedy", list(matrix.REMEDIES))
def test_each_remedy_changes_at_most_the_fields_it_names(remedy):
    allowed = {
        "none": set(),
        "relu_he": {"activation", "init", "scale", "bias"},
        "matched_init": {"init", "scale", "bias"},
        "batch_norm": {"norm"},
        "layer_norm": {"norm"},
        "residual": {"residual"},
        "fewer_layers": {"depth"},
        "adam": {"optimizer"},
        "clip": {"clip"},
    }[remedy]
    for cause, net in matrix.CAUSES.items():
        changed = {
            f.name
            for f in fields(net)
            if getattr(net, f.name) != getattr(matrix.REMEDIES[remedy](net), f.name)
        }
        assert changed <= allowed, (cause, remedy, changed)


def test_matched_init_is_he_for_relu_and_the_critical_scale_for_the_sigmoid():
    relu = matrix.REMEDIES["matched_init"](matrix.CAUSES["large_init"])
    assert (relu.init, relu.scale) == ("he", None)
    sigmoid = matrix.REMEDIES["matched_init"](matrix.CAUSES["tiny_init"])
    assert sigmoid.init == "normal" and sigmoid.scale == pytest.approx(1.794, abs=0.01)


def test_build_sets_hidden_biases_and_residual_branches():
    dying = matrix.CAUSES["dying_relu"].build(0)
    hidden = [m for m in dying.modules() if isinstance(m, nn.Linear) and m is not dying.output]
    assert all(torch.all(m.bias == -3.0) for m in hidden) and torch.all(dying.output.bias == 0)
    residual = matrix.REMEDIES["residual"](matrix.CAUSES["deep_sigmoid"]).build(0)
    blocks = [m for m in residual.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 9
    assert all(
        b.centre == 0.5 and b.branch_scale == pytest.approx(1 / math.sqrt(10)) for b in blocks
    )
    relu = matrix.REMEDIES["residual"](matrix.CAUSES["large_init"]).build(0)
    assert all(b.centre == 0.0 for b in relu.modules() if isinstance(b, ResidualBlock))


def test_build_is_seeded():
    net = matrix.CAUSES["deep_sigmoid"]
    a, b, c = net.build(0), net.build(0), net.build(1)
    assert torch.equal(a.linear1.weight, b.linear1.weight)
    assert not torch.equal(a.linear1.weight, c.linear1.weight)


def test_splits_are_disjoint_draws_and_the_mean_predictor_is_the_training_mean():
    (x, y), (xv, yv), (xt, yt), mean = matrix.splits()
    assert (x.shape[0], xv.shape[0], xt.shape[0]) == (128, 256, 512)
    assert mean == pytest.approx(float(y.mean()))
    assert not torch.allclose(x[:5], xv[:5])


def test_signals_at_initialization():
    spread, profile = matrix.signals(matrix.CAUSES["dying_relu"])
    assert spread == 0.0 and np.all(profile[:-1] == 0.0) and profile[-1] > 0
    spread, profile = matrix.signals(matrix.CAUSES["deep_sigmoid"])
    assert spread < float(np.spacing(np.float32(0.5)))  # rounded away in float32
    assert profile[0] / profile[-1] < 1e-6
    spread, profile = matrix.signals(matrix.CAUSES["large_init"])
    assert profile[0] > profile[-1] * 10  # the backward signal grows towards the input


def test_relative_loss_of_the_mean_predictor_is_one():
    (_, _), _, (xt, yt), mean = matrix.splits()

    class Constant(nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 1), mean)

    assert matrix._relative(Constant(), xt, yt, mean) == pytest.approx(1.0)


def test_a_cell_picks_its_rate_on_validation_and_scores_every_seed():
    cell = matrix.cell("dying_relu", "batch_norm", seeds=(0, 1))
    assert cell.seeds == (0, 1) and cell.relative_loss.shape == (2,)
    assert cell.lr in matrix.SGD_LRS
    assert cell.learned == 2 and cell.verdict == "2/2"
    stuck = matrix.cell("dying_relu", "adam", seeds=(0, 1))
    assert stuck.lr in matrix.ADAM_LRS and stuck.learned == 0
    np.testing.assert_allclose(stuck.relative_loss, 1.0, atol=0.05)


def test_identical_networks_train_once():
    a = matrix.cell("dying_relu", "relu_he", seeds=(0,))
    b = matrix.cell("tiny_init", "relu_he", seeds=(0,))
    assert a.network == b.network and a.relative_loss is b.relative_loss


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cause": "shallow", "remedy": "none"}, "cause"),
        ({"cause": "tiny_init", "remedy": "dropout"}, "remedy"),
        ({"cause": "tiny_init", "remedy": "none", "seeds": ()}, "seeds"),
        ({"cause": "tiny_init", "remedy": "none", "seeds": (1, 1)}, "seeds"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        matrix.cell(**kwargs)


@pytest.mark.slow
def test_every_control_learns_on_five_seeds():
    for cause in matrix.CAUSES:
        cell = matrix.cell(cause, matrix.CONTROL)
        assert cell.learned == 5, (cause, cell.relative_loss)
