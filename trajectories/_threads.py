"""Pinning BLAS to one thread, so that no reduction depends on the thread count.

Our matrices are small (N <= a few hundred): a multi-threaded BLAS only adds
contention on them (set-up of the loss blocks at N = 160 ran 5x slower with two
OpenBLAS threads on two cores), and a reduction whose result depends on the
thread count would break bit-identical reproducibility. Parallelism comes from
running chunks of work in separate processes instead.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded_blas"]

_CONTROLLER: ThreadpoolController | None = None


def single_threaded_blas() -> AbstractContextManager:
    """Context manager limiting BLAS libraries to one thread inside its block.

    The libraries are looked up once per process (``threadpool_limits`` scans them on every
    call: about 1 ms, 4% of a 200-collision trajectory run), at the first call, when numpy's
    and scipy's BLAS are already loaded (this package imports both).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
