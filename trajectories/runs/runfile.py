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
    # arrivals = "poisson"         # or "regular", { bernoulli = p }: see trajectories.Arrivals
    # theta_spread = { gaussian = 0.05 }  # { uniform = w }, { discrete = { values = [..],
    #                              # weights = [..] } }, "none": see trajectories.ThetaSpread

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

A ``[network]`` table instead of ``[model]`` runs a network of two cavities
(:mod:`trajectories.runs.network_points`); a file with both is refused.

:func:`load_run_file` and :func:`parse_run_dict` expand the sweep into a list of
:class:`~trajectories.runs.settings.RunPoint` (one validated model and its settings each).
Every mistake, from a misspelt key to a model parameter out of range, raises
:class:`~trajectories.runs.settings.RunFileError` with one line naming the key, the value
and what is allowed. Expression strings are read by a small recursive-descent parser
(:mod:`trajectories.runs.expressions`); nothing in a run file is ever executed.
"""

from __future__ import annotations

import copy
import itertools
import math
import numbers
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..validation import check_memory, show
from .expressions import parse_expression
from .settings import (
    DEFAULT_MODEL,
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

from .network_points import build_network_point, network_value
from .points import POINT_BYTES, beam_label, build_point, check_stage_keys, model_value
from .schema import (
    _LIST_VALUED,
    _NOT_SWEPT,
    _SECTIONS,
    _SWEEP_MODES,
    BEAM_KEYS,
    BEAM_WIDTH_AXES,
    MODEL_KEYS,
    NETWORK_KEYS,
    NETWORK_PAIR_KEYS,
    NETWORK_SECTION,
    OUTPUT_KEYS,
    RUN_KEYS,
    STAGE_SECTION,
    _Checker,
    _describe,
    _is_real,
    _StageChecker,
    _suggest,
    stage_label,
)

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


def _format_value(value: Any, digits: int) -> str:
    if isinstance(value, tuple):  # a pair of a network: "0.1,0.05"
        return ",".join(_format_value(v, digits) for v in value)
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


def _sweep_value(
    chk: _Checker, section: Any, key: str, value: Any, name: str, stages: list | None = None
) -> Any:
    """The resolved value of one sweep entry, used for naming and duplicate checks.

    A beam form is its :func:`~trajectories.runs.points.beam_label` text; the number of a
    beam table swept by its width (``name`` a flat key such as ``theta_spread_width``) a
    float. ``section`` is ``(STAGE_SECTION, i)`` for a key of stage ``i``."""
    if isinstance(section, tuple):
        label = stage_label(section[1], (stages or [{}])[section[1]])
        if key == "collisions":
            return _StageChecker(chk.source, label).integer(f"{label}.collisions", value, 1)
        chk = _StageChecker(chk.source, label)
        section, name = "model", name.split("_", 1)[1]
    if section in ("model", NETWORK_SECTION):
        convert = model_value if section == "model" else network_value
        resolved = convert(chk, key, value)
        if name == "arrivals_p":
            return resolved.p
        if name == "theta_spread_width":
            return resolved.width
        if key in BEAM_KEYS:
            return beam_label(resolved)
        return resolved
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
    ``run.checkpoints`` and ``run.rho_checkpoints``) is a sweep axis, and so is a beam
    table whose number is a list (``theta_spread = { gaussian = [0.01, 0.05] }``, swept as
    ``theta_spread_width``; ``arrivals = { bernoulli = [..] }`` as ``arrivals_p``); a list
    of beam forms is swept under its key with text labels (``"bernoulli-0.5"``); ``run.sweep``
    says whether the axes combine as a Cartesian product (``"product"``, the default;
    the first axis varies slowest) or element by element (``"zip"``). Missing sections
    and keys take the defaults (:data:`DEFAULT_MODEL`, :class:`RunSettings`,
    :class:`OutputSettings`); checkpoints default to 101 evenly spaced collisions.

    Every point's model and settings are validated before this returns.

    Parameters
    ----------
    data : Mapping
        The run description: optional ``model`` (or ``network``: a network of two
        cavities, :mod:`trajectories.runs.network_points`), ``run`` and ``output`` tables.
    source : str, optional
        A file name or preset, prefixed to error messages (``"<dict>"``: none).

    Returns
    -------
    list of RunPoint
        One validated point per sweep point (one without a sweep), in sweep order.

    Raises
    ------
    RunFileError
        Naming the key, the value and what is allowed.

    Examples
    --------
    >>> points = parse_run_dict({"model": {"gamma_tr": [0.1, 0.001]}, "run": {"collisions": 50}})
    >>> [p.name for p in points], points[1].model.gamma_tr, points[0].run.checkpoints[:3]
    (['run_gamma_tr-0.1', 'run_gamma_tr-0.001'], 0.001, (0, 1, 2))
    """
    chk = _Checker(source)
    if not isinstance(data, Mapping):
        raise chk.fail(None, f"a run description must be a table, got {_describe(data)}")
    _check_document(chk, data)
    for section in data:
        if section not in _SECTIONS and section not in (STAGE_SECTION, NETWORK_SECTION):
            owner = [f"{s}.{section}" for s, keys in _SECTIONS.items() if section in keys]
            hint = (
                f"; did you mean {owner[0]} (in the [{owner[0].split('.')[0]}] section)?"
                if owner
                else _suggest(str(section), [*_SECTIONS, NETWORK_SECTION])
            )
            allowed = "; allowed: [model] or [network], [run], [output]"
            raise chk.fail(str(section), f"unknown section [{section}]{hint or allowed}")
    schema = dict(_SECTIONS)
    if NETWORK_SECTION in data:  # a network of two cavities instead of one model
        _check_network_file(chk, data)
        del schema["model"]
        schema = {NETWORK_SECTION: NETWORK_KEYS, **schema}
    sections = {name: chk.table(name, data.get(name, {})) for name in schema}
    for name, keys in schema.items():
        chk.known_keys(name, sections[name], keys)
    stages = _stage_tables(chk, data)

    mode = chk.string("run.sweep", sections["run"].get("sweep", "product"), _SWEEP_MODES)

    # ---- sweep axes, in file order: model keys first, then run keys. An axis is
    # (section, key, the key's values, the sweep parameter's name, its dotted name)
    axes: list[tuple[str, str, list[Any], str, str]] = []
    for section in ("model", NETWORK_SECTION, "run"):
        for key, value in sections.get(section, {}).items():
            if (section, key) in _LIST_VALUED or (section, key) in _NOT_SWEPT:
                continue
            name, dotted, values = key, f"{section}.{key}", value
            width_axis = _beam_width_axis("run" if section == "run" else "model", key, value)
            pairs = section == NETWORK_SECTION and key in NETWORK_PAIR_KEYS
            if width_axis is not None:  # theta_spread = { gaussian = [0.01, 0.05] }
                name, kind = width_axis
                dotted = f"{section}.{key}.{kind}"
                values = [{kind: v} for v in value[kind]]
            elif pairs:  # a flat list is the pair itself; a list of pairs is a sweep
                if not (isinstance(value, (list, tuple)) and value
                        and any(isinstance(v, (list, tuple)) for v in value)):  # fmt: skip
                    continue
            elif not isinstance(value, (list, tuple)):
                continue
            if len(values) == 0:
                raise chk.fail(
                    dotted, f"{dotted} is an empty list; a sweep axis needs at least one value"
                )
            for i, v in enumerate(value[kind] if width_axis else values):
                if pairs and isinstance(v, (list, tuple)):
                    if any(isinstance(x, (list, tuple)) for x in v):
                        raise chk.fail(dotted, f"{dotted}[{i}] nests lists; a sweep value of "
                                       f"{dotted} is a pair or one value, got {v!r}")  # fmt: skip
                elif isinstance(v, (list, tuple)):
                    raise chk.fail(
                        dotted,
                        f"{dotted}[{i}] is a list; sweep values must be single values, got {v!r}",
                    )
            axes.append((section, key, list(values), name, dotted))
    for i, table in enumerate(stages or ()):
        label = stage_label(i, table)
        for key, value in table.items():
            if key == "name":
                continue
            name, dotted, values = f"stage{i}_{key}", f"{label}.{key}", value
            width_axis = _beam_width_axis("model", key, value)
            if width_axis is not None:
                name, kind = f"stage{i}_{width_axis[0]}", width_axis[1]
                dotted = f"{label}.{key}.{kind}"
                values = [{kind: v} for v in value[kind]]
            elif not isinstance(value, (list, tuple)):
                continue
            if len(values) == 0:
                raise chk.fail(
                    dotted, f"{dotted} is an empty list; a sweep axis needs at least one value"
                )
            for j, v in enumerate(value[kind] if width_axis else values):
                if isinstance(v, (list, tuple)):
                    raise chk.fail(
                        dotted,
                        f"{dotted}[{j}] is a list; sweep values must be single values, got {v!r}",
                    )
            axes.append(((STAGE_SECTION, i), key, list(values), name, dotted))
    for section in ("output",):
        for key, value in sections[section].items():
            if key != "plots" and isinstance(value, (list, tuple)):
                raise chk.fail(
                    f"output.{key}",
                    f"output.{key} cannot be a list (output keys are not sweep axes), "
                    f"got {value!r}",
                )

    if mode == "zip" and axes:
        lengths = {dotted: len(v) for _, _, v, _, dotted in axes}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k} has {n} values" for k, n in lengths.items())
            raise chk.fail(
                "run.sweep",
                f"run.sweep = 'zip' needs sweep lists of equal length, but {detail}",
            )

    resolved = [
        [_sweep_value(chk, s, k, v, n, stages) for v in values] for s, k, values, n, _ in axes
    ]
    for (*_, dotted), vals in zip(axes, resolved, strict=True):
        if mode == "product" and len(set(map(_hashable, vals))) != len(vals):
            raise chk.fail(
                dotted, f"{dotted} = {_shown(vals)} repeats a value; sweep values must be distinct"
            )
    labels = [_axis_labels(vals) for vals in resolved]

    n_points = math.prod(len(a[2]) for a in axes) if mode == "product" else 1
    if mode == "zip" and axes:
        n_points = len(axes[0][2])
    try:
        check_memory(
            "run.sweep",
            repr(mode),
            n_points * POINT_BYTES,
            f"{n_points} sweep points ({POINT_BYTES} bytes each)",
            lambda limit: f"allowed on this machine: at most {limit // POINT_BYTES} points",
        )
    except ValueError as err:
        raise chk.fail("run.sweep", str(err)) from None
    if not axes:
        combos: list[tuple[int, ...]] = [()]
    elif mode == "product":
        combos = list(itertools.product(*(range(len(a[2])) for a in axes)))
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
        spec: dict[str, Any] = {name: dict(table) for name, table in sections.items()}
        spec["run"].pop("sweep", None)
        if stages is not None:
            spec[STAGE_SECTION] = [dict(t) for t in stages]
        sweep_values: dict[str, Any] = {}
        suffix = []
        for a, (i, (section, key, values, sweep_name, _)) in enumerate(
            zip(combo, axes, strict=True)
        ):
            if isinstance(section, tuple):  # a stage's key: (STAGE_SECTION, index)
                spec[STAGE_SECTION][section[1]][key] = values[i]
            else:
                spec[section][key] = values[i]
            sweep_values[sweep_name] = resolved[a][i]
            suffix.append(f"{sweep_name}-{labels[a][i]}")
        name = "_".join([str(base_name), *suffix])
        points.append(_build(chk, spec, name, sweep_values))
    return points


def _build(chk: _Checker, spec: Mapping, name: str, sweep_values: dict[str, Any]) -> RunPoint:
    """One point: a network's (``[network]``) or a model's or protocol's."""
    builder = build_network_point if NETWORK_SECTION in spec else build_point
    return builder(chk, spec, name, sweep_values)


def _check_network_file(chk: _Checker, data: Mapping) -> None:
    """A network file has no [model] and no [[stage]] tables."""
    if "model" in data:
        raise chk.fail(
            NETWORK_SECTION,
            "a run file has [model] (one cavity) or [network] (two cavities), not both",
        )
    if STAGE_SECTION in data:
        raise chk.fail(
            STAGE_SECTION,
            "[[stage]] tables (a protocol) need [model]; a [network] run has no stages",
        )


def _stage_tables(chk: _Checker, data: Mapping) -> list[Mapping] | None:
    """The ``[[stage]]`` tables of a protocol (None: a single model), checked for shape."""
    if STAGE_SECTION not in data:
        return None
    stages = data[STAGE_SECTION]
    if isinstance(stages, Mapping):
        raise chk.fail(STAGE_SECTION, "stages are written [[stage]] (an array of tables), "
                       "not [stage]")  # fmt: skip
    if not isinstance(stages, (list, tuple)) or not stages:
        raise chk.fail(STAGE_SECTION, f"stage must be a non-empty array of tables "
                       f"([[stage]]), got {_describe(stages)}")  # fmt: skip
    for i, table in enumerate(stages):
        if not isinstance(table, Mapping):
            raise chk.fail(f"stage[{i}]", f"stage[{i}] must be a table, got {_describe(table)}")
        check_stage_keys(chk, i, table)
    return list(stages)


def _beam_width_axis(section: str, key: str, value: Any) -> tuple[str, str] | None:
    """(sweep parameter, kind) when ``value`` is a beam table whose number is a list."""
    if section != "model" or key not in BEAM_KEYS or not isinstance(value, Mapping):
        return None
    if len(value) != 1:
        return None
    ((kind, number),) = value.items()
    name = BEAM_WIDTH_AXES.get((key, kind)) if isinstance(kind, str) else None
    if name is None or not isinstance(number, (list, tuple)):
        return None
    return name, kind


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, (dict, list)) else value


def _shown(values: list[Any]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


def load_run_file(path: str | Path) -> list[RunPoint]:
    """Read a TOML run file and return its validated points (see :func:`parse_run_dict`).

    Parameters
    ----------
    path : str or pathlib.Path
        The run file (UTF-8 TOML).

    Returns
    -------
    list of RunPoint
        One validated point per sweep point.

    Raises
    ------
    RunFileError
        A missing or unreadable file, a TOML syntax error (the message gives the line and
        column), or any invalid key or value.
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
        names = [*_SECTIONS, NETWORK_SECTION] if NETWORK_SECTION in spec else _SECTIONS
        out = {name: dict(spec.get(name, {})) for name in names if name != "model"
               or NETWORK_SECTION not in spec}  # fmt: skip
        if STAGE_SECTION in spec:
            out[STAGE_SECTION] = [dict(t) for t in spec[STAGE_SECTION]]
        return out
    d = point.to_dict()
    run = {k: v for k, v in d["run"].items() if v is not None}
    if tuple(run["checkpoints"]) == default_checkpoints(point.run.collisions):
        del run["checkpoints"]  # the default: follow a new number of collisions
    output = dict(d["output"])
    if NETWORK_SECTION in d:
        return {NETWORK_SECTION: dict(d[NETWORK_SECTION]), "run": run, "output": output}
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
    records: str | list[int] | None = None,
) -> list[RunPoint]:
    """Return the points with command-line overrides applied (``None``: keep the file's).

    Each point is validated again exactly like the run file, so e.g. ``{every = 20}``
    checkpoints follow a new ``collisions`` and an explicit checkpoint beyond it is an
    error. Overriding a key that is a sweep axis is an error (the points would collide).

    Parameters
    ----------
    points : iterable of RunPoint
        The points of a run file or preset.
    trajectories, collisions, jobs, seed : int or None, optional
        New ``run.trajectories``, ``run.collisions``, ``run.jobs``, ``run.seed``.
    backend : str or None, optional
        New ``run.backend``.
    folder : str or None, optional
        New ``output.folder``.
    records : str, list of int or None, optional
        New ``run.records`` (``"all"``, ``"last"``, ``"none"`` or checkpoints).

    Returns
    -------
    list of RunPoint
        The points, validated again, in the same order.

    Raises
    ------
    RunFileError
        With source ``command line``: an invalid value, or an override of a sweep axis.

    Examples
    --------
    >>> points = parse_run_dict({"run": {"collisions": 100, "checkpoints": {"every": 50}}})
    >>> apply_overrides(points, collisions=200)[0].run.checkpoints
    (0, 50, 100, 150, 200)
    """
    changes = {
        ("run", "trajectories"): trajectories,
        ("run", "collisions"): collisions,
        ("run", "jobs"): jobs,
        ("run", "seed"): seed,
        ("run", "backend"): backend,
        ("output", "folder"): folder,
        ("run", "records"): records,
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
        out.append(_build(chk, spec, point.name, point.sweep_values))
    return out
