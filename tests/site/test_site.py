"""`make site`: the static website builds offline from the stored notebooks, every page is there,
every internal link and anchor resolves, and the explorers show a still and a way to run them.
`make test-site` runs this (so does `.ci/run`); it needs the `site` extra."""

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
PAGES = [
    "index.html",
    *(f"notebooks/{stem}.html" for stem in NOTEBOOKS),
    "docs/instructor-guide.html",
    "docs/solutions.html",
    "docs/checklist.html",
    "gradwatch/README.html",
]


class Links(HTMLParser):
    """The href and src attributes of a page, and the ids it defines."""

    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def parse(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "html"
    done = subprocess.run(
        [sys.executable, "scripts/build_site.py", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]  # -W: no warnings
    return out


def test_every_page_is_built(site):
    missing = [page for page in PAGES if not (site / page).is_file()]
    assert missing == []


def test_every_internal_link_and_anchor_resolves(site):
    broken = []
    parsed = {}
    pages = [p for p in sorted(site.rglob("*.html")) if "_static" not in p.parts]  # no templates
    assert len(pages) >= len(PAGES)
    for page in pages:
        for link in parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed.setdefault(target, parse(target).ids)
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)} -> {link} (no such anchor)")
    assert broken == []


def test_links_to_repository_files_that_are_not_pages_point_to_github():
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_site import rewrite_links

    text = "[env](environment.yml), [guide](docs/solutions.md), [toolkit](gradwatch/README.md#api)"
    assert rewrite_links(text, Path("README.md")) == (
        "[env](https://github.com/vanishing-gradients/course/blob/main/environment.yml), "
        "[guide](docs/solutions.md), [toolkit](gradwatch/README.md#api)"
    )
    front = rewrite_links("[course](../README.md), [code](../helpers)", Path("gradwatch/README.md"))
    assert (
        front
        == "[course](../index.md), [code](https://github.com/vanishing-gradients/course/tree/main/helpers)"
    )


@pytest.mark.parametrize("stem", ["01_sigmoid_derivatives", "03_weight_size_effects"])
def test_explorers_show_a_still_figure_and_links_to_run_them_live(site, stem):
    html = (site / "notebooks" / f"{stem}.html").read_text(encoding="utf-8")
    note = html.index("An interactive explorer")
    after = html[note : note + 20000]
    assert (
        f"colab.research.google.com/github/vanishing-gradients/course/blob/main/notebooks/{stem}"
        in after
    )
    assert "mybinder.org/v2/gh/vanishing-gradients/course" in after
    assert re.search(r'<img[^>]+src="[^"]+\.png"', after), "no still figure after the note"
    assert "widget-view" not in html
