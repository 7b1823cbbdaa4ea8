"""The Lightning and Hugging Face callbacks, each through its framework's real Trainer: one record
per optimizer step (also under gradient accumulation), the gradients and losses the framework
trains on, and a diagnosis. Skipped where the framework is not installed."""

import importlib.util
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from gradwatch import LABELS, Diagnosis

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*does not have many workers"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*LeafSpec"),
]


def data(n=64, seed=0):
    """A noisy linear regression: (x, y) with 8 features."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=generator)
    w = torch.randn(8, 1, generator=generator)
    return x, x @ w + 0.1 * torch.randn(n, 1, generator=generator)


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))


def norms(net):
    """Per-layer (weight, bias) gradient norms of the two Linear layers, as the monitor reads."""
    return [
        [float(net[k].weight.grad.norm()) for k in (0, 2)],
        [float(net[k].bias.grad.norm()) for k in (0, 2)],
    ]


def window_means(step_losses, step_index):
    """The monitor's row losses: the mean step loss over the steps since the previous row."""
    out, start = [], 0
    for step in step_index:
        out.append(np.mean(step_losses[start : step + 1]))
        start = step + 1
    return np.array(out)


def assert_logged(losses, logged):
    """The monitor's losses equal the Trainer's logged ones (transformers < 4.47 rounds the
    logged loss to 4 decimals)."""
    np.testing.assert_allclose(losses, logged, rtol=1e-6, atol=5e-5)


def no_hooks_left(model):
    return all(
        not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks) for m in model.modules()
    )


def test_importing_the_integrations_package_imports_no_framework():
    code = (
        "import sys, gradwatch.integrations; "
        "assert not {'lightning', 'pytorch_lightning', 'transformers'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- Lightning --


@pytest.fixture
def pl():
    if not (importlib.util.find_spec("lightning") or importlib.util.find_spec("pytorch_lightning")):
        pytest.skip("Lightning is not installed (pip install gradwatch[lightning])")
    from gradwatch.integrations import lightning

    return lightning.pl


def regressor(pl, lr=0.05):
    class Regressor(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = mlp()
            self.micro_losses = []  # training_step's loss, one per micro-batch
            self.step_norms = []  # gradient norms at each optimizer step

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = nn.functional.mse_loss(self(x), y)
            self.micro_losses.append(float(loss.detach()))
            return loss

        def on_before_optimizer_step(self, optimizer):
            # The module's hook runs right after the callbacks' one, before clipping.
            self.step_norms.append(norms(self.net))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=lr)

    return Regressor()


def fit(pl, callback, max_steps, **trainer_args):
    x, y = data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    module = regressor(pl)
    trainer = pl.Trainer(
        max_steps=max_steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[callback],
        **trainer_args,
    )
    trainer.fit(module, loader)
    return trainer, module


def test_lightning_records_every_fifth_step_before_clipping(pl):
    from gradwatch.integrations.lightning import GradwatchCallback

    callback = GradwatchCallback(every=5)
    trainer, module = fit(pl, callback, max_steps=23, gradient_clip_val=0.05)
    monitor = callback.monitor
    assert monitor.calls == trainer.global_step == 23 == len(module.micro_losses)
    assert monitor.step_index.tolist() == [0, 5, 10, 15, 20]
    assert monitor.loss_counts.tolist() == [1, 5, 5, 5, 5]
    seen = np.array(module.step_norms)[monitor.step_index]  # (rows, weight/bias, layers)
    np.testing.assert_allclose(monitor.grad_norms, seen[:, 0], rtol=1e-5)
    np.testing.assert_allclose(monitor.bias_grad_norms, seen[:, 1], rtol=1e-5)
    total = np.sqrt((monitor.grad_norms**2).sum(1) + (monitor.bias_grad_norms**2).sum(1))
    assert (total > 10 * 0.05).all()  # the unclipped gradients, not the clipped ones
    want = window_means(module.micro_losses, monitor.step_index)
    np.testing.assert_allclose(monitor.losses, want, rtol=1e-6)
    assert no_hooks_left(module)


def test_lightning_records_once_per_optimizer_step_under_accumulation(pl):
    from gradwatch.integrations.lightning import GradwatchCallback

    callback = GradwatchCallback(every=1, forward_stats=True, baseline=1.0)
    trainer, module = fit(pl, callback, max_steps=30, accumulate_grad_batches=2)
    monitor = callback.monitor
    assert monitor.calls == trainer.global_step == 30 and len(module.micro_losses) == 60
    assert monitor.step_index.tolist() == list(range(30))
    step_losses = np.array(module.micro_losses).reshape(30, 2).mean(axis=1)
    np.testing.assert_allclose(monitor.losses, step_losses, rtol=1e-6)
    seen = np.array(module.step_norms)
    np.testing.assert_allclose(monitor.grad_norms, seen[:, 0], rtol=1e-5)
    assert monitor.losses[-5:].mean() < 0.5 * monitor.losses[:5].mean()
    assert monitor.saturation.shape == (30, 1) and np.isfinite(monitor.saturation).all()
    diagnosis = callback.diagnosis()
    assert isinstance(diagnosis, Diagnosis) and diagnosis.label in LABELS
    assert diagnosis.evidence["reference"] == 1.0  # the baseline was passed on
    assert no_hooks_left(module)


def test_lightning_mixed_precision_records_unscaled_gradients_and_loss(pl):
    from lightning.pytorch.plugins import MixedPrecision

    from gradwatch.integrations.lightning import GradwatchCallback

    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    callback = GradwatchCallback(every=1)
    plugin = MixedPrecision("16-mixed", "cpu", scaler=scaler)
    trainer, module = fit(pl, callback, max_steps=8, plugins=[plugin])
    monitor = callback.monitor
    assert monitor.calls == 8 and monitor.overflow_steps == 0 and scaler.get_scale() == 1024.0
    np.testing.assert_allclose(monitor.grad_norms, np.array(module.step_norms)[:, 0], rtol=1e-5)
    np.testing.assert_allclose(monitor.losses, module.micro_losses, rtol=1e-6)

    # A scale so large that the gradients overflow: the scaler skips the steps, so does the record.
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**127)
    callback = GradwatchCallback(every=1)
    plugin = MixedPrecision("16-mixed", "cpu", scaler=scaler)
    fit(pl, callback, max_steps=4, plugins=[plugin])
    monitor = callback.monitor
    assert monitor.overflow_steps >= 1 and monitor.steps + monitor.overflow_steps == 4


def test_lightning_callback_checks_its_arguments_and_needs_a_fit(pl):
    from gradwatch.integrations.lightning import GradwatchCallback

    with pytest.raises(ValueError, match="every"):
        GradwatchCallback(every=0)
    with pytest.raises(TypeError, match="forward_stats"):
        GradwatchCallback(forward_stats="yes")
    with pytest.raises(ValueError, match="baseline"):
        GradwatchCallback(baseline=-1.0)
    with pytest.raises(RuntimeError, match="train first"):
        GradwatchCallback().diagnosis()


def test_lightning_falls_back_to_pytorch_lightning(monkeypatch):
    pytest.importorskip("pytorch_lightning")
    for name in ("lightning", "lightning.pytorch"):
        monkeypatch.setitem(sys.modules, name, None)  # as if only pytorch_lightning were there
    monkeypatch.delitem(sys.modules, "gradwatch.integrations.lightning", raising=False)
    module = importlib.import_module("gradwatch.integrations.lightning")
    assert module.pl.__name__ == "pytorch_lightning"
    callback = module.GradwatchCallback(every=2)
    trainer, _ = fit(module.pl, callback, max_steps=6, accumulate_grad_batches=2)
    assert callback.monitor.calls == trainer.global_step == 6
    assert callback.monitor.step_index.tolist() == [0, 2, 4]


def test_lightning_missing_says_what_to_install(monkeypatch):
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails
    monkeypatch.delitem(sys.modules, "gradwatch.integrations.lightning", raising=False)
    with pytest.raises(ImportError, match=r"pip install gradwatch\[lightning\]"):
        importlib.import_module("gradwatch.integrations.lightning")


# -- Hugging Face --


@pytest.fixture
def hf():
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")  # the Trainer needs it
    return transformers


class Regressor(nn.Module):
    """A model as the Trainer expects one: keyword inputs, a dict with "loss" when given labels."""

    def __init__(self):
        super().__init__()
        self.net = mlp()
        self.micro_batches = 0

    def forward(self, x, labels=None):
        self.micro_batches += self.training and torch.is_grad_enabled()
        out = self.net(x)
        if labels is None:
            return {"logits": out}
        return {"loss": nn.functional.mse_loss(out, labels), "logits": out}


class SummedRegressor(Regressor):
    """Accepts loss kwargs: normalizes its loss by ``num_items_in_batch`` (the whole
    accumulated batch) when the Trainer passes it, and returns a tuple (loss, logits)."""

    def forward(self, x, labels=None, **kwargs):
        self.micro_batches += self.training and torch.is_grad_enabled()
        out = self.net(x)
        count = kwargs.get("num_items_in_batch")
        if count is None:
            return (nn.functional.mse_loss(out, labels), out)
        return (((out - labels) ** 2).sum() / count, out)


def hf_probe(hf):
    class Probe(hf.TrainerCallback):
        """Reads the gradients at the same event, right after gradwatch's callback."""

        def __init__(self):
            self.step_norms = []

        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            self.step_norms.append(norms(model.net))

    return Probe()


def train(hf, tmp_path, callback, model, max_steps, trainer_class=None, **training_args):
    x, y = data()
    dataset = [{"x": a, "labels": b} for a, b in zip(x, y, strict=True)]
    args = hf.TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=max_steps,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        per_device_train_batch_size=8,
        learning_rate=0.01,
        **training_args,
    )
    probe = hf_probe(hf)
    trainer = (trainer_class or hf.Trainer)(
        model=model, args=args, train_dataset=dataset, callbacks=[callback, probe]
    )
    trainer.train()
    logged = [h for h in trainer.state.log_history if "loss" in h and "train_loss" not in h]
    assert len(logged) == max_steps
    return trainer, probe, logged


def test_hugging_face_records_every_fifth_step_after_clipping(hf, tmp_path):
    from gradwatch.integrations.huggingface import GradwatchCallback

    callback, model = GradwatchCallback(every=5), Regressor()
    trainer, probe, logged = train(hf, tmp_path, callback, model, 23, max_grad_norm=0.5)
    monitor = callback.monitor
    assert monitor.calls == trainer.state.global_step == 23 == model.micro_batches
    assert monitor.step_index.tolist() == [0, 5, 10, 15, 20]
    seen = np.array(probe.step_norms)[monitor.step_index]
    np.testing.assert_allclose(monitor.grad_norms, seen[:, 0], rtol=1e-5)
    np.testing.assert_allclose(monitor.bias_grad_norms, seen[:, 1], rtol=1e-5)
    # The Trainer logs the unclipped total norm; the monitor read the clipped gradients.
    unclipped = np.array([h["grad_norm"] for h in logged])[monitor.step_index]
    total = np.sqrt((monitor.grad_norms**2).sum(1) + (monitor.bias_grad_norms**2).sum(1))
    assert (unclipped > 0.5).all()
    np.testing.assert_allclose(total, 0.5, rtol=1e-4)
    step_losses = [h["loss"] for h in logged]
    assert_logged(monitor.losses, window_means(step_losses, monitor.step_index))
    assert no_hooks_left(model)


def test_hugging_face_records_once_per_optimizer_step_under_accumulation(hf, tmp_path):
    from gradwatch.integrations.huggingface import GradwatchCallback

    callback, model = GradwatchCallback(every=1, baseline=1.0), Regressor()
    trainer, probe, logged = train(
        hf, tmp_path, callback, model, 30, gradient_accumulation_steps=2, max_grad_norm=0.0
    )
    monitor = callback.monitor
    assert monitor.calls == trainer.state.global_step == 30 and model.micro_batches == 60
    assert monitor.step_index.tolist() == list(range(30))
    assert_logged(monitor.losses, [h["loss"] for h in logged])
    np.testing.assert_allclose(monitor.grad_norms, np.array(probe.step_norms)[:, 0], rtol=1e-5)
    assert monitor.losses[-5:].mean() < 0.5 * monitor.losses[:5].mean()
    diagnosis = callback.diagnosis()
    assert isinstance(diagnosis, Diagnosis) and diagnosis.label in LABELS
    assert diagnosis.evidence["reference"] == 1.0
    assert no_hooks_left(model)


def test_hugging_face_loss_normalized_over_the_accumulated_batch(hf, tmp_path):
    from gradwatch.integrations.huggingface import GradwatchCallback

    callback, model = GradwatchCallback(every=1), SummedRegressor()
    trainer, _, logged = train(hf, tmp_path, callback, model, 12, gradient_accumulation_steps=2)
    monitor = callback.monitor
    assert monitor.calls == 12 and model.micro_batches == 24
    # Summed (num_items_in_batch given) or averaged (older transformers): as the Trainer logs.
    assert_logged(monitor.losses, [h["loss"] for h in logged])


def test_hugging_face_without_a_model_loss_records_the_last_logged_one(hf, tmp_path):
    from gradwatch.integrations.huggingface import GradwatchCallback

    class OwnLoss(hf.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
            out = model(x=inputs["x"])["logits"]
            return nn.functional.mse_loss(out, inputs["labels"])

    callback = GradwatchCallback(every=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, logged = train(hf, tmp_path, callback, Regressor(), 10, trainer_class=OwnLoss)
    assert any("carries no loss" in str(w.message) for w in caught)
    monitor = callback.monitor
    assert callback.unrecorded_steps == 1 and monitor.calls == 9  # step 0: nothing logged yet
    assert_logged(monitor.losses, [h["loss"] for h in logged[:-1]])


def test_hugging_face_missing_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    monkeypatch.delitem(sys.modules, "gradwatch.integrations.huggingface", raising=False)
    with pytest.raises(ImportError, match=r"pip install gradwatch\[huggingface\]"):
        importlib.import_module("gradwatch.integrations.huggingface")


def test_the_callbacks_need_training_before_a_diagnosis(hf):
    from gradwatch.integrations.huggingface import GradwatchCallback

    callback = GradwatchCallback(every=3)
    assert callback.monitor is None and callback.every == 3
    with pytest.raises(RuntimeError, match="train first"):
        callback.diagnosis()
