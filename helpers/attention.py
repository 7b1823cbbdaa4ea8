"""Softmax saturation in attention, and why scaled dot-product attention divides by √d_k
(notebook 10).

Scaled dot-product attention (Vaswani et al. 2017, "Attention is all you need", §3.2.1) turns a
query q and keys k_1 … k_n (each of dimension d_k) into weights

    p = softmax(z),   z_j = q·k_j / τ,   τ = √d_k,

and returns Σ_j p_j v_j. The paper's footnote 4 gives the reason for τ: if the entries of q and
k are independent with mean 0 and variance 1, then q·k = Σ_i q_i k_i has mean 0 and variance
d_k, so without the scale (τ = 1) the logits grow like √d_k. Large logits push the softmax
towards a one-hot vector, "into regions where it has extremely small gradients". Those
gradients are the softmax Jacobian (:func:`softmax_jacobian`)

    J = ∂p/∂z = diag(p) − p pᵀ,

which is symmetric, has rows summing to 0 (J·1 = p − p (pᵀ1) = 0) and is positive
semi-definite (xᵀJx = Σ_j p_j x_j² − (Σ_j p_j x_j)², the variance of x under p). Its trace is
1 − Σ_j p_j², and as p approaches a one-hot vector every entry of J goes to 0: the gradient that
reaches the logits, ∂L/∂z = J ∂L/∂p, vanishes however large ∂L/∂p is.

This module measures that: :func:`logit_scale_sweep` (logits = c·(standard normal), c the
logit scale) and :func:`dk_sweep` (random unit-variance q, K, V of dimension d_k, with or
without the 1/√d_k scale), each reporting the entropy and largest weight of the attention
distribution, the size of J and the gradient that reaches the logits and the query. Everything
is computed in float64 from seeded generators, so the numbers do not depend on the
floating-point path beyond the last digits.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

from helpers import _validate

DEFAULT_KEYS = 16
DEFAULT_SAMPLES = 1000


def _as_tensor(logits, argument: str = "logits") -> tuple[torch.Tensor, bool]:
    """``logits`` as a floating tensor (float64 unless it already is a floating tensor), and
    whether the caller passed a tensor (the result then stays a tensor)."""
    if isinstance(logits, torch.Tensor):
        if not (logits.is_floating_point()):
            raise TypeError(f"{argument} must be a floating-point tensor, got dtype {logits.dtype}")
        tensor, was_tensor = logits, True
    else:
        tensor, was_tensor = torch.from_numpy(_validate.real_array(logits, argument)), False
    if tensor.ndim == 0 or tensor.shape[-1] == 0:
        raise ValueError(
            f"{argument} must have at least one entry along its last axis (the keys), "
            f"got shape {tuple(tensor.shape)}"
        )
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{argument} must be finite (no NaN or inf)")
    return tensor, was_tensor


def _back(tensor: torch.Tensor, was_tensor: bool):
    return tensor if was_tensor else tensor.numpy()


def softmax(logits):
    """p_j = exp(z_j − max z) / Σ_i exp(z_i − max z) over the last axis (the max is subtracted
    for stability; it cancels). Tensors stay tensors; anything else comes back as a float64
    numpy array."""
    tensor, was_tensor = _as_tensor(logits)
    return _back(torch.softmax(tensor, dim=-1), was_tensor)


def softmax_jacobian(logits):
    """J = ∂softmax(z)/∂z = diag(p) − p pᵀ, in closed form, over the last axis of ``logits``.

    For logits of shape (..., n) the result has shape (..., n, n), J[..., i, j] = ∂p_i/∂z_j =
    p_i (δ_ij − p_j). J is symmetric, positive semi-definite, with rows and columns summing to
    0 and trace 1 − Σ p_j²; for equal logits J = (I − 11ᵀ/n)/n, and as one logit pulls ahead J
    goes to 0 (Vaswani et al. 2017, §3.2.1: "extremely small gradients"). Tensors stay tensors
    (same dtype); anything else comes back as a float64 numpy array.
    """
    tensor, was_tensor = _as_tensor(logits)
    p = torch.softmax(tensor, dim=-1)
    jac = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
    return _back(jac, was_tensor)


def entropy(p):
    """H(p) = −Σ_j p_j ln p_j in nats over the last axis, with 0·ln 0 = 0. Between 0 (one-hot)
    and ln n (uniform over n keys)."""
    tensor, was_tensor = _as_tensor(p, "p")
    if (tensor < 0).any():
        raise ValueError("p must be a probability vector: no negative entries")
    total = tensor.sum(dim=-1)
    if not torch.allclose(total, torch.ones_like(total), atol=1e-6):
        raise ValueError(
            "p must be a probability vector: its entries must sum to 1 on the last axis"
        )
    h = -torch.special.xlogy(tensor, tensor).sum(dim=-1)
    return _back(h, was_tensor)


SATURATED = 0.99  # a query is saturated when its largest weight exceeds this


@dataclass(frozen=True)
class Saturation:
    """Attention statistics per setting (one entry per logit scale or per d_k) over the samples
    (each sample: one query attending over ``n_keys`` keys).

    setting: the logit scales c or the key dimensions d_k swept; scaled: with the 1/√d_k scale
    (None for a logit-scale sweep). logit_std: the measured standard deviation of the logits.
    entropy: mean H(p) in nats (ln n_keys for uniform weights). max_prob: mean largest weight.
    jacobian_mean, jacobian_median: mean and median over samples of ‖J‖_F, the Frobenius norm of
    diag(p) − ppᵀ (√(n − 1)/n for uniform weights, 0 for one-hot). Once the softmax saturates
    the two part ways: the median (the typical query) falls exponentially, the mean only slowly,
    carried by the rare queries whose two best keys are nearly tied. logit_grad_median: median
    ‖∂L/∂z‖ = ‖J u‖ for an upstream gradient u = ∂L/∂p = V g (V: n_keys × d_v and g: d_v with
    unit-variance entries). query_grad_median (:func:`dk_sweep` only, else NaN): median
    ‖∂L/∂q‖ = ‖Kᵀ J V g‖ / τ, what reaches the query (and through it the query projection's
    weights). saturated_share: the share of samples whose largest weight exceeds
    :data:`SATURATED` = 0.99; every entry of their J is then below 0.01 (J_ii = p_i(1 − p_i),
    |J_ij| = p_i p_j, and all but one p_i are below 0.01).
    """

    setting: np.ndarray
    scaled: bool | None
    n_keys: int
    logit_std: np.ndarray
    entropy: np.ndarray
    max_prob: np.ndarray
    jacobian_mean: np.ndarray
    jacobian_median: np.ndarray
    logit_grad_median: np.ndarray
    query_grad_median: np.ndarray
    saturated_share: np.ndarray

    @property
    def max_entropy(self) -> float:
        """ln n_keys: the entropy of uniform attention."""
        return math.log(self.n_keys)

    @property
    def uniform_jacobian_norm(self) -> float:
        """‖J‖_F at equal logits: √(n − 1)/n."""
        return math.sqrt(self.n_keys - 1) / self.n_keys


def _check_common(n_keys, n_samples, seed, d_v=None):
    n_keys = _validate.positive_int(n_keys, "n_keys")
    if n_keys < 2:
        raise ValueError(f"n_keys must be at least 2 (one key always gets weight 1), got {n_keys}")
    n_samples = _validate.positive_int(n_samples, "n_samples")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if d_v is not None:
        d_v = _validate.positive_int(d_v, "d_v")
    return n_keys, n_samples, seed, d_v


def _settings(values, argument: str, *, integer: bool) -> np.ndarray:
    array = np.atleast_1d(_validate.real_array(values, argument, "a sequence of numbers"))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{argument} must be a non-empty 1-D sequence, got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"{argument} must hold finite numbers >= 0, got {array.tolist()}")
    if integer and ((array < 1).any() or (array != np.round(array)).any()):
        raise ValueError(f"{argument} must hold positive integers, got {array.tolist()}")
    return array


def _statistics(z: torch.Tensor, u: torch.Tensor) -> dict:
    """Per-sample statistics of logits z (samples, n) with upstream gradients u (samples, n):
    entropy, largest weight, ‖J‖_F and J u (J never formed: ‖J‖_F² = Σp² − 2Σp³ + (Σp²)²,
    J u = p ⊙ u − p (pᵀu))."""
    p = torch.softmax(z, dim=-1)
    p2, p3 = (p**2).sum(dim=-1), (p**3).sum(dim=-1)
    ju = p * u - p * (p * u).sum(dim=-1, keepdim=True)
    return {
        "entropy": -torch.special.xlogy(p, p).sum(dim=-1),
        "top": p.amax(dim=-1),
        "jac": (p2 - 2 * p3 + p2**2).clamp_min(0).sqrt(),
        "ju": ju,
    }


def _row(z: torch.Tensor, stats: dict, dq: torch.Tensor | None) -> tuple:
    jac, top = stats["jac"], stats["top"]
    return (
        float(z.std()) if z.numel() > 1 else 0.0,
        float(stats["entropy"].mean()),
        float(top.mean()),
        float(jac.mean()),
        float(jac.median()),
        float(stats["ju"].norm(dim=-1).median()),
        math.nan if dq is None else float(dq.norm(dim=-1).median()),
        float((top > SATURATED).double().mean()),
    )


def _summary(setting, scaled, n_keys, rows) -> Saturation:
    columns = [np.array(c, dtype=float) for c in zip(*rows, strict=True)]
    return Saturation(np.asarray(setting, dtype=float), scaled, n_keys, *columns)


def logit_scale_sweep(
    scales, *, n_keys: int = DEFAULT_KEYS, n_samples: int = DEFAULT_SAMPLES, d_v: int = 16,
    seed: int = 0,
) -> Saturation:  # fmt: skip
    """Softmax statistics for logits z = c·ε, ε ~ N(0, I_n), for each logit scale c in ``scales``.

    c plays the role of the logits' standard deviation: 1 for scaled dot-product attention with
    unit-variance q and k, √d_k without the scale (Vaswani et al. 2017, §3.2.1, footnote 4).
    The same ε and the same upstream gradient u = V g (V: n_keys × d_v, g: d_v, unit-variance
    entries) are used at every c, so the curves differ only through c. c = 0 gives uniform
    weights: entropy ln n, max weight 1/n, ‖J‖_F = √(n − 1)/n. Returns a :class:`Saturation`
    (``query_grad`` is NaN: there is no query here).
    """
    n_keys, n_samples, seed, d_v = _check_common(n_keys, n_samples, seed, d_v)
    scales = _settings(scales, "scales", integer=False)
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(n_samples, n_keys, generator=gen, dtype=torch.float64)
    v = torch.randn(n_samples, n_keys, d_v, generator=gen, dtype=torch.float64)
    g = torch.randn(n_samples, d_v, 1, generator=gen, dtype=torch.float64)
    u = (v @ g).squeeze(-1)
    rows = []
    for c in scales:
        z = float(c) * eps
        rows.append(_row(z, _statistics(z, u), None))
    return _summary(scales, None, n_keys, rows)


def dk_sweep(
    d_ks, *, scaled: bool, n_keys: int = DEFAULT_KEYS, n_samples: int = DEFAULT_SAMPLES,
    d_v: int = 16, seed: int = 0,
) -> Saturation:  # fmt: skip
    """Attention statistics for random queries and keys of dimension d_k, for each d_k in
    ``d_ks``, with the 1/√d_k scale (``scaled=True``, τ = √d_k) or without it (τ = 1).

    Per sample: q ~ N(0, I_{d_k}), K ~ N(0, 1)^{n × d_k}, V ~ N(0, 1)^{n × d_v}, upstream
    gradient g ~ N(0, I_{d_v}) on the output o = softmax(K q / τ)ᵀ V, so L = gᵀo. Then

        z = K q / τ,   ∂L/∂p = V g,   ∂L/∂z = J V g,   ∂L/∂q = Kᵀ J V g / τ,

    with J = diag(p) − ppᵀ. Var(q·k) = d_k (Vaswani et al. 2017, footnote 4), so the logits'
    standard deviation is about 1 with the scale and about √d_k without it. Returns a
    :class:`Saturation` (``query_grad`` filled in). Fresh samples are drawn for every d_k from
    one generator seeded with ``seed``.
    """
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be True or False, got {scaled!r}")
    n_keys, n_samples, seed, d_v = _check_common(n_keys, n_samples, seed, d_v)
    d_ks = _settings(d_ks, "d_ks", integer=True)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for d_k in d_ks.astype(int):
        q = torch.randn(n_samples, d_k, 1, generator=gen, dtype=torch.float64)
        k = torch.randn(n_samples, n_keys, d_k, generator=gen, dtype=torch.float64)
        v = torch.randn(n_samples, n_keys, d_v, generator=gen, dtype=torch.float64)
        g = torch.randn(n_samples, d_v, 1, generator=gen, dtype=torch.float64)
        tau = math.sqrt(d_k) if scaled else 1.0
        z = (k @ q).squeeze(-1) / tau
        stats = _statistics(z, (v @ g).squeeze(-1))
        dq = (k.transpose(1, 2) @ stats["ju"].unsqueeze(-1)).squeeze(-1) / tau
        rows.append(_row(z, stats, dq))
    return _summary(d_ks, scaled, n_keys, rows)


def query_gradient(q, k, v, g, *, scaled: bool = True) -> torch.Tensor:
    """∂L/∂q = Kᵀ J V g / τ in closed form for one query (or a batch): L = gᵀ softmax(K q/τ)ᵀ V.

    Shapes: q (..., d_k), k (..., n, d_k), v (..., n, d_v), g (..., d_v); τ = √d_k if
    ``scaled`` else 1. The tests check it against autograd.
    """
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be True or False, got {scaled!r}")
    for name, t in (("q", q), ("k", k), ("v", v), ("g", g)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor")
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2] or g.shape[-1] != v.shape[-1]:
        raise ValueError(
            "shapes do not fit: need q (..., d_k), k (..., n, d_k), v (..., n, d_v), g (..., d_v);"
            f" got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}, g {tuple(g.shape)}"
        )
    tau = math.sqrt(q.shape[-1]) if scaled else 1.0
    z = (k @ q.unsqueeze(-1)).squeeze(-1) / tau
    jac = softmax_jacobian(z)
    u = (v @ g.unsqueeze(-1)).squeeze(-1)
    ju = (jac @ u.unsqueeze(-1)).squeeze(-1)
    return (k.transpose(-1, -2) @ ju.unsqueeze(-1)).squeeze(-1) / tau


__all__ = [
    "DEFAULT_KEYS",
    "DEFAULT_SAMPLES",
    "SATURATED",
    "Saturation",
    "dk_sweep",
    "entropy",
    "logit_scale_sweep",
    "query_gradient",
    "softmax",
    "softmax_jacobian",
]
