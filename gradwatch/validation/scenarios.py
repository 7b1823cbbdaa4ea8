"""The registry: every validation run with the label an expert gives it from its scenario alone.

Labels were fixed from the training setup (what is wrong or right with it) before gradwatch's
``diagnose`` was run on any of them; ``test_scenarios_evidence.py`` checks with plain torch that
each run really behaves as its label says.

    from validation.scenarios import SCENARIOS
    for s in SCENARIOS:
        outcome = s.function(lambda model: GradientMonitor(model))
        print(s.name, s.label, diagnose(outcome.monitor, baseline=outcome.baseline).label)
"""

from . import scenarios_language as lang
from . import scenarios_mlp as mlp
from . import scenarios_sequence as seq
from . import scenarios_training as train
from . import scenarios_vision as vis
from ._common import LABELS, Outcome, Scenario

V, E, C, H, I = LABELS  # noqa: E741  (vanishing, exploding, converged, healthy, insufficient)

SCENARIOS = [
    # -- vanishing --
    Scenario(
        "tanh_mlp_tiny_init", V,
        "an 8-layer tanh MLP initialised with N(0, 0.01²) (old 'small random weights' advice), SGD",
        "each layer multiplies signal and gradient by ~0.08, so the first layers get ~1e-9 of "
        "the last layer's gradient and the loss stays at the baseline",
        mlp.tanh_mlp_tiny_init,
    ),
    Scenario(
        "relu_mlp_dead_units", V,
        "a ReLU MLP with biases initialised to -1 'for sparse activations', Adam",
        "from the second layer on every ReLU is dead, so no gradient reaches the hidden layers "
        "and only the output bias learns the class prior",
        mlp.relu_mlp_dead_units,
    ),
    Scenario(
        "sigmoid_mlp_shared_activation", V,
        "a custom 8-layer sigmoid MLP reusing one nn.Sigmoid module, default init, SGD",
        "σ' ≤ 1/4 at each of 8 layers shrinks the gradient to the first layers by orders of "
        "magnitude and the loss stays at the baseline (He-initialised ReLU learns)",
        mlp.sigmoid_mlp_shared_activation,
    ),
    Scenario(
        "relu_mlp_default_init_deep", V,
        "a 20-layer plain ReLU MLP left at PyTorch's default init (not He), SGD + momentum",
        "the default init's gain √(1/6) per ReLU layer shrinks the gradient ~10⁸ over 20 layers; "
        "the loss stays at the baseline while the He-initialised net learns",
        mlp.relu_mlp_default_init_deep,
    ),
    Scenario(
        "moduledict_head_first", V,
        "a ModuleDict({'head', 'trunk'}) regression net: 16 tanh layers at default init, SGD",
        "default init gives tanh a gain of ~0.58 per layer, so 16 layers starve the trunk and the "
        "MSE stays at Var(y) (Xavier init with tanh gain learns)",
        mlp.moduledict_head_first,
    ),
    Scenario(
        "sigmoid_mlp_float64", V,
        "a 10-layer sigmoid MLP switched to float64 with model.double() after the monitor existed",
        "float64 changes the precision, not σ' ≤ 1/4: the first layers still get a vanishing "
        "gradient and the loss stays at the baseline",
        mlp.sigmoid_mlp_float64,
    ),
    Scenario(
        "fp16_sigmoid_deep", V,
        "an 8-layer sigmoid MLP trained with float16 autocast and torch.amp.GradScaler, SGD",
        "the scaler only prevents underflow; the sigmoid stack's gradient to the first layers is "
        "still vanishingly small and the loss stays at the baseline",
        train.fp16_sigmoid_deep,
    ),
    Scenario(
        "sigmoid_cnn_deep", V,
        "a LeNet-era 8-layer all-sigmoid CNN on small images, default init, SGD + momentum",
        "8 sigmoid layers starve the early filters and the loss stays at ln 4, while the same "
        "net with BatchNorm + ReLU learns",
        vis.sigmoid_cnn_deep,
    ),
    Scenario(
        "sigmoid_conv_autoencoder", V,
        "a pre-ReLU-style 8-layer sigmoid conv autoencoder with a ConvTranspose decoder, SGD",
        "only the decoder's last layer learns (the mean image); nothing deeper trains, so the "
        "MSE stays at the per-pixel variance while the ReLU version learns",
        vis.sigmoid_conv_autoencoder,
    ),
    Scenario(
        "rnn_long_lag", V,
        "a vanilla tanh nn.RNN classifier that must remember the first of 60 tokens, Adam",
        "the gradient through 60 contracting recurrent steps vanishes, so the RNN stays at ln 4 "
        "while the LSTM learns the task and the same RNN learns it at lag 5",
        seq.rnn_long_lag,
    ),
    Scenario(
        "makemore_deep_small_gain", V,
        "makemore part 3's deeper char-level MLP (10 tanh layers) with gain 0.5 instead of 5/3",
        "each badly scaled tanh layer halves the signal and the gradient, so the embedding and "
        "early layers do not train and the loss stays at the unigram baseline",
        lang.makemore_deep_small_gain,
    ),
    # -- exploding --
    Scenario(
        "mlp_lr_too_large", E,
        "a 6-layer He-initialised ReLU MLP with SGD lr=0.5, momentum 0.9 (a shallow net's lr)",
        "the step is far past the stability limit of a deep net, the loss diverges to NaN",
        mlp.mlp_lr_too_large,
    ),
    Scenario(
        "randn_init_custom_layers", E,
        "hand-written Dense layers with nn.Parameter(torch.randn(n_in, n_out)) weights and ReLU",
        "without 1/√fan_in each layer multiplies the signal by ~8; the logits and gradients are "
        "huge from the first step and SGD turns them into NaN",
        mlp.randn_init_custom_layers,
    ),
    Scenario(
        "sum_reduction_sgd", E,
        "an MSE loss with reduction='sum' over a 256×8 batch and the lr tuned for the mean",
        "the effective learning rate is 2048× too large and the regression diverges to inf/NaN",
        mlp.sum_reduction_sgd,
    ),
    Scenario(
        "unscaled_features", E,
        "a house-price MLP fed raw features (year ≈ 2000, area ≈ 200) without standardisation",
        "the curvature along the raw inputs is ~10⁶, far beyond 2/lr, so SGD's loss blows up",
        mlp.unscaled_features,
    ),
    Scenario(
        "rnn_large_recurrent", E,
        "an IRNN (ReLU nn.RNN) with its recurrent matrix set to 1.5·I and no gradient clipping",
        "the hidden state and its gradient grow ~1.5⁴⁰ over the sequence: the loss is ~10⁶ at "
        "the first step and NaN after",
        seq.rnn_large_recurrent,
    ),
    # -- converged --
    Scenario(
        "shuffled_labels", C,
        "an MLP on a data set whose labels were permuted apart from the inputs (a loader bug)",
        "there is nothing to learn beyond the class frequencies; the loss sits at the baseline "
        "while gradients flow (the same net learns the unshuffled labels)",
        mlp.shuffled_labels,
    ),
    Scenario(
        "noise_floor_regression", C,
        "a tanh MLP regression on a smooth function plus noise of std 0.5, Adam",
        "once the function is fitted the MSE sits at the noise variance 0.25 and cannot improve",
        mlp.noise_floor_regression,
    ),
    Scenario(
        "spiral_too_small", C,
        "the cs231n 3-arm spiral with a 2-3-3 ReLU net, full batch, Adam",
        "three hidden units cannot carve out the arms: the loss plateaus at the best fit the "
        "small model can make (a 64-unit net fits the spiral)",
        mlp.spiral_too_small,
    ),
    Scenario(
        "loss_scaled_down", C,
        "a regression whose loss is multiplied by 1e-4 (a leftover multi-task weight), Adam",
        "Adam is invariant to the loss scale: the run fits the function and sits at its noise "
        "floor, only in units 1e-4 smaller",
        mlp.loss_scaled_down,
    ),
    Scenario(
        "frozen_backbone_head", C,
        "a pretrained MLP backbone frozen with requires_grad_(False) and a new linear head",
        "the head is a convex problem on fixed features; it has reached the best those features "
        "allow and the loss is flat",
        train.frozen_backbone_head,
    ),
    Scenario(
        "post_ln_transformer_sort", C,
        "a 2-layer post-LN nn.TransformerEncoder with warm-up sorting 8 tokens, 10% noisy targets",
        "it learns to sort and then sits at the label-noise entropy floor",
        seq.post_ln_transformer_sort,
    ),
    Scenario(
        "lstm_long_lag", C,
        "an nn.LSTM (chrono-initialised gates, clipping) on the 60-step lag, 5% noisy labels",
        "the cell state carries the gradient back, the LSTM learns to remember the first token "
        "and sits at the label-noise floor",
        seq.lstm_long_lag,
    ),
    Scenario(
        "makemore_mlp", C,
        "makemore's char-level MLP (embedding + tanh layer, Karpathy's init) with lr step decay",
        "it reaches the synthetic language's entropy (the best any model can do) and stays there",
        lang.makemore_mlp,
    ),
    Scenario(
        "tied_embedding_gpt", C,
        "a nanoGPT-style one-block causal transformer with lm_head.weight = wte.weight",
        "it learns the bigram language and levels off at its entropy floor",
        lang.tied_embedding_gpt,
    ),
    # -- healthy --
    Scenario(
        "lr_far_too_small", H,
        "a 3-layer ReLU MLP trained with plain SGD at lr=0.01 where 0.3 was meant",
        "gradients are fine; the steps are 30× too small, so the loss creeps down steadily and "
        "is still falling at the end",
        mlp.lr_far_too_small,
    ),
    Scenario(
        "loss_scaled_up", H,
        "a classifier whose cross-entropy is multiplied by 1e4, Adam, stopped at 250 steps",
        "Adam ignores the loss scale; the run learns normally and is still improving when cut",
        mlp.loss_scaled_up,
    ),
    Scenario(
        "unused_module", H,
        "a GELU MLP that still registers an auxiliary head its forward never calls, Adam",
        "the unused head gets no gradient by design; the used layers learn and the loss is "
        "still falling when the run is cut",
        mlp.unused_module,
    ),
    Scenario(
        "weight_norm_mlp", H,
        "a ReLU MLP built with torch.nn.utils.parametrizations.weight_norm, SGD + momentum",
        "weight norm reparametrises the layers without hurting gradient flow; the run is still "
        "learning when cut",
        mlp.weight_norm_mlp,
    ),
    Scenario(
        "gradient_accumulation", H,
        "a tanh MLP with 8 accumulated micro-batches per step, recorded once per optimizer step",
        "accumulation only changes the batch size; the run is still learning when cut",
        mlp.gradient_accumulation,
    ),
    Scenario(
        "bn_cnn", H,
        "a 6-layer Conv-BatchNorm-ReLU CNN on small images, SGD + momentum, 200 steps",
        "BatchNorm keeps every layer trainable; the loss is still falling when the run stops",
        vis.bn_cnn,
    ),
    Scenario(
        "conv_autoencoder", H,
        "a ReLU conv autoencoder with a ConvTranspose decoder, Adam, 300 steps",
        "gradients reach the encoder through the decoder; reconstruction error is still falling",
        vis.conv_autoencoder,
    ),
    Scenario(
        "pre_ln_transformer_sort", H,
        "a 2-layer pre-LN nn.TransformerEncoder (norm_first=True) sorting 8 tokens, AdamW",
        "pre-LN keeps a clean residual gradient path; the loss is falling fast when cut at 200",
        seq.pre_ln_transformer_sort,
    ),
    Scenario(
        "bf16_autocast", H,
        "a GELU MLP under torch.autocast('cpu', dtype=torch.bfloat16), AdamW, no scaler",
        "bf16 needs no loss scaling and does not hurt gradient flow; still learning when cut",
        train.bf16_autocast,
    ),
    Scenario(
        "fp16_grad_scaler", H,
        "a SiLU MLP in float16 autocast with torch.amp.GradScaler('cpu'), record(loss, scaler=)",
        "the scaler handles fp16's range; the run is an ordinary one, still learning when cut",
        train.fp16_grad_scaler,
    ),
    Scenario(
        "no_grad_backbone_head", H,
        "a pretrained backbone run under torch.no_grad() in forward, new linear head, Adam",
        "the backbone is frozen by design; the head gets its gradient and is still improving",
        train.no_grad_backbone_head,
    ),
    # -- insufficient evidence --
    Scenario(
        "short_sigmoid_run", I,
        "the 8-layer shared-sigmoid MLP stopped after 40 steps",
        "it looks stuck, but 40 steps at every=10 are 4 measured rows: too few to judge",
        mlp.short_sigmoid_run,
    ),
    Scenario(
        "short_healthy_run", I,
        "a good 2-layer ReLU MLP (Adam) stopped after 40 steps",
        "it is learning, but 40 steps at every=10 are 4 measured rows: too few to judge",
        mlp.short_healthy_run,
    ),
]  # fmt: skip

BY_NAME = {s.name: s for s in SCENARIOS}
assert len(BY_NAME) == len(SCENARIOS), "scenario names must be unique"

__all__ = ["BY_NAME", "SCENARIOS", "Outcome", "Scenario"]
