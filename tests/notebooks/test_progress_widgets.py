"""fmin's progress display in a real Jupyter kernel: tqdm's widget with ipywidgets, text without."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("tqdm")

from notebook_runner import execute_cells, outputs, use_test_kernel, widget_texts  # noqa: E402

RUN = """
from sparktune import fmin, hp, rand
best = fmin(lambda x: (x - 0.3) ** 2, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=5, rstate=0)
"""
WIDGET = "application/vnd.jupyter.widget-view+json"


def stderr_text(nb: Any) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.outputs if o.get("name") == "stderr")


def test_a_notebook_gets_the_widget_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ipywidgets")
    use_test_kernel(tmp_path, monkeypatch)
    monkeypatch.delenv("SPARKTUNE_PROGRESS", raising=False)
    nb = execute_cells([RUN], tmp_path)
    assert outputs(nb, WIDGET) == 1
    assert "5/5" in widget_texts(nb) and "best loss:" in widget_texts(nb)  # its final text
    assert "5/5" not in stderr_text(nb)  # no text bar beside the widget


def test_without_ipywidgets_a_notebook_gets_a_text_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_kernel(tmp_path, monkeypatch)
    monkeypatch.delenv("SPARKTUNE_PROGRESS", raising=False)
    block = "import sys\nsys.modules['ipywidgets'] = None  # as if it were not installed"
    nb = execute_cells([block, RUN], tmp_path)
    assert outputs(nb, WIDGET) == 0
    assert "5/5" in stderr_text(nb)
