"""Arithmetic expressions in run files (``theta = "pi/sqrt(15)"``), read, never executed.

A small recursive-descent parser accepts exactly: numbers, ``pi``, ``sqrt(...)``, the
operators ``+ - * /`` (unary ``+``/``-`` too) and parentheses, in ASCII, at most
1000 characters and 64 levels deep. Anything else (names, attributes, subscripts, calls other
than ``sqrt``, lambdas) raises :class:`~trajectories.runs.settings.RunFileError` naming the
position; nothing in a run file is ever evaluated as Python.
"""

from __future__ import annotations

import math
import re

from .settings import RunFileError

__all__ = ["parse_expression"]


_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>[-+*/()]))",
    re.ASCII,  # ASCII digits and whitespace only: float() would also read other scripts' digits
)
_ALLOWED_TEXT = "allowed: numbers, pi, sqrt(...), + - * / and parentheses"
_MAX_DEPTH = 64
_MAX_LENGTH = 1000


class _ExpressionError(Exception):
    """Internal: a syntax or value error, converted to RunFileError by parse_expression."""


def _tokenise(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    end = len(text.rstrip(" \t\n\r\f\v"))  # ASCII whitespace only, as the tokens
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            start = pos + len(text[pos:]) - len(text[pos:].lstrip(" \t\n\r\f\v"))
            raise _ExpressionError(f"unexpected character {text[start]!r} at position {start}")
        kind = m.lastgroup
        assert kind is not None
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


class _Parser:
    """Recursive descent over the grammar::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("+" | "-") unary | primary
    primary := NUMBER | "pi" | "sqrt" "(" expr ")" | "(" expr ")"
    """

    def __init__(self, tokens: list[tuple[str, str, int]]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise _ExpressionError("unexpected end of expression")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.peek()
        if tok is None:
            raise _ExpressionError(f"expected {text!r} at end of expression")
        if tok[1] != text:
            raise _ExpressionError(f"expected {text!r} at position {tok[2]}, got {tok[1]!r}")
        self.i += 1

    def parse(self) -> float:
        if not self.tokens:
            raise _ExpressionError("empty expression")
        value = self.expr()
        tok = self.peek()
        if tok is not None:
            raise _ExpressionError(f"unexpected {tok[1]!r} at position {tok[2]}")
        return value

    def nested(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _ExpressionError(f"nested more than {_MAX_DEPTH} levels deep")

    def expr(self) -> float:
        value = self.term()
        while (tok := self.peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            self.i += 1
            rhs = self.term()
            value = value + rhs if tok[1] == "+" else value - rhs
        return value

    def term(self) -> float:
        value = self.unary()
        while (tok := self.peek()) is not None and tok[1] in "*/" and tok[0] == "op":
            self.i += 1
            rhs = self.unary()
            if tok[1] == "*":
                value = value * rhs
            elif rhs == 0.0:
                raise _ExpressionError(f"division by zero at position {tok[2]}")
            else:
                value = value / rhs
        return value

    def unary(self) -> float:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in "+-":
            self.i += 1
            self.nested()
            value = self.unary()
            self.depth -= 1
            return -value if tok[1] == "-" else value
        return self.primary()

    def primary(self) -> float:
        kind, text, pos = self.take()
        if kind == "number":
            return float(text)
        if kind == "name":
            if text == "pi":
                return math.pi
            if text == "sqrt":
                self.expect("(")
                self.nested()
                arg = self.expr()
                self.depth -= 1
                self.expect(")")
                if arg < 0.0:
                    raise _ExpressionError(f"sqrt of a negative number ({arg!r}) at position {pos}")
                return math.sqrt(arg)
            raise _ExpressionError(f"unknown name {text!r} at position {pos}")
        if text == "(":
            self.nested()
            value = self.expr()
            self.depth -= 1
            self.expect(")")
            return value
        raise _ExpressionError(f"unexpected {text!r} at position {pos}")


def parse_expression(text: str) -> float:
    """Evaluate an arithmetic expression such as ``"pi/sqrt(15.6)"`` or ``"-2.5e-3 * (1 + 2)"``.

    Grammar: numbers (integer, decimal, scientific notation), the constant ``pi``, the
    function ``sqrt(...)``, binary ``+ - * /`` with the usual precedence, unary ``-`` and
    ``+``, parentheses and whitespace. Nothing else: the text is tokenised and parsed by
    hand, never evaluated by Python, so it cannot run code.

    Parameters
    ----------
    text : str
        The expression: ASCII, at most 1000 characters, nested at most 64 levels deep.

    Returns
    -------
    float
        Its value (finite).

    Raises
    ------
    RunFileError
        Naming the expression, on an unknown name, bad syntax, division by zero, the square
        root of a negative number or a non-finite result.

    Examples
    --------
    >>> round(parse_expression("pi/sqrt(15)"), 12)
    0.811155735195
    >>> parse_expression("-2 * (1 + 0.5e1) / 4")
    -3.0
    """
    if not isinstance(text, str):
        raise RunFileError(
            f"expression must be a string, got {text!r} ({type(text).__name__}); {_ALLOWED_TEXT}"
        )
    shown = text if len(text) <= 80 else text[:77] + "..."
    try:
        if len(text) > _MAX_LENGTH:
            raise _ExpressionError(f"longer than {_MAX_LENGTH} characters")
        value = _Parser(_tokenise(text)).parse()
        if not math.isfinite(value):
            raise _ExpressionError(f"the result {value!r} is not finite")
    except _ExpressionError as err:
        raise RunFileError(
            f"cannot evaluate expression {shown!r}: {err}; {_ALLOWED_TEXT}"
        ) from None
    except OverflowError:
        raise RunFileError(
            f"cannot evaluate expression {shown!r}: the result is not finite; {_ALLOWED_TEXT}"
        ) from None
    return value
