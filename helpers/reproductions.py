"""Small reproductions of the papers behind the initialization rules (notebook 06): Glorot &
Bengio (2010) at initialization, He et al. (2015)'s 30-layer ReLU stall, and the depth scale and
trainability map of Schoenholz et al. (2017). Every training run goes through
``helpers.training`` (many networks of one architecture side by side with ``train_many``).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import _validate, training
from helpers.data import toy_regression
from helpers.jacobians import layer_jacobian_singular_values
from helpers.models import mlp
from helpers.recursion import geometric_rate
from helpers.signal import layer_scales

# --- training several networks side by side ------------------------------------------------------


def _train_side_by_side(models, x, y, *, steps, lr, optimizer="sgd", momentum=0.9):
    """Train the given networks (one architecture) in place, full batch, MSE, as one computation
    (``training.train_many``; the "seed" of each copy is its index in ``models``)."""
    models = list(models)
    return training.train_many(
        lambda i: models[i],
        (x, y),
        seeds=range(len(models)),
        lrs=[lr],
        steps=steps,
        optimizer=optimizer,
        momentum=momentum if optimizer == "sgd" else 0.0,
    )


def train(
    model: nn.Module, x, y, *, steps: int, lr: float, optimizer: str = "sgd", momentum: float = 0.9
) -> np.ndarray:
    """Full-batch training of one ``model`` in place on the MSE (``helpers.training.train``);
    returns the loss before each step, shape (steps,). optimizer: "sgd" (with ``momentum``) or
    "adam"."""
    optimizer = _validate.choice(optimizer, training.OPTIMIZERS, "optimizer")
    momentum = momentum if optimizer == "sgd" else 0.0
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    kwargs = {"steps": steps, "lr": lr, "optimizer": optimizer, "momentum": momentum}
    return training.train(model, (x, y), **kwargs).losses


def _regression_batch(n: int, in_features: int, out_features: int, seed: int):
    """x ~ N(0, I) of shape (n, in_features) and y ~ N(0, I) of shape (n, out_features)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=generator)
    return x, torch.randn(n, out_features, generator=generator)


# --- Glorot & Bengio (2010) and He et al. (2015) -------------------------------------------------


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
    x, y = toy_regression(n, seed=0)
    x_test, y_test = toy_regression(4 * n, seed=1)
    baseline = float(torch.mean((y - y.mean()) ** 2))
    test_baseline = float(torch.mean((y_test - y.mean()) ** 2))
    seeds = list(seeds)
    models = [mlp(depth, width, activation="relu", init=i, seed=s) for i in inits for s in seeds]
    scales = [layer_scales(model, x, y) for model in models]
    losses = _train_side_by_side(models, x, y, steps=steps, lr=lr, momentum=momentum).losses
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
    trained side by side with ``helpers.training.train_many``. The loss recorded is after the
    last step.
    """
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
        trained = _train_side_by_side(models, x, y, steps=steps, lr=lr, momentum=momentum)
        result[row] = trained.final_loss / baseline
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
