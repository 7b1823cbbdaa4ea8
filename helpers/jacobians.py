"""Jacobians of a network at initialization: the input-output Jacobian's singular values, per
layer and for deep stacks (Saxe et al. 2014, Pennington et al. 2017: orthogonal initialization
keeps them near 1), measured in float64 (notebook 06).
"""

import copy
import math

import numpy as np
import torch
from torch import nn

from helpers import _validate
from helpers.training.batched import ELEMENTWISE


def _is_plain_stack(model: nn.Module) -> bool:
    """True for an nn.Sequential of nn.Linear layers and elementwise activations only."""
    return isinstance(model, nn.Sequential) and all(
        isinstance(m, (nn.Linear, *ELEMENTWISE)) for m in model.children()
    )


def _float64_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).double().eval()


def _slope(module: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """f'(h) of an elementwise activation module, by autograd (h float64)."""
    hg = h.detach().requires_grad_(True)
    with torch.enable_grad():
        out = module(hg)
        (grad,) = torch.autograd.grad(out, hg, torch.ones_like(out))
    return grad


def _plain_or_raise(model: nn.Module, what: str) -> None:
    if not _is_plain_stack(model):
        raise TypeError(
            f"{what} needs an nn.Sequential of nn.Linear layers and elementwise activations "
            f"(helpers.models.mlp without norm or residual), got {type(model).__name__}"
        )


def input_output_jacobian(model: nn.Module, x) -> np.ndarray:
    """∂model(x)/∂x at one input ``x`` (1-D), shape (outputs, inputs), in float64.

    For a plain stack (Linear layers and elementwise activations, as ``mlp`` builds) it is the
    explicit product W_out·diag(f'(z_L))·W_L ··· diag(f'(z_1))·W_1; for any other model, autograd.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.dim() != 1:
        raise ValueError(f"x must be one input vector (1-D), got shape {tuple(x.shape)}")
    if not _is_plain_stack(model):
        jac = torch.autograd.functional.jacobian(_float64_copy(model), x, vectorize=True)
        return jac.detach().numpy()
    h, jac = x, torch.eye(len(x), dtype=torch.float64)
    with torch.no_grad():
        for module in model.children():
            if isinstance(module, nn.Linear):
                weight = module.weight.detach().double()
                bias = 0.0 if module.bias is None else module.bias.detach().double()
                h, jac = weight @ h + bias, weight @ jac
            else:
                jac = _slope(module, h)[:, None] * jac
                h = module(h)
    return jac.numpy()


def jacobian_singular_values(model: nn.Module, x) -> np.ndarray:
    """Singular values of the input-output Jacobian at ``x``, largest first.

    Dynamical isometry (Saxe et al. 2013; Pennington, Schoenholz & Ganguli 2017) means they all
    sit near 1: every direction of the input is passed on, and every gradient passed back, at the
    same gain."""
    # torch's SVD, not numpy's: it honours torch.set_num_threads (numpy's BLAS threads can
    # thrash on a busy 2-core machine, ~100x slower for a 128 × 128 matrix).
    return torch.linalg.svdvals(torch.from_numpy(input_output_jacobian(model, x))).numpy()


def layer_jacobian_singular_values(model: nn.Module, x) -> list[np.ndarray]:
    """Singular values of each hidden layer's Jacobian J_l = ∂a_l/∂a_(l−1) = diag(f'(z_l))·W_l,
    one array (examples × min(n_l, n_(l−1))) per hidden layer, for the examples in the batch x.
    ``model``: an nn.Sequential of Linear layers and elementwise activations (``mlp`` without norm
    or residual); the output layer (a Linear with no activation after it) is not a hidden layer.

    Glorot & Bengio (2010), sec. 4.2: the mean of these is about 0.5 with the standard init
    U(±1/√n) and about 0.8 with their normalized init (tanh, square layers)."""
    _plain_or_raise(model, "layer_jacobian_singular_values")
    h = torch.as_tensor(x, dtype=torch.float64)
    if h.dim() != 2:
        raise ValueError(f"x must be a batch (examples × features), got shape {tuple(h.shape)}")
    jacobians, current = [], None
    with torch.no_grad():
        for module in model.children():
            if isinstance(module, nn.Linear):
                if current is not None:
                    jacobians.append(current)
                weight = module.weight.detach().double()
                bias = 0.0 if module.bias is None else module.bias.detach().double()
                h, current = h @ weight.T + bias, weight.expand(len(h), *weight.shape)
            else:
                current = _slope(module, h)[:, :, None] * current
                h = module(h)
    if not isinstance(list(model.children())[-1], nn.Linear):
        jacobians.append(current)  # no output layer: the last block is a hidden one too
    return [torch.linalg.svdvals(jac).numpy() for jac in jacobians]


def deep_jacobian_spectrum(
    weights: str,
    *,
    depth: int = 32,
    width: int = 128,
    name: str = "tanh",
    sigma_w: float = 1.0,
    input_std: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Singular values of the input-output Jacobian of a ``depth``-layer ``name`` network at
    initialization, W_l either "gaussian" (entries N(0, σ_w²/width)) or "orthogonal" (σ_w·Q), no
    biases, at an input x ~ N(0, input_std²·I). σ_w = 1 is the critical point of tanh without
    biases (Schoenholz et al. 2017); Pennington, Schoenholz & Ganguli (2017) show that at
    criticality with small pre-activations (tanh near its linear regime) orthogonal weights give a
    spectrum concentrated near 1, Gaussian weights one spread over many decades."""
    from helpers.models import mlp

    _validate.choice(weights, ("gaussian", "orthogonal"), "weights")
    sigma_w = _validate.positive(sigma_w, "sigma_w")
    width = _validate.positive_int(width, "width")
    if weights == "gaussian":
        init, scale = "normal", sigma_w / math.sqrt(width)
    else:
        init, scale = "orthogonal", sigma_w
    model = mlp(
        depth,
        width,
        in_features=width,
        out_features=width,
        activation=name,
        init=init,
        scale=scale,
        bias=False,
        seed=seed,
    )
    generator = torch.Generator().manual_seed(seed + 10_000)
    input_std = _validate.positive(input_std, "input_std")
    x = input_std * torch.randn(width, generator=generator, dtype=torch.float64)
    return jacobian_singular_values(model, x)
