"""Notebook 04's claims about the labelled runs: the labels, the rules that fire, held-out scores.

Each check takes finished runs (``helpers.runs.RunResult``) and returns ``helpers.claims``
verdicts, raising :class:`helpers.claims.ClaimFailed` (naming the runs that missed) if one fails.
"""

import math

from helpers import claims
from helpers.labelled_runs.recipes import BASELINE, CAUSE_RULES
from helpers.labelled_runs.tables import _seeds


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
