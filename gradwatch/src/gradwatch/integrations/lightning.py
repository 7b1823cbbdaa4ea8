"""A PyTorch Lightning callback that records a :class:`gradwatch.GradientMonitor`.

    from gradwatch.integrations.lightning import GradwatchCallback

    callback = GradwatchCallback(every=10, baseline=math.log(2))
    trainer = lightning.pytorch.Trainer(callbacks=[callback], ...)
    trainer.fit(model, data)
    print(callback.diagnosis())

Where it reads what (Lightning 2.4 to 2.6; see ``Precision._after_closure`` and
``MixedPrecision.optimizer_step`` in Lightning's source):

- **Gradients** in ``on_before_optimizer_step``, once per optimizer step. Lightning calls it
  after the closure (training_step and backward) of the step's last micro-batch, so under
  ``accumulate_grad_batches`` the gradients are complete and the hook fires once per optimizer
  step, not per micro-batch. Under ``precision="16-mixed"`` the precision plugin has already
  called ``scaler.unscale_`` (the scaler is passed to ``record`` as well, so a step whose
  gradients overflowed is not stored, and an optimizer that unscales inside its own ``step``
  is still read unscaled). Gradient clipping (``gradient_clip_val``) runs after this hook: the
  norms are the **unclipped** gradients.
- **The loss** in ``on_before_backward``: the tensor that is backpropagated, i.e. the
  training_step loss divided by ``accumulate_grad_batches`` (and multiplied by the AMP scale,
  which is divided out again). The micro-batches' values are summed until the optimizer step,
  so the recorded loss is the mean training_step loss over the step's micro-batches, the loss
  whose gradient the step takes. In manual optimization it is the sum of what was passed to
  ``manual_backward`` since the previous optimizer step.

The monitor is made on the LightningModule in ``on_fit_start`` (a new record for every
``fit``) and its hooks are removed in ``on_fit_end`` or when training raises. Only single
optimizer training is supported: with several optimizers every optimizer's step is counted.
With ``forward_stats=True``, have ``training_step`` call ``self(...)``: the monitor tells one
forward pass from the next by calls of the module it watches, so a training_step that calls
``self.net(x)`` directly gets a spurious warning that an activation module is called more than
once per forward pass (the statistics themselves, of the step's last micro-batch, are right).
"""

import warnings

from gradwatch.integrations import _MonitorCallback

try:
    import lightning.pytorch as pl
except ImportError:
    try:
        import pytorch_lightning as pl
    except ImportError as err:
        raise ImportError(
            "gradwatch.integrations.lightning needs PyTorch Lightning: "
            "pip install gradwatch[lightning]"
        ) from err


def _scaler(trainer):
    """The precision plugin's enabled GradScaler (``precision="16-mixed"``), else None."""
    plugin = getattr(trainer.strategy, "precision_plugin", None)
    scaler = getattr(plugin, "scaler", None)
    if scaler is None or not scaler.is_enabled():
        return None
    return scaler


class GradwatchCallback(_MonitorCallback, pl.Callback):
    """Records per-layer gradient norms, update ratios and the loss once per optimizer step.

    ``GradwatchCallback(every=10, forward_stats=False, baseline=None)``: ``every`` and
    ``forward_stats`` are the monitor's (gradients are measured at steps 0, every, 2·every, …);
    ``baseline`` (the best constant prediction's loss) is passed to :func:`gradwatch.diagnose`
    by :meth:`diagnosis`. After ``fit``, ``.monitor`` holds the record (the number of optimizer
    steps is ``monitor.calls``). See the module docstring for which hook reads what.
    """

    def __init__(self, every: int = 10, forward_stats: bool = False, baseline=None):
        super().__init__(every=every, forward_stats=forward_stats, baseline=baseline)
        self._loss = None  # the backpropagated loss summed since the last optimizer step

    def on_fit_start(self, trainer, pl_module) -> None:
        self._start(pl_module)
        self._loss = None
        if len(trainer.optimizers) > 1:
            warnings.warn(
                f"GradwatchCallback: the LightningModule has {len(trainer.optimizers)} "
                "optimizers; every optimizer's step is recorded as one step, and each record "
                "reads every parameter's gradient",
                stacklevel=2,
            )

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        if self.monitor is None:
            return
        value = loss.detach().reshape(())
        self._loss = value if self._loss is None else self._loss + value

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        if self.monitor is None or self._loss is None:
            return  # no backward since the last step (training_step returned None)
        loss, self._loss = self._loss, None
        scaler = _scaler(trainer)
        if scaler is not None:
            # The loss was multiplied by the scale before backward; the scale changes only in
            # scaler.update(), after the optimizer step, so it is the same for the whole step.
            loss = loss.double() / scaler.get_scale()
        self.monitor.record(loss, scaler=scaler)

    def on_fit_end(self, trainer, pl_module) -> None:
        self._stop()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._stop()
