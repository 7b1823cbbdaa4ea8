"""Every model the course builds, one module per family.

- ``helpers.models.perceptron``: :func:`mlp`, with its norms and residual blocks;
  ``helpers.models.initializers``: the initializations, each stating its variance rule and paper.
- ``helpers.models.conv``: the capstone's small 1-D conv net (``conv_net``).
- ``helpers.models.recurrent``: the RNN, GRU and LSTM regressors (``make_model``).
- ``helpers.models.transformer``: a pre-/post-LN transformer block and stack.
The data sets the models train on live in :mod:`helpers.data`; ``toy_regression`` and
``mean_baseline_loss`` stay importable from here.
"""

from helpers.data import mean_baseline_loss, toy_regression
from helpers.models.initializers import (
    INITIALIZERS,
    INITS,
    LEAKY_SLOPE,
    NEEDS_SCALE,
    init_default,
    init_he,
    init_linear,
    init_normal,
    init_orthogonal,
    init_uniform,
    init_xavier,
    initialize,
    linear_layers,
)
from helpers.models.perceptron import MAX_PARAMETERS, NORMS, ResidualBlock, mlp, parameter_count

__all__ = [
    "INITIALIZERS",
    "INITS",
    "LEAKY_SLOPE",
    "MAX_PARAMETERS",
    "NEEDS_SCALE",
    "NORMS",
    "ResidualBlock",
    "init_default",
    "init_he",
    "init_linear",
    "init_normal",
    "init_orthogonal",
    "init_uniform",
    "init_xavier",
    "initialize",
    "linear_layers",
    "mean_baseline_loss",
    "mlp",
    "parameter_count",
    "toy_regression",
]
