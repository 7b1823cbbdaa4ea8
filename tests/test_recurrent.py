"""BPTT gradient versus lag, spectra and adding-problem training (helpers.recurrent).

The model family itself (helpers.models.recurrent) is tested in tests/test_models_recurrent.py,
clipping (helpers.clipping) in tests/test_clipping.py.

Closed forms (linear RNN: (Wᵀ)^k; LSTM without recurrent weights: products of forget gates) are
checked against autograd in float64.
"""

import math

import numpy as np
import pytest
import torch

import helpers.models.recurrent as models_recurrent
from helpers import clipping, diagnose, recurrent, training
from helpers.data.sequences import ADDING_BASELINE_MSE, adding_problem
from helpers.recurrent import gradient_vs_lag, make_model, vanishing_bound

F64 = torch.float64


def probe(length=30, batch=8, seed=0):
    x, y = adding_problem(batch, length, seed=seed)
    return x.double(), y.double()


# --- the model family and clipping are re-exported ----------------------------------------------


@pytest.mark.parametrize(
    "name", ["KINDS", "LinearRNN", "RecurrentNet", "cell_step", "make_model", "scaled_orthogonal"]
)
def test_model_family_is_re_exported_from_helpers_models(name):
    assert getattr(recurrent, name) is getattr(models_recurrent, name)


@pytest.mark.parametrize(
    "name",
    ["clip_by_norm", "clip_by_value", "clip_factor", "clip_grad_norm", "cosine", "global_norm"],
)
def test_clipping_is_re_exported_from_helpers_clipping(name):
    assert getattr(recurrent, name) is getattr(clipping, name)


def test_spectral_helpers_reject_bad_shapes():
    with pytest.raises(ValueError, match="square"):
        recurrent.spectral_radius(np.ones((2, 3)))
    with pytest.raises(ValueError, match="2-D"):
        recurrent.largest_singular_value(np.ones(3))


# --- gradient versus lag -------------------------------------------------------------------------


@pytest.mark.parametrize("radius", [0.5, 0.9, 1.2])
def test_linear_rnn_with_scaled_orthogonal_weights_scales_by_radius_per_step(radius):
    model = make_model("linear", hidden_size=8, spectral_radius=radius, seed=0, dtype=F64)
    profile = gradient_vs_lag(model, *probe(length=40))
    np.testing.assert_allclose(profile.h / profile.h[0], radius**profile.lags, rtol=1e-9)
    assert profile.log_slope() == pytest.approx(math.log(radius), abs=1e-9)


def test_linear_rnn_gradient_is_the_matrix_power_and_its_slope_tends_to_log_radius():
    model = make_model("linear", hidden_size=12, seed=4, dtype=F64)
    x, y = probe(length=150)
    profile = gradient_vs_lag(model, x, y)
    w = recurrent.recurrent_matrix(model)
    # ∂L/∂h_T for L = mean((v·h_T + c − y)²): rows 2(out − y) v / batch.
    with torch.no_grad():
        residual = (model(x) - y).numpy()
    g = 2 * residual @ model.readout.weight.detach().numpy() / len(y)
    # h_t = W h_(t−1) + …, so ∂L/∂h_(t−1) = Wᵀ ∂L/∂h_t: for row vectors, g ← g W.
    expected = []
    for _ in range(len(profile.lags)):
        expected.append(np.linalg.norm(g))
        g = g @ w
    np.testing.assert_allclose(profile.h, expected, rtol=1e-8)
    radius = recurrent.spectral_radius(w)
    assert profile.log_slope(start=50) == pytest.approx(math.log(radius), abs=0.02)


def test_tanh_rnn_gradient_follows_the_jacobian_product_and_respects_the_bound():
    model = make_model("rnn", hidden_size=10, spectral_radius=1.5, seed=1, dtype=F64)
    x, y = probe(length=25)
    profile = gradient_vs_lag(model, x, y)
    w = recurrent.recurrent_matrix(model)
    with torch.no_grad():
        hs = [h.numpy() for h in model.unroll(x)[0]]
        residual = (model(x) - y).numpy()
    g = 2 * residual @ model.readout.weight.detach().numpy() / len(y)
    expected = [np.linalg.norm(g)]
    for h in reversed(hs[1:]):  # ∂L/∂h_(t−1) = Wᵀ diag(1 − h_t²) ∂L/∂h_t
        g = (g * (1 - h**2)) @ w
        expected.append(np.linalg.norm(g))
    np.testing.assert_allclose(profile.h, expected, rtol=1e-8)
    bound = vanishing_bound(recurrent.largest_singular_value(w), profile.lags)
    assert np.all(profile.h / profile.h[0] <= bound * (1 + 1e-9))


def _gates_only_from_bias(model, gate_rows):
    """Zero W_hh and the input weights of the given gate rows: the gate is then σ(bias)."""
    with torch.no_grad():
        model.rnn.weight_hh_l0.zero_()
        model.rnn.weight_ih_l0[gate_rows] = 0.0


@pytest.mark.parametrize("bias", [0.0, 1.0, 3.0])
def test_lstm_cell_error_is_carried_by_the_forget_gate(bias):
    # With W_hh = 0 the only path from c_(t−1) to the loss is c_t = f ⊙ c_(t−1) + …, so
    # ∂L/∂c_(t−1) = f ⊙ ∂L/∂c_t: the constant error carousel, scaled by the forget gate.
    hidden = 6
    model = make_model("lstm", hidden_size=hidden, forget_bias=bias, seed=0, dtype=F64)
    _gates_only_from_bias(model, slice(hidden, 2 * hidden))
    profile = gradient_vs_lag(model, *probe(length=30))
    forget = 1 / (1 + math.exp(-bias))
    np.testing.assert_allclose(profile.c / profile.c[0], forget**profile.lags, rtol=1e-9)


def test_gru_state_error_is_carried_by_the_update_gate():
    # GRU with W_hh = 0 and constant update gate z = σ(b): h_t = (1 − z) n_t + z h_(t−1).
    hidden = 5
    model = make_model("gru", hidden_size=hidden, seed=0, dtype=F64)
    rows = slice(hidden, 2 * hidden)  # gate order r, z, n
    _gates_only_from_bias(model, rows)
    with torch.no_grad():
        model.rnn.bias_ih_l0[rows] = 2.0
        model.rnn.bias_hh_l0[rows] = 0.0
    profile = gradient_vs_lag(model, *probe(length=20))
    z = 1 / (1 + math.exp(-2.0))
    np.testing.assert_allclose(profile.h / profile.h[0], z**profile.lags, rtol=1e-9)
    assert profile.c is None


def test_gradient_vs_lag_leaves_parameter_gradients_alone():
    model = make_model("lstm", hidden_size=4, seed=0)
    gradient_vs_lag(model, *adding_problem(4, 10, seed=0))
    assert all(p.grad is None for p in model.parameters())


def test_gradient_vs_lag_errors():
    model = make_model("rnn", hidden_size=4, seed=0)
    x, y = adding_problem(4, 10, seed=0)
    with pytest.raises(TypeError, match="RecurrentNet"):
        gradient_vs_lag(torch.nn.RNN(2, 4), x, y)
    with pytest.raises(ValueError, match=r"\(batch, T, 2\)"):
        gradient_vs_lag(model, x[..., :1], y)
    with pytest.raises(ValueError, match="rows"):
        gradient_vs_lag(model, x, y[:2])
    with pytest.raises(ValueError, match="two lags"):
        gradient_vs_lag(model, x[:, :1], y).log_slope()


def test_vanishing_bound_uses_the_activation_table():
    np.testing.assert_allclose(vanishing_bound(0.9, [0, 1, 20]), [1, 0.9, 0.9**20])
    np.testing.assert_allclose(vanishing_bound(2.0, [3], activation="sigmoid"), [0.5**3])
    with pytest.raises(ValueError, match="sigma_max"):
        vanishing_bound(-1.0, [1])
    with pytest.raises(ValueError, match="activation"):
        vanishing_bound(1.0, [1], activation="swish")


# --- training on the adding problem --------------------------------------------------------------


@pytest.mark.slow
def test_lstm_learns_a_short_adding_problem():
    run = recurrent.train_adding("lstm", 10, 400, seed=0)
    assert run.test_mse < 0.03, "well below the baseline 1/6"
    assert len(run.losses) == len(run.grad_norms) == 400
    assert run.losses[-50:].mean() < 0.2 * ADDING_BASELINE_MSE


@pytest.mark.slow
def test_tanh_rnn_stays_at_the_baseline_at_length_40():
    run = recurrent.train_adding("rnn", 40, 300, seed=0)
    assert run.test_mse == pytest.approx(ADDING_BASELINE_MSE, rel=0.1)


def test_runs_are_cached_and_seeded():
    a = recurrent.train_adding("lstm", 10, 400, seed=0)
    assert recurrent.train_adding("lstm", 10, 400, seed=0) is a
    b = recurrent.train_adding("lstm", 10, 20, seed=1)
    c = recurrent.train_adding("lstm", 10, 20, seed=2)
    assert not np.array_equal(b.losses, c.losses)
    table = recurrent.adding_table({"lstm": [a]})
    assert "seed 0" in table and "below 0.01" in table and "1/6 = 0.167" in table


@pytest.mark.slow
def test_clipping_tames_the_exploding_run_and_the_monitor_and_diagnosis_follow():
    options = {"optimizer": "sgd", "lr": 0.05, "spectral_radius": 2.0, "monitor": True}
    wild = recurrent.train_adding("rnn", 20, 200, seed=1, **options)
    tame = recurrent.train_adding("rnn", 20, 200, seed=1, max_norm=1.0, **options)
    assert not np.all(np.isfinite(wild.losses)) or wild.losses.max() > 1e3
    assert np.all(np.isfinite(tame.losses)) and tame.losses.max() < 2.0
    assert 0 < tame.clipped <= 1 and wild.clipped == 0
    # GradientMonitor sees the RNN layer and the readout; its losses are the run's losses.
    assert tame.monitor.layer_names == ["rnn", "readout"]
    np.testing.assert_array_equal(tame.monitor.losses, tame.losses)
    assert tame.monitor.grad_norms.shape == (200, 2)
    assert diagnose.diagnose(wild.monitor, baseline=ADDING_BASELINE_MSE).label == "exploding"
    assert diagnose.diagnose(tame.monitor, baseline=ADDING_BASELINE_MSE).label in diagnose.LABELS


def test_train_adding_is_one_run_of_the_course_training_loop():
    # The same model, batches and options through helpers.training.train give the same numbers.
    run = recurrent.train_adding("rnn", 10, 30, seed=3, max_norm=0.5)
    model = make_model("rnn", seed=3)
    batches = recurrent._adding_batches(10, 32, recurrent.DATA_SEED_OFFSET + 3)
    result = training.train(model, batches, steps=30, lr=0.01, optimizer="adam", clip=0.5)
    np.testing.assert_array_equal(run.losses, result.losses)
    np.testing.assert_array_equal(run.grad_norms, result.grad_norms)
    assert run.clipped == result.clipped / 30 and 0 < run.clipped <= 1
    assert run.test_mse == recurrent.evaluate_adding(model.eval(), 10)


def test_a_diverged_run_stops_at_its_first_non_finite_loss_with_aligned_norms():
    run = recurrent.train_adding("rnn", 20, 100, seed=2, optimizer="sgd", lr=0.05,
                                 spectral_radius=2.0)  # fmt: skip
    assert len(run.losses) == len(run.grad_norms) < 100
    assert np.isfinite(run.losses[:-1]).all() and not np.isfinite(run.losses[-1])
    # The step before may already have an infinite gradient norm (float32 overflow): that
    # update makes the weights non-finite, and the next loss ends the run.
    assert np.isfinite(run.grad_norms[:-2]).all() and np.isnan(run.grad_norms[-1])
    assert run.peak_loss == math.inf and run.first_step_above(1e3) < len(run.losses)


def _fake_run(losses):
    return recurrent.AddingRun("rnn", 5, 0, np.array(losses, dtype=float), np.ones(len(losses)),
                               0.0, 0.2, None)  # fmt: skip


def test_peak_loss_and_first_step_above_treat_a_blow_up_as_infinite():
    calm = _fake_run([1.2, 0.5, 1.9, 0.3])
    assert calm.peak_loss == 1.9
    assert calm.first_step_above(1.0) == 0.0 and calm.first_step_above(1.5) == 2.0
    assert calm.first_step_above(2.0) == math.inf
    wild = _fake_run([1.0, 5e3, math.inf])
    assert wild.peak_loss == math.inf and wild.first_step_above(1e3) == 1.0
    stopped = _fake_run([1.0, 2.0, math.nan])  # a run whose loss became NaN
    assert stopped.peak_loss == math.inf and stopped.first_step_above(10.0) == 2.0
    with pytest.raises(ValueError, match="level"):
        calm.first_step_above(0.0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "cnn"}, ValueError, "kind"),
        ({"optimizer": "rmsprop"}, ValueError, "optimizer"),
        ({"steps": 0}, ValueError, "steps"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"max_norm": -1.0}, ValueError, "max_norm"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_train_adding_errors_name_the_argument(kwargs, error, match):
    arguments = {"kind": "rnn", "length": 10, "steps": 5, **kwargs}
    with pytest.raises(error, match=match):
        recurrent.train_adding(**arguments)
