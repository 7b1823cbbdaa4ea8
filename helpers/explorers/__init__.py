"""Interactive explorers (ipywidgets) used in the notebooks.

Each explorer separates a pure ``compute`` step (tested, benchmarked: under 100 ms per change)
from the drawing, so a slider moves the picture in a blink and the tests can drive it headless.
"""
