"""helpers.checklist: the checklist quotes every threshold diagnose applies, and docs/checklist.md
and notebook 11 carry exactly its text."""

import json
from pathlib import Path

import pytest

from helpers import checklist
from helpers.activations import saturation_threshold
from helpers.diagnose import THRESHOLDS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "11_capstone_diagnose_and_fix.ipynb"


_SUPERSCRIPT_DIGITS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def parse_threshold(text: str) -> float:
    """Inverse of checklist.format_threshold: '10⁻³' -> 1e-3, '70%' -> 0.7, '1000' -> 1000."""
    if text.endswith("%"):
        return float(text[:-1]) / 100
    if text.startswith("10") and text[2:3] in ("⁻", "⁰", "¹", "²", "³"):
        return 10.0 ** int(text[2:].translate(_SUPERSCRIPT_DIGITS))
    return float(text)


def test_checklist_quotes_every_threshold_diagnose_applies():
    quoted = set(checklist.CHECKLIST_THRESHOLDS)
    assert quoted == set(THRESHOLDS) - set(checklist.NOT_QUOTED), "update the checklist"
    text = checklist.checklist_markdown()
    for key in quoted:
        printed = checklist.format_threshold(key)
        assert printed in text, key
        assert parse_threshold(printed) == pytest.approx(THRESHOLDS[key].value, rel=1e-12), key
        assert THRESHOLDS[key].source in text, key
    for name in ("sigmoid", "tanh"):
        assert f"±{saturation_threshold(name):g}" in text


@pytest.mark.parametrize(
    ("key", "printed"),
    [("vanishing_ratio", "10⁻³"), ("exploding_ratio", "70"), ("dead_fraction", "70%")],
)
def test_format_threshold(key, printed):
    assert checklist.format_threshold(key) == printed


def test_checklist_has_one_row_per_symptom():
    rows = [line for line in checklist.checklist_markdown().splitlines() if line.startswith("| ")]
    symptoms = [row.split(" | ")[0].lstrip("| ") for row in rows[1:]]
    assert len(symptoms) == 9 and all(row.count(" | ") == 3 for row in rows)
    words_in_symptoms = ("near the baseline", "far below", "NaN", "slowly", "dead ReLU", "RNN",
                         "Transformer", "float16")  # fmt: skip
    for words in words_in_symptoms:
        assert any(words in s for s in symptoms), words


def test_docs_checklist_is_the_generated_one():
    path = ROOT / "docs" / "checklist.md"
    assert path.read_text() == checklist.checklist_document(), (
        'regenerate: python -c "from helpers.capstone import checklist_document; '
        "open('docs/checklist.md', 'w').write(checklist_document())\""
    )


def test_notebook_ends_with_the_same_checklist():
    nb = json.loads(NOTEBOOK.read_text())
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    expected = checklist.checklist_markdown().strip()
    assert expected in [text.strip() for text in markdown], "rebuild notebook 11's checklist cell"
    position = [text.strip() for text in markdown].index(expected)
    assert all(not text.startswith("## ") or "Summary" in text or "reading" in text
               for text in markdown[position + 1:])  # fmt: skip
