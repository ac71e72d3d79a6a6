"""The progress display: counts, styles, switching it off."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from sparktune import STATUS_FAIL, STATUS_OK, fmin, hp, progress, rand
from sparktune.exceptions import InvalidArgumentError


def objective(x: float) -> dict[str, object]:
    return {"status": STATUS_FAIL} if x > 0.7 else {"status": STATUS_OK, "loss": x}


def run(show: object = True, n: int = 10) -> None:
    fmin(objective, hp.uniform("x", 0, 1), algo=rand.suggest, max_evals=n, rstate=np.random.default_rng(0),
         show_progressbar=show)  # type: ignore[arg-type]  # fmt: skip


def test_postfix_text() -> None:
    assert progress.postfix(None) == "best loss: ?"
    assert progress.postfix(0.123456789, running=3, failed=2) == "best loss: 0.123457, running: 3, failed: 2"


def test_bar_gets_done_running_failed_and_best_for_each_trial() -> None:
    seen: list[tuple[int, str]] = []

    class Bar:
        postfix = ""

        def update(self, n: int) -> None:
            seen.append((n, self.postfix))

    @contextlib.contextmanager
    def factory(initial: int, total: int) -> Iterator[Bar]:
        yield Bar()

    run(factory)
    finished = [p for n, p in seen if n == 1]
    started = [p for n, p in seen if n == 0]
    assert len(finished) == 10 and len(started) == 10
    assert all("running: 1" in p for p in started), "a started trial shows as running"
    assert "failed:" in finished[-1] and "running" not in finished[-1]
    failed = [int(m.group(1)) for p in finished if (m := re.search(r"failed: (\d+)", p))]
    assert failed == sorted(failed)
    bests = [float(re.search(r"best loss: ([\d.e-]+)", p).group(1)) for p in finished if "?" not in p]  # type: ignore[union-attr]
    assert bests == sorted(bests, reverse=True)


def test_text_style_writes_plain_lines_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    run(True)
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    assert lines[0].startswith("sparktune: 1/10 trials done, best loss:")
    assert lines[-1].startswith("sparktune: 10/10 trials done, best loss:") and "failed:" in lines[-1]
    assert len(lines) == 2, "the first and the last line; no more within _TEXT_EVERY seconds"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_tqdm_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    err = _Tty()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    run(True)
    text = err.getvalue()
    assert "\r" in text and "10/10" in text and "best loss:" in text and "trial/s" in text


@pytest.mark.parametrize("value", ["off", "0", "OFF"])
def test_env_switches_it_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    err = _Tty()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv(progress.ENV_VAR, value)
    run(True)
    assert err.getvalue() == ""


def test_env_forces_text_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Tty()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv(progress.ENV_VAR, "text")
    run(True, n=3)
    assert err.getvalue().splitlines()[-1].startswith("sparktune: 3/3 trials done")


def test_env_rejects_unknown_styles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.ENV_VAR, "fancy")
    with pytest.raises(InvalidArgumentError, match="SPARKTUNE_PROGRESS must be one of"):
        run(True, n=1)


def test_false_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    run(False)
    assert capsys.readouterr().err == ""


def test_notebook_detection_uses_the_kernel_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    class ZMQInteractiveShell:
        pass

    class FakeIPython:
        @staticmethod
        def get_ipython() -> object:
            return ZMQInteractiveShell()

    monkeypatch.setitem(sys.modules, "IPython", FakeIPython)
    assert progress._in_notebook()
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # missing: text tqdm, not a crash
    from tqdm import tqdm

    assert progress._tqdm_class() is tqdm
    monkeypatch.delitem(sys.modules, "IPython")
    assert not progress._in_notebook()


def test_text_progress_without_a_total() -> None:
    out = io.StringIO()
    bar = progress._TextProgress(0, None, out)
    t = threading.Thread(target=bar.update)
    t.start()
    t.join()
    bar.close()
    assert out.getvalue() == "sparktune: 1 trials done, best loss: ?\n"
