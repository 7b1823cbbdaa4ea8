"""environment.yml (conda, Binder) and pyproject.toml (pip) name the same runtime packages."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name, where they differ.
CONDA_NAME = {"torch": "pytorch-cpu"}
# Packages of this repository: environment.yml installs them from their folders with pip.
LOCAL = {"gradwatch": "./gradwatch"}


def pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["dependencies"]:
        if requirement.split("=")[0] in LOCAL:
            continue
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9.]+)\.\*", requirement).groups()
        pins[CONDA_NAME.get(name, name)] = version
    return pins


def conda_requirements() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str) and entry not in ("pip",):
            name, _, version = entry.partition("=")
            pins[name] = version
    return pins


def test_every_runtime_package_pinned_with_a_release_series():
    assert all(pip_requirements().values())
    assert all(conda_requirements().values())


def test_conda_and_pip_name_the_same_runtime_packages():
    conda = conda_requirements()
    assert conda.pop("python") == "3.11"
    assert set(conda) == set(pip_requirements())


def test_conda_and_pip_pin_the_same_release_series():
    assert conda_requirements() | {"python": None} == pip_requirements() | {"python": None}


def test_environment_installs_the_course_package_from_the_repo():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(e["pip"] for e in environment["dependencies"] if isinstance(e, dict))
    assert "-e ." in pip_section
    for folder in LOCAL.values():  # the toolkit first: the course depends on it
        assert pip_section.index(f"-e {folder}") < pip_section.index("-e .")


def test_conda_uses_only_conda_forge_and_cpu_torch():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert environment["channels"] == ["conda-forge"]
    assert "pytorch-cpu" in conda_requirements()


def test_torch_is_pinned_to_one_cpu_release():
    # A range admitting newer torch pulls a multi-gigabyte CUDA build from PyPI.
    assert pip_requirements()["pytorch-cpu"] == "2.13"
