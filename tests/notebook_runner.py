"""Run a notebook of notebooks/ on a fresh kernel of this interpreter (used by the notebook tests).

The kernel is ``sys.executable`` through a kernelspec written to a temporary ``JUPYTER_PATH``,
with this checkout on its ``PYTHONPATH``; a cell that raises fails the run (``CellExecutionError``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "sparktune-tests"

#: Seconds one cell may take; the Spark cells start a JVM on a busy 2-core machine.
CELL_TIMEOUT = 300


def use_test_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the ``sparktune-tests`` kernel and the environment its kernels inherit."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def execute(name: str, cwd: Path) -> Any:
    """Execute ``notebooks/<name>`` and return the notebook with its outputs."""
    import nbformat

    return _run(nbformat.read(NOTEBOOKS / name, as_version=4), cwd)


def execute_cells(sources: list[str], cwd: Path) -> Any:
    """Execute a notebook made of the code cells ``sources`` and return it with its outputs."""
    import nbformat

    return _run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), cwd)


def _run(nb: Any, cwd: Path) -> Any:
    import nbclient

    resources = {"metadata": {"path": str(cwd)}}
    nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, resources=resources).execute()
    return nb


def outputs(nb: Any, mime: str) -> int:
    """How many outputs of ``mime`` type the executed notebook has."""
    return sum(1 for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if mime in o.get("data", {}))


def widget_texts(nb: Any) -> str:
    """The final text of the executed notebook's widgets (tqdm's bar is one), from the widget
    state nbclient stores; tqdm spaces its text with figure spaces, read here as plain ones."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    values = [str(model["state"].get("value", "")) for model in state.values()]
    return " ".join(values).replace("\u2007", " ")
