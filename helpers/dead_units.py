"""Dead ReLU units: how many there are, and what makes them die.

Notebook 05 uses it. A unit is *dead* on a batch when its output is exactly 0 for every example
(the definition ``helpers.monitor`` uses): for ReLU its pre-activation z ≤ 0 everywhere, so
relu'(z) = 0 and no gradient reaches its incoming weights or bias. A unit is *inactive* when
z ≤ 0 for every example, whatever the activation: an inactive Leaky ReLU unit still passes
gradient with slope 0.01, an inactive ELU unit with α·e^z (which fades as z → −∞).

Two causes are measured: depth at initialization (Lu, Shin, Su & Karniadakis 2019, "Dying ReLU
and Initialization: Theory and Numerical Examples": deep, narrow ReLU nets are born with many
dead units) and large learning rates during training (a large step pushes a unit's weights and
bias to where z ≤ 0 for every input, and with zero gradient nothing pulls it back).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import _validate, data, training

# Activation modules whose units can be inactive (z <= 0 for every input), and their names.
RECTIFIERS = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.ELU: "elu"}


@dataclass(frozen=True)
class UnitActivity:
    """Per rectifier module (first first), on one batch.

    dead     fraction of units whose output is exactly 0 for every example
             (``helpers.monitor.forward_profile(...).dead_fraction``).
    inactive fraction of units whose pre-activation is ≤ 0 for every example.
    slope    mean |f'(z)| over the inactive units' (unit, example) pairs: the gradient factor they
             still pass back (0 for ReLU, the slope for Leaky ReLU, α·e^z for ELU); NaN if none.
    """

    names: list[str]
    kinds: list[str]
    dead: np.ndarray
    inactive: np.ndarray
    slope: np.ndarray


def unit_activity(model: nn.Module, x) -> UnitActivity:
    """Count dead and inactive units of every ReLU/LeakyReLU/ELU module of ``model`` on ``x``.

    "Dead" is the definition of ``helpers.monitor`` (its ``dead_fraction``); the tests check that
    the two agree. Hooks are removed afterwards; the model runs under ``torch.no_grad()`` in its
    current mode.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    found = [(n, m) for n, m in model.named_modules() if type(m) in RECTIFIERS]
    if not found:
        raise ValueError(
            f"model has no ReLU, LeakyReLU or ELU module to count ({type(model).__name__})"
        )
    x = torch.as_tensor(x).to(next(model.parameters()).dtype)
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(name):
        def keep(_module, inputs, output):
            seen[name] = (inputs[0].detach(), output.detach())

        return keep

    handles = [module.register_forward_hook(hook(name)) for name, module in found]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    dead, inactive, slope = [], [], []
    for name, module in found:
        z, a = (t.reshape(t.shape[0], -1) for t in seen[name])
        off = (z <= 0).all(dim=0)
        dead.append(float((a == 0).all(dim=0).double().mean()))
        inactive.append(float(off.double().mean()))
        slope.append(_negative_side_slope(module, z[:, off]))
    return UnitActivity(
        [n for n, _ in found],
        [RECTIFIERS[type(m)] for _, m in found],
        np.array(dead),
        np.array(inactive),
        np.array(slope),
    )


def _negative_side_slope(module: nn.Module, z: torch.Tensor) -> float:
    """mean |f'(z)| over the given pre-activations, by autograd through the module."""
    if z.numel() == 0:
        return float("nan")
    z = z.detach().double().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(module(z).sum(), z)
    return float(grad.abs().mean())


def dead_profile_at_init(
    depth: int,
    init: str,
    *,
    width: int = 32,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    n: int = 1024,
    activation: str = "relu",
) -> np.ndarray:
    """Per-layer dead fraction at initialization, shape (len(seeds), depth): ``mlp(depth, width,
    activation=..., init=init, seed=s)`` on ``toy_regression(n)`` inputs.

    "default" (PyTorch's init) keeps PyTorch's U(±1/√fan_in) biases, which dominate the shrinking
    signal deep in a ReLU net; the other inits start with zero biases."""
    from helpers.models import mlp

    x, _ = data.toy_regression(n, seed=1)
    rows = [
        unit_activity(mlp(depth, width, activation=activation, init=init, seed=s), x).dead
        for s in seeds
    ]
    return np.array(rows)


@dataclass(frozen=True)
class DyingRun:
    """One setting over several seeds; each array has one entry per seed, averaged over layers.

    dead/inactive at three moments: at initialization (``_init``), after ``steps`` Adam steps at
    ``lr`` (``_after``), and after ``recovery_steps`` more at ``recovery_lr`` (``_recovered``,
    NaN when there was no recovery phase). ``slope_after``: mean |f'(z)| that the inactive units
    still pass after training (0 for ReLU; NaN if no unit is inactive). ``test_after`` and
    ``test_recovered``: held-out MSE; ``baseline``: held-out MSE of predicting the training mean.
    """

    activation: str
    init: str
    lr: float
    dead_init: np.ndarray
    dead_after: np.ndarray
    inactive_after: np.ndarray
    slope_after: np.ndarray
    dead_recovered: np.ndarray
    inactive_recovered: np.ndarray
    test_after: np.ndarray
    test_recovered: np.ndarray
    baseline: float


def dying_run(
    activation: str,
    init: str,
    lr: float,
    *,
    depth: int = 6,
    width: int = 32,
    steps: int = 100,
    recovery_steps: int = 0,
    recovery_lr: float = 1e-3,
    seeds: Sequence[int] = (0, 1, 2),
    n: int = 256,
) -> DyingRun:
    """Train ``mlp(depth, width, activation=..., init=...)`` on ``toy_regression(n)`` with Adam
    at ``lr`` for ``steps`` full-batch steps, then (optionally) ``recovery_steps`` more at
    ``recovery_lr``, counting dead and inactive units on held-out inputs at each stage.

    Adam moves every parameter by about ``lr`` per step whatever its gradient's size, so a large
    ``lr`` (0.1 against the usual 0.001) shifts biases and weights far in a few steps: the way
    dead units are usually met in practice. (Plain SGD at a learning rate that large is erratic in
    this setting: with He init some seeds diverge, which would confound the count.)
    """
    options = dict(depth=depth, width=width, steps=steps, recovery_lr=recovery_lr, n=n)
    return dying_runs([(activation, init, lr, recovery_steps)], seeds=seeds, **options)[0]


def dying_runs(
    settings: Sequence[tuple[str, str, float, int]],
    *,
    depth: int = 6,
    width: int = 32,
    steps: int = 100,
    recovery_lr: float = 1e-3,
    seeds: Sequence[int] = (0, 1, 2),
    n: int = 256,
) -> list[DyingRun]:
    """:func:`dying_run` for each (activation, init, lr, recovery_steps) in ``settings``, in that
    order. Settings that differ only in their init train together in one
    :func:`helpers.training.train_many` call (each network still follows its own path); the
    recovery phase is a second call on the trained networks, with a fresh Adam at ``recovery_lr``.
    """
    from helpers.models import mlp

    steps = _validate.positive_int(steps, "steps")
    recovery_lr = _validate.positive(recovery_lr, "recovery_lr")
    checked = []
    for activation, init, lr, recovery in settings:
        lr = _validate.positive(lr, "lr")
        if recovery != 0:
            recovery = _validate.positive_int(recovery, "recovery_steps")
        checked.append((activation, init, lr, recovery))
    x, y = data.toy_regression(n, seed=0)
    x_test, y_test = data.toy_regression(4 * n, seed=1)
    baseline = float(torch.mean((y_test - y.mean()) ** 2))
    seeds = list(seeds)
    groups: dict[tuple, list[int]] = {}
    for index, (activation, _init, lr, recovery) in enumerate(checked):
        groups.setdefault((activation, lr, recovery), []).append(index)
    results: dict[int, DyingRun] = {}
    for (activation, lr, recovery), members in groups.items():
        plan = [(checked[i][1], s) for i in members for s in seeds]  # copy k: (init, seed)

        def build(k, plan=plan, activation=activation):
            init, seed = plan[k]
            return mlp(depth, width, activation=activation, init=init, seed=seed)

        copies = list(range(len(plan)))
        stages = [[unit_activity(build(k), x_test) for k in copies]]
        options = dict(seeds=copies, optimizer="adam", loss="mse")
        models = training.train_many(build, (x, y), lrs=[lr], steps=steps, **options).models
        stages.append([unit_activity(m, x_test) for m in models])
        tests = [[_test_loss(m, x_test, y_test) for m in models]]
        if recovery:  # the trained networks, a smaller rate
            again = training.train_many(
                models.__getitem__, (x, y), lrs=[recovery_lr], steps=recovery, **options
            )
            models = again.models
            stages.append([unit_activity(m, x_test) for m in models])
            tests.append([_test_loss(m, x_test, y_test) for m in models])
        for k, i in enumerate(members):
            mine = range(k * len(seeds), (k + 1) * len(seeds))
            results[i] = _summarize(checked[i], stages, tests, mine, baseline)
    return [results[i] for i in range(len(checked))]


def _summarize(setting, stages, tests, mine, baseline) -> DyingRun:
    """One DyingRun from the per-model measurements at each stage (init, after, recovered)."""
    activation, init, lr, _ = setting
    nan = np.full(len(mine), np.nan)

    def column(stage, field):
        if stage >= len(stages):
            return nan
        return np.array([getattr(stages[stage][j], field).mean() for j in mine])

    slope = np.array(
        [
            np.nanmean(stages[1][j].slope) if np.any(stages[1][j].inactive > 0) else np.nan
            for j in mine
        ]
    )
    return DyingRun(
        activation,
        init,
        lr,
        column(0, "dead"),
        column(1, "dead"),
        column(1, "inactive"),
        slope,
        column(2, "dead"),
        column(2, "inactive"),
        np.array([tests[0][j] for j in mine]),
        np.array([tests[1][j] for j in mine]) if len(tests) > 1 else nan,
        baseline,
    )


def _test_loss(model, x, y) -> float:
    with torch.no_grad():
        return float(nn.functional.mse_loss(model(x), y))


def _spread(values: np.ndarray, fmt: str) -> str:
    """'mean (min–max)' over seeds, or '–' when not measured."""
    if np.all(np.isnan(values)):
        return "–"
    return f"{np.mean(values):{fmt}} ({np.min(values):{fmt}}–{np.max(values):{fmt}})"


def dying_table(runs: Sequence[DyingRun]) -> str:
    """The runs as a text table: mean over seeds with the (min–max) range. For ReLU, inactive and
    dead are the same units; Leaky ReLU and ELU units can be inactive but never dead."""
    columns = ["dead at init", "dead after", "inactive after", "inactive after recovery"]
    lines = [f"{'activation':<11}{'init':<8}{'lr':>6}  " + "".join(f"{c:<18}" for c in columns)]
    for run in runs:
        values = [run.dead_init, run.dead_after, run.inactive_after, run.inactive_recovered]
        cells = "".join(f"{_spread(v, '.2f'):<18}" for v in values)
        lines.append(f"{run.activation:<11}{run.init:<8}{run.lr:>6g}  {cells}".rstrip())
    return "\n".join(lines)
