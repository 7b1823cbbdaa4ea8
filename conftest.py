"""Root pytest configuration: runs under tests stay quiet (no progress bars in stored outputs).

Set before any kernel starts, so nbval's kernels inherit it too.
"""

import os

os.environ.setdefault("VG_QUIET", "1")
os.environ.setdefault("VG_THREADS", "1")
