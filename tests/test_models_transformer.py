"""helpers.models.transformer: shapes, the pre-/post-LN formulas, seeding and argument errors."""

import pytest
import torch
from torch import nn

from helpers.models.transformer import (
    TransformerBlock,
    causal_mask,
    transformer_stack,
)

F64 = torch.float64


def block(norm_position, residual_scale=1.0, seed=0):
    torch.manual_seed(seed)
    return TransformerBlock(
        16, 4, 24, norm_position=norm_position, residual_scale=residual_scale
    ).double()


def inputs(batch=3, length=5, d_model=16, seed=1):
    return torch.randn(batch, length, d_model, generator=torch.Generator().manual_seed(seed),
                       dtype=F64)  # fmt: skip


def zero_branches(b):
    """Zero the last layer of both branches: f_att = f_mlp = 0 for every input."""
    with torch.no_grad():
        for layer in (b.attention.out_proj, b.mlp[2]):
            layer.weight.zero_()
            layer.bias.zero_()


def layer_norm(x):
    return nn.functional.layer_norm(x, x.shape[-1:])


# --- the block -----------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_position", ["pre", "post"])
def test_block_keeps_the_shape(norm_position):
    x = inputs()
    assert block(norm_position)(x).shape == x.shape


def test_with_the_branches_zeroed_pre_ln_is_the_identity_and_post_ln_is_layer_norm():
    x = inputs()
    pre, post = block("pre"), block("post")
    zero_branches(pre)
    zero_branches(post)
    torch.testing.assert_close(pre(x), x, rtol=0, atol=0)
    # post-LN: LN₂(LN₁(x) + 0); a layer norm of a layer-normed vector changes it by O(eps) only.
    torch.testing.assert_close(post(x), layer_norm(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(post.norm1(x), layer_norm(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_post_ln_block_follows_its_formula(scale):
    b, x = block("post", scale), inputs()
    h = b.norm1(x + scale * b.attention_branch(x))
    expected = b.norm2(h + scale * b.mlp_branch(h))
    torch.testing.assert_close(b(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_pre_ln_block_follows_its_formula(scale):
    b, x = block("pre", scale), inputs()
    h = x + scale * b.attention_branch(b.norm1(x))
    expected = h + scale * b.mlp_branch(b.norm2(h))
    torch.testing.assert_close(b(x), expected, rtol=1e-12, atol=1e-12)


def test_pre_and_post_ln_differ_with_the_same_weights():
    pre, x = block("pre"), inputs()
    post = block("post")
    post.load_state_dict(pre.state_dict())
    assert not torch.allclose(pre(x), post(x))
    # Post-LN output is normalized per position (mean 0, variance 1); pre-LN output is not.
    out = post(x)
    torch.testing.assert_close(out.mean(-1), torch.zeros(3, 5, dtype=F64), rtol=0, atol=1e-12)
    assert pre(x).mean(-1).abs().max() > 1e-3


def test_residual_scale_zero_makes_pre_ln_the_identity():
    x = inputs()
    torch.testing.assert_close(block("pre", 0.0)(x), x, rtol=0, atol=0)


def test_the_mlp_is_two_layers_with_a_gelu():
    b = block("pre")
    assert [type(m) for m in b.mlp] == [nn.Linear, nn.GELU, nn.Linear]
    assert (b.mlp[0].in_features, b.mlp[0].out_features, b.mlp[2].out_features) == (16, 24, 16)
    assert b.attention.batch_first and b.attention.num_heads == 4


def test_causal_mask_blocks_the_future():
    mask = causal_mask(4)
    assert mask.dtype == torch.bool and mask.shape == (4, 4)
    assert mask.sum() == 6 and not mask.diagonal().any() and mask[0, 1] and not mask[1, 0]
    b, x = block("pre"), inputs()
    y = x.clone()
    y[:, -1] += 1.0  # change the last position only
    out_x, out_y = b(x, attn_mask=causal_mask(5)), b(y, attn_mask=causal_mask(5))
    torch.testing.assert_close(out_x[:, :-1], out_y[:, :-1], rtol=1e-12, atol=1e-12)


# --- the stack -----------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_position", ["pre", "post"])
def test_stack_maps_tokens_to_logits(norm_position):
    model = transformer_stack(3, vocab=11, max_len=20, norm_position=norm_position, seed=0)
    tokens = torch.randint(0, 11, (4, 7), generator=torch.Generator().manual_seed(0))
    logits = model(tokens)
    assert logits.shape == (4, 7, 11)
    assert len(model.blocks) == 3
    assert all(b.norm_position == norm_position for b in model.blocks)
    final = nn.LayerNorm if norm_position == "pre" else nn.Identity
    assert isinstance(model.final_norm, final)
    assert (
        model.position_embedding.weight.shape == (20, 32)
        and model.position_embedding.weight.requires_grad
    )


def test_positions_matter():
    model = transformer_stack(1, vocab=5, max_len=8, seed=0)
    tokens = torch.tensor([[1, 1, 1, 1]])
    logits = model(tokens)
    assert not torch.allclose(logits[0, 0], logits[0, 1]), "same token, different positions"


def test_causal_stack_does_not_look_ahead():
    model = transformer_stack(2, vocab=6, max_len=8, causal=True, seed=1)
    a, b = torch.tensor([[1, 2, 3, 4]]), torch.tensor([[1, 2, 3, 5]])
    torch.testing.assert_close(model(a)[:, :3], model(b)[:, :3])


def test_the_same_seed_gives_identical_weights_and_leaves_the_global_generator_alone():
    torch.manual_seed(7)
    before = torch.rand(1)
    torch.manual_seed(7)
    a = transformer_stack(2, seed=3)
    after = torch.rand(1)
    b = transformer_stack(2, seed=3)
    c = transformer_stack(2, seed=4)
    assert torch.equal(before, after)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.token_embedding.weight, c.token_embedding.weight)


def test_stack_gradients_reach_every_parameter():
    model = transformer_stack(2, vocab=7, max_len=6, seed=0)
    tokens = torch.randint(0, 7, (2, 6), generator=torch.Generator().manual_seed(0))
    loss = nn.functional.cross_entropy(model(tokens).reshape(-1, 7), tokens.reshape(-1))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"d_model": 30, "n_heads": 4}, ValueError, "d_model must be divisible by n_heads"),
        ({"norm_position": "middle"}, ValueError, "norm_position"),
        ({"d_model": 0}, ValueError, "d_model"),
        ({"n_heads": 0}, ValueError, "n_heads"),
        ({"d_ff": -1}, ValueError, "d_ff"),
        ({"residual_scale": -0.5}, ValueError, "residual_scale"),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"d_model": 2.5}, TypeError, "d_model"),
    ],
)
def test_block_errors_name_the_argument(kwargs, error, match):
    arguments = {"d_model": 16, "n_heads": 4, "d_ff": 32, **kwargs}
    d_model, n_heads, d_ff = (
        arguments.pop("d_model"),
        arguments.pop("n_heads"),
        arguments.pop("d_ff"),
    )
    with pytest.raises(error, match=match):
        TransformerBlock(d_model, n_heads, d_ff, **arguments)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"depth": 0}, "depth"),
        ({"vocab": 0}, "vocab"),
        ({"max_len": 0}, "max_len"),
        ({"d_model": 10, "n_heads": 4}, "divisible"),
        ({"norm_position": "sandwich"}, "norm_position"),
        ({"residual_scale": float("inf")}, "residual_scale"),
        ({"seed": -1}, "seed"),
    ],
)
def test_stack_errors_name_the_argument(kwargs, match):
    arguments = {"depth": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        transformer_stack(**arguments)


def test_stack_rejects_bad_tokens():
    model = transformer_stack(1, vocab=5, max_len=4, seed=0)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="vocab"):
        model(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match=r"\(batch, length\)"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        model(torch.zeros(1, 3))
