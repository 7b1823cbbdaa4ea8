"""helpers.comparison: notebook 07's configurations (the failing network with one change each),
their seeded training, and :func:`compare` on a small budget."""

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
        comparison.compare(["baseline", "dropout"])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"seeds": (0, 1.5)}, TypeError, "seed"),
        ({"seeds": ()}, ValueError, "at least one seed"),
        ({"names": []}, ValueError, "at least one configuration"),
        ({"budget": {"steps": 10}}, TypeError, "Budget"),
        ({"budget": comparison.Budget(steps=0)}, ValueError, "budget.steps"),
        ({"budget": comparison.Budget(lr=-0.1)}, ValueError, "budget.lr"),
        ({"budget": comparison.Budget(target_fraction=1.5)}, ValueError, "target_fraction"),
    ],
)
def test_compare_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        comparison.compare(**kwargs)


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


# --- the comparison ------------------------------------------------------------------------------


SMALL = comparison.Budget(steps=40, n_examples=64)


@pytest.fixture(scope="module")
def small():
    return comparison.compare(["baseline", "batch_norm", "adam"], seeds=(0, 1), budget=SMALL)


def test_comparison_is_cached_in_process(small):
    assert (
        comparison.compare(["baseline", "batch_norm", "adam"], seeds=(0, 1), budget=SMALL) is small
    )


@pytest.mark.slow
def test_baseline_stays_at_the_mean_predictor_loss(small):
    _, y = comparison.training_data(SMALL)
    assert small.mean_predictor_loss == pytest.approx(mean_baseline_loss(y))
    assert small.target == pytest.approx(SMALL.target_fraction * small.mean_predictor_loss)
    base = small["baseline"]
    assert len(base.runs) == 2 and base.reached == 0 and base.median_steps is None
    for run in base.runs:
        assert run.losses.shape == (SMALL.steps + 1,)
        assert run.final_loss == pytest.approx(small.mean_predictor_loss, rel=0.05)
        assert run.ratio_start < 1e-8


@pytest.mark.slow
def test_runs_record_which_layers_moved_as_adam_on_vanishing_does(small):
    """The comparison's Adam run and adam_on_vanishing train the same network the same way."""
    x, y = comparison.training_data(SMALL)
    for run in small["adam"].runs:
        alone = adam.adam_on_vanishing(
            comparison.build_model("adam", run.seed), x, y, steps=SMALL.steps, lr=SMALL.adam_lr
        )
        np.testing.assert_array_equal(run.unchanged, alone.unchanged)
        assert run.final_loss == pytest.approx(alone.losses[1], rel=1e-6)
    assert run.unchanged.shape == (comparison.FAILING_NETWORK["depth"] + 1,)
    assert (small["batch_norm"].runs[0].unchanged == 0).all()  # SGD moves every weight here


def test_adam_starts_from_the_baselines_exact_network(small):
    """Same network, same seeds: Adam's first/last ratio at init is the baseline's, exactly."""
    np.testing.assert_array_equal(small["adam"].ratios_start, small["baseline"].ratios_start)


@pytest.mark.slow
def test_batch_norm_restores_the_gradient_ratio(small):
    assert (small["batch_norm"].ratios_start > 1e-2).all()
    assert (small["batch_norm"].final_losses < small["baseline"].final_losses).all()
