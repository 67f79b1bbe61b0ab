"""The run-file schema: the keys of each section and a checker whose errors name them.

:class:`_Checker` turns every mistake into one :class:`~trajectories.runs.settings.RunFileError`
line naming the dotted key (``run.checkpoints``), the value and what is allowed, with the
nearest valid key suggested for a misspelt one.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..validation import show
from .expressions import parse_expression
from .settings import (
    RunFileError,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the tomli backport, if installed
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None


__all__ = [
    "MODEL_KEYS", "RUN_KEYS", "OUTPUT_KEYS", "COLLISION_KEYS", "BEAM_KEYS", "STAGE_KEYS",
    "NETWORK_KEYS", "NETWORK_PAIR_KEYS", "NETWORK_SECTION",
]  # fmt: skip

#: joblib backends accepted besides those registered when the run file is read.
_EXTRA_BACKENDS = ("dask", "ray", "spark")
_SWEEP_MODES = ("product", "zip")
_REAL_MODEL_KEYS = ("theta", "q", "gamma_tr", "nbar")


#: [model] keys of the collision (Rabi only, except ``collision`` itself)
COLLISION_KEYS = ("collision", "g_over_omega", "eta", "nu_over_omega", "omega_tr", "extra_levels")
#: [model] keys of the qubit beam: ``arrivals = "poisson"`` or ``{ bernoulli = p }``;
#: ``theta_spread = { gaussian = sigma }``, ``{ uniform = w }`` or
#: ``{ discrete = { values = [..], weights = [..] } }`` (default: the ideal beam)
BEAM_KEYS = ("arrivals", "theta_spread")
#: keys of the [model] section: the Micromaser parameters, the collision's and the beam's
MODEL_KEYS = ("theta", "q", "c", "gamma_tr", "nbar", "cutoff", *COLLISION_KEYS, *BEAM_KEYS)
#: The forms of ``model.arrivals``: a name, or a table of one kind and its parameter.
ARRIVAL_NAMES = ("regular", "poisson")
ARRIVAL_TABLES = ("bernoulli",)
#: The forms of ``model.theta_spread``: ``"none"``, or a table of one kind and its width
#: (``discrete``: a table of ``values`` and ``weights``).
SPREAD_NAMES = ("none",)
SPREAD_TABLES = ("gaussian", "uniform", "discrete")
#: The flat sweep parameter of a beam table whose number is a list
#: (``theta_spread = { gaussian = [0.01, 0.05] }`` sweeps ``theta_spread_width``).
BEAM_WIDTH_AXES = {
    ("arrivals", "bernoulli"): "arrivals_p",
    ("theta_spread", "gaussian"): "theta_spread_width",
    ("theta_spread", "uniform"): "theta_spread_width",
}
_COLLISIONS = {"jaynes-cummings": "jaynes-cummings", "jc": "jaynes-cummings", "rabi": "rabi"}
#: keys of the [run] section (RunSettings, plus ``sweep``: "product" or "zip")
RUN_KEYS = (
    "trajectories",
    "collisions",
    "seed",
    "chunk_size",
    "checkpoints",
    "rho_checkpoints",
    "jobs",
    "backend",
    "max_jumps",
    "leakage_tol",
    "exact",
    "records",
    "sweep",
)
#: keys of the [output] section (OutputSettings)
OUTPUT_KEYS = ("folder", "name", "plots")
_SECTIONS = {"model": MODEL_KEYS, "run": RUN_KEYS, "output": OUTPUT_KEYS}
#: keys of a ``[[stage]]`` table of a protocol: its collisions, an optional name, and any
#: [model] key but the cutoff (the stages share it) overriding [model] for this stage
STAGE_KEYS = ("name", "collisions", *(k for k in MODEL_KEYS if k != "cutoff"))
#: The array of tables that makes a run file a protocol (``[[stage]]``).
STAGE_SECTION = "stage"
#: The table that makes a run file a network of two cavities (instead of [model]).
NETWORK_SECTION = "network"
#: keys of the [network] section: the :class:`~trajectories.Network` parameters.
#: ``theta`` and ``cutoff`` are pairs ``[A, B]``; ``gamma_tr`` and ``nbar`` one value
#: (shared by both cavities) or a pair; ``q``, ``c``, the beam keys as in [model];
#: ``topology`` is ``"series"`` or ``"simultaneous"``
NETWORK_KEYS = ("theta", "q", "c", "gamma_tr", "nbar", "cutoff", "topology", *BEAM_KEYS)
#: [network] keys whose value is a pair ``[A, B]`` (``gamma_tr``, ``nbar``: or one value):
#: a flat list is the pair, a list of pairs (or of values) is a sweep axis
NETWORK_PAIR_KEYS = ("theta", "gamma_tr", "nbar", "cutoff")
#: Keys whose list value is the value itself, never a sweep axis.
_LIST_VALUED = {
    ("run", "checkpoints"), ("run", "rho_checkpoints"), ("run", "records"), ("output", "plots"),
}  # fmt: skip
_NOT_SWEPT = {("run", "sweep")} | {("output", k) for k in OUTPUT_KEYS}


def _describe(value: Any) -> str:
    return f"{show(value)} ({type(value).__name__})"


def _suggest(word: str, choices: Iterable[str], prefix: str = "") -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {prefix}{match[0]}?" if match else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


class _Checker:
    """Validation helpers that raise RunFileError tagged with the source."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str | None, message: str) -> RunFileError:
        return RunFileError(message, key=key, source=self.source)

    def integer(self, key: str, value: Any, minimum: int) -> int:
        if not _is_int(value):
            raise self.fail(key, f"{key} must be an integer >= {minimum}, got {_describe(value)}")
        if int(value) < minimum:
            raise self.fail(key, f"{key} must be an integer >= {minimum}, got {show(value)}")
        return int(value)

    def real(self, key: str, value: Any, *, minimum: float | None = None) -> float:
        """A real number or an expression string; ``minimum`` is checked when given."""
        if isinstance(value, str):
            try:
                x = parse_expression(value)
            except RunFileError as err:
                raise self.fail(key, f"{key}: {err.message}") from None
        elif _is_real(value):
            try:
                x = float(value)
            except OverflowError:  # an integer beyond the floats
                digits = int(abs(value).bit_length() * math.log10(2))
                raise self.fail(
                    key, f"{key} must be a finite number, got an integer of about 10^{digits}"
                ) from None
        else:
            allowed = "a real number or an expression string such as 'pi/sqrt(15)'"
            raise self.fail(key, f"{key} must be {allowed}, got {_describe(value)}")
        if minimum is not None and not x >= minimum:
            raise self.fail(key, f"{key} must be >= {minimum:g}, got {value!r}")
        return x

    def string(self, key: str, value: Any, choices: Iterable[str] | None = None) -> str:
        choices = tuple(choices) if choices is not None else None
        allowed = (
            "one of " + ", ".join(repr(c) for c in choices) if choices else "a non-empty string"
        )
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"{key} must be {allowed}, got {_describe(value)}")
        if choices is not None and value not in choices:
            hint = _suggest(value, choices)
            raise self.fail(key, f"{key} must be {allowed}, got {value!r}{hint}")
        return value

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"{key} must be true or false, got {_describe(value)}")
        return value

    def table(self, key: str, value: Any) -> Mapping:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"[{key}] must be a table, got {_describe(value)}")
        return value

    def known_keys(self, section: str, table: Mapping, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for k in table:
            if not isinstance(k, str) or k not in allowed:
                hint = _suggest(str(k), allowed, f"{section}.")
                raise self.fail(
                    f"{section}.{k}",
                    f"unknown key {section}.{k}{hint or '; allowed: ' + ', '.join(allowed)}",
                )


def stage_label(index: int, table: Mapping | None = None) -> str:
    """How errors name a stage: ``stage[2]``, or ``stage[2] (discharge)`` when it has a name."""
    name = table.get("name") if isinstance(table, Mapping) else None
    return f"stage[{index}] ({name})" if isinstance(name, str) and name else f"stage[{index}]"


class _StageChecker(_Checker):
    """A checker for one stage's model: ``model.<key>`` in keys and messages becomes
    ``stage[i] (name).<key>``, so the errors of the [model] helpers name the stage."""

    _MODEL = re.compile(r"(?<![\w\[])model\.")

    def __init__(self, source: str, label: str):
        super().__init__(source)
        self.label = label

    def fail(self, key: str | None, message: str) -> RunFileError:
        sub = lambda text: self._MODEL.sub(self.label + ".", text)  # noqa: E731
        return RunFileError(sub(message), key=None if key is None else sub(key),
                            source=self.source)  # fmt: skip
