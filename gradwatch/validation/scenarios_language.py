"""Character-level language models on synthetic "names": makemore's MLP (trained well, and with a
saturated tanh layer) and a tiny GPT with tied input/output embeddings.

The names come from a fixed random bigram (order-1 Markov) chain over 26 letters and "." (the end
mark), so the best possible loss is known: the chain's conditional entropy, estimated on the data.
Only the last character of makemore's 3-character context matters; a net must learn to use it.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._common import Outcome, batches, class_entropy, start

VOCAB = 27  # "." (0) and a-z


class Names:
    """Words from a random bigram chain: each character has its own peaked next-character
    distribution; words end at "." (and by 12 letters)."""

    def __init__(self, words: int = 4000, max_len: int = 12):
        g = torch.Generator().manual_seed(1234)  # the same language in every run
        gamma = torch.empty(VOCAB, VOCAB - 1).exponential_(generator=g) ** 4  # peaked
        p = torch.zeros(VOCAB, VOCAB)
        p[:, 1:] = 0.82 * gamma / gamma.sum(1, keepdim=True)
        p[:, 0] = 0.18
        p[0, 0], p[0, 1:] = 0.0, p[0, 1:] / 0.82  # a word has at least one letter
        self.p = p
        seqs = torch.zeros(words, max_len + 1, dtype=torch.long)
        prev = torch.zeros(words, dtype=torch.long)
        done = torch.zeros(words, dtype=torch.bool)
        for t in range(max_len):
            nxt = torch.multinomial(p[prev], 1, generator=g).squeeze(1)
            nxt[done] = 0
            seqs[:, t] = nxt
            done |= nxt == 0
            prev = nxt
        self.words = seqs  # a final "." ends words that reached max_len

    def examples(self, block: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
        """makemore's (context of ``block`` characters, next character) pairs of every word."""
        padded = F.pad(self.words, (block, 0))
        windows = padded.unfold(1, block + 1, 1)  # (words, positions, block + 1)
        first_end = (self.words == 0).float().argmax(1)
        keep = torch.arange(self.words.shape[1])[None, :] <= first_end[:, None]
        pairs = windows[keep]
        return pairs[:, :block], pairs[:, block]

    def floor(self, context: torch.Tensor, target: torch.Tensor) -> float:
        """Mean cross-entropy of the true chain on these examples: no model can do better."""
        return float(-self.p[context[:, -1], target].log().mean())


class CharMLP(nn.Module):
    """makemore part 2/3: embed the last 3 characters, one tanh hidden layer, logits."""

    def __init__(self, emb=10, hidden=200, block=3):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, emb)
        self.hidden = nn.Linear(block * emb, hidden)
        self.out = nn.Linear(hidden, VOCAB)

    def forward(self, idx):
        return self.out(torch.tanh(self.hidden(self.embed(idx).flatten(1))))


def _train_chars(model, make_monitor, opt, steps, sched=None, batch=64):
    names = Names()
    x, y = names.examples()
    data = batches(x, y, size=batch)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            xb, yb = next(data)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            monitor.record(loss)
            opt.step()
            if sched is not None:
                sched.step()
    return monitor, class_entropy(y, VOCAB)


def makemore_mlp(make_monitor, *, seed=0, steps=500):
    """makemore's MLP with Karpathy's fixed init (tanh gain 5/3 over √fan_in, a small output
    layer), Adam with a step decay of the learning rate: it reaches the language's entropy."""
    start(seed)
    model = CharMLP()
    with torch.no_grad():
        model.hidden.weight.mul_(5 / 3 * math.sqrt(3))  # default std 1/√(3 fan_in) → (5/3)/√fan_in
        model.hidden.bias.mul_(0.1)
        model.out.weight.mul_(0.1)
        model.out.bias.zero_()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    decay = torch.optim.lr_scheduler.MultiStepLR(opt, [int(0.6 * steps)], gamma=0.1)
    monitor, baseline = _train_chars(model, make_monitor, opt, steps, decay, batch=128)
    return Outcome(monitor, baseline)


def makemore_deep_small_gain(make_monitor, *, seed=0, steps=500, gain=0.5):
    """makemore part 3's deeper MLP (10 Linear + tanh layers of 100) initialised with
    ``randn · gain / √fan_in`` at gain 0.5 instead of tanh's 5/3, SGD lr=0.1 as in the lecture:
    each layer shrinks the signal and the gradient to about half."""
    start(seed)
    layers, width = [nn.Embedding(VOCAB, 10), nn.Flatten()], 30
    for _ in range(10):
        layer = nn.Linear(width, 100)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(100, width) * gain / math.sqrt(width))
            layer.bias.zero_()
        layers += [layer, nn.Tanh()]
        width = 100
    model = nn.Sequential(*layers, nn.Linear(100, VOCAB))
    with torch.no_grad():
        model[-1].weight.mul_(0.1)
        model[-1].bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor, baseline = _train_chars(model, make_monitor, opt, steps)
    return Outcome(monitor, baseline)


class TinyGPT(nn.Module):
    """A one-block nanoGPT-style causal transformer whose output layer is tied to the token
    embedding (``lm_head.weight = wte.weight``, as in GPT-2)."""

    def __init__(self, block=16, d=48, heads=4):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, d)
        self.wpe = nn.Embedding(block, d)
        self.h = nn.TransformerEncoderLayer(
            d, heads, 4 * d, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, VOCAB, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(block))
        for emb in (self.wte, self.wpe):  # nanoGPT's init; N(0, 1) would start at ~30 nats
            nn.init.normal_(emb.weight, std=0.02)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        x = self.h(x, src_mask=self.mask[:t, :t], is_causal=True)
        return self.lm_head(self.ln_f(x))


def name_stream(block: int = 16) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """The names written one after another ("emma.olivia.…"), cut into (input, next-token) chunks
    of ``block``; also the unigram baseline and the chain's entropy floor on those targets."""
    names = Names()
    keep = torch.ones_like(names.words, dtype=torch.bool)
    keep[:, 1:] = names.words[:, :-1] != 0  # each word up to and including its first "."
    stream = names.words[keep]
    n = (len(stream) - 1) // block * block
    x = stream[:n].view(-1, block)
    y = stream[1 : n + 1].view(-1, block)
    floor = float(-names.p[x.flatten(), y.flatten()].log().mean())
    return x, y, class_entropy(y, VOCAB), floor


def tied_embedding_gpt(make_monitor, *, seed=0, steps=400):
    """A tiny GPT with tied input/output embeddings trained (AdamW) on the stream of names: it
    learns the bigram statistics and levels off at the language's entropy."""
    start(seed)
    x, y, baseline, _ = name_stream()
    model = TinyGPT()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    data = batches(x, y, size=32)
    with make_monitor(model) as monitor:
        for _ in range(steps):
            xb, yb = next(data)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb).flatten(0, 1), yb.flatten())
            loss.backward()
            monitor.record(loss)
            opt.step()
    return Outcome(monitor, baseline)
