"""Notebook 04's labelled runs, by concept; :mod:`helpers.runs` trains them and re-exports all.

- :mod:`helpers.labelled_runs.recipes`: the 14 runs (:data:`~.recipes.RUNS`), their recipes,
  expected labels and the rules that name their causes;
- :mod:`helpers.labelled_runs.tables`: label, confusion and summary tables;
- :mod:`helpers.labelled_runs.checks`: the notebook's claims about labels, rules and held-out
  scores.
"""
