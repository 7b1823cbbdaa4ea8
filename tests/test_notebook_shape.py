"""Every notebook follows the course's shape and was saved from a clean top-to-bottom run.

nbval checks that stored outputs reproduce; this checks what nbval cannot see: a notebook saved
unexecuted, cells run out of order, a missing badge or section, an output excluded without reason.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE_MAP = [
    "01_sigmoid_derivatives",
    "02_chain_rule_product",
    "03_weight_size_effects",
    "04_detecting_vanishing_gradients",
    "05_activation_functions",
    "06_weight_initialization",
    "07_normalization_and_skip_connections",
    "08_recurrent_networks_and_lstm",
    "09_capstone_diagnose_and_fix",
]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
NBVAL_MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION")


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


def test_one_setup_cell_seeds_through_the_course_helper(notebook):
    path, nb = notebook
    setup_cells = [c for c in code_cells(nb) if "helpers.course.setup(" in source(c)]
    assert len(setup_cells) == 1
    assert code_cells(nb)[0] is setup_cells[0], "the setup cell comes first"


def test_exercises_use_check_helpers(notebook):
    path, nb = notebook
    checks = [c for c in code_cells(nb) if re.search(r"\bcheck_\w+\(", source(c))]
    assert 2 <= len(checks) <= 6, f"{path.name}: {len(checks)} exercise checks"


def test_every_excluded_output_says_why(notebook):
    path, nb = notebook
    for cell in code_cells(nb):
        for line in source(cell).splitlines():
            if any(marker in line for marker in NBVAL_MARKERS):
                reason = line.split(":", 1)[1].strip() if ":" in line else ""
                assert len(reason) > 10, f"{path.name}: '{line}' gives no reason"


def test_markdown_has_no_control_characters(notebook):
    # A LaTeX command written into a Python string unescaped ("\times", "\frac", "\beta")
    # turns into a tab, form feed or backspace and renders as garbage.
    path, nb = notebook
    found = re.findall(r".{0,20}[\x00-\x08\x0b-\x1f].{0,20}", markdown(nb))
    assert found == [], f"{path.name}: {found}"


def test_code_cells_stay_short(notebook):
    path, nb = notebook
    for cell in code_cells(nb):
        assert len(source(cell).splitlines()) <= 20, source(cell)[:80]


def test_notebook_stays_light(notebook):
    path, _ = notebook
    assert path.stat().st_size < 2_000_000
