"""Compile options shared by every numba kernel, and ``|v|^2`` for real or complex ``v``.

Kernels are compiled on first use (``cache=True``: once per installation, then loaded from
numba's cache); importing this module compiles nothing. The leaves (helpers called in the
per-collision loops) allocate nothing and are compiled without numba's reference counting
(``_nrt=False``): with it, every call in the loop paid an atomic incref/decref per array
argument, a quarter of the run time at N = 40. ``_nrt`` is a private numba option: if a numba
version refuses it, the leaves are compiled normally (same results, slower).

The leaves are also compiled without their Python entry point (``no_cpython_wrapper``): the
drivers call them as native functions, and the wrapper that unboxes every argument from
Python objects was 15 % of a cold run's compile time, never used. A leaf called from Python
(a test, an interactive check) runs a twin compiled with the entry (:class:`LeafDispatcher`);
the leaves' cache entries carry a key of their own, so no entry point is ever looked up in a
cached leaf compiled without one.

Numba keys each cached function on its own source file only, but the drivers inline leaves
from other modules: after an edit of a leaf (a development checkout), the drivers' cache
would still hold the old code. :func:`drop_stale_cache` therefore stamps the cache with a
hash of every compiled module's source and empties it when the sources changed (called on
import; an installed package never changes, so there it only reads the stamp).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba
import numpy as np
from numba import types
from numba.extending import overload

__all__ = [
    "COMPILE_NOTICE",
    "COMPILED_MODULES",
    "LEAF",
    "LeafDispatcher",
    "abs2",
    "drop_stale_cache",
    "kernels_cached",
    "njit",
]

#: The modules with compiled functions (paths relative to the package): the drivers inline
#: leaves across them, so their cache is valid only for this exact set of sources.
COMPILED_MODULES = (
    "_numba.py",
    "_streams.py",
    "channels/beam_unravelling.py",
    "channels/books.py",
    "channels/kraus.py",
    "channels/kraus_unravelling.py",
    "channels/loss.py",
    "channels/loss_unravelling.py",
    "channels/network_unravelling.py",
    "solvers/montecarlo/cloning_kernel.py",
    "solvers/montecarlo/kernels.py",
    "solvers/montecarlo/network_kernel.py",
)
_STAMP = "numba-sources.sha256"


def drop_stale_cache(package: Path | None = None) -> bool:
    """Empty numba's cache of the package if the compiled modules' sources changed.

    The stamp (a SHA-256 of the sources of :data:`COMPILED_MODULES`) lives in the
    package's ``__pycache__``; when it differs from the sources, every ``*.nbi`` / ``*.nbc``
    file under the package is removed and the stamp rewritten, so the next call compiles
    from the current sources. Does nothing when ``NUMBA_CACHE_DIR`` moves the cache
    elsewhere or the package folder is not writable (an installed package, whose sources
    do not change).

    Parameters
    ----------
    package : Path, optional
        The package folder (default: this package).

    Returns
    -------
    bool
        True if a stale cache was removed.
    """
    root = Path(__file__).resolve().parent if package is None else Path(package)
    if os.environ.get("NUMBA_CACHE_DIR"):
        return False
    digest = hashlib.sha256()
    for name in COMPILED_MODULES:
        try:
            digest.update((root / name).read_bytes())
        except OSError:
            return False
    stamp = root / "__pycache__" / _STAMP
    new = digest.hexdigest()
    try:
        if stamp.read_text() == new:
            return False
    except OSError:
        pass
    removed = False
    try:
        for path in (*root.rglob("*.nbi"), *root.rglob("*.nbc")):
            path.unlink(missing_ok=True)
            removed = True
        stamp.parent.mkdir(exist_ok=True)
        tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(new)
        tmp.replace(stamp)
    except OSError:  # read-only installation: nothing to do
        return False
    return removed


#: Said above the progress bar when a run is about to compile the kernels (a cold numba
#: cache): the default run's cold - warm gap measured 10 s on an idle 2-core machine with
#: leaves that had a Python entry point, 12-13 s (from 16) without it on the same machine
#: under load; the workers load what the main process compiled (docs/guide/performance.md).
COMPILE_NOTICE = "compiling kernels, once per installation (about 5-15 s; later runs start at once)"


try:  # numba internals behind the leaves' options (absent: leaves compiled normally)
    from numba.core.caching import FunctionCache
    from numba.core.cpu import CPUTargetOptions
    from numba.core.registry import CPUDispatcher

    _INTERNALS = all(hasattr(CPUTargetOptions, o) for o in ("_nrt", "no_cpython_wrapper")) and (
        hasattr(FunctionCache, "_index_key")
    )
except ImportError:  # pragma: no cover - depends on the numba version
    _INTERNALS = False
    CPUDispatcher = FunctionCache = object


def _leaf_options() -> dict:
    if not _INTERNALS:  # pragma: no cover - depends on the numba version
        return {"cache": True}
    return {"cache": True, "_nrt": False, "no_cpython_wrapper": True, "no_cfunc_wrapper": True}


#: Options of the compiled leaves, for :func:`njit` of this module (``@njit(**LEAF)``).
LEAF = _leaf_options()
_NO_ENTRY = ("no_cpython_wrapper", "no_cfunc_wrapper")


class _LeafCache(FunctionCache):
    """numba's on-disk cache of a leaf, under keys of its own (compiled without an entry)."""

    def _index_key(self, sig, codegen):
        return (*super()._index_key(sig, codegen), "no_cpython_wrapper")


class LeafDispatcher(CPUDispatcher):
    """A leaf compiled without its Python entry point, for calls from compiled code only.

    Called from Python, it runs a twin: the same function compiled with the entry point
    (cached under numba's usual keys), made on the first such call.
    """

    def __call__(self, *args, **kwargs):
        twin = self.__dict__.get("_twin")
        if twin is None:
            options = {k: v for k, v in self.targetoptions.items() if k not in _NO_ENTRY}
            options.pop("nopython", None)
            twin = self._twin = numba.njit(cache=True, **options)(self.py_func)
        return twin(*args, **kwargs)


def njit(*args, **options):
    """``numba.njit``; with :data:`LEAF`'s options, a :class:`LeafDispatcher`.

    Parameters
    ----------
    *args
        The function (decorator use) or signatures, as for ``numba.njit``.
    **options
        numba's compile options.

    Returns
    -------
    Dispatcher or callable
        The compiled function, or a decorator.
    """
    if not all(options.get(o) for o in _NO_ENTRY) or numba.config.DISABLE_JIT:
        return numba.njit(*args, **{k: v for k, v in options.items() if k not in _NO_ENTRY})
    if args and not callable(args[0]):
        raise TypeError("a leaf takes no signatures: it is compiled for its callers' types")

    def leaf(fn):
        target = {k: v for k, v in options.items() if k not in ("cache", "locals")}
        dispatcher = LeafDispatcher(py_func=fn, locals=options.get("locals", {}),
                                    targetoptions={**target, "nopython": True})  # fmt: skip
        if options.get("cache"):
            dispatcher._cache = _LeafCache(fn)
        return dispatcher

    return leaf(args[0]) if args else leaf


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


drop_stale_cache()
