"""Hyperopt's ``hyperopt.base`` names, for code that imports them from there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .objective import (
    STATUS_FAIL,
    STATUS_NEW,
    STATUS_OK,
    STATUS_RUNNING,
    STATUS_STRINGS,
    STATUS_SUSPENDED,
    Ctrl,
    Domain,
)
from .space import space_eval
from .trials import (
    JOB_STATE_CANCEL,
    JOB_STATE_DONE,
    JOB_STATE_ERROR,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    JOB_STATES,
    JOB_VALID_STATES,
    Trials,
    trials_from_docs,
)

__all__ = [
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "JOB_STATE_CANCEL",
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "JOB_STATES",
    "JOB_VALID_STATES",
    "Ctrl",
    "Domain",
    "Trials",
    "space_eval",
    "trials_from_docs",
    "miscs_update_idxs_vals",
    "miscs_to_idxs_vals",
    "spec_from_misc",
]


def miscs_update_idxs_vals(
    miscs: Sequence[dict[str, Any]],
    idxs: Mapping[str, Sequence[int]],
    vals: Mapping[str, Sequence[Any]],
    assert_all_vals_used: bool = True,
    idxs_map: Mapping[int, int] | None = None,
) -> Sequence[dict[str, Any]]:
    """Fill each misc's ``idxs``/``vals`` from per-label columns: ``idxs[label]`` lists the tids
    where the label is active and ``vals[label]`` their values (Hyperopt's helper)."""
    by_tid = {m["tid"]: m for m in miscs}
    for misc in miscs:
        misc["idxs"] = {label: [] for label in idxs}
        misc["vals"] = {label: [] for label in idxs}
    for label, tids in idxs.items():
        for tid, value in zip(tids, vals[label], strict=True):
            tid = idxs_map[tid] if idxs_map is not None else tid
            if tid not in by_tid:
                if assert_all_vals_used:
                    raise ValueError(f"miscs_update_idxs_vals: no misc has tid {tid} (label {label!r})")
                continue
            by_tid[tid]["idxs"][label] = [tid]
            by_tid[tid]["vals"][label] = [value]
    return miscs


def miscs_to_idxs_vals(
    miscs: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = None
) -> tuple[dict[str, list[int]], dict[str, list[Any]]]:
    """The inverse: per-label columns of tids and values (Hyperopt's helper)."""
    labels = list(keys) if keys is not None else list(miscs[0]["idxs"]) if miscs else []
    idxs: dict[str, list[int]] = {label: [] for label in labels}
    vals: dict[str, list[Any]] = {label: [] for label in labels}
    for misc in miscs:
        for label in labels:
            idxs[label].extend(misc["idxs"].get(label, []))
            vals[label].extend(misc["vals"].get(label, []))
    return idxs, vals


def spec_from_misc(misc: Mapping[str, Any]) -> dict[str, Any]:
    """``{label: value}`` of the parameters active in a trial's misc (Hyperopt's helper)."""
    return {label: values[0] for label, values in misc["vals"].items() if len(values) == 1}
