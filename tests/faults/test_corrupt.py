"""Damaged trials files: truncated anywhere, bytes flipped, lines lost or doubled, another space.

Loading never fails with anything but a clear ``JournalError`` (a damaged header), keeps every
undamaged trial, and a run resumed from the damaged file completes.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from sparktune import Trials, fmin, hp, rand
from sparktune import journal as J
from sparktune.exceptions import JournalError

SPACE = {"x": hp.uniform("x", -2, 2), "k": hp.choice("k", ["a", "b", "c"])}
N = 10


def _objective(p: dict[str, object]) -> float:
    return float(p["x"]) ** 2  # type: ignore[arg-type]


def _run(path: Path, n: int = N) -> Trials:
    trials = Trials()
    fmin(_objective, SPACE, algo=rand.suggest, max_evals=n, trials=trials, rstate=np.random.default_rng(5),
         trials_save_file=str(path), show_progressbar=False)  # fmt: skip
    return trials


def _line_of(offsets: list[int], byte: int) -> int:
    """Index of the line holding ``byte`` (``offsets`` are the lines' start offsets)."""
    return max(i for i, start in enumerate(offsets) if start <= byte)


def _mutations(data: bytes, rng: random.Random) -> list[tuple[str, bytes, set[int]]]:
    """Damaged copies of ``data``, each with the indices of the original lines it leaves intact."""
    lines = data.split(b"\n")[:-1]
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    every = set(range(len(lines)))
    out: list[tuple[str, bytes, set[int]]] = []
    for _ in range(40):
        i = rng.randrange(len(data))
        flipped = bytearray(data)
        flipped[i] ^= 1 << rng.randrange(8)
        hit = {_line_of(offsets, i)} | ({_line_of(offsets, i) + 1} if data[i] == ord("\n") else set())
        out.append((f"flip byte {i}", bytes(flipped), every - hit))
    for _ in range(20):
        i, j = sorted(rng.sample(range(len(data)), 2))
        hit = set(range(_line_of(offsets, i), _line_of(offsets, j) + 1))
        out.append((f"cut bytes {i}:{j}", data[:i] + data[j:], every - hit))
    for _ in range(20):
        k = rng.randrange(1, len(lines))
        join = b"\n".join
        out.append((f"drop line {k + 1}", join([*lines[:k], *lines[k + 1 :], b""]), every - {k}))
        out.append((f"double line {k + 1}", join([*lines[: k + 1], *lines[k:], b""]), every))
        out.append(
            (f"garbage after line {k + 1}", join([*lines[: k + 1], b"\xff\x00{oops", *lines[k + 1 :], b""]), every)
        )
    for cut in range(0, len(data), 37):
        out.append((f"truncated at {cut}", data[:cut], {i for i in every if offsets[i] + len(lines[i]) < cut}))
    return out


def test_damaged_files_load_or_fail_clearly_and_resume_to_the_end(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    reference = _run(good)
    data = good.read_bytes()
    lines = data.split(b"\n")[:-1]
    final_line = {}  # tid -> index of the line that records its result
    for index, line in enumerate(lines[1:], start=1):
        final_line[json.loads(line)["tid"]] = index
    path = tmp_path / "damaged.jsonl"
    refused = checked = 0
    for what, damaged, intact in _mutations(data, random.Random(0)):
        path.write_bytes(damaged)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                loaded = Trials.load(str(path))
            except JournalError:
                assert 0 not in intact, f"{what}: refused although the header is intact"
                refused += 1
                continue
            for tid, index in final_line.items():  # a trial whose result line is intact keeps its result
                if index in intact:
                    assert loaded.trials[loaded._row[tid]]["result"] == reference.trials[tid]["result"], what
                    checked += 1
            resumed = _run(path)
        assert len(resumed) == N and all(t["state"] == 2 for t in resumed.trials), what
        if what.startswith("truncated"):  # what a crash leaves: the resumed run is the uninterrupted one
            assert [t["misc"]["vals"] for t in resumed.trials] == [t["misc"]["vals"] for t in reference.trials], what
    assert checked > 500 and refused > 0


def test_a_file_from_a_different_space_is_refused_before_any_evaluation(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    _run(path, 3)
    calls: list[object] = []
    with pytest.raises(JournalError, match=r"'k' was Param\('k', choice, probs=\(0.3333333333333333, .*options=3\), "
                       r"now Param\('k', choice, probs=\(0.5, 0.5\), options=2\)"):  # fmt: skip
        fmin(calls.append, {"x": hp.uniform("x", -2, 2), "k": hp.choice("k", ["a", "b"])}, algo=rand.suggest,
             max_evals=5, trials_save_file=str(path), show_progressbar=False)  # fmt: skip
    assert calls == []
    assert len(J.read_journal(path).records) == 3  # the file is untouched
