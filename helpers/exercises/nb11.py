"""Exercises for notebook 11 (the capstone): name the cause of each mystery run and repair it.

``check_mystery_b`` to ``check_mystery_f`` take the cause in words and one fix from
``helpers.capstone.FIXES``; ``check_another_fix_a`` asks for a second repair of mystery A
(mysteries A and G are worked through in the notebook). A fix
is judged by training it (``helpers.capstone.run``, cached): it must reach the target of
``Run.target_met`` where the original does not. Hints quote the run's own evidence and the rules
of ``helpers.diagnose``.
"""

import math
import re

from helpers import capstone
from helpers.diagnose import THRESHOLDS
from helpers.exercises import UNANSWERED, Feedback, exercise, unanswered

# How a learner may name each cause (compared after normalize()). From "saturation" on they are
# recognised but are never the whole answer; each gets its own hint ("no_warmup" is accepted
# for mystery F, see ALSO_ACCEPTED).
_LR = ("learning rate", "lr", "step size")
PHRASES = {
    "vanishing": (
        "vanishing",
        "vanishing gradient",
        "vanishing gradients",
        "gradient vanishing",
        "gradients vanish",
        "vanishing gradient problem",
        "vanishing over time",
        "vanishing through time",
        "vanishing gradients over time",
        "vanishing gradients through time",
        "vanishing gradients in time",
    ),
    "exploding": (
        "exploding",
        "exploding gradient",
        "exploding gradients",
        "gradient explosion",
        "gradients explode",
        "exploding gradient problem",
        "divergence",
        "diverged",
        "overflow",
        "numerical overflow",
    ),
    "converged": (
        "converged",
        "converged nothing wrong",
        "convergence",
        "finished",
        "training finished",
        "done",
        "nothing",
        "nothing wrong",
        "nothing is wrong",
        "nothing to fix",
        "none",
        "no problem",
        "fine",
    ),
    "small_lr": tuple(
        phrase
        for lr in _LR
        for phrase in (f"{lr} too small", f"{lr} too low", f"small {lr}", f"low {lr}")
    ),
    "underflow": (
        "underflow",
        "underflow to zero",
        "float16 underflow",
        "fp16 underflow",
        "half precision underflow",
        "gradient underflow",
        "gradients underflow",
        "numerical underflow",
        "float16 underflow gradients rounded to exactly 0",
        "float16 rounds the gradients to zero",
        "gradients rounded to zero",
        "exact zeros",
        "no loss scaling",
        "missing loss scaling",
    ),
    "saturation": ("saturation", "saturated", "saturated units", "saturated activations"),
    "dying_relu": ("dying relu", "dead relu", "dead relus", "dying relus", "dead units"),
    "healthy": ("healthy", "training in progress", "still improving"),
    "large_lr": tuple(
        phrase
        for lr in _LR
        for phrase in (f"{lr} too large", f"{lr} too high", f"large {lr}", f"high {lr}")
    ),
    "no_warmup": tuple(
        f"{pre}{w}"
        for w in ("warmup", "warm up", "learning rate warmup", "learning rate warm up", "lr warmup")
        for pre in (
            "no ",
            "missing ",
            "without ",
            "post ln without ",
            "post ln no ",
            "post ln and no ",
        )
    ),
}
# Causes accepted besides capstone.ANSWERS[name]: F's vanishing gradients have a cause of their own.
ALSO_ACCEPTED = {"F": ("no_warmup",)}
CAUSE_CHOICES = ", ".join(capstone.CAUSES.values())
FIX_ALIASES = {
    "relu": "relu_he",
    "he": "he_init",
    "kaiming": "he_init",
    "glorot": "xavier",
    "batchnorm": "batch_norm",
    "bn": "batch_norm",
    "skip": "residual",
    "skip_connections": "residual",
    "clipping": "clip",
    "gradient_clipping": "clip",
    "nothing": "none",
    "stop": "none",
    "early_stopping": "none",
    "warm_up": "warmup",
    "lr_warmup": "warmup",
    "preln": "pre_ln",
    "pre_layer_norm": "pre_ln",
    "gradscaler": "loss_scaling",
    "grad_scaler": "loss_scaling",
    "amp_gradscaler": "loss_scaling",
}
WORKED_FIX_A = "relu_he"  # the fix the notebook demonstrates on mystery A


# --- reading answers -----------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Lower case; '_', '-', brackets, colons and commas as spaces; single spaces; no surrounding
    punctuation or leading article."""
    text = re.sub(r"[\s_\-():,]+", " ", text.lower()).strip(" .!?'\"")
    return re.sub(r"^(the|a|an) ", "", text)


def classify_cause(text: str) -> str | None:
    """The key of :data:`PHRASES` that ``text`` names, or None."""
    said = normalize(text)
    return next((key for key, phrases in PHRASES.items() if said in phrases), None)


def normalize_fix(text: str) -> str:
    """A fix as typed (any case, spaces, hyphens, a few aliases) as a key of FIXES, or the
    normalized text if it names none."""
    key = re.sub(r"[\s\-+]+", "_", text.strip().lower()).strip("_")
    return FIX_ALIASES.get(key, key)


# --- wording the evidence ------------------------------------------------------------------------


def _f(key: str) -> str:
    """A threshold of helpers.diagnose as the checklist prints it (e.g. 10⁻³, 70%)."""
    return capstone.format_threshold(key)


def _sci(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.1e}"


def _num(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:.3g}" if math.isfinite(x) else "inf"


def _score(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.2f}"


def facts(name: str) -> str:
    """What the evidence of mystery ``name`` (seed 0) says, in a sentence or two."""
    r = capstone.run(name)
    if r.diverged:
        return (
            f"Here the loss was {_num(r.losses[0])} at the first step and {_num(r.losses[-1])} "
            f"at step {r.diagnosis.evidence['nonfinite_step']}."
        )
    text = (
        f"Here the loss ended {100 * r.evidence('drop'):.0f}% below its reference "
        f"{_num(r.evidence('reference'))}, the first/last gradient ratio is "
        f"{_sci(r.evidence('layer_ratio'))}, the largest layer gradient "
        f"{_sci(r.evidence('grad_max'))}, the largest update/weight ratio "
        f"{_sci(r.evidence('update_max'))}, and the held-out {r.metric} is {_score(r.score)}."
    )
    if name == "E":
        text += " A recurrent net is deep in time: look at the gradient against the time lag."
    if name == "F":
        text += (
            " These numbers are from the last steps: compare monitor_f.grad_norms[0], the first "
            "step, with monitor_f.grad_norms[-1]."
        )
    return text


def looks_like(claimed: str) -> str:
    """How the claimed cause shows in the numbers (the rules of helpers.diagnose)."""
    return {
        "vanishing": (
            f"Vanishing gradients show as a first/last gradient ratio below "
            f"{_f('vanishing_ratio')} with the first layer under {_f('tiny_gradient')}, or as "
            f"every layer under {_f('stalled_gradient')} while the loss stalls near the baseline."
        ),
        "exploding": (
            "Exploding gradients show as NaN or inf in the loss or the gradients, or a "
            f"first/last gradient ratio above {_f('exploding_ratio')}."
        ),
        "converged": (
            f"Converged means the loss levelled off at least {_f('converged_drop')} below its "
            "reference (its start or the baseline), with a good held-out score."
        ),
        "small_lr": (
            "A learning rate that is too small leaves the gradients usable but moves each weight "
            f"by less than {_f('tiny_update')} of its size per step (healthy: about "
            f"{_f('healthy_update')})."
        ),
        "saturation": (
            f"Saturation is one road to vanishing gradients: at least "
            f"{_f('saturated_fraction')} of a layer's pre-activations in the flat tails. "
            "Check the 'units' line of the diagnosis (if there is one); name the broader problem."
        ),
        "dying_relu": (
            f"Dying ReLU is one road to vanishing gradients: at least {_f('dead_fraction')} "
            "of a layer's units output 0 for every example. Check the 'units' line of the "
            "diagnosis (if there is one); name the broader problem."
        ),
        "healthy": (
            "diagnose calls a run healthy when nothing is wrong with its gradients; the question "
            "is what explains the loss curve you see."
        ),
        "large_lr": (
            "A learning rate that is too large makes the loss jump or turn NaN after an update; "
            "a loss that is already huge before the first update has another cause."
        ),
        "underflow": (
            "Float16 underflow shows as gradient norms of exactly 0.0 at every step in a run "
            "under float16 autocast (the 'zeros' line of read_evidence); this run has none."
        ),
        "no_warmup": (
            "A missing warm-up matters for a post-LN transformer at a large learning rate; this "
            "is not one."
        ),
    }[claimed]


CORRECT_CAUSE = {
    "A": "Vanishing: every layer's gradient is tiny and the loss sits at the baseline ln 2.",
    "B": "Exploding: the loss is huge from the first step and overflows after one update.",
    "C": "Converged: the loss fell far below ln 3 and levelled off; nothing is broken.",
    "D": "Learning rate too small: the gradients are fine, but each step barely moves a weight.",
    "E": "Vanishing through time: per layer the gradients look fine, but the error signal fades "
    "step by step back through the sequence, so the net never links the target to the marks.",
    "F": "Vanishing, and why: at the first step the gradient reaches every block; after Adam's "
    "first full-size steps (each weight moves by about the learning rate) the post-LN stack's "
    "early layers get a vanishing share of it, and the loss sits at ln 16. The cause is a "
    "post-LN transformer trained at full learning rate without warm-up (notebook 10).",
    "G": "Float16 underflow: the first layers' gradient norms are exactly 0.0 at every step, not "
    "small: below 2⁻²⁵ ≈ 3e-8 the float16 backward pass rounds them to 0, and not even Adam "
    "moves a weight whose gradient is 0. diagnose calls it vanishing; it cannot see the format.",
}

# Why a fix a learner is likely to try does not work.
FIX_HINTS = {
    ("A", "xavier"): "the sigmoid's slope is at most 1/4, so with weights scaled to the fan-in "
    "each layer still multiplies the gradient by about 1/4. Change the activation, or give the "
    "signal another path.",
    ("A", "he_init"): "He's scale is derived for ReLU; on a sigmoid each layer still multiplies "
    "the gradient by about 0.35. Change the activation, or give the signal another path.",
    ("B", "clip"): "clipping keeps the numbers finite, but the loss stays far above the "
    "baseline: the weights themselves are too large. Clipping treats the symptom, not the cause.",
    ("B", "lower_lr"): "the loss is already huge before the first update, so the learning rate "
    "is not the cause: look at the scale of the initial weights.",
    ("B", "batch_norm"): "the training loss fell below half the baseline, but the held-out R² "
    "stayed below 0, worse than predicting the mean: this network fits the training set without "
    "learning the function. Fix the cause, the scale of the initial weights.",
    ("B", "residual"): "skip connections add x to f(x): with weights this large the signal grows "
    "even faster.",
    ("E", "lstm"): "the LSTM does learn this task, but more slowly: within the same 300 steps it "
    "is still at the baseline (notebook 09 trains it for about 1000). Try the other gated cell.",
    ("F", "clip"): "Adam divides each gradient by its own running size, so clipping the norm "
    "barely changes its steps: the first full-size steps still wreck the post-LN stack.",
    ("F", "lower_lr"): "a tenth of the learning rate avoids the wreck, but 40 such small steps "
    "are too few to learn the task. Keep the learning rate and make only the first steps small.",
}


# What a repair of each mystery has to change, for the fixes without a hint of their own.
WHAT_A_REPAIR_CHANGES = {
    "A": "the gradient is tiny in every layer; a repair must change how it flows through the "
    "layers (the activation, a normalization or a shortcut), not the optimizer's step.",
    "B": "the first forward pass is already enormous; a repair must change the scale of the "
    "initial weights.",
    "D": "the gradients are fine already; what makes every step move the weights so little?",
    "E": "the error signal fades along the sequence; a repair must change the recurrent cell.",
    "F": "the gradient reached every block at the first step and vanished after the first "
    "full-size steps; a repair must make those first steps small, or move the layer norms off "
    "the residual path.",
    "G": "the first layers' gradients are exactly 0 in float16; a repair must lift them into "
    "float16's range.",
}


def _before_after(before, after) -> str:
    return (
        f"training loss {_num(before.recent_loss)} -> {_num(after.recent_loss)}, held-out "
        f"{after.metric} {_score(before.score)} -> {_score(after.score)}, first/last gradient "
        f"ratio {_sci(before.evidence('layer_ratio'))} -> {_sci(after.evidence('layer_ratio'))}"
    )


# --- judging -------------------------------------------------------------------------------------


def judge_cause(name: str, answer) -> Feedback:
    """Is ``answer`` (text) the cause of mystery ``name``? A hint from the run's evidence if not."""
    if unanswered(answer):
        return Feedback(False, UNANSWERED)
    if not isinstance(answer, str):
        return Feedback(
            False,
            f'Name the cause in words, as a string such as "vanishing gradients"; got '
            f"{answer!r}. The options: {CAUSE_CHOICES}.",
        )
    claimed = classify_cause(answer)
    expected = capstone.ANSWERS[name]
    if claimed == expected or claimed in ALSO_ACCEPTED.get(name, ()):
        return Feedback(True, CORRECT_CAUSE[name])
    if claimed is None:
        return Feedback(
            False,
            f"{answer!r} is not one of the causes these mysteries have: {CAUSE_CHOICES}. Read "
            "the diagnosis's label and the evidence lines under it.",
        )
    hint = looks_like(claimed)
    if claimed == "vanishing" and expected == "underflow":
        hint = (
            "diagnose says so, but look at the 'zeros' line: these gradients are not small, they "
            "are exactly 0.0 at every step, in a run under float16 autocast. What turns a small "
            "number into exactly 0?"
        )
    if claimed == "healthy" and expected == "converged":
        hint = (
            "Nothing is broken, yes; but diagnose calls a run healthy while its loss still "
            "falls, and this loss has stopped falling. Which word means the job is done?"
        )
    return Feedback(False, f"Not {answer!r}. {hint} {facts(name)}")


def judge_fix(name: str, fix, *, exclude: tuple[str, ...] = ()) -> Feedback:
    """Does ``fix`` repair mystery ``name``? It is trained to find out (seed 0): a repair reaches
    the target of ``Run.target_met`` where the original does not. For the mystery that is fine,
    the right answer is "none"."""
    if unanswered(fix):
        return Feedback(False, UNANSWERED)
    menu = ", ".join(repr(f) for f in capstone.applicable_fixes(name))
    if not isinstance(fix, str):
        return Feedback(False, f"Name the fix as a string, one of {menu}; got {fix!r}.")
    key = normalize_fix(fix)
    if key not in capstone.FIXES:
        return Feedback(False, f"{fix!r} is not on the menu. Choose one of {menu}.")
    if key not in capstone.applicable_fixes(name):
        return Feedback(False, f"{key!r} does not fit this architecture. Choose one of {menu}.")
    if key in exclude:
        return Feedback(False, f"{key!r} is the fix shown above; find another one that works.")
    before = capstone.run(name)
    if capstone.ANSWERS[name] == "converged":
        if key == "none":
            return Feedback(
                True,
                f"Nothing to repair: held-out {before.metric} {_score(before.score)}. The loss "
                f"stopped improving around step {before.diagnosis.evidence['plateau_step']} of "
                f"{len(before.losses)}, so training could have stopped there.",
            )
        return Feedback(
            False,
            f"Nothing is broken here (held-out {before.metric} {_score(before.score)}): {key!r} "
            "would train a different model, not repair this one. Which option changes nothing?",
        )
    if key == "none":
        return Feedback(False, f"Changing nothing leaves the run as it was. {facts(name)}")
    after = capstone.run(name, key)
    if after.target_met:
        return Feedback(True, f"With {key!r}: {_before_after(before, after)}.")
    target = f"{after.metric} ≥ {capstone.TARGETS[after.metric]:g} and a loss ≤ half the baseline"
    why = FIX_HINTS.get((name, key), WHAT_A_REPAIR_CHANGES[name])
    return Feedback(
        False, f"With {key!r}: {_before_after(before, after)}; the target is {target}. Why: {why}"
    )


def judge_mystery(name: str, cause, fix) -> Feedback:
    """The cause first; once it is right, the fix. A (cause, fix) pair as ``cause`` is unpacked."""
    if isinstance(cause, tuple | list) and len(cause) == 2 and unanswered(fix):
        cause, fix = cause
    verdict = judge_cause(name, cause)
    if not verdict.correct:
        return verdict
    if unanswered(fix):
        return Feedback(
            False, f"The cause is right. {verdict.message} Now replace the second ... with a fix."
        )
    repaired = judge_fix(name, fix)
    return Feedback(repaired.correct, f"{verdict.message} {repaired.message}")


# --- reference solutions: read the evidence with helpers code ------------------------------------


def solution_another_fix_a():
    """Batch norm rescales every layer's pre-activations to unit variance, so the signal and the
    gradient no longer shrink layer by layer (skip connections work too)."""
    assert capstone.run("A", "batch_norm").target_met
    return "batch_norm"


def solution_mystery_b():
    """diagnose's label is the cause; the loss is huge before any update, so scale the initial
    weights to the layer size (He for ReLU)."""
    return capstone.run("B").diagnosis.label, "he_init"


def solution_mystery_c():
    """Converged, with a good held-out accuracy: nothing to repair."""
    return capstone.run("C").diagnosis.label, "none"


def solution_mystery_d():
    """diagnose says healthy and names the cause; every update is under 1e-4 of its weight."""
    return capstone.run("D").diagnosis.cause, "raise_lr"


def solution_mystery_e():
    """diagnose sees nothing per layer, but the gradient reaching the first marked value is a
    tiny fraction of the last step's: vanishing through time. A gated cell carries it."""
    profile = capstone.lag_profile(capstone.run("E").trained)
    assert capstone.lag_decay(profile) < THRESHOLDS["vanishing_ratio"].value
    return "vanishing gradients", "gru"


def solution_mystery_f():
    """diagnose says vanishing (first/last ratio below 1e-3); at the first step the gradient
    still reached the first layer, so the early steps did it: warm the learning rate up."""
    r = capstone.run("F")
    first = r.monitor.grad_norms[0]
    assert first[0] / first[-1] > THRESHOLDS["vanishing_ratio"].value  # flat at the start
    return r.diagnosis.label, "warmup"


# --- the checks ----------------------------------------------------------------------------------


@exercise(solution=solution_another_fix_a)
def check_another_fix_a(fix) -> Feedback:
    """A second repair of mystery A besides the worked "relu_he": "batch_norm" or "residual".

    A repair reaches held-out accuracy ≥ 0.9 with a loss at most half the baseline."""
    return judge_fix("A", fix, exclude=(WORKED_FIX_A,))


@exercise(solution=solution_mystery_b)
def check_mystery_b(cause, fix=...) -> Feedback:
    """Mystery B's cause and one repair: exploding gradients; "he_init", "relu_he" or "xavier"."""
    return judge_mystery("B", cause, fix)


@exercise(solution=solution_mystery_c)
def check_mystery_c(cause, fix=...) -> Feedback:
    """Mystery C's cause and the right response: converged, nothing wrong; "none"."""
    return judge_mystery("C", cause, fix)


@exercise(solution=solution_mystery_d)
def check_mystery_d(cause, fix=...) -> Feedback:
    """Mystery D's cause and one repair: learning rate too small; "raise_lr"."""
    return judge_mystery("D", cause, fix)


@exercise(solution=solution_mystery_e)
def check_mystery_e(cause, fix=...) -> Feedback:
    """Mystery E's cause and one repair: vanishing gradients through time; "gru"."""
    return judge_mystery("E", cause, fix)


@exercise(solution=solution_mystery_f)
def check_mystery_f(cause, fix=...) -> Feedback:
    """Mystery F's cause and one repair: vanishing gradients (a post-LN transformer without
    warm-up); "warmup", "pre_ln" or "residual_scale"."""
    return judge_mystery("F", cause, fix)
