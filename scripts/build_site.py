"""Build the course's static website from the stored notebooks: `make site`.

Stages the pages in build/site-src (the README as the front page, every notebook, the instructor
guide, the solutions, the checklist and the toolkit's README), then runs Sphinx with myst-nb
(site/conf.py) into build/site. Nothing is re-executed. Two things are rewritten on the way:

- a widget cannot run on a static page, so each explorer's output becomes a still of its
  initial figure (drawn by the explorer itself) and links to run it live on Binder or Colab;
- a link to a repository file that is not a page (environment.yml, helpers/...) points to the
  file on GitHub instead.
"""

import argparse
import ast
import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.course import REPOSITORY, badges  # noqa: E402

WIDGET = "application/vnd.jupyter.widget-view+json"
# pages of the site: repository path -> staged path
DOCS = ["docs/instructor-guide.md", "docs/solutions.md", "docs/checklist.md"]
TOOLKIT = "gradwatch/README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def explorer_stills(source: str) -> list[bytes]:
    """PNG stills of the explorer a cell displays: its last line must call one of the course's
    explorers with literal arguments, which is rebuilt here to read its images."""
    from ipywidgets import widgets

    from helpers.explorers.activation import sigmoid_explorer
    from helpers.explorers.gradient_profile import gradient_profile_explorer

    known = {
        "sigmoid_explorer": sigmoid_explorer,
        "gradient_profile_explorer": gradient_profile_explorer,
    }
    call = ast.parse(source.strip().splitlines()[-1], mode="eval").body
    if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) in known):
        raise ValueError(f"a widget output from a cell that is not a known explorer:\n{source}")
    args = [ast.literal_eval(a) for a in call.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    root = known[call.func.id](*args, **kwargs)
    images, stack = [], [root]
    while stack:
        widget = stack.pop(0)
        if isinstance(widget, widgets.Image):
            images.append(bytes(widget.value))
        stack.extend(getattr(widget, "children", ()))
    return images


def stage_notebook(path: Path, target: Path) -> None:
    nb = nbformat.read(path, 4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code" or not any(WIDGET in o.get("data", {}) for o in cell.outputs):
            continue
        stills = explorer_stills(cell.source)
        note = (
            "*An interactive explorer: on this page you see its first figure. Open the notebook "
            f"live to move its sliders:* {badges(path.name)}"
        )
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": note})] + [
            nbformat.v4.new_output(
                "display_data", data={"image/png": base64.b64encode(png).decode()}
            )
            for png in stills
        ]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source, path.relative_to(ROOT))
    nbformat.write(nb, target)


def staged_name(page: str) -> str:
    """Where a page lies in the staged source: the README becomes the front page, index.md."""
    return "index.md" if page == "README.md" else page


def pages() -> list[str]:
    notebooks = sorted(
        p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")
    )
    return ["README.md", *notebooks, *DOCS, TOOLKIT]


def rewrite_links(text: str, page: Path) -> str:
    """Relative links to repository files that are not pages point to GitHub instead."""
    staged = set(pages())

    def fix(match: re.Match) -> str:
        target = match.group(1)
        if re.match(r"^[a-z]+:|^#|^mailto:", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = (ROOT / page.parent / path).resolve()
        try:
            relative = resolved.relative_to(ROOT).as_posix()
        except ValueError:
            return match.group(0)
        if relative in staged:
            here = Path(staged_name(page.as_posix())).parent
            link = os.path.relpath(staged_name(relative), here)
            return f"]({link}" + (f"#{anchor})" if anchor else ")")
        kind = "tree" if resolved.is_dir() else "blob"
        url = f"{REPOSITORY}/{kind}/main/{relative}" + (f"#{anchor}" if anchor else "")
        return f"]({url})"

    return LINK.sub(fix, text)


def stage(source: Path) -> None:
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    shutil.copy(ROOT / "site" / "conf.py", source / "conf.py")
    for page in pages():
        target = source / staged_name(page)
        target.parent.mkdir(parents=True, exist_ok=True)
        if page.endswith(".ipynb"):
            stage_notebook(ROOT / page, target)
        else:
            text = rewrite_links((ROOT / page).read_text(), Path(page))
            if page == "README.md":
                text += toctree()
            target.write_text(text)


def toctree() -> str:
    entries = [p.removesuffix(".ipynb").removesuffix(".md") for p in pages()[1:]]
    lines = ["", "```{toctree}", ":hidden:", ":maxdepth: 1", "", *entries, "```", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args(argv)
    source = args.out.parent / f"{args.out.name}-src"
    stage(source)
    if args.out.exists():
        shutil.rmtree(args.out)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going"]
    return subprocess.call([*command, str(source), str(args.out)])


if __name__ == "__main__":
    sys.exit(main())
