"""MkDocs hook: show Jupyter notebooks of ``docs/`` as pages, executed at build time.

For every ``NAME.ipynb`` in the docs folder the hook executes a copy of the notebook
(nbclient, the kernel ``python3``, working directory ``docs/``) and adds a generated page
``NAME.md``: the Markdown cells as they are, the code cells as Python blocks, their outputs
as text blocks and PNG images (embedded). The notebook itself is copied to the site too, so
the page links to it for download. The committed notebook carries no outputs (the tests
check it), so the page always shows what the current code computes. An error in a cell stops
the build.

Only the packages of the ``test`` and ``docs`` extras are needed (nbformat and nbclient come
with nbmake and with Jupyter); the page is ordinary Markdown, so the strict build checks its
links like any other page.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.notebook")

#: seconds a single cell may run
CELL_TIMEOUT = 600


def _fence(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}\n"


def _output(out) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        text = "".join(out.get("text", ""))
        if out.get("name") == "stderr":  # a progress bar's redraws (\r) are not content
            text = "\n".join(line for line in text.split("\n") if "\r" not in line)
        return _fence(text, "text") if text.strip() else ""
    if kind in ("execute_result", "display_data"):
        data = out.get("data", {})
        if "image/png" in data:
            png = "".join(data["image/png"]).replace("\n", "")
            return f'<img alt="figure" src="data:image/png;base64,{png}">\n'
        if "text/plain" in data:
            return _fence("".join(data["text/plain"]), "text")
        return ""
    if kind == "error":  # pragma: no cover - nbclient raises before
        return _fence("\n".join(out.get("traceback", [])), "text")
    return ""


def notebook_markdown(path: Path, execute: bool = True) -> str:
    """Markdown of the notebook at ``path`` (executed first when ``execute``)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if execute:
        from nbclient import NotebookClient

        start = time.perf_counter()
        # the kernel inherits the environment: a non-interactive MPLBACKEND (Agg, as tests
        # and CI set) would replace the inline backend and the figures would not be shown
        backend = os.environ.pop("MPLBACKEND", None)
        try:
            NotebookClient(
                nb,
                timeout=CELL_TIMEOUT,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
        finally:
            if backend is not None:
                os.environ["MPLBACKEND"] = backend
        log.info("executed %s in %.1f s", path.name, time.perf_counter() - start)
    parts = []
    for cell in nb.cells:
        source = "".join(cell.source)
        if cell.cell_type == "markdown":
            parts.append(source.rstrip() + "\n")
            if not parts[1:]:  # after the title: the download link
                parts.append(
                    f"*This page is the notebook [`{path.name}`]({path.name}), executed when "
                    "the site was built.*\n"
                )
        elif cell.cell_type == "code" and source.strip():
            parts.append(_fence(source, "python"))
            parts.extend(_output(out) for out in cell.get("outputs", []))
    return "\n".join(part for part in parts if part)


def on_files(files, config):
    """Add ``NAME.md`` generated from each ``NAME.ipynb`` of the docs folder."""
    docs = Path(config["docs_dir"])
    for path in sorted(docs.glob("*.ipynb")):
        page = path.with_suffix(".md").name
        if files.get_file_from_path(page) is not None:
            raise ValueError(f"docs/{page} exists: it would hide the page made from {path.name}")
        files.append(File.generated(config, page, content=notebook_markdown(path)))
    return files
