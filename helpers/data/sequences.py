"""Synthetic sequence tasks: the adding problem and copy memory (recurrent networks, notebook 09)
and sequence reversal (transformers, notebook 10).

Notebook 09 trains a tanh RNN and an LSTM on the adding problem: the answer depends on two inputs
far back in the sequence, so only a network whose error signal survives many time steps learns it.
Every generator takes a ``seed`` (or a ``torch.Generator``) and returns the same data for the same
seed (PyTorch's CPU generator is the same on every machine for a given PyTorch release).
"""

import math

import torch

from helpers import _validate

# --- the adding problem --------------------------------------------------------------------------

# Variance of the sum of two independent U(0, 1) values: 2 · (1/12) = 1/6.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _generator(seed, generator) -> torch.Generator:
    """A torch.Generator: ``generator`` if given, else a fresh one seeded with ``seed``."""
    if generator is not None:
        if seed is not None:
            raise ValueError("give either seed or generator, not both")
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return generator
    if seed is None:
        raise ValueError("seed is required (an integer >= 0), or pass generator=")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return torch.Generator().manual_seed(seed)


def adding_problem(batch_size: int, length: int, *, seed=None, generator=None):
    """A batch of the adding problem: inputs ``x`` (batch, length, 2) and targets ``y`` (batch, 1).

    Each sequence has two channels. Channel 0 holds values drawn from U(0, 1); channel 1 is a
    marker, 0 everywhere except at two steps: one drawn uniformly from the first half of the
    sequence, one from the second half. The target is the sum of the two marked values.
    This is the variant of Le, Jaitly & Hinton (2015) and Arjovsky, Shah & Bengio (2016);
    Hochreiter & Schmidhuber (1997, experiment 4) introduced the task with values in [−1, 1]
    and a rescaled target.

    The first marker sits at least ``length // 2`` steps before the end, so a network that
    answers must carry information that far. Predicting the mean, 1, for every sequence gives
    MSE = Var(u₁ + u₂) = 1/6 (see :data:`ADDING_BASELINE_MSE`).

    Args:
        batch_size: number of sequences (>= 1).
        length: sequence length T (>= 2).
        seed: integer seed for a fresh generator, or
        generator: a ``torch.Generator`` to draw from (successive calls give fresh batches).
    """
    batch_size = _validate.positive_int(batch_size, "batch_size")
    length = _validate.positive_int(length, "length")
    if length < 2:
        raise ValueError(f"length must be >= 2 (two markers), got {length}")
    gen = _generator(seed, generator)
    values = torch.rand(batch_size, length, generator=gen)
    half = length // 2
    first = torch.randint(0, half, (batch_size,), generator=gen)
    second = torch.randint(half, length, (batch_size,), generator=gen)
    markers = torch.zeros(batch_size, length)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)
    y = (values * markers).sum(dim=1, keepdim=True)
    return x, y


def mean_predictor_mse(y) -> float:
    """MSE of always predicting 1 (the mean target of the adding problem) on targets ``y``."""
    y = torch.as_tensor(y, dtype=torch.float64)
    if y.numel() == 0:
        raise ValueError("y must not be empty")
    return float(((y - 1.0) ** 2).mean())


# --- copy memory ---------------------------------------------------------------------------------

BLANK, DELIMITER = 0, 1  # token ids; the symbols to remember are 2 .. n_symbols + 1


def copy_memory(
    batch_size: int,
    delay: int,
    *,
    n_symbols: int = 8,
    n_copy: int = 10,
    seed=None,
    generator=None,
):
    """A batch of the copy-memory task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

    Input tokens (batch, delay + 2·n_copy): ``n_copy`` random symbols (ids 2 .. n_symbols + 1),
    then ``delay − 1`` blanks (id 0), a delimiter (id 1), and ``n_copy`` blanks. Target tokens
    (same shape): blanks for ``delay + n_copy`` steps, then the ``n_copy`` symbols again. The
    memoryless strategy (blank, then uniform guesses) has the cross-entropy
    :func:`copy_memory_baseline`.
    """
    batch_size = _validate.positive_int(batch_size, "batch_size")
    delay = _validate.positive_int(delay, "delay")
    n_symbols = _validate.positive_int(n_symbols, "n_symbols")
    n_copy = _validate.positive_int(n_copy, "n_copy")
    gen = _generator(seed, generator)
    symbols = torch.randint(2, n_symbols + 2, (batch_size, n_copy), generator=gen)
    total = delay + 2 * n_copy
    x = torch.full((batch_size, total), BLANK, dtype=torch.long)
    x[:, :n_copy] = symbols
    x[:, delay + n_copy - 1] = DELIMITER
    y = torch.full((batch_size, total), BLANK, dtype=torch.long)
    y[:, delay + n_copy :] = symbols
    return x, y


def copy_memory_baseline(delay: int, *, n_symbols: int = 8, n_copy: int = 10) -> float:
    """Mean cross-entropy per step of the memoryless strategy: n_copy · ln(n_symbols) / (delay +
    2·n_copy). It predicts blank with certainty until the copy phase, then guesses uniformly."""
    delay = _validate.positive_int(delay, "delay")
    n_symbols = _validate.positive_int(n_symbols, "n_symbols")
    n_copy = _validate.positive_int(n_copy, "n_copy")
    return n_copy * math.log(n_symbols) / (delay + 2 * n_copy)


# --- sequence reversal ---------------------------------------------------------------------------


def reverse_sequence(batch_size: int, length: int, *, vocab: int = 16, seed=None, generator=None):
    """A batch of the reversal task: tokens (batch, length) drawn uniformly from 0 .. vocab − 1,
    targets the same tokens in reverse order, y[:, t] = x[:, length − 1 − t]. Every output
    position must attend to a different input position, so a model that ignores attention
    cannot beat the uniform guess, whose cross-entropy is :func:`reverse_sequence_baseline`."""
    batch_size = _validate.positive_int(batch_size, "batch_size")
    length = _validate.positive_int(length, "length")
    vocab = _validate.positive_int(vocab, "vocab")
    if vocab < 2:
        raise ValueError(
            f"vocab must be at least 2 (one token leaves nothing to learn), got {vocab}"
        )
    gen = _generator(seed, generator)
    x = torch.randint(0, vocab, (batch_size, length), generator=gen)
    return x, x.flip(1)


def reverse_sequence_baseline(vocab: int = 16) -> float:
    """Cross-entropy per token of the best prediction that ignores the input: ln(vocab) (the
    tokens are uniform and independent)."""
    return math.log(_validate.positive_int(vocab, "vocab"))
