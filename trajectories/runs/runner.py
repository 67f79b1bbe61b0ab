"""Running one parameter point end to end: exact solution, trajectories, result file, plots.

A :class:`RunRequest` holds everything a run needs as plain values (its seed and
chunk size resolved), so it can be written to a chunk directory's manifest and an
interrupted run can be resumed from the manifest alone. :func:`execute` refuses to
overwrite results (unless ``force``) or to write a result another run is writing (a
lock file), checks that the output folder is writable before computing, solves exactly
first (a truncation error stops the run before the Monte Carlo work and leaves
nothing behind), saves every finished chunk, writes the result file atomically,
removes the chunk directory and draws the plots.

What each failure leaves: a failure that a resume would only repeat (truncation found
by the trajectories, a rejected value) removes the chunk directory; an interruption
keeps it for ``--resume``; a failed write (full disk, unwritable folder) raises
:class:`RunStopped`, keeps every finished chunk, and names the command that finishes
the run once the cause is mended.

A network of two cavities (a ``[network]`` run file) runs the same way, without a chunk
directory: the exact solution at the run's checkpoints, then (unless ``exact = "only"``) the
trajectories in one call of :func:`~trajectories.simulate`, then the result file
(:mod:`trajectories.runs.network_io`) and its figure. It cannot be resumed, and stops on
neither a target error nor a time limit.

After the points of a sweep, ``micromaser run`` combines their result files into one
dataset with the sweep parameters as dimensions (:func:`trajectories.runs.sweep.write_sweep`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import TruncationError
from ..model.micromaser import Micromaser
from ..model.network import Network
from ..model.protocol import Protocol
from ..solvers.exact import solve_exact
from ..solvers.montecarlo.options import DEFAULTS, TrajectoryOptions, default_chunk_size
from ..solvers.montecarlo.simulate import simulate
from . import io
from .chunkstore import ChunkDirectory
from .records import read_records
from .runlock import LockedError, RunLock

__all__ = [
    "RunRequest",
    "RunError",
    "RunStopped",
    "execute",
    "is_complete",
    "resume",
    "result_paths",
    "status",
]

log = logging.getLogger("trajectories")


class RunError(RuntimeError):
    """A run cannot start or continue as asked (files in the way, nothing to resume).

    Attributes
    ----------
    args : tuple of str
        ``(message,)``: what is in the way and the option or command that mends it.
    """


class RunStopped(RuntimeError):
    """A run stopped before finishing for a reason that a resume can mend.

    For example a full disk or an unwritable folder: its finished chunks are kept;
    ``--resume`` completes it.

    Attributes
    ----------
    args : tuple of str
        ``(message,)``: what failed, how many chunks are kept, and the command that finishes
        the run.
    """


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """One parameter point with every setting resolved (seed and chunk size included).

    Attributes
    ----------
    name : str
        The file stem of the point's outputs.
    folder : str
        The output folder.
    model : Micromaser or Network
        The model (a protocol's first stage's model), or a network of two cavities.
    n_collisions : int
        Collisions per trajectory (a protocol's total).
    n_trajectories : int
        Trajectories (the most, with ``target_stderr`` or ``timeout``).
    seed : int
        The root seed (drawn once if the run file gives none).
    chunk_size : int
        Trajectories per chunk.
    checkpoints : tuple of int
        Collision counts at which to record.
    rho_checkpoints : str or tuple of int
        ``"all"``, ``"last"``, ``"none"`` or the checkpoints at which to keep rho.
    n_jobs : int
        Workers (-1: all cores).
    backend : str
        The joblib backend.
    max_jumps : int
        Capacity of each trajectory's jump log.
    leakage_tol : float
        Largest population allowed through the cutoff.
    exact : bool or "only"
        Solve exactly first (and store the exact solution); ``"only"``: no trajectories.
    plots : tuple of str
        Plot formats to draw.
    sweep_values : dict of str
        The point's values of the swept keys (``{}`` without a sweep).
    target_stderr : float or None
        Stop once the energy's standard error is below this (None: run every trajectory).
    timeout : float or None
        Stop after this many seconds (None: no limit).
    protocol : Protocol or None
        The protocol to run (None: the single ``model``).
    records : str, tuple of int or None
        ``"all"``, ``"last"``, ``"none"`` or the checkpoints at which the per-trajectory
        records are kept (None: the solver's default, :func:`~trajectories.simulate`).
        Streamed to the result file as chunks finish; part of the run's identity.
    """

    name: str
    folder: str
    model: Micromaser | Network
    n_collisions: int
    n_trajectories: int
    seed: int
    chunk_size: int
    checkpoints: tuple[int, ...]
    rho_checkpoints: str | tuple[int, ...] = DEFAULTS.rho_checkpoints
    n_jobs: int = DEFAULTS.n_jobs
    backend: str = DEFAULTS.backend
    max_jumps: int = DEFAULTS.max_jumps
    leakage_tol: float = DEFAULTS.leakage_tol
    exact: bool | str = True
    plots: tuple[str, ...] = ("png",)
    sweep_values: dict[str, Any] = dataclasses.field(default_factory=dict)
    target_stderr: float | None = None
    timeout: float | None = None
    protocol: Protocol | None = None
    records: str | tuple[int, ...] | None = None

    @classmethod
    def from_point(cls, point: Any) -> RunRequest:
        """The request of one run-file point, drawing a seed if it has none.

        Parameters
        ----------
        point : RunPoint
            A :class:`~trajectories.runs.settings.RunPoint`.

        Returns
        -------
        RunRequest
            The point with its seed and chunk size resolved.
        """
        run = point.run
        seed = run.seed if run.seed is not None else int(np.random.SeedSequence().entropy)
        chunk = run.chunk_size or default_chunk_size(run.trajectories)
        rho = run.rho_checkpoints
        records = getattr(run, "records", None)
        return cls(
            name=point.name,
            folder=point.output.folder,
            model=point.model,
            n_collisions=run.collisions,
            n_trajectories=run.trajectories,
            seed=int(seed),
            chunk_size=int(chunk),
            checkpoints=tuple(int(k) for k in run.checkpoints),
            rho_checkpoints=rho if isinstance(rho, str) else tuple(int(k) for k in rho),
            n_jobs=run.jobs,
            backend=run.backend,
            max_jumps=run.max_jumps,
            leakage_tol=run.leakage_tol,
            exact=run.exact,
            plots=tuple(point.output.plots),
            sweep_values=dict(point.sweep_values),
            protocol=getattr(point, "protocol", None),
            records=records if records is None or isinstance(records, str)
            else tuple(int(k) for k in records),
        )  # fmt: skip

    def options(self) -> TrajectoryOptions:
        """The settings as the trajectory solver takes them.

        Returns
        -------
        TrajectoryOptions
            :class:`~trajectories.solvers.montecarlo.options.TrajectoryOptions` of this
            request.
        """
        return TrajectoryOptions(
            n_jobs=self.n_jobs,
            backend=self.backend,
            chunk_size=self.chunk_size,
            checkpoints=list(self.checkpoints),
            rho_checkpoints=self.rho_checkpoints
            if isinstance(self.rho_checkpoints, str)
            else list(self.rho_checkpoints),
            max_jumps=self.max_jumps,
            leakage_tol=self.leakage_tol,
            target_stderr=self.target_stderr,
            timeout=self.timeout,
            records=self.records if self.records is None or isinstance(self.records, str)
            else list(self.records),
        )  # fmt: skip

    def to_manifest(self) -> dict[str, Any]:
        """The request as JSON-serialisable values (a chunk directory's manifest).

        Returns
        -------
        dict of str
            Every field, the model as :meth:`Micromaser.to_dict
            <trajectories.model.micromaser.Micromaser.to_dict>`, tuples as lists, a
            complex sweep value as ``{"re": .., "im": ..}``.
        """
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        d["protocol"] = None if self.protocol is None else self.protocol.to_dict()
        d["rho_checkpoints"] = (
            self.rho_checkpoints
            if isinstance(self.rho_checkpoints, str)
            else list(self.rho_checkpoints)
        )
        d["checkpoints"] = list(self.checkpoints)
        if self.records is not None and not isinstance(self.records, str):
            d["records"] = list(self.records)
        d["plots"] = list(self.plots)
        d["sweep_values"] = {k: _plain(v) for k, v in self.sweep_values.items()}
        d["leakage_tol"] = float(self.leakage_tol)
        return d

    @classmethod
    def from_manifest(cls, d: dict[str, Any]) -> RunRequest:
        """Inverse of :meth:`to_manifest` (unknown keys are ignored).

        Parameters
        ----------
        d : dict of str
            A manifest's ``request``.

        Returns
        -------
        RunRequest
            The request.
        """
        d = dict(d)
        d["model"] = io.model_from_dict(d["model"])
        if d.get("protocol") is not None:
            d["protocol"] = io.protocol_from_dict(d["protocol"])
        d["checkpoints"] = tuple(d["checkpoints"])
        if not isinstance(d["rho_checkpoints"], str):
            d["rho_checkpoints"] = tuple(d["rho_checkpoints"])
        if isinstance(d.get("records"), list):
            d["records"] = tuple(d["records"])
        d["plots"] = tuple(d["plots"])
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in fields})


def _plain(value: Any) -> Any:
    """A sweep value as JSON: ``{"re": .., "im": ..}`` for a complex ``c``, a list for a pair."""
    if isinstance(value, complex):
        return {"re": value.real, "im": value.imag}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def result_paths(folder: str | os.PathLike, name: str) -> dict[str, Path]:
    """Where a run's files go: the result, its chunk directory, and its plots.

    Parameters
    ----------
    folder : str or path-like
        The output folder.
    name : str
        The run's file stem.

    Returns
    -------
    dict of str to pathlib.Path
        ``result`` (``NAME.h5``), ``chunks`` (``NAME.chunks``), ``lock`` (``NAME.lock``),
        ``png`` and ``pdf``.
    """
    base = Path(folder) / name
    return {
        "result": base.with_name(name + ".h5"),
        "chunks": base.with_name(name + ".chunks"),
        "lock": base.with_name(name + ".lock"),
        "png": base.with_name(name + ".png"),
        "pdf": base.with_name(name + ".pdf"),
    }


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise RunError(f"output folder {folder} is not writable: {err.strerror or err}") from None


def check_can_start(
    req: RunRequest, *, force: bool, resume: bool, skip_existing: bool = False
) -> None:
    """Fail before any work if files are in the way, another run writes the same result,
    or the folder is not writable."""
    paths = result_paths(req.folder, req.name)
    if isinstance(req.model, Network):
        _check_network_request(req)
    if paths["result"].exists() and not force:
        also = "" if skip_existing else " (in a sweep, --skip-existing skips finished points)"
        raise RunError(f"{paths['result']} exists; use --force to overwrite it{also}")
    if paths["chunks"].exists() and not (force or resume):
        raise RunError(
            f"an interrupted run is in {paths['chunks']}; finish it with "
            f"'micromaser run {paths['result']} --resume' or start over with --force"
        )
    try:
        RunLock(paths["lock"], str(paths["result"])).check()
    except LockedError as err:
        raise RunError(str(err)) from None
    _check_writable(Path(req.folder))


def _check_network_request(req: RunRequest) -> None:
    """What a network run cannot do, refused before any work."""
    stops = [o for o, v in (("--target-stderr", req.target_stderr), ("--timeout", req.timeout))
             if v is not None]  # fmt: skip
    if stops:
        raise RunError(f"{' and '.join(stops)} cannot stop a network run: it runs every "
                       "trajectory in one call")  # fmt: skip


def execute(
    req: RunRequest, *, force: bool = False, resume: bool = False, progress: bool = True
) -> io.RunRecord:
    """Run one point to a result file (see the module docstring).

    Failure paths: a failure that a resume would only repeat (truncation, a value the
    solvers reject) removes the chunk directory, so the corrected run starts without
    ``--force``; an interruption (Ctrl-C, SIGTERM, SIGKILL, a crashed worker) keeps it; a
    write that fails (full disk, unwritable folder) raises :class:`RunStopped` and keeps
    every finished chunk for ``--resume``. One writer per result: a lock file
    (:class:`~trajectories.runs.runlock.RunLock`) is held while the run writes.

    Parameters
    ----------
    req : RunRequest
        The point.
    force : bool, optional
        Overwrite an existing result and start over from any chunk directory.
    resume : bool, optional
        Continue from the chunk directory (only the missing chunks run).
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    RunRecord
        What the result file holds, with its path.

    Raises
    ------
    RunError
        When files are in the way, another run holds the lock, or the folder is not
        writable.
    RunStopped
        When a write fails (its finished chunks are kept for ``--resume``).
    TruncationError
        When the population leaving through the cutoff exceeds ``leakage_tol``.
    """
    check_can_start(req, force=force, resume=resume)
    paths = result_paths(req.folder, req.name)
    try:
        lock = RunLock(paths["lock"], str(paths["result"]))
        lock.acquire()
    except LockedError as err:
        raise RunError(str(err)) from None
    except OSError as err:
        raise RunStopped(f"cannot write {paths['lock']}: {err.strerror or err}") from None
    try:
        if isinstance(req.model, Network):
            return _execute_network(req, paths, progress=progress)
        return _execute_locked(req, paths, force=force, resume=resume, progress=progress)
    finally:
        lock.release()


def _execute_locked(
    req: RunRequest, paths: dict[str, Path], *, force: bool, resume: bool, progress: bool
) -> io.RunRecord:
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    store = ChunkDirectory(paths["chunks"])
    if store.path.exists() and not resume:
        shutil.rmtree(store.path)  # --force: start over
    resuming = store.exists()
    if resuming:
        if _identity(store.manifest["request"]) != _identity(_jsonable(req.to_manifest())):
            raise RunError(f"{store.path} belongs to a run with other settings; use --force")
        started = store.manifest.get("started", started)
        log.info("resuming %s", req.name)
    exact = ens = None
    target = req.protocol if req.protocol is not None else req.model
    try:
        if req.exact:  # before any chunk directory exists: a truncation leaves nothing
            exact = solve_exact(target, req.n_collisions, leakage_tol=req.leakage_tol)
        if req.exact != "only":
            if not resuming:
                store = ChunkDirectory.create(
                    paths["chunks"],
                    {"request": req.to_manifest(), "started": started, "version": __version__},
                )
            with warnings.catch_warnings():
                warnings.simplefilter("once")
                ens = simulate(
                    target,
                    n_collisions=req.n_collisions,
                    n_trajectories=req.n_trajectories,
                    seed=req.seed,
                    progress=progress,
                    store=store,
                    **dataclasses.asdict(req.options()),
                )
    except (TruncationError, ValueError):
        store.remove()  # deterministic: a resume would only repeat it
        raise
    except OSError as err:
        raise RunStopped(_stopped(err, store, paths["result"])) from None
    finally:
        store.close()  # the streamed records' file, kept for the result or a resume
    finished = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    metadata = {"request": req.to_manifest(), "started": started, "finished": finished}
    streamed = store.records_file if ens is not None and ens.per_trajectory is not None else None
    try:  # streamed records: the rest of the result is written into their file
        io.save(paths["result"], ensemble=ens, exact=exact, metadata=metadata, into=streamed)
    except OSError as err:
        raise RunStopped(_stopped(err, store, paths["result"])) from None
    store.remove()
    if streamed is not None:  # the views of the streamed file, now the result's records
        per = read_records(paths["result"], limit=io.LAZY_RECORD_BYTES)
        ens = dataclasses.replace(ens, per_trajectory=per)
    try:
        make_plots(ens, exact, req.folder, req.name, req.plots)
    except OSError as err:
        raise RunStopped(
            f"wrote {paths['result']} but not its plot ({err.strerror or err}); draw it with "
            f"'micromaser plot {paths['result']}'"
        ) from None
    return io.RunRecord(paths["result"], req.model, ens, exact, metadata, req.protocol)


def _execute_network(req: RunRequest, paths: dict[str, Path], *, progress: bool) -> io.RunRecord:
    """A network's run: exact solution, trajectories, result file, figure (no chunks)."""
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if paths["chunks"].exists():  # --force over an interrupted single-cavity run's chunks
        shutil.rmtree(paths["chunks"])
    net, ks = req.model, list(req.checkpoints)
    exact = ens = None
    if req.exact:
        exact = solve_exact(net, req.n_collisions, checkpoints=ks, leakage_tol=req.leakage_tol)
    if req.exact != "only":
        with warnings.catch_warnings():
            warnings.simplefilter("once")
            ens = simulate(
                net, req.n_collisions, req.n_trajectories, seed=req.seed, n_jobs=req.n_jobs,
                backend=req.backend, chunk_size=req.chunk_size, checkpoints=ks,
                rho_checkpoints=req.rho_checkpoints if isinstance(req.rho_checkpoints, str)
                else list(req.rho_checkpoints),
                leakage_tol=req.leakage_tol, progress=progress,
            )  # fmt: skip
    finished = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    metadata = {"request": req.to_manifest(), "started": started, "finished": finished,
                "kind": "network"}  # fmt: skip
    try:
        io.save(paths["result"], ensemble=ens, exact=exact, metadata=metadata)
    except OSError as err:
        raise RunStopped(
            f"could not write {paths['result']}: {err.strerror or err}; "
            "nothing is kept: make room (or fix the folder), run again"
        ) from None
    try:
        make_plots(ens, exact, req.folder, req.name, req.plots)
    except OSError as err:
        raise RunStopped(
            f"wrote {paths['result']} but not its plot ({err.strerror or err}); draw it with "
            f"'micromaser plot {paths['result']}'"
        ) from None
    return io.RunRecord(paths["result"], net, ens, exact, metadata)


def _stopped(err: OSError, store: ChunkDirectory, result: Path) -> str:
    """One line for a write that failed: what, why, what is kept, how to finish."""
    where = f" ({err.filename})" if getattr(err, "filename", None) else ""
    kept = store.saved_chunks() + len(store.completed()) if store.exists() else 0
    return (
        f"could not write{where}: {err.strerror or err}; {kept} finished chunks are kept; "
        f"make room (or fix the folder) and finish with: micromaser run {result} --resume"
    )


#: settings that do not change the numbers of a run (free to differ on resume)
_NOT_IDENTITY = ("n_jobs", "backend", "plots", "timeout")


def _identity(request: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in request.items() if k not in _NOT_IDENTITY}
    out.setdefault("records", None)  # manifests of earlier versions: the default
    return out


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(d))


def make_plots(ens, exact, folder: str, name: str, formats: tuple[str, ...]) -> list[Path]:
    """The figures of a run: ``FOLDER/NAME-observables.FORMAT`` and ``NAME-books.FORMAT``.

    The observables: trajectories with error bars and the exact solution overlaid (or the
    exact solution alone), stage boundaries marked for a protocol. The energy books
    (:func:`trajectories.plot.energy_books`), when the exact solution or the ensemble
    keeps them. ``micromaser plot`` writes these figures through here too, under the
    same names.

    Parameters
    ----------
    ens : EnsembleResult, NetworkEnsemble or None
        The trajectories' result.
    exact : ExactResult, NetworkExactResult or None
        The exact solution (a network's: one figure,
        :func:`trajectories.plot.network_observables`).
    folder : str
        The output folder.
    name : str
        The run's file stem.
    formats : tuple of str
        Figure formats (``"png"``, ``"pdf"``).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from .. import plot

    if plot.is_network(ens if ens is not None else exact):  # one figure: plot.network
        fig = plot.network_observables(ens if ens is not None else exact,
                                       exact=exact if ens is not None else None)  # fmt: skip
        out = [Path(folder) / f"{name}-observables.{fmt}" for fmt in formats]
        for path in out:
            plot.save(fig, path)
        plot.close(fig)
        return out
    fig = plot.observables(ens if ens is not None else exact,
                           exact=exact if ens is not None else None)  # fmt: skip
    out = [Path(folder) / f"{name}-observables.{fmt}" for fmt in formats]
    for path in out:
        plot.save(fig, path)
    plot.close(fig)
    if plot.has_books(ens) or plot.has_books(exact):
        fig = plot.energy_books(ens if ens is not None else exact,
                                exact=exact if ens is not None else None)  # fmt: skip
        books = [Path(folder) / f"{name}-books.{fmt}" for fmt in formats]
        for path in books:
            plot.save(fig, path)
        plot.close(fig)
        out += books
    return out


def is_complete(req: RunRequest) -> bool:
    """Whether the point's result file exists and reads as a complete result.

    Parameters
    ----------
    req : RunRequest
        The point.

    Returns
    -------
    bool
        True when ``NAME.h5`` is a complete result file of this package.
    """
    result = result_paths(req.folder, req.name)["result"]
    if not result.is_file():
        return False
    try:
        import h5py

        with h5py.File(result, "r") as f:
            return f.attrs.get("format") == io.FORMAT and f.attrs.get("status") == "complete"
    except OSError:
        return False


def locate(path: str | os.PathLike) -> tuple[Path, Path]:
    """(result file, chunk directory) for a path naming either."""
    p = Path(path)
    if p.suffix == ".chunks" or p.name.endswith(".chunks"):
        return p.with_name(p.name.removesuffix(".chunks") + ".h5"), p
    if p.suffix == ".h5":
        return p, p.with_name(p.stem + ".chunks")
    return p.with_name(p.name + ".h5"), p.with_name(p.name + ".chunks")


def resume(
    path: str | os.PathLike,
    *,
    progress: bool = True,
    n_jobs: int | None = None,
    backend: str | None = None,
) -> io.RunRecord:
    """Finish an interrupted run from its chunk directory (only the missing chunks run).

    Parameters
    ----------
    path : str or path-like
        The result file or its chunk directory.
    progress : bool, optional
        Show a progress bar.
    n_jobs : int, optional
        Workers (default: the interrupted run's).
    backend : str, optional
        The joblib backend (default: the interrupted run's).

    Returns
    -------
    RunRecord
        The completed result.

    Raises
    ------
    RunError
        When the run is already complete or there is nothing to resume.
    ResultFileError
        When the chunk directory's manifest is damaged.
    """
    result, chunks = locate(path)
    store = ChunkDirectory(chunks)
    if not store.exists():
        if result.exists():
            raise RunError(f"{result} is already complete; nothing to resume")
        raise RunError(f"nothing to resume: no interrupted run at {chunks}")
    req = _request_of(store)
    changes: dict[str, Any] = {}
    if n_jobs is not None:
        changes["n_jobs"] = n_jobs
    if backend is not None:
        changes["backend"] = backend
    return execute(dataclasses.replace(req, **changes), resume=True, progress=progress)


def _request_of(store: ChunkDirectory) -> RunRequest:
    """The request in an interrupted run's manifest (one-line error if it is damaged)."""
    try:
        return RunRequest.from_manifest(store.manifest["request"])
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, io.ResultFileError):
            raise
        raise io.ResultFileError(
            f"{store.path / store.MANIFEST}: damaged manifest ({err}); start over with --force"
        ) from None


def status(path: str | os.PathLike) -> dict[str, Any]:
    """Status of a run: complete (result file), incomplete (chunks saved), or missing.

    Parameters
    ----------
    path : str or path-like
        The result file or its chunk directory.

    Returns
    -------
    dict of str
        ``status`` (``"complete"``, ``"incomplete"`` or ``"missing"``); with ``result``
        (the file) when complete; with ``chunks``, ``request``, ``done`` and ``n_chunks``
        when incomplete.
    """
    result, chunks = locate(path)
    if result.exists():
        return {"status": "complete", "result": result}
    store = ChunkDirectory(chunks)
    if store.exists():
        req = _request_of(store)
        n_chunks = -(-req.n_trajectories // req.chunk_size)
        return {
            "status": "incomplete",
            "chunks": chunks,
            "request": req,
            "done": store.saved_chunks() + len(store.completed()),
            "n_chunks": n_chunks,
        }
    return {"status": "missing"}
