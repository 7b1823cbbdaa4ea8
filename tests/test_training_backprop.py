"""The hand-written backward pass of helpers.training.backprop against autograd."""

import pytest
import torch
from torch import nn

from helpers.data import toy_regression
from helpers.models import mlp
from helpers.training.backprop import Chain
from helpers.training.batched import Stack, per_copy_loss


def _autograd(stack: Stack, x, y, loss: str):
    for p in stack.params.values():
        p.grad = None
    per_copy = per_copy_loss(stack.forward(x), y, loss)
    per_copy.sum().backward()
    return per_copy.detach(), {name: p.grad.clone() for name, p in stack.params.items()}


def _by_hand(stack: Stack, x, y, loss: str):
    chain = Chain.of(stack)
    assert chain is not None
    per_copy = chain.loss_and_gradients(x, y, loss)
    return per_copy, {name: p.grad.clone() for name, p in stack.params.items()}


def _models(activation: str, seeds=(0, 1, 2), **kwargs):
    return [mlp(4, 8, activation=activation, seed=s, **kwargs) for s in seeds]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_gradients_equal_autograd(activation, loss):
    x, y = toy_regression(64, seed=1)
    if loss == "bce":
        y = (y > y.median()).float()
    expected_loss, expected = _autograd(Stack(_models(activation)), x, y, loss)
    got_loss, got = _by_hand(Stack(_models(activation)), x, y, loss)
    torch.testing.assert_close(got_loss, expected_loss, rtol=1e-5, atol=0)
    for name, grad in expected.items():
        torch.testing.assert_close(got[name], grad, rtol=1e-4, atol=1e-9, msg=name)


def test_per_copy_inputs_and_an_activation_on_the_output_layer():
    def build(seed):
        return nn.Sequential(
            nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3), nn.Sigmoid()
        ).requires_grad_()

    torch.manual_seed(0)
    models = [build(s) for s in range(2)]
    x, y = torch.randn(2, 16, 2), torch.rand(2, 16, 3)
    twins = [build(s) for s in range(2)]
    for twin, model in zip(twins, models, strict=True):
        twin.load_state_dict(model.state_dict())
    expected_loss, expected = _autograd(Stack(models), x, y, "mse")
    got_loss, got = _by_hand(Stack(twins), x, y, "mse")
    torch.testing.assert_close(got_loss, expected_loss)
    for name, grad in expected.items():
        torch.testing.assert_close(got[name], grad, msg=name)


def test_a_second_input_shape_gets_new_buffers():
    stack = Stack(_models("tanh", seeds=(0,)))
    chain = Chain.of(stack)
    for batch in (32, 8):
        x, y = toy_regression(batch, seed=2)
        got = chain.loss_and_gradients(x, y, "mse").clone()
        assert got[0].item() == pytest.approx(per_copy_loss(stack.forward(x), y, "mse")[0].item(),
                                              rel=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    "model",
    [
        mlp(2, 4, norm="batch", seed=0),
        mlp(2, 4, residual=True, seed=0),
        mlp(2, 4, activation="elu", seed=0),
        mlp(2, 4, bias=False, seed=0),
        nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Tanh(), nn.Linear(3, 1)),
        nn.Sequential(nn.Tanh(), nn.Linear(2, 1)),
    ],
    ids=["batch norm", "residual", "elu", "no bias", "two activations", "leading activation"],
)
def test_other_models_take_the_autograd_path(model):
    assert Chain.of(Stack([model])) is None


def test_dead_copies_get_zero_gradients():
    stack = Stack(_models("relu", seeds=(0, 1)))
    chain = Chain.of(stack)
    x, y = toy_regression(16, seed=0)
    chain.loss_and_gradients(x, y, "mse")
    chain.zero_dead(torch.tensor([False, True]))
    for p in stack.params.values():
        assert p.grad[1].abs().sum() == 0 and p.grad[0].abs().sum() > 0
