"""The package's shape: layers, no cycles, light import, small modules.

The layers (model -> channels -> solvers -> statistics -> plot -> runs) and the other import
rules are import-linter contracts in ``pyproject.toml``; this runs them, so CI fails on an
upward import or a cycle.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "trajectories"


def test_import_contracts_hold():
    pytest.importorskip("importlinter", reason="import-linter is in the test extra")
    exe = shutil.which("lint-imports")
    cmd = (
        [exe]
        if exe
        else [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
        ]
    )  # noqa: E501
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_import_is_light_and_compiles_nothing():
    code = (
        "import sys, trajectories as tj\n"
        "from trajectories.channels import kraus, loss, loss_unravelling\n"
        "compiled = [f.__name__ for m in (kraus, loss, loss_unravelling)\n"
        "            for f in vars(m).values() if getattr(f, 'signatures', None)]\n"
        "print(sorted(m for m in ('matplotlib', 'h5py', 'trajectories.plot', 'xarray',\n"
        "      'pandas', 'trajectories.solvers.montecarlo.kernels') if m in sys.modules),\n"
        "      compiled)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[] []"


def test_modules_are_small_and_the_root_holds_the_facade_and_shared_modules():
    sizes = {p.relative_to(ROOT): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert max(sizes.values()) <= 800, max(sizes.items(), key=lambda kv: kv[1])
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert root == [
        "__init__.py", "__main__.py", "_numba.py", "_optional.py", "_streams.py", "_threads.py",
        "_version.py", "bipartite.py", "errors.py", "observables.py", "progress.py",
        "validation.py",
    ]  # fmt: skip
    layers = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert layers == ["channels", "model", "plot", "runs", "solvers", "statistics"]


def test_py_typed_ships_with_the_package(tmp_path):
    """PEP 561: the marker is package data, so type checkers read the annotations."""
    assert (PACKAGE / "py.typed").is_file()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(PACKAGE, tmp_path / "trajectories",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
         "--build-lib", "built"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "built" / "trajectories" / "py.typed").is_file()
