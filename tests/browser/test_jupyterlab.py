"""Run the course in a real JupyterLab, in headless Chromium, the way a learner would.

For each notebook: open it, "Run All Cells" through the menu, wait for the kernel, and assert that
no cell shows an error. For each explorer widget: it renders, and changing a slider redraws its
figure. By default (`make test`) only the notebooks with an explorer run, whole: every widget and
full notebooks are driven through the UI, and nbval already executes every notebook. With
``VG_BROWSER_ALL=1`` (`make test-browser-all`, which `.ci/run` runs) every notebook does.

The server works on a temporary copy of the notebooks, so autosave cannot touch the stored
outputs. Needs Debian's chromium (`/usr/bin/chromium`), which `.ci/run` installs; skipped
with a message only where it is missing.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("VG_CHROMIUM", "/usr/bin/chromium")
CELL_TIMEOUT_MS = 60_000
ATTEMPTS = 2
# Notebooks with an explorer widget, and how many: the test moves a slider in each.
EXPLORERS = {"01_sigmoid_derivatives": 1, "03_weight_size_effects": 1}
ALL_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
RUN_ALL = os.environ.get("VG_BROWSER_ALL", "") not in ("", "0")
NOTEBOOKS = ALL_NOTEBOOKS if RUN_ALL else [p for p in ALL_NOTEBOOKS if p.stem in EXPLORERS]
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Render every cell (no virtual scrolling) so the test sees every prompt and output.
NOTEBOOK_SETTINGS = '{"windowingMode": "none"}'

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
    "(.ci/run does) or set VG_CHROMIUM",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A private JupyterLab on loopback, serving a copy of the notebooks; yields its base URL."""
    workdir = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", workdir / "notebooks")
    settings = workdir / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(NOTEBOOK_SETTINGS)
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "VG_QUIET"}  # show progress bars as in lab
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={workdir}",
        f"--LabApp.user_settings_dir={workdir / 'settings'}",
        f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
        "--LabApp.news_url=",
    ]
    log = open(workdir / "server.log", "w")  # noqa: SIM115 (closed in teardown)
    server = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                log.close()
                pytest.fail(f"JupyterLab did not start:\n{(workdir / 'server.log').read_text()}")
            time.sleep(0.5)
    yield base, token
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def run_all_cells(page) -> None:
    """Run every cell through the Run menu; wait until the kernel is idle with nothing queued."""
    page.locator(".jp-Notebook").wait_for(timeout=60_000)
    kernel_dialog = page.locator(".jp-Dialog").filter(has_text="Select Kernel")
    if kernel_dialog.count():
        kernel_dialog.get_by_role("button", name="Select").click()
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # Done when the kernel is idle, nothing is queued, and either every non-empty code cell has
    # an execution count or a cell failed (JupyterLab then stops running the rest).
    page.wait_for_function(
        """() => {
            const cells = [...document.querySelectorAll('.jp-CodeCell')].filter(
                c => c.querySelector('.cm-content').textContent.trim() !== '');
            const prompts = cells.map(c => c.querySelector('.jp-InputPrompt').textContent);
            const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
            const failed = document.querySelector('.jp-RenderedText[data-mime-type$="error"]');
            return cells.length > 0 && indicator && indicator.dataset.status === 'idle'
                && !prompts.some(p => p.includes('*'))
                && (failed !== null || prompts.every(p => /\\[\\d+\\]/.test(p)));
        }""",
        timeout=CELL_TIMEOUT_MS * 3,
        polling=1000,
    )


def unexecuted_cells(page) -> list[str]:
    """Sources (first line) of non-empty code cells that have no execution count."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-CodeCell')]
            .filter(c => c.querySelector('.cm-content').textContent.trim() !== '')
            .filter(c => !/\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').textContent))
            .map(c => c.querySelector('.cm-content').textContent.slice(0, 80))"""
    )


def error_outputs(page) -> list[str]:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    texts = [t.inner_text()[:300] for t in tracebacks.all()]
    texts += [t.inner_text()[:300] for t in errors.all() if "Traceback" in t.inner_text()]
    return texts


def figure_sources(widget) -> list[str]:
    return [img.get_attribute("src") or "" for img in widget.locator("img").all()]


def exercise_explorers(page, expected: int) -> int:
    """Move the first slider of every explorer; assert its figure redraws. Returns the count."""
    selector = ".jp-OutputArea-output .widget-vbox:has(.widget-slider)"
    if expected:  # widget views render after their cell finishes: wait for them to appear
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[selector, expected]
        )
    boxes = page.locator(selector).all()
    outermost = "xpath=ancestor::*[contains(@class, 'widget-vbox')]"
    explorers = [box for box in boxes if not box.locator(outermost).count()]
    for explorer in explorers:
        explorer.scroll_into_view_if_needed()
        explorer.locator("img").first.wait_for(timeout=30_000)
        before = figure_sources(explorer)
        readout = explorer.locator(".widget-slider .widget-readout").first
        old = readout.inner_text().strip()
        readout.click()
        readout.fill(nudge(old))
        readout.press("Enter")
        page.wait_for_function(
            "([el, before]) => [...el.querySelectorAll('img')].map(i => i.src).join() !== before",
            arg=[explorer.element_handle(), ",".join(before)],
            timeout=10_000,
        )
    return len(explorers)


def nudge(value: str) -> str:
    """A different value for a slider readout: a little larger, or smaller at the top of range."""
    number = float(value)
    return f"{number * 0.5 if number else 1:g}"


def shut_down_kernels(base: str, token: str) -> None:
    """Delete every session, so each notebook starts with the machine to itself."""
    headers = {"Authorization": f"token {token}"}
    request = urllib.request.Request(f"{base}/api/sessions", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        url = f"{base}/api/sessions/{session['id']}"
        request = urllib.request.Request(url, headers=headers, method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def run_in_lab(browser, base: str, token: str, notebook: Path, attempt: int):
    """Open ``notebook`` in a new, empty workspace, run all cells, move every explorer's slider.

    Returns (error outputs, unexecuted cells, explorers exercised). A workspace of its own keeps
    JupyterLab from restoring earlier notebooks into the page.
    """
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    workspace = f"{base}/lab/workspaces/{notebook.stem}-{attempt}/tree/notebooks/{notebook.name}"
    try:
        page.goto(f"{workspace}?token={token}")
        run_all_cells(page)
        expected = EXPLORERS.get(notebook.stem, 0)
        return error_outputs(page), unexecuted_cells(page), exercise_explorers(page, expected)
    finally:
        page.close()
        shut_down_kernels(base, token)


def test_every_explorer_notebook_exists():
    # a renamed notebook would otherwise silently drop out of the default browser run
    assert set(EXPLORERS) <= {p.stem for p in ALL_NOTEBOOKS}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab_without_errors(lab, browser, notebook):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    base, token = lab
    # On a loaded machine JupyterLab occasionally shuts down the kernel it has just started for
    # a freshly opened notebook, and the page then waits for a kernel forever. A second attempt
    # in a new page is allowed for that (a timeout) only; an error in a cell fails at once.
    for attempt in range(ATTEMPTS):
        try:
            errors, unexecuted, explorers = run_in_lab(browser, base, token, notebook, attempt)
            break
        except PlaywrightTimeout:
            if attempt == ATTEMPTS - 1:
                raise
    assert errors == []
    assert unexecuted == []
    assert explorers == EXPLORERS.get(notebook.stem, 0)
