r"""Griffe extension: render the docstrings' reStructuredText markup as the site's Markdown.

The package's docstrings are numpy style with the usual Sphinx markup, which MkDocs would
print as it stands. Before mkdocstrings renders them, this extension rewrites, in every
docstring of the package:

- ``:math:`x``` into inline math and a ``.. math::`` directive (with its indented
  continuation lines) into a display block, both typeset by MathJax (``pymdownx.arithmatex``);
- ``:class:`~a.b.C``` and the other cross-reference roles (``func``, ``meth``, ``mod``,
  ``data``, ``attr``, ``exc``, ``obj``) into links to the object's entry in the API
  reference. The target is resolved like Sphinx does: absolute, relative to the module
  (``.options.plan``), or a name in the scope of the documented object; ``~`` shows the last
  component only. A target that is not on the site (a private helper) stays as code, without
  a link; whether every target exists is checked by ``tests/test_docstrings.py``;
- a doctest (``>>>`` lines and their output) outside an ``Examples`` section into a code
  block (Markdown would read ``>>>`` as nested quotes, and ``[a]`` followed by ``[b]`` as a
  link).
"""

from __future__ import annotations

import html
import re

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`([^`]+)`")
_MATH = re.compile(r":math:`([^`]+)`")
_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*(.*)$")
_SECTION = re.compile(r"^\s*-{3,}\s*$")


def _find(collection, path: str):
    try:
        return collection.get_member(path)
    except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError):
        return None


def _canonical(obj) -> str | None:
    try:
        return obj.final_target.path if obj.is_alias else obj.path
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def _resolve(obj, target: str, collection) -> str | None:
    """Full path of the object ``target`` names, seen from ``obj`` (None if not found)."""
    module = obj.module.path if not obj.is_module else obj.path
    if target.startswith("."):
        parts = module.split(".")
        candidates = [".".join(parts[:i]) + target for i in range(len(parts), 0, -1)]
    elif target.split(".")[0] == "trajectories":
        candidates = [target]
    else:
        candidates = []
        scope = obj
        while scope is not None:
            candidates.append(f"{scope.path}.{target}")
            scope = scope.parent
        head, _, rest = target.partition(".")
        try:
            resolved = obj.resolve(head)
            candidates.append(f"{resolved}.{rest}" if rest else resolved)
        except (griffe.NameResolutionError, AttributeError, ValueError):
            pass
    for path in candidates:
        found = _find(collection, path)
        if found is not None:
            return _canonical(found)
    return None


def _link(obj, role_target: str, collection) -> str:
    text = role_target.strip()
    title = None
    if m := re.match(r"(.*?)\s*<([^>]+)>$", text):
        title, text = m.group(1), m.group(2)
    short = text.startswith("~")
    text = text.lstrip("~")
    shown = title or (text.split(".")[-1] if short else text.lstrip("."))
    path = _resolve(obj, text, collection)
    code = f"<code>{html.escape(shown)}</code>"
    if path is None:
        return code
    return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'


def _math_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, body = m.group(1), [m.group(2)]
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        out += ["", indent + "$$", *(indent + b for b in body if b), indent + "$$", ""]
    return out


def _doctests(lines: list[str]) -> list[str]:
    out: list[str] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and _SECTION.match(lines[i + 1]) and line.strip():
            section = line.strip()
        if section != "Examples" and line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
                block.append(lines[i][len(indent) :])
                i += 1
            out += ["", indent + "```pycon", *(indent + b for b in block), indent + "```", ""]
            continue
        out.append(line)
        i += 1
    return out


def convert(obj, text: str, collection) -> str:
    """The docstring ``text`` of ``obj`` with its reStructuredText markup as Markdown."""
    lines = _doctests(_math_blocks(text.splitlines()))
    text = "\n".join(lines)
    text = _MATH.sub(lambda m: f"${m.group(1).strip()}$", text)
    return _ROLE.sub(lambda m: _link(obj, m.group(1), collection), text)


class SphinxRoles(griffe.Extension):
    """Rewrite the docstrings of every loaded package once it is loaded."""

    def on_package(self, *, pkg, loader, **kwargs) -> None:
        collection = loader.modules_collection
        stack = [pkg]
        seen = set()
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = convert(obj, obj.docstring.value, collection)
            stack.extend(m for m in obj.members.values() if not m.is_alias)
