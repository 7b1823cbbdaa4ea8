"""Sequence scenarios: recurrent nets on a long time lag, and transformer encoders on token tasks.

The long-lag task: a sequence of ``T`` one-hot tokens whose first token (0-3) is the label and
whose other tokens are distractors (4-7); the net must carry the first token to the last step.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._common import Outcome, class_entropy, start


def long_lag(n: int, length: int, noise: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot sequences (n, length, 8) and their labels: the first token's class, replaced by a
    random class with probability ``noise`` (then the loss cannot go below :func:`noise_floor`)."""
    tokens = torch.randint(4, 8, (n, length))
    y = torch.randint(0, 4, (n,))
    tokens[:, 0] = y
    if noise:
        y = torch.where(torch.rand(n) < noise, torch.randint(0, 4, (n,)), y)
    return F.one_hot(tokens, 8).float(), y


def noise_floor(noise: float, classes: int) -> float:
    """The least cross-entropy when a label is replaced by a uniform random one w.p. ``noise``."""
    right = 1 - noise + noise / classes
    wrong = noise / classes
    return -(right * math.log(right) + (classes - 1) * wrong * math.log(wrong))


class RecurrentClassifier(nn.Module):
    """An nn.RNN/nn.LSTM over the sequence and a linear head on the last hidden state."""

    def __init__(self, kind="rnn", hidden=32, nonlinearity="tanh", lag=60):
        super().__init__()
        if kind == "lstm":
            self.rnn = nn.LSTM(8, hidden, batch_first=True)
            with torch.no_grad():  # chrono init (Tallec & Ollivier 2018): b_f ~ log U(1, lag-1)
                b_f = torch.log(torch.empty(hidden).uniform_(1, lag - 1))
                self.rnn.bias_ih_l0[:hidden].copy_(-b_f)  # input gate
                self.rnn.bias_ih_l0[hidden : 2 * hidden].copy_(b_f)  # forget gate
                self.rnn.bias_hh_l0[: 2 * hidden].zero_()
        else:
            self.rnn = nn.RNN(8, hidden, batch_first=True, nonlinearity=nonlinearity)
        self.head = nn.Linear(hidden, 4)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _train_lag(model, make_monitor, opt, steps, length, batch=32, clip=None, noise=0.0):
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = long_lag(batch, length, noise)
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            monitor.record(loss)
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
    return monitor


def rnn_long_lag(make_monitor, *, seed=0, steps=300, length=60):
    """A vanilla tanh nn.RNN (default init, Adam) that must remember the first of 60 tokens: the
    gradient through 60 steps of a contracting recurrence is ~0, so it stays at ln 4."""
    start(seed)
    model = RecurrentClassifier("rnn")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    monitor = _train_lag(model, make_monitor, opt, steps, length)
    return Outcome(monitor, class_entropy(long_lag(20000, 2)[1], 4))


def lstm_long_lag(make_monitor, *, seed=0, steps=500, length=60, noise=0.05):
    """The same task, 5% of labels random, with an nn.LSTM (chrono-initialised gates, Adam,
    clipping at 1): the cell state carries the gradient back 60 steps, the net learns to remember
    the first token, and the loss settles at the label-noise floor."""
    start(seed)
    model = RecurrentClassifier("lstm", lag=length)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    monitor = _train_lag(model, make_monitor, opt, steps, length, clip=1.0, noise=noise)
    return Outcome(monitor, class_entropy(long_lag(20000, 2, noise)[1], 4))


def rnn_large_recurrent(make_monitor, *, seed=0, steps=200, length=40, gain=1.5):
    """A ReLU nn.RNN whose recurrent matrix was initialised to 1.5·I (an IRNN with the wrong
    scale), no gradient clipping: the hidden state and its gradient grow ~1.5⁴⁰ over 40 steps."""
    start(seed)
    model = RecurrentClassifier("rnn", nonlinearity="relu")
    with torch.no_grad():
        model.rnn.weight_hh_l0.copy_(gain * torch.eye(32))
        model.rnn.bias_hh_l0.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    monitor = _train_lag(model, make_monitor, opt, steps, length)
    return Outcome(monitor, class_entropy(long_lag(20000, 2)[1], 4))


class TokenEncoder(nn.Module):
    """Token + learned position embeddings, a TransformerEncoder, a per-position output layer."""

    def __init__(self, vocab=10, length=8, d=32, layers=2, norm_first=True):
        super().__init__()
        self.tokens = nn.Embedding(vocab, d)
        self.positions = nn.Parameter(0.02 * torch.randn(length, d))  # ViT-style
        layer = nn.TransformerEncoderLayer(
            d, nhead=4, dim_feedforward=4 * d, dropout=0.0, batch_first=True, norm_first=norm_first
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d) if norm_first else nn.Identity()  # pre-LN needs a final LN
        self.out = nn.Linear(d, vocab)

    def forward(self, idx):
        h = self.encoder(self.tokens(idx) + self.positions)
        return self.out(self.norm(h))


def _sorted_tokens(n: int, noise: float = 0.0, vocab: int = 10):
    """Random 8-token sequences and their sorted versions, each target token replaced by a random
    one with probability ``noise``."""
    x = torch.randint(0, vocab, (n, 8))
    y = x.sort(1).values
    if noise:
        y = torch.where(torch.rand(y.shape) < noise, torch.randint(0, vocab, y.shape), y)
    return x, y


def _train_tokens(model, make_monitor, opt, steps, noise=0.0, sched=None, batch=64):
    with make_monitor(model) as monitor:
        for _ in range(steps):
            x, y = _sorted_tokens(batch, noise)
            opt.zero_grad()
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            loss.backward()
            monitor.record(loss)
            opt.step()
            if sched is not None:
                sched.step()
    return monitor


def pre_ln_transformer_sort(make_monitor, *, seed=0, steps=200):
    """A 2-layer pre-LN transformer encoder (AdamW lr=1e-3) learning to sort 8 tokens, stopped
    after 200 steps while it is still improving fast."""
    start(seed)
    model = TokenEncoder(norm_first=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    monitor = _train_tokens(model, make_monitor, opt, steps)
    return Outcome(monitor, class_entropy(_sorted_tokens(4000)[1], 10))


def post_ln_transformer_sort(make_monitor, *, seed=0, steps=300, noise=0.1):
    """A 2-layer post-LN transformer encoder (the original layout, Adam with linear warm-up)
    sorting 8 tokens whose targets are 10% random: it learns the sort and then sits at the
    label-noise floor."""
    start(seed)
    model = TokenEncoder(norm_first=False)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50))
    monitor = _train_tokens(model, make_monitor, opt, steps, noise, sched)
    return Outcome(monitor, class_entropy(_sorted_tokens(4000, noise)[1], 10))
