"""The Colab route, as far as it can be tried here: an environment that already has torch (the
local 2.13 CPU wheel, as Colab has its own), the setup cell's install command with the GitHub URL
replaced by this clone, and notebook 01 run top to bottom, as it would run on Colab.

`make test-colab` runs it (so does `.ci/run`); `make test` does not: it builds a fresh environment
(about a minute). The install comes from the clone's committed HEAD (``git+file://``), so commit
before running it locally. A fake ``google.colab`` module, put into ``sys.modules`` by an IPython
startup file, makes the setup cell take its Colab branch.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.course import REPOSITORY

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_sigmoid_derivatives.ipynb"
# What a Colab runtime brings before the course is installed (Colab has all of them).
PREINSTALLED = ["torch", "numpy", "matplotlib", "ipywidgets", "tqdm", "ipykernel", "nbconvert"]
FAKE_COLAB = 'import sys, types\nsys.modules["google.colab"] = types.ModuleType("google.colab")\n'


def run(*args, **kwargs) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def torch_fingerprint(python: Path) -> dict:
    """torch's version, where it lives, and a hash of its installed-files record."""
    script = (
        "import importlib.metadata as m, json, torch; d = m.distribution('torch');"
        "print(json.dumps({'version': torch.__version__, 'file': torch.__file__,"
        " 'record': d.read_text('RECORD')}))"
    )
    found = json.loads(run(str(python), "-c", script))
    found["record"] = hashlib.sha256(found["record"].encode()).hexdigest()
    found["mtime"] = os.stat(found["file"]).st_mtime_ns
    return found


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory):
    """A fresh venv with Colab's preinstalled packages (torch from the local wheel)."""
    home = tmp_path_factory.mktemp("colab")
    venv = home / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    python = venv / "bin" / "python"
    run(
        str(python),
        "-m",
        "pip",
        "install",
        "-qq",
        "-c",
        str(ROOT / "constraints.txt"),
        *PREINSTALLED,
    )
    startup = home / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-fake-colab.py").write_text(FAKE_COLAB)
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_PATH": str(venv / "share" / "jupyter"),
        "VG_QUIET": "1",
    }
    env.pop("PYTHONPATH", None)
    return home, python, env


def test_setup_cell_installs_the_course_on_colab_and_keeps_its_torch(colab_like):
    home, python, env = colab_like
    before = torch_fingerprint(python)
    source = NOTEBOOK.read_text().replace(REPOSITORY, f"file://{ROOT}")
    assert f"git+file://{ROOT}" in source
    (home / "notebook.ipynb").write_text(source)
    run(
        str(python), "-m", "nbconvert", "--to", "notebook", "--execute", "notebook.ipynb",
        "--output", "executed.ipynb", "--ExecutePreprocessor.timeout=600",
        cwd=home, env=env,
    )  # fmt: skip
    executed = json.loads((home / "executed.ipynb").read_text())
    errors = [
        o for c in executed["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert errors == []
    assert torch_fingerprint(python) == before, "the setup cell replaced the existing torch"
    where = run(str(python), "-c", "import helpers, gradwatch; print(helpers.__file__)", cwd=home)
    assert str(home / "venv") in where, "helpers was not installed into the environment"
