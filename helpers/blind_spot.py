"""What a gradient-based diagnosis cannot judge: a problem in the data (notebook 04, section 6).

The monitor and :func:`helpers.diagnose.diagnose` read how gradients flow through a network. They
answer "can every layer learn?", never "is there anything to learn?". This module trains one
small, well-initialised MLP twice on the same inputs: once on the real targets of
``toy_regression``, once on the same targets **shuffled** (training and held-out targets each
permuted with a seeded generator), so that y is independent of x while its distribution is
unchanged. With Adam the shuffled run's training loss still falls below the mean predictor's
(the network memorises its 256 points), its gradients are balanced across layers and its updates
sit around the 10⁻³ reference, so ``diagnose`` labels it like a run with no gradient problem;
yet its held-out loss stays at (in fact above) the loss of predicting the training mean.
Nothing in the gradients can tell a learner that the data carry no signal: the gradient of a
loss on noise looks like the gradient of a loss on signal. Only held-out evaluation against a
baseline can, and that stays true however the toolkit's rules improve. The tests
(``tests/test_blind_spot.py``) check these statements on several seeds.

:func:`blind_spot_run` trains one run and returns a :class:`BlindSpotRun`; :func:`compare`
trains both kinds of target on each seed.
"""

from dataclasses import dataclass

import torch

from helpers import _validate
from helpers.data import split
from helpers.diagnose import Diagnosis, diagnose
from helpers.models import mlp
from helpers.monitor import GradientMonitor
from helpers.training import train

TARGETS = ("real", "shuffled")
# The network and its training: three tanh layers of 32 with Xavier initialization (the scale
# matched to tanh), full-batch Adam for 300 steps; 256 training and 256 held-out points.
DEPTH, WIDTH, STEPS, LR, N_TRAIN, N_TEST = 3, 32, 300, 0.01, 256, 256


@dataclass(frozen=True)
class BlindSpotRun:
    """One run of the blind-spot experiment.

    targets          "real" or "shuffled" (y independent of x)
    seed             seeds the data, the shuffle and the initialization
    diagnosis        what ``diagnose`` says from the monitor's record (baseline: Var(y_train))
    train_ratio      training loss after the last step ÷ the mean predictor's training loss
    held_out_ratio   held-out loss ÷ the held-out loss of predicting the training mean
    """

    targets: str
    seed: int
    diagnosis: Diagnosis
    train_ratio: float
    held_out_ratio: float

    @property
    def layer_ratio(self) -> float:
        """Recent first-layer ÷ last-layer gradient norm, as ``diagnose`` reads it."""
        return self.diagnosis.evidence["layer_ratio"]

    @property
    def update_min(self) -> float:
        """The slowest layer's recent update-to-weight ratio per step."""
        return self.diagnosis.evidence["update_min"]

    @property
    def update_max(self) -> float:
        """The fastest layer's recent update-to-weight ratio per step."""
        return self.diagnosis.evidence["update_max"]


def _permuted(y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return y[torch.randperm(len(y), generator=generator)]


def blind_spot_run(seed: int = 0, *, targets: str = "shuffled") -> BlindSpotRun:
    """Train the MLP on ``toy_regression`` (targets standardized) with real or shuffled targets.

    The held-out set is shuffled too when ``targets="shuffled"``: it is drawn from the same
    signal-free distribution, so the best any model can do there is the mean predictor's loss.
    """
    targets = _validate.choice(targets, TARGETS, "targets")
    seed = int(seed)
    data = split("toy_regression", N_TRAIN, N_TEST, seed=seed, standardize_y=True)
    y, y_test = data.y, data.y_test
    if targets == "shuffled":
        generator = torch.Generator().manual_seed(seed)
        y, y_test = _permuted(y, generator), _permuted(y_test, generator)
    baseline = float(((y - y.mean()) ** 2).mean())  # equals data.baseline: a permutation
    held_out_baseline = float(((y_test - y.mean()) ** 2).mean())  # predict the training mean
    model = mlp(DEPTH, WIDTH, activation="tanh", init="xavier", seed=seed)
    with GradientMonitor(model, every=1, forward_stats=True) as monitor:
        result = train(
            model,
            (data.x, y),
            steps=STEPS,
            lr=LR,
            optimizer="adam",
            monitor=monitor,
            held_out=(data.x_test, y_test),
            label=f"{targets} targets",
        )
    return BlindSpotRun(
        targets=targets,
        seed=seed,
        diagnosis=diagnose(monitor, baseline=baseline),
        train_ratio=result.final_loss / baseline,
        held_out_ratio=result.held_out / held_out_baseline,
    )


def compare(seeds=(0, 1, 2)) -> dict[str, list[BlindSpotRun]]:
    """{"real": [...], "shuffled": [...]}: one run per seed for each kind of target."""
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed")
    return {kind: [blind_spot_run(s, targets=kind) for s in seeds] for kind in TARGETS}
