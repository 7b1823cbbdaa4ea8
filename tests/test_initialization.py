"""helpers.initialization: every public name is the object its defining module exports.

The module only gathers notebook 06's pieces; their tests live beside the modules that define
them: tests/test_recursion.py, test_signal.py, test_jacobians.py, test_reproductions.py and (the
positive homogeneity of a bias-free ReLU network) test_models.py.
"""

import pytest

from helpers import initialization, jacobians, recursion, reproductions, signal

HOMES = {
    jacobians: (
        "deep_jacobian_spectrum",
        "input_output_jacobian",
        "jacobian_singular_values",
        "layer_jacobian_singular_values",
    ),
    recursion: (
        "INIT_RULES",
        "Recursion",
        "geometric_rate",
        "iterate_mean_var_map",
        "mean_output",
        "mean_var_map",
        "recommended_scale",
        "second_moment",
        "slope_second_moment",
        "variance_recursion",
        "weight_variance",
    ),
    reproductions: (
        "GLOROT_INITS",
        "GlorotRun",
        "TrainabilityMap",
        "TrainingRun",
        "deepest_trainable",
        "depth_scale",
        "glorot_reproduction",
        "he_reproduction",
        "train",
        "trainability_map",
    ),
    signal: ("LayerScales", "gradient_flow", "layer_scales"),
}
HOME = {name: module for module, names in HOMES.items() for name in names}


def test_all_lists_exactly_the_re_exported_names():
    assert sorted(initialization.__all__) == sorted(HOME)


@pytest.mark.parametrize("name", sorted(HOME))
def test_every_public_name_is_its_defining_modules_object(name):
    assert getattr(initialization, name) is getattr(HOME[name], name)
