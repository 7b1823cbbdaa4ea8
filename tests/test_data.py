"""helpers.data: seeded, reproducible data sets, their splits and their baselines."""

import math

import pytest
import torch

from helpers import data

SIZES = {"toy_regression": 256, "two_moons": 128, "two_blobs": 128, "friedman": 512,
         "clusters": 192, "drifts": 128}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SIZES))
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(name):
    n = SIZES[name]
    a, b, c = (data.split(name, n, 64, seed=s) for s in (0, 0, 1))
    torch.testing.assert_close(a.x, b.x)
    torch.testing.assert_close(a.y_test, b.y_test)
    assert not torch.equal(a.x, c.x)
    assert not torch.equal(a.x, a.x_test[: len(a.x)]) if len(a.x_test) >= len(a.x) else True
    assert len(a.x) == n and len(a.x_test) == 64


def test_baselines_are_the_constant_predictors_losses():
    assert data.split("two_moons", 128, 64).baseline == pytest.approx(math.log(2))
    assert data.split("clusters", 192, 60).baseline == pytest.approx(math.log(3))
    toy = data.split("toy_regression", 256, 64)
    assert toy.baseline == pytest.approx(float(toy.y.double().var(correction=0)))
    assert toy.baseline == pytest.approx(data.mean_baseline_loss(toy.y))


def test_standardized_regression_targets_have_baseline_one():
    s = data.split("friedman", 1024, 256, standardize_y=True)
    assert s.baseline == pytest.approx(1.0, rel=1e-5)
    assert float(s.y.mean()) == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError, match="standardize_y applies to regression"):
        data.split("two_moons", 16, 16, standardize_y=True)


def test_labels_are_balanced():
    _, y = data.two_moons(100)
    assert float(y.mean()) == 0.5
    _, labels = data.clusters(99)
    assert torch.bincount(labels).tolist() == [33, 33, 33]


def test_adding_problem_baseline_is_one_sixth():
    _, y = data.adding_problem(20_000, 10, seed=0)
    assert data.mean_predictor_mse(y) == pytest.approx(data.ADDING_BASELINE_MSE, rel=0.03)


def test_unknown_names_and_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="unknown data set 'mnist'; valid names are"):
        data.split("mnist", 10, 10)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        data.split("two_moons", 0, 10)
