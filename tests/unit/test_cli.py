"""The sparktune command, run as a real subprocess (python -m sparktune)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sparktune.cli import build_parser, load_job, main

ROOT = Path(__file__).resolve().parents[2]

JOB = textwrap.dedent(
    """
    from sparktune import hp, STATUS_OK, STATUS_FAIL

    space = {"x": hp.uniform("x", -5, 5), "kind": hp.choice("kind", ["near", "far"])}
    max_evals = 15
    algo = "rand"
    seed = 3

    def objective(p):
        if p["x"] > 4:
            raise ValueError("x too large")
        return {"loss": p["x"] ** 2 + (10 if p["kind"] == "far" else 0), "status": STATUS_OK}
    """
)


def sparktune(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SPARKTUNE_PROGRESS": "text"}
    return subprocess.run([sys.executable, "-m", "sparktune", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)  # fmt: skip


@pytest.fixture
def job(tmp_path: Path) -> Path:
    path = tmp_path / "job.py"
    path.write_text(JOB)
    return path


def test_runs_a_job_file_and_writes_trials_and_plots(job: Path, tmp_path: Path) -> None:
    out = sparktune(str(job), "--trials-out", "t.json", "--plots-dir", "plots", "--top", "3", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("sparktune: 15 trials (")
    assert "best parameters:" in out.stdout and "kind = 'near'" in out.stdout
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["rank", "tid", "loss"])
    table = lines[header + 2 : header + 5]
    assert [row.split()[0] for row in table] == ["1", "2", "3"]
    losses = [float(row.split()[2]) for row in table]
    assert losses == sorted(losses)
    rows = json.loads((tmp_path / "t.json").read_text())
    assert [r["tid"] for r in rows] == list(range(15))
    assert {r["params"]["kind"] for r in rows} <= {"near", "far"}
    failed = [r for r in rows if r["status"] == "fail"]
    assert all("x too large" in r["error"] for r in failed)
    assert min(r["loss"] for r in rows if r["loss"] is not None) == pytest.approx(losses[0], rel=1e-5)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "best_so_far.png", "histogram.png", "history.png", "loss_vs_param.png", "parallel_coordinates.png",
        "timeline.png", "vars.png",
    ]  # fmt: skip
    assert all((tmp_path / "plots" / name).read_bytes()[:4] == b"\x89PNG" for name in ("timeline.png", "vars.png"))
    assert "sparktune: 15/15 trials done" in out.stderr


def test_options_override_job_settings_and_csv(job: Path, tmp_path: Path) -> None:
    out = sparktune(str(job), "--max-evals", "4", "--algo", "sparktune.rand:suggest", "--trials-out", "t.csv",
                    "--no-progress", cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    with (tmp_path / "t.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and set(rows[0]) >= {"tid", "status", "loss", "duration_s", "x", "kind"}


def test_job_as_a_module(tmp_path: Path) -> None:
    (tmp_path / "myjob.py").write_text(JOB.replace("max_evals = 15", "max_evals = 2"))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    command = [sys.executable, "-m", "sparktune", "myjob", "--no-progress"]
    out = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("sparktune: 2 trials")


def test_all_failed_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("from sparktune import hp\nspace = hp.uniform('x', 0, 1)\nalgo = 'rand'\n"
                                     "def objective(x):\n    raise RuntimeError('nope')\n")  # fmt: skip
    out = sparktune("bad.py", "--max-evals", "3", "--no-progress", cwd=tmp_path)
    assert out.returncode == 1
    assert "no trial succeeded" in out.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("space = 1\n", [], "must define a function `objective"),
        ("def objective(x): return x\n", [], "must define `space`"),
        ("from sparktune import hp\nspace = hp.uniform('x', 0, 1)\ndef objective(x): return x\n", ["--algo", "nope"],
         "unknown algorithm 'nope'"),
    ],
)  # fmt: skip
def test_bad_jobs_exit_2_with_a_message(tmp_path: Path, content: str, args: list[str], message: str) -> None:
    (tmp_path / "j.py").write_text(content)
    out = sparktune("j.py", *args, cwd=tmp_path)
    assert out.returncode == 2 and message in out.stderr


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["job.py", "--top", "0"])
    assert exc.value.code == 2 and "--top must be >= 1" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.py")]) == 2
    assert build_parser().parse_args(["j.py", "--parallelism", "3"]).spark is None


def test_load_job_reads_settings(job: Path) -> None:
    loaded = load_job(str(job))
    assert loaded.settings == {"max_evals": 15, "algo": "rand", "seed": 3}
    assert loaded.objective.__module__ == "__sparktune_job__", "a job file is not importable: shipped by value"


def test_console_script_is_declared() -> None:
    text = (ROOT / "setup.cfg").read_text()
    assert "sparktune = sparktune.__main__:main" in text


_GOOD = "from sparktune import hp\nspace = hp.uniform('x', 0, 1)\ndef objective(x): return x\n"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("def objective(x: return x\n", [], "failed while loading (line 1): SyntaxError"),
        ("x = 1\nraise ValueError('no data')\n", [], "failed while loading (line 2): ValueError: no data"),
        ("from sparktune import hp\nspace = hp.uniform('x', 1, 0)\ndef objective(x): return x\n", [],
         "low must be < high"),
        (_GOOD + "max_evals = 'ten'\n", [], "sets max_evals = 'ten'; it must be an int >= 1"),
        (_GOOD + "max_evals = 0\n", [], "sets max_evals = 0"),
        (_GOOD + "seed = 'abc'\n", [], "sets seed = 'abc'"),
        (_GOOD, ["--trials-out", "t.txt"], "--trials-out must end in .json or .csv"),
        (_GOOD, ["--plots-dir", "/dev/null/x"], "--plots-dir: cannot create the directory"),
    ],
)  # fmt: skip
def test_bad_jobs_and_outputs_are_refused_before_any_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: str,
    args: list[str], message: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "j.py").write_text(content)
    assert main(["j.py", "--no-progress", "--max-evals", "2", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert "trials" not in captured.out  # nothing ran


def test_gp_and_log_level_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "j.py").write_text(_GOOD)
    with pytest.raises(SystemExit):
        main(["j.py", "--log-level", "bogus"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["j.py", "--timeout", "-1"])
    assert "--timeout must be > 0" in capsys.readouterr().err
    assert main(["j.py", "--algo", "gp", "--max-evals", "3", "--no-progress", "--log-level", "error"]) == 0


def test_csv_columns_of_a_parameter_named_loss_and_a_scalar_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "j.py").write_text("from sparktune import hp\nspace = {'loss': hp.uniform('l', 0, 1)}\n"
                                   "def objective(p): return p['loss']\n")  # fmt: skip
    assert main(["j.py", "--no-progress", "--max-evals", "2", "--trials-out", "t.csv"]) == 0
    header = (tmp_path / "t.csv").read_text().splitlines()[0].split(",")
    assert header.count("loss") == 1 and "param.loss" in header
    (tmp_path / "s.py").write_text(
        "from sparktune import hp\nspace = hp.uniform('x', 0, 1)\ndef objective(x): return x\n"
    )
    assert main(["s.py", "--no-progress", "--max-evals", "2", "--trials-out", "s.csv"]) == 0
    assert (tmp_path / "s.csv").read_text().splitlines()[0].split(",")[-1] == "x"  # the label, not 'value'
