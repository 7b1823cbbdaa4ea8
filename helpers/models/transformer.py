"""A small transformer: a block with pre- or post-layer-norm residuals, and a stack.

A transformer block (Vaswani et al. 2017, "Attention is all you need") has two residual branches,
multi-head self-attention f_att and a two-layer MLP f_mlp(h) = W₂ GELU(W₁ h + b₁) + b₂, and puts
a layer norm LN on each. Where the norm sits decides how gradients flow through depth
(Xiong et al. 2020, "On layer normalization in the transformer architecture"):

* post-LN (the original): x ← LN(x + s·f(x)) after each branch. The norm sits on the residual
  path itself, so the gradient to early layers passes through every LN; at initialization the
  gradient near the output is large and warm-up is needed.
* pre-LN: x ← x + s·f(LN(x)). The identity path is untouched from the input to the output (a
  final LN is applied once, after the last block), so the gradient reaching early layers keeps
  a direct route, as in a residual network.

s is ``residual_scale`` (1 in both papers; a value below 1 shrinks every branch, a common way to
keep a deep stack's output variance from growing with depth).
"""

import torch
from torch import nn

from helpers import _validate

NORM_POSITIONS = ("pre", "post")


def _check_sizes(d_model, n_heads, d_ff) -> tuple[int, int, int]:
    d_model = _validate.positive_int(d_model, "d_model")
    n_heads = _validate.positive_int(n_heads, "n_heads")
    d_ff = _validate.positive_int(d_ff, "d_ff")
    if d_model % n_heads:
        raise ValueError(
            f"d_model must be divisible by n_heads (each head gets d_model / n_heads dimensions),"
            f" got d_model={d_model}, n_heads={n_heads}"
        )
    return d_model, n_heads, d_ff


def _check_scale(residual_scale) -> float:
    return _validate.nonnegative(residual_scale, "residual_scale")


def _check_dropout(dropout) -> float:
    dropout = _validate.nonnegative(dropout, "dropout")
    if dropout >= 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    return dropout


class TransformerBlock(nn.Module):
    """One transformer block on (batch, length, d_model): self-attention, then a GELU MLP.

    With s = ``residual_scale``, f_att(h) = MultiheadAttention(h, h, h) (``n_heads`` heads,
    ``batch_first=True``) and f_mlp(h) = W₂ GELU(W₁ h + b₁) + b₂ (width ``d_ff``):

    * ``norm_position="post"`` (Vaswani et al. 2017): x ← LN₁(x + s·f_att(x)),
      x ← LN₂(x + s·f_mlp(x))
    * ``norm_position="pre"`` (Xiong et al. 2020): x ← x + s·f_att(LN₁(x)),
      x ← x + s·f_mlp(LN₂(x))

    ``dropout`` applies to the attention weights and to each branch output before it is added.
    ``forward(x, attn_mask=None)``: an optional mask as for ``nn.MultiheadAttention`` (e.g.
    :func:`causal_mask`).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        norm_position: str = "pre",
        residual_scale: float = 1.0,
        dropout: float = 0.0,
    ):
        super().__init__()
        d_model, n_heads, d_ff = _check_sizes(d_model, n_heads, d_ff)
        self.norm_position = _validate.choice(norm_position, NORM_POSITIONS, "norm_position")
        self.residual_scale = _check_scale(residual_scale)
        dropout = _check_dropout(dropout)
        self.attention = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def attention_branch(self, h, attn_mask=None):
        """f_att(h): self-attention of h on itself (dropout included), shape of h."""
        out, _ = self.attention(h, h, h, attn_mask=attn_mask, need_weights=False)
        return self.dropout(out)

    def mlp_branch(self, h):
        """f_mlp(h) = W₂ GELU(W₁ h + b₁) + b₂ (dropout included), shape of h."""
        return self.dropout(self.mlp(h))

    def forward(self, x, attn_mask=None):
        s = self.residual_scale
        if self.norm_position == "post":
            x = self.norm1(x + s * self.attention_branch(x, attn_mask))
            return self.norm2(x + s * self.mlp_branch(x))
        x = x + s * self.attention_branch(self.norm1(x), attn_mask)
        return x + s * self.mlp_branch(self.norm2(x))


def causal_mask(length: int) -> torch.Tensor:
    """A (length, length) boolean mask, True above the diagonal: position t attends to ≤ t only."""
    length = _validate.positive_int(length, "length")
    return torch.ones(length, length, dtype=torch.bool).triu(1)


class TransformerStack(nn.Module):
    """Token ids (batch, length) → logits (batch, length, vocab).

    h₀ = E[token] + P[position] (learned token and position embeddings, Vaswani et al. 2017
    §3.4–3.5 use fixed sinusoids; learned positions are the common alternative), then ``depth``
    :class:`TransformerBlock` s, then a final LayerNorm for pre-LN (a post-LN block already ends
    with one; Xiong et al. 2020), then a linear readout to ``vocab`` logits. With ``causal`` each
    position sees only itself and earlier positions.
    """

    def __init__(self, depth, d_model, n_heads, d_ff, vocab, max_len, norm_position,
                 residual_scale, dropout, causal):  # fmt: skip
        super().__init__()
        self.vocab, self.max_len, self.causal = vocab, max_len, causal
        self.token_embedding = nn.Embedding(vocab, d_model)
        self.position_embedding = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_heads, d_ff, norm_position=norm_position,
                             residual_scale=residual_scale, dropout=dropout)
            for _ in range(depth)
        )  # fmt: skip
        self.final_norm = nn.LayerNorm(d_model) if norm_position == "pre" else nn.Identity()
        self.readout = nn.Linear(d_model, vocab)

    def forward(self, tokens):
        if not isinstance(tokens, torch.Tensor) or tokens.dtype not in (torch.long, torch.int):
            raise TypeError("tokens must be an integer tensor of shape (batch, length)")
        if tokens.ndim != 2:
            raise ValueError(f"tokens must have shape (batch, length), got {tuple(tokens.shape)}")
        length = tokens.shape[1]
        if not 1 <= length <= self.max_len:
            raise ValueError(f"sequence length {length} is not in 1 .. max_len={self.max_len}")
        if tokens.numel() and (tokens.min() < 0 or tokens.max() >= self.vocab):
            raise ValueError(f"token ids must be in 0 .. vocab - 1 = {self.vocab - 1}")
        positions = torch.arange(length, device=tokens.device)
        h = self.token_embedding(tokens) + self.position_embedding(positions)
        mask = causal_mask(length).to(tokens.device) if self.causal else None
        for block in self.blocks:
            h = block(h, attn_mask=mask)
        return self.readout(self.final_norm(h))


def transformer_stack(
    depth: int,
    d_model: int = 32,
    n_heads: int = 4,
    d_ff: int = 64,
    *,
    vocab: int = 16,
    max_len: int = 64,
    norm_position: str = "pre",
    residual_scale: float = 1.0,
    dropout: float = 0.0,
    causal: bool = False,
    seed: int | None = None,
) -> TransformerStack:
    """A :class:`TransformerStack` of ``depth`` blocks mapping token ids (batch, length) to logits
    (batch, length, vocab).

    Each block is x ← LN(x + s·f(x)) per branch for ``norm_position="post"`` (Vaswani et al.
    2017) or x ← x + s·f(LN(x)) for ``"pre"`` (Xiong et al. 2020, with a final LayerNorm after
    the last block), s = ``residual_scale``. Weights are PyTorch's defaults, drawn from ``seed``
    when given (the global random state is then left untouched; the same seed gives identical
    weights), else from the global generator.
    """
    depth = _validate.positive_int(depth, "depth")
    d_model, n_heads, d_ff = _check_sizes(d_model, n_heads, d_ff)
    vocab = _validate.positive_int(vocab, "vocab")
    max_len = _validate.positive_int(max_len, "max_len")
    norm_position = _validate.choice(norm_position, NORM_POSITIONS, "norm_position")
    residual_scale = _check_scale(residual_scale)
    dropout = _check_dropout(dropout)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be an integer >= 0 or None, got {seed!r}")
    arguments = (depth, d_model, n_heads, d_ff, vocab, max_len, norm_position, residual_scale,
                 dropout, bool(causal))  # fmt: skip
    if seed is None:
        return TransformerStack(*arguments)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TransformerStack(*arguments)


__all__ = ["NORM_POSITIONS", "TransformerBlock", "TransformerStack", "causal_mask",
           "transformer_stack"]  # fmt: skip
