"""Finished chunks of an interrupted run: a directory that survives any interruption.

``NAME.chunks/`` next to the result holds ``manifest.json`` (everything needed to resume:
model, settings, seed) and one file per finished chunk, each written to a temporary name and
renamed (``os.replace`` is atomic), so a kill at any moment leaves only complete chunk files
(and at most one ``.tmp`` file, ignored and removed). A resumed run computes only the missing
chunks with their original seeds; the directory is removed once the result file is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io as _io
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..solvers.montecarlo.chunks import ChunkResult
from .io import ResultFileError

log = logging.getLogger("trajectories")

__all__ = ["ChunkDirectory", "ChunkError"]


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
    """

    MANIFEST = "manifest.json"

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

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
        computes them again; leftover ``.tmp`` files are removed.

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
        for index, paths in self._files().items():
            for p in paths:
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
        fields = {f.name: np.asarray(getattr(chunk, f.name)) for f in dataclasses.fields(chunk)}
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
        return ChunkResult(**data)

    def remove(self) -> None:
        """Delete the directory and everything in it (once the result file is written)."""
        shutil.rmtree(self.path, ignore_errors=True)
