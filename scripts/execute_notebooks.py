"""Re-execute notebooks in a fresh kernel (this environment's Python) and save their outputs.

Usage: python scripts/execute_notebooks.py notebooks/01_*.ipynb [...]
Prints each notebook's wall time and the kernel's peak resident memory. With --check, runs
without saving (used by the benchmarks).
"""

import argparse
import sys
import time
from pathlib import Path

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient


class CurrentEnvKernelSpecs(KernelSpecManager):
    """Resolve every kernel name to this interpreter, whatever kernels the user has installed."""

    def get_kernel_spec(self, kernel_name):
        return self.kernel_spec_class(
            resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict()
        )


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of process ``pid`` in MB, read from /proc (Linux only)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def execute(path: Path, save: bool = True, timeout: int = 600) -> tuple[float, float]:
    """Run ``path`` top to bottom in a fresh kernel; return (seconds, peak MB)."""
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=CurrentEnvKernelSpecs())
    client = NotebookClient(
        nb, km=km, timeout=timeout, resources={"metadata": {"path": str(path.parent)}}
    )
    peak = float("nan")
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        elapsed = time.perf_counter() - start
        process = getattr(km.provisioner, "process", None)
        if process is not None:
            peak = peak_rss_mb(process.pid)
    client.set_widgets_metadata()
    if save:
        nbformat.write(nb, path)
    return elapsed, peak


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="run without saving outputs")
    args = parser.parse_args(argv)
    print(f"{'notebook':42} {'time (s)':>9} {'peak MB':>8}")
    for path in args.notebooks:
        seconds, peak = execute(path, save=not args.check)
        print(f"{path.name:42} {seconds:9.1f} {peak:8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
