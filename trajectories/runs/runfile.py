"""TOML run files: batch runs of the solvers described in a file, checked before any work.

A run file has three sections, all optional::

    [model]                        # Micromaser parameters (missing keys: the default model)
    theta = "pi/sqrt(15)"          # real numbers may be expression strings
    q = 0.25
    c = { abs = 0.6, phase = 0.9 } # or { re = .., im = .. } or a plain real number
    gamma_tr = [0.001, 0.1]        # a list makes a sweep axis
    nbar = 0.15
    cutoff = 60
    # collision = "rabi"           # counter-rotating terms (default "jaynes-cummings")
    # g_over_omega = [0.1, 0.3]    # Rabi only; eta = "suppress" or a number,
    # nu_over_omega = 20           # omega_tr, extra_levels: see trajectories.Rabi

    [run]                          # how to run it (see RunSettings)
    trajectories = 10000
    collisions = 2000
    seed = 7
    checkpoints = { every = 10 }   # or { count = 101 }, or an explicit list of ints
    sweep = "product"              # or "zip": how list-valued keys combine

    [output]
    folder = "runs"
    name = "fig5"                  # file stem; sweep points get a suffix from their values
    plots = ["png"]

:func:`load_run_file` and :func:`parse_run_dict` expand the sweep into a list of
:class:`~trajectories.runs.settings.RunPoint` (one validated model and its settings each).
Every mistake, from a misspelt key to a model parameter out of range, raises
:class:`~trajectories.runs.settings.RunFileError` with one line naming the key, the value
and what is allowed. Expression strings are read by a small recursive-descent parser
(:mod:`trajectories.runs.expressions`); nothing in a run file is ever executed.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
import numbers
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..model.interactions import JaynesCummings, Modulation, Rabi
from ..model.micromaser import Micromaser
from ..validation import MAX_COLLISIONS, check_memory, show
from .expressions import parse_expression
from .settings import (
    DEFAULT_MODEL,
    PLOT_FORMATS,
    OutputSettings,
    RunFileError,
    RunPoint,
    RunSettings,
    default_checkpoints,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the tomli backport, if installed
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

__all__ = [
    "RunFileError",
    "RunSettings",
    "OutputSettings",
    "RunPoint",
    "DEFAULT_MODEL",
    "MODEL_KEYS",
    "RUN_KEYS",
    "OUTPUT_KEYS",
    "parse_expression",
    "parse_run_dict",
    "load_run_file",
    "apply_overrides",
    "default_checkpoints",
]

#: joblib backends accepted besides those registered when the run file is read.
_EXTRA_BACKENDS = ("dask", "ray", "spark")
_SWEEP_MODES = ("product", "zip")
_REAL_MODEL_KEYS = ("theta", "q", "gamma_tr", "nbar")


# --------------------------------------------------------------------------- schema
#: [model] keys of the collision (Rabi only, except ``collision`` itself)
COLLISION_KEYS = ("collision", "g_over_omega", "eta", "nu_over_omega", "omega_tr", "extra_levels")
MODEL_KEYS = ("theta", "q", "c", "gamma_tr", "nbar", "cutoff", *COLLISION_KEYS)
_COLLISIONS = {"jaynes-cummings": "jaynes-cummings", "jc": "jaynes-cummings", "rabi": "rabi"}
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
    "sweep",
)
OUTPUT_KEYS = ("folder", "name", "plots")
_SECTIONS = {"model": MODEL_KEYS, "run": RUN_KEYS, "output": OUTPUT_KEYS}
#: Keys whose list value is the value itself, never a sweep axis.
_LIST_VALUED = {("run", "checkpoints"), ("run", "rho_checkpoints"), ("output", "plots")}
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


# --------------------------------------------------------------------------- parsing
#: Bytes per checkpoint of a run point, a lower bound: the int in the tuple, the
#: simulation's int64 copy and one trajectory's records (:func:`_check_checkpoint_count`).
_CHECKPOINT_BYTES = 28 + 8 + 8 + 36
#: Bytes per sweep point, a lower bound (measured: about 5 kB per point).
_POINT_BYTES = 4096


def _check_checkpoint_count(chk: _Checker, key: str, value: Any, count: int) -> None:
    """Refuse, before building them, more checkpoints than this machine could hold."""
    try:
        check_memory(
            key,
            repr(value),
            count * _CHECKPOINT_BYTES,
            f"{count} checkpoints ({_CHECKPOINT_BYTES} bytes each for one trajectory)",
            lambda limit: (
                f"allowed on this machine: at most {limit // _CHECKPOINT_BYTES} checkpoints"
            ),
        )
    except ValueError as err:
        raise chk.fail(key, str(err)) from None


def _resolve_checkpoints(chk: _Checker, spec: Any, collisions: int) -> tuple[int, ...]:
    key = "run.checkpoints"
    if spec is None:
        return default_checkpoints(collisions)
    if isinstance(spec, Mapping):
        if len(spec) != 1 or not set(spec) <= {"every", "count"}:
            for k in spec:
                if k not in ("every", "count"):
                    hint = _suggest(str(k), ("every", "count"), f"{key}.")
                    raise chk.fail(f"{key}.{k}", f"unknown key {key}.{k}{hint}")
            raise chk.fail(
                key, f"{key} must have exactly one of 'every' or 'count', got {dict(spec)!r}"
            )
        ((name, n),) = spec.items()
        if name == "every":
            every = chk.integer(f"{key}.every", n, 1)
            _check_checkpoint_count(chk, f"{key}.every", n, -(-collisions // every) + 1)
            ks = list(range(0, collisions + 1, every))
            if ks[-1] != collisions:
                ks.append(collisions)
            return tuple(ks)
        count = chk.integer(f"{key}.count", n, 2)
        # more than one per collision gives every collision: the same points, less memory
        count = min(count, collisions + 1)
        _check_checkpoint_count(chk, f"{key}.count", n, count)
        ks = np.unique(np.linspace(0, collisions, count).round()).astype(int)
        return tuple(int(k) for k in ks)
    allowed = (
        "{ every = n }, { count = n } or a list of strictly increasing integers "
        f"in [0, run.collisions = {collisions}]"
    )
    if isinstance(spec, str) or not isinstance(spec, (list, tuple)):
        raise chk.fail(key, f"{key} must be {allowed}, got {_describe(spec)}")
    return _index_list(chk, key, spec, collisions, allowed)


def _index_list(
    chk: _Checker, key: str, values: Any, collisions: int, allowed: str
) -> tuple[int, ...]:
    if len(values) == 0:
        raise chk.fail(key, f"{key} must be {allowed}, got an empty list")
    for i, v in enumerate(values):
        if not _is_int(v):
            raise chk.fail(key, f"{key}[{i}] must be an integer, got {_describe(v)}")
        if not 0 <= v <= collisions:
            raise chk.fail(
                key,
                f"{key}[{i}] = {v} is outside [0, run.collisions = {collisions}]; "
                f"{key} must be {allowed}",
            )
        if i and v <= values[i - 1]:
            raise chk.fail(
                key,
                f"{key} must be strictly increasing, but {key}[{i}] = {v} follows {values[i - 1]}",
            )
    return tuple(int(v) for v in values)


def _resolve_rho(
    chk: _Checker, spec: Any, checkpoints: tuple[int, ...], collisions: int
) -> str | tuple[int, ...]:
    key = "run.rho_checkpoints"
    allowed = "'all', 'last', 'none' or a list of checkpoints"
    if spec is None:
        return "all"
    if isinstance(spec, str):
        return chk.string(key, spec, ("all", "last", "none"))
    if not isinstance(spec, (list, tuple)):
        raise chk.fail(key, f"{key} must be {allowed}, got {_describe(spec)}")
    ks = _index_list(chk, key, spec, collisions, allowed)
    missing = sorted(set(ks) - set(checkpoints))
    if missing:
        raise chk.fail(
            key, f"{key} = {list(ks)} includes {missing}, which are not among run.checkpoints"
        )
    return ks


def _backend(chk: _Checker, value: Any) -> str:
    from joblib.parallel import BACKENDS

    known = tuple(sorted(set(BACKENDS) | set(_EXTRA_BACKENDS)))
    if not isinstance(value, str) or value not in known:
        hint = _suggest(value, known) if isinstance(value, str) else ""
        raise chk.fail(
            "run.backend",
            f"run.backend must be a joblib backend ({', '.join(known)}), "
            f"got {_describe(value)}{hint}",
        )
    return value


def _model_value(chk: _Checker, key: str, value: Any) -> Any:
    """Convert one [model] value (expression strings, c tables); ranges are Micromaser's."""
    dotted = f"model.{key}"
    if key in _REAL_MODEL_KEYS or key in ("g_over_omega", "nu_over_omega", "omega_tr"):
        return chk.real(dotted, value)
    if key == "collision":
        return _COLLISIONS[chk.string(dotted, value, tuple(_COLLISIONS))]
    if key == "eta":
        return "suppress" if value == "suppress" else chk.real(dotted, value)
    if key == "c":
        if isinstance(value, Mapping):
            keys = set(value)
            for k in value:
                if k not in ("abs", "phase", "re", "im"):
                    hint = _suggest(str(k), ("abs", "phase", "re", "im"), "model.c.")
                    raise chk.fail(f"model.c.{k}", f"unknown key model.c.{k}{hint}")
            if keys and keys <= {"re", "im"}:
                re_ = chk.real("model.c.re", value.get("re", 0.0))
                im_ = chk.real("model.c.im", value.get("im", 0.0))
                return complex(re_, im_)
            if "abs" in keys and keys <= {"abs", "phase"}:
                r = chk.real("model.c.abs", value["abs"], minimum=0.0)
                phi = chk.real("model.c.phase", value.get("phase", 0.0))
                return complex(r * math.cos(phi), r * math.sin(phi))
            raise chk.fail(
                dotted,
                "model.c must be a real number or a table { abs = .., phase = .. } or "
                f"{{ re = .., im = .. }}, got {dict(value)!r}",
            )
        if isinstance(value, (str, bool)) or _is_real(value):
            return chk.real(dotted, value)
        raise chk.fail(
            dotted,
            "model.c must be a real number or a table { abs = .., phase = .. } or "
            f"{{ re = .., im = .. }}, got {_describe(value)}",
        )
    return value  # cutoff: Micromaser checks the type and range


def _build_collision(chk: _Checker, params: dict[str, Any]) -> JaynesCummings | Rabi:
    """The collision from the [model] keys of :data:`COLLISION_KEYS` (removed from params)."""
    given = {k: params.pop(k) for k in COLLISION_KEYS if k in params}
    kind = given.pop("collision", "jaynes-cummings")
    if kind == "jaynes-cummings":
        if given:
            key = next(iter(given))
            raise chk.fail(
                f"model.{key}",
                f"model.{key} belongs to a Rabi collision: add model.collision = 'rabi'",
            )
        return JaynesCummings()
    if "g_over_omega" not in given:
        raise chk.fail("model.g_over_omega", "model.collision = 'rabi' needs model.g_over_omega")
    if ("eta" in given) != ("nu_over_omega" in given):
        missing = "nu_over_omega" if "eta" in given else "eta"
        raise chk.fail(f"model.{missing}", f"a modulation needs both model.eta and model.{missing}")
    try:
        mod = None
        if "eta" in given:
            nu = given["nu_over_omega"]
            mod = (
                Modulation.suppressing(nu)
                if given["eta"] == "suppress"
                else Modulation(given["eta"], nu)
            )
        return Rabi(
            given["g_over_omega"],
            modulation=mod,
            omega_tr=given.get("omega_tr"),
            extra_levels=given.get("extra_levels"),
        )
    except ValueError as err:
        key = next((k for k in COLLISION_KEYS if str(err).startswith(k + " ")), None)
        raise chk.fail(f"model.{key}" if key else "model", f"model.{err}") from None


def _build_model(chk: _Checker, section: Mapping) -> Micromaser:
    params = dict(DEFAULT_MODEL)
    for key, value in section.items():
        params[key] = _model_value(chk, key, value)
    params["collision"] = _build_collision(chk, params)
    try:
        return Micromaser(**params)
    except ValueError as err:
        key = next((k for k in MODEL_KEYS if str(err).startswith(k + " ")), None)
        raise chk.fail(f"model.{key}" if key else "model", f"model.{err}") from None


def _build_run(chk: _Checker, section: Mapping) -> RunSettings:
    s = dict(section)
    s.pop("sweep", None)
    d = RunSettings()
    trajectories = chk.integer("run.trajectories", s.get("trajectories", d.trajectories), 1)
    collisions = chk.integer("run.collisions", s.get("collisions", d.collisions), 1)
    if collisions > MAX_COLLISIONS:
        raise chk.fail(
            "run.collisions",
            f"run.collisions must be an integer in [1, 2**53 = {MAX_COLLISIONS}] (collision "
            f"indices must be exact in float64 and int64), got {show(collisions)}",
        )
    seed = s.get("seed")
    if seed is not None:
        seed = chk.integer("run.seed", seed, 0)
    chunk = s.get("chunk_size")
    if chunk is not None:
        chunk = chk.integer("run.chunk_size", chunk, 1)
    checkpoints = _resolve_checkpoints(chk, s.get("checkpoints"), collisions)
    rho = _resolve_rho(chk, s.get("rho_checkpoints"), checkpoints, collisions)
    jobs = s.get("jobs", d.jobs)
    if not _is_int(jobs) or jobs == 0:
        raise chk.fail(
            "run.jobs",
            f"run.jobs must be a non-zero integer (-1: all cores), got {_describe(jobs)}",
        )
    backend = _backend(chk, s.get("backend", d.backend))
    max_jumps = chk.integer("run.max_jumps", s.get("max_jumps", d.max_jumps), 0)
    tol = s.get("leakage_tol", d.leakage_tol)
    if not (_is_real(tol) and tol == math.inf):
        tol = chk.real("run.leakage_tol", tol, minimum=0.0)
    exact = chk.boolean("run.exact", s.get("exact", d.exact))
    return RunSettings(
        trajectories=trajectories,
        collisions=collisions,
        seed=seed,
        chunk_size=chunk,
        checkpoints=checkpoints,
        rho_checkpoints=rho,
        jobs=int(jobs),
        backend=backend,
        max_jumps=max_jumps,
        leakage_tol=float(tol),
        exact=exact,
    )


_BAD_STEM = re.compile(r"[/\\\x00]")


def _build_output(chk: _Checker, section: Mapping) -> OutputSettings:
    d = OutputSettings()
    folder = chk.string("output.folder", section.get("folder", d.folder))
    name = chk.string("output.name", section.get("name", d.name))
    if _BAD_STEM.search(name) or name in (".", ".."):
        raise chk.fail(
            "output.name",
            f"output.name must be a file stem without '/' or '\\\\' (use output.folder for "
            f"the directory), got {name!r}",
        )
    plots = section.get("plots", list(d.plots))
    allowed = f"a list of plot formats from {list(PLOT_FORMATS)}"
    if not isinstance(plots, (list, tuple)):
        raise chk.fail("output.plots", f"output.plots must be {allowed}, got {_describe(plots)}")
    for i, p in enumerate(plots):
        if p not in PLOT_FORMATS:
            hint = _suggest(p, PLOT_FORMATS) if isinstance(p, str) else ""
            raise chk.fail(
                "output.plots",
                f"output.plots[{i}] must be one of {list(PLOT_FORMATS)}, got {p!r}{hint}",
            )
    if len(set(plots)) != len(plots):
        raise chk.fail("output.plots", f"output.plots lists a format twice: {list(plots)}")
    return OutputSettings(folder=folder, name=name, plots=tuple(plots))


#: The run-file key of each solver argument named by a memory refusal.
_ARGUMENT_KEYS = {
    "cutoff": "model.cutoff",
    "n_trajectories": "run.trajectories",
    "checkpoints": "run.checkpoints",
    "rho_checkpoints": "run.rho_checkpoints",
    "max_jumps": "run.max_jumps",
    "n_collisions": "run.collisions",
}


def _check_point_memory(chk: _Checker, model: Micromaser, run: RunSettings) -> None:
    """The solvers' own memory checks (:func:`trajectories.simulate.check_simulate_memory`,
    :func:`trajectories.exact.check_exact_memory`), on the point as the runner will run it,
    so that a run that cannot fit fails when the file is read, naming the run-file key."""
    from ..solvers.exact import check_exact_memory
    from ..solvers.montecarlo.options import (
        DEFAULT_JACKKNIFE_GROUPS,
        check_simulate_memory,
        default_chunk_size,
    )

    chunk = run.chunk_size or default_chunk_size(run.trajectories)
    groups = min(-(-run.trajectories // chunk), DEFAULT_JACKKNIFE_GROUPS)
    rho = run.rho_checkpoints
    n_ck = len(run.checkpoints)
    n_rho = {"all": n_ck, "last": 1, "none": 0}[rho] if isinstance(rho, str) else len(rho)
    try:
        check_simulate_memory(model, run.trajectories, n_ck, n_rho, groups, run.max_jumps)
        if run.exact:  # the runner solves exactly first, recording every collision
            check_exact_memory(model, run.collisions)
    except ValueError as err:
        text = str(err)
        name = text.split("=", 1)[0]
        if name not in _ARGUMENT_KEYS:
            raise chk.fail("run", text) from None
        key = _ARGUMENT_KEYS[name]
        if name in ("n_trajectories", "n_collisions", "max_jumps"):
            text = text.replace(name, key)  # unambiguous names: every mention
        if name == "n_collisions":
            text = (
                text.split("; or pass")[0] + " (the exact solution records every collision; "
                "run.exact = false skips it)"
            )
        raise chk.fail(key, key + text[len(name) :] if text.startswith(name) else text) from None


def _build_point(chk: _Checker, spec: Mapping, name: str, sweep_values: dict[str, Any]) -> RunPoint:
    model = _build_model(chk, spec.get("model", {}))
    run = _build_run(chk, spec.get("run", {}))
    output = _build_output(chk, spec.get("output", {}))
    _check_point_memory(chk, model, run)
    return RunPoint(
        name=name,
        model=model,
        run=run,
        output=output,
        sweep_values=dict(sweep_values),
        _spec=copy.deepcopy(dict(spec)),
    )


def _format_value(value: Any, digits: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, complex):
        if value.imag == 0.0:
            return f"{value.real:.{digits}g}"
        return f"{value.real:.{digits}g}{value.imag:+.{digits}g}j"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _axis_labels(values: list[Any]) -> list[str]:
    """Short labels for an axis' values, with enough digits to tell distinct values apart."""
    distinct = len(set(map(_hashable, values)))
    for digits in range(6, 18):
        labels = [_format_value(v, digits) for v in values]
        if len(set(labels)) == distinct:
            return labels
    return [_format_value(v, 17) for v in values]  # pragma: no cover


def _sweep_value(chk: _Checker, section: str, key: str, value: Any) -> Any:
    """The resolved value of one sweep entry, used for naming and duplicate checks."""
    if section == "model":
        return _model_value(chk, key, value)
    if key == "leakage_tol" and not (_is_real(value) and value == math.inf):
        return chk.real("run.leakage_tol", value, minimum=0.0)
    return value


#: Deepest nesting of tables and lists a run description may have (it needs 3: a section,
#: a table such as ``c = {abs = .., phase = ..}``, a list of sweep values).
_MAX_NESTING = 16
#: Integers longer than this (in bits) are refused before any message would print them
#: (Python prints at most 4300 digits, about 14284 bits).
_MAX_INT_BITS = 14000


def _check_document(chk: _Checker, data: Mapping) -> None:
    """Refuse nesting deeper than :data:`_MAX_NESTING` and integers no message could print,
    without recursion (a deeply nested document must not raise RecursionError)."""
    todo: list[tuple[str, Any, int]] = [("", data, 0)]
    while todo:
        path, value, depth = todo.pop()
        if isinstance(value, numbers.Integral) and abs(int(value)).bit_length() > _MAX_INT_BITS:
            raise chk.fail(path or None, f"{path} is {show(value)}, beyond any allowed value")
        if depth > _MAX_NESTING:
            raise chk.fail(path or None, f"{path} is nested more than {_MAX_NESTING} levels deep")
        if isinstance(value, Mapping):
            for k, v in value.items():
                if isinstance(k, numbers.Integral) and abs(int(k)).bit_length() > _MAX_INT_BITS:
                    raise chk.fail(path or None, f"a key of {path or 'the run description'} is "
                                   f"{show(k)}, not a name")  # fmt: skip
                todo.append((f"{path}.{k}" if path else str(k), v, depth + 1))
        elif isinstance(value, (list, tuple)):
            todo.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value))


def parse_run_dict(data: Mapping, *, source: str = "<dict>") -> list[RunPoint]:
    """Validate a run description (the parsed TOML) and expand its sweep into points.

    Every list-valued key of ``[model]`` and ``[run]`` (except the lists
    ``run.checkpoints`` and ``run.rho_checkpoints``) is a sweep axis; ``run.sweep``
    says whether the axes combine as a Cartesian product (``"product"``, the default;
    the first axis varies slowest) or element by element (``"zip"``). Missing sections
    and keys take the defaults (:data:`DEFAULT_MODEL`, :class:`RunSettings`,
    :class:`OutputSettings`); checkpoints default to 101 evenly spaced collisions.

    ``source`` (a file name, a preset) prefixes error messages. Every point's model
    and settings are validated before this returns; any problem raises
    :class:`RunFileError`.
    """
    chk = _Checker(source)
    if not isinstance(data, Mapping):
        raise chk.fail(None, f"a run description must be a table, got {_describe(data)}")
    _check_document(chk, data)
    for section in data:
        if section not in _SECTIONS:
            owner = [f"{s}.{section}" for s, keys in _SECTIONS.items() if section in keys]
            hint = (
                f"; did you mean {owner[0]} (in the [{owner[0].split('.')[0]}] section)?"
                if owner
                else _suggest(str(section), _SECTIONS)
            )
            raise chk.fail(
                str(section),
                f"unknown section [{section}]{hint or '; allowed: [model], [run], [output]'}",
            )
    sections = {name: chk.table(name, data.get(name, {})) for name in _SECTIONS}
    for name, keys in _SECTIONS.items():
        chk.known_keys(name, sections[name], keys)

    mode = chk.string("run.sweep", sections["run"].get("sweep", "product"), _SWEEP_MODES)

    # ---- sweep axes, in file order: model keys first, then run keys
    axes: list[tuple[str, str, list[Any]]] = []
    for section in ("model", "run"):
        for key, value in sections[section].items():
            if (section, key) in _LIST_VALUED or (section, key) in _NOT_SWEPT:
                continue
            if isinstance(value, (list, tuple)):
                if len(value) == 0:
                    raise chk.fail(
                        f"{section}.{key}",
                        f"{section}.{key} is an empty list; a sweep axis needs at least one value",
                    )
                for i, v in enumerate(value):
                    if isinstance(v, (list, tuple)):
                        raise chk.fail(
                            f"{section}.{key}",
                            f"{section}.{key}[{i}] is a list; sweep values must be single "
                            f"values, got {v!r}",
                        )
                axes.append((section, key, list(value)))
    for section in ("output",):
        for key, value in sections[section].items():
            if key != "plots" and isinstance(value, (list, tuple)):
                raise chk.fail(
                    f"output.{key}",
                    f"output.{key} cannot be a list (output keys are not sweep axes), "
                    f"got {value!r}",
                )

    if mode == "zip" and axes:
        lengths = {f"{s}.{k}": len(v) for s, k, v in axes}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k} has {n} values" for k, n in lengths.items())
            raise chk.fail(
                "run.sweep",
                f"run.sweep = 'zip' needs sweep lists of equal length, but {detail}",
            )

    resolved = [[_sweep_value(chk, s, k, v) for v in values] for s, k, values in axes]
    for (section, key, _), vals in zip(axes, resolved, strict=True):
        if mode == "product" and len(set(map(_hashable, vals))) != len(vals):
            raise chk.fail(
                f"{section}.{key}",
                f"{section}.{key} = {_shown(vals)} repeats a value; sweep values must be distinct",
            )
    labels = [_axis_labels(vals) for vals in resolved]

    n_points = math.prod(len(v) for _, _, v in axes) if mode == "product" else 1
    if mode == "zip" and axes:
        n_points = len(axes[0][2])
    try:
        check_memory(
            "run.sweep",
            repr(mode),
            n_points * _POINT_BYTES,
            f"{n_points} sweep points ({_POINT_BYTES} bytes each)",
            lambda limit: f"allowed on this machine: at most {limit // _POINT_BYTES} points",
        )
    except ValueError as err:
        raise chk.fail("run.sweep", str(err)) from None
    if not axes:
        combos: list[tuple[int, ...]] = [()]
    elif mode == "product":
        combos = list(itertools.product(*(range(len(v)) for _, _, v in axes)))
    else:
        combos = [(i,) * len(axes) for i in range(len(axes[0][2]))]
    if mode == "zip":
        seen: dict[tuple, int] = {}
        for n, combo in enumerate(combos):
            point = tuple(_hashable(resolved[a][i]) for a, i in enumerate(combo))
            if point in seen:
                raise chk.fail(
                    "run.sweep",
                    f"run.sweep = 'zip': points {seen[point]} and {n} are identical; sweep "
                    "points must be distinct",
                )
            seen[point] = n

    base_name = sections["output"].get("name", OutputSettings.name)
    points: list[RunPoint] = []
    for combo in combos:
        spec = {name: dict(table) for name, table in sections.items()}
        spec["run"].pop("sweep", None)
        sweep_values: dict[str, Any] = {}
        suffix = []
        for a, (i, (section, key, values)) in enumerate(zip(combo, axes, strict=True)):
            spec[section][key] = values[i]
            sweep_values[key] = resolved[a][i]
            suffix.append(f"{key}-{labels[a][i]}")
        name = "_".join([str(base_name), *suffix])
        points.append(_build_point(chk, spec, name, sweep_values))
    return points


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, (dict, list)) else value


def _shown(values: list[Any]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


def load_run_file(path: str | Path) -> list[RunPoint]:
    """Read a TOML run file and return its validated points (see :func:`parse_run_dict`).

    A missing or unreadable file, or a TOML syntax error (the message gives the line and
    column), raises :class:`RunFileError`.
    """
    path = Path(path)
    if tomllib is None:  # pragma: no cover - Python 3.10 without tomli
        raise RunFileError(
            "reading run files on Python 3.10 needs the 'tomli' package (pip install tomli)",
            source=str(path),
        )
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise RunFileError(f"invalid TOML: {err}", source=str(path)) from None
    except ValueError as err:  # an integer of more than sys.get_int_max_str_digits() digits
        raise RunFileError(f"invalid TOML: {err}", source=str(path)) from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise RunFileError(
            "invalid TOML: arrays or tables nested too deeply to read", source=str(path)
        ) from None
    except UnicodeDecodeError as err:
        raise RunFileError(
            f"invalid TOML: not UTF-8 text ({err.reason})", source=str(path)
        ) from None
    except OSError as err:
        raise RunFileError(
            f"cannot read run file {str(path)!r}: {err.strerror or err}", source=None
        ) from None
    return parse_run_dict(data, source=str(path))


# --------------------------------------------------------------------------- overrides
def _spec_of(point: RunPoint) -> dict[str, dict[str, Any]]:
    """The point's unresolved sections; rebuilt from its settings if it has none."""
    if point._spec is not None:
        spec = copy.deepcopy(dict(point._spec))
        return {name: dict(spec.get(name, {})) for name in _SECTIONS}
    d = point.to_dict()
    run = {k: v for k, v in d["run"].items() if v is not None}
    if tuple(run["checkpoints"]) == default_checkpoints(point.run.collisions):
        del run["checkpoints"]  # the default: follow a new number of collisions
    output = dict(d["output"])
    return {"model": dict(d["model"]), "run": run, "output": output}


def apply_overrides(
    points: Iterable[RunPoint],
    *,
    trajectories: int | None = None,
    collisions: int | None = None,
    jobs: int | None = None,
    seed: int | None = None,
    backend: str | None = None,
    folder: str | None = None,
) -> list[RunPoint]:
    """Return the points with command-line overrides applied (``None``: keep the file's).

    Each point is validated again exactly like the run file, so e.g. ``{every = 20}``
    checkpoints follow a new ``collisions`` and an explicit checkpoint beyond it is an
    error. Overriding a key that is a sweep axis is an error (the points would collide).
    Raises :class:`RunFileError` (source ``command line``).
    """
    changes = {
        ("run", "trajectories"): trajectories,
        ("run", "collisions"): collisions,
        ("run", "jobs"): jobs,
        ("run", "seed"): seed,
        ("run", "backend"): backend,
        ("output", "folder"): folder,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    chk = _Checker("command line")
    out = []
    for point in points:
        if not isinstance(point, RunPoint):
            raise chk.fail(None, f"apply_overrides needs RunPoint objects, got {_describe(point)}")
        spec = _spec_of(point)
        for (section, key), value in changes.items():
            if key in point.sweep_values:
                raise chk.fail(
                    f"{section}.{key}",
                    f"cannot override {section}.{key} = {value!r}: it is a sweep axis of "
                    f"this run ({point.name})",
                )
            spec[section][key] = value
        out.append(_build_point(chk, spec, point.name, point.sweep_values))
    return out
