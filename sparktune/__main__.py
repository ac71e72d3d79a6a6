"""``python -m sparktune``: run a tuning job (see :mod:`sparktune.cli`).

Absolute imports, so that ``spark-submit sparktune/__main__.py job.py`` works too.
"""

from __future__ import annotations

from sparktune.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
