"""Depth in a transformer: per-block gradients, post-LN versus pre-LN, warm-up, residual scaling
and clipping, measured on the sequence-reversal task (notebook 10).

The stack is :func:`helpers.models.transformer.transformer_stack`: token and position embeddings,
``depth`` blocks on the residual stream h, a readout to logits. Each block has two branches f
(self-attention, then an MLP), each added to the stream with a scale s:

* post-LN (Vaswani et al. 2017, "Attention is all you need"): h ← LN(h + s·f(h)). The layer norm
  sits on the residual path, so the gradient reaching block 1 passes through 2·depth layer norms.
* pre-LN (Xiong et al. 2020, "On layer normalization in the transformer architecture"):
  h ← h + s·f(LN(h)), one final LN before the readout. The identity path runs untouched from the
  embedding to the final LN.

Xiong et al. show that at initialization post-LN's gradients are largest near the output, so
Adam at a large learning rate without a warm-up of the learning rate wrecks the first steps;
pre-LN trains without warm-up. In the course's small stack (6 blocks, d_model 32, PyTorch's
default initialization) both profiles are flat at initialization, post-LN's 1.5–2× higher; the
failure shows during training: after Adam's first full-size steps (each parameter moves by about
lr), the gradient reaching post-LN's first block vanishes and the loss stays at the baseline.

Residual scaling shrinks each branch: GPT-2 (Radford et al. 2019)
scales the residual output layers by 1/√N at initialization, N = 2·depth residual branches;
ReZero (Bachlechner et al. 2021) starts each branch at s = 0 and learns s; DeepNorm (Wang et al.
2022) up-weights the stream in post-LN, LN(α·h + f(h)), which for the forward pass is
LN(h + f(h)/α), a residual scale s = 1/α. Here s is a constant, not a learned parameter.

The task: :func:`helpers.data.reverse_sequence` (targets are the tokens in reverse order). A model
that ignores its input scores the baseline ln(vocab) nats per token
(:func:`helpers.data.reverse_sequence_baseline`), ln 16 ≈ 2.77 for the default vocabulary.
"""

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from helpers import _validate
from helpers.course import course_threads, progress
from helpers.data import sequences
from helpers.models.transformer import NORM_POSITIONS, TransformerStack, transformer_stack

__all__ = [
    "HELDOUT_SEED",
    "InitProfile",
    "ReverseRun",
    "heldout_batch",
    "block_gradient_norms",
    "block_parameters",
    "gpt2_residual_scale",
    "gradient_ratio",
    "init_profile",
    "residual_scaling_profiles",
    "stream_norms",
    "train_reverse",
    "warmup_experiment",
    "WARMUP_SETTING",
    "warmup_factor",
    "warmup_scheduler",
]

HELDOUT_SEED = 10_000  # the fixed held-out batch; training batches use DATA_SEED_OFFSET + seed
DATA_SEED_OFFSET = 1_000
HELDOUT_SIZE = 512  # held-out sequences
DATA_BLOCK = 50  # training batches drawn per call to the generator
LONG_RUN = 200  # steps from which one run shows its own progress bar


def _check_model(model) -> TransformerStack:
    if not isinstance(model, TransformerStack):
        raise TypeError(
            "model must be a TransformerStack (from helpers.models.transformer.transformer_stack),"
            f" got {type(model).__name__}"
        )
    return model


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return seed


def _check_batch(tokens, targets, model: TransformerStack):
    for name, value in (("tokens", tokens), ("targets", targets)):
        if not isinstance(value, torch.Tensor) or value.dtype not in (torch.long, torch.int):
            raise TypeError(f"{name} must be an integer tensor of shape (batch, length)")
    if tokens.ndim != 2 or targets.shape != tokens.shape:
        raise ValueError(
            "tokens and targets must have the same shape (batch, length), got "
            f"tokens {tuple(tokens.shape)} and targets {tuple(targets.shape)}"
        )
    if targets.numel() and (targets.min() < 0 or targets.max() >= model.vocab):
        raise ValueError(f"targets must be token ids in 0 .. vocab - 1 = {model.vocab - 1}")
    return tokens.long(), targets.long()


def _cross_entropy(model: TransformerStack, tokens, targets) -> torch.Tensor:
    """Mean cross-entropy per token: −(1/BT) Σ_{b,t} log softmax(logits[b, t])[y_{b,t}]."""
    logits = model(tokens)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


# --- per-block gradients -------------------------------------------------------------------------


def block_parameters(model) -> list[list[nn.Parameter]]:
    """The parameters of each block, first block first: attention, MLP and both layer norms."""
    return [list(block.parameters()) for block in _check_model(model).blocks]


def _norms_by_block(grads_by_block) -> np.ndarray:
    """‖g_b‖ = √(Σ_{p in block b} ‖∂L/∂p‖²) for each block, in float64."""
    out = []
    for grads in grads_by_block:
        squares = sum(float(torch.sum(g.detach().double() ** 2)) for g in grads if g is not None)
        out.append(math.sqrt(squares))
    return np.array(out, dtype=np.float64)


def block_gradient_norms(model, tokens, targets) -> np.ndarray:
    """Per block b, the L2 norm of the gradient of the cross-entropy with respect to all of that
    block's parameters taken as one vector: ‖∂L/∂θ_b‖ = √(Σ_{p ∈ θ_b} ‖∂L/∂p‖²), first block
    first, for one loss L = mean over tokens of −log softmax(logits)[target] on this batch at
    the current weights.

    The model is left as it was: the gradients come from ``torch.autograd.grad``, so no
    parameter's ``.grad`` is created or changed, and train/eval mode is kept (use a model without
    dropout, or call ``model.eval()`` first, for a deterministic answer). Xiong et al. (2020,
    figure 3) plot this profile: rising towards the output for post-LN at initialization, flat
    or falling for pre-LN (in the course's 6-block stack both are flat at initialization).
    """
    model = _check_model(model)
    tokens, targets = _check_batch(tokens, targets, model)
    params = block_parameters(model)
    flat = [p for block in params for p in block]
    loss = _cross_entropy(model, tokens, targets)
    grads = torch.autograd.grad(loss, flat, allow_unused=True)
    by_block, start = [], 0
    for block in params:
        by_block.append(grads[start : start + len(block)])
        start += len(block)
    return _norms_by_block(by_block)


def gradient_ratio(norms) -> float:
    """‖∂L/∂θ_last‖ ÷ ‖∂L/∂θ_first‖ from a per-block profile (first block first): above 1 the
    gradient shrinks on its way back to the first block (large: it has vanished there), below 1
    the first block gets more than the last. inf when the first block's gradient is exactly 0."""
    norms = _validate.real_array(norms, "norms").ravel()
    if norms.size < 1:
        raise ValueError("norms is empty; pass one gradient norm per block")
    if not (norms >= 0).all():
        raise ValueError("norms must be gradient norms, >= 0 (and not NaN)")
    if norms[0] == 0:
        if norms[-1] == 0:
            raise ValueError("norms: the first and last blocks both have a zero gradient")
        return math.inf  # nothing at all reaches the first block
    return float(norms[-1] / norms[0])


def stream_norms(model, tokens) -> np.ndarray:
    """RMS of the residual stream, √(mean over batch, positions and features of h²), after the
    embedding (entry 0) and after each block (entries 1 .. depth). For pre-LN each block adds
    s·f(LN(h)), so with independent branches Var(h_L) ≈ Var(h_0) + 2L·s²·Var(f) grows with
    depth unless s shrinks (GPT-2's 1/√(2L)); for post-LN every block ends in a LayerNorm, so
    the RMS is about 1 after every block (γ = 1, β = 0 at initialization)."""
    model = _check_model(model)
    if not isinstance(tokens, torch.Tensor) or tokens.dtype not in (torch.long, torch.int):
        raise TypeError("tokens must be an integer tensor of shape (batch, length)")
    rms = []
    hooks = [
        block.register_forward_hook(lambda m, i, out: rms.append(_rms(out)))
        for block in model.blocks
    ]
    try:
        with torch.no_grad():
            positions = torch.arange(tokens.shape[1])
            h0 = model.token_embedding(tokens) + model.position_embedding(positions)
            model(tokens)
    finally:
        for hook in hooks:
            hook.remove()
    return np.array([_rms(h0), *rms], dtype=np.float64)


def _rms(h: torch.Tensor) -> float:
    return float(torch.sqrt(torch.mean(h.detach().double() ** 2)))


# --- the warm-up schedule ------------------------------------------------------------------------


def warmup_factor(step: int, warmup_steps: int) -> float:
    """The learning-rate multiplier of linear warm-up at optimizer step ``step`` (0, 1, 2, ...):
    min(1, (step + 1) / warmup_steps), so the first step uses lr/W, step W − 1 and later the
    peak lr; ``warmup_steps = 0`` means no warm-up (always 1). Vaswani et al. (2017, §5.3) warm
    up linearly for 4000 steps then decay as 1/√step; here there is no decay."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an integer >= 0, got {step!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be an integer >= 0, got {warmup_steps!r}")
    if warmup_steps == 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)


def warmup_scheduler(optimizer, warmup_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` that multiplies the optimizer's learning rate by :func:`warmup_factor`:
    after k calls to ``scheduler.step()`` the learning rate is lr · min(1, (k + 1)/W). Call
    ``scheduler.step()`` once after each ``optimizer.step()``."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer)}")
    warmup_factor(0, warmup_steps)  # validates warmup_steps
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: warmup_factor(k, warmup_steps))


# --- training on the reversal task ---------------------------------------------------------------


@dataclass(frozen=True)
class ReverseRun:
    """One seeded Adam run of a transformer stack on sequence reversal.

    losses         training cross-entropy of each step, before its update (steps run,)
    lrs            learning rate used at each step (the warm-up schedule)
    global_norms   global gradient norm of each step before clipping (steps run,)
    block_norms    per-block gradient norms of each step before clipping (steps run, depth);
                   row 0 is the profile at initialization on the first training batch
    update_norms   ‖θ_after − θ_before‖ of each step's update, all parameters (steps run,)
    clipped        how many steps clipping engaged (global norm above ``clip``; 0 without clip)
    diverged       the training loss became NaN or infinite and training stopped there
    heldout_loss   cross-entropy per token on the fixed held-out batch after training (inf for a
                   diverged run)
    heldout_accuracy  share of held-out tokens predicted correctly (0 for a diverged run)
    baseline       ln(vocab), the loss of ignoring the input
    seconds        wall time of the run
    monitor        the :class:`helpers.monitor.GradientMonitor` (``every=1``) that recorded every
                   step right after ``backward``, before clipping; None unless asked for
    """

    norm_position: str
    depth: int
    lr: float
    warmup_steps: int
    steps: int
    seed: int
    residual_scale: float
    clip: float | None
    losses: np.ndarray
    lrs: np.ndarray
    global_norms: np.ndarray
    block_norms: np.ndarray
    update_norms: np.ndarray
    clipped: int
    diverged: bool
    heldout_loss: float
    heldout_accuracy: float
    baseline: float
    seconds: float
    monitor: object = None

    @property
    def relative_loss(self) -> float:
        """Held-out loss ÷ baseline: about 1 for a run that learned nothing, inf if diverged."""
        return self.heldout_loss / self.baseline

    @property
    def init_norms(self) -> np.ndarray:
        """Per-block gradient norms at initialization (step 0, first training batch)."""
        return self.block_norms[0]

    def gradient_ratio(self, step: int = -1) -> float:
        """Last block's ÷ first block's gradient norm at ``step`` (:func:`gradient_ratio`)."""
        if isinstance(step, bool) or not isinstance(step, int):
            raise TypeError(f"step must be an integer, got {step!r}")
        if not -len(self.block_norms) <= step < len(self.block_norms):
            raise ValueError(f"step must be in 0 .. {len(self.block_norms) - 1}, got {step}")
        return gradient_ratio(self.block_norms[step])

    @property
    def late_gradient_ratio(self) -> float:
        """Median of :meth:`gradient_ratio` over the last 10 steps run (fewer if the run is
        shorter): one step's ratio jumps around, the median says where the run has settled."""
        last = range(max(len(self.block_norms) - 10, 0), len(self.block_norms))
        return float(np.median([self.gradient_ratio(t) for t in last]))

    @property
    def clipped_fraction(self) -> float:
        """Share of the steps run on which clipping engaged."""
        return self.clipped / max(len(self.losses), 1)


def _batches(batch_size: int, length: int, vocab: int, seed: int):
    """Endless fresh training batches from one generator seeded with DATA_SEED_OFFSET + seed."""
    gen = torch.Generator().manual_seed(DATA_SEED_OFFSET + seed)
    while True:
        x, y = sequences.reverse_sequence(
            DATA_BLOCK * batch_size, length, vocab=vocab, generator=gen
        )
        yield from zip(x.split(batch_size), y.split(batch_size), strict=True)


def heldout_batch(length: int, vocab: int = 16):
    """The fixed held-out batch: HELDOUT_SIZE reversal sequences from HELDOUT_SEED."""
    return sequences.reverse_sequence(HELDOUT_SIZE, length, vocab=vocab, seed=HELDOUT_SEED)


def _evaluate(model, length: int, vocab: int) -> tuple[float, float]:
    tokens, targets = heldout_batch(length, vocab)
    with torch.no_grad():
        logits = model(tokens)
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
        accuracy = (logits.argmax(-1) == targets).double().mean()
    return float(loss), float(accuracy)


def train_reverse(
    norm_position: str,
    depth: int,
    *,
    lr: float,
    warmup_steps: int,
    steps: int,
    seed: int,
    residual_scale: float = 1.0,
    batch_size: int = 32,
    length: int = 8,
    clip: float | None = None,
    d_model: int = 32,
    n_heads: int = 4,
    d_ff: int = 64,
    vocab: int = 16,
    monitor: bool = False,
) -> ReverseRun:
    """Train ``transformer_stack(depth, d_model, n_heads, d_ff, norm_position=...,
    residual_scale=..., seed=seed)`` with Adam for ``steps`` steps on fresh reversal batches.

    Step t: draw a batch (seeded by ``seed``), L = mean cross-entropy per token, backward, record
    the per-block and global gradient norms, clip by global norm to ``clip`` if given
    (``torch.nn.utils.clip_grad_norm_``: g ← g · min(1, clip/‖g‖); counted when ‖g‖ > clip), Adam
    step at lr_t = lr · min(1, (t + 1)/``warmup_steps``) (:func:`warmup_factor`; 0 = no warm-up).
    A NaN or infinite loss ends the run (``diverged``). With ``monitor=True`` a
    :class:`helpers.monitor.GradientMonitor` records every step after ``backward`` (before
    clipping); it only reads, so the run is the same with or without it. The held-out loss and
    accuracy are measured on :func:`heldout_batch` after training. Runs with torch
    single-threaded (or ``VG_THREADS``). Results are cached per process: the same arguments give
    the same :class:`ReverseRun` object (treat it as read-only).
    """
    norm_position = _validate.choice(norm_position, NORM_POSITIONS, "norm_position")
    depth = _validate.positive_int(depth, "depth")
    lr = _validate.positive(lr, "lr")
    warmup_factor(0, warmup_steps)  # validates warmup_steps
    steps = _validate.positive_int(steps, "steps")
    seed = _check_seed(seed)
    residual_scale = _validate.nonnegative(residual_scale, "residual_scale")
    batch_size = _validate.positive_int(batch_size, "batch_size")
    length = _validate.positive_int(length, "length")
    if clip is not None:
        clip = _validate.positive(clip, "clip")
    sizes = (
        _validate.positive_int(d_model, "d_model"),
        _validate.positive_int(n_heads, "n_heads"),
        _validate.positive_int(d_ff, "d_ff"),
        _validate.positive_int(vocab, "vocab"),
    )
    if not isinstance(monitor, bool):
        raise TypeError(f"monitor must be True or False, got {monitor!r}")
    return _train_reverse(
        norm_position,
        depth,
        lr,
        warmup_steps,
        steps,
        seed,
        residual_scale,
        batch_size,
        length,
        clip,
        *sizes,
        monitor,
    )


@lru_cache(maxsize=128)
def _train_reverse(
    norm_position,
    depth,
    lr,
    warmup_steps,
    steps,
    seed,
    residual_scale,
    batch_size,
    length,
    clip,
    d_model,
    n_heads,
    d_ff,
    vocab,
    use_monitor=False,
) -> ReverseRun:
    with course_threads():
        start = time.perf_counter()
        model = transformer_stack(
            depth,
            d_model,
            n_heads,
            d_ff,
            vocab=vocab,
            max_len=max(length, 1),
            norm_position=norm_position,
            residual_scale=residual_scale,
            seed=seed,
        )
        watcher = None
        if use_monitor:
            from helpers.monitor import GradientMonitor

            watcher = GradientMonitor(model, every=1)
        batches = _batches(batch_size, length, vocab, seed)
        record = _loop(model, lr, warmup_steps, steps, clip, batches, monitor=watcher)
        diverged = record["diverged"]
        loss, accuracy = (math.inf, 0.0) if diverged else _evaluate(model, length, vocab)
        seconds = time.perf_counter() - start
    return ReverseRun(
        norm_position=norm_position,
        depth=depth,
        lr=lr,
        warmup_steps=warmup_steps,
        steps=steps,
        seed=seed,
        residual_scale=residual_scale,
        clip=clip,
        losses=record["losses"],
        lrs=record["lrs"],
        global_norms=record["global_norms"],
        block_norms=record["block_norms"],
        update_norms=record["update_norms"],
        clipped=record["clipped"],
        diverged=diverged,
        heldout_loss=loss,
        heldout_accuracy=accuracy,
        baseline=math.log(vocab),
        seconds=seconds,
        monitor=watcher,
    )


def _loop(model, lr, warmup_steps, steps, clip, batches, on_step=None, monitor=None) -> dict:
    """The training loop of :func:`train_reverse`; returns its per-step records. ``on_step(t,
    model)`` is called after step t's update (for experiments that look inside a run);
    ``monitor.record(loss)`` after each backward, before clipping."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = warmup_scheduler(optimizer, warmup_steps)
    blocks = block_parameters(model)
    in_blocks = {id(p) for block in blocks for p in block}
    others = [p for p in model.parameters() if id(p) not in in_blocks]
    params = [p for block in blocks for p in block] + others  # block parameters first
    sizes = [len(block) for block in blocks]
    losses, lrs, global_norms, block_norms, update_norms = [], [], [], [], []
    clipped, diverged = 0, False
    # A run of the notebook's size takes well under a second; only long runs get their own bar.
    counter = progress(range(steps), desc="train") if steps >= LONG_RUN else range(steps)
    for t, (tokens, targets) in zip(counter, batches, strict=False):
        optimizer.zero_grad(set_to_none=True)
        loss = _cross_entropy(model, tokens, targets)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            diverged = True
            break
        loss.backward()
        if monitor is not None:
            monitor.record(loss)
        squares = _squared_norms([p.grad for p in params])
        block_squares = torch.stack([chunk.sum() for chunk in squares[: sum(sizes)].split(sizes)])
        total = math.sqrt(float(squares.sum()))
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
            clipped += total > clip
        before = [p.detach().clone() for p in params]
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
        with torch.no_grad():
            update = float(_squared_norms(torch._foreach_sub(params, before)).sum())
        global_norms.append(total)
        block_norms.append(block_squares.sqrt().numpy())
        update_norms.append(math.sqrt(update))
        if on_step is not None:
            on_step(t, model)
    depth = len(blocks)
    return {
        "losses": np.array(losses, dtype=np.float64),
        "lrs": np.array(lrs, dtype=np.float64),
        "global_norms": np.array(global_norms, dtype=np.float64),
        "block_norms": np.array(block_norms, dtype=np.float64).reshape(-1, depth),
        "update_norms": np.array(update_norms, dtype=np.float64),
        "clipped": int(clipped),
        "diverged": diverged,
    }


def _squared_norms(tensors) -> torch.Tensor:
    """‖t‖² of each tensor, in float64, as one 1-D tensor (one fused call)."""
    norms = torch._foreach_norm([t.detach() for t in tensors], 2, dtype=torch.float64)
    return torch.stack(norms) ** 2


# --- residual scaling at initialization ----------------------------------------------------------


def gpt2_residual_scale(depth: int) -> float:
    """1/√(2·depth): GPT-2's scale for the residual branches (Radford et al. 2019, §2.3: the
    weights of residual layers are scaled at initialization by 1/√N, N = 2·depth residual layers,
    one attention and one MLP branch per block), so that the stream's variance added over all
    branches stays about that of one branch."""
    return 1.0 / math.sqrt(2 * _validate.positive_int(depth, "depth"))


@dataclass(frozen=True)
class InitProfile:
    """Per-block gradient norms and residual-stream RMS of one freshly initialized stack.

    grad_norms  (depth,) per-block gradient norms (:func:`block_gradient_norms`)
    stream      (depth + 1,) RMS of the stream after the embedding and each block
    """

    norm_position: str
    depth: int
    residual_scale: float
    seed: int
    grad_norms: np.ndarray
    stream: np.ndarray

    @property
    def ratio(self) -> float:
        """Last block's gradient norm ÷ first block's (:func:`gradient_ratio`)."""
        return gradient_ratio(self.grad_norms)

    @property
    def added_variance(self) -> float:
        """Mean square added to the stream by all blocks, RMS(h_L)² − RMS(h_0)²: for pre-LN
        about Σ over the 2L branches of s²·E[f²], so scaling s by 1/√(2L) divides it by 2L."""
        return float(self.stream[-1] ** 2 - self.stream[0] ** 2)


def init_profile(
    norm_position: str,
    depth: int,
    *,
    seed: int,
    residual_scale: float = 1.0,
    batch_size: int = 64,
    length: int = 8,
    vocab: int = 16,
) -> InitProfile:
    """Gradient norms per block and stream RMS at initialization for the stack
    :func:`train_reverse` trains (same seed, same sizes), on the held-out reversal batch's first
    ``batch_size`` sequences."""
    norm_position = _validate.choice(norm_position, NORM_POSITIONS, "norm_position")
    depth = _validate.positive_int(depth, "depth")
    seed = _check_seed(seed)
    residual_scale = _validate.nonnegative(residual_scale, "residual_scale")
    batch_size = _validate.positive_int(batch_size, "batch_size")
    if batch_size > HELDOUT_SIZE:
        raise ValueError(f"batch_size must be at most {HELDOUT_SIZE}, got {batch_size}")
    with course_threads():
        model = transformer_stack(
            depth,
            vocab=vocab,
            max_len=length,
            norm_position=norm_position,
            residual_scale=residual_scale,
            seed=seed,
        )
        tokens, targets = (t[:batch_size] for t in heldout_batch(length, vocab))
        grads = block_gradient_norms(model, tokens, targets)
        stream = stream_norms(model, tokens)
    return InitProfile(norm_position, depth, residual_scale, seed, grads, stream)


def residual_scaling_profiles(depth: int, seeds=(0, 1, 2), **options) -> dict:
    """{(norm_position, scale_name): [InitProfile per seed]} for norm_position in ("post", "pre")
    and scale_name "1" (s = 1) or "1/sqrt(2N)" (:func:`gpt2_residual_scale`)."""
    depth = _validate.positive_int(depth, "depth")
    scales = {"1": 1.0, "1/sqrt(2N)": gpt2_residual_scale(depth)}
    return {
        (position, name): [
            init_profile(position, depth, seed=s, residual_scale=scale, **options) for s in seeds
        ]
        for position in NORM_POSITIONS
        for name, scale in scales.items()
    }


# --- the warm-up experiment of notebook 10 ------------------------------------------------------

# The smallest setting found (on a 2-core x86 CPU, torch 2.13, one thread) where post-LN without
# warm-up stays at the baseline on every seed while post-LN with warm-up and pre-LN train: see
# :func:`warmup_experiment`. At lr ≤ 0.01 this needs depth ≥ 12 and well over 100 steps.
WARMUP_SETTING = {"depth": 6, "lr": 0.02, "warmup_steps": 20, "steps": 40}


def warmup_experiment(
    seeds=(0, 1, 2), *, residual_scaled=False, clip=None, monitor=False, **setting
) -> dict:
    """{case: [ReverseRun per seed]} for the cases "post, no warm-up", "post, warm-up" and
    "pre, no warm-up" (plus "post, no warm-up, s = 1/√(2N)" with ``residual_scaled``), all at
    :data:`WARMUP_SETTING` unless ``setting`` overrides depth, lr, warmup_steps or steps.
    ``clip`` and ``monitor`` (:func:`train_reverse`) apply to every case. The default (3 cases ×
    3 seeds) takes about 5 s on one core.
    """
    unknown = set(setting) - set(WARMUP_SETTING)
    if unknown:
        raise TypeError(
            f"unknown setting {sorted(unknown)}; valid names are {sorted(WARMUP_SETTING)}"
        )
    config = {**WARMUP_SETTING, **setting}
    depth, warmup = config.pop("depth"), config.pop("warmup_steps")
    cases = {
        "post, no warm-up": ("post", 0, 1.0),
        "post, warm-up": ("post", warmup, 1.0),
        "pre, no warm-up": ("pre", 0, 1.0),
    }
    if residual_scaled:
        cases["post, no warm-up, s = 1/√(2N)"] = ("post", 0, gpt2_residual_scale(depth))
    jobs = [(case, seed) for case in cases for seed in seeds]
    runs = {case: [] for case in cases}
    for case, seed in progress(jobs, desc="runs"):
        position, w, scale = cases[case]
        runs[case].append(
            train_reverse(
                position,
                depth,
                warmup_steps=w,
                seed=seed,
                residual_scale=scale,
                clip=clip,
                monitor=monitor,
                **config,
            )
        )
    return runs
