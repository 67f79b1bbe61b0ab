"""The documentation site builds with warnings as errors and covers the public API.

The build (``mkdocs build --strict``, into a temporary folder) fails on a broken link, a
missing anchor, a cross-reference to an object that does not exist, a page missing from the
navigation, an example file the Examples page cannot include, or a failing cell of the
tutorial notebook (executed by the build hook ``docs/hooks/notebook.py``). The other tests
here are static checks that need no build: every public module has its API reference, every
name of the facade is in the API index, the README keeps its set-up commands, and the docs
refer to nothing outside the repository.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trajectories as tj

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "trajectories"

#: seconds the strict build of the site may take (measured: about 15-20 s on 2 shared cores)
BUILD_LIMIT = 180


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NO_MKDOCS_2_WARNING"] = "1"  # Material's notice about its successor, not a warning
    env.setdefault("MPLBACKEND", "Agg")
    return env


def test_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("nbclient")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_LIMIT,
    )
    seconds = time.perf_counter() - start
    log = done.stdout + done.stderr
    problems = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(problems or [log])
    assert (tmp_path / "index.html").exists()
    assert (tmp_path / "tutorial" / "index.html").exists()
    assert "data:image/png;base64," in (tmp_path / "tutorial" / "index.html").read_text()
    print(f"site built in {seconds:.1f} s")


def _public_modules() -> list[str]:
    """Dotted names of the package's modules that declare ``__all__`` (private ones left out)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or len(parts) == 1:
            continue
        tree = ast.parse(path.read_text())
        if any(
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and any(getattr(t, "id", None) == "__all__" for t in getattr(node, "targets", []))
            for node in tree.body
        ):
            names.append(".".join(parts))
    return names


def _rendered() -> set[str]:
    pages = (DOCS / "api").glob("*.md")
    return {m for page in pages for m in re.findall(r"^::: ([\w.]+)", page.read_text(), re.M)}


def test_every_public_module_has_its_api_reference():
    rendered = _rendered()
    # a package that only re-exports (``solvers.spectral``, ``solvers.counting``) is covered
    # by its modules
    missing = [
        m
        for m in _public_modules()
        if m not in rendered and not any(r.startswith(m + ".") for r in rendered)
    ]
    assert not missing, f"public modules with no ::: block in docs/api/*.md: {missing}"
    unknown = [m for m in rendered if m.replace(".", "/") not in _paths()]
    assert not unknown, f"::: blocks naming no module of the package: {unknown}"


def _paths() -> set[str]:
    out = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        out.add(str(rel.parent if rel.name == "__init__" else rel).replace(os.sep, "/"))
    return out


def test_every_facade_name_is_in_the_api_index():
    index = (DOCS / "api" / "index.md").read_text()
    missing = [name for name in tj.__all__ if f"`{name}`" not in index]
    assert not missing, f"tj.* names missing from docs/api/index.md: {missing}"


def test_readme_keeps_the_two_setup_commands_first():
    text = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first is not None
    assert first.group(1) == (
        'python3 -m pip install . && micromaser run\npython3 -m pip install ".[test]" && '
        "python3 -m pytest\n"
    )


def _doc_texts() -> dict[str, str]:
    files = [ROOT / "README.md", ROOT / "mkdocs.yml", *DOCS.rglob("*.md"), *DOCS.rglob("*.py")]
    files += sorted((ROOT / "examples").glob("*.py"))
    texts = {str(p.relative_to(ROOT)): p.read_text() for p in files}
    for nb in DOCS.rglob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        texts[str(nb.relative_to(ROOT))] = "\n".join("".join(c["source"]) for c in cells)
    return texts


#: what the docs must not point to: files outside the repository, issues, branches
OUTSIDE = [
    (r"\bSPEC\b", "the project's specification is not in the repository"),
    (r"\b[Ii]ssue \d+", "an issue"),
    (r"\bbranch(es)? `", "a branch"),
    (r"\b(perf7|band7)\b", "a branch"),
    (r"/work/", "an absolute path of the development machine"),
]


@pytest.mark.parametrize("pattern, what", OUTSIDE)
def test_docs_refer_to_nothing_outside_the_repository(pattern, what):
    hits = [
        f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
        for name, text in _doc_texts().items()
        for m in re.finditer(pattern, text)
    ]
    assert not hits, f"the docs refer to {what}:\n" + "\n".join(hits)


def test_committed_notebooks_carry_no_outputs():
    """The site shows a notebook executed at build time; the committed one stays clean."""
    for nb in DOCS.rglob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"{nb.name}: cells {dirty} carry outputs; clear them before committing"
