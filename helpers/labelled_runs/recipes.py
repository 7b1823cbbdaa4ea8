"""The recipes of notebook 04's labelled runs: how each is built and trained, and the label its
cause should get.

Every run trains a :func:`helpers.models.mlp` of width :data:`WIDTH` by full-batch gradient
descent on :data:`N_TRAIN` examples of a seeded 2-D classification task of :mod:`helpers.data`
(two moons, or two blobs for the easy task) with binary cross-entropy, and is scored on
:data:`N_TEST` held-out examples. :mod:`helpers.runs` trains them; see its docstring for which
runs sit near a rule's threshold.
"""

import math
from dataclasses import dataclass

from helpers import _validate
from helpers.diagnose import LABELS

# The loss of the best constant prediction for balanced binary labels: p = 1/2 everywhere gives
# binary cross-entropy −ln(1/2) = ln 2 ≈ 0.693. Every task below has exactly balanced classes.
BASELINE = math.log(2.0)
N_TRAIN = 64
N_TEST = 512
WIDTH = 16

# The tasks by their names in helpers.data.
TASKS = {"moons": "two_moons", "blobs": "two_blobs"}


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


def check_name(name) -> str:
    return _validate.choice(name, RUNS, "run")


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


def runs_by_label(label: str) -> list[str]:
    """Names of the runs expected to get ``label``."""
    _validate.choice(label, LABELS, "label")
    return [name for name, entry in RUNS.items() if entry.expected == label]
