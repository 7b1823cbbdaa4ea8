"""Notebook setup: one call seeds every generator, picks the thread count and sets the plot style.

Every notebook's setup cell calls :func:`setup`. Training loops use :func:`progress`, which shows
a progress bar in JupyterLab and stays silent under tests (``VG_QUIET=1``, set by the Makefile).

Every setup cell begins with :data:`COLAB_PREAMBLE` (a copy: on Colab the package is not there
yet to import it from), which installs the toolkit and this package from the repository without
their dependencies, so Colab's own torch, numpy and matplotlib stay as they are; everywhere else
it does nothing. tests/test_notebook_shape.py checks the copies, tests/colab the route.
"""

import contextlib
import os
import random
import warnings

import numpy as np

DEFAULT_SEED = 0

REPOSITORY = "https://github.com/vanishing-gradients/course"
COLAB_PREAMBLE = f"""import sys

if "google.colab" in sys.modules:  # on Colab: install the course's helpers, keep Colab's torch
    %pip install -q --no-deps git+{REPOSITORY}#subdirectory=gradwatch
    %pip install -q --no-deps git+{REPOSITORY}

"""


def badges(notebook: str) -> str:
    """The Binder and "Open in Colab" badges of ``notebook`` (a file name in notebooks/)."""
    slug = REPOSITORY.removeprefix("https://github.com/")
    binder = f"https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=lab/tree/notebooks/{notebook}"
    colab = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{notebook}"
    return (
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder}) "
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})"
    )


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators with ``seed``."""
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (learners may call the legacy global API)
    torch.manual_seed(seed)


def choose_threads() -> int:
    """Thread count for torch: 1 unless ``VG_THREADS`` says otherwise.

    The course's models are a few thousand parameters; for those, thread start-up costs more than
    the arithmetic saves. On a 2-core machine a 12-layer, 32-wide MLP ran about 20x faster with one
    thread than with two while the other core was busy, and Binder grants one CPU while torch
    counts the host's cores. One thread also makes float results independent of the core count.
    """
    value = os.environ.get("VG_THREADS", "1")
    try:
        threads = int(value)
    except ValueError:
        raise ValueError(f"VG_THREADS must be a positive integer, got {value!r}") from None
    if threads < 1:
        raise ValueError(f"VG_THREADS must be a positive integer, got {value!r}")
    return threads


@contextlib.contextmanager
def course_threads():
    """Run the block with :func:`choose_threads` torch threads, then restore the count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(choose_threads())
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def is_quiet() -> bool:
    """True when running under tests or `make execute` (``VG_QUIET`` set to a non-empty value)."""
    return os.environ.get("VG_QUIET", "") not in ("", "0")


def progress(iterable, **tqdm_kwargs):
    """Wrap ``iterable`` in a progress bar in JupyterLab; return it unchanged when quiet."""
    if is_quiet():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **tqdm_kwargs)


# Deprecations raised by the course's own code and its toolkit are errors, in the notebooks (here)
# and under pytest (pyproject.toml's filterwarnings): a deprecated call is fixed before it breaks.
# Warnings from third-party packages are left as they are.
OWN_MODULES = r"(helpers|gradwatch)(\..*)?"


def treat_own_deprecations_as_errors() -> None:
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("error", category=category, module=OWN_MODULES)


def setup(seed: int = DEFAULT_SEED) -> None:
    """Prepare a notebook: seed everything, choose torch's thread count, set the plot style, and
    make deprecation warnings from the course's own modules errors."""
    import torch

    from helpers import plots

    treat_own_deprecations_as_errors()
    seed_everything(seed)
    torch.set_num_threads(choose_threads())
    plots.use_course_style()
