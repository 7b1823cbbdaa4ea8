"""Sphinx configuration of the course's static website (`make site`; scripts/build_site.py
stages the pages beside this file). Notebooks are rendered from their stored outputs, never
executed, and the build needs no network: the theme ships its assets."""

project = "Vanishing Gradients"
author = "The Vanishing Gradients course"
copyright = "2026, the Vanishing Gradients course (MIT licence)"

extensions = ["myst_nb"]
nb_execution_mode = "off"  # the stored outputs are the ones nbval validated
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "Vanishing Gradients"
html_theme_options = {
    "repository_url": "https://github.com/vanishing-gradients/course",
    "use_repository_button": True,
    "show_toc_level": 2,
}
html_show_sourcelink = False
