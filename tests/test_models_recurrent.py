"""The recurrent model family (helpers.models.recurrent): the written-out cell equations match
PyTorch's fused modules, seeding, the spectral-radius and forget-bias initialisations, errors."""

import math

import numpy as np
import pytest
import torch

from helpers import recurrent
from helpers.data.sequences import adding_problem
from helpers.models.recurrent import KINDS, make_model

F64 = torch.float64


def probe(length=30, batch=8, seed=0):
    x, y = adding_problem(batch, length, seed=seed)
    return x.double(), y.double()


# --- the model family ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_written_out_cell_equations_match_pytorch_modules(kind):
    model = make_model(kind, hidden_size=7, seed=2, dtype=F64)
    x, _ = probe(length=12, batch=5)
    hs, cs = model.unroll(x)
    out, _ = model.rnn(x)
    torch.testing.assert_close(torch.stack(hs, dim=1), out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(model(x), model.readout(hs[-1]), rtol=1e-12, atol=1e-12)
    assert (cs is not None) == (kind == "lstm")


def test_linear_rnn_is_the_affine_recursion():
    model = make_model("linear", hidden_size=4, seed=1, dtype=F64)
    x, _ = probe(length=6, batch=3)
    p = dict(model.rnn.named_parameters())
    h = torch.zeros(3, 4, dtype=F64)
    for t in range(6):
        h = x[:, t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T
        h = h + p["bias_hh_l0"]
    torch.testing.assert_close(model.rnn(x)[1][0], h)


def test_make_model_is_seeded_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = make_model("lstm", seed=5)
    after = torch.rand(1)
    b = make_model("lstm", seed=5)
    c = make_model("lstm", seed=6)
    assert torch.equal(before, after)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.rnn.weight_hh_l0, c.rnn.weight_hh_l0)


@pytest.mark.parametrize("radius", [0.5, 1.0, 2.0])
def test_spectral_radius_sets_every_singular_value(radius):
    model = make_model("rnn", hidden_size=16, spectral_radius=radius, seed=3)
    w = recurrent.recurrent_matrix(model)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), radius, rtol=1e-6)
    assert recurrent.spectral_radius(w) == pytest.approx(radius, rel=1e-6)
    assert recurrent.largest_singular_value(w) == pytest.approx(radius, rel=1e-6)


def test_default_init_spectral_radius_is_near_one_over_root_three():
    # Entries U(±1/√n) have variance 1/(3n); the circular law puts the eigenvalues in a disc of
    # radius √n · √(1/(3n)) = 1/√3 for large n.
    radii = [
        recurrent.spectral_radius(recurrent.recurrent_matrix(make_model("rnn", hidden_size=256,
                                                                        seed=s)))
        for s in range(3)
    ]  # fmt: skip
    assert np.mean(radii) == pytest.approx(1 / math.sqrt(3), rel=0.08)


def test_forget_bias_sets_the_total_forget_gate_bias():
    model = make_model("lstm", hidden_size=5, forget_bias=2.5, seed=0)
    total = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    torch.testing.assert_close(total[5:10], torch.full((5,), 2.5))
    untouched = make_model("lstm", hidden_size=5, forget_bias=None, seed=0)
    assert not torch.allclose(untouched.rnn.bias_ih_l0[5:10], torch.full((5,), 2.5))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "transformer"}, ValueError, "'rnn', 'lstm', 'gru', 'linear'"),
        ({"kind": "rnn", "hidden_size": 0}, ValueError, "hidden_size"),
        ({"kind": "lstm", "spectral_radius": 1.0}, ValueError, "spectral_radius"),
        ({"kind": "rnn", "spectral_radius": -1.0}, ValueError, "spectral_radius"),
        ({"kind": "lstm", "forget_bias": "big"}, TypeError, "forget_bias"),
        ({"kind": "lstm", "forget_bias": math.inf}, ValueError, "forget_bias"),
        ({"kind": "rnn", "seed": -3}, ValueError, "seed"),
    ],
)
def test_make_model_errors_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_model(**kwargs)
