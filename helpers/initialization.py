"""How the weight variance carries a signal through depth: the variance recursion, its
measurement in real networks, Jacobian spectra, and small reproductions of the papers behind
Xavier/Glorot, He and orthogonal initialization.

Notebook 06 uses every part of it; notebook 05 uses the Gaussian expectations (why ReLU's
derivative keeps gradients alive, SELU's fixed point) and :func:`gradient_flow`.

Notation (one hidden layer l of width n_l, weights W_l of shape (n_l, n_(l-1)), zero-mean):
    z_l = W_l a_(l-1) + b_l,   a_l = f(z_l),   σ_w² = n_(l-1)·Var[W_l],   q_l = Var[z_l].
The forward recursion is q_l = σ_w²·E[f(z)²] + σ_b² with z ~ N(0, q_(l-1)), and the backward
one multiplies the variance of ∂L/∂z by χ_l = σ_w²·E[f'(z_l)²] per layer (square layers).
"""

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import _validate
from helpers.activations import ACTIVATIONS, activation, derivative

# --- initialization rules: one table, Var[W] as a function of the fans ---------------------------

INIT_RULES = {
    # name: (Var[W](fan_in, fan_out), the rule in words, where it comes from)
    "default": (
        lambda fan_in, fan_out: 1.0 / (3.0 * fan_in),
        "U(±1/√fan_in): Var = 1/(3·fan_in)",
        "PyTorch's nn.Linear (kaiming_uniform_ with a=√5); Glorot & Bengio's 'standard' init",
    ),
    "lecun": (
        lambda fan_in, fan_out: 1.0 / fan_in,
        "Var = 1/fan_in",
        "LeCun et al. (1998), Efficient BackProp; SELU's init (Klambauer et al. 2017)",
    ),
    "xavier": (
        lambda fan_in, fan_out: 2.0 / (fan_in + fan_out),
        "Var = 2/(fan_in + fan_out)",
        "Glorot & Bengio (2010), eq. 16, 'normalized initialization'",
    ),
    "he": (
        lambda fan_in, fan_out: 2.0 / fan_in,
        "Var = 2/fan_in",
        "He, Zhang, Ren & Sun (2015), Delving Deep into Rectifiers, eq. 10",
    ),
}


def weight_variance(rule: str, fan_in: int, fan_out: int | None = None) -> float:
    """Var[W] that ``rule`` prescribes for a layer with ``fan_in`` inputs and ``fan_out`` outputs
    (``fan_out`` defaults to ``fan_in``, a square layer). See :data:`INIT_RULES`.

    >>> weight_variance("he", 256)
    0.0078125
    """
    _validate.choice(rule, INIT_RULES, "rule")
    fan_in = _validate.positive_int(fan_in, "fan_in")
    fan_out = fan_in if fan_out is None else _validate.positive_int(fan_out, "fan_out")
    return float(INIT_RULES[rule][0](fan_in, fan_out))


# --- Gaussian expectations (mean-field quantities) -----------------------------------------------

# ∫ g(μ + s·z) φ(z) dz by composite Simpson on z ∈ [−12, 12], split at the activation's kink
# (x = 0, i.e. z = −μ/s) so each piece is smooth: error below about 1e-9 for the activations here.
_Z_MAX = 12.0
_PANELS = 1200  # Simpson intervals per piece (even)


def _simpson(y: np.ndarray, h: float) -> float:
    return float(h / 3.0 * (y[0] + y[-1] + 4.0 * y[1:-1:2].sum() + 2.0 * y[2:-1:2].sum()))


def _expect(g: Callable[[np.ndarray], np.ndarray], mean: float, std: float) -> float:
    """E[g(x)] for x ~ N(mean, std²)."""
    if std == 0.0:
        return float(g(np.array([mean]))[0])
    kink = -mean / std
    edges = [-_Z_MAX, _Z_MAX]
    if -_Z_MAX < kink < _Z_MAX:
        edges = [-_Z_MAX, kink, _Z_MAX]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        z = np.linspace(lo, hi, _PANELS + 1)
        weights = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        x = mean + std * z
        # One-sided limits at the piece's ends, so a kink at an end takes this piece's branch.
        nudge = 1e-9 * std
        x[0], x[-1] = x[0] + nudge, x[-1] - nudge
        total += _simpson(g(x) * weights, (hi - lo) / _PANELS)
    return total


def _check_activation(name) -> str:
    return _validate.choice(name, ACTIVATIONS, "activation")


def _check_var(var, argument: str = "var") -> float:
    return _validate.nonnegative(var, argument)


def _check_mean(value, argument: str = "mean") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"{argument} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{argument} must be finite, got {value!r}")
    return float(value)


def mean_output(name: str, var: float, mean: float = 0.0) -> float:
    """E[f(z)] for z ~ N(mean, var); e.g. √(var/(2π)) for ReLU at mean 0."""
    name, var, mean = _check_activation(name), _check_var(var), _check_mean(mean)
    return _expect(lambda x: activation(name, x), mean, math.sqrt(var))


def second_moment(name: str, var: float, mean: float = 0.0) -> float:
    """E[f(z)²] for z ~ N(mean, var): the "E[a²]" of the variance recursion.

    ReLU: var/2 at mean 0 (half the units are zero); linear: var + mean²."""
    name, var, mean = _check_activation(name), _check_var(var), _check_mean(mean)
    return _expect(lambda x: activation(name, x) ** 2, mean, math.sqrt(var))


def slope_second_moment(name: str, var: float, mean: float = 0.0) -> float:
    """E[f'(z)²] for z ~ N(mean, var): the activation's share of the per-layer backward factor.

    ReLU: exactly 1/2 for every var at mean 0 (f' is 1 on the active half, 0 on the other), so
    the backward factor σ_w²/2 does not depend on how large the signals are. Sigmoid: at most
    1/16 (σ' ≤ 1/4). tanh: 1 at var 0, falling as units saturate."""
    name, var, mean = _check_activation(name), _check_var(var), _check_mean(mean)
    return _expect(lambda x: derivative(name, x) ** 2, mean, math.sqrt(var))


def mean_var_map(name: str, mean: float, var: float, *, omega: float = 0.0, tau: float = 1.0):
    """One layer's map of the input moments (μ, ν) to the output moments (μ̃, ν̃).

    Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing Neural Networks", eq. 3-4:
    inputs x_i with mean μ and variance ν, weights with ω = Σ w_i and τ = Σ w_i², so the unit's
    pre-activation is z ~ N(μω, ντ) and (μ̃, ν̃) = (E[f(z)], Var[f(z)]). For SELU with
    normalized weights (ω = 0, τ = 1) the map has the stable fixed point (0, 1).
    """
    name, mean, var = _check_activation(name), _check_mean(mean), _check_var(var)
    omega, tau = _check_mean(omega, "omega"), _check_var(tau, "tau")
    m, s = mean * omega, math.sqrt(var * tau)
    first = _expect(lambda x: activation(name, x), m, s)
    second = _expect(lambda x: activation(name, x) ** 2, m, s)
    return first, max(second - first * first, 0.0)


def iterate_mean_var_map(name: str, mean: float, var: float, steps: int, **kwargs) -> np.ndarray:
    """The trajectory (steps + 1, 2) of (μ, ν) under :func:`mean_var_map`, start included."""
    steps = _validate.positive_int(steps, "steps")
    points = [(float(mean), float(var))]
    for _ in range(steps):
        points.append(mean_var_map(name, *points[-1], **kwargs))
    return np.array(points)


def recommended_scale(name: str) -> float:
    """σ_w such that Var[W] = σ_w²/fan_in is the activation's usual init: the gain of
    ``helpers.activations.gain`` (torch's ``calculate_gain``: √2 for ReLU, 5/3 for tanh, 1 for
    sigmoid), except SELU, whose self-normalizing fixed point needs Var = 1/fan_in (Klambauer et
    al. 2017; torch's own docs say to use the "linear" gain, 1, for SELU, not its 3/4)."""
    from helpers.activations import gain

    name = _check_activation(name)
    return 1.0 if name == "selu" else gain(name)


# --- the variance recursion ----------------------------------------------------------------------


@dataclass(frozen=True)
class Recursion:
    """The mean-field prediction for hidden layers 1..depth.

    q[l]   Var[z_l], the pre-activation variance of hidden layer l+1.
    chi[l] σ_w²·E[f'(z_l)²] (with the σ_w² of the layer above, the one the backward pass goes
           through): the factor by which Var[∂L/∂z] shrinks from layer l+2 back to layer l+1.
    """

    q: np.ndarray
    chi: np.ndarray


def _per_layer(value, depth: int, argument: str) -> np.ndarray:
    values = np.broadcast_to(np.asarray(value, dtype=np.float64), (depth,)).copy()
    for v in values:
        _validate.nonnegative(float(v), argument)
    return values


def variance_recursion(
    name: str,
    depth: int,
    sigma_w2: float | Sequence[float],
    *,
    input_second_moment: float = 1.0,
    sigma_b2: float = 0.0,
) -> Recursion:
    """Predict Var[z_l] layer by layer: q_1 = σ_w²·E[x²] + σ_b², then
    q_l = σ_w²·E[f(z)²]_(z ~ N(0, q_(l−1))) + σ_b²  (the recursion Var[z] = n·Var[W]·E[a²]).

    ``sigma_w2`` is n·Var[W] (fan_in times the weight variance), one number for every layer or
    one per hidden layer. Assumes independent zero-mean weights and a wide layer (the sum over
    n inputs is then close to Gaussian); Glorot & Bengio (2010), He et al. (2015), Poole et al.
    (2016) and Schoenholz et al. (2017) all start from it.

    >>> variance_recursion("relu", 3, 2.0).q   # He init: the variance is kept
    array([2., 2., 2.])
    """
    name = _check_activation(name)
    depth = _validate.positive_int(depth, "depth")
    s2 = _per_layer(sigma_w2, depth, "sigma_w2")
    e_x2 = _validate.nonnegative(input_second_moment, "input_second_moment")
    b2 = _validate.nonnegative(sigma_b2, "sigma_b2")
    q = np.empty(depth)
    q[0] = s2[0] * e_x2 + b2
    for layer in range(1, depth):
        q[layer] = s2[layer] * second_moment(name, q[layer - 1]) + b2
    above = np.append(s2[1:], s2[-1])
    chi = np.array([above[i] * slope_second_moment(name, q[i]) for i in range(depth)])
    return Recursion(q, chi)


def geometric_rate(values) -> float:
    """The average per-layer factor of a positive profile: (v_last / v_first)^(1/(len − 1))."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"values must be a 1-D profile of at least 2 numbers, got shape {v.shape}")
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("values must be finite and > 0 to take a geometric rate")
    return float((v[-1] / v[0]) ** (1.0 / (v.size - 1)))


# --- measuring a real network, layer by layer ----------------------------------------------------


@dataclass(frozen=True)
class LayerScales:
    """One forward/backward pass, per nn.Linear layer (first first, output layer last).

    forward     RMS of the layer's output z = Wa + b over batch and units (its std when zero-mean).
    backward    RMS of ∂L/∂z, the back-propagated gradient Glorot & Bengio plot (NaN without y).
    weight_grad ‖∂L/∂W‖₂ (NaN without y): helpers.monitor.gradient_profile's number.
    """

    names: list[str]
    forward: np.ndarray
    backward: np.ndarray
    weight_grad: np.ndarray


def _linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError(f"model has no nn.Linear layer ({type(model).__name__})")
    return found


def _rms(t: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(t, dtype=torch.float64) / math.sqrt(max(t.numel(), 1)))


def layer_scales(model: nn.Module, x, y=None, loss_fn=None) -> LayerScales:
    """Measure the per-layer forward and backward scales of ``model`` on the batch ``x``.

    With ``y`` (and ``loss_fn``, default ``nn.MSELoss()``) the backward scales are measured too.
    Works on a copy of the model: its weights, gradients, buffers and hooks are untouched.
    """
    model = copy.deepcopy(model)
    layers = _linears(model)
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(x).to(dtype)
    outputs: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for _, m in layers]
    try:
        with torch.enable_grad():
            prediction = model(x)
    finally:
        for handle in handles:
            handle.remove()
    forward = np.array([_rms(z.detach()) for z in outputs])
    nan = np.full(len(layers), np.nan)
    if y is None:
        return LayerScales([n for n, _ in layers], forward, nan, nan.copy())
    y = torch.as_tensor(y).to(dtype)
    if prediction.shape != y.shape and loss_fn is None:
        raise ValueError(
            f"y has shape {tuple(y.shape)}, the model's output {tuple(prediction.shape)}"
        )
    loss = (loss_fn or nn.MSELoss())(prediction, y)
    weights = [m.weight for _, m in layers]
    grads = torch.autograd.grad(loss, outputs + weights)
    backward = np.array([_rms(g) for g in grads[: len(layers)]])
    weight_grad = np.array(
        [float(torch.linalg.vector_norm(g, dtype=torch.float64)) for g in grads[len(layers) :]]
    )
    return LayerScales([n for n, _ in layers], forward, backward, weight_grad)


def gradient_flow(
    name: str,
    depth: int,
    *,
    width: int = 64,
    init: str = "he",
    scale: float | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    n: int = 256,
) -> np.ndarray:
    """Per-layer weight-gradient norms, shape (len(seeds), depth + 1), of
    ``mlp(depth, width, activation=name, init=init, scale=scale, seed=s)`` on
    ``toy_regression(n)`` with MSE: ``helpers.monitor.gradient_profile`` once per seed."""
    from helpers.models import mlp, toy_regression
    from helpers.monitor import gradient_profile

    x, y = toy_regression(n, seed=0)
    rows = [
        gradient_profile(mlp(depth, width, activation=name, init=init, scale=scale, seed=s), x, y)
        for s in seeds
    ]
    return np.array(rows)


# --- Jacobians -----------------------------------------------------------------------------------


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


# --- training several small networks side by side, and the reproductions ------------------------


class Lockstep:
    """Train several networks of one architecture side by side, as one batched computation.

    ``torch.func.stack_module_state`` stacks their parameters; every network runs on the same
    full batch at once (batched matrix products for a plain stack of Linear layers and elementwise
    activations, ``torch.vmap`` over ``functional_call`` for anything else), and one optimizer
    updates the stack. SGD with momentum and Adam act element by element, so each network follows
    the path it would follow alone (up to float rounding; the tests check it), at a fraction of the
    cost: the per-step overhead of a small network is paid once for all of them. The loss of each
    network is the mean squared error. After :meth:`run` the trained weights are written back into
    the original modules, so hooks, monitors and counts work on them as usual. For example::

        lock = Lockstep([mlp(3, 8, seed=s) for s in range(3)], lr=0.01)
        losses = lock.run(x, y, steps=100)        # shape (3, 100)
    """

    def __init__(self, models, *, lr: float, optimizer: str = "sgd", momentum: float = 0.9):
        models = list(models)
        if not models or not all(isinstance(m, nn.Module) for m in models):
            raise TypeError("models must be a non-empty list of torch.nn.Module")
        self.models = models
        _validate.choice(optimizer, ("sgd", "adam"), "optimizer")
        self.params, self.buffers = torch.func.stack_module_state(models)
        self._base = copy.deepcopy(models[0]).to("meta")
        lr = _validate.positive(lr, "lr")
        tensors = list(self.params.values())
        if optimizer == "sgd":
            self.optimizer = torch.optim.SGD(tensors, lr=lr, momentum=momentum, foreach=True)
        else:
            self.optimizer = torch.optim.Adam(tensors, lr=lr, foreach=True)
        if _is_plain_stack(models[0]):
            self._forward = self._plain_forward
        else:
            self._forward = torch.vmap(self._call, in_dims=(0, 0, None))

    def _call(self, params, buffers, x):
        return torch.func.functional_call(self._base, (params, buffers), (x,))

    def _plain_forward(self, params, buffers, x):
        """The same computation as the vmap path for a plain stack of Linear layers and
        elementwise activations, written with batched matrix products (faster for small nets)."""
        h = x.expand(len(self.models), *x.shape)
        for name, module in self._base.named_children():
            if isinstance(module, nn.Linear):
                weight = params[f"{name}.weight"].transpose(1, 2)
                bias = params.get(f"{name}.bias")
                h = (
                    torch.bmm(h, weight)
                    if bias is None
                    else torch.baddbmm(bias[:, None], h, weight)
                )
            else:
                h = module(h)
        return h

    def run(self, x, y, steps: int, lr: float | None = None) -> np.ndarray:
        """``steps`` full-batch steps on (x, y) (at a new ``lr`` if given); returns the loss of
        each network before each step, shape (networks, steps)."""
        from helpers.course import progress

        steps = _validate.positive_int(steps, "steps")
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = _validate.positive(lr, "lr")
        losses = torch.empty(len(self.models), steps, dtype=torch.float64)
        for step in progress(range(steps), leave=False):
            self.optimizer.zero_grad()
            out = self._forward(self.params, self.buffers, x)
            per_network = ((out - y) ** 2).flatten(1).mean(dim=1)
            per_network.sum().backward()  # independent networks: each gets its own gradient
            self.optimizer.step()
            losses[:, step] = per_network.detach()
        self._write_back()
        return losses.numpy()

    def loss(self, x, y) -> np.ndarray:
        """The current mean squared error of each network on (x, y), shape (networks,)."""
        with torch.no_grad():
            out = self._forward(self.params, self.buffers, x)
            return ((out - y) ** 2).flatten(1).mean(dim=1).double().numpy()

    def _write_back(self) -> None:
        with torch.no_grad():
            for i, model in enumerate(self.models):
                for name, stacked in self.params.items():
                    model.get_parameter(name).copy_(stacked[i])


_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.SELU, nn.Identity)


def _is_plain_stack(model: nn.Module) -> bool:
    """True for an nn.Sequential of nn.Linear layers and elementwise activations only."""
    return isinstance(model, nn.Sequential) and all(
        isinstance(m, (nn.Linear, *_ELEMENTWISE)) for m in model.children()
    )


def train(
    model: nn.Module, x, y, *, steps: int, lr: float, optimizer: str = "sgd", momentum: float = 0.9
) -> np.ndarray:
    """Full-batch training of one ``model`` in place on the MSE; returns the loss before each
    step, shape (steps,). optimizer: "sgd" (with ``momentum``) or "adam". See :class:`Lockstep`."""
    lock = Lockstep([model], lr=lr, optimizer=optimizer, momentum=momentum)
    return lock.run(x, y, steps)[0]


def _regression_batch(n: int, in_features: int, out_features: int, seed: int):
    """x ~ N(0, I) of shape (n, in_features) and y ~ N(0, I) of shape (n, out_features)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=generator)
    return x, torch.randn(n, out_features, generator=generator)


@dataclass(frozen=True)
class GlorotRun:
    """Glorot & Bengio's measurements at initialization for one init, per seed and hidden layer.

    backward   RMS of the back-propagated gradient ∂L/∂z_l (their Figure 7), (seeds, depth).
    forward    RMS of the pre-activations z_l, (seeds, depth).
    weight_grad ‖∂L/∂W_l‖ (their Figure 8), (seeds, depth).
    jacobian   mean singular value of J_l = ∂a_l/∂a_(l−1) (their sec. 4.2.2), (seeds, depth).
    """

    init: str
    backward: np.ndarray
    forward: np.ndarray
    weight_grad: np.ndarray
    jacobian: np.ndarray

    def backward_variance_factor(self) -> np.ndarray:
        """Per seed: the average factor by which Var[∂L/∂z] changes from one layer to the one
        below it (toward the input); 1/3 is the linear-regime prediction for U(±1/√n)."""
        return np.array([geometric_rate(row[::-1] ** 2) for row in self.backward])


GLOROT_INITS = ("standard", "normalized")


def glorot_reproduction(
    *,
    width: int = 128,
    depth: int = 5,
    seeds: Sequence[int] = (0, 1, 2),
    n: int = 256,
    jacobian_examples: int = 4,
) -> dict[str, GlorotRun]:
    """Glorot & Bengio (2010), sec. 4.2, small: a ``depth``-layer tanh net of square layers
    (``width`` inputs and units), at initialization, with

    - "standard":   W ~ U(±1/√n), Var = 1/(3n), so n·Var[W] = 1/3 (their eq. 1);
    - "normalized": W ~ U(±√6/√(n_in + n_out)), Var = 2/(n_in + n_out) (their eq. 16).

    Biases zero, unit-Gaussian inputs, 10 Gaussian regression targets, MSE loss (the paper used
    1000 units, Shapeset images and a softmax). Returns one :class:`GlorotRun` per init.
    """
    from helpers.models import mlp

    width = _validate.positive_int(width, "width")
    runs = {}
    for init in GLOROT_INITS:
        rows: dict[str, list] = {"backward": [], "forward": [], "weight_grad": [], "jacobian": []}
        for seed in seeds:
            kind = {"init": "uniform", "scale": 1.0 / math.sqrt(width)}
            if init == "normalized":
                kind = {"init": "xavier"}
            model = mlp(
                depth,
                width,
                in_features=width,
                out_features=10,
                activation="tanh",
                seed=seed,
                **kind,
            )
            x, y = _regression_batch(n, width, 10, seed)
            scales = layer_scales(model, x, y)
            rows["backward"].append(scales.backward[:-1])
            rows["forward"].append(scales.forward[:-1])
            rows["weight_grad"].append(scales.weight_grad[:-1])
            svs = layer_jacobian_singular_values(model, x[:jacobian_examples])
            rows["jacobian"].append([float(s.mean()) for s in svs])
        runs[init] = GlorotRun(init, *(np.array(rows[k]) for k in rows))
    return runs


@dataclass(frozen=True)
class TrainingRun:
    """One init's runs over several seeds: training losses (seeds, steps), held-out test_loss
    (seeds,), per-layer forward RMS and weight-gradient norms at initialization (seeds, layers).
    ``baseline``/``test_baseline``: the training/held-out MSE of predicting the training mean."""

    init: str
    losses: np.ndarray
    test_loss: np.ndarray
    forward: np.ndarray
    weight_grad: np.ndarray
    baseline: float
    test_baseline: float


def he_reproduction(
    *,
    depth: int = 30,
    width: int = 48,
    steps: int = 150,
    lr: float = 1e-3,
    momentum: float = 0.9,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    n: int = 128,
    inits: Sequence[str] = ("xavier", "he"),
) -> dict[str, TrainingRun]:
    """He et al. (2015), sec. 2.2 and Figure 3, small: a ``depth``-layer ReLU MLP initialized
    with Xavier's Var = 2/(fan_in + fan_out) (= 1/n for square layers) or He's Var = 2/fan_in,
    trained by full-batch SGD with momentum on ``toy_regression(n)``.

    The paper's 30-layer (convolutional) network with Xavier init "completely stalls" while He
    init converges. Xavier halves the variance of ReLU pre-activations at every layer, so after
    30 layers the signal's std is 2^(−15) times He's and so are all weight gradients (a bias-free
    ReLU net is positively homogeneous: scaling each W_l by 1/√2 scales ∂L/∂W_l by 2^(−(L−1)/2)
    when the loss gradient at the output is the same). Biases start at zero.

    Measured over seeds 0-4 and four floating-point paths (notebook 06 checks it as it runs):
    Xavier ends within 1% of the mean-predictor loss on every seed, He below 0.3 of it. A stall
    is slow progress, not a wall: on other seeds (seed 5) Xavier has begun to move after 150 steps,
    by an amount that differs between floating-point paths.
    """
    from helpers.models import mlp, toy_regression

    x, y = toy_regression(n, seed=0)
    x_test, y_test = toy_regression(4 * n, seed=1)
    baseline = float(torch.mean((y - y.mean()) ** 2))
    test_baseline = float(torch.mean((y_test - y.mean()) ** 2))
    seeds = list(seeds)
    models = [mlp(depth, width, activation="relu", init=i, seed=s) for i in inits for s in seeds]
    scales = [layer_scales(model, x, y) for model in models]
    losses = Lockstep(models, lr=lr, momentum=momentum).run(x, y, steps)  # all inits at once
    with torch.no_grad():
        test = np.array([float(nn.functional.mse_loss(m(x_test), y_test)) for m in models])
    runs = {}
    for k, init in enumerate(inits):
        mine = slice(k * len(seeds), (k + 1) * len(seeds))
        runs[init] = TrainingRun(
            init,
            losses[mine],
            test[mine],
            np.array([s.forward for s in scales[mine]]),
            np.array([s.weight_grad for s in scales[mine]]),
            baseline,
            test_baseline,
        )
    return runs


# --- the depth scale of Schoenholz et al. (2017), tanh -------------------------------------------

_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(81)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / math.sqrt(2.0 * math.pi)  # E[g(z)], z ~ N(0, 1)


def _tanh_fixed_point(sigma_w2: float, sigma_b2: float, iterations: int = 2000) -> float:
    """q* = σ_w²·E[tanh(√q* z)²] + σ_b²; 0 when σ_b² = 0 and σ_w² ≤ 1."""
    if sigma_b2 == 0.0 and sigma_w2 <= 1.0:
        return 0.0
    q = max(sigma_w2, 1.0)
    for _ in range(iterations):
        new = sigma_w2 * float(_HERMITE_WEIGHTS @ np.tanh(math.sqrt(q) * _HERMITE_NODES) ** 2)
        new += sigma_b2
        if abs(new - q) < 1e-13:
            break
        q = new
    return q


def _pair_expectation(g1, g2, q: float, c: float) -> float:
    """E[g1(u1)·g2(u2)] for (u1, u2) Gaussian, variances q, correlation c."""
    z1, z2 = np.meshgrid(_HERMITE_NODES, _HERMITE_NODES, indexing="ij")
    w = np.outer(_HERMITE_WEIGHTS, _HERMITE_WEIGHTS)
    u1 = math.sqrt(q) * z1
    u2 = math.sqrt(q) * (c * z1 + math.sqrt(max(1.0 - c * c, 0.0)) * z2)
    return float(np.sum(w * g1(u1) * g2(u2)))


def _tanh_prime(u):
    return 1.0 / np.cosh(u) ** 2


def depth_scale(sigma_w2: float, sigma_b2: float = 0.0) -> float:
    """ξ, the depth over which a tanh network at initialization forgets how two inputs differ
    (Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017, "Deep Information Propagation", eq. 9):
    ξ = −1/ln χ, with χ = σ_w²·E[tanh'(u₁)·tanh'(u₂)] at the fixed point (q*, c*).

    Ordered phase (c* = 1): χ = σ_w²·E[tanh'(√q* z)²]; without biases q* = 0 there, so
    ξ = −1/ln σ_w² for σ_w² < 1, the rate at which the signal and gradient variances shrink.
    Chaotic phase (c* < 1): χ evaluated at the correlation fixed point c*. ξ = ∞ at the critical
    point (σ_w² = 1 without biases). They found networks trainable to a depth of about 6ξ.
    """
    s2 = _validate.positive(sigma_w2, "sigma_w2")
    b2 = _validate.nonnegative(sigma_b2, "sigma_b2")
    q = _tanh_fixed_point(s2, b2)
    chi_1 = s2 * float(_HERMITE_WEIGHTS @ _tanh_prime(math.sqrt(q) * _HERMITE_NODES) ** 2)
    if abs(chi_1 - 1.0) < 1e-12:
        return math.inf
    if chi_1 < 1.0:
        return -1.0 / math.log(chi_1)
    c = 0.5  # chaotic phase: iterate the correlation map to its stable fixed point c* < 1
    for _ in range(2000):
        new = (s2 * _pair_expectation(np.tanh, np.tanh, q, c) + b2) / q
        if abs(new - c) < 1e-13:
            break
        c = new
    chi_c = s2 * _pair_expectation(_tanh_prime, _tanh_prime, q, c)
    return math.inf if chi_c >= 1.0 else -1.0 / math.log(chi_c)


@dataclass(frozen=True)
class TrainabilityMap:
    """``loss[i, j]``: final training loss / mean-baseline loss for ``depths[i]`` hidden tanh
    layers and weight variance σ_w² = ``sigma_w2s[j]`` (1 = learned nothing beyond the mean)."""

    depths: np.ndarray
    sigma_w2s: np.ndarray
    loss: np.ndarray
    steps: int
    lr: float


def trainability_map(
    sigma_w2s: Sequence[float],
    depths: Sequence[int],
    *,
    width: int = 32,
    steps: int = 100,
    lr: float = 0.01,
    momentum: float = 0.9,
    n: int = 128,
    seed: int = 0,
) -> TrainabilityMap:
    """Schoenholz et al. (2017), Figure 6, small: train tanh MLPs without biases, W_l ~
    N(0, σ_w²/fan_in), on ``toy_regression(n)`` by full-batch SGD with momentum, one column per
    σ_w² and one row per depth, and record the final loss relative to predicting the mean.

    The networks are ``mlp(depth, width, activation="tanh", init="he", scale=σ_w, bias=False,
    seed=seed)``: the same standard-normal matrices G_l for every σ_w² (W_l = σ_w·G_l/√fan_in),
    trained side by side with :class:`Lockstep`. The loss recorded is after the last step.
    """
    from helpers.models import mlp, toy_regression

    s2 = np.array([_validate.positive(float(v), "sigma_w2s") for v in sigma_w2s])
    depth_list = [_validate.positive_int(int(d), "depths") for d in depths]
    x, y = toy_regression(n, seed=0)
    baseline = float(torch.mean((y - y.mean()) ** 2))
    result = np.empty((len(depth_list), len(s2)))
    for row, depth in enumerate(depth_list):
        # The same seed draws the same standard-normal matrices; scale multiplies them by σ_w.
        models = [
            mlp(
                depth,
                width,
                activation="tanh",
                init="he",
                scale=math.sqrt(v),
                bias=False,
                seed=seed,
            )
            for v in s2
        ]
        lock = Lockstep(models, lr=lr, momentum=momentum)
        lock.run(x, y, steps)
        result[row] = lock.loss(x, y) / baseline
    return TrainabilityMap(np.array(depth_list), s2, result, steps, lr)


def deepest_trainable(result: TrainabilityMap, threshold: float = 0.9) -> np.ndarray:
    """For each σ_w² of the map, the largest depth whose final loss is below ``threshold`` times
    the mean baseline (it learned something beyond the mean), or 0 if none did."""
    threshold = _validate.positive(threshold, "threshold")
    trained = result.loss < threshold
    return np.array(
        [
            result.depths[trained[:, j]].max() if trained[:, j].any() else 0
            for j in range(len(result.sigma_w2s))
        ]
    )
