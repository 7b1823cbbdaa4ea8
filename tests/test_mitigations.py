"""helpers.mitigations: the mechanisms behind each mitigation, and the comparison runner.

The mechanism tests check the claims notebook 07 makes: batch norm makes a layer scale-invariant
and gives every unit's input a unit spread; the residual identity path keeps ∂L/∂x_l (and the
first layer's weight gradient) alive in a 30-layer sigmoid net where the plain stack collapses;
Adam's first step is lr·g/(|g| + ε) and exactly-zero gradients never move a weight.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import mitigations as M
from helpers.models import ResidualBlock, linear_layers, mean_baseline_loss, mlp, toy_regression
from helpers.monitor import gradient_profile

X, Y = toy_regression(64, seed=3)


# --- the configurations --------------------------------------------------------------------------


def test_every_configuration_builds_the_failing_network_with_one_change():
    base = M.model_kwargs("baseline")
    assert base == M.FAILING_NETWORK
    assert base["activation"] == "sigmoid" and base["init"] == "normal"
    for name, mitigation in M.MITIGATIONS.items():
        kwargs = M.model_kwargs(name)
        changed = {k for k in kwargs if kwargs[k] != base.get(k)}
        assert changed == {k for k in mitigation.changes if mitigation.changes[k] != base.get(k)}
        assert mitigation.optimizer in M.OPTIMIZERS
        assert mitigation.caveat, name
    assert M.MITIGATIONS["adam"].changes == {} and M.MITIGATIONS["adam"].optimizer == "adam"


def test_build_model_is_seeded_and_seeds_differ():
    a, b, c = (M.build_model("baseline", s) for s in (1, 1, 2))
    wa, wb, wc = (linear_layers(m)[0].weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_parameter_count_matches_the_layer_sizes():
    depth, width = M.FAILING_NETWORK["depth"], M.FAILING_NETWORK["width"]
    expected = (2 * width + width) + (depth - 1) * (width * width + width) + (width + 1)
    assert M.parameter_count(M.build_model("baseline", 0)) == expected
    assert M.parameter_count(M.build_model("fewer_layers", 0)) < expected


def test_unknown_configuration_lists_the_valid_names():
    with pytest.raises(ValueError, match="'baseline'.*'adam'"):
        M.model_kwargs("dropout")
    with pytest.raises(ValueError, match="unknown mitigation"):
        M.compare(["baseline", "dropout"])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"seeds": (0, 1.5)}, TypeError, "seed"),
        ({"seeds": ()}, ValueError, "at least one seed"),
        ({"names": []}, ValueError, "at least one configuration"),
        ({"budget": {"steps": 10}}, TypeError, "Budget"),
        ({"budget": M.Budget(steps=0)}, ValueError, "budget.steps"),
        ({"budget": M.Budget(lr=-0.1)}, ValueError, "budget.lr"),
        ({"budget": M.Budget(target_fraction=1.5)}, ValueError, "target_fraction"),
    ],
)
def test_compare_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        M.compare(**kwargs)


# --- first/last ratio and steps to target --------------------------------------------------------


def test_first_last_ratio_is_the_float64_gradient_profile_ratio():
    model = M.build_model("baseline", 0)
    profile = gradient_profile(model.double(), X.double(), Y.double())
    assert M.first_last_ratio(model, X, Y) == pytest.approx(profile[0] / profile[-2], rel=1e-12)


def test_baseline_ratio_is_vanishingly_small_and_float32_norms_underflow():
    """The failing network's first-layer gradient is many orders below the output layer's; in
    float32 its norm is not even representable (vector_norm squares entries below ~1e-23 to 0)."""
    model = mlp(20, 32, init="normal", scale=0.005, seed=0)
    assert M.first_last_ratio(model, X, Y) < 1e-30
    assert gradient_profile(model, X, Y)[0] == 0.0  # float32: the norm itself underflows


@pytest.mark.slow
def test_train_records_the_loss_before_each_step_and_after_the_last():
    budget = M.Budget(steps=5, n_examples=64)
    model = mlp(2, 8, seed=0)
    x, y = M.training_data(budget)
    with torch.no_grad():
        first = nn.functional.mse_loss(model(x), y).item()
    losses = M.train(model, "sgd", budget)
    assert losses.shape == (6,) and losses[0] == pytest.approx(first)
    with torch.no_grad():
        assert losses[-1] == pytest.approx(nn.functional.mse_loss(model(x), y).item())
    assert losses[-1] < losses[0]  # plain gradient descent on a healthy net goes downhill


@pytest.mark.slow
def test_train_stops_a_diverging_run_and_marks_the_rest_nan():
    losses = M.train(
        mlp(2, 8, activation="relu", init="he", seed=0), "sgd", M.Budget(lr=50.0, steps=30)
    )
    assert np.isfinite(losses[0]) and np.isnan(losses[-1])
    first_bad = int(np.flatnonzero(~np.isfinite(losses))[0])
    assert np.isnan(losses[first_bad:]).all()


def test_train_rejects_an_unknown_optimizer():
    with pytest.raises(ValueError, match="'sgd', 'adam'"):
        M.train(mlp(2, 4, seed=0), "rmsprop")


def test_steps_to_target_counts_steps_until_the_loss_first_reaches_it():
    losses = [1.0, 0.8, 0.5, 0.6, 0.4]
    assert M.steps_to_target(losses, 0.5) == 2
    assert M.steps_to_target(losses, 1.0) == 0
    assert M.steps_to_target(losses, 0.1) is None
    assert M.steps_to_target([1.0, math.nan, math.nan], 0.5) is None


# --- batch normalization -------------------------------------------------------------------------


def test_batch_norm_gives_every_unit_input_unit_spread_however_small_the_weights():
    plain = M.preactivation_spread(M.build_model("baseline", 0), X)
    normed = M.preactivation_spread(M.build_model("batch_norm", 0), X)
    depth = M.FAILING_NETWORK["depth"]
    assert plain.activation_input.shape == normed.activation_input.shape == (depth,)
    # without a norm the input spread collapses layer by layer
    np.testing.assert_array_equal(plain.linear, plain.activation_input)
    assert plain.activation_input[-1] < 1e-6 * plain.activation_input[0]
    # with batch norm it is of order 1 at every depth: below 1 only because BN divides by
    # √(var + ε) with ε = 1e-5, comparable to var when the weights are N(0, 0.005²) ...
    assert (normed.activation_input > 0.5).all() and (normed.activation_input <= 1).all()
    # ... and equal to 1 once the batch variance dwarfs ε (PyTorch's default init)
    wide = M.preactivation_spread(mlp(6, 32, norm="batch", seed=0), X)
    np.testing.assert_allclose(wide.activation_input, 1.0, rtol=2e-3)


def test_behind_batch_norm_a_layer_is_scale_invariant_and_its_gradient_scales_as_one_over_c():
    model = mlp(4, 16, norm="batch", seed=0)  # default init: batch variance ≫ BN's ε
    for factor in (2.0, 10.0):  # exact up to ε = 1e-5 in √(var + ε), hence rel=3e-3
        assert M.weight_gradient_after_scaling(model, 2, factor, X, Y) == pytest.approx(
            1 / factor, rel=3e-3
        )
    scaled = mlp(4, 16, norm="batch", seed=0)
    with torch.no_grad():
        linear_layers(scaled)[2].weight.mul_(10.0)
        np.testing.assert_allclose(scaled(X), model(X), rtol=1e-3)  # up to BN's ε


def test_without_a_norm_scaling_a_layer_changes_its_gradient_differently():
    model = mlp(4, 16, seed=0)
    assert abs(M.weight_gradient_after_scaling(model, 2, 10.0, X, Y) - 0.1) > 0.05


def test_weight_gradient_after_scaling_validates_its_arguments():
    model = mlp(2, 4, seed=0)
    with pytest.raises(ValueError, match="layer"):
        M.weight_gradient_after_scaling(model, 3, 2.0, X, Y)
    with pytest.raises(ValueError, match="factor"):
        M.weight_gradient_after_scaling(model, 0, 0.0, X, Y)


# --- residual connections ------------------------------------------------------------------------


def test_residual_block_backward_is_identity_plus_branch_jacobian():
    """∂L/∂x_l = ∂L/∂x_(l+1) · (I + ∂f/∂x_l), checked with autograd Jacobians in float64."""
    torch.manual_seed(0)
    block = ResidualBlock(5, "sigmoid", None, True).double()
    x = torch.randn(5, dtype=torch.float64)
    upstream = torch.randn(5, dtype=torch.float64)  # ∂L/∂x_(l+1)
    jac_block = torch.autograd.functional.jacobian(block, x)
    jac_branch = torch.autograd.functional.jacobian(lambda v: block(v) - v, x)
    torch.testing.assert_close(jac_block, torch.eye(5, dtype=torch.float64) + jac_branch)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(block(x), x, upstream)
    torch.testing.assert_close(grad, upstream @ (torch.eye(5, dtype=torch.float64) + jac_branch))


def test_residual_blocks_keep_the_representation_gradient_of_a_30_layer_sigmoid_net():
    plain = M.representation_gradients(mlp(30, 32, init="normal", scale=0.005, seed=0), X, Y)
    res = M.representation_gradients(
        mlp(30, 32, init="normal", scale=0.005, residual=True, seed=0), X, Y
    )
    assert plain.shape == res.shape == (30,)
    assert plain[0] / plain[-1] < 1e-50  # each plain layer multiplies by ≈ 0.25·0.005·√32
    assert 0.1 < res[0] / res[-1] < 10  # the identity path carries it through all 30 layers


@pytest.mark.parametrize("init, scale", [("default", None), ("normal", 0.005)])
def test_residual_blocks_keep_the_first_layer_weight_gradient_of_a_30_layer_sigmoid_net(
    init, scale
):
    def profile(residual):
        model = mlp(30, 32, init=init, scale=scale, residual=residual, seed=1).double()
        return gradient_profile(model, X.double(), Y.double())

    plain, res = profile(False), profile(True)
    assert plain[0] / plain[-2] < 1e-15  # first hidden layer vs last hidden layer: collapsed
    assert res[0] / res[-2] > 1e-3  # within about two orders of magnitude (plus input size)


def test_hidden_outputs_rejects_a_model_without_named_layers():
    with pytest.raises(ValueError, match="helpers.models.mlp"):
        M.hidden_outputs(nn.Sequential(nn.Linear(2, 1)))


# --- Adam ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("g", [0.3, -2e-3, 1e-7, 1e-9, -1e-12, 0.0])
def test_adam_first_step_matches_torch_adam(g):
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=0.01)
    w.grad = torch.tensor([g], dtype=torch.float64)
    optimizer.step()
    assert -float(w.detach()) == pytest.approx(M.adam_first_step(g, lr=0.01), rel=1e-9, abs=0)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e3, 1e3, allow_nan=False), st.floats(1e-6, 1.0), st.floats(0, 1e-4))
def test_adam_first_step_is_at_most_lr_and_never_against_the_gradient(g, lr, eps):
    step = M.adam_first_step(g, lr=lr, eps=eps)
    assert abs(step) <= lr * (1 + 1e-12)
    assert step * g >= 0  # never against the gradient (0 when lr·g/ε underflows)
    if g == 0:
        assert step == 0
    if g != 0 and abs(g) >= 1e3 * eps:
        assert abs(step) == pytest.approx(lr, rel=1.01e-3)


def test_adam_first_step_rescales_large_gradients_but_not_those_far_below_eps():
    steps = M.adam_first_step(np.array([1e-2, 1e-5, 1e-12, 0.0]), lr=1e-3)
    np.testing.assert_allclose(steps[:2], [1e-3, 1e-3], rtol=1e-3)
    assert steps[2] == pytest.approx(1e-3 * 1e-12 / 1e-8, rel=1e-3)
    assert steps[3] == 0.0
    with pytest.raises(ValueError, match="lr"):
        M.adam_first_step(1.0, lr=0)


@pytest.mark.slow
def test_exactly_zero_gradients_stay_put_under_adam():
    model = mlp(20, 32, init="normal", scale=0.005, seed=0)
    x, y = toy_regression(256, seed=0)
    result = M.adam_on_vanishing(model, x, y, steps=5, lr=1e-3)
    assert result.zero_gradients[0] == 1.0  # the first layer's gradient underflowed to 0
    assert result.unchanged[0] == 1.0  # ... and Adam never moved a single one of its weights
    assert result.largest_gradient[-1] > 1e-5 and result.unchanged[-1] == 0.0
    # layers whose gradients are nonzero but far below ε do not move either
    tiny = (result.largest_gradient > 0) & (result.largest_gradient < 1e-20)
    assert tiny.any() and (result.unchanged[tiny] == 1.0).all()
    # the model passed in is untouched
    assert torch.equal(
        linear_layers(model)[-1].weight,
        linear_layers(mlp(20, 32, init="normal", scale=0.005, seed=0))[-1].weight,
    )


# --- the comparison ------------------------------------------------------------------------------

SMALL = M.Budget(steps=40, n_examples=64)


@pytest.fixture(scope="module")
def small():
    return M.compare(["baseline", "batch_norm", "adam"], seeds=(0, 1), budget=SMALL)


def test_comparison_is_cached_in_process(small):
    assert M.compare(["baseline", "batch_norm", "adam"], seeds=(0, 1), budget=SMALL) is small


@pytest.mark.slow
def test_baseline_stays_at_the_mean_predictor_loss(small):
    _, y = M.training_data(SMALL)
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
    x, y = M.training_data(SMALL)
    for run in small["adam"].runs:
        alone = M.adam_on_vanishing(
            M.build_model("adam", run.seed), x, y, steps=SMALL.steps, lr=SMALL.adam_lr
        )
        np.testing.assert_array_equal(run.unchanged, alone.unchanged)
        assert run.final_loss == pytest.approx(alone.losses[1], rel=1e-6)
    assert run.unchanged.shape == (M.FAILING_NETWORK["depth"] + 1,)
    assert (small["batch_norm"].runs[0].unchanged == 0).all()  # SGD moves every weight here


def test_adam_starts_from_the_baselines_exact_network(small):
    """Same network, same seeds: Adam's first/last ratio at init is the baseline's, exactly."""
    np.testing.assert_array_equal(small["adam"].ratios_start, small["baseline"].ratios_start)


@pytest.mark.slow
def test_batch_norm_restores_the_gradient_ratio(small):
    assert (small["batch_norm"].ratios_start > 1e-2).all()
    assert (small["batch_norm"].final_losses < small["baseline"].final_losses).all()


def test_table_prints_every_row_with_rounded_figures(small):
    text = str(small)
    for row in small.rows:
        assert row.label in text
    assert "not reached" in text and "0/2" in text
    assert "target: loss <=" in text
    assert "e-" in text  # ratios in scientific notation
    with pytest.raises(KeyError, match="no configuration 'relu'"):
        small["relu"]


def _fake_run(name, losses, seed=0):
    return M.Run(name, seed, np.array(losses, dtype=float), 1e-3, 1e-2, 10)


@pytest.mark.slow
def test_verdicts_count_reached_and_stuck_seeds_and_keep_only_deterministic_columns(small):
    text = small.verdicts()
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["mitigation", "params", "reached"]
    base = next(line for line in lines if line.startswith("baseline"))
    assert " 0/2 " in base and base.count("2/2") == 1  # never reached, both seeds stuck
    assert "±" not in text and "not reached" not in text  # no per-seed floats
    assert small.at_mean_predictor(small["baseline"]) == 2
    assert small.at_mean_predictor(small["batch_norm"]) == 0


def test_final_ratios_and_steps_needed_concatenate_the_named_rows(small):
    ratios = small.final_ratios(["baseline", "adam"])
    assert ratios.shape == (4,)
    np.testing.assert_allclose(
        ratios[:2], small["baseline"].final_losses / small.mean_predictor_loss
    )
    steps = small.steps_needed(["baseline", "batch_norm"])
    assert steps.shape == (4,) and np.isinf(steps[:2]).all()
    with pytest.raises(KeyError, match="no configuration 'relu'"):
        small.final_ratios(["relu"])
    with pytest.raises(TypeError, match="list of configuration names"):
        small.steps_needed("baseline")
    with pytest.raises(ValueError, match="at least one"):
        small.final_ratios([])


def test_steps_or_inf_marks_seeds_that_never_reached_the_target():
    row = M.Row("r", "R", (_fake_run("r", [1, 0.4, 0.3]), _fake_run("r", [1, 0.9, 0.8])), 0.5)
    np.testing.assert_array_equal(row.steps_or_inf, [1.0, math.inf])
    comparison = M.Comparison((row,), M.Budget(steps=2), (0, 1), 1.0, 0.5)
    assert comparison.at_mean_predictor(row) == 0
    stuck = M.Row("s", "S", (_fake_run("s", [1, 1, 1.005]), _fake_run("s", [1, 1, 0.98])), 0.5)
    assert comparison.at_mean_predictor(stuck) == 1  # within 1%: 1.005 yes, 0.98 no


def test_format_spread_prints_a_bound_below_float64_resolution():
    assert M.format_spread(6.53e-3) == "6.5e-03"
    assert M.format_spread(7.2e-16) == "7.2e-16"
    assert M.format_spread(5.8e-18) == "<1e-16"
    assert M.format_spread(0.0) == "<1e-16"
    assert M.format_spread(3e-10, floor=1e-9) == "<1e-09"
    # the floor is float64's spacing next to 0.5, the sigmoid's output at z = 0
    assert np.spacing(0.5) == pytest.approx(M.RESOLUTION, rel=0.2)
    with pytest.raises(ValueError, match="nonnegative"):
        M.format_spread(-1e-3)
    with pytest.raises(ValueError, match="floor"):
        M.format_spread(1.0, floor=0)


def test_table_reports_divergence_and_spread_honestly():
    target = 0.5
    rows = (
        M.Row(
            "relu",
            "ReLU",
            (_fake_run("relu", [1, 0.4, 0.3]), _fake_run("relu", [1, 0.6, 0.5])),
            target,
        ),
        M.Row(
            "elu",
            "ELU",
            (_fake_run("elu", [1, math.nan, math.nan]), _fake_run("elu", [1, 0.45, 0.2])),
            target,
        ),
        M.Row("he", "He", (_fake_run("he", [1, math.inf, math.nan]),) * 2, target),
    )
    comparison = M.Comparison(rows, M.Budget(steps=2), (0, 1), 1.0, target)
    lines = str(comparison).splitlines()
    relu, elu, he = lines[2], lines[3], lines[4]
    assert "0.400 ± 0.100" in relu and "2/2" in relu and "2 [1, 2]" in relu
    assert "0.200 ± 0.000 †" in elu and "1/2" in elu
    assert "diverged" in he and "not reached" in he
    assert "† a seed diverged" in str(comparison)
