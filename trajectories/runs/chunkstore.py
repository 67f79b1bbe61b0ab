"""The state of a run that survives any interruption, in disk space independent of its size.

``NAME.chunks/`` next to the result holds

- ``manifest.json``: everything needed to resume (model, settings, seed);
- ``state.npz``: the ensemble accumulator's reduction of the chunks taken in so far, in
  chunk order (:meth:`EnsembleAccumulator.state
  <trajectories.solvers.montecarlo.accumulator.EnsembleAccumulator.state>`: jackknife
  group sums, count histograms, moments; its size does not depend on the number of
  trajectories);
- ``result.h5.part``: the kept per-trajectory records of those chunks, streamed in chunk
  order (:class:`~trajectories.runs.records.RecordStream`); it becomes the result file;
- one file per finished chunk not yet covered by the state: chunks that finished out of
  order wait there for their turn, and a chunk is deleted once the state covers it.

Every file but the records is written to a temporary name, synced and renamed
(``os.replace`` is atomic), so a kill at any moment leaves complete files (and at most a
``.tmp`` file, removed). Per chunk taken in, its records are appended (flushed); then, at
most every :data:`STATE_SECONDS` (every :data:`STATE_SECONDS_LARGE` for a state larger than
:data:`STATE_LARGE_BYTES`: rho at many checkpoints of a large cutoff), the records are
synced, the state is written and the files of the chunks it covers are deleted (a state
after every chunk would let the driver, not the workers, set the pace of a fast run). A
resumed run restores the state, cuts the records back to the trajectories it covers (those
appended after it), takes the saved chunks from there and computes the missing ones with
their original seeds, so its result is bit-identical to an uninterrupted run's. An
interrupted run thus holds its manifest, its state, its records and a few chunk files (those
finished out of order, about two per worker, and those taken in since the last state). The
directory is removed once the result file is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io as _io
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..solvers.montecarlo.chunks import ChunkResult
from ..solvers.montecarlo.reductions import ChunkSums
from ..solvers.montecarlo.result import PerTrajectory
from .io import ResultFileError
from .records import RecordStream

log = logging.getLogger("trajectories")

__all__ = [
    "ChunkDirectory", "ChunkError", "STATE_SECONDS", "STATE_SECONDS_LARGE", "STATE_LARGE_BYTES",
]  # fmt: skip

#: The state is written at most this often (seconds; 0: after every chunk); the files of
#: the chunks taken in since are kept until it is.
STATE_SECONDS = 1.0
#: A state larger than this (bytes of the rho sums) ...
STATE_LARGE_BYTES = 16 * 2**20
#: ... is written at most this often (seconds).
STATE_SECONDS_LARGE = 30.0


class ChunkError(RuntimeError):
    """A saved chunk changed while a run was reading it (it was checked when the run began).

    Attributes
    ----------
    args : tuple of str
        ``(message,)``: the chunk, the directory, what changed, and to run again with
        ``--resume``.
    """


class ChunkDirectory:
    """Finished chunks of one run, one atomically written file each, plus a manifest.

    Implements the ``ChunkStore`` protocol of :func:`trajectories.simulate`
    (:class:`~trajectories.solvers.montecarlo.parallel.ChunkStore`).

    Integrity: the run's identity is the SHA-256 of its manifest (``run_id``); each chunk
    file ``chunk-IIIIII-CCCCCCCCCCCCCCCC.npz`` holds the chunk's arrays and the ``run_id``,
    and ``C...`` is the first 16 hex digits of the SHA-256 of the file's bytes. When a run
    resumes, :meth:`completed` checks every chunk (checksum, readable, index, run, size) and
    removes, with one log line each, chunks that are truncated, corrupted or belong to
    another run; they are then computed again from their own seeds, so the result stays
    bit-identical to an uninterrupted run.

    Parameters
    ----------
    path : str or os.PathLike
        The directory (``NAME.chunks``); it need not exist (see :meth:`create`,
        :meth:`exists`).

    Attributes
    ----------
    path : pathlib.Path
        The directory.
    MANIFEST : str
        File name of the manifest, ``"manifest.json"``.
    STATE : str
        File name of the accumulator's state, ``"state.npz"``.
    RECORDS : str
        File name of the streamed records, ``"result.h5.part"``.
    """

    MANIFEST = "manifest.json"
    STATE = "state.npz"
    RECORDS = "result.h5.part"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._next: int | None = None  # chunks the restored state covers
        self._stream: RecordStream | None = None
        self._absorbed: list[int] = []
        self._state_time = -float("inf")

    @classmethod
    def create(cls, path: str | os.PathLike, manifest: dict[str, Any]) -> ChunkDirectory:
        """Start a new chunk directory (it must not exist) with its manifest.

        Parameters
        ----------
        path : str or os.PathLike
            The directory to create (parents too).
        manifest : dict
            JSON-serialisable description of the run (with a ``"request"`` key: what a
            resumed run needs); its SHA-256 is the :attr:`run_id`.

        Returns
        -------
        ChunkDirectory
            The new, empty store.

        Raises
        ------
        FileExistsError
            When ``path`` exists.
        """
        store = cls(path)
        store.path.mkdir(parents=True, exist_ok=False)
        try:
            store._write_atomic(store.path / cls.MANIFEST, json.dumps(manifest, indent=1).encode())
        except BaseException:
            shutil.rmtree(store.path, ignore_errors=True)  # nothing to resume from
            raise
        return store

    @property
    def manifest(self) -> dict[str, Any]:
        """The run's manifest; :class:`ResultFileError` naming the file if it is damaged."""
        target = self.path / self.MANIFEST
        try:
            manifest = json.loads(target.read_text())
        except (OSError, ValueError) as err:
            raise ResultFileError(f"{target}: damaged manifest of an interrupted run ({err}); "
                                  f"start the run over with --force") from None  # fmt: skip
        if not isinstance(manifest, dict) or "request" not in manifest:
            raise ResultFileError(f"{target}: not the manifest of an interrupted run; start "
                                  f"the run over with --force")  # fmt: skip
        return manifest

    @property
    def run_id(self) -> str:
        """SHA-256 (hex) of the manifest's bytes: the identity of this run."""
        if not hasattr(self, "_run_id"):
            self._run_id = hashlib.sha256((self.path / self.MANIFEST).read_bytes()).hexdigest()
        return self._run_id

    def exists(self) -> bool:
        """Whether the directory holds a manifest (an interrupted run to resume).

        Returns
        -------
        bool
            True when ``path/manifest.json`` is a file.
        """
        return (self.path / self.MANIFEST).is_file()

    @staticmethod
    def _write_atomic(target: Path, data: bytes) -> None:
        tmp = target.with_name(target.name + ".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)  # e.g. a full disk: no partial file stays behind
            raise

    def _files(self) -> dict[int, list[Path]]:
        out: dict[int, list[Path]] = {}
        for p in sorted(self.path.glob("chunk-*.npz")):
            parts = p.stem.split("-")
            if len(parts) in (2, 3) and parts[1].isdigit():
                out.setdefault(int(parts[1]), []).append(p)
        return out

    def _check(self, index: int, p: Path, size_of: Callable[[int], int] | None) -> str | None:
        """Why the chunk file ``p`` cannot be used (None when it can)."""
        parts = p.stem.split("-")
        data = p.read_bytes()
        if len(parts) == 3 and hashlib.sha256(data).hexdigest()[:16] != parts[2]:
            return f"checksum mismatch ({len(data)} bytes: truncated or corrupted)"
        try:
            with np.load(_io.BytesIO(data)) as z:
                fields = {name: z[name] for name in z.files}
        except Exception as err:  # any unreadable content is reported the same way
            return f"unreadable ({type(err).__name__})"
        if len(parts) == 3 and str(fields.get("run_id", "")) != self.run_id:
            return "belongs to another run"
        if int(fields.get("index", -1)) != index:
            return f"holds chunk {int(fields.get('index', -1))}"
        if size_of is not None and int(fields.get("n_trajectories", -1)) != size_of(index):
            return "has the wrong number of trajectories"
        return None

    def completed(self, size_of: Callable[[int], int] | None = None) -> set[int]:
        """Indices of the chunks saved and intact.

        Damaged or foreign chunk files are removed (one log line each), so that the run
        computes them again; leftover ``.tmp`` files are removed, and so are the files of
        chunks the saved state covers already.

        Parameters
        ----------
        size_of : callable, optional
            ``size_of(i)``: the number of trajectories chunk ``i`` must hold, checked too
            when given.

        Returns
        -------
        set of int
            Indices of the usable chunk files.
        """
        for stale in self.path.glob("*.tmp"):  # a write interrupted by a kill
            stale.unlink(missing_ok=True)
        out = set()
        self._paths: dict[int, Path] = {}
        covered = self.saved_chunks() if self._next is None else self._next
        for index, paths in self._files().items():
            for p in paths:
                if index < covered:  # taken into the state before a kill could delete it
                    p.unlink(missing_ok=True)
                    continue
                why = self._check(index, p, size_of)
                if why is None and index not in self._paths:
                    self._paths[index] = p
                    out.add(index)
                    continue
                why = why or "duplicate"
                log.warning("chunk %d in %s %s: recomputing it from its own seed", index,
                            self.path, why)  # fmt: skip
                p.unlink(missing_ok=True)
        return out

    def save(self, chunk: ChunkResult) -> None:
        """Write a finished chunk atomically, as ``chunk-IIIIII-CCCCCCCCCCCCCCCC.npz``.

        Parameters
        ----------
        chunk : ChunkResult
            The chunk; its arrays and the :attr:`run_id` are stored.
        """
        buf = _io.BytesIO()
        fields = {f.name: np.asarray(getattr(chunk, f.name)) for f in dataclasses.fields(chunk)
                  if f.name != "sums"}  # fmt: skip
        assert chunk.sums is not None  # a ChunkResult computes them
        fields.update(chunk.sums.to_arrays())
        fields["run_id"] = np.asarray(self.run_id)
        np.savez(buf, **fields)
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        self._write_atomic(self.path / f"chunk-{chunk.index:06d}-{digest}.npz", data)

    def load(self, index: int) -> ChunkResult:
        """Read a saved chunk, checking it again.

        Parameters
        ----------
        index : int
            The chunk's index (one of :meth:`completed`).

        Returns
        -------
        ChunkResult
            The chunk as it was saved.

        Raises
        ------
        ChunkError
            When the file went missing or changed since :meth:`completed` checked it.
        """
        paths = getattr(self, "_paths", None)
        if paths is None or index not in paths:
            self.completed()
            paths = self._paths
        p = paths.get(index)
        why = "missing" if p is None or not p.exists() else self._check(index, p, None)
        if why is not None:
            raise ChunkError(
                f"chunk {index} in {self.path} changed during the run ({why}); run again "
                f"with --resume to recompute it"
            )
        with np.load(p) as z:
            data = {name: z[name] for name in z.files if name != "run_id"}
        for name in ("index", "n_trajectories"):
            data[name] = int(data[name])
        data["seconds"] = float(data["seconds"])
        if "sums_sum_n" in data:  # chunks of earlier versions: computed from the records
            sums = {k: data.pop(k) for k in list(data) if k.startswith(("sums_", "hist_"))}
            data["sums"] = ChunkSums.from_arrays(sums)
        return ChunkResult(**data)

    def remove(self) -> None:
        """Delete the directory and everything in it (once the result file is written)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    # ------------------------------------------------- state and streamed records
    @property
    def records_file(self) -> Path | None:
        """The file holding the streamed records (None: this run streams none)."""
        return self.path / self.RECORDS if self._stream is not None else None

    def saved_chunks(self) -> int:
        """Chunks the saved state covers.

        Returns
        -------
        int
            The accumulator's ``next_index`` in ``state.npz`` (0 without a readable state).
        """
        try:
            with open(self.path / self.STATE, "rb") as fh, np.load(fh) as z:
                return int(z["acc_next_index"])
        except Exception:  # missing or damaged: nothing is covered
            return 0

    def _read_state(self) -> dict[str, np.ndarray] | None:
        target = self.path / self.STATE
        if not target.exists():
            return None
        try:
            with open(target, "rb") as fh, np.load(fh) as z:
                state = {name: z[name] for name in z.files}
        except Exception as err:  # any unreadable content is reported the same way
            why = f"unreadable ({type(err).__name__})"
        else:
            if str(state.pop("run_id", "")) == self.run_id:
                return state
            why = "belongs to another run"
        log.warning("state %s %s: recomputing the chunks it covered", target, why)
        target.unlink(missing_ok=True)
        return None

    def restore(self, acc: Any) -> None:
        """Bring a new accumulator to the saved state and stream its records from there.

        Part of the ``ChunkStore`` protocol: restores the saved state (if any), cuts the
        streamed records back to the trajectories it covers, and sets ``acc.record_sink``
        when the run keeps records. A state that cannot be used (unreadable, of another
        run, or records that do not match it) is dropped with one log line: the chunks it
        covered are computed again.

        Parameters
        ----------
        acc : EnsembleAccumulator
            The run's accumulator, fresh.
        """
        self.close()  # a stream left open by an interrupted call in this process
        state = self._read_state()
        filled = int(state["acc_filled"]) if state is not None else 0
        target = self.path / self.RECORDS
        if acc.keeps_records:
            try:
                stream = RecordStream(target)
                stream.truncate(filled)
            except (OSError, ValueError, KeyError) as err:
                if state is not None:
                    log.warning("records %s do not match the saved state (%s): recomputing "
                                "the chunks it covered", target, err)  # fmt: skip
                state, filled = None, 0
                (self.path / self.STATE).unlink(missing_ok=True)
                target.unlink(missing_ok=True)
                stream = RecordStream(target)
            self._stream = stream
            acc.record_sink = stream.append
        else:
            target.unlink(missing_ok=True)
        if state is not None:
            acc.restore(state)
        self._next = acc.next_index
        self._state_time = time.monotonic()

    def absorbed(self, acc: Any, chunk: ChunkResult) -> None:
        """Record that the accumulator took in ``chunk`` (in order): save the state, then
        delete the chunk files it covers (part of the ``ChunkStore`` protocol).

        Parameters
        ----------
        acc : EnsembleAccumulator
            The accumulator, just after adding ``chunk``.
        chunk : ChunkResult
            The chunk it added.
        """
        self._absorbed.append(chunk.index)
        every = STATE_SECONDS_LARGE if acc.s.nbytes > STATE_LARGE_BYTES else STATE_SECONDS
        if time.monotonic() - self._state_time < every and acc.next_index < acc.planned_chunks:
            return
        if self._stream is not None:
            self._stream.sync()  # the records the state covers are on disk first
        buf = _io.BytesIO()
        np.savez(buf, run_id=np.asarray(self.run_id), **acc.state())
        self._write_atomic(self.path / self.STATE, buf.getvalue())
        self._state_time = time.monotonic()
        self._next = acc.next_index
        paths = self._files()
        for index in self._absorbed:
            for p in paths.get(index, ()):
                p.unlink(missing_ok=True)
        self._absorbed.clear()

    def records(self) -> PerTrajectory | None:
        """The streamed records, as views of their file (part of the ``ChunkStore``
        protocol). Closes the file.

        Returns
        -------
        PerTrajectory or None
            :class:`~trajectories.runs.records.RecordView` objects of every record (None
            when the run streamed none).
        """
        return self._stream.views() if self._stream is not None else None

    def close(self) -> None:
        """Close the streamed records' file (kept on disk)."""
        if self._stream is not None:
            self._stream.close()
