"""Property-based tests (hypothesis): hostile input fails cleanly, before any work.

- run-file documents of any shape (random keys, types, nesting, unicode, huge numbers,
  NaN/inf), as dictionaries and as TOML text, either load into run points or raise
  :class:`~trajectories.runs.runfile.RunFileError` with one line, and the command line answers
  them with exit status 2 and one line (or starts the run);
- the expression parser accepts exactly its grammar (differential test against Python's
  own parser restricted to the grammar), never evaluates Python, and rejects very long or
  deeply nested input quickly, without RecursionError;
- ``Micromaser``, ``simulate``, ``solve_exact`` and ``steady_state`` reject NaN, inf,
  negative, mistyped and absurd sizes with a ValueError naming the argument, before
  allocating (checked with tracemalloc).

Every test is derandomized with a fixed example count (:data:`SETTINGS`), so CI runs the
same examples every time; together they take about 15 s (see the report of issue 13).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import math
import os
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import trajectories as tj
from trajectories import validation
from trajectories.model.micromaser import MAX_CUTOFF
from trajectories.runs import cli, runner
from trajectories.runs.runfile import (
    MODEL_KEYS,
    OUTPUT_KEYS,
    RUN_KEYS,
    RunFileError,
    RunPoint,
    load_run_file,
    parse_expression,
    parse_run_dict,
)


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


#: Example counts per test; the budget of this file is under 30 s on 2 cores.
SETTINGS = {
    "expr": _settings(400),
    "doc": _settings(300),
    "cli": _settings(60),
    "args": _settings(60),
}

#: A machine of 16 GiB for the tests whose refusal depends on the machine's memory.
PINNED_MEMORY = 16 * 2**30

# =========================================================================== expressions
_ALLOWED_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class _NotInGrammar(Exception):
    pass


def _reference_eval(node: ast.AST, text: str) -> float:
    """Evaluate an AST restricted to the grammar with the parser's float operations."""
    if isinstance(node, ast.Expression):
        return _reference_eval(node.body, text)
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise _NotInGrammar
        return float(ast.get_source_segment(text, node))  # the literal's own digits
    if isinstance(node, ast.Name) and node.id == "pi":
        return math.pi
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        v = _reference_eval(node.operand, text)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _ALLOWED_OPS:
        a = _reference_eval(node.left, text)
        b = _reference_eval(node.right, text)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if b == 0.0:
            raise ValueError("division by zero")
        return a / b
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "sqrt"
        and len(node.args) == 1
        and not node.keywords
        and not isinstance(node.args[0], ast.Starred)
    ):
        v = _reference_eval(node.args[0], text)
        if v < 0.0:
            raise ValueError("sqrt of a negative number")
        return math.sqrt(v)
    raise _NotInGrammar


def reference(text: str) -> float | None:
    """The grammar's value of ``text`` by an independent route, or None if it is not a
    valid expression (outside the grammar, or division by zero, sqrt of a negative
    number, a non-finite result).

    Python's parser does the parsing; the differences between Python's expression syntax
    and the grammar are removed first: only ASCII; no comments, line continuations,
    commas; no digit followed by a letter other than an exponent (``1_0``, ``0x1``,
    ``1j``); leading zeros of integers (``007``, an error in Python) dropped.
    """
    if not text.isascii() or any(ch in text for ch in "#\\,"):
        return None
    if re.search(r"\d[A-DF-Za-df-z_]", text):
        return None
    src = re.sub(r"[\t\n\r\f\v]", " ", text).strip()
    src = re.sub(r"(?<![\w.])0+(?=\d)", "", src)
    if not src:
        return None
    try:
        tree = ast.parse(src, mode="eval")
        value = _reference_eval(tree, src)
    except (SyntaxError, ValueError, RecursionError, MemoryError, _NotInGrammar):
        return None
    return value if math.isfinite(value) else None


_TOKENS = re.compile(r"\s*(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|[A-Za-z_]\w*|\S)")


def _depth(text: str) -> int:
    """The parser's nesting depth of a valid expression: open parentheses plus unary signs
    still waiting for their operand, at the deepest point."""
    stack: list[str] = []
    deepest = 0
    prev = None
    for tok in _TOKENS.findall(text):
        if tok in "+-" and (prev is None or prev in ("(", "+", "-", "*", "/")):
            stack.append("u")
        elif tok == "(":
            stack.append("p")
        elif tok == ")" or tok[0].isdigit() or tok[0] == "." or tok == "pi":
            if tok == ")":
                stack.pop()
            while stack and stack[-1] == "u":
                stack.pop()
        deepest = max(deepest, len(stack))
        prev = tok
    return deepest


def expected(text: str) -> float | None:
    """What parse_expression must return: the reference value, within the parser's limits
    on length (1000 characters) and nesting (64 levels)."""
    value = reference(text)
    if value is not None and (len(text) > 1000 or _depth(text) > 64):
        return None
    return value


def _outcome(text: str) -> float | None:
    try:
        return parse_expression(text)
    except RunFileError as err:
        assert "\n" not in str(err)
        return None


# grammar-generated expressions (text only; the value comes from reference())
_ws = st.sampled_from(["", "", "", " ", "  ", "\t", "\n"])
_numbers = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(["0", "2.5", ".5", "3.", "1e-3", "1.5E2", "2e+1", "0.0", "1e308", "7e-320"]),
    st.floats(0, 1e30, allow_nan=False, allow_infinity=False).map(repr),
)


def _wrap(children):
    return st.one_of(
        st.tuples(_ws, st.sampled_from("+-"), _ws, children).map("".join),
        st.tuples(st.just("("), _ws, children, _ws, st.just(")")).map("".join),
        st.tuples(st.just("sqrt"), _ws, st.just("("), children, st.just(")")).map("".join),
        st.tuples(
            st.just("("), children, _ws, st.sampled_from("+-*/"), _ws, children, st.just(")")
        ).map("".join),
        st.tuples(children, _ws, st.sampled_from("+-*/"), _ws, children).map("".join),
    )


grammar_expressions = st.recursive(_numbers | st.just("pi"), _wrap, max_leaves=12)


@SETTINGS["expr"]
@given(text=grammar_expressions)
def test_expressions_of_the_grammar_evaluate_like_the_reference(text):
    assert reference(text) is not None or _value_error(text), text  # the strategy's grammar
    assert _outcome(text) == expected(text), text


def _value_error(text: str) -> bool:
    """A grammar expression Python rejects only for its value (0 division, sqrt(-x), inf)."""
    try:
        _reference_eval(ast.parse(re.sub(r"\s", " ", text).strip(), mode="eval"), text)
    except (ValueError, OverflowError):
        return True
    except (SyntaxError, RecursionError):
        return False
    return True  # a non-finite result


_HOSTILE = "0123456789.eE+-*/()  \tpisqrtx_ab[]'\",:;=<>%&|^~!@#$`\\{}\n\x00πｐ٣\u00a0\u2003"


@SETTINGS["expr"]
@given(text=st.text(alphabet=_HOSTILE, max_size=40) | st.text(max_size=20))
def test_any_text_is_accepted_exactly_when_the_grammar_accepts_it(text):
    assert _outcome(text) == expected(text), text


@SETTINGS["expr"]
@given(
    text=grammar_expressions,
    pos=st.integers(0, 10**6),
    edit=st.sampled_from(["insert", "delete", "replace"]),
    ch=st.sampled_from(list(_HOSTILE) + ["pi", "sqrt", "e5", "lambda", ".real", "[0]", "**"]),
)
def test_one_edit_away_from_the_grammar_is_still_judged_exactly(text, pos, edit, ch):
    """Strings next to valid ones: where acceptance flips, parser and reference agree."""
    i = pos % (len(text) + 1)
    if edit == "insert":
        text = text[:i] + ch + text[i:]
    elif edit == "delete":
        text = text[:i] + text[i + 1 :]
    else:
        text = text[:i] + ch + text[i + 1 :]
    assert _outcome(text) == expected(text), text


_PAYLOADS = [
    "__import__('os').system('touch pwned')",
    "open('pwned', 'w').write('x')",
    "exec('import os')",
    "eval('1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "pi.__class__.__mro__",
    "sqrt.__self__",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 1",
    "(lambda: 1)()",
    "[x for x in (1,)]",
    "pi[0]",
    "sqrt(4)[0]",
    "exp(1)",
    "sqrt(4, 2)",
    "sqrt(x=4)",
    "__builtins__",
    "__dict__",
    "1 if 1 else 2",
    "f'{1}'",
    "b'1'",
    "1j",
    "0x10",
    "1_000",
    "sqrt(*[4])",
    "pi.real",
    "...",
    "not 1",
    "1 and 2",
    "(pi := 3)",
]


def _no_python(*args, **kwargs):
    raise AssertionError("the expression parser called into Python evaluation")


@SETTINGS["expr"]
@given(
    payload=st.sampled_from(_PAYLOADS),
    prefix=st.sampled_from(["", "1 + ", "sqrt(", "-(", "pi * "]),
    suffix=st.sampled_from(["", " + 1", ")", " * pi"]),
)
def test_expressions_never_evaluate_python(payload, prefix, suffix):
    text = prefix + payload + suffix
    with tempfile.TemporaryDirectory() as tmp, _chdir(tmp):
        with mock.patch.multiple(
            builtins, eval=_no_python, exec=_no_python, compile=_no_python,
            __import__=_no_python, open=_no_python,
        ):  # fmt: skip
            try:
                parse_expression(text)
                raised = None
            except RunFileError as err:  # anything else propagates and fails the test
                raised = err
        assert raised is not None and "cannot evaluate expression" in str(raised)
        assert list(Path(tmp).iterdir()) == []


@contextlib.contextmanager
def _chdir(path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@SETTINGS["expr"]
@given(
    shape=st.sampled_from(["parens", "unary", "sqrt", "mixed", "flat", "digits", "spaces"]),
    size=st.integers(65, 200_000),
)
def test_long_or_deep_input_is_rejected_quickly_without_recursion_error(shape, size):
    text = {
        "parens": "(" * size + "1" + ")" * size,
        "unary": "-" * size + "1",
        "sqrt": "sqrt(" * size + "4" + ")" * size,
        "mixed": "-(" * size + "1" + ")" * size,
        "flat": "+".join(["1"] * size),
        "digits": "9" * size,
        "spaces": " " * size + "1",
    }[shape]
    t0 = time.perf_counter()
    got = _outcome(text)  # RecursionError or anything else would propagate and fail
    assert time.perf_counter() - t0 < 0.5
    if len(text) > 1000 or shape in ("parens", "unary", "sqrt", "mixed"):
        assert got is None  # too long, or nested past 64 levels
    elif shape == "flat":
        assert got == float(size)
    elif shape == "digits":
        assert got == (float(text) if math.isfinite(float(text)) else None)
    else:
        assert got == 1.0


@pytest.mark.parametrize("depth", [1, 30, 64])
def test_nesting_up_to_the_limit_is_accepted(depth):
    assert parse_expression("(" * depth + "2" + ")" * depth) == 2.0
    assert parse_expression("-" * depth + "2") == (-2.0 if depth % 2 else 2.0)
    assert parse_expression("sqrt(" * min(depth, 60) + "1" + ")" * min(depth, 60)) == 1.0


# ============================================================================ run files
_SECTIONS = {"model": MODEL_KEYS, "run": RUN_KEYS, "output": OUTPUT_KEYS}

_odd_strings = st.sampled_from(
    [
        "", " ", "pi/sqrt(15)", "pi/sqrt(15.6)", "1e999", "nan", "-inf", "__import__('os')",
        "rabi", "jc", "jaynes-cummings", "suppress", "all", "last", "none", "product", "zip",
        "png", "pdf", "loky", "threading", "dask", "spark", "runs", "../up", "/", "a/b",
        "\x00", "π", "名前", "\u202e", "🎉", ".", "..", "every", "count",
    ]
)  # fmt: skip
#: beyond 4300 digits, which Python refuses to print (hypothesis must not repr it either)
_googol_5000 = st.just(5000).map(lambda e: 10**e)
_huge_ints = st.one_of(
    st.sampled_from([2**63, -(2**63) - 1, 10**15, 10**30, -(10**30), 10**400]), _googol_5000
)
_scalars = st.one_of(
    st.booleans(),
    st.integers(-5, 200),
    _huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.25, 1.0, 1.5, 1e-300, 1e300, math.inf, -math.inf, math.nan]),
    st.text(max_size=12),
    _odd_strings,
    st.dates(),
    st.datetimes(),
    st.times(),
)
_keys = st.one_of(
    st.sampled_from(
        [
            *MODEL_KEYS,
            *RUN_KEYS,
            *OUTPUT_KEYS,
            *_SECTIONS,
            "every",
            "count",
            "abs",
            "phase",
            "re",
            "im",
        ]
    ),  # fmt: skip
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda ch: st.lists(ch, max_size=3) | st.dictionaries(_keys, ch, max_size=3),
    max_leaves=8,
)


def _sweep(single):
    """A value, or occasionally a short sweep list of them."""
    return st.one_of(single, single, single, single, st.lists(single, min_size=0, max_size=3))


_real = st.one_of(
    st.floats(-1.0, 3.0),
    st.sampled_from([0.0, 0.25, 1.0, 1e-3, math.nan, math.inf, -math.inf, -1e-9, 1e300]),
    st.sampled_from(["pi/sqrt(15)", "pi/sqrt(15.6)", "1/0", "sqrt(-1)", "2*pi", "1e999"]),
    st.integers(-2, 3),
)
_small_int = st.one_of(st.integers(-3, 60), _huge_ints, st.floats(0, 50))

_PLAUSIBLE = {
    ("model", "theta"): _sweep(_real),
    ("model", "q"): _sweep(_real),
    ("model", "c"): _sweep(
        st.one_of(
            _real,
            st.fixed_dictionaries({}, optional={"abs": _real, "phase": _real}),
            st.fixed_dictionaries({}, optional={"re": _real, "im": _real, "x": _real}),
        )
    ),
    ("model", "gamma_tr"): _sweep(_real),
    ("model", "nbar"): _sweep(_real),
    ("model", "cutoff"): _sweep(
        st.one_of(
            st.integers(-2, 60), st.integers(10**4, 10**7), _huge_ints, st.just(MAX_CUTOFF + 1)
        )
    ),  # fmt: skip
    ("model", "collision"): _sweep(st.sampled_from(["rabi", "jc", "jaynes-cummings", "RABI"])),
    ("model", "g_over_omega"): _sweep(_real),
    ("model", "eta"): _sweep(st.one_of(_real, st.just("suppress"))),
    ("model", "nu_over_omega"): _sweep(_real),
    ("model", "omega_tr"): _sweep(_real),
    ("model", "extra_levels"): _sweep(st.one_of(st.integers(-1, 8), _huge_ints)),
    ("model", "arrivals"): _sweep(
        st.one_of(
            st.sampled_from(["regular", "poisson", "bernoulli", "none"]),
            st.fixed_dictionaries({"bernoulli": st.one_of(_real, st.lists(_real, max_size=3))}),
        )
    ),
    ("model", "theta_spread"): _sweep(
        st.one_of(
            st.sampled_from(["none", "gaussian", "poisson"]),
            st.fixed_dictionaries({"gaussian": st.one_of(_real, st.lists(_real, max_size=3))}),
            st.fixed_dictionaries({"uniform": st.one_of(_real, st.lists(_real, max_size=3))}),
            st.fixed_dictionaries(
                {
                    "discrete": st.fixed_dictionaries(
                        {},
                        optional={
                            "values": st.lists(_real, max_size=3),
                            "weights": st.lists(_real, max_size=3),
                        },
                    )
                }
            ),
        )
    ),  # fmt: skip
    ("run", "trajectories"): _sweep(st.one_of(st.integers(-1, 1000), _huge_ints)),
    ("run", "collisions"): _sweep(st.one_of(st.integers(-1, 1000), st.just(10**12), _huge_ints)),
    ("run", "seed"): _sweep(st.one_of(st.integers(-1, 10), _huge_ints)),
    ("run", "chunk_size"): _sweep(_small_int),
    ("run", "checkpoints"): st.one_of(
        st.fixed_dictionaries({}, optional={"every": _small_int, "count": _small_int}),
        st.lists(st.integers(-1, 1200), max_size=5),
        st.lists(st.integers(0, 1000), max_size=4).map(sorted),
    ),
    ("run", "rho_checkpoints"): st.one_of(
        st.sampled_from(["all", "last", "none", "some"]),
        st.lists(st.integers(0, 1000), max_size=3).map(sorted),
    ),
    ("run", "records"): st.one_of(
        st.sampled_from(["all", "last", "none", "some"]),
        st.lists(st.integers(0, 1000), max_size=3).map(sorted),
    ),
    ("run", "jobs"): _sweep(st.integers(-2, 3)),
    ("run", "backend"): _sweep(st.sampled_from(["loky", "threading", "dask", "nope", ""])),
    ("run", "max_jumps"): _sweep(st.one_of(st.integers(-1, 50), _huge_ints)),
    ("run", "leakage_tol"): _sweep(_real),
    ("run", "exact"): _sweep(st.booleans()),
    ("run", "sweep"): st.sampled_from(["product", "zip", "both"]),
    ("output", "folder"): st.one_of(st.text(max_size=10), _odd_strings),
    ("output", "name"): st.one_of(st.text(max_size=10), _odd_strings),
    ("output", "plots"): st.lists(st.sampled_from(["png", "pdf", "svg"]), max_size=3),
}


def _section(name):
    keys = _SECTIONS[name]
    typed = st.fixed_dictionaries(
        {},
        optional={
            k: st.one_of(_PLAUSIBLE[(name, k)], _values, st.lists(_values, min_size=2, max_size=3))
            for k in keys
        },
    )
    extra = st.dictionaries(_keys, _values, max_size=2)
    return st.one_of(typed, typed, typed, st.tuples(typed, extra).map(lambda t: {**t[0], **t[1]}))


documents = st.one_of(
    st.fixed_dictionaries({}, optional={name: _section(name) for name in _SECTIONS}),
    st.fixed_dictionaries({}, optional={name: _section(name) for name in _SECTIONS}),
    st.dictionaries(_keys, _values, max_size=4),
    st.tuples(
        st.fixed_dictionaries({}, optional={name: _section(name) for name in _SECTIONS}),
        st.dictionaries(_keys, _values, max_size=2),
    ).map(lambda t: {**t[0], **t[1]}),
)


def _sweep_size(doc) -> int:
    n = 1
    if isinstance(doc, dict):
        for section in ("model", "run"):
            table = doc.get(section)
            if isinstance(table, dict):
                for k, v in table.items():
                    if isinstance(v, list) and k not in ("checkpoints", "rho_checkpoints"):
                        n *= max(len(v), 1)
                    elif section == "model" and isinstance(v, dict) and len(v) == 1:
                        (w,) = v.values()  # theta_spread = { gaussian = [..] }: a sweep axis
                        n *= max(len(w), 1) if isinstance(w, list) else 1
    return n


def _check_points(points) -> None:
    assert isinstance(points, list) and points
    for p in points:
        assert isinstance(p, RunPoint)
        assert isinstance(p.model, tj.Micromaser)
        assert p.run.checkpoints and p.run.checkpoints[-1] <= p.run.collisions


def _load_outcome(load, *args):
    """("ok", points) or ("error", RunFileError); anything else propagates (a failure)."""
    try:
        points = load(*args)
    except RunFileError as err:
        text = str(err)
        assert text and "\n" not in text, text
        return "error", err
    _check_points(points)
    return "ok", points


@SETTINGS["doc"]
@given(doc=documents)
def test_any_run_document_loads_or_fails_with_a_run_file_error(doc):
    assume(_sweep_size(doc) <= 64)  # large sweeps are legitimate and just slow to build
    _load_outcome(parse_run_dict, doc)


# --------------------------------------------------------------- the same through TOML text
def _toml_key(k: str) -> str:
    return _toml_string(k)


def _toml_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if abs(v).bit_length() > 10_000:  # more digits than Python converts by default
            return "9" * 5000  # TOML has no limit; Python's int() refuses it
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return v.isoformat()  # dates, times, datetimes


def to_toml(doc: dict) -> str:
    lines = [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)
    ]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{_toml_key(k)}]")
            lines += [f"{_toml_key(kk)} = {_toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


_surrogate_free = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)


@SETTINGS["doc"]
@given(
    data=st.one_of(
        documents.map(to_toml),
        documents.map(to_toml),
        _surrogate_free,
        st.binary(max_size=100),
        st.tuples(documents.map(to_toml), st.integers(0, 10**6), _surrogate_free).map(
            lambda t: t[0][: t[1] % (len(t[0]) + 1)] + t[2]  # a valid file cut and continued
        ),
    )
)
def test_any_run_file_text_loads_or_fails_with_a_run_file_error(data):
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_bytes(raw)
        try:
            import tomllib

            doc = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):  # TOMLDecodeError, int() beyond 4300 digits
            doc = None
        assume(_sweep_size(doc) <= 64)
        kind, value = _load_outcome(load_run_file, path)
        if doc is None:
            assert kind == "error" and str(path) in str(value)
        else:  # the file and its parsed dictionary are judged alike
            assert kind == _load_outcome(parse_run_dict, doc)[0]


# ------------------------------------------------------------------- through the command line
class _Started(Exception):
    """Raised by the stubbed runner: the command line accepted the file and started it."""


def _started(req, **kwargs):
    raise _Started(req)


@SETTINGS["cli"]
@given(doc=documents)
def test_command_line_exits_2_with_one_line_or_starts_the_run(doc):
    assume(_sweep_size(doc) <= 16)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(to_toml(doc), encoding="utf-8")
        expected, _ = _load_outcome(load_run_file, path)
        err = io.StringIO()
        # no files are touched: the run is stubbed where it would start writing
        with (
            mock.patch.object(runner, "check_can_start", lambda *a, **k: None),
            mock.patch.object(runner, "execute", _started),
            contextlib.redirect_stderr(err),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            try:
                status = cli.main(["run", str(path), "--quiet"])
            except _Started:
                status = "started"
    if expected == "error":
        assert status == 2
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("micromaser: error: "), lines
    else:
        assert status == "started", err.getvalue()


# =========================================================================== solver arguments
_nan_inf = st.sampled_from([math.nan, math.inf, -math.inf])
_wrong_type = st.sampled_from(["1", None, [1], {"a": 1}, 1j, b"1", object()])
_not_none = _wrong_type.filter(lambda v: v is not None)  # for arguments whose default is None
_negative_real = st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False)
_absurd = st.one_of(
    st.sampled_from([10**12, 10**15, 10**30, 2**63, 2**64 + 1, 10**400]), _googol_5000
)


def _ints_below(low):
    return st.one_of(st.integers(-(10**20), low - 1), st.just(-(10**30)))


_MODEL_OK = dict(theta=0.8, q=0.3, c=0.5, gamma_tr=0.1, nbar=0.1, cutoff=12)

BAD_MODEL = {
    "theta": st.one_of(_nan_inf, _negative_real, _wrong_type, st.just(True)),
    "q": st.one_of(_nan_inf, _negative_real, st.floats(1.0 + 1e-12, 1e300), _wrong_type),
    "c": st.one_of(
        _nan_inf,
        st.just(complex(math.nan, 0)),
        st.just(complex(0, math.inf)),
        st.floats(1.000001, 1e300),
        st.just(0.9 + 0.9j),
        st.just("1"),
        st.just(None),
    ),  # fmt: skip
    "gamma_tr": st.one_of(_nan_inf, _negative_real, _wrong_type),
    "nbar": st.one_of(_nan_inf, _negative_real, _wrong_type),
    "cutoff": st.one_of(
        _ints_below(2),
        st.integers(MAX_CUTOFF + 1, 10**30),
        _absurd,
        _nan_inf,
        st.just(12.0),
        st.just(True),
        _wrong_type,
    ),  # fmt: skip
}


def _fails_cleanly(call, name: str, peak_limit: int = 8 * 2**20) -> str:
    """``call()`` raises ValueError naming ``name``, quickly, without allocating much."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ValueError) as info:
            call()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    elapsed = time.perf_counter() - t0
    message = str(info.value)
    assert name in message, message
    assert "\n" not in message, message
    assert peak < peak_limit, (peak, message)
    assert elapsed < 2.0, (elapsed, message)
    return message


@contextlib.contextmanager
def _machine(memory: int = PINNED_MEMORY):
    with mock.patch.object(validation, "machine_memory", lambda: memory):
        yield


@SETTINGS["args"]
@given(data=st.data(), name=st.sampled_from(sorted(BAD_MODEL)))
def test_micromaser_rejects_bad_parameters_naming_them(data, name):
    value = data.draw(BAD_MODEL[name], label=name)
    _fails_cleanly(lambda: tj.Micromaser(**{**_MODEL_OK, name: value}), name)


_MODEL = tj.Micromaser(**_MODEL_OK)
_NO_WARN = pytest.mark.filterwarnings("ignore::trajectories.StatisticsWarning")

BAD_SIMULATE = {
    "n_collisions": st.one_of(_ints_below(0), _nan_inf, st.just(10.0), _wrong_type),
    "n_trajectories": st.one_of(_ints_below(1), _absurd, _nan_inf, st.just(5.0), _wrong_type),
    "chunk_size": st.one_of(_ints_below(1), _nan_inf, st.just(2.5), _not_none),
    "max_jumps": st.one_of(_ints_below(0), _absurd, _nan_inf, _wrong_type),
    "jackknife_groups": st.one_of(_ints_below(2), _nan_inf, st.just(20.0), _wrong_type),
    "leakage_tol": st.one_of(st.just(math.nan), st.just(-math.inf), _negative_real, _wrong_type),
    "target_stderr": st.one_of(_nan_inf, _negative_real, st.just(0.0), _not_none),
    "timeout": st.one_of(_nan_inf, _negative_real, _not_none),
    "seed": st.one_of(_ints_below(0), _nan_inf, st.just(1.5), st.just("7")),
    "checkpoints": st.sampled_from(
        [range(10**12), range(0, 2 * 10**9, 2), [0, -1], [0, 20], [3, 2], "0", [0.5], [True]]
    ),
    "rho_checkpoints": st.sampled_from(["some", range(10**12), [11], [5.0]]),
    "cutoff": st.sampled_from([10**5, 10**6, MAX_CUTOFF]),
}


@_NO_WARN
@SETTINGS["args"]
@given(data=st.data(), name=st.sampled_from(sorted(BAD_SIMULATE)))
def test_simulate_rejects_bad_arguments_naming_them_before_allocating(data, name):
    value = data.draw(BAD_SIMULATE[name], label=name)
    model = _MODEL.replace(cutoff=value) if name == "cutoff" else _MODEL
    kw = dict(n_collisions=10, n_trajectories=10, seed=1, checkpoints=[0, 5, 10])
    if name == "checkpoints" and isinstance(value, range):
        kw["n_collisions"] = value[-1]
    if name != "cutoff":
        kw[name] = value
    if name == "n_trajectories":  # refused for the memory of its records (else above 2^53)
        kw["records"] = "all"
    with _machine():
        _fails_cleanly(lambda: tj.simulate(model, **kw), name)


BAD_EXACT = {
    "n_collisions": st.one_of(_ints_below(0), _nan_inf, st.just(10.0), _wrong_type, _absurd),
    "checkpoints": st.sampled_from([range(10**12), range(0, 4 * 10**9, 4), [0, -1], [2, 1]]),
    "leakage_tol": st.one_of(st.just(math.nan), st.just(-math.inf), _negative_real, _wrong_type),
    "store_states": st.sampled_from(["yes", None, 2]),
    "cutoff": st.sampled_from([10**5, 10**6, MAX_CUTOFF]),
}


@SETTINGS["args"]
@given(data=st.data(), name=st.sampled_from(sorted(BAD_EXACT)))
def test_solve_exact_rejects_bad_arguments_naming_them_before_allocating(data, name):
    value = data.draw(BAD_EXACT[name], label=name)
    model = _MODEL.replace(cutoff=value) if name == "cutoff" else _MODEL
    kw = dict(n_collisions=10)
    if name == "checkpoints":
        kw["n_collisions"] = value[-1] if isinstance(value, range) else 10
    if name != "cutoff":
        kw[name] = value
    with _machine():
        _fails_cleanly(lambda: tj.solve_exact(model, **kw), name)


def test_solve_exact_refuses_states_at_every_checkpoint_beyond_memory():
    with _machine():
        msg = _fails_cleanly(
            lambda: tj.solve_exact(
                _MODEL.replace(cutoff=3000), 10**4, checkpoints=range(10**4), store_states=True
            ),
            "store_states",
        )
    assert re.search(r"at most \d+ checkpoints with states", msg), msg


BAD_STEADY = {
    "tol": st.one_of(_nan_inf, _negative_real, _wrong_type),
    "n_eigs": st.one_of(_ints_below(2), _nan_inf, st.just(8.0), _wrong_type),
    "cutoff": st.sampled_from([3000, 10**5, MAX_CUTOFF]),
}


@SETTINGS["args"]
@given(data=st.data(), name=st.sampled_from(sorted(BAD_STEADY)), coherent=st.booleans())
def test_steady_state_rejects_bad_arguments_naming_them_before_allocating(data, name, coherent):
    value = data.draw(BAD_STEADY[name], label=name)
    model = _MODEL.replace(c=0.5 if coherent else 0.0)
    kw = {}
    if name == "cutoff":
        model = model.replace(cutoff=value)
    else:
        kw[name] = value
    with _machine():
        _fails_cleanly(lambda: tj.steady_state(model, **kw), name)
        if name == "cutoff":  # the same channel serves the other spectral entry points
            _fails_cleanly(lambda: tj.quasi_stationary(model), name)
            _fails_cleanly(lambda: tj.spectrum(model), name)


@pytest.mark.parametrize(
    "call,name,allowed",
    [
        (lambda: tj.simulate(_MODEL, 10, 10**15, seed=1, records="all"), "n_trajectories",
         "n_trajectories <="),
        (lambda: tj.simulate(_MODEL, 10**12, 2, checkpoints=range(10**12)), "checkpoints",
         "at most"),
        (lambda: tj.simulate(_MODEL, 10, 10, max_jumps=10**12), "max_jumps", "max_jumps <="),
        (lambda: tj.simulate(_MODEL.replace(cutoff=20000), 10, 2000), "rho_checkpoints",
         "'last' keeps one"),
        (lambda: tj.simulate(_MODEL.replace(cutoff=10**6), 10, 2), "cutoff", "cutoff <="),
        (lambda: tj.solve_exact(_MODEL, 10**12), "n_collisions", "n_collisions <="),
        (lambda: tj.solve_exact(_MODEL.replace(cutoff=10**6), 1), "cutoff", "cutoff <="),
        (lambda: tj.steady_state(_MODEL.replace(cutoff=10**4)), "cutoff", "cutoff <="),
    ],
)  # fmt: skip
def test_absurd_sizes_name_the_parameter_its_value_and_the_allowed_range(call, name, allowed):
    """The issue's examples: refused in microseconds, the message says what would fit."""
    with _machine():
        msg = _fails_cleanly(call, name, peak_limit=256 * 2**10)
    assert f"{name}=" in msg and "more than this machine has (16 GiB)" in msg
    assert allowed in msg


def test_more_trajectories_than_float64_counts_exactly_are_refused():
    """Without records a run's memory does not grow with M; 2^53 is the bound (trajectory
    counts stay exact in the float64 reductions), refused before any work."""
    msg = _fails_cleanly(lambda: tj.simulate(_MODEL, 10, 2**53 + 1, seed=1), "n_trajectories")
    assert "n_trajectories <= 9007199254740992" in msg


def test_the_memory_limits_do_not_block_real_runs():
    """Sizes real users run pass the checks on a 16 GiB machine; the model itself accepts
    any cutoff a machine could hold."""
    with _machine():
        from trajectories.solvers.exact import check_exact_memory
        from trajectories.solvers.montecarlo.options import check_simulate_memory
        from trajectories.solvers.spectral.spectrum import check_steady_memory

        big = _MODEL.replace(cutoff=200)
        check_simulate_memory(big, 10**6, 101, 1, 20)  # 10^6 trajectories x 101 checkpoints
        check_simulate_memory(big, 20_000, 101, 101, 20)  # rho at every checkpoint
        check_exact_memory(_MODEL.replace(cutoff=5000), 10**5)  # every collision recorded
        check_exact_memory(big, 10**6)
        check_steady_memory(_MODEL.replace(cutoff=1000))
    assert tj.Micromaser(**{**_MODEL_OK, "cutoff": MAX_CUTOFF}).cutoff == MAX_CUTOFF
    assert validation.machine_memory() is None or validation.machine_memory() > 2**28


def test_run_file_refusals_name_the_run_file_key():
    cases = {
        # records kept (the default keeps none at this size: nothing grows with M then)
        "run.trajectories": {"run": {"trajectories": 10**15, "records": "last"}},
        "run.checkpoints.every": {"run": {"collisions": 10**12, "checkpoints": {"every": 1}}},
        "run.checkpoints.count": {"run": {"collisions": 10**12, "checkpoints": {"count": 10**12}}},
        "run.collisions": {"run": {"collisions": 10**12}},
        "model.cutoff": {"model": {"cutoff": 10**6}},
        "run.sweep": {"model": {k: [0.1, 0.2, 0.3] for k in ("q", "nbar", "gamma_tr")},
                      "run": {"seed": list(range(10**4)), "trajectories": list(range(1, 10**4))}},
    }  # fmt: skip
    with _machine():
        for key, doc in cases.items():
            with pytest.raises(RunFileError) as info:
                parse_run_dict(doc)
            assert info.value.key == key and str(info.value).startswith(key), str(info.value)
        # {count = n} beyond one per collision is every collision, as before
        (point,) = parse_run_dict({"run": {"collisions": 5, "checkpoints": {"count": 10**12}}})
        assert point.run.checkpoints == (0, 1, 2, 3, 4, 5)


def test_unhashable_sweep_values_are_refused_cleanly():
    with pytest.raises(RunFileError, match="run.seed"):
        parse_run_dict({"run": {"seed": [{"a": 1}, {"b": 2}]}})
    with pytest.raises(RunFileError, match="output.name"):
        parse_run_dict({"run": {"exact": [True, False]}, "output": {"name": {"x": 1}}})


def test_machine_memory_is_the_physical_memory_or_a_container_limit():
    mem = validation.machine_memory()
    if sys.platform.startswith("linux"):
        assert mem is not None and mem >= 2**28
        assert mem <= np.iinfo(np.int64).max


# ====================================================== what the properties found, pinned down
@pytest.mark.parametrize(
    "text", ["\u0663", "1\u0660", "0\u2003", "\u00a01", "1 +\u20032", "\uff10", "pi\u2028"]
)
def test_expressions_are_ascii_only(text):
    """Digits and whitespace of other scripts are not in the grammar (float() reads '٣')."""
    assert _outcome(text) is None


@pytest.mark.parametrize(
    "doc,key,message",
    [
        ({"run": {"seed": [{"a": 1}, {"b": 2}]}}, "run.seed", "must be an integer"),
        ({"model": {"theta": 10**400}}, "model.theta", "finite number"),
        ({"run": {"collisions": 10**30}}, "run.collisions", "2**53"),
        ({"output": {"folder": [10**5000]}}, "output.folder[0]", "10^5000"),
        ({"run": {10**5000: 1}}, "run", "not a name"),
        ({"\u2028run\r": {}}, "\u2028run\r", "unknown section"),
    ],
)
def test_run_documents_that_once_crashed_fail_with_one_line(doc, key, message):
    with pytest.raises(RunFileError) as info:
        parse_run_dict(doc)
    text = str(info.value)
    assert info.value.key == key and message in text and len(text.splitlines()) == 1, text


def test_deeply_nested_documents_fail_without_recursion_error(tmp_path):
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RunFileError, match="nested more than 16 levels"):
        parse_run_dict({"run": {"seed": deep}})
    path = tmp_path / "deep.toml"
    path.write_text("[run]\nseed = " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(RunFileError, match="nested too deeply"):
        load_run_file(path)
    path.write_text("[run]\ntrajectories = " + "9" * 5000 + "\n")
    with pytest.raises(RunFileError, match="invalid TOML.*4300 digits"):
        load_run_file(path)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: tj.Micromaser(theta=10**400, q=0.5), "theta must be a finite real number"),
        (lambda: tj.Micromaser(theta=0.5, q=0.5, c=-(10**400)), "c must be finite"),
        (lambda: tj.Micromaser(theta=0.5, q=0.5, cutoff=10**5000), "about 10^5000"),
        (lambda: tj.simulate(_MODEL, 10, 10**5000), "n_trajectories=an integer of about"),
        (lambda: tj.simulate(_MODEL, 10**30, 2), "n_collisions must be an integer in [0, 2**53"),
        (lambda: tj.solve_exact(_MODEL, 10**5000), "n_collisions must be an integer in"),
        (lambda: tj.solve_exact(_MODEL, 10, checkpoints=[0, 10**30]), "checkpoints[1]"),
    ],
)
def test_integers_beyond_the_floats_are_refused_by_name(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)
