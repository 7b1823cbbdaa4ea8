"""How the weight variance carries a signal through depth (notebook 06; notebook 05 uses the
Gaussian expectations and :func:`gradient_flow`). The pieces live by concept:

- :mod:`helpers.recursion`: the initialization rules, Gaussian expectations of each activation,
  the variance recursion q_l / χ_l and :func:`geometric_rate`;
- :mod:`helpers.signal`: per-layer forward and backward scales of a real network;
- :mod:`helpers.jacobians`: input-output Jacobian spectra;
- :mod:`helpers.reproductions`: the Glorot, He and Schoenholz reproductions (trained through
  ``helpers.training``).

Every public name stays importable from here.
"""

from helpers.jacobians import (
    deep_jacobian_spectrum,
    input_output_jacobian,
    jacobian_singular_values,
    layer_jacobian_singular_values,
)
from helpers.recursion import (
    INIT_RULES,
    Recursion,
    geometric_rate,
    iterate_mean_var_map,
    mean_output,
    mean_var_map,
    recommended_scale,
    second_moment,
    slope_second_moment,
    variance_recursion,
    weight_variance,
)
from helpers.reproductions import (
    GLOROT_INITS,
    GlorotRun,
    TrainabilityMap,
    TrainingRun,
    deepest_trainable,
    depth_scale,
    glorot_reproduction,
    he_reproduction,
    train,
    trainability_map,
)
from helpers.signal import LayerScales, gradient_flow, layer_scales

__all__ = [
    "GLOROT_INITS",
    "INIT_RULES",
    "GlorotRun",
    "LayerScales",
    "Recursion",
    "TrainabilityMap",
    "TrainingRun",
    "deep_jacobian_spectrum",
    "deepest_trainable",
    "depth_scale",
    "geometric_rate",
    "glorot_reproduction",
    "gradient_flow",
    "he_reproduction",
    "input_output_jacobian",
    "iterate_mean_var_map",
    "jacobian_singular_values",
    "layer_jacobian_singular_values",
    "layer_scales",
    "mean_output",
    "mean_var_map",
    "recommended_scale",
    "second_moment",
    "slope_second_moment",
    "train",
    "trainability_map",
    "variance_recursion",
    "weight_variance",
]
