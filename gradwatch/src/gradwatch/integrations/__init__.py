"""Callbacks that run a :class:`gradwatch.GradientMonitor` inside a framework's training loop.

- ``gradwatch.integrations.lightning.GradwatchCallback``: PyTorch Lightning
  (``pip install gradwatch[lightning]``).
- ``gradwatch.integrations.huggingface.GradwatchCallback``: the Hugging Face ``Trainer``
  (``pip install gradwatch[huggingface]``).

Importing this package imports neither framework; each submodule imports its own when it is
imported, and raises ImportError naming the extra to install if the framework is missing.
Both callbacks take ``GradwatchCallback(every=10, forward_stats=False, baseline=None)``, expose
the monitor as ``.monitor`` (None before training starts) and ``.diagnosis()``.
"""

from gradwatch import _checks
from gradwatch.diagnose import Diagnosis, diagnose
from gradwatch.monitor import DEFAULT_EVERY, GradientMonitor


class _MonitorCallback:
    """What both callbacks share: the settings, the monitor's life cycle and ``diagnosis()``."""

    def __init__(
        self,
        every: int = DEFAULT_EVERY,
        forward_stats: bool = False,
        baseline: float | None = None,
    ):
        self.every = _checks.positive_int(every, "every")
        if not isinstance(forward_stats, bool):
            raise TypeError(f"forward_stats must be True or False, got {forward_stats!r}")
        self.forward_stats = forward_stats
        self.baseline = None if baseline is None else _checks.nonnegative(baseline, "baseline")
        self.monitor: GradientMonitor | None = None

    def _start(self, model) -> None:
        """A new monitor on ``model`` (one record per training run)."""
        if self.monitor is not None:
            self.monitor.close()
        self.monitor = GradientMonitor(model, every=self.every, forward_stats=self.forward_stats)

    def _stop(self) -> None:
        if self.monitor is not None:
            self.monitor.close()

    def diagnosis(self) -> Diagnosis:
        """``gradwatch.diagnose(self.monitor, baseline=self.baseline)``."""
        if self.monitor is None:
            raise RuntimeError(
                f"{type(self).__name__} has no record yet: pass it to the Trainer's callbacks "
                "and train first"
            )
        return diagnose(self.monitor, baseline=self.baseline)
