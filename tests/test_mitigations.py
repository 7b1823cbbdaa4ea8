"""helpers.mitigations: every public name is the object its defining module exports.

The module only gathers notebook 07's pieces; their tests live beside the modules that define
them: tests/test_comparison.py, test_signal.py, test_adam.py and (the residual block and
residual networks' gradients) test_models.py.
"""

import pytest

from helpers import adam, comparison, course, mitigations, signal

HOMES = {
    adam: ("ADAM_EPS", "AdamOnVanishing", "adam_first_step", "adam_on_vanishing"),
    comparison: (
        "DEFAULT_BUDGET",
        "DEFAULT_SEEDS",
        "FAILING_NETWORK",
        "MITIGATIONS",
        "OPTIMIZERS",
        "Budget",
        "Mitigation",
        "Run",
        "build_model",
        "model_kwargs",
        "parameter_count",
        "train",
        "train_run",
        "training_data",
    ),
    course: ("course_threads",),
    signal: (
        "RESOLUTION",
        "Spread",
        "first_last_ratio",
        "format_spread",
        "hidden_outputs",
        "preactivation_spread",
        "representation_gradients",
        "weight_gradient_after_scaling",
        "weight_gradients",
    ),
}
HOME = {name: module for module, names in HOMES.items() for name in names}


def test_all_lists_exactly_the_re_exported_names():
    assert sorted(mitigations.__all__) == sorted(HOME)


@pytest.mark.parametrize("name", sorted(HOME))
def test_every_public_name_is_its_defining_modules_object(name):
    assert getattr(mitigations, name) is getattr(HOME[name], name)
