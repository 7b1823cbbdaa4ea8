"""The mitigations of notebook 07, measured one mechanism at a time on the failing network of
notebook 03: the small measurements the notebook's sections stand on. The pieces live by concept:

- :mod:`helpers.comparison`: the failing network, the budget, the configurations (the failing
  network with one change each) and their training (through ``helpers.training``);
- :mod:`helpers.signal`: the first/last gradient ratio, the spread of a layer's inputs around a
  norm layer, the gradient reaching each hidden representation;
- :mod:`helpers.adam`: Adam's first step and what it does to vanishing gradients.

Every public name stays importable from here.
"""

from helpers.adam import ADAM_EPS, AdamOnVanishing, adam_first_step, adam_on_vanishing
from helpers.comparison import (
    DEFAULT_BUDGET,
    DEFAULT_SEEDS,
    FAILING_NETWORK,
    MITIGATIONS,
    OPTIMIZERS,
    Budget,
    Mitigation,
    Run,
    build_model,
    model_kwargs,
    parameter_count,
    train,
    train_run,
    training_data,
)
from helpers.course import course_threads
from helpers.signal import (
    RESOLUTION,
    Spread,
    first_last_ratio,
    format_spread,
    hidden_outputs,
    preactivation_spread,
    representation_gradients,
    weight_gradient_after_scaling,
    weight_gradients,
)

__all__ = [
    "ADAM_EPS",
    "RESOLUTION",
    "AdamOnVanishing",
    "Budget",
    "DEFAULT_BUDGET",
    "DEFAULT_SEEDS",
    "FAILING_NETWORK",
    "MITIGATIONS",
    "Mitigation",
    "OPTIMIZERS",
    "Run",
    "Spread",
    "adam_first_step",
    "adam_on_vanishing",
    "build_model",
    "course_threads",
    "first_last_ratio",
    "format_spread",
    "hidden_outputs",
    "model_kwargs",
    "parameter_count",
    "preactivation_spread",
    "representation_gradients",
    "train",
    "train_run",
    "training_data",
    "weight_gradient_after_scaling",
    "weight_gradients",
]
