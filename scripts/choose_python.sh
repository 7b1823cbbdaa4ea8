#!/bin/sh
# Print the Python that `make` builds the environment with (PYTHON=... overrides it).
# First choice: a supported Python (3.11-3.13) for which pip finds the pinned torch on this
# machine without a download (a local wheel, as on the course's reference machine: 3.11).
# Otherwise the newest supported Python that runs; otherwise python3 (the Makefile then refuses
# it with a message if its version is not supported).
torch=$(sed -n 's/^torch==//p' "$(dirname "$0")/../constraints.txt")
runs() { "$1" -c 'import sys' >/dev/null 2>&1; }
for version in 3.11 3.12 3.13; do
  py=$(command -v "python$version") || continue
  runs "$py" || continue
  if "$py" -m pip install --dry-run -q --no-index --no-deps "torch==$torch" >/dev/null 2>&1; then
    echo "$py"
    exit 0
  fi
done
for version in 3.13 3.12 3.11; do
  py=$(command -v "python$version") || continue
  if runs "$py"; then
    echo "$py"
    exit 0
  fi
done
command -v python3
