"""Run small dense linear algebra on one BLAS thread.

The GP's matrices are at most a few hundred rows. Multithreaded OpenBLAS spends far more CPU
than it saves on them (its worker threads spin between calls: on a busy 2-core machine a
300 x 300 Cholesky costs about 15 times the CPU time with 2 threads as with one) and competes
with Spark and with the user's own code for the cores. When ``threadpoolctl`` is installed (it
comes with scikit-learn), :func:`single_blas_thread` limits BLAS to one thread for the duration
of the block; without it the block runs unchanged, so this is an optimisation, not a
requirement.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["single_blas_thread"]


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its own thread count
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
