"""Resuming a run from its ``trials_save_file``.

:func:`open_save_file` reads the file (if any), checks that it was written for the same search
space, loads its trials, and returns a writer that journals every later change. The run then
continues: finished trials are kept, trials that never produced a result (in flight when the
process died, or cancelled when an earlier ``fmin`` stopped) run again with their recorded
point, ``max_evals`` counts every trial, and when the file recorded the base seed and the caller
gave none, the recorded one is used so that the proposals continue the same sequence.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import journal as _journal
from .exceptions import JournalError
from .space import Space
from .trials import Trials, TrialState

__all__ = ["Resumed", "open_save_file", "space_info", "check_same_space", "requeue_interrupted"]

logger = logging.getLogger(__name__)


@dataclass
class Resumed:
    """The writer of a run's trials file and what was found in it."""

    writer: _journal.JournalWriter
    n_loaded: int
    seed: int | None


def _describe(space: Space, label: str) -> str:
    p = space.param(label)
    text = repr(p)
    paths = space.conditions[label]
    if () not in paths:
        text += " when " + " or ".join(" and ".join(f"{c}={i}" for c, i in path) for path in paths)
    return text


def space_info(space: Space) -> dict[str, Any]:
    """What a trials file records about its search space: fingerprint, labels and definitions."""
    return {
        "space": space.fingerprint(),
        "labels": list(space.labels),
        "params": {label: _describe(space, label) for label in space.labels},
        "choices": space.choice_options(),
    }


def check_same_space(header: Mapping[str, Any], space: Space, path: str) -> None:
    """Raise :class:`JournalError` naming the differences when ``header`` was written for another space."""
    recorded = header.get("space")
    if recorded is None:
        return
    if recorded == space.fingerprint():
        # The fingerprint covers bounds and conditions; a choice's options are checked apart
        # (files written before they were recorded have no "choices").
        before_choices = header.get("choices")
        if not isinstance(before_choices, Mapping):
            return
        now_choices = space.choice_options()
        changed = [
            label for label in now_choices if before_choices.get(label, now_choices[label]) != now_choices[label]
        ]
        if not changed:
            return
        raise JournalError(
            f"trials_save_file {path!r} was written for a different search space (the options of "
            f"{changed} changed, so the file's choice indices would now mean other values). Its trials "
            "cannot continue this run: use a new trials_save_file for the new space, or run with the space "
            "that wrote it"
        )
    now = space_info(space)["params"]
    before = header.get("params")
    diffs: list[str] = []
    if isinstance(before, Mapping):
        for label in before:
            if label not in now:
                diffs.append(f"{label!r} was in the file's space and is not in this one")
            elif before[label] != now[label]:
                diffs.append(f"{label!r} was {before[label]}, now {now[label]}")
        diffs.extend(f"{label!r} is new" for label in now if label not in before)
    detail = "; ".join(diffs[:5]) + ("; ..." if len(diffs) > 5 else "") if diffs else "the definitions differ"
    raise JournalError(
        f"trials_save_file {path!r} was written for a different search space ({detail}). Its trials cannot "
        "continue this run: use a new trials_save_file for the new space, or run with the space that wrote it"
    )


def open_save_file(trials: Trials, path: str, space: Space, seed: int) -> Resumed:
    """Load ``path`` into ``trials`` (when it exists) and attach a journal writer to ``trials``."""
    allow_pickle = trials.journal_pickle
    contents = None
    if os.path.isdir(path) or (os.path.isfile(path) and os.path.getsize(path) > 0):
        contents = _journal.read_journal(path, allow_pickle=allow_pickle)
    header = contents.header if contents is not None else None
    if contents is not None and header is not None:
        check_same_space(header, space, path)
        # Lock the file before taking its trials: a file another run holds is refused with the
        # caller's trials untouched.
        writer = _journal.JournalWriter.reopen(path, contents.valid_size, allow_pickle=allow_pickle)
        known = set(trials.tids)
        try:
            trials._load_records(r for r in contents.records if int(r["tid"]) not in known)
        except BaseException:
            writer.close()
            raise
        loaded = {int(r["tid"]) for r in contents.records}
        recorded_seed = header.get("seed")
        logger.info("resumed %d trials from %s", len(contents.records), path)
    else:
        info = {**space_info(space), "seed": seed, "exp_key": trials.exp_key}
        writer = _journal.JournalWriter.create(path, info, allow_pickle=allow_pickle)
        loaded = set()
        recorded_seed = None
    try:
        for record in [r for r in trials.records if r.tid not in loaded]:  # given in memory, not in the file
            writer.append(trials._file_record(record), durable=record.state.finished)
    except BaseException:
        writer.close()
        raise
    trials._attach_journal(writer)
    n_loaded = 0 if contents is None else len(contents.records)
    return Resumed(writer=writer, n_loaded=n_loaded, seed=recorded_seed if isinstance(recorded_seed, int) else None)


def requeue_interrupted(trials: Trials) -> int:
    """Put back to NEW every trial that never produced a result; returns how many."""
    count = 0
    for record in trials.records:
        if record.state is not TrialState.NEW and trials._interrupted(record):
            trials._requeue(record.tid)
            count += 1
    return count
