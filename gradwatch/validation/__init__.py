"""Out-of-sample validation runs for gradwatch: labelled training runs written like outside code.

``SCENARIOS`` (in :mod:`scenarios`) lists them; README.md explains how each label was decided.
"""
