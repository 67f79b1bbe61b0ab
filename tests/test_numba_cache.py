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
