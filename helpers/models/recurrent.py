"""The recurrent model family of notebook 09: a tanh RNN, an LSTM, a GRU and a linear RNN.

Every model is a :class:`RecurrentNet`: one recurrent layer over the sequence, then a linear
readout of the last hidden state. :func:`make_model` builds one from a seed (with an optional
orthogonal W_hh of a chosen spectral radius, or an LSTM forget-gate bias); :func:`cell_step`
writes the cell equations out (Elman 1990; Hochreiter & Schmidhuber 1997; Gers, Schmidhuber &
Cummins 2000; Cho et al. 2014), and ``RecurrentNet.unroll`` uses it so that
:func:`helpers.recurrent.gradient_vs_lag` can differentiate with respect to every state.
"""

import math

import torch
from torch import nn

from helpers import _validate

KINDS = ("rnn", "lstm", "gru", "linear")


class LinearRNN(nn.RNN):
    """h_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh: an Elman RNN without a nonlinearity.

    Same parameters (``weight_ih_l0``, ``weight_hh_l0``, ...) as a one-layer ``nn.RNN``, so
    every tool that handles ``nn.RNN`` handles it; only the forward pass differs (a plain loop).
    Its BPTT gradient is exactly (W_hhᵀ)^k ∂L/∂h_T, the clean case of the theory.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, batch_first=True)

    def forward(self, input, hx=None):  # the argument names of nn.RNN.forward
        h = input.new_zeros(input.shape[0], self.hidden_size) if hx is None else hx[0]
        outputs = []
        for t in range(input.shape[1]):
            h = cell_step("linear", self, input[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h.unsqueeze(0)


_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU, "linear": LinearRNN}


class RecurrentNet(nn.Module):
    """One recurrent layer over the sequence, then a linear readout of the last hidden state.

    ``forward(x)`` takes x of shape (batch, T, input_size) and returns (batch, output_size),
    using PyTorch's fused ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` for speed. ``unroll(x)`` runs the
    same computation one step at a time with :func:`cell_step` and returns every state, which
    is what :func:`gradient_vs_lag` differentiates.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.kind = kind
        if kind == "linear":
            self.rnn = LinearRNN(input_size, hidden_size)
        else:
            self.rnn = _MODULES[kind](input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)

    @property
    def hidden_size(self) -> int:
        return self.rnn.hidden_size

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.readout(out[:, -1])

    def unroll(self, x) -> tuple[list, list | None]:
        """All hidden states h_1 .. h_T (and cell states c_1 .. c_T for the LSTM, else None),
        each of shape (batch, hidden), from h_0 = c_0 = 0."""
        h = x.new_zeros(x.shape[0], self.hidden_size)
        c = h if self.kind == "lstm" else None
        hs, cs = [], []
        for t in range(x.shape[1]):
            if self.kind == "lstm":
                h, c = cell_step("lstm", self.rnn, x[:, t], (h, c))
                cs.append(c)
            else:
                h = cell_step(self.kind, self.rnn, x[:, t], h)
            hs.append(h)
        return hs, (cs if self.kind == "lstm" else None)


def cell_step(kind: str, rnn: nn.Module, x_t, state):
    """One time step of ``rnn`` (a one-layer nn.RNN / nn.LSTM / nn.GRU), written out.

    With p_t = W_ih x_t + b_ih (from the input) and q_t = W_hh h_{t−1} + b_hh (from the state),
    split into gates in PyTorch's order:

    * rnn:    h_t = tanh(p_t + q_t)
    * linear: h_t = p_t + q_t
    * lstm (Hochreiter & Schmidhuber 1997; forget gate: Gers, Schmidhuber & Cummins 2000):
      [i, f, g, o] = p_t + q_t split in four; i, f, o pass through σ, g through tanh;
      c_t = f ⊙ c_{t−1} + i ⊙ g   (the additive cell update: ∂c_t/∂c_{t−1} = diag(f) directly)
      h_t = o ⊙ tanh(c_t)
    * gru (Cho et al. 2014): [r, z, n] split in three;
      r = σ(p_r + q_r), z = σ(p_z + q_z), n = tanh(p_n + r ⊙ q_n),
      h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    ``state`` is h_{t−1}, or (h_{t−1}, c_{t−1}) for the LSTM; returns the new state likewise.
    """
    h = state[0] if kind == "lstm" else state
    p = x_t @ rnn.weight_ih_l0.T + rnn.bias_ih_l0
    q = h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
    if kind == "rnn":
        return torch.tanh(p + q)
    if kind == "linear":
        return p + q
    if kind == "lstm":
        i, f, g, o = (p + q).chunk(4, dim=-1)
        c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    p_r, p_z, p_n = p.chunk(3, dim=-1)
    q_r, q_z, q_n = q.chunk(3, dim=-1)
    r = torch.sigmoid(p_r + q_r)
    z = torch.sigmoid(p_z + q_z)
    n = torch.tanh(p_n + r * q_n)
    return (1 - z) * n + z * h


def scaled_orthogonal(size: int, radius: float, generator: torch.Generator) -> torch.Tensor:
    """radius · Q with Q a random orthogonal matrix (QR of a Gaussian, signs fixed so Q is Haar).

    Every singular value and every eigenvalue modulus of the result equals ``radius``, so the
    spectral radius and the largest singular value coincide: the clean case for Pascanu et al.'s
    condition, which is stated for the largest singular value.
    """
    q, r = torch.linalg.qr(torch.randn(size, size, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    return radius * q


def make_model(
    kind: str,
    *,
    hidden_size: int = 32,
    input_size: int = 2,
    output_size: int = 1,
    spectral_radius: float | None = None,
    forget_bias: float | None = 1.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> RecurrentNet:
    """A :class:`RecurrentNet` of ``kind`` ("rnn" = tanh RNN, "lstm", "gru", "linear").

    Weights start from PyTorch's default, U(±1/√hidden_size), drawn from ``seed`` (the global
    random state is left untouched). Then:

    * spectral_radius (rnn and linear only): W_hh = spectral_radius · Q, Q random orthogonal
      (:func:`scaled_orthogonal`). Left as None, the default init gives W_hh a spectral radius
      near 1/√3 ≈ 0.58 (circular law for entries of variance 1/(3·hidden_size)).
    * forget_bias (lstm only): the forget gate's total bias b_ih + b_hh is set to this value
      (1 by default, as advised by Gers et al. 2000 and Jozefowicz et al. 2015), so the gate
      starts near σ(1) ≈ 0.73 rather than 0.5; None keeps PyTorch's random bias.
    """
    kind = _validate.choice(kind, KINDS, "kind")
    hidden_size = _validate.positive_int(hidden_size, "hidden_size")
    input_size = _validate.positive_int(input_size, "input_size")
    output_size = _validate.positive_int(output_size, "output_size")
    if spectral_radius is not None:
        if kind not in ("rnn", "linear"):
            raise ValueError(
                f"spectral_radius applies to kind 'rnn' or 'linear', not {kind!r} "
                "(gated cells stack several matrices in weight_hh)"
            )
        spectral_radius = _validate.nonnegative(spectral_radius, "spectral_radius")
    if forget_bias is not None:
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, int | float):
            raise TypeError(f"forget_bias must be a number or None, got {forget_bias!r}")
        if not math.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be finite, got {forget_bias!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RecurrentNet(kind, input_size, hidden_size, output_size).to(dtype)
    with torch.no_grad():
        if spectral_radius is not None:
            gen = torch.Generator().manual_seed(seed)
            model.rnn.weight_hh_l0.copy_(scaled_orthogonal(hidden_size, spectral_radius, gen))
        if kind == "lstm" and forget_bias is not None:
            forget = slice(hidden_size, 2 * hidden_size)  # gate order i, f, g, o
            model.rnn.bias_ih_l0[forget] = forget_bias
            model.rnn.bias_hh_l0[forget] = 0.0
    return model
