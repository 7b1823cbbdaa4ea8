"""helpers.comparison: notebook 07's configurations (the failing network with one change each)
and their seeded training, on a small budget."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers import adam, comparison
from helpers.models import linear_layers, mean_baseline_loss, mlp

# --- the configurations --------------------------------------------------------------------------


def test_every_configuration_builds_the_failing_network_with_one_change():
    base = comparison.model_kwargs("baseline")
    assert base == comparison.FAILING_NETWORK
    assert base["activation"] == "sigmoid" and base["init"] == "normal"
    for name, mitigation in comparison.MITIGATIONS.items():
        kwargs = comparison.model_kwargs(name)
        changed = {k for k in kwargs if kwargs[k] != base.get(k)}
        assert changed == {k for k in mitigation.changes if mitigation.changes[k] != base.get(k)}
        assert mitigation.optimizer in comparison.OPTIMIZERS
        assert mitigation.caveat, name
    assert (
        comparison.MITIGATIONS["adam"].changes == {}
        and comparison.MITIGATIONS["adam"].optimizer == "adam"
    )


def test_build_model_is_seeded_and_seeds_differ():
    a, b, c = (comparison.build_model("baseline", s) for s in (1, 1, 2))
    wa, wb, wc = (linear_layers(m)[0].weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_parameter_count_matches_the_layer_sizes():
    depth, width = comparison.FAILING_NETWORK["depth"], comparison.FAILING_NETWORK["width"]
    expected = (2 * width + width) + (depth - 1) * (width * width + width) + (width + 1)
    assert comparison.parameter_count(comparison.build_model("baseline", 0)) == expected
    assert comparison.parameter_count(comparison.build_model("fewer_layers", 0)) < expected


def test_unknown_configuration_lists_the_valid_names():
    with pytest.raises(ValueError, match="'baseline'.*'adam'"):
        comparison.model_kwargs("dropout")
    with pytest.raises(ValueError, match="unknown mitigation"):
        comparison.train_run("dropout")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"seed": 1.5}, TypeError, "seed"),
        ({"seed": True}, TypeError, "seed"),
        ({"budget": {"steps": 10}}, TypeError, "Budget"),
        ({"budget": comparison.Budget(steps=0)}, ValueError, "budget.steps"),
        ({"budget": comparison.Budget(lr=-0.1)}, ValueError, "budget.lr"),
        ({"budget": comparison.Budget(adam_lr=0.0)}, ValueError, "budget.adam_lr"),
        ({"budget": comparison.Budget(n_examples=0)}, ValueError, "budget.n_examples"),
    ],
)
def test_train_run_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        comparison.train_run("baseline", **kwargs)


# --- training ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_records_the_loss_before_each_step_and_after_the_last():
    budget = comparison.Budget(steps=5, n_examples=64)
    model = mlp(2, 8, seed=0)
    x, y = comparison.training_data(budget)
    with torch.no_grad():
        first = nn.functional.mse_loss(model(x), y).item()
    losses = comparison.train(model, "sgd", budget)
    assert losses.shape == (6,) and losses[0] == pytest.approx(first)
    with torch.no_grad():
        assert losses[-1] == pytest.approx(nn.functional.mse_loss(model(x), y).item())
    assert losses[-1] < losses[0]  # plain gradient descent on a healthy net goes downhill


@pytest.mark.slow
def test_train_stops_a_diverging_run_and_marks_the_rest_nan():
    losses = comparison.train(
        mlp(2, 8, activation="relu", init="he", seed=0), "sgd", comparison.Budget(lr=50.0, steps=30)
    )
    assert np.isfinite(losses[0]) and np.isnan(losses[-1])
    first_bad = int(np.flatnonzero(~np.isfinite(losses))[0])
    assert np.isnan(losses[first_bad:]).all()


def test_train_rejects_an_unknown_optimizer():
    with pytest.raises(ValueError, match="'sgd', 'adam'"):
        comparison.train(mlp(2, 4, seed=0), "rmsprop")


# --- training a configuration ------------------------------------------------------------------


SMALL = comparison.Budget(steps=40, n_examples=64)
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def runs():
    names = ("baseline", "batch_norm", "adam")
    return {name: [comparison.train_run(name, seed, SMALL) for seed in SEEDS] for name in names}


@pytest.mark.slow
def test_baseline_stays_at_the_mean_predictor_loss(runs):
    _, y = comparison.training_data(SMALL)
    for seed, run in zip(SEEDS, runs["baseline"], strict=True):
        assert run.name == "baseline" and run.seed == seed and not run.diverged
        assert run.losses.shape == (SMALL.steps + 1,)
        assert run.final_loss == pytest.approx(mean_baseline_loss(y), rel=0.05)
        assert run.ratio_start < 1e-8
        assert run.parameters == comparison.parameter_count(comparison.build_model("baseline", 0))


@pytest.mark.slow
def test_runs_record_which_layers_moved_as_adam_on_vanishing_does(runs):
    """train_run's Adam run and adam_on_vanishing train the same network the same way."""
    x, y = comparison.training_data(SMALL)
    for run in runs["adam"]:
        alone = adam.adam_on_vanishing(
            comparison.build_model("adam", run.seed), x, y, steps=SMALL.steps, lr=SMALL.adam_lr
        )
        np.testing.assert_array_equal(run.unchanged, alone.unchanged)
        assert run.final_loss == pytest.approx(alone.losses[1], rel=1e-6)
    assert run.unchanged.shape == (comparison.FAILING_NETWORK["depth"] + 1,)
    assert (runs["batch_norm"][0].unchanged == 0).all()  # SGD moves every weight here


def _ratios_start(runs):
    return np.array([run.ratio_start for run in runs])


def test_adam_starts_from_the_baselines_exact_network(runs):
    """Same network, same seeds: Adam's first/last ratio at init is the baseline's, exactly."""
    np.testing.assert_array_equal(_ratios_start(runs["adam"]), _ratios_start(runs["baseline"]))


@pytest.mark.slow
def test_batch_norm_restores_the_gradient_ratio(runs):
    assert (_ratios_start(runs["batch_norm"]) > 1e-2).all()
    for normed, base in zip(runs["batch_norm"], runs["baseline"], strict=True):
        assert normed.final_loss < base.final_loss
        assert np.isfinite(normed.ratio_end)
