"""One point of a run: its validated model, run settings and output, from its sections.

:func:`build_point` checks and resolves the ``[model]``, ``[run]`` and ``[output]`` sections
of one (sweep-expanded) point, including the solvers' own memory checks, so that a run that
cannot fit fails when the file is read, naming the run-file key.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..model.imperfections import Arrivals, ThetaSpread
from ..model.interactions import JaynesCummings, Modulation, Rabi
from ..model.micromaser import Micromaser
from ..model.protocol import Protocol, Stage
from ..validation import MAX_COLLISIONS, check_memory, show
from .settings import (
    DEFAULT_MODEL,
    PLOT_FORMATS,
    OutputSettings,
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

from .schema import (
    _COLLISIONS,
    _EXTRA_BACKENDS,
    _REAL_MODEL_KEYS,
    ARRIVAL_NAMES,
    ARRIVAL_TABLES,
    COLLISION_KEYS,
    MODEL_KEYS,
    SPREAD_NAMES,
    SPREAD_TABLES,
    STAGE_KEYS,
    _Checker,
    _describe,
    _is_int,
    _is_real,
    _StageChecker,
    _suggest,
    stage_label,
)

__all__ = [
    "build_point",
    "build_protocol",
    "check_stage_keys",
    "model_value",
    "beam_label",
    "POINT_BYTES",
]

#: Bytes per checkpoint of a run point, a lower bound: the int in the tuple, the
#: simulation's int64 copy and one trajectory's records (:func:`_check_checkpoint_count`).
_CHECKPOINT_BYTES = 28 + 8 + 8 + 36
#: Bytes per sweep point, a lower bound (measured: about 5 kB per point).
POINT_BYTES = 4096


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
    chk: _Checker, spec: Any, checkpoints: tuple[int, ...], collisions: int,
    key: str = "run.rho_checkpoints", default: str | None = "all",
) -> str | tuple[int, ...] | None:  # fmt: skip
    allowed = "'all', 'last', 'none' or a list of checkpoints"
    if spec is None:
        return default
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


def model_value(chk: _Checker, key: str, value: Any) -> Any:
    """Convert one ``[model]`` value of a run file; its range is checked by ``Micromaser``.

    Parameters
    ----------
    chk : _Checker
        The run file's checker (``trajectories.runs.schema``): errors name its source.
    key : str
        The bare ``[model]`` key (``"theta"``, ``"c"``, ...).
    value : object
        The value as read: a number, an expression string, ``"suppress"`` (``eta``), a
        collision name, a ``c`` table ``{abs, phase}`` or ``{re, im}``, or a beam form
        (``arrivals``: ``"regular"``, ``"poisson"``, ``{bernoulli = p}``; ``theta_spread``:
        ``"none"``, ``{gaussian = sigma}``, ``{uniform = w}``,
        ``{discrete = {values = [..], weights = [..]}}``).

    Returns
    -------
    object
        A float for the real keys, a complex or float for ``c``, the canonical collision
        name for ``collision``, ``"suppress"`` or a float for ``eta``, an
        :class:`~trajectories.model.imperfections.Arrivals` or
        :class:`~trajectories.model.imperfections.ThetaSpread` for the beam keys; other
        values (the cutoff) as given.

    Raises
    ------
    RunFileError
        Naming ``model.<key>``, when the value is not of the allowed form.
    """
    dotted = f"model.{key}"
    if key == "arrivals":
        return _arrivals(chk, value)
    if key == "theta_spread":
        return _theta_spread(chk, value)
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


_ARRIVALS_ALLOWED = "'regular', 'poisson' or { bernoulli = p } with 0 < p <= 1"
_SPREAD_ALLOWED = (
    "'none', { gaussian = sigma } (sigma >= 0), { uniform = w } (0 <= w <= 1) or "
    "{ discrete = { values = [..], weights = [..] } }"
)


def _one_entry(chk: _Checker, key: str, value: Any, names: tuple, tables: tuple, allowed: str):
    """The (kind, parameter) of a beam key: a name, or a table of exactly one kind."""
    dotted = f"model.{key}"
    if isinstance(value, str):
        if value in names:
            return value, None
        hint = _suggest(value, (*names, *tables))
        if value in tables:
            hint = f"; write {{ {value} = .. }}"
        raise chk.fail(dotted, f"{dotted} must be {allowed}, got {value!r}{hint}")
    if not isinstance(value, Mapping) or len(value) != 1:
        got = repr(dict(value)) if isinstance(value, Mapping) else _describe(value)
        raise chk.fail(dotted, f"{dotted} must be {allowed}, got {got}")
    ((kind, param),) = value.items()
    if not isinstance(kind, str) or kind not in tables:
        hint = _suggest(str(kind), tables, f"{dotted}.")
        raise chk.fail(
            f"{dotted}.{kind}",
            f"unknown key {dotted}.{kind}{hint or '; allowed: ' + ', '.join(tables)}",
        )
    return kind, param


def _fraction(chk: _Checker, key: str, value: Any, low_open: bool, high: float | None) -> float:
    """A real number (or expression) ``>= 0`` (``> 0`` if ``low_open``), ``<= high`` if given."""
    x = chk.real(key, value)
    interval = f"{'(' if low_open else '['}0, {high:g}]" if high is not None else None
    allowed = f"in {interval}" if interval else "a number >= 0"
    ok = math.isfinite(x) and (x > 0 if low_open else x >= 0) and (high is None or x <= high)
    if not ok:
        raise chk.fail(key, f"{key} must be {allowed}, got {show(value)}")
    return x


def _arrivals(chk: _Checker, value: Any) -> Arrivals:
    """``model.arrivals``: ``"regular"``, ``"poisson"`` or ``{ bernoulli = p }``."""
    kind, p = _one_entry(chk, "arrivals", value, ARRIVAL_NAMES, ARRIVAL_TABLES, _ARRIVALS_ALLOWED)
    if kind == "regular":
        return Arrivals.regular()
    if kind == "poisson":
        return Arrivals.poisson()
    return Arrivals.bernoulli(_fraction(chk, "model.arrivals.bernoulli", p, True, 1.0))


def _real_list(chk: _Checker, key: str, value: Any) -> list[float]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise chk.fail(key, f"{key} must be a non-empty list of numbers, got {_describe(value)}")
    return [_fraction(chk, f"{key}[{i}]", v, False, None) for i, v in enumerate(value)]


def _theta_spread(chk: _Checker, value: Any) -> ThetaSpread:
    """``model.theta_spread``: ``"none"`` or a table of one kind (see :data:`_SPREAD_ALLOWED`)."""
    kind, width = _one_entry(
        chk, "theta_spread", value, SPREAD_NAMES, SPREAD_TABLES, _SPREAD_ALLOWED
    )
    key = f"model.theta_spread.{kind}"
    if kind == "none":
        return ThetaSpread.none()
    if kind == "gaussian":
        return ThetaSpread.gaussian(_fraction(chk, key, width, False, None))
    if kind == "uniform":
        return ThetaSpread.uniform(_fraction(chk, key, width, False, 1.0))
    allowed = "{ values = [..], weights = [..] } (values >= 0, weights summing to 1)"
    if not isinstance(width, Mapping):
        raise chk.fail(key, f"{key} must be a table {allowed}, got {_describe(width)}")
    for k in width:
        if k not in ("values", "weights"):
            hint = _suggest(str(k), ("values", "weights"), f"{key}.")
            raise chk.fail(f"{key}.{k}", f"unknown key {key}.{k}{hint}")
    for k in ("values", "weights"):
        if k not in width:
            raise chk.fail(f"{key}.{k}", f"{key} needs {key}.{k}: it must be a table {allowed}")
    values = _real_list(chk, f"{key}.values", width["values"])
    weights = _real_list(chk, f"{key}.weights", width["weights"])
    if len(values) != len(weights):
        raise chk.fail(
            f"{key}.weights",
            f"{key}.weights must have one weight per value, got {len(weights)} weights for "
            f"{len(values)} values",
        )
    try:
        return ThetaSpread.discrete(values, weights)
    except ValueError as err:  # a weight above 1, or weights not summing to 1
        text = str(err).removeprefix("theta_spread ")
        raise chk.fail(f"{key}.weights", f"{key}.{text}") from None


def _num(x: float) -> str:
    """The shortest text that reads back as ``x`` (``1`` for ``1.0``)."""
    text = repr(float(x))
    return text.removesuffix(".0")


def beam_label(value: Arrivals | ThetaSpread) -> str:
    """A beam form as a short text: a sweep coordinate and the point's file-name suffix.

    Parameters
    ----------
    value : Arrivals or ThetaSpread
        The resolved ``model.arrivals`` or ``model.theta_spread``.

    Returns
    -------
    str
        ``"regular"``, ``"poisson"``, ``"bernoulli-0.5"``; ``"none"``, ``"gaussian-0.05"``,
        ``"uniform-0.1"``, ``"discrete-0.9@0.5-1.1@0.5"`` (each value ``@`` its weight).
        Numbers are written in full (distinct forms have distinct labels).

    Examples
    --------
    >>> beam_label(ThetaSpread.discrete([0.9, 1.1], [0.5, 0.5]))
    'discrete-0.9@0.5-1.1@0.5'
    """
    if isinstance(value, Arrivals):
        return f"bernoulli-{_num(value.p)}" if value.kind == "bernoulli" else value.kind
    if value.kind == "discrete":
        pairs = "-".join(
            f"{_num(v)}@{_num(w)}" for v, w in zip(value.values, value.weights, strict=True)
        )
        return f"discrete-{pairs}"
    return "none" if value.is_none else f"{value.kind}-{_num(value.width)}"


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
        params[key] = model_value(chk, key, value)
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
    records = _resolve_rho(chk, s.get("records"), checkpoints, collisions, "run.records", None)
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
    exact = s.get("exact", d.exact)
    if not (isinstance(exact, bool) or exact == "only"):
        raise chk.fail("run.exact", f"run.exact must be true or false, got {_describe(exact)}; "
                       "or 'only' for the exact solution without trajectories")  # fmt: skip
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
        records=records,
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
    "records": "run.records",
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
        auto_records,
        check_simulate_memory,
        default_chunk_size,
    )

    chunk = run.chunk_size or default_chunk_size(run.trajectories)
    groups = min(-(-run.trajectories // chunk), DEFAULT_JACKKNIFE_GROUPS)
    rho = run.rho_checkpoints
    n_ck = len(run.checkpoints)
    n_rho = {"all": n_ck, "last": 1, "none": 0}[rho] if isinstance(rho, str) else len(rho)
    records = run.records
    if records is None:
        branches = 1 if model.qubit_is_pure else 2
        records = auto_records(run.trajectories, n_ck, branches, 9 * run.max_jumps + 9)
    n_rec = (
        {"all": n_ck, "last": 1, "none": 0}[records] if isinstance(records, str) else len(records)
    )
    try:
        if run.exact != "only":
            check_simulate_memory(model, run.trajectories, n_ck, n_rho, groups, run.max_jumps,
                                  n_record_columns=n_rec)  # fmt: skip
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


def check_stage_keys(chk: _Checker, index: int, table: Mapping) -> None:
    """Refuse a stage's ``cutoff`` and unknown keys (with the nearest key suggested).

    Parameters
    ----------
    chk : _Checker
        The run file's checker.
    index : int
        The stage's position (from 0).
    table : Mapping
        The stage's table.

    Returns
    -------
    None

    Raises
    ------
    RunFileError
        ``stage[1].cutoff: stages share the cutoff of [model]``, or ``unknown key
        stage[0] (charge).thetaa; did you mean stage[0] (charge).theta?``.
    """
    label = stage_label(index, table)
    for key in table:
        if key == "cutoff":
            raise chk.fail(f"{label}.cutoff", f"{label}.cutoff: stages share the cutoff "
                           "of [model]")  # fmt: skip
        if not isinstance(key, str) or key not in STAGE_KEYS:
            hint = _suggest(str(key), STAGE_KEYS, f"{label}.")
            raise chk.fail(f"{label}.{key}", f"unknown key {label}.{key}"
                           f"{hint or '; allowed: ' + ', '.join(STAGE_KEYS)}")  # fmt: skip


def build_protocol(chk: _Checker, model_section: Mapping, stages: Any) -> Protocol:
    """Validate the ``[[stage]]`` tables of a run file into a :class:`~trajectories.Protocol`.

    Each stage's model is the ``[model]`` section with the stage's own model keys on top
    (a stage that sets ``collision`` takes no collision key from ``[model]``).

    Parameters
    ----------
    chk : _Checker
        The run file's checker (``trajectories.runs.schema``): errors name its source.
    model_section : Mapping
        The (sweep-expanded) ``[model]`` section.
    stages : list of Mapping
        The (sweep-expanded) ``[[stage]]`` tables, in order.

    Returns
    -------
    Protocol
        The stages, each named (``"stage <i>"`` unless the table gives ``name``).

    Raises
    ------
    RunFileError
        One line naming the stage (``stage[2] (discharge).collisions ...``), the key and
        what is allowed.
    """
    if not isinstance(stages, (list, tuple)) or isinstance(stages, str):
        raise chk.fail("stage", f"stage must be an array of tables ([[stage]]), got "
                       f"{_describe(stages)}")  # fmt: skip
    if not stages:
        raise chk.fail("stage", "a protocol needs at least one [[stage]] table")
    out = []
    for i, table in enumerate(stages):
        if not isinstance(table, Mapping):
            raise chk.fail(f"stage[{i}]", f"stage[{i}] must be a table, got {_describe(table)}")
        label = stage_label(i, table)
        schk = _StageChecker(chk.source, label)
        check_stage_keys(chk, i, table)
        name = table.get("name")
        if name is not None:
            name = schk.string(f"{label}.name", name)
        if "collisions" not in table:
            raise schk.fail(f"{label}.collisions", f"{label}.collisions is missing: every "
                            "stage needs collisions = K (an integer >= 1)")  # fmt: skip
        k = schk.integer(f"{label}.collisions", table["collisions"], 1)
        if k > MAX_COLLISIONS:
            raise schk.fail(f"{label}.collisions", f"{label}.collisions must be at most "
                            f"2**53 = {MAX_COLLISIONS}, got {show(k)}")  # fmt: skip
        merged = dict(model_section)
        if "collision" in table:
            for key in COLLISION_KEYS:
                merged.pop(key, None)
        merged.update({key: v for key, v in table.items() if key not in ("name", "collisions")})
        model = _build_model(schk, merged)
        out.append(Stage(model, k, name=name))
    return Protocol(out)


def build_point(chk: _Checker, spec: Mapping, name: str, sweep_values: dict[str, Any]) -> RunPoint:
    """Validate and resolve the sections of one sweep point into a :class:`RunPoint`.

    Besides each key, checks that the point fits in this machine's memory (the solvers'
    own checks, with the run-file key to change named). With ``[[stage]]`` tables the point
    is a protocol (:func:`build_protocol`): ``run.collisions`` is the stages' total (giving
    another value is an error) and the stage boundaries are added to the checkpoints.

    Parameters
    ----------
    chk : _Checker
        The run file's checker (``trajectories.runs.schema``): errors name its source.
    spec : Mapping
        The point's ``model``, ``run`` and ``output`` tables, and ``stage`` (a list of
        tables) for a protocol (sweep already expanded; missing ones take the defaults).
    name : str
        The point's file stem.
    sweep_values : dict
        The swept keys' values at this point.

    Returns
    -------
    RunPoint
        The validated point (keeping a copy of ``spec`` for later overrides).

    Raises
    ------
    RunFileError
        Naming the key, the value and what is allowed.
    """
    model = _build_model(chk, spec.get("model", {}))
    run_section = dict(spec.get("run", {}))
    protocol = None
    if "stage" in spec:
        protocol = build_protocol(chk, spec.get("model", {}), spec["stage"])
        model = protocol.stages[0].model
        total = protocol.n_collisions
        given = run_section.get("collisions")
        if given is not None and not (_is_int(given) and given == total):
            parts = " + ".join(str(s.collisions) for s in protocol.stages)
            raise chk.fail(
                "run.collisions",
                f"run.collisions = {show(given)} differs from the stages' total {total} "
                f"({parts}); leave run.collisions out for a protocol",
            )
        run_section["collisions"] = total
    run = _build_run(chk, run_section)
    if protocol is not None:
        ks = sorted(set(run.checkpoints) | {int(b) for b in protocol.boundaries})
        run = dataclasses.replace(run, checkpoints=tuple(ks))
    output = _build_output(chk, spec.get("output", {}))
    _check_point_memory(chk, model, run)
    return RunPoint(
        name=name,
        model=model,
        run=run,
        output=output,
        sweep_values=dict(sweep_values),
        protocol=protocol,
        _spec=copy.deepcopy(dict(spec)),
    )
