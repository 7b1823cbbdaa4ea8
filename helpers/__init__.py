"""Helper package for the Vanishing Gradients course.

Every number a notebook states is computed here, and every function here is unit-tested
(`tests/test_<module>.py`). Submodules load on first use, so ``import helpers`` is instant and
``helpers.activations.derivative(...)`` works without a separate import.
"""

import importlib
import pkgutil

__all__ = sorted(
    info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
)


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
