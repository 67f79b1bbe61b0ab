"""Compile options shared by every numba kernel, and ``|v|^2`` for real or complex ``v``.

Kernels are compiled on first use (``cache=True``: once per installation, then loaded from
numba's cache); importing this module compiles nothing. The leaves (helpers called in the
per-collision loops) allocate nothing and are compiled without numba's reference counting
(``_nrt=False``): with it, every call in the loop paid an atomic incref/decref per array
argument, a quarter of the run time at N = 40. ``_nrt`` is a private numba option: if a numba
version refuses it, the leaves are compiled normally (same results, slower).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = ["COMPILE_NOTICE", "LEAF", "abs2", "kernels_cached", "njit"]

#: Said above the progress bar when a run is about to compile the kernels (a cold numba
#: cache): measured 6 s with one worker, 12 s with two compiling at once on a 2-core machine
#: (docs/guide/performance.md).
COMPILE_NOTICE = "compiling kernels, once per installation (about 5-15 s; later runs start at once)"


def _leaf_options() -> dict:
    try:
        from numba.core.cpu import CPUTargetOptions

        known = hasattr(CPUTargetOptions, "_nrt")
    except ImportError:  # pragma: no cover - depends on the numba version
        known = False
    return {"cache": True, "_nrt": False} if known else {"cache": True}


#: Options of the compiled leaves.
LEAF = _leaf_options()


def kernels_cached(*dispatchers) -> bool:
    """Whether numba's on-disk cache already holds a compiled version of every dispatcher.

    Reads each dispatcher's cache index (``__pycache__/*.nbi`` next to the source, or under
    ``NUMBA_CACHE_DIR``); an index written for an older version of the source counts as
    absent, as numba then recompiles. Compiles nothing. If numba's cache layout is not the
    expected one (another numba version), answers ``True``, so nothing is announced.

    Parameters
    ----------
    *dispatchers : numba dispatcher
        Functions decorated with ``njit(cache=True)``.

    Returns
    -------
    bool
        ``False`` when at least one of them will be compiled on its first call.
    """
    for dispatcher in dispatchers:
        try:
            index = dispatcher._cache._cache_file._load_index()
        except Exception:  # numba internals: unknown layout, stay quiet
            return True
        if not index:
            return False
    return True


def abs2(v):
    """``|v|^2`` of a real or complex number (compiled through the overload below)."""
    return (v * np.conj(v)).real


@overload(abs2)
def _abs2_compiled(v):
    if isinstance(v, types.Complex):
        return lambda v: v.real * v.real + v.imag * v.imag
    return lambda v: v * v
