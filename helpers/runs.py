"""A labelled benchmark of small training runs whose cause is known, for testing ``diagnose``.

Notebook 04 prints the benchmark's labels and confusion table (expected label vs diagnosed label)
over seeds 0, 1 and 2 and plots its runs; ``tests/test_runs.py`` requires every run, on those
seeds, to get its label. Each run trains a :func:`helpers.models.mlp` by full-batch gradient
descent on a seeded 2-D classification task (two moons, or two blobs for the easy task) with binary
cross-entropy, under a ``helpers.monitor.GradientMonitor`` with forward statistics, then measures
held-out accuracy.

Every run takes well under a second on one CPU thread; results are cached per (name, seed).

Robustness. A run's digits depend on the floating-point path (CPU, BLAS kernels, thread count), so
only the labels are claims. :func:`twin_runs` trains a recipe twice from weights one float32 step
apart. Each run of seeds 0-2 was retrained ten times, five times nudged that way and five with
the training rows in another order (what another BLAS kernel does to the sums): every label held,
and every rule too except tiny_init's, whose gradients sit at float32's rounding floor (its last
layer's is exactly 0 or about 1e-9 depending on summation order, so all-small or layer-ratio
fires; both say vanishing). On seeds 0-11, 167 of the 168 runs got their expected label; the miss
is healthy_deep_he on seed 10, which had in fact converged by step 39 (loss down 89%; diagnosed
converged). adam_vanishing has 18 layers because at 15 its seed-2 run was borderline: three of
ten such reruns lifted its first/last gradient ratio above 1e-3 (diagnosed converged).
"""

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helpers import _validate, claims
from helpers.course import course_threads, progress
from helpers.diagnose import LABELS, Diagnosis, diagnose
from helpers.models import linear_layers, mlp
from helpers.monitor import GradientMonitor

# The loss of the best constant prediction for balanced binary labels: p = 1/2 everywhere gives
# binary cross-entropy −ln(1/2) = ln 2 ≈ 0.693. Every task below has exactly balanced classes.
BASELINE = math.log(2.0)
N_TRAIN = 64
N_TEST = 512
WIDTH = 16


# --- the data ------------------------------------------------------------------------------------


def two_moons(n: int, *, noise: float = 0.15, seed: int = 0):
    """(x, y) float32 tensors: two interleaved half circles, standardized to about zero mean and
    unit variance per feature; y (n, 1) in {0, 1}, exactly balanced (alternating labels)."""
    n = _validate.positive_int(n, "n")
    noise = _validate.nonnegative(noise, "noise")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0.0, np.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    x = np.where(y[:, None] == 0, upper, lower) + noise * rng.standard_normal((n, 2))
    x = (x - [0.5, 0.25]) / [0.87, 0.5]
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)[:, None]


def two_blobs(n: int, *, seed: int = 0):
    """(x, y): two well-separated Gaussian blobs at (±1.5, ±1.5), unit variance; a task a linear
    boundary solves almost perfectly. Balanced labels as in :func:`two_moons`."""
    n = _validate.positive_int(n, "n")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    centers = np.where(y[:, None] == 0, -1.0, 1.0)
    x = centers + rng.standard_normal((n, 2))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)[:, None]


TASKS = {"moons": two_moons, "blobs": two_blobs}


# --- one run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How a run is built and trained; everything but the seed.

    model: keyword arguments of :func:`helpers.models.mlp` (width is :data:`WIDTH`).
    hidden_bias: if set, every hidden layer's bias starts at this value (output bias unchanged).
    input_shift, input_scale: the inputs are fed as input_scale·x + input_shift ("raw units").
    optimizer: "sgd" (plain) or "adam" (torch defaults, betas 0.9/0.999, eps 1e-8).
    """

    model: dict
    lr: float
    steps: int = 150
    task: str = "moons"
    optimizer: str = "sgd"
    hidden_bias: float | None = None
    input_shift: float = 0.0
    input_scale: float = 1.0


@dataclass(frozen=True)
class LabelledRun:
    """A benchmark entry: the run's recipe, the label its cause should get, and why."""

    name: str
    expected: str
    cause: str
    description: str
    recipe: Recipe


@dataclass(frozen=True)
class RunResult:
    """One finished run: the monitor's record, held-out performance and the diagnosis."""

    name: str
    seed: int
    expected: str
    monitor: GradientMonitor
    test_accuracy: float
    test_loss: float
    seconds: float

    @property
    def baseline(self) -> float:
        return BASELINE

    @functools.cached_property
    def diagnosis(self) -> Diagnosis:
        return diagnose(self.monitor, baseline=BASELINE)

    @property
    def label(self) -> str:
        return self.diagnosis.label

    @property
    def correct(self) -> bool:
        return self.label == self.expected


def _set_hidden_bias(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        for layer in linear_layers(model)[:-1]:
            layer.bias.fill_(value)


def _optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


def _fit(recipe: Recipe, seed: int, *, label: str, nudge: bool = False, trace=None):
    """Train ``recipe`` from ``seed``; return (model, monitor, held-out x, held-out y).

    nudge: move the first weight of the first layer up by one float32 step before training.
    trace: a list to which the flattened parameters are appended before every step and at the end.
    """
    data = TASKS[recipe.task]
    x, y = data(N_TRAIN, seed=seed)
    x_test, y_test = data(N_TEST, seed=seed + 10_000)
    x = recipe.input_scale * x + recipe.input_shift
    x_test = recipe.input_scale * x_test + recipe.input_shift
    model = mlp(width=WIDTH, seed=seed, **recipe.model)
    if recipe.hidden_bias is not None:
        _set_hidden_bias(model, recipe.hidden_bias)
    if nudge:
        with torch.no_grad():
            weight = linear_layers(model)[0].weight.view(-1)
            weight[0] = torch.nextafter(weight[0], torch.tensor(math.inf))
    optimizer = _optimizer(recipe.optimizer, model.parameters(), recipe.lr)
    loss_fn = nn.BCEWithLogitsLoss()

    def snapshot():
        if trace is not None:
            trace.append(torch.cat([p.detach().flatten() for p in model.parameters()]).double())

    with GradientMonitor(model, forward_stats=True) as monitor:
        for _ in progress(range(recipe.steps), desc=label, leave=False):
            snapshot()
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            monitor.record(loss)
            optimizer.step()
    snapshot()
    return model, monitor, x_test, y_test


def train(recipe: Recipe, seed: int = 0, *, label: str = "training"):
    """Train ``recipe`` from ``seed``; return (monitor, test accuracy, test loss).

    The canonical loop the monitor is made for: zero_grad, forward, loss, backward,
    ``monitor.record(loss)``, step. The monitor's forward hooks are removed on exit.
    """
    model, monitor, x_test, y_test = _fit(recipe, seed, label=label)
    with torch.no_grad():
        logits = model(x_test)
        test_loss = float(nn.functional.binary_cross_entropy_with_logits(logits, y_test))
        accuracy = float(((logits > 0).float() == y_test).float().mean())
    return monitor, accuracy, test_loss


@dataclass(frozen=True)
class Twins:
    """One recipe trained twice from one seed; the second run starts with a single weight (the
    first of the first layer) moved by one float32 step, the smallest change float32 can make.
    Another CPU or BLAS kernel makes rounding changes of that size in every sum of every step.

    distance: ‖θ₂ − θ₁‖ over all parameters (float64), before each step and after the last one
    (steps + 1 values); distance[0] is the nudge itself. losses: (2, steps) training losses.
    diagnoses: the two runs' diagnoses (baseline ln 2).
    """

    recipe: Recipe
    seed: int
    distance: np.ndarray
    losses: np.ndarray
    diagnoses: tuple[Diagnosis, Diagnosis]

    @property
    def growth(self) -> float:
        """How many times further apart the two runs end than they started."""
        return float(self.distance[-1] / self.distance[0])

    @property
    def final_losses(self) -> np.ndarray:
        """The two runs' last training losses."""
        return self.losses[:, -1]


def twin_runs(recipe, seed: int = 0) -> Twins:
    """Train ``recipe`` (a :class:`Recipe` or the name of a benchmark run) from ``seed`` twice,
    the second time from weights one float32 step apart, and measure how far apart they end.

    Runs with :func:`helpers.course.choose_threads` torch threads, as the benchmark does.
    """
    if isinstance(recipe, str):
        recipe = RUNS[_check_name(recipe)].recipe
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe or a run name, got {type(recipe).__name__}")
    seed = _check_seed(seed)
    traces, monitors = ([], []), []
    with course_threads():
        for nudge, trace in zip((False, True), traces, strict=True):
            monitors.append(_fit(recipe, seed, label="twin", nudge=nudge, trace=trace)[1])
    distance = torch.stack(traces[1]) - torch.stack(traces[0])
    return Twins(
        recipe,
        seed,
        distance.norm(dim=1).numpy(),
        np.stack([m.losses for m in monitors]),
        tuple(diagnose(m, baseline=BASELINE) for m in monitors),
    )


# --- the benchmark -------------------------------------------------------------------------------

_SIGMOID_DEEP = {"depth": 5, "activation": "sigmoid"}

RUNS: dict[str, LabelledRun] = {
    run.name: run
    for run in [
        LabelledRun(
            "tiny_init",
            "vanishing",
            "weights too small",
            "5-layer sigmoid net, every weight drawn from N(0, 0.005²) (notebook 03), plain SGD. "
            "Each layer multiplies the backward signal by about 0.005·√16·0.25: the gradients "
            "of all layers end up below 1e-8 and the loss sits at ln 2.",
            Recipe({**_SIGMOID_DEEP, "init": "normal", "scale": 0.005}, lr=0.5),
        ),
        LabelledRun(
            "deep_sigmoid",
            "vanishing",
            "depth with sigmoid",
            "10-layer sigmoid net with PyTorch's default init U(±1/√fan_in), plain SGD. σ' ≤ 1/4 "
            "and the default weights are small, so the backward signal shrinks every layer.",
            Recipe({"depth": 10, "activation": "sigmoid"}, lr=0.5),
        ),
        LabelledRun(
            "saturated_inputs",
            "vanishing",
            "sigmoid saturation",
            "5-layer sigmoid net fed raw, unstandardized inputs (30·x + 100, like features in "
            "their natural units). The first layer's pre-activations are in the hundreds, ~all "
            "units saturate at 0 or 1 for every example, σ' there is below 1e-40: the input's "
            "signal and the gradient both die in the first layer.",
            Recipe(_SIGMOID_DEEP, lr=0.5, input_shift=100.0, input_scale=30.0),
        ),
        LabelledRun(
            "underscaled_tanh",
            "vanishing",
            "deep under-scaled tanh stack",
            "12-layer tanh net, weights N(0, 0.1²), so σ_w² = 16·0.01 = 0.16 < 1, below the "
            "critical value 1 of Schoenholz et al. (2017). Forward signals and backward "
            "gradients both shrink by about 0.4 per layer: every layer's gradient is tiny, "
            "although their first/last ratio is near 1 (the shrinking is symmetric).",
            Recipe({"depth": 12, "activation": "tanh", "init": "normal", "scale": 0.1}, lr=0.1),
        ),
        LabelledRun(
            "dying_relu",
            "vanishing",
            "dying ReLU",
            "4-layer ReLU net (He init) whose hidden biases start at −1.5: every unit outputs 0 "
            "for every example, so no gradient passes and no unit recovers. The same state "
            "follows a too-large update (a learning-rate spike), but whether that kills a unit "
            "depends on the seed; the negative bias makes it certain.",
            Recipe({"depth": 4, "activation": "relu", "init": "he"}, lr=0.1, hidden_bias=-1.5),
        ),
        LabelledRun(
            "adam_vanishing",
            "vanishing",
            "vanishing gradients under Adam",
            "Look-alike: 18-layer tanh net, default init, trained with Adam. The loss falls, "
            "because the later layers learn and Adam rescales each parameter's step, yet the "
            "first layer's gradient stays far below 1e-3 of the last layer's: the early layers "
            "barely move. Labelled vanishing by the gradient evidence: the same net stalls "
            "under SGD, and a learner should know the early layers are idle. (With 15 layers "
            "some seeds sat near the 1e-3 line, and a rounding-size nudge could cross it.)",
            Recipe({"depth": 18, "activation": "tanh"}, lr=0.01, steps=100, optimizer="adam"),
        ),
        LabelledRun(
            "deep_tanh_sgd",
            "vanishing",
            "depth with tanh",
            "The network of adam_vanishing (18-layer tanh, PyTorch's default init, Var(W) = "
            "1/(3·fan_in)) trained by plain SGD instead: the loss stays at ln 2 and every "
            "layer's gradient is tiny. Set beside adam_vanishing: same gradients, different "
            "optimizer, a loss curve that tells a different story.",
            Recipe({"depth": 18, "activation": "tanh"}, lr=0.5, steps=100),
        ),
        LabelledRun(
            "exploding_relu",
            "exploding",
            "large init, deep ReLU",
            "10-layer ReLU net with weights 3x the He scale (Var = 18/fan_in): activations and "
            "gradients grow about 3x per layer, the first SGD steps overflow to NaN.",
            Recipe(
                {"depth": 10, "activation": "relu", "init": "he", "scale": 3 * 2**0.5},
                lr=0.01,
                steps=30,
            ),
        ),
        LabelledRun(
            "exploding_linear",
            "exploding",
            "large init, deep linear",
            "10-layer linear net (no activation) with weights N(0, 0.75²), 3x the 1/√fan_in "
            "scale that keeps signals steady: the product of weight matrices grows about 3x per "
            "layer and SGD overflows to NaN.",
            Recipe(
                {"depth": 10, "activation": "linear", "init": "normal", "scale": 0.75},
                lr=0.01,
                steps=30,
            ),
        ),
        LabelledRun(
            "converged_easy",
            "converged",
            "easy task learned",
            "2-layer tanh net on two well-separated blobs, plain SGD. The loss falls to a few "
            "hundredths and flattens: small gradients here mean the job is done.",
            Recipe({"depth": 2, "activation": "tanh"}, lr=0.5, steps=300, task="blobs"),
        ),
        LabelledRun(
            "converged_moons",
            "converged",
            "task learned",
            "3-layer ReLU net (He init) on two moons, Adam: near-perfect training fit, flat loss.",
            Recipe({"depth": 3, "activation": "relu", "init": "he"}, lr=0.02, optimizer="adam"),
        ),
        LabelledRun(
            "healthy_mid_training",
            "healthy",
            "training in progress",
            "3-layer tanh net (Xavier init) on two moons, plain SGD (learning rate 0.01), stopped "
            "after 60 steps while the loss is still falling.",
            Recipe({"depth": 3, "activation": "tanh", "init": "xavier"}, lr=0.01, steps=60),
        ),
        LabelledRun(
            "healthy_deep_he",
            "healthy",
            "well-scaled deep ReLU",
            "10-layer ReLU net with He init (Var = 2/fan_in): the same depth as exploding_relu, "
            "trained by plain SGD; gradients reach every layer and the loss keeps falling.",
            Recipe({"depth": 10, "activation": "relu", "init": "he"}, lr=0.03, steps=60),
        ),
        LabelledRun(
            "small_lr",
            "healthy",
            "learning rate too small",
            "Look-alike: the network of healthy_mid_training (3-layer tanh, Xavier init) with a "
            "learning rate of 0.001, ten times smaller. The loss creeps down and looks flat next "
            "to a normal run, but the gradients are balanced across layers and usable; each "
            "update is small because the learning rate is. Labelled healthy (still improving); "
            "the diagnosis notes the small updates.",
            Recipe({"depth": 3, "activation": "tanh", "init": "xavier"}, lr=0.001),
        ),
    ]
}


def _check_name(name) -> str:
    return _validate.choice(name, RUNS, "run")


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


@functools.cache
def _run_cached(name: str, seed: int) -> RunResult:
    entry = RUNS[name]
    with course_threads():
        start = time.perf_counter()
        monitor, accuracy, test_loss = train(entry.recipe, seed, label=name)
        seconds = time.perf_counter() - start
    return RunResult(name, seed, entry.expected, monitor, accuracy, test_loss, seconds)


def run(name: str, seed: int = 0) -> RunResult:
    """Train benchmark run ``name`` (a key of :data:`RUNS`) from ``seed``; cached per process.

    Uses ``helpers.course.choose_threads()`` torch threads for the run (1 unless VG_THREADS says
    otherwise) and restores the previous count afterwards.
    """
    return _run_cached(_check_name(name), _check_seed(seed))


def benchmark(seeds=(0,), names=None) -> list[RunResult]:
    """Every run (or those in ``names``) for every seed, in :data:`RUNS` order."""
    names = list(RUNS) if names is None else [_check_name(n) for n in names]
    seeds = [_check_seed(s) for s in seeds]
    return [run(name, seed) for name in names for seed in seeds]


def confusion(results) -> np.ndarray:
    """counts[i, j]: runs expected to be LABELS[i] that were diagnosed LABELS[j]."""
    counts = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    for result in results:
        counts[LABELS.index(result.expected), LABELS.index(result.label)] += 1
    return counts


def format_confusion(counts: np.ndarray) -> str:
    """The confusion table as text: rows expected, columns diagnosed."""
    counts = np.asarray(counts)
    width = max(len(label) for label in LABELS) + 2
    head = "expected \\ diagnosed".ljust(22) + "".join(label.rjust(width) for label in LABELS)
    rows = [
        label.ljust(22) + "".join(str(c).rjust(width) for c in counts[i])
        for i, label in enumerate(LABELS)
    ]
    correct = int(np.trace(counts))
    return "\n".join([head, *rows, f"{correct} of {int(counts.sum())} runs labelled as expected"])


def _number(value: float, spec: str) -> str:
    return format(value, spec) if math.isfinite(value) else "nan".rjust(int(spec.split(".")[0]))


def summary_table(results) -> str:
    """Numbers for reading, one line per run: label, rule, final training loss, held-out accuracy
    and loss. These digits depend on the floating-point path; the labels do not."""
    head = f"{'run':22}{'seed':>4}  {'diagnosed':10} {'rule':17}{'loss':>7}{'test acc':>9}"
    lines = [head + f"{'test loss':>10}"]
    for r in results:
        lines.append(
            f"{r.name:22}{r.seed:>4}  {r.label:10} {r.diagnosis.rule:17}"
            f"{_number(r.monitor.losses[-1], '7.3f')}{r.test_accuracy:9.2f}"
            f"{_number(r.test_loss, '10.3f')}"
        )
    return "\n".join(lines)


def _seeds(results) -> list[int]:
    return sorted({r.seed for r in results})


def label_table(results) -> str:
    """Each run's expected label and the label ``diagnose`` gave it on each seed ("-" if that run
    and seed are not in ``results``), in :data:`RUNS` order."""
    results = list(results)
    seeds = _seeds(results)
    found = {(r.name, r.seed): r.label for r in results}
    lines = [f"{'run':22}{'expected':11}" + "".join(f"{f'seed {s}':11}" for s in seeds).rstrip()]
    for name in RUNS:
        if any((name, s) in found for s in seeds):
            labels = "".join(f"{found.get((name, s), '-'):11}" for s in seeds)
            lines.append(f"{name:22}{RUNS[name].expected:11}{labels}".rstrip())
    return "\n".join(lines)


def _named_claim(check, misses: str):
    """Run a claim; if it fails, add which runs missed to the error."""
    try:
        return check()
    except claims.ClaimFailed as error:
        raise claims.ClaimFailed(f"{error} Runs that missed: {misses}.") from None


def _seed_text(seeds) -> str:
    """ "seed 0" or "seeds 0, 1 and 2"."""
    seeds = [str(s) for s in seeds]
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    return "seeds " + ", ".join(seeds[:-1]) + " and " + seeds[-1]


def check_labels(results) -> claims.Verdict:
    """The claim that every run in ``results`` got its expected label (claim "04.benchmark-labels").

    Raises :class:`helpers.claims.ClaimFailed`, naming the runs that missed, if any did.
    """
    results = list(results)
    if not results:
        raise ValueError("results is empty; pass the RunResults of runs.benchmark()")
    names, seeds = {r.name for r in results}, _seed_text(_seeds(results))
    sentence = (
        f"all {len(results)} runs ({len(names)} benchmark runs on {seeds}) get the label "
        "their cause should get"
    )
    misses = ", ".join(f"{r.name} seed {r.seed} ({r.label})" for r in results if not r.correct)
    return _named_claim(
        lambda: claims.every(
            [r.correct for r in results], name="04.benchmark-labels", sentence=sentence
        ),
        misses,
    )


# The rule that names each run's cause. tiny_init is left out: its gradients sit at float32's
# rounding floor (the last layer's is exactly 0 or about 1e-9, depending on summation order), so
# all-small or layer-ratio fires; both say vanishing.
CAUSE_RULES = {
    "deep_sigmoid": "all-small",
    "saturated_inputs": "saturation",
    "underscaled_tanh": "all-small",
    "dying_relu": "dying-relu",
    "adam_vanishing": "layer-ratio",
    "deep_tanh_sgd": "all-small",
}


def check_causes(results) -> claims.Verdict:
    """The claim that each vanishing run of :data:`CAUSE_RULES` in ``results`` was caught by the
    rule that names its cause (claim "04.benchmark-causes"). Raises ClaimFailed naming misses."""
    named = [r for r in results if r.name in CAUSE_RULES]
    if not named:
        raise ValueError(f"results holds none of the runs {', '.join(CAUSE_RULES)}")
    sentence = (
        "each cause is caught by the rule that names it: dying ReLU by dying-relu, saturation by "
        "saturation, Adam's hidden vanishing by layer-ratio, the deep nets by all-small"
    )
    misses = ", ".join(
        f"{r.name} seed {r.seed} ({r.diagnosis.rule})"
        for r in named
        if r.diagnosis.rule != CAUSE_RULES[r.name]
    )
    return _named_claim(
        lambda: claims.every(
            [r.diagnosis.rule == CAUSE_RULES[r.name] for r in named],
            name="04.benchmark-causes",
            sentence=sentence,
        ),
        misses,
    )


def check_held_out(results) -> list[claims.Verdict]:
    """The held-out claims of notebook 04, over every seed in ``results`` (a full benchmark):

    - "04.stalled-held-out-ln2": every stalled vanishing run (all but adam_vanishing, whose loss
      fell) has a held-out loss within 1% of ln 2: it answers p ≈ 1/2 for everything;
    - "04.stalled-accuracy-spread": yet those runs' accuracies spread over more than 0.3;
    - "04.exploded-score-half": the exploding runs' held-out loss is NaN and their accuracy exactly
      0.5 (NaN > 0 is false, so they predict class 0 for everything);
    - "04.converged-accurate": every converged run classifies more than 75% of the held-out
      examples correctly;
    - "04.small-lr-behind": on every seed small_lr makes at least twice as many held-out errors
      as either converged run.

    Raises ValueError if ``results`` lacks any of those runs, ClaimFailed if a claim fails.
    """
    results = list(results)
    groups = {
        "stalled": [r for r in results if r.expected == "vanishing" and r.name != "adam_vanishing"],
        "exploding": [r for r in results if r.expected == "exploding"],
        "converged": [r for r in results if r.expected == "converged"],
        "small_lr": [r for r in results if r.name == "small_lr"],
    }
    for group, found in groups.items():
        if not found:
            raise ValueError(f"results holds no {group} run; pass a full runs.benchmark()")
    stalled = groups["stalled"]
    accuracy = [r.test_accuracy for r in stalled]
    converged_error = {}  # seed -> the larger held-out error of the converged runs
    for r in groups["converged"]:
        converged_error[r.seed] = max(converged_error.get(r.seed, 0.0), 1 - r.test_accuracy)
    behind = [(1 - r.test_accuracy) / converged_error[r.seed] for r in groups["small_lr"]]
    return [
        claims.all_near(
            [r.test_loss / BASELINE for r in stalled],
            1.0,
            0.01,
            name="04.stalled-held-out-ln2",
            sentence="every stalled vanishing run's held-out loss is within 1% of ln 2",
        ),
        claims.all_above(
            [max(accuracy) - min(accuracy)],
            0.3,
            name="04.stalled-accuracy-spread",
            sentence="yet their held-out accuracies spread over more than 0.3",
        ),
        claims.every(
            [math.isnan(r.test_loss) and r.test_accuracy == 0.5 for r in groups["exploding"]],
            name="04.exploded-score-half",
            sentence="the exploding runs output NaN and score exactly 0.5",
        ),
        claims.all_below(
            [1 - r.test_accuracy for r in groups["converged"]],
            0.25,
            name="04.converged-accurate",
            sentence="every converged run classifies over 75% of the held-out examples correctly",
        ),
        claims.all_above(
            behind,
            2.0,
            name="04.small-lr-behind",
            sentence="small_lr makes at least twice the held-out errors of either converged run",
        ),
    ]


def runs_by_label(label: str) -> list[str]:
    """Names of the runs expected to get ``label``."""
    _validate.choice(label, LABELS, "label")
    return [name for name, entry in RUNS.items() if entry.expected == label]
