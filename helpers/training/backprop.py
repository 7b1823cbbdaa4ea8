"""Backpropagation written out for stacked chains of Linear layers and elementwise activations.

The batched trainer's commonest network is a plain MLP: Linear layers, each followed by at most
one of sigmoid, tanh, ReLU, leaky ReLU or the identity. For it, :class:`Chain` skips autograd.
The forward pass runs each layer as one batched product into buffers allocated once,
``z = b + h·Wᵀ`` (``baddbmm``), then the activation in place. The backward pass is the chain rule
of Rumelhart, Hinton & Williams (1986), layer by layer:

    δ_z = δ_a ⊙ f'(z),   ∂L/∂W = δ_zᵀ·h,   ∂L/∂b = Σ_batch δ_z,   δ_h = δ_z·W

with f'(z) taken from the activation's output (σ' = σ(1 − σ), tanh' = 1 − tanh², ReLU' =
[a > 0], leaky ReLU' = 1 or slope by the sign of a) through torch's own fused backward kernels.
At the course's sizes (a 0.5 MB activation per layer for 15 copies at batch 256), a pass over
memory costs about as much as the arithmetic, so fewer passes and no fresh allocations are what
make this about 1.5× faster than the autograd path (``make bench``). The maths is autograd's; the
tests hold the two to float tolerance.
"""

import torch
import torch.nn.functional as F
from torch import nn

_ops = torch.ops.aten


def _rule(module: nn.Module):
    """(forward in place ``a ← f(z)``, backward in place ``δ ← δ ⊙ f'(z)`` given ``a``) for an
    activation whose derivative is a function of its output; None for others (ELU, GELU, SELU:
    those models take the autograd path)."""
    if isinstance(module, nn.Sigmoid):
        return torch.sigmoid_, lambda d, a: _ops.sigmoid_backward.grad_input(d, a, grad_input=d)
    if isinstance(module, nn.Tanh):
        return torch.tanh_, lambda d, a: _ops.tanh_backward.grad_input(d, a, grad_input=d)
    if isinstance(module, nn.ReLU):
        return torch.relu_, lambda d, a: _ops.threshold_backward.grad_input(d, a, 0, grad_input=d)
    if isinstance(module, nn.LeakyReLU) and module.negative_slope > 0:
        slope = module.negative_slope
        return (
            lambda z: F.leaky_relu_(z, slope),
            lambda d, a: _ops.leaky_relu_backward.grad_input(d, a, slope, True, grad_input=d),
        )
    if isinstance(module, nn.Identity):
        return lambda z: z, lambda d, a: d
    return None


class _Layer:
    """One Linear layer of the chain and the activation after it (or none)."""

    def __init__(self, name: str, linear: nn.Linear):
        self.name, self.linear = name, linear
        self.rule = None  # the activation after it, from _rule


def _layers(model: nn.Module) -> list[_Layer] | None:
    """The model as Linear layers with biases, each followed by at most one output-derivable
    activation; None if it is anything else."""
    if not isinstance(model, nn.Sequential):
        return None
    layers = []
    for name, child in model.named_children():
        if isinstance(child, nn.Linear) and child.bias is not None:
            layers.append(_Layer(name, child))
            continue
        rule = _rule(child)
        if rule is None or not layers or layers[-1].rule is not None:
            return None
        layers[-1].rule = rule
    return layers or None


class Chain:
    """Forward and backward passes of a stack of copies (a :class:`batched.Stack`) of one
    Linear/activation chain, by hand. Build with :meth:`of`, which says None for other models."""

    def __init__(self, stack, layers: list[_Layer]):
        self.layers = layers
        self.weights = [stack.params[f"{layer.name}.weight"] for layer in layers]
        self.biases = [stack.params[f"{layer.name}.bias"] for layer in layers]
        self.copies, self._shape = len(stack), None
        for p in (*self.weights, *self.biases):
            p.grad = torch.zeros_like(p)  # written in place every step

    @classmethod
    def of(cls, stack) -> "Chain | None":
        layers = _layers(stack.template)
        return None if layers is None else cls(stack, layers)

    def _allocate(self, x: torch.Tensor) -> None:
        """Buffers for one input shape: each layer's input and output, and each input's δ."""
        c, batch = self.copies, x.shape[-2]
        like = {"dtype": x.dtype}
        self.input = torch.empty(c, batch, x.shape[-1], **like)
        self.outputs = [torch.empty(c, batch, w.shape[1], **like) for w in self.weights]
        self.deltas = [torch.empty(c, batch, w.shape[2], **like) for w in self.weights]
        self.output_delta = torch.empty_like(self.outputs[-1])
        self._shape = x.shape

    @torch.no_grad()
    def loss_and_gradients(self, x: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
        """Each copy's mean loss before the step, shape (copies,); every parameter's ``.grad``
        holds that copy's gradient. x: (batch, in) shared or (copies, batch, in); loss "mse" or
        "bce" (binary cross-entropy on logits)."""
        if x.shape != self._shape:
            self._allocate(x)
        self.input.copy_(x.expand_as(self.input))
        h = self.input
        layers = zip(self.layers, self.weights, self.biases, self.outputs, strict=True)
        for layer, weight, bias, out in layers:
            torch.baddbmm(bias[:, None].expand_as(out), h, weight.transpose(1, 2), out=out)
            if layer.rule is not None:
                layer.rule[0](out)
            h = out
        out, delta = self.outputs[-1], self.output_delta
        y = y.expand_as(out)
        count = out[0].numel()
        if loss == "mse":
            torch.sub(out, y, out=delta)
            per_copy = delta.square().flatten(1).mean(dim=1)
            delta.mul_(2.0 / count)  # d/dout of mean((out − y)²)
        else:
            per_copy = F.binary_cross_entropy_with_logits(out, y, reduction="none").flatten(1)
            per_copy = per_copy.mean(dim=1)
            torch.sigmoid(out, out=delta)
            delta.sub_(y).div_(count)  # d/dout of mean BCE on logits: (σ(out) − y) / n
        if self.layers[-1].rule is not None:
            self.layers[-1].rule[1](delta, out)
        self._backward(delta)
        return per_copy

    def _backward(self, delta: torch.Tensor) -> None:
        inputs = [self.input, *self.outputs[:-1]]
        for k in range(len(self.layers) - 1, -1, -1):
            weight = self.weights[k]
            torch.bmm(delta.transpose(1, 2), inputs[k], out=weight.grad)
            torch.sum(delta, dim=1, out=self.biases[k].grad)
            if k == 0:
                break
            delta = torch.bmm(delta, weight, out=self.deltas[k])
            if self.layers[k - 1].rule is not None:
                self.layers[k - 1].rule[1](delta, self.outputs[k - 1])

    def zero_dead(self, dead: torch.Tensor) -> None:
        """Zero the gradients of copies whose loss is no longer finite."""
        for p in (*self.weights, *self.biases):
            p.grad.masked_fill_(dead.reshape(-1, *([1] * (p.dim() - 1))), 0.0)
