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

__all__ = ["LEAF", "abs2", "njit"]


def _leaf_options() -> dict:
    try:
        from numba.core.cpu import CPUTargetOptions

        known = hasattr(CPUTargetOptions, "_nrt")
    except ImportError:  # pragma: no cover - depends on the numba version
        known = False
    return {"cache": True, "_nrt": False} if known else {"cache": True}


#: Options of the compiled leaves.
LEAF = _leaf_options()


def abs2(v):
    """``|v|^2`` of a real or complex number (compiled through the overload below)."""
    return (v * np.conj(v)).real


@overload(abs2)
def _abs2_compiled(v):
    if isinstance(v, types.Complex):
        return lambda v: v.real * v.real + v.imag * v.imag
    return lambda v: v * v
