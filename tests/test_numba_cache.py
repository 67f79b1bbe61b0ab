"""numba's cache of the kernels is emptied when any compiled module's source changes.

numba keys a cached function on its own file, but the drivers inline leaves from other
modules: without the stamp an edited leaf would keep running its old compiled code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trajectories import _numba

PACKAGE = Path(_numba.__file__).resolve().parent


@pytest.fixture
def package(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    for name in _numba.COMPILED_MODULES:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACKAGE / name, target)
    return tmp_path


def _cache_files(root: Path) -> list[Path]:
    files = [root / "solvers/montecarlo/__pycache__/kernels.run_banded-1.py311.nbi",
             root / "channels/__pycache__/kraus.collide-2.py311.1.nbc"]  # fmt: skip
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"compiled")
    return files


def test_cache_is_kept_while_the_sources_are_unchanged_and_dropped_after_an_edit(package):
    files = _cache_files(package)
    assert _numba.drop_stale_cache(package)  # no stamp yet: the cache is of unknown sources
    assert not any(f.exists() for f in files)
    files = _cache_files(package)
    assert not _numba.drop_stale_cache(package)  # same sources: the cache stays
    assert all(f.exists() for f in files)
    leaf = package / "channels/beam_unravelling.py"
    leaf.write_text(leaf.read_text() + "\n# an edit of a leaf\n")
    assert _numba.drop_stale_cache(package)  # the drivers' cache is stale now
    assert not any(f.exists() for f in files)


def test_a_cache_elsewhere_is_left_alone(package, monkeypatch):
    files = _cache_files(package)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(package / "elsewhere"))
    assert not _numba.drop_stale_cache(package)
    assert all(f.exists() for f in files)


def _square_plus(x, y):
    return x * x + y


def _caller(x):
    return _leaf(x, 1.0) * 2.0


_leaf = _numba.njit(**{**_numba.LEAF, "cache": False})(_square_plus)
_driver = _numba.njit(_caller)


def test_a_leaf_without_python_entry_still_runs_from_python_and_from_compiled_code():
    assert _leaf(3.0, 1.0) == 10.0  # through its twin, compiled with the entry point
    assert _driver(3.0) == 20.0  # the native leaf, inlined in the driver
    if _numba.LEAF.get("no_cpython_wrapper"):
        assert isinstance(_leaf, _numba.LeafDispatcher)
        assert _leaf.targetoptions["no_cpython_wrapper"]


def test_the_leaves_cache_entries_never_meet_those_of_a_function_with_an_entry():
    if not _numba.LEAF.get("no_cpython_wrapper"):
        pytest.skip("this numba compiles the leaves normally")
    from numba import float64
    from numba.core.caching import FunctionCache

    codegen = _driver.targetctx.codegen()
    sig = (float64, float64)
    leaf_key = _numba._LeafCache(_square_plus)._index_key(sig, codegen)
    assert leaf_key != FunctionCache(_square_plus)._index_key(sig, codegen)


def test_every_leaf_is_compiled_through_the_package_njit():
    """``LEAF`` given to ``numba.njit`` directly would make a leaf that crashes from Python."""
    import importlib

    from numba.core.registry import CPUDispatcher

    for name in _numba.COMPILED_MODULES:
        module = importlib.import_module("trajectories." + name[:-3].replace("/", "."))
        for attr in vars(module).values():
            if isinstance(attr, CPUDispatcher) and attr.targetoptions.get("no_cpython_wrapper"):
                assert isinstance(attr, _numba.LeafDispatcher), (name, attr.py_func.__name__)
