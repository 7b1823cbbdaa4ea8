"""docs/solutions.md is generated from the exercise registry and must be up to date."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_writer():
    spec = importlib.util.spec_from_file_location(
        "write_solutions", ROOT / "scripts/write_solutions.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_solutions_doc_is_up_to_date():
    writer = load_writer()
    assert writer.TARGET.read_text() == writer.render(), "run: python scripts/write_solutions.py"


def test_every_exercise_has_a_collapsed_solution():
    from helpers import exercises

    text = (ROOT / "docs/solutions.md").read_text()
    for name in exercises.load_all():
        assert f"<code>{name}</code>" in text
    assert text.count("<details>") == len(exercises.load_all())
