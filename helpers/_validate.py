"""Argument checks shared by the public entry points.

Each check raises an error that names the argument, the value it got and what is allowed,
so a learner can act on the message. Validate once, at the public boundary. The checks are the
toolkit's own (``gradwatch._checks``), so the course and the toolkit word their errors alike.
"""

from gradwatch._checks import choice, nonnegative, positive, positive_int, real_array

__all__ = ["choice", "nonnegative", "positive", "positive_int", "real_array"]
