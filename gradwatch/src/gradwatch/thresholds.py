"""Every constant the diagnosis reads, with what it means and where it comes from."""

import math
from dataclasses import dataclass

LABELS = ("vanishing", "exploding", "converged", "healthy")
# What diagnose answers when the record is too short to support any label.
INSUFFICIENT = "insufficient evidence"
OUTCOMES = (*LABELS, INSUFFICIENT)
# Fewer stored rows than this and diagnose does not label the run: the rules compare the first
# and the last eighth of the record, and find_plateau needs two windows.
MIN_ROWS = 10
# The loss is still improving when the slope of its logarithm over the last quarter of the record
# is this many standard errors below zero (a t test; pure noise passes it about once in 1000) ...
STILL_FALLING_T = -3.0
# ... and that last quarter still brought at least this share of the run's whole (log) decline:
# a loss falling at a steady pace brings a quarter or more, one that has levelled off next to 0
# (course choice; on the course's runs and the validation set the stalled ones stay under 2%).
STILL_FALLING_SHARE = 0.05
# ... unless the loss is already below this fraction of its reference: the model fits its training
# data (R² ≥ 0.99 for a squared error; a cross-entropy at 1% of ln C, the right class at about 99%
# on average), and a loss that keeps shrinking there mostly measures logits growing on a
# separable problem. diagnose then says converged, with a note that the loss is still falling.
FIT_FRACTION = 1e-2


@dataclass(frozen=True)
class Threshold:
    """One documented constant of the rules: its value, what it means and where it comes from."""

    value: float
    meaning: str
    source: str


# Zhang, Zhai, Ma & Shen (2021), "AUTOTRAINER: An Automatic DNN Training Problem Detection
# and Repair System", ICSE 2021; their detector (utils/monitor.py, gradient_issue) uses β1 = 1e-3,
# β2 = 1e-4, β3 = 70 and γ = 0.7. The update-to-weight ratio ≈ 1e-3 for a healthy learning rate
# is in the Stanford CS231n course notes (Karpathy et al., "Neural Networks Part 3: Learning and
# Evaluation", section "Ratio of weights:updates", cs231n.github.io), and again in Karpathy (2022),
# "Building makemore part 3: Activations & Gradients, BatchNorm" (update-to-data, log10 ≈ -3).
# Wardat, Cruz, Le & Rajan (2022), "DeepDiagnosis", ICSE 2022, check the same kinds of symptoms
# (loss not decreasing, unchanged weights, saturated activations, dead nodes).
THRESHOLDS = {
    "vanishing_ratio": Threshold(
        1e-3,
        "first-layer / last-layer gradient norm below this: early layers starve",
        "AUTOTRAINER β1 (Zhang et al., ICSE 2021)",
    ),
    "tiny_gradient": Threshold(
        1e-4,
        "first-layer gradient norm ÷ the reference loss below this (together with β1) means "
        "vanishing; also the floor under which a first-layer gradient cannot count as "
        "exploding. Divided by the loss, so multiplying the loss by a constant changes nothing "
        "(AUTOTRAINER's absolute 1e-4 assumes a loss of about 1)",
        "AUTOTRAINER β2 (Zhang et al., ICSE 2021)",
    ),
    "stalled_gradient": Threshold(
        1e-3,
        "at a plateau before the loss halved, every layer's gradient ÷ the reference loss "
        "below this is unusable: an SGD step of size η lowers the loss by about η·g², under "
        "1e-6 of a loss of 1 for g < 1e-3, η ≤ 1",
        "first-order estimate (course choice); AUTOTRAINER's β2 = 1e-4 bounds the first layer",
    ),
    "exploding_ratio": Threshold(
        70.0,
        "first-layer / last-layer gradient norm above this: gradients grow toward the input",
        "AUTOTRAINER β3 (Zhang et al., ICSE 2021)",
    ),
    "loss_spike": Threshold(
        10.0,
        "largest recorded loss / starting loss at or above this: the updates overshoot",
        "course choice: an order of magnitude; such spikes are the signature of exploding "
        "gradients in recurrent nets (Pascanu, Mikolov & Bengio 2013)",
    ),
    "exploding_growth": Threshold(
        1e3,
        "total gradient norm (last window / first window) grew by this factor, loss not falling",
        "course choice: three orders of magnitude, the mirror image of β1",
    ),
    "time_ratio": Threshold(
        1e-3,
        "‖∂L/∂x_t‖ over the first tenth of a recurrent layer's input sequence ÷ over the last "
        "tenth, below this at a plateau: the early inputs no longer reach the loss",
        "AUTOTRAINER's β1 applied along time instead of depth; vanishing through time: "
        "Bengio, Simard & Frasconi (1994), Pascanu, Mikolov & Bengio (2013)",
    ),
    "dead_fraction": Threshold(
        0.7,
        "fraction of a layer's units dead on the whole batch (ReLU output 0 for every example)",
        "AUTOTRAINER γ (they count zero gradient entries; the monitor counts dead units)",
    ),
    "saturated_fraction": Threshold(
        0.7,
        "fraction of a layer's pre-activations beyond the saturation threshold (sigmoid |z| > 5)",
        "course choice: AUTOTRAINER's γ reused for units that pass almost no gradient",
    ),
    "gradient_collapse": Threshold(
        1e-2,
        "largest layer gradient now / at the start below this while the loss has not fallen",
        "course choice: two orders of magnitude",
    ),
    "healthy_update": Threshold(
        1e-3,
        "typical update-to-weight ratio per step for a well-tuned learning rate (reference line)",
        "CS231n notes (Karpathy et al.), ratio of weights:updates; "
        "Karpathy (2022), makemore part 3",
    ),
    "tiny_update": Threshold(
        1e-4,
        "every layer's update-to-weight ratio below this: the learning rate is too small",
        "a decade below the ≈ 1e-3 of CS231n and Karpathy",
    ),
    "converged_drop": Threshold(
        0.5,
        "the plateau lies at least this fraction below the reference loss: converged",
        "course choice: the loss at least halved from its start (or the baseline)",
    ),
    "plateau_rel_tol": Threshold(
        0.01,
        "find_plateau's tolerance: improvement below 1% of the loss scale does not count",
        "course choice",
    ),
}


# find_plateau's noise allowance: a difference of smoothed losses within PLATEAU_NOISE_Z standard
# errors of the moving median counts as noise. The median of w Gaussian samples has standard
# error √(π/2)·σ/√w ≈ 1.2533·σ/√w (its asymptotic variance is πσ²/(2w)).
PLATEAU_NOISE_Z = 3.0


_MEDIAN_SE = math.sqrt(math.pi / 2.0)


# σ of i.i.d. noise from second differences: Δ²e has variance 6σ², and 1.4826·MAD estimates σ.
_MAD_TO_SIGMA = 1.4826


# A note (not a rule): the loss counts as having fallen when it ends at least 10% below its
# reference; used to explain an Adam-trained network whose gradients vanish.
LOSS_FELL = 0.1


RULES = {
    "non-finite": ("exploding", "a loss or gradient norm is NaN or infinite"),
    "loss-spike": ("exploding", "the loss spiked to 10x its starting value or more"),
    "layer-ratio-high": ("exploding", "first/last layer gradient ratio above 70"),
    "gradient-growth": ("exploding", "gradient norm grew 1000x while the loss did not fall"),
    "too-few-rows": (INSUFFICIENT, "fewer than 10 stored rows: no label"),
    "layer-ratio": ("vanishing", "first/last gradient ratio < 1e-3 and first layer < 1e-4 × loss"),
    "still-improving": ("healthy", "no plateau, or the loss still falling in its last quarter"),
    "plateau-low": ("converged", "plateau after the loss at least halved"),
    "dying-relu": ("vanishing", "stalled (not halved) with ≥ 70% dead units in a layer"),
    "saturation": ("vanishing", "stalled (not halved) with ≥ 70% saturated units in a layer"),
    "through-time": ("vanishing", "stalled (not halved), early inputs' gradient < 1e-3 of late"),
    "all-small": ("vanishing", "stalled (not halved), every layer's gradient < 1e-3 × loss"),
    "gradient-collapse": ("vanishing", "stalled (not halved), gradients shrank 100x"),
    "tiny-updates": ("healthy", "stalled (not halved), gradients fine, updates < 1e-4"),
    "plateau-high": ("converged", "stalled (not halved), gradients and updates fine"),
}
