"""Pinning BLAS to one thread (SPEC Sec. 6).

Our matrices are small (N <= a few hundred): a multi-threaded BLAS only adds
contention on them (set-up of the loss blocks at N = 160 ran 5x slower with two
OpenBLAS threads on two cores), and a reduction whose result depends on the
thread count would break bit-identical reproducibility. Parallelism comes from
running chunks of work in separate processes instead.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import threadpool_limits

__all__ = ["single_threaded_blas"]


def single_threaded_blas() -> AbstractContextManager:
    """Context manager limiting BLAS libraries to one thread inside its block."""
    return threadpool_limits(limits=1, user_api="blas")
