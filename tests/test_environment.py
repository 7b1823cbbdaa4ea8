"""pyproject.toml (ranges), constraints.txt (the exact versions `make` and CI install) and
environment.yml (conda, Binder: those exact versions) agree, and the Makefile applies the
constraints and admits Python 3.11 to 3.13."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name, where they differ.
CONDA_NAME = {"torch": "pytorch-cpu"}
# Packages of this repository: environment.yml installs them from their folders with pip.
LOCAL = {"gradwatch": "./gradwatch"}
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(group: str | None = None) -> dict[str, SpecifierSet]:
    """{name: specifier} of the runtime dependencies, or of an optional group."""
    listed = (
        project()["dependencies"] if group is None else project()["optional-dependencies"][group]
    )
    parsed = (Requirement(line) for line in listed)
    return {r.name.lower(): r.specifier for r in parsed if r.name not in LOCAL}


def constraints() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][0-9A-Za-z.+]*)", line).groups()
            pins[name.lower().replace("_", "-")] = Version(version)
    return pins


def conda_pins() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str) and entry != "pip":
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(.*)", entry).groups()
            # "numpy=2.4.6" is an exact pin; "python>=3.11,<3.14" a range, kept as written
            pins[name] = version[1:] if re.match(r"=[0-9]", version) else version
    return pins


def test_runtime_dev_and_site_packages_are_ranges_with_a_lower_bound():
    for name, spec in {**requirements(), **requirements("dev"), **requirements("site")}.items():
        assert any(s.operator == ">=" for s in spec), f"{name}: needs a tested lower bound"
        assert not any(s.operator == "==" for s in spec), f"{name}: exact pins go to constraints"


@pytest.mark.parametrize("group", [None, "dev", "site"])
def test_constraints_pin_every_package_within_its_range(group):
    pins = constraints()
    for name, spec in requirements(group).items():
        assert name in pins, f"constraints.txt does not pin {name}"
        assert spec.contains(pins[name]), f"{name}=={pins[name]} is outside {spec}"


def test_each_lower_bound_is_the_tested_release():
    # "tested lower bound": the pinned (tested) release is the lowest the range admits, to the
    # precision the bound is written with (numpy>=2.4 admits the tested 2.4.6).
    pins = constraints()
    for name, spec in {**requirements(), **requirements("dev"), **requirements("site")}.items():
        bound = Version(next(s.version for s in spec if s.operator == ">="))
        tested = pins[name]
        assert tested.release[: len(bound.release)] == bound.release, (name, bound, tested)


def test_torch_is_held_at_the_local_cpu_release():
    # Without the pin pip takes a newer torch, a multi-gigabyte CUDA build from PyPI.
    assert constraints()["torch"] == Version("2.13.0")
    assert requirements()["torch"].contains("2.13.0")


def test_conda_pins_the_constraints_versions_of_the_runtime_packages():
    conda = conda_pins()
    python = SpecifierSet(conda.pop("python"))
    assert all(python.contains(v) for v in SUPPORTED_PYTHONS) and not python.contains("3.14")
    pins = constraints()
    expected = {CONDA_NAME.get(name, name): str(pins[name]) for name in requirements()}
    assert conda == expected


def test_environment_installs_the_course_package_from_the_repo():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(e["pip"] for e in environment["dependencies"] if isinstance(e, dict))
    assert "-e ." in pip_section
    for folder in LOCAL.values():  # the toolkit first: the course depends on it
        assert pip_section.index(f"-e {folder}") < pip_section.index("-e .")


def test_conda_uses_only_conda_forge_and_cpu_torch():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert environment["channels"] == ["conda-forge"]
    assert "pytorch-cpu" in conda_pins()


def test_package_metadata_admits_python_3_11_to_3_13():
    for pyproject in (ROOT / "pyproject.toml", ROOT / "gradwatch" / "pyproject.toml"):
        spec = SpecifierSet(tomllib.loads(pyproject.read_text())["project"]["requires-python"])
        for version in SUPPORTED_PYTHONS:
            assert spec.contains(version), f"{pyproject}: {version}"
        assert not spec.contains("3.10")


def test_makefile_applies_the_constraints_to_every_install():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    for line in installs:
        assert "--upgrade pip" in line or "-c constraints.txt" in line or "PIP_INSTALL" in line
    assert "PIP_INSTALL = $(BIN)/python -m pip install -qq -c constraints.txt" in makefile


def test_choose_python_prints_a_supported_interpreter():
    chosen = subprocess.run(
        ["sh", "scripts/choose_python.sh"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    version = subprocess.run(
        [chosen, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version in SUPPORTED_PYTHONS
