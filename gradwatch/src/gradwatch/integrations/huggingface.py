"""A Hugging Face ``transformers.Trainer`` callback that records a
:class:`gradwatch.GradientMonitor`.

    from gradwatch.integrations.huggingface import GradwatchCallback

    callback = GradwatchCallback(every=10, baseline=math.log(2))
    trainer = transformers.Trainer(model=model, args=args, ..., callbacks=[callback])
    trainer.train()
    print(callback.diagnosis())

Where it reads what (transformers 4.45 to 5.x; see ``Trainer._inner_training_loop`` or
``Trainer._run_epoch``):

- **Gradients** in ``on_pre_optimizer_step``, which the Trainer calls once per optimizer step,
  after the backward pass of the step's last micro-batch (so under
  ``gradient_accumulation_steps`` the gradients are complete and it fires once per optimizer
  step) and **after gradient clipping**: with ``max_grad_norm > 0`` (the default is 1.0) the
  norms are those of the clipped gradients, the ones the optimizer applies. Clipping multiplies
  every gradient by the same factor, so the ratios between layers that the diagnosis reads are
  unchanged, but absolute sizes above ``max_grad_norm`` are capped (the Trainer logs the
  unclipped total as ``grad_norm``). Set ``max_grad_norm=0`` to record unclipped norms. Under
  fp16 the accelerated optimizer's GradScaler is passed to ``record``: gradients still scaled
  are divided by its scale, and a step whose gradients overflowed is not stored.
- **The loss** from the model's own output in the training forward passes (a forward hook on
  the model: ``output["loss"]``, ``output.loss`` or ``output[0]``, as the Trainer's
  ``compute_loss`` reads it), one value per micro-batch. The recorded loss is their mean over
  the step's micro-batches, the loss the Trainer logs; when the model received
  ``num_items_in_batch`` (it normalizes its loss over the whole accumulated batch) it is their
  sum. If the model's output carries no loss (a custom ``compute_loss`` or
  ``compute_loss_func``, label smoothing), the last logged loss (``state.log_history``) is
  recorded instead, with a warning; steps before the first logged loss are then not recorded
  at all (``unrecorded_steps`` counts them).

The monitor is made on the model in ``on_train_begin`` (a new record for every ``train``) and
its hooks are removed in ``on_train_end``. Single-process training only (under data parallel
training each process would record its own part).
"""

import math
import warnings
from collections.abc import Mapping

import torch

from gradwatch.integrations import _MonitorCallback

try:
    from transformers import TrainerCallback
except ImportError as err:
    raise ImportError(
        "gradwatch.integrations.huggingface needs transformers: pip install gradwatch[huggingface]"
    ) from err

if not hasattr(TrainerCallback, "on_pre_optimizer_step"):
    raise ImportError(
        "gradwatch.integrations.huggingface needs a transformers release whose TrainerCallback "
        "has on_pre_optimizer_step (4.45 or newer): pip install gradwatch[huggingface]"
    )


def _output_loss(output):
    """The loss in a model's output, as the Trainer's compute_loss reads it, or None."""
    if isinstance(output, Mapping):
        loss = output.get("loss")
    elif isinstance(output, (tuple, list)) and output:
        loss = output[0]
    else:
        loss = getattr(output, "loss", None)
    if torch.is_tensor(loss) and loss.numel() == 1 and loss.is_floating_point():
        return loss.detach().reshape(())
    return None


def _last_logged_loss(state) -> float | None:
    for entry in reversed(getattr(state, "log_history", None) or []):
        value = entry.get("loss")
        if isinstance(value, (int, float)) and math.isfinite(value):
            return float(value)
    return None


class GradwatchCallback(_MonitorCallback, TrainerCallback):
    """Records per-layer gradient norms, update ratios and the loss once per optimizer step.

    ``GradwatchCallback(every=10, forward_stats=False, baseline=None)``: ``every`` and
    ``forward_stats`` are the monitor's (gradients are measured at steps 0, every, 2·every, …);
    ``baseline`` (the best constant prediction's loss) is passed to :func:`gradwatch.diagnose`
    by :meth:`diagnosis`. After ``train``, ``.monitor`` holds the record (the number of
    optimizer steps is ``monitor.calls``). See the module docstring for which hook reads what.
    """

    def __init__(self, every: int = 10, forward_stats: bool = False, baseline=None):
        super().__init__(every=every, forward_stats=forward_stats, baseline=baseline)
        self.unrecorded_steps = 0
        self._handles = []
        self._losses = []  # the model's loss in each micro-batch since the last optimizer step
        self._normalized = False  # the model normalized its loss over the accumulated batch
        self._warned = False

    # -- the loss, from the model's forward passes --

    def _before_forward(self, module, args, kwargs):
        if torch.is_grad_enabled() and module.training:
            self._normalized = kwargs.get("num_items_in_batch") is not None

    def _after_forward(self, module, args, output):
        if torch.is_grad_enabled() and module.training:
            loss = _output_loss(output)
            if loss is not None:
                self._losses.append(loss)

    def _step_loss(self, state):
        losses, self._losses = self._losses, []
        if losses:
            total = torch.stack([loss.to(torch.float64) for loss in losses]).sum()
            return total if self._normalized else total / len(losses)
        logged = _last_logged_loss(state)
        if not self._warned:
            self._warned = True
            warnings.warn(
                "GradwatchCallback: the model's output carries no loss (a custom compute_loss, "
                "compute_loss_func or label smoothing?); the last logged training loss is "
                "recorded instead, and steps before the first logged loss are not recorded",
                stacklevel=3,
            )
        return logged

    # -- the Trainer's events --

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            raise ValueError("GradwatchCallback.on_train_begin needs the model (model=...)")
        self._remove_hooks()
        self._start(model)
        self._losses, self._normalized, self.unrecorded_steps = [], False, 0
        self._handles = [
            model.register_forward_pre_hook(self._before_forward, with_kwargs=True),
            model.register_forward_hook(self._after_forward),
        ]

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        if self.monitor is None:
            return
        loss = self._step_loss(state)
        if loss is None:
            self.unrecorded_steps += 1
            return
        # accelerate's AcceleratedOptimizer carries the GradScaler under fp16 (else None).
        scaler = getattr(optimizer, "scaler", None)
        if scaler is not None and not scaler.is_enabled():
            scaler = None
        self.monitor.record(loss, scaler=scaler)

    def on_train_end(self, args, state, control, **kwargs):
        self._remove_hooks()
        self._stop()

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
