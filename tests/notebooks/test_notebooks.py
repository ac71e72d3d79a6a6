"""The notebooks that need no Spark run top to bottom on a fresh kernel; a failing cell fails the test.

The Spark notebooks run in tests/spark/test_notebooks_spark.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from notebook_runner import NOTEBOOKS, execute, outputs, use_test_kernel, widget_texts  # noqa: E402

SPARK_NOTEBOOKS = {"02_iris_sparktrials.ipynb", "04_standalone_cluster.ipynb"}


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_kernel(tmp_path, monkeypatch)


def test_every_notebook_has_a_test() -> None:
    plain = {"01_quickstart.ipynb", "03_migrating_from_hyperopt.ipynb"}
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == plain | SPARK_NOTEBOOKS


def test_notebooks_are_stored_without_outputs() -> None:
    import nbformat

    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


@pytest.mark.usefixtures("kernel")
def test_quickstart(tmp_path: Path) -> None:
    nb = execute("01_quickstart.ipynb", tmp_path)
    assert outputs(nb, "image/png") == 3, "the hand-made scatter, loss vs parameter, best so far"
    first_fmin = next(c for c in nb.cells if c.cell_type == "code" and "fmin(" in c.source)
    # A text bar on stderr, or (with ipywidgets) tqdm's widget, whose final text is in its state.
    progress = str([o for o in first_fmin.outputs if o.get("name") == "stderr"]) + widget_texts(nb)
    assert "60/60" in progress and "best loss: 0.0" in progress, "fmin shows its progress in the notebook"


@pytest.mark.usefixtures("kernel")
def test_migrating_from_hyperopt(tmp_path: Path) -> None:
    pytest.importorskip("hyperopt")
    nb = execute("03_migrating_from_hyperopt.ipynb", tmp_path)
    assert outputs(nb, "image/png") == 1, "a sparktune figure displays without pyplot being imported"
