"""Every notebook follows the course's shape and was saved from a clean top-to-bottom run.

nbval checks that stored outputs reproduce; this checks what nbval cannot see: a notebook saved
unexecuted, cells run out of order, a missing badge or section, an output excluded without reason.
"""

import json
import re
from pathlib import Path

import pytest

from helpers.course import COLAB_PREAMBLE, badges

ROOT = Path(__file__).resolve().parents[1]
COURSE_MAP = [
    "01_sigmoid_derivatives",
    "02_chain_rule_product",
    "03_weight_size_effects",
    "04_detecting_vanishing_gradients",
    "05_activation_functions",
    "06_weight_initialization",
    "07_normalization_and_skip_connections",
    "08_which_fix_for_which_cause",
    "09_recurrent_networks_and_lstm",
    "10_transformers_and_mixed_precision",
    "11_capstone_diagnose_and_fix",
]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
NBVAL_MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION")
MARKER_LINES = {f"# {marker}" for marker in (*NBVAL_MARKERS, "NBVAL_CHECK_OUTPUT")}
EXCLUDING_LINES = {"# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP"}
NBVAL_TAGS = {"nbval-ignore-output", "nbval-skip"}
# Cells whose output nbval does not compare (widgets, per-run numbers), over all code cells.
MAX_EXCLUDED_SHARE = 0.10


def load(path):
    return json.loads(path.read_text())


def source(cell):
    return "".join(cell["source"])


def markdown(nb):
    return "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and source(c).strip()]


def test_notebooks_are_named_as_in_the_course_map():
    assert NOTEBOOKS, "no notebooks found"
    assert {p.stem for p in NOTEBOOKS} <= set(COURSE_MAP)


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param, load(request.param)


def test_saved_from_a_fresh_top_to_bottom_run(notebook):
    path, nb = notebook
    counts = [c["execution_count"] for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: re-run with `make execute`"


def test_no_stored_errors(notebook):
    path, nb = notebook
    for cell in code_cells(nb):
        if "NBVAL_RAISES_EXCEPTION" in source(cell):
            continue
        assert all(o["output_type"] != "error" for o in cell["outputs"]), source(cell)[:80]


def test_title_summary_exercises_and_reading(notebook):
    path, nb = notebook
    text = markdown(nb)
    assert nb["cells"][0]["cell_type"] == "markdown" and source(nb["cells"][0]).startswith("# ")
    for heading in ("What you will learn", "Exercises", "Summary", "Further reading"):
        assert re.search(rf"^#+ .*{heading}", text, re.M | re.I), f"{path.name}: no '{heading}'"
    assert re.search(r"(estimated )?time[^\n]*\d+\s*min", text, re.I), f"{path.name}: no time"


def test_binder_badge_opens_this_notebook_in_lab(notebook):
    path, nb = notebook
    assert f"urlpath=lab/tree/notebooks/{path.name}" in markdown(nb)
    assert "mybinder.org/badge_logo.svg" in markdown(nb)


def test_colab_badge_opens_this_notebook_beside_binders(notebook):
    path, nb = notebook
    assert badges(path.name) in source(nb["cells"][0])


def test_setup_cell_begins_with_the_colab_install(notebook):
    # the same preamble everywhere: on Colab it installs the course without touching torch
    path, nb = notebook
    assert source(code_cells(nb)[0]).startswith(COLAB_PREAMBLE), path.name


def test_one_setup_cell_seeds_through_the_course_helper(notebook):
    path, nb = notebook
    setup_cells = [c for c in code_cells(nb) if "helpers.course.setup(" in source(c)]
    assert len(setup_cells) == 1
    assert code_cells(nb)[0] is setup_cells[0], "the setup cell comes first"


def test_exercises_use_check_helpers(notebook):
    path, nb = notebook
    checks = [c for c in code_cells(nb) if re.search(r"\bcheck_\w+\(", source(c))]
    assert 2 <= len(checks) <= 6, f"{path.name}: {len(checks)} exercise checks"


def excluded(cell) -> bool:
    """True if nbval does not compare this cell's output (a marker line or a cell tag)."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    lines = [line.strip() for line in source(cell).splitlines()]
    return bool(tags & NBVAL_TAGS) or any(line in EXCLUDING_LINES for line in lines)


def test_markers_stand_alone_with_the_reason_on_the_next_line(notebook):
    # nbval strips '#' and spaces and looks the rest up: '# NBVAL_IGNORE_OUTPUT: why' is no marker.
    path, nb = notebook
    for cell in code_cells(nb):
        lines = source(cell).splitlines()
        for index, line in enumerate(lines):
            if "NBVAL_" not in line:
                continue
            assert line.strip() in MARKER_LINES, (
                f"{path.name}: {line!r} is not a marker nbval reads"
            )
            reason = lines[index + 1].strip() if index + 1 < len(lines) else ""
            assert reason.startswith("#") and len(reason.lstrip("# ")) > 10, (
                f"{path.name}: {line.strip()} needs its reason in a comment on the next line"
            )


def test_tagged_cells_say_why(notebook):
    path, nb = notebook
    for cell in code_cells(nb):
        if set(cell.get("metadata", {}).get("tags", [])) & NBVAL_TAGS:
            first = source(cell).splitlines()[0].strip()
            assert first.startswith("#") and len(first) > 12, f"{path.name}: tag without reason"


def test_few_cells_are_excluded_from_comparison():
    cells = [c for path in NOTEBOOKS for c in code_cells(load(path))]
    share = sum(excluded(c) for c in cells) / len(cells)
    assert share <= MAX_EXCLUDED_SHARE, f"{share:.0%} of code cells are not compared"


def test_the_sanitizer_leaves_ordinary_numbers_alone():
    text = (ROOT / "tests/nbval-sanitize.cfg").read_text()
    patterns = re.findall(r"^regex: (.*)$", text, re.M)
    replaces = re.findall(r"^replace: (.*)$", text, re.M)
    assert patterns and len(patterns) == len(replaces), "each regex: needs its replace: line"
    for number in ("0.693", "1.6e-12", "42", "3/3", "×0.29", "-0.0075", "100%", "7.2e+02"):
        for pattern in patterns:
            assert not re.search(pattern, number), f"{pattern!r} rewrites the number {number}"


def test_markdown_has_no_control_characters(notebook):
    # A LaTeX command written into a Python string unescaped ("\times", "\frac", "\beta")
    # turns into a tab, form feed or backspace and renders as garbage.
    path, nb = notebook
    found = re.findall(r".{0,20}[\x00-\x08\x0b-\x1f].{0,20}", markdown(nb))
    assert found == [], f"{path.name}: {found}"


def test_code_cells_stay_short(notebook):
    # the Colab preamble of the setup cell is the same fixed block everywhere; it is not counted
    path, nb = notebook
    for cell in code_cells(nb):
        text = source(cell).removeprefix(COLAB_PREAMBLE)
        assert len(text.splitlines()) <= 20, text[:80]


def test_notebook_stays_light(notebook):
    path, _ = notebook
    assert path.stat().st_size < 2_000_000
