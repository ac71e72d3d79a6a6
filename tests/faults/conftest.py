"""Fixtures of the fault-injection tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from faultlib import Child


@pytest.fixture
def child_factory() -> Iterator[Callable[..., Child]]:
    """Start ``child.py`` processes; any still running at the end of the test is killed."""
    started: list[Child] = []

    def make(*args: object, **kwargs: Any) -> Child:
        c = Child(*args, **kwargs)
        started.append(c)
        return c

    yield make
    for c in started:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()
