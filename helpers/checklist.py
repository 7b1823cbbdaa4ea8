"""The one-page checklist of the course (notebook 11, docs/checklist.md), rendered from the
thresholds ``helpers.diagnose`` applies (``helpers.diagnose.THRESHOLDS``), so the two cannot
drift apart: :func:`checklist_markdown`, :func:`checklist_document`, :func:`format_threshold`.
"""

import math

from helpers.activations import saturation_threshold
from helpers.diagnose import THRESHOLDS

# Placeholders {name} are keys of helpers.diagnose.THRESHOLDS, filled in by format_threshold, so
# the checklist quotes exactly the numbers diagnose applies; {sigmoid} and {tanh} are the
# saturation thresholds of helpers.activations.
_CHECKLIST = """\
**Before you start.** Record every step of a short run with \
`GradientMonitor(model, every=1, forward_stats=True)` (long runs: the default `every=10`), keep \
a held-out set, and know the *baseline*, the loss of the best constant prediction: ln 2 ≈ 0.693 \
for balanced binary cross-entropy, ln K for K balanced classes, Var(y) for mean squared error \
(1/6 on the adding problem). Then read `diagnose(monitor, baseline=...)` and check its numbers \
against this table.

| Symptom | Numbers to look at (threshold) | Likely cause | First fix to try |
|---|---|---|---|
| Flat loss near the baseline, tiny gradients | first/last layer gradient ratio < \
{vanishing_ratio} with the first layer < {tiny_gradient} of the loss; or, with the loss stuck \
near the baseline: every layer < {stalled_gradient} of the loss, ≥ {saturated_fraction} of a \
layer's units saturated (sigmoid z beyond ±{sigmoid}, tanh beyond ±{tanh}), or the largest \
gradient fallen below {gradient_collapse} of its size at the start | vanishing gradients: many \
layers of small weights × σ′ ≤ 0.25, or saturation | ReLU + He init (Xavier for tanh); batch \
norm or skip connections; standardize the inputs |
| Flat loss near the baseline, usable gradients | first/last ratio ≥ {vanishing_ratio}, but \
every update/weight ratio < {tiny_update} per step (healthy: about {healthy_update}) | learning \
rate too small (the look-alike of vanishing) | raise the learning rate until update/weight ≈ \
{healthy_update} |
| Flat loss far below the start | loss ≥ {converged_drop} below its start (or the baseline); \
held-out accuracy or R² good | converged: nothing is wrong | nothing: stop training (early \
stopping); judge the model on held-out data |
| NaN/inf loss, or loss spikes | the first NaN/inf step; a loss ≥ {loss_spike}× its start; \
first/last ratio > {exploding_ratio}; \
total gradient norm grown ≥ {exploding_growth}× while the loss did not fall | exploding \
gradients: weights too large for the depth, or a learning rate too large | He/Xavier init \
scaled to the layer size; lower the learning rate; clip the gradient norm |
| Loss falling slowly, gradients balanced | no plateau; first/last ratio near 1; update/weight \
< {tiny_update} | learning rate too small (or simply early in training) | raise the learning \
rate; keep training |
| Many dead ReLUs | ≥ {dead_fraction} of a layer's units output 0 for every example of the \
batch | dying ReLU (a large update or negative biases pushed them below 0) | lower the learning \
rate; start biases at 0; Leaky ReLU or ELU |
| RNN cannot learn long lags | loss at the mean-predictor baseline while per-layer ratios look \
fine; the input gradient at the first tenth of the sequence < {time_ratio} of that at the last \
tenth (diagnose's through-time check); ‖∂L/∂h at step T − k‖ falls geometrically with the lag \
k | vanishing gradients through time | a gated cell (GRU, LSTM); clip the gradient norm if it \
explodes instead |
| Transformer stuck at the baseline ln(vocab) | first/last ratio < {vanishing_ratio} in the \
last steps but far above it at step 0 (`monitor.grad_norms[0]`): the early layers were starved \
by training, not by the initialization; layer norm after each residual addition (post-LN), the \
full learning rate from the first step | post-LN without learning-rate warm-up: vanishing \
gradients after Adam's first full-size steps | linear warm-up of the learning rate; or pre-LN; \
or residual branches scaled by 1/√(2N) |
| Flat loss under float16 autocast | gradient norms of exactly 0.0 (not NaN, not merely small) \
at every step in the first layers, whose weights never move; `diagnose` calls it vanishing, it \
cannot see the number format | float16 underflow: gradients below 2⁻²⁵ ≈ 3e-8 round to 0 | \
loss scaling (`torch.amp.GradScaler`); or bfloat16 |

**Where the thresholds come from** (`helpers.diagnose.THRESHOLDS`, the numbers `diagnose` \
applies):

{sources}

Plain SGD shows these symptoms in the loss; Adam can hide vanishing gradients there (notebook \
07), so trust the gradient ratio over the loss curve.
"""
# How the sources list names each quoted threshold, in the order the list gives them. Every
# threshold of helpers.diagnose is quoted except NOT_QUOTED (tests/test_checklist.py checks).
_THRESHOLD_NAMES = {
    "vanishing_ratio": "first/last gradient ratio, vanishing below",
    "tiny_gradient": "first-layer gradient norm ÷ the loss, vanishing below",
    "stalled_gradient": "every layer's gradient norm ÷ the loss at a stalled loss, vanishing below",
    "time_ratio": "early / late input gradient of a recurrent layer, vanishing through time below",
    "gradient_collapse": "largest gradient now / at the start, collapsed below",
    "loss_spike": "largest loss / starting loss, exploding from",
    "exploding_ratio": "first/last gradient ratio, exploding above",
    "exploding_growth": "growth of the total gradient norm, exploding from",
    "dead_fraction": "dead units",
    "saturated_fraction": "saturated units",
    "healthy_update": "healthy update/weight ratio",
    "tiny_update": "too-small update/weight ratio",
    "converged_drop": "loss drop for converged",
}
CHECKLIST_THRESHOLDS = tuple(_THRESHOLD_NAMES)
NOT_QUOTED = {"plateau_rel_tol": "an internal tolerance of find_plateau, not a number to read"}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_threshold(key: str) -> str:
    """THRESHOLDS[key] as the checklist prints it: fractions as percentages, powers of ten below 1
    as 10⁻³, other numbers plainly (70, 1000)."""
    value = THRESHOLDS[key].value
    if key.endswith(("_fraction", "_drop")):
        return f"{value:.0%}"
    exponent = math.log10(value)
    if value < 1 and exponent == round(exponent):
        return "10" + str(round(exponent)).translate(_SUPERSCRIPT)
    return f"{value:g}"


def checklist_markdown() -> str:
    """The one-page checklist (Markdown): for each symptom, the numbers to look at with the
    thresholds ``helpers.diagnose`` uses, the likely cause and the first fix to try; then where
    each threshold comes from. docs/checklist.md and notebook 11 carry exactly this text."""
    sources = "\n".join(
        f"- {_THRESHOLD_NAMES[key]} {format_threshold(key)}: {THRESHOLDS[key].source}"
        for key in CHECKLIST_THRESHOLDS
    )
    return _CHECKLIST.format(
        **{key: format_threshold(key) for key in CHECKLIST_THRESHOLDS},
        sigmoid=f"{saturation_threshold('sigmoid'):g}",
        tanh=f"{saturation_threshold('tanh'):g}",
        sources=sources,
    )


CHECKLIST_TITLE = "# Checklist: vanishing and exploding gradients"


def checklist_document() -> str:
    """The text of docs/checklist.md: a title, a line on its origin, :func:`checklist_markdown`."""
    return (
        f"{CHECKLIST_TITLE}\n\n"
        "The one-page summary of the course, from notebook 11 "
        "(`notebooks/11_capstone_diagnose_and_fix.ipynb`), generated by "
        "`helpers.capstone.checklist_document()`. Its thresholds are the ones "
        "`helpers.diagnose.diagnose` applies.\n\n" + checklist_markdown()
    )
