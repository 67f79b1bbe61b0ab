"""Per-trajectory records on disk: streamed into a result file as chunks finish, read lazily.

A run with a chunk directory (every command-line run) never holds its records in memory:
:class:`RecordStream` appends each chunk's kept records, in chunk order, to extendable,
chunked, gzip-compressed HDF5 datasets in ``/ensemble/per_trajectory`` of the file that
becomes the result (``NAME.chunks/result.h5.part``), and the result is then written into
that same file and renamed (no copy of the records). The datasets are chunked along the
trajectories in whole run chunks, so an append writes new HDF5 chunks only and never
rewrites the ones before: a run killed during an append leaves the rows already covered by
its saved state intact, and the resumed run cuts the datasets back to those rows
(:meth:`RecordStream.truncate`).

:class:`RecordView` is an array-like view of one such dataset that reads it on access
(reopening the file each time): :func:`trajectories.load` gives records this way when they
are large, so that a file of millions of trajectories opens at once.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..solvers.montecarlo.result import _RECORDS, PerTrajectory
from . import hdf5

__all__ = ["RecordView", "RecordStream", "RECORDS_GROUP", "record_views", "read_records"]

#: Where the per-trajectory records live in a result file.
RECORDS_GROUP = "ensemble/per_trajectory"


class RecordView(np.lib.mixins.NDArrayOperatorsMixin):
    """A read-only, array-like view of one dataset of a result file, read on access.

    Slicing (``view[rows]``, ``view[:, column]``) reads only what is asked for;
    ``np.asarray(view)`` and any numpy method (``view.sum(axis=0)``, ``view.mean()``, ...)
    and operator (``view > 3``) read the whole dataset. The file is opened for each access
    and closed again, so a view stays valid while the file is where it was.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.
    name : str
        The dataset's path inside it.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    name : str
        The dataset.
    shape : tuple of int
        Its shape.
    dtype : numpy.dtype
        Its element type.
    """

    def __init__(self, path: str | os.PathLike, name: str):
        import h5py

        self.path = Path(path)
        self.name = name
        with h5py.File(self.path, "r") as f:
            ds = f[name]
            self.shape = tuple(int(n) for n in ds.shape)
            self.dtype = ds.dtype

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Bytes of the whole dataset once read (uncompressed)."""
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        import h5py

        with h5py.File(self.path, "r") as f:
            ds = f[self.name]
            try:
                return np.asarray(ds[key])
            except (TypeError, ValueError, IndexError):  # what h5py cannot select: numpy can
                return np.asarray(ds[()])[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self[()]
        return a if dtype is None else a.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(np.asarray(x) if isinstance(x, RecordView) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("path", "name", "shape", "dtype"):
            raise AttributeError(name)
        return getattr(np.asarray(self), name)  # numpy's methods, on the data read

    def __repr__(self) -> str:
        where = f"{str(self.path)!r}, {self.name!r}"
        return f"RecordView({where}, shape={self.shape}, dtype={self.dtype})"


def record_views(path: str | os.PathLike, group: str = RECORDS_GROUP) -> PerTrajectory | None:
    """The per-trajectory records of a file as :class:`RecordView` objects (nothing read).

    Parameters
    ----------
    path : str or os.PathLike
        A result file (or a run's ``result.h5.part``).
    group : str, optional
        The group of the records.

    Returns
    -------
    PerTrajectory or None
        Every record the group holds as a view (None: the file holds no records).
    """
    import h5py

    with h5py.File(path, "r") as f:
        if group not in f:
            return None
        names = [n for n in _RECORDS if n in f[group]]
    if not names:
        return None
    return PerTrajectory(**{n: RecordView(path, f"{group}/{n}") for n in names})


def read_records(
    path: str | os.PathLike, lazy: bool | None = None, limit: int = 64 * 2**20
) -> PerTrajectory | None:
    """The per-trajectory records of a result file: arrays, or views when large.

    Parameters
    ----------
    path : str or os.PathLike
        The result file.
    lazy : bool, optional
        True: views (:class:`RecordView`); False: arrays read now; None (default): views
        when the records would take more than ``limit`` bytes in memory.
    limit : int, optional
        Bytes (see ``lazy``).

    Returns
    -------
    PerTrajectory or None
        The records (None: the file holds none).
    """
    per = record_views(path)
    if per is None:
        return None
    names = [f.name for f in dataclasses.fields(per)]
    if lazy or (lazy is None and sum(getattr(per, n).nbytes for n in names) > limit):
        return per
    return PerTrajectory(**{n: np.asarray(getattr(per, n)) for n in names})


class RecordStream:
    """Appends chunks' kept records to extendable HDF5 datasets, in chunk order.

    Each dataset of ``/ensemble/per_trajectory`` is created at the first chunk with
    ``maxshape=(None, ...)``, gzip-compressed in HDF5 chunks of one run chunk of rows;
    :meth:`append` resizes, writes and flushes; :meth:`sync` makes the rows durable before a
    saved state covers them.

    Parameters
    ----------
    path : str or os.PathLike
        The file (created when missing, else continued: see :meth:`truncate`).

    Attributes
    ----------
    path : pathlib.Path
        The file.
    rows : int
        Trajectories written so far.
    """

    def __init__(self, path: str | os.PathLike):
        import h5py

        self.path = Path(path)
        self._file = h5py.File(self.path, "a")
        group = self._file.require_group(RECORDS_GROUP)
        self._group = group
        self.rows = min((group[n].shape[0] for n in self._names()), default=0)

    def _names(self) -> list[str]:
        """The record datasets written so far (not the scales of a failed completion)."""
        return [n for n in _RECORDS if n in self._group]

    def truncate(self, rows: int) -> None:
        """Cut every dataset back to its first ``rows`` rows (what a saved state covers).

        Parameters
        ----------
        rows : int
            The rows to keep.

        Raises
        ------
        ValueError
            When a dataset holds fewer rows (the file does not match the saved state).
        """
        for name in self._names():
            ds = self._group[name]
            if ds.shape[0] < rows:
                raise ValueError(f"{self.path}: {name} holds {ds.shape[0]} of {rows} rows")
            if ds.shape[0] > rows:
                ds.resize(rows, axis=0)
        if rows == 0:
            for name in self._names():
                del self._group[name]
        self.rows = rows
        self._sync()

    def append(self, chunk: Any, first: int) -> None:
        """Write one chunk's records at rows ``first ...`` (the next rows).

        Parameters
        ----------
        chunk : ChunkResult
            The chunk, its records already cut to the kept columns.
        first : int
            Index of its first trajectory (must equal :attr:`rows`).

        Raises
        ------
        ValueError
            When the chunk does not come next.
        """
        if first != self.rows:
            raise ValueError(f"records of trajectory {first} arrived, expected {self.rows}")
        m = chunk.n_trajectories
        for name in _RECORDS:
            a = np.asarray(getattr(chunk, name))
            if name not in self._group:
                self._create(name, a)
            ds = self._group[name]
            ds.resize(first + m, axis=0)
            if a.size:
                ds[first : first + m] = a
        self.rows = first + m
        self._file.flush()  # the file on disk stays readable between appends

    def _create(self, name: str, a: np.ndarray) -> None:
        rows = max(1, a.shape[0])
        options: dict[str, Any] = {}
        if a.dtype.kind in "biufc" and a.size:
            options = {"compression": "gzip", "compression_opts": hdf5.GZIP_LEVEL,
                       "shuffle": True}  # fmt: skip
        self._group.create_dataset(
            name, shape=(0, *a.shape[1:]), dtype=a.dtype,
            maxshape=(None, *(n if n else None for n in a.shape[1:])),  # HDF5: no 0-chunk
            chunks=(rows, *(max(1, n) for n in a.shape[1:])), **options,
        )  # fmt: skip

    def sync(self) -> None:
        """Flush the file and sync it to disk (before a state that covers its rows)."""
        self._sync()

    def _sync(self) -> None:
        self._file.flush()
        try:
            os.fsync(self._file.id.get_vfd_handle())
        except (OSError, TypeError, ValueError):  # a driver without a file descriptor
            pass

    def close(self) -> None:
        """Flush and close the file (the records stay)."""
        if self._file.id.valid:
            self._sync()
            self._file.close()

    def views(self) -> PerTrajectory | None:
        """Close the file and return its records as :class:`RecordView` objects.

        Returns
        -------
        PerTrajectory or None
            The records written (None: none were).
        """
        self.close()
        return record_views(self.path)
