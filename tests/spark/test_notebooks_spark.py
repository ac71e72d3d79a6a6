"""The Spark notebooks, on a fresh kernel each: iris on local[2], the cluster notebook on a standalone cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from notebook_runner import execute, outputs, use_test_kernel


def test_iris_with_sparktrials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_kernel(tmp_path, monkeypatch)
    monkeypatch.setenv("SPARKTUNE_MASTER", "local[2]")
    nb = execute("02_iris_sparktrials.ipynb", tmp_path)
    assert outputs(nb, "image/png") == 3, "history, loss vs parameter, timeline"
    assert outputs(nb, "text/html") >= 1, "cv_results_ as a table"


def test_standalone_cluster_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standalone_master: str) -> None:
    use_test_kernel(tmp_path, monkeypatch)
    monkeypatch.setenv("SPARKTUNE_MASTER", standalone_master)
    nb = execute("04_standalone_cluster.ipynb", tmp_path)
    assert outputs(nb, "image/png") == 2, "two timelines"
    master_cell = next(c for c in nb.cells if c.cell_type == "code" and "SparkSession" in c.source)
    assert standalone_master in str(master_cell.outputs)
