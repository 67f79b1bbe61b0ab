"""Every script of ``examples/`` and the tutorial notebook run, at small sizes.

Each example runs in a fresh interpreter with ``--small`` and an output folder in a
temporary directory (its working directory too, so nothing is written into the repository),
must exit with status 0 and write at least one figure. The notebook is executed by nbmake in
a subprocess (``pytest --nbmake docs/tutorial.ipynb``). The examples use only the public API:
``import trajectories as tj`` and the names of the facade.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trajectories as tj

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NOTEBOOKS = sorted((ROOT / "docs").glob("*.ipynb"))

#: generous guard in seconds; at small size each example takes a few seconds (plus the
#: kernels' compilation on a cold numba cache)
LIMIT = 120


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["EXAMPLES_SMALL"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


def test_there_are_four_to_six_examples():
    assert 4 <= len(EXAMPLES) <= 6, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_at_small_size(script, tmp_path):
    out = tmp_path / "out"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), "--small", "--output", str(out)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert sorted(out.glob("*.png")), f"{script.name} wrote no figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "wrote outside --output"
    print(f"{script.name}: {seconds:.1f} s")


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_uses_only_the_public_api(script):
    tree = ast.parse(script.read_text())
    public = set(tj.__all__) | {"plot"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("trajectories"), (
                f"{script.name}:{node.lineno}: import the facade (import trajectories as tj)"
            )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("trajectories"):
                    assert (alias.name, alias.asname) == ("trajectories", "tj"), script.name
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "tj"
        ):
            assert node.attr in public, f"{script.name}:{node.lineno}: tj.{node.attr} is private"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(notebook, tmp_path):
    pytest.importorskip("nbmake")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbmake",
            str(notebook),
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-q",
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
