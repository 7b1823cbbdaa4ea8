"""helpers.data.sequences: the adding problem, copy-memory and reversal generators (structure,
seeding, baselines, errors)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.data import sequences
from helpers.data.sequences import (
    ADDING_BASELINE_MSE,
    BLANK,
    DELIMITER,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
    mean_predictor_mse,
    reverse_sequence,
    reverse_sequence_baseline,
)

# --- the adding problem ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 40),
    length=st.integers(2, 60),
    seed=st.integers(0, 2**31 - 1),
)
def test_adding_problem_structure_holds_for_every_batch(batch, length, seed):
    x, y = adding_problem(batch, length, seed=seed)
    assert x.shape == (batch, length, 2) and y.shape == (batch, 1)
    assert x.dtype == torch.float32 and y.dtype == torch.float32
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    assert (markers.sum(dim=1) == 2).all()
    half = length // 2
    assert (markers[:, :half].sum(dim=1) == 1).all(), "one marker in the first half"
    assert (markers[:, half:].sum(dim=1) == 1).all(), "one marker in the second half"
    expected = (values.double() * markers.double()).sum(dim=1, keepdim=True)
    torch.testing.assert_close(y.double(), expected, rtol=1e-6, atol=1e-6)


def test_same_seed_same_data_and_a_generator_gives_fresh_batches():
    a = adding_problem(8, 20, seed=3)
    b = adding_problem(8, 20, seed=3)
    c = adding_problem(8, 20, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    gen = torch.Generator().manual_seed(3)
    first = adding_problem(8, 20, generator=gen)
    second = adding_problem(8, 20, generator=gen)
    assert torch.equal(first[0], a[0]), "a generator seeded like seed= gives the same first batch"
    assert not torch.equal(first[0], second[0])


def test_mean_predictor_mse_is_one_sixth_within_sampling_error():
    # y − 1 is triangular on [−1, 1]: E(y − 1)² = 1/6, E(y − 1)⁴ = 1/15, so the squared error has
    # variance 1/15 − 1/36 = 7/180 and the sample mean of n draws a standard error √(7/180/n).
    n = 200_000
    _, y = adding_problem(n, 10, seed=0)
    standard_error = math.sqrt(7 / 180 / n)
    assert abs(mean_predictor_mse(y) - 1 / 6) < 4 * standard_error
    assert abs(float(y.double().mean()) - 1.0) < 4 * math.sqrt(1 / 6 / n), "the mean target is 1"
    assert ADDING_BASELINE_MSE == pytest.approx(2 / 12)


def test_mean_predictor_mse_closed_form_on_small_input():
    assert mean_predictor_mse([[0.5], [1.5], [1.0]]) == pytest.approx((0.25 + 0.25 + 0) / 3)
    with pytest.raises(ValueError, match="empty"):
        mean_predictor_mse([])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"batch_size": 0, "length": 10, "seed": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5, "length": 10, "seed": 0}, TypeError, "batch_size"),
        ({"batch_size": 4, "length": 1, "seed": 0}, ValueError, "length must be >= 2"),
        ({"batch_size": 4, "length": 10, "seed": -1}, ValueError, "seed"),
        ({"batch_size": 4, "length": 10, "seed": 1.5}, ValueError, "seed"),
        ({"batch_size": 4, "length": 10}, ValueError, "seed is required"),
        (
            {"batch_size": 4, "length": 10, "seed": 0, "generator": torch.Generator()},
            ValueError,
            "either seed or generator",
        ),
        ({"batch_size": 4, "length": 10, "generator": 3}, TypeError, "torch.Generator"),
    ],
)
def test_adding_problem_errors_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        adding_problem(**kwargs)


# --- copy memory --------------------------------------------------------------------------------


def test_copy_memory_layout():
    delay, n_copy, n_symbols = 7, 4, 5
    x, y = copy_memory(6, delay, n_symbols=n_symbols, n_copy=n_copy, seed=1)
    total = delay + 2 * n_copy
    assert x.shape == y.shape == (6, total) and x.dtype == torch.long
    symbols = x[:, :n_copy]
    assert ((symbols >= 2) & (symbols < n_symbols + 2)).all()
    assert (x[:, n_copy : delay + n_copy - 1] == BLANK).all()
    assert (x[:, delay + n_copy - 1] == DELIMITER).all()
    assert (x[:, delay + n_copy :] == BLANK).all()
    assert (y[:, : delay + n_copy] == BLANK).all()
    assert torch.equal(y[:, delay + n_copy :], symbols), "the target repeats the symbols"
    assert torch.equal(copy_memory(6, delay, n_symbols=5, n_copy=4, seed=1)[0], x)


def test_copy_memory_baseline_equals_the_memoryless_cross_entropy():
    delay, n_copy, n_symbols = 30, 10, 8
    x, y = copy_memory(64, delay, n_symbols=n_symbols, n_copy=n_copy, seed=0)
    # The memoryless strategy: blank for sure until the copy phase, then uniform over symbols.
    logits = torch.full((*y.shape, n_symbols + 2), -1e9, dtype=torch.float64)
    logits[:, : delay + n_copy, BLANK] = 0.0
    logits[:, delay + n_copy :, 2:] = 0.0
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, n_symbols + 2), y.reshape(-1))
    expected = copy_memory_baseline(delay, n_symbols=n_symbols, n_copy=n_copy)
    assert float(loss) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(10 * math.log(8) / 50)


@pytest.mark.parametrize("argument", ["batch_size", "delay", "n_symbols", "n_copy"])
def test_copy_memory_errors_name_the_argument(argument):
    kwargs = {"batch_size": 2, "delay": 5, "n_symbols": 8, "n_copy": 3, "seed": 0}
    kwargs[argument] = 0
    with pytest.raises(ValueError, match=argument):
        copy_memory(**kwargs)
    with pytest.raises(ValueError, match="delay"):
        copy_memory_baseline(0)


def test_module_constants_are_distinct_tokens():
    assert BLANK != DELIMITER
    assert np.isclose(sequences.ADDING_BASELINE_MSE, 1 / 6)


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 8), length=st.integers(1, 20), vocab=st.integers(2, 40))
def test_reverse_sequence_targets_are_the_tokens_backwards(batch, length, vocab):
    x, y = reverse_sequence(batch, length, vocab=vocab, seed=3)
    assert x.shape == y.shape == (batch, length) and x.dtype == torch.long
    assert int(x.min()) >= 0 and int(x.max()) < vocab
    for t in range(length):
        assert torch.equal(y[:, t], x[:, length - 1 - t])
    assert torch.equal(reverse_sequence(batch, length, vocab=vocab, seed=3)[0], x)


def test_reverse_sequence_baseline_is_the_uniform_guess():
    x, y = reverse_sequence(4096, 8, vocab=16, seed=0)
    logits = torch.zeros(y.numel(), 16, dtype=torch.float64)  # uniform over the vocabulary
    loss = torch.nn.functional.cross_entropy(logits, y.reshape(-1))
    assert float(loss) == pytest.approx(reverse_sequence_baseline(16), rel=1e-12)
    # and the best input-blind prediction, the empirical token frequencies, is within 0.1%
    freq = torch.bincount(y.reshape(-1), minlength=16).double() / y.numel()
    best = float(-(freq * freq.log()).sum())
    assert best == pytest.approx(math.log(16), rel=1e-3)


@pytest.mark.parametrize(("argument", "value"), [("batch_size", 0), ("length", 0), ("vocab", 1)])
def test_reverse_sequence_errors_name_the_argument(argument, value):
    kwargs = {"batch_size": 2, "length": 5, "vocab": 8, "seed": 0}
    kwargs[argument] = value
    with pytest.raises(ValueError, match=argument):
        reverse_sequence(**kwargs)
