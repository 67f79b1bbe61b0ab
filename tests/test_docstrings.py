r"""Every public name has a numpy-style docstring: the API reference is built from them.

For each module in ``DOCUMENTED`` and each name in its ``__all__``:

- a function (or a public method of a public class) has a docstring; if it takes parameters
  (other than ``self``/``cls``), a ``Parameters`` section names every one of them and no
  other (``*args`` and ``**kwargs`` may be named as such); if it returns or yields a value,
  a ``Returns`` or ``Yields`` section says what;
- a class has a docstring with a ``Parameters`` or ``Attributes`` section, and every
  argument of its constructor is named in one of them;
- a property has a docstring (one line stating the unit or shape is enough).

Every cross-reference (``:func:``, ``:class:``, ``:meth:``, ``:mod:``, ``:data:``,
``:attr:``) in those docstrings resolves, every repository path they quote
(``docs/...``, ``tests/...``) exists, and none cites a file outside the repository, an issue
or a branch. A docstring with a backslash (LaTeX) is a raw string, so that ``\theta`` is
not silently a tab.

Constants (numbers, strings, tuples) are documented by the ``#:`` comment above them and
are not checked here. Names re-exported from another module are checked where they are
listed, so a re-export cannot lose its documentation.

The modules not yet covered are in ``PENDING``: move a module from ``PENDING`` to
``DOCUMENTED`` once its docstrings are complete.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import re
import textwrap
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "trajectories"

#: Modules whose public names must be fully documented.
DOCUMENTED = [
    "trajectories.errors",
    "trajectories.validation",
    "trajectories.observables",
    "trajectories.model.interactions",
    "trajectories.model.imperfections",
    "trajectories.model.protocol",
    "trajectories.channels.books",
    "trajectories.channels.arrivals",
    "trajectories.channels.spread",
    "trajectories.model.micromaser",
    "trajectories.model.network",
    "trajectories.bipartite",
    "trajectories.channels.network_collision",
    "trajectories.channels.network_loss",
    "trajectories.channels.network_step",
    "trajectories.solvers.network_exact",
    "trajectories.solvers.spectral.network_steady",
    "trajectories.solvers.counting.network",
    "trajectories.solvers.counting.results",
    "trajectories.model.states",
    "trajectories.channels.collisions",
    "trajectories.channels.jaynes_cummings",
    "trajectories.channels.kraus",
    "trajectories.channels.kraus_unravelling",
    "trajectories.channels.loss",
    "trajectories.channels.loss_unravelling",
    "trajectories.channels.beam_unravelling",
    "trajectories.channels.one_step",
    "trajectories.channels.operators",
    "trajectories.channels.rabi",
    "trajectories.channels.rabi_unitary",
    "trajectories.channels.tilted",
    "trajectories.solvers.exact",
    "trajectories.solvers.closed_forms",
    "trajectories.solvers.spectral",
    "trajectories.solvers.spectral.escape",
    "trajectories.solvers.spectral.spectrum",
    "trajectories.solvers.spectral.steady",
    "trajectories.solvers.counting",
    "trajectories.solvers.counting.exact",
    "trajectories.solvers.counting.rates",
    "trajectories.solvers.counting.scgf",
    "trajectories.solvers.montecarlo.cloning",
    "trajectories.solvers.montecarlo.cloning_kernel",
    "trajectories.statistics.compare",
    "trajectories.statistics.counting",
    "trajectories.statistics.detection",
    "trajectories.statistics.discharge",
    "trajectories._optional",
    "trajectories.solvers.montecarlo.result",
    "trajectories.runs.io",
    "trajectories.runs.runner",
    "trajectories.runs.sweep",
    "trajectories.progress",
    "trajectories.runs.cli",
    "trajectories.runs.show_tables",
    "trajectories.runs.scgf_command",
    "trajectories.solvers.montecarlo.accumulator",
    "trajectories.solvers.montecarlo.reductions",
    "trajectories.statistics.histograms",
    "trajectories.solvers.montecarlo.chunks",
    "trajectories.solvers.montecarlo.kernel_inputs",
    "trajectories.solvers.montecarlo.kernels",
    "trajectories.solvers.montecarlo.options",
    "trajectories.solvers.montecarlo.parallel",
    "trajectories.solvers.montecarlo.simulate",
    "trajectories.solvers.montecarlo.network_kernel",
    "trajectories.solvers.montecarlo.network_result",
    "trajectories.solvers.montecarlo.network_simulate",
    "trajectories.channels.network_arrays",
    "trajectories.channels.network_unravelling",
    "trajectories.plot",
    "trajectories.plot.counting",
    "trajectories.plot.large_deviations",
    "trajectories.plot.figures",
    "trajectories.plot.books",
    "trajectories.plot.network",
    "trajectories.plot.style",
    "trajectories.runs.chunkstore",
    "trajectories.runs.records",
    "trajectories.runs.hdf5",
    "trajectories.runs.network_io",
    "trajectories.runs.network_points",
    "trajectories.runs.expressions",
    "trajectories.runs.points",
    "trajectories.runs.presets",
    "trajectories.runs.runfile",
    "trajectories.runs.runlock",
    "trajectories.runs.schema",
    "trajectories.runs.settings",
    "trajectories",
]

#: Modules still to be documented; move them to ``DOCUMENTED`` when they are.
PENDING: list[str] = ["trajectories.solvers.montecarlo.reductions"]

_HEADER = re.compile(r"^(\w[\w ]*)\n-{3,}\s*$", re.MULTILINE)


def sections(doc: str) -> dict[str, str]:
    """The numpy-style sections of a docstring: ``{"Parameters": body, ...}``."""
    doc = inspect.cleandoc(doc)
    heads = list(_HEADER.finditer(doc))
    out = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(doc)
        out[m.group(1).strip()] = doc[m.end() : end]
    return out


def documented_names(body: str) -> set[str]:
    """Names listed in a Parameters/Attributes section: unindented ``name[, name] [: type]``."""
    names = set()
    for line in textwrap.dedent(body.strip("\n")).splitlines():
        if not line.strip() or line[0].isspace():
            continue
        head = line.split(" : ")[0].rstrip(":").strip()
        names.update(n.strip().lstrip("*") for n in head.split(","))
    return names


def _unwrap(func):
    func = getattr(func, "__func__", func)  # staticmethod, classmethod
    func = getattr(func, "py_func", func)  # numba dispatcher
    return inspect.unwrap(func)


def returns_value(func) -> bool:
    """Whether the function's own body has ``return <value>`` or ``yield``."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(_unwrap(func))))
    except (OSError, TypeError):
        return False
    fdef = tree.body[0]
    stack, found = list(fdef.body), False
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                found = True
        stack.extend(ast.iter_child_nodes(node))
    return found


def parameters(func, *, skip_first: bool) -> list[str]:
    params = list(inspect.signature(_unwrap(func)).parameters.values())
    if skip_first and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return [p.name for p in params]


def check_function(qualname: str, func, *, method: bool = False) -> list[str]:
    doc = inspect.getdoc(_unwrap(func)) or func.__doc__
    if not doc:
        return [f"{qualname}: no docstring"]
    problems = []
    secs = sections(doc)
    names = parameters(func, skip_first=method)
    if names:
        if "Parameters" not in secs:
            problems.append(f"{qualname}: no Parameters section")
        else:
            listed = documented_names(secs["Parameters"])
            missing = [n for n in names if n not in listed]
            if missing:
                problems.append(f"{qualname}: Parameters does not name {missing}")
            if listed - set(names):
                problems.append(
                    f"{qualname}: Parameters names {sorted(listed - set(names))}, "
                    "which the signature does not have"
                )
    if returns_value(func) and not ({"Returns", "Yields"} & secs.keys()):
        problems.append(f"{qualname}: returns a value but has no Returns section")
    return problems


def check_class(qualname: str, cls) -> list[str]:
    doc = cls.__doc__
    if not doc:
        return [f"{qualname}: no docstring"]
    problems = []
    secs = sections(doc)
    if not ({"Parameters", "Attributes"} & secs.keys()):
        problems.append(f"{qualname}: no Parameters or Attributes section")
    named = set()
    for key in ("Parameters", "Attributes"):
        if key in secs:
            named |= documented_names(secs[key])
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        sig = None
    own_init = "__init__" in vars(cls) or dataclasses.is_dataclass(cls) or hasattr(cls, "_fields")
    if getattr(cls, "_is_protocol", False):  # a typing.Protocol: nothing to construct
        own_init = False
    if sig is not None and own_init:
        missing = [n for n in sig.parameters if n not in named]
        if missing:
            problems.append(f"{qualname}: constructor arguments not documented: {missing}")
        extra = documented_names(secs.get("Parameters", "")) - set(sig.parameters)
        if extra:
            problems.append(
                f"{qualname}: Parameters names {sorted(extra)}, which the constructor does not take"
            )
    elif not own_init and "Parameters" in secs and not getattr(cls, "_is_protocol", False):
        problems.append(f"{qualname}: a Parameters section, but no constructor of its own")
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        where = f"{qualname}.{name}"
        if isinstance(member, (property, functools.cached_property)):
            if not member.__doc__:
                problems.append(f"{where}: property without a docstring")
        elif isinstance(member, staticmethod):
            problems += check_function(where, member.__func__)
        elif isinstance(member, classmethod):
            problems += check_function(where, member.__func__, method=True)
        elif inspect.isfunction(member):
            problems += check_function(where, member, method=True)
    return problems


def module_problems(modname: str) -> list[str]:
    mod = importlib.import_module(modname)
    problems = []
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        qualname = f"{modname}.{name}"
        if inspect.ismodule(obj):
            continue
        if inspect.isclass(obj):
            problems += check_class(qualname, obj)
        elif callable(obj):
            problems += check_function(qualname, obj)
    return problems


@pytest.mark.parametrize("modname", DOCUMENTED)
def test_public_names_are_documented(modname):
    problems = module_problems(modname)
    assert not problems, "\n".join(problems)


def test_every_module_is_listed():
    """A module of the package with an ``__all__`` is in DOCUMENTED or in PENDING."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue
        tree = ast.parse(path.read_text())
        if any(
            isinstance(node, ast.Assign)
            and any(getattr(t, "id", "") == "__all__" for t in node.targets)
            for node in tree.body
        ):
            found.add(".".join(parts))
    unlisted = sorted(found - set(DOCUMENTED) - set(PENDING))
    assert not unlisted, f"add to DOCUMENTED or PENDING: {unlisted}"


# ------------------------------------------------------------------------- references
_ROLE = re.compile(r":(?:mod|func|class|meth|data|attr|obj|exc):`([^`]+)`")
_PATH = re.compile(r"``((?:docs|tests|analysis|examples|trajectories)/[\w./-]+)``")
_FORBIDDEN = re.compile(r"SPEC\.md|\bissues?\s+#?\d|\bbranch(?:es)?\s+[a-z]+\d")


def _attribute_names(cls) -> set[str]:
    """Instance attributes a class documents or declares (not visible on the class)."""
    names = set(getattr(cls, "__dataclass_fields__", {}))
    doc = cls.__doc__ or ""
    for key in ("Attributes", "Parameters"):
        if key in sections(doc):
            names |= documented_names(sections(doc)[key])
    return names


def _lookup(obj, parts: list[str]) -> bool:
    for i, part in enumerate(parts):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        elif inspect.isclass(obj) and part in _attribute_names(obj) and i == len(parts) - 1:
            return True
        else:
            return False
    return True


def _resolves(target: str, module, owner) -> bool:
    m = re.search(r"<([^>]+)>", target)
    parts = (m.group(1) if m else target).strip().lstrip("~").split(".")
    if parts[0] == "trajectories":
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            return _lookup(obj, parts[i:])
        return False
    scopes = [module] + ([owner] if owner is not None else [])
    return any(_lookup(scope, parts) for scope in scopes)


def _docstrings(modname: str):
    """``(where, docstring, module it is resolved in, owning class)`` of a module's API."""
    mod = importlib.import_module(modname)
    yield modname, mod.__doc__ or "", mod, None
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
            continue
        home = inspect.getmodule(_unwrap(obj)) or mod
        owner = obj if inspect.isclass(obj) else None
        if obj.__doc__:
            yield f"{modname}.{name}", obj.__doc__, home, owner
        if owner is None:
            continue
        for key, member in vars(obj).items():
            func = getattr(member, "__func__", member)
            func = getattr(func, "fget", func)
            if not key.startswith("__") and getattr(func, "__doc__", None):
                yield f"{modname}.{name}.{key}", func.__doc__, home, owner


@pytest.mark.parametrize("modname", DOCUMENTED)
def test_references_resolve(modname):
    problems = []
    for where, doc, home, owner in _docstrings(modname):
        for m in _ROLE.finditer(doc):
            if not _resolves(m.group(1), home, owner):
                problems.append(f"{where}: unresolved reference {m.group(0)}")
        for m in _PATH.finditer(doc):
            if not (ROOT / m.group(1)).exists():
                problems.append(f"{where}: no file {m.group(1)} in the repository")
        for m in _FORBIDDEN.finditer(doc):
            problems.append(f"{where}: cites {m.group(0)!r} (not in the repository)")
    assert not problems, "\n".join(problems)


_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\[a-zA-Z]")


@pytest.mark.parametrize("modname", DOCUMENTED)
def test_docstrings_with_latex_are_raw(modname):
    """``\\theta`` in a plain string is a tab and ``heta``: LaTeX needs r-strings."""
    path = Path(importlib.util.find_spec(modname).origin)
    problems = []
    with path.open() as fh:
        for tok in tokenize.generate_tokens(fh.readline):
            if tok.type != tokenize.STRING:
                continue
            prefix = re.match(r"[a-zA-Z]*", tok.string).group(0).lower()
            body = tok.string[len(prefix) :]
            if "r" not in prefix and body.startswith(('"""', "'''")) and _ESCAPE.search(body):
                problems.append(f"{modname}:{tok.start[0]}: docstring with a backslash is not raw")
    assert not problems, "\n".join(problems)
