"""Shared output helpers: environment description, markdown tables, JSON results files."""

from __future__ import annotations

import importlib
import json
import math
import os
import platform
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def environment() -> dict[str, Any]:
    """Library versions and machine facts recorded with every result file."""
    env: dict[str, Any] = {
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    for name in ("numpy", "scipy", "scikit-learn", "hyperopt", "optuna"):
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = None
    try:
        mod = importlib.import_module("sparktune")
        env["sparktune"] = f"{getattr(mod, '__version__', '?')} ({Path(mod.__file__ or '').parent})"
    except ImportError:
        env["sparktune"] = None
    return env


def fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}g}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(kind: str, payload: dict[str, Any], path: str | None = None) -> Path:
    """Write ``payload`` to ``path`` or ``results/<kind>-<UTC time>.json``, atomically."""
    if path is None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        out = RESULTS_DIR / f"{kind}-{stamp}.json"
    else:
        out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(payload, separators=(",", ":"), default=str))
    tmp.replace(out)
    return out
