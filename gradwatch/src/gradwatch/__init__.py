"""gradwatch: watch per-layer gradients in any PyTorch training loop, and diagnose the run.

    from gradwatch import GradientMonitor, diagnose

    with GradientMonitor(model) as monitor:
        for x, y in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            monitor.record(loss)          # after backward, before the optimizer step
            optimizer.step()
    print(diagnose(monitor, baseline=constant_prediction_loss))

Depends on torch and numpy only. Grew out of the Vanishing Gradients course.
"""

from gradwatch.diagnose import Diagnosis, diagnose
from gradwatch.forward import ForwardProfile, forward_profile
from gradwatch.layers import GradwatchWarning, activation_modules, layer_weights, tracked_layers
from gradwatch.monitor import GradientMonitor, relative_change, snapshot_weights
from gradwatch.plateau import find_plateau
from gradwatch.profile import gradient_profile
from gradwatch.thresholds import (
    INSUFFICIENT,
    LABELS,
    MIN_ROWS,
    OUTCOMES,
    RULES,
    THRESHOLDS,
    Threshold,
)

__version__ = "0.1.0"
__all__ = [
    "INSUFFICIENT",
    "LABELS",
    "MIN_ROWS",
    "OUTCOMES",
    "RULES",
    "THRESHOLDS",
    "Diagnosis",
    "ForwardProfile",
    "GradientMonitor",
    "GradwatchWarning",
    "Threshold",
    "activation_modules",
    "diagnose",
    "find_plateau",
    "forward_profile",
    "gradient_profile",
    "layer_weights",
    "relative_change",
    "snapshot_weights",
    "tracked_layers",
]
