"""Command line: ``micromaser`` (also ``python -m trajectories``).

    micromaser run                          # built-in default: the paper's lossy coherent case
    micromaser run sweep.toml -o runs/      # one run per parameter point of a sweep
    micromaser run --preset fig5 --trajectories 20000 --jobs 2
    micromaser run runs/fig5.h5 --resume    # finish an interrupted run
    micromaser show runs/fig5.h5            # parameters, seed, status, summary table
    micromaser plot runs/fig5.h5            # energy, purity, Fano, ergotropy vs collisions
    micromaser counts runs/fig5.h5          # counting statistics against exact distributions
    micromaser counts --scgf sweep.toml     # theta(s) and I(x) of each point's counts
    micromaser steady sweep.toml            # steady states and relaxation times
    micromaser presets                      # the paper's cases by name

A run file with a ``[network]`` table runs a network of two cavities
(:mod:`trajectories.runs.network_points`); ``show`` and ``plot`` read its result file.

Exit status: 0 done; 1 the run failed (e.g. truncation); 2 bad input (run file, arguments,
files in the way), before any work; 130 interrupted (finished chunks are kept: resume).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import signal
import sys
import textwrap
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .._version import __version__
from ..errors import TruncationError
from ..progress import ProgressArg
from .show_tables import WIDTH, _model_text

__all__ = ["main", "counts_command", "steady_command"]

log = logging.getLogger("trajectories")
EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED = 1, 2, 130


def _point_failures() -> tuple[type[BaseException], ...]:
    from .chunkstore import ChunkError
    from .runner import RunError, RunStopped

    return (TruncationError, RunError, RunStopped, ChunkError, ValueError)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


def _on_sigterm(signum, frame):  # pragma: no cover - exercised through subprocess tests
    raise _Terminated()


class _HelpFormatter(argparse.HelpFormatter):
    """Help that names each option's default (when it has one) and fits 80 columns."""

    def __init__(self, prog: str):
        super().__init__(prog, width=min(80, shutil.get_terminal_size().columns),
                         max_help_position=28)  # fmt: skip

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        silent = default is None or default is False or default == argparse.SUPPRESS
        if "default" in text or silent or not action.option_strings:
            return text
        shown = " ".join(default) if isinstance(default, (list, tuple)) else "%(default)s"
        return f"{text} (default: {shown})"


#: Time budget of the exact counting distributions of ``micromaser counts``, in seconds.
COUNTS_BUDGET_SECONDS = 60.0


def _parser() -> argparse.ArgumentParser:
    from .presets import PRESETS
    from .scgf_command import add_scgf_arguments

    presets = list(PRESETS)
    ap = argparse.ArgumentParser(
        prog="micromaser",
        description="Quantum trajectories and exact solutions for the micromaser battery.",
        epilog="Exit status: 0 done, 1 run failed, 2 bad input (nothing started), "
        "130 interrupted (resume with --resume).",
        formatter_class=_HelpFormatter,
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".",
                              formatter_class=_HelpFormatter)  # fmt: skip

    run = command("run", "run a run file, a preset, or the built-in default")
    run.add_argument("source", nargs="?", help="run file (.toml), or a result to --resume "
                     "(default: the preset 'default')")  # fmt: skip
    run.add_argument("--preset", choices=presets, metavar="NAME",
                     help="one of the paper's cases: " + ", ".join(presets)
                     + " ('micromaser presets' describes them)")  # fmt: skip
    run.add_argument("-o", "--output", metavar="FOLDER", help="output folder "
                     "(default: the run file's, runs/ for a preset)")  # fmt: skip
    run.add_argument("--trajectories", type=int, metavar="M", help="trajectories per "
                     "parameter point (default: the run file's; 4000 for 'default')")  # fmt: skip
    run.add_argument("--collisions", type=int, metavar="K", help="collisions per trajectory "
                     "(default: the run file's; 2000 for 'default')")  # fmt: skip
    run.add_argument("--jobs", type=int, metavar="N", help="parallel workers, -1 for all cores "
                     "(default: the run file's, else 1)")  # fmt: skip
    run.add_argument("--seed", type=int, help="root seed (default: the run file's, else fresh)")
    run.add_argument("--backend", help="joblib backend: loky, threading, multiprocessing, dask, "
                     "ray (default: the run file's, else loky)")  # fmt: skip
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a dask cluster: scheduler address, e.g. tcp://host:8786",
    )
    run.add_argument(
        "--cluster",
        metavar="local:N",
        help="start a local dask cluster of N worker processes (loopback only)",
    )
    run.add_argument(
        "--target-stderr",
        type=float,
        metavar="E",
        help="stop adding trajectories once the energy's standard error is E "
        "(default: run them all)",
    )
    run.add_argument("--records", type=_records_option, metavar="all|last|none|K1,K2,...",
                     help="checkpoints at which the per-trajectory records are kept (streamed "
                     "to the result file): all, last, none or a comma-separated list "
                     "(default: the run file's, else the solver's: all while they fit in "
                     "256 MiB)")  # fmt: skip
    run.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="wall-clock limit (default: none)")  # fmt: skip
    run.add_argument("--resume", action="store_true", help="finish an interrupted run")
    run.add_argument("--force", action="store_true", help="overwrite existing results")
    run.add_argument(
        "--keep-going",
        action="store_true",
        help="in a sweep, run every point even when some fail; list the failures at the end",
    )
    run.add_argument(
        "--skip-existing",
        action="store_true",
        help="in a sweep, skip the points whose result file is already complete",
    )
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no progress, warnings only (default: a bar on a terminal, "
                     "a line a minute in a log)")  # fmt: skip

    show = command("show", "parameters, seed, status and summary of a result")
    show.add_argument("result", help="result file (.h5) or its .chunks folder")
    show.add_argument("--rows", type=int, default=11, metavar="N",
                      help="checkpoints in the table")  # fmt: skip

    plot = command("plot", "figures of a result (observables, P(n), counts)")
    plot.add_argument("result", help="result file (.h5)")
    plot.add_argument("-o", "--output", metavar="FOLDER",
                      help="folder for the figures (default: next to the result)")  # fmt: skip
    plot.add_argument("--format", nargs="+", default=["png"], choices=["png", "pdf"],
                      help="figure formats")  # fmt: skip
    plot.add_argument("--k", type=int, help="checkpoint of the photon distribution and count "
                      "histograms (default: the last)")  # fmt: skip

    counts = command("counts", "counting statistics of a result: histograms with exact "
                     "distributions, Mandel Q, waiting times; with --scgf, the large "
                     "deviations of a model's counts")  # fmt: skip
    counts.add_argument("result", nargs="?", help="result file (.h5); with --scgf also a "
                        "run file (.toml), or nothing: the default model of "
                        "'micromaser run'")  # fmt: skip
    counts.set_defaults(usage_error=counts.error)
    add_scgf_arguments(counts)
    counts.add_argument("-o", "--output", metavar="FOLDER",
                        help="folder for the figures (default: next to the result; for a "
                        "run file or none, its output folder)")  # fmt: skip
    counts.add_argument("--format", nargs="+", default=["png"], choices=["png", "pdf"],
                        help="figure formats")  # fmt: skip
    counts.add_argument("--budget", type=float, default=COUNTS_BUDGET_SECONDS, metavar="SECONDS",
                        help="time for the exact distributions: the histograms are compared "
                        "at the latest checkpoint that fits")  # fmt: skip
    counts.add_argument("--efficiency", type=float, default=1.0, metavar="ETA",
                        help="detection efficiency in [0, 1] of every count: the qubits and "
                        "the bath photons are each detected with probability ETA")  # fmt: skip
    counts.add_argument("--misread", type=float, nargs=2, metavar=("EPS_E", "EPS_G"),
                        help="misread probabilities of a detected qubit, e as g and g as e, "
                        "each in [0, 1]; qubit counts only (default: 0 0)")  # fmt: skip
    counts.add_argument("--seed", type=int, metavar="S", help="seed of the detection draws "
                        "that thin the trajectories' counts (default: the run's seed; not "
                        "with --scgf)")  # fmt: skip
    counts.add_argument("-q", "--quiet", action="store_true",
                        help="no progress, warnings only (default: a bar on a terminal, "
                        "a line a minute in a log)")  # fmt: skip

    steady = command("steady", "steady (or quasi-stationary) state and the leading "
                     "relaxation times of each point of a run file")  # fmt: skip
    steady.add_argument("runfile", nargs="?",
                        help="run file (.toml) (default: the preset 'default')")  # fmt: skip
    steady.add_argument("--preset", choices=presets, metavar="NAME",
                        help="one of the paper's cases instead of a run file: "
                        + ", ".join(presets))  # fmt: skip
    steady.add_argument("--eigs", type=int, default=8, metavar="N", help="eigenvalues to compute")

    command("presets", "list the paper's cases available as --preset")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``micromaser`` command (console script and ``python -m``).

    Every user error ends in one line on stderr (no traceback) and exit status 2; a run
    that fails or stops ends in one line and status 1; a closed stdout (``| head``) ends
    quietly. ``micromaser COMMAND --help`` lists each option with its default.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 done, 1 run failed, 2 bad input, 130 interrupted.
    """
    args = _parser().parse_args(argv)
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="micromaser: %(message)s",
        stream=sys.stderr,
    )
    logging.captureWarnings(True)
    handler = {
        "run": _cmd_run,
        "show": _cmd_show,
        "plot": _cmd_plot,
        "counts": _cmd_counts,
        "steady": _cmd_steady,
        "presets": _cmd_presets,
    }
    try:
        return _run_handler(handler[args.command], args)
    except BrokenPipeError:
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """After the reader of stdout went away: send the rest (and the final flush) nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _run_handler(handler, args: argparse.Namespace) -> int:
    from .chunkstore import ChunkError
    from .runfile import RunFileError
    from .runner import RunError, RunStopped

    try:
        return handler(args)
    except BrokenPipeError:
        raise
    except (RunFileError, RunError, ValueError) as err:
        print(f"micromaser: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except (TruncationError, RunStopped, ChunkError) as err:
        what = "run failed" if isinstance(err, TruncationError) else "run stopped"
        print(f"micromaser: {what}: {err}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as err:  # a file the command reads or writes
        where = f" {err.filename}:" if getattr(err, "filename", None) else ""
        print(f"micromaser: error:{where} {err.strerror or err}", file=sys.stderr)
        return EXIT_INPUT


def _points(args: argparse.Namespace) -> list:
    from .presets import preset_points
    from .runfile import apply_overrides, load_run_file

    if args.source and args.preset:
        raise ValueError("give a run file or --preset, not both")
    if args.source:
        points = load_run_file(args.source)
    else:
        points = preset_points(args.preset or "default")
    return apply_overrides(
        points,
        trajectories=args.trajectories,
        collisions=args.collisions,
        jobs=args.jobs,
        seed=args.seed,
        backend=args.backend,
        folder=args.output,
        records=args.records,
    )


def _records_option(text: str) -> str | list[int]:
    """``--records``: ``all``, ``last``, ``none`` or comma-separated collision counts."""
    if text in ("all", "last", "none"):
        return text
    try:
        return [int(k) for k in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be all, last, none or comma-separated checkpoints, e.g. 0,100,200; got {text!r}"
        ) from None


def _dask_client(args: argparse.Namespace):
    """A dask Client for --scheduler ADDRESS or --cluster local:N (workers on loopback)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "--scheduler/--cluster need the dask extra: pip install 'micromaser-trajectories[dask]'"
        ) from None
    if args.scheduler and args.cluster:
        raise ValueError("give --scheduler or --cluster, not both")
    if args.scheduler:
        return Client(args.scheduler)
    kind, _, n = args.cluster.partition(":")
    if kind != "local" or not n.isdigit() or int(n) < 1:
        raise ValueError(f"--cluster must look like local:N with N >= 1, got {args.cluster!r}")
    cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)  # fmt: skip
    return Client(cluster)


def _cmd_run(args: argparse.Namespace) -> int:
    from . import runner

    signal.signal(signal.SIGTERM, _on_sigterm)
    if args.scheduler or args.cluster:
        client = _dask_client(args)  # noqa: F841  (kept alive for the run)
        args.backend = "dask"
        args.jobs = args.jobs or -1
    progress = not args.quiet
    points: list = []
    if args.resume:
        if not args.source:
            raise ValueError("--resume needs the result file (or its .chunks folder)")
        requests = None
        targets = [args.source]
    else:
        points = _points(args)
        requests = [runner.RunRequest.from_point(p) for p in points]
        if args.target_stderr is not None or args.timeout is not None:
            requests = [
                dataclasses.replace(r, target_stderr=args.target_stderr, timeout=args.timeout)
                for r in requests
            ]
        if args.skip_existing and not args.force:
            kept = [r for r in requests if not runner.is_complete(r)]
            for r in requests:
                if r not in kept:
                    log.info("skipping %s: %s is complete", r.name, runner.result_paths(
                        r.folder, r.name)["result"])  # fmt: skip
            requests = kept
        for req in requests:  # everything checked before any work starts
            runner.check_can_start(
                req, force=args.force, resume=False, skip_existing=args.skip_existing
            )
        targets = requests
    failed: list[tuple[str, str]] = []
    for i, target in enumerate(targets, 1):
        name = target if requests is None else target.name
        if len(targets) > 1:
            log.info("point %d of %d: %s", i, len(targets), name)
        try:
            if requests is None:
                record = runner.resume(target, progress=progress, n_jobs=args.jobs,
                                       backend=args.backend)  # fmt: skip
            else:
                record = runner.execute(target, force=args.force, progress=progress)
        except KeyboardInterrupt:
            st = runner.status(target if requests is None else Path(target.folder) / target.name)
            done = f"{st.get('done', 0)} of {st.get('n_chunks', '?')} chunks"
            result = runner.locate(target if requests is None else
                                   Path(target.folder) / target.name)[0]  # fmt: skip
            print(
                f"\nmicromaser: interrupted; {done} saved; finish with: "
                f"micromaser run {result} --resume",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        except _point_failures() as err:
            if len(targets) == 1:
                raise
            if not args.keep_going:
                left = len(targets) - i
                print(
                    f"micromaser: point {i} of {len(targets)} ({name}) failed: {err}; "
                    f"{left} later points did not run: rerun with --keep-going to run every "
                    f"point and --skip-existing to skip the finished ones",
                    file=sys.stderr,
                )
                return EXIT_FAILED
            log.warning("point %d of %d (%s) failed: %s", i, len(targets), name, err)
            failed.append((str(name), str(err)))
            continue
        _print_summary(record)
        print(f"wrote {record.path}")
    if any(p.sweep_values for p in points):  # one combined dataset (trajectories.runs.sweep)
        from .sweep import write_sweep

        combined = write_sweep(points)
        if combined is not None:
            print(f"wrote {combined}")
    if failed:
        print(f"micromaser: {len(failed)} of {len(targets)} points failed:", file=sys.stderr)
        for name, why in failed:
            print(f"  {name}: {why}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _print_summary(record, rows: int = 6) -> None:
    ens, ex = record.ensemble, record.exact
    if _is_network(record.model):
        from .show_tables import network_summary

        print(network_summary(ens, ex))
        return
    if ens is None:
        return
    print(ens)
    if ex is not None:
        from ..statistics.compare import compare

        cmp = compare(ens, ex)
        z = ", ".join(f"{k} {v:.2f}" for k, v in cmp.max_abs_z.items())
        print(f"max |z| against the exact solver: {z}")


def _say(text: str, indent: str = "  ") -> None:
    """Print ``text`` wrapped at :data:`WIDTH` columns (long words such as paths kept whole)."""
    print(textwrap.fill(text, WIDTH, subsequent_indent=indent, break_long_words=False,
                        break_on_hyphens=False))  # fmt: skip


def _cmd_show(args: argparse.Namespace) -> int:
    from . import io, runner
    from .show_tables import _books_text, _stage_table, _table

    if Path(args.result).is_file() and not args.result.endswith(".chunks"):
        io.check_result_file(args.result)  # a named file must be a result: say why not
    st = runner.status(args.result)
    if st["status"] == "missing":
        result, chunks = runner.locate(args.result)
        raise ValueError(f"{result}: no such file (and no interrupted run in {chunks.name})")
    if st["status"] == "incomplete":
        req = st["request"]
        _say(f"status: incomplete ({st['done']} of {st['n_chunks']} chunks saved in "
             f"{st['chunks']}); finish with: micromaser run {args.result} --resume")  # fmt: skip
        _say(f"model: {_model_text(req.model)}")
        _say(f"run: {req.n_trajectories} trajectories x {req.n_collisions} collisions, "
             f"seed {req.seed}, chunks of {req.chunk_size}")  # fmt: skip
        return 0
    rec = io.load(st["result"])
    meta = rec.metadata
    _say(f"file: {rec.path}")
    if _is_network(rec.model):
        return _show_network(rec, args.rows)

    def known(key: str) -> str:
        value = meta.get(key)
        return "unknown" if value in (None, "") else str(value)

    _say(f"status: {known('status')}; version {known('version')}")
    _say(f"started {known('started')}; finished {known('finished')}")
    _say(f"model: {_model_text(rec.model)}")
    ens, ex = rec.ensemble, rec.exact
    if ens is not None:
        _say(f"run: {ens.n_trajectories} trajectories in {ens.n_chunks} chunks of "
             f"{ens.chunk_size}, seed {ens.seed}, {ens.sampler} jump times; leaked trajectories "
             f"{ens.leaked_trajectories}, expected leakage {ens.leakage[-1]:.2e}")  # fmt: skip
    if rec.protocol is not None:
        print(_stage_table(rec.protocol, ens, ex))
    print(_table(ens, ex, args.rows))
    books = _books_text(ens, ex)
    if books:
        print(books)
    return 0


def _is_network(model) -> bool:
    return hasattr(model, "topology")


def _show_network(rec, rows: int) -> int:
    """``micromaser show`` of a network's result file (after its ``file:`` line)."""
    from .show_tables import network_tables

    meta, ens, ex = rec.metadata, rec.ensemble, rec.exact
    _say(f"status: {meta.get('status') or 'unknown'}; version {meta.get('version') or 'unknown'}")
    _say(f"started {meta.get('started') or 'unknown'}; finished "
         f"{meta.get('finished') or 'unknown'}")  # fmt: skip
    _say(f"model: {_model_text(rec.model)}")
    if ex is not None:
        _say(f"exact: {ex.k.size} checkpoints, leakage through the cutoffs "
             f"{ex.leakage[-1]:.2e}, {ex.setup_seconds + ex.run_seconds:.3g} s")  # fmt: skip
    if ens is not None:
        wall = getattr(ens, "wall_seconds", float("nan"))
        _say(f"run: {ens.n_trajectories} trajectories in chunks of {ens.chunk_size}, seed "
             f"{ens.seed}, {getattr(ens, 'sampler', '?')} jump times; expected leakage "
             f"{ens.leakage[-1]:.2e}, {wall:.3g} s")  # fmt: skip
    print(network_tables(ens, ex, rows))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from .. import plot
    from . import io
    from .runner import make_plots

    rec = io.load(args.result)
    folder = Path(args.output) if args.output else rec.path.parent
    stem = rec.path.stem
    formats = tuple(args.format)
    # NAME-observables.* as `micromaser run` writes it; NAME-photons.*, NAME-records.*
    written = make_plots(rec.ensemble, rec.exact, str(folder), stem, formats)
    if _is_network(rec.model):  # one figure: the observables of the pair
        for p in written:
            print(f"wrote {p}")
        return 0
    main_result = rec.ensemble if rec.ensemble is not None else rec.exact
    overlay = rec.exact if rec.ensemble is not None else None
    figs = {"photons": lambda: plot.photon_distribution(main_result, exact=overlay, k=args.k)}
    if rec.ensemble is not None:
        figs["records"] = lambda: plot.count_histograms(rec.ensemble, k=args.k)
    for what, make in figs.items():
        fig = make()
        for fmt in formats:
            path = folder / f"{stem}-{what}.{fmt}"
            plot.save(fig, path)
            written.append(path)
        plot.close(fig)
    for p in written:
        print(f"wrote {p}")
    return 0


def _cmd_counts(args: argparse.Namespace) -> int:
    misread = (0.0, 0.0) if args.misread is None else tuple(args.misread)
    if args.scgf:
        return _cmd_scgf(args, misread)
    if args.result is None:
        args.usage_error("the following arguments are required: result")
    given = [o for o, v in (("--count", args.count), ("--s-range", args.s_range),
                            ("--s-points", args.s_points)) if v is not None]  # fmt: skip
    if given:
        raise ValueError(f"{', '.join(given)} {'need' if len(given) > 1 else 'needs'} --scgf")
    counts_command(args.result, args.output, tuple(args.format), progress=not args.quiet,
                   budget_seconds=args.budget, efficiency=args.efficiency, misread=misread,
                   seed=args.seed)  # fmt: skip
    return 0


def _cmd_scgf(args: argparse.Namespace, misread: tuple[float, float]) -> int:
    from .scgf_command import S_POINTS, S_RANGE, scgf_command

    if args.seed is not None:
        raise ValueError("--seed thins the trajectories' counts; --scgf draws nothing")
    scgf_command(args.result, args.output, tuple(args.format), counts=args.count or ("g",),
                 s_range=S_RANGE if args.s_range is None else args.s_range,
                 s_points=S_POINTS if args.s_points is None else args.s_points,
                 efficiency=args.efficiency, misread=misread,
                 progress=not args.quiet)  # fmt: skip
    return 0


def _cmd_steady(args: argparse.Namespace) -> int:
    from .presets import preset_points
    from .runfile import load_run_file

    if args.runfile and args.preset:
        raise ValueError("give a run file or --preset, not both")
    points = (
        load_run_file(args.runfile) if args.runfile else preset_points(args.preset or "default")
    )
    return steady_command(points, n_eigs=args.eigs)


def _cmd_presets(args: argparse.Namespace) -> int:
    from .presets import describe_presets

    print(describe_presets())
    return 0


def steady_command(
    points: Sequence | Iterable,
    *,
    n_eigs: int = 8,
    file: TextIO | None = None,
) -> int:
    """Print steady (or quasi-stationary) observables and leading relaxation times.

    What ``micromaser steady RUNFILE`` does. For each point prints the fixed point's energy,
    purity, ergotropy, Fano factor, the residual, whether it is metastable, the
    quasi-stationary state from the vacuum with its lifetime (when slow modes cluster near
    1), and the leading eigenvalues with relaxation times in collisions
    (:func:`trajectories.solvers.spectral.steady_state`, ``docs/MODEL.md``). For a network
    of two cavities: the fixed point's energies, purity, ergotropies, log negativity and
    mutual information, and the slowest relaxation time, in versions whose
    ``steady_state`` takes a network. A point the solver refuses is reported with the
    reason.

    Parameters
    ----------
    points : iterable of RunPoint
        The parameter points (``.name``, ``.model``), e.g. from
        :func:`trajectories.runs.runfile.load_run_file`.
    n_eigs : int, optional
        Eigenvalues of the one-step channel to compute (default 8).
    file : text stream, optional
        Where to print; default ``sys.stdout``.

    Returns
    -------
    int
        The exit status: 0 when every point was solved, 1 when any was refused.
    """
    from ..solvers.spectral import SteadyStateError, quasi_stationary, steady_state

    out = sys.stdout if file is None else file
    status = 0
    for point in points:
        model = point.model
        print(f"== {point.name}: {_model_text(model)}", file=out)
        if _is_network(model):
            status = max(status, _network_steady(model, out))
            continue
        t0 = time.perf_counter()
        try:
            ss = steady_state(model, n_eigs=n_eigs)
        except SteadyStateError as err:
            status = 1
            print(f"   refused: {err}", file=out)
            try:
                qs = quasi_stationary(model, n_eigs=n_eigs)
                print(
                    f"   state reached from vacuum (quasi-stationary): energy {qs.energy:.10g}, "
                    f"purity {qs.purity:.10g}, ergotropy {qs.ergotropy:.10g}",
                    file=out,
                )
            except (SteadyStateError, ValueError):
                pass
            continue
        label = "fixed point" if ss.unique else "limit from vacuum (eigenvalue 1 degenerate)"
        print(
            f"   {label}: energy {ss.energy:.10g}, purity {ss.purity:.10g}, "
            f"ergotropy {ss.ergotropy:.10g}, Fano {ss.fano:.6g}, residual {ss.residual:.2e}",
            file=out,
        )
        if ss.metastable:
            qs = ss.quasi_stationary
            print(
                f"   METASTABLE: slow rates {', '.join(f'{r:.4g}' for r in ss.slow_rates)} "
                f"per collision; fixed point energy known to +- {ss.energy_error:.2g}",
                file=out,
            )
            print(
                f"   quasi-stationary from vacuum: energy {qs.energy:.10g}, purity "
                f"{qs.purity:.10g}, ergotropy {qs.ergotropy:.10g}, lifetime {qs.lifetime:.4g} "
                f"collisions",
                file=out,
            )
        spec = ss.spectrum
        print(
            "   leading eigenvalues of T (relaxation time -1/ln|lambda| in collisions):", file=out
        )
        tau = spec.relaxation_collisions
        for i, lam in enumerate(spec.eigenvalues):
            tag = ""
            if spec.stationary[i]:
                tag = "  stationary"
            elif spec.peripheral[i]:
                tag = "  peripheral (|lambda| = 1)"
            sec = "" if spec.sectors is None else f"  sector d={spec.sectors[i]:+d}"
            print(
                f"     {lam.real:+.15f} {lam.imag:+.3e}j   1-|lambda| = {spec.rates[i]:.4e}"
                f"   tau = {tau[i]:.6g}{sec}{tag}",
                file=out,
            )
        print(f"   ({time.perf_counter() - t0:.2f} s)", file=out)
    return status


def _network_steady(net, out: TextIO) -> int:
    """One network point of ``micromaser steady``: its fixed point, or why not (status)."""
    from ..solvers.spectral import SteadyStateError, steady_state

    t0 = time.perf_counter()
    try:
        ss = steady_state(net)
        o = ss.observables
    except (SteadyStateError, ValueError, AttributeError) as err:
        print(f"   refused: {err}", file=out)
        return 1
    (ea, eb), (la, lb) = o["energy"], o["local_ergotropy"]
    text = (f"   fixed point: energy A {ea:.10g}, B {eb:.10g}; purity {o['purity']:.10g}; "
            f"ergotropy {o['ergotropy']:.10g} (local {la:.6g} + {lb:.6g}, collective "
            f"{o['collective_ergotropy']:.6g}); log negativity {o['log_negativity']:.6g}; "
            f"mutual information {o['mutual_information']:.6g}; residual "
            f"{ss.residual:.2e}")  # fmt: skip
    print(textwrap.fill(text, WIDTH, subsequent_indent=" " * 5), file=out)
    print(f"   slowest relaxation: {ss.relaxation_collisions:.6g} collisions "
          f"({time.perf_counter() - t0:.2f} s)", file=out)  # fmt: skip
    return 0


def counts_command(
    path: str | os.PathLike,
    output_folder: str | os.PathLike | None = None,
    formats: Sequence[str] = ("png",),
    *,
    progress: ProgressArg = None,
    **options: Any,
) -> list[Path]:
    """What ``micromaser counts RESULT.h5`` does: counting figures and a summary table.

    Reads the result file with :func:`trajectories.load`, writes the figures of
    :func:`trajectories.plot.counting.make_figures` next to it (or into ``output_folder``),
    prints the summary table (at most 80 columns, with a sentence for each quantity it could
    not compute and why) and one ``wrote PATH`` line per file.

    Parameters
    ----------
    path : str or path-like
        The result file (``.h5``) of a run.
    output_folder : str or path-like, optional
        Folder of the figures; default the folder of the result file.
    formats : sequence of str, optional
        Figure formats, default ``("png",)``.
    progress : None, bool or callable, optional
        Progress over the exact moments and distributions (:mod:`trajectories.progress`):
        ``None`` (default) a bar when a person watches, ``True`` always (the command line,
        unless ``--quiet``), ``False`` never, or a hook ``progress(done, total)``.
    **options
        Passed to ``make_figures``: ``counts``, ``exact``, ``k``, ``budget_seconds``, and
        the detection ``efficiency``, ``misread`` and ``seed`` (checked before the file is
        read).

    Returns
    -------
    list of pathlib.Path
        The figure files written.

    Raises
    ------
    ValueError
        When the file holds no trajectory ensemble, or the detection parameters are out of
        range (one line naming the parameter).
    """
    from ..channels.tilted import Detection
    from ..plot.counting import make_figures
    from . import io

    Detection(options.get("efficiency", 1.0), options.get("misread", (0.0, 0.0)))

    rec = io.load(path)
    if _is_network(rec.model):
        raise ValueError(f"{path} holds a network of two cavities: counting statistics are "
                         "for one cavity ('micromaser show' and 'plot' read it)")  # fmt: skip
    if rec.ensemble is None:
        raise ValueError(f"{path} holds no trajectory ensemble: nothing to count")
    folder = Path(output_folder) if output_folder is not None else rec.path.parent
    written, table = make_figures(rec.ensemble, folder, rec.path.stem, formats,
                                  progress=progress, **options)  # fmt: skip
    print(table)
    for p in written:
        print(f"wrote {p}")
    return written


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
