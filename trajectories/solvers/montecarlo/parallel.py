"""The parallel map of chunks: one interface for every joblib backend, and the chunk store.

:func:`map_chunks` runs chunk tasks serially (``n_jobs = 1``) or with any joblib backend
(``"loky"``, ``"threading"``, ``"multiprocessing"``, and, registered on demand, ``"dask"``
and ``"ray"``), yielding results as they finish where the backend can; the caller reduces
them in chunk order (:class:`~trajectories.solvers.montecarlo.accumulator.EnsembleAccumulator`),
so the arrival order never
reaches the numbers. Closing the generator cancels the chunks not yet started: an early
stop, a timeout, an error and Ctrl-C behave the same on every backend.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

from joblib import Parallel

from .chunks import ChunkResult

__all__ = ["ChunkStore", "check_backend", "map_chunks"]

#: one chunk per task, at most two tasks queued per worker: chunks are already the
#: unit of work, and an adaptive stop then cancels little
_DISPATCH = {"batch_size": 1, "pre_dispatch": "2*n_jobs"}

#: optional backends: name -> (module to import, extra to install)
_EXTRA_BACKENDS = {"dask": ("distributed", "dask"), "ray": ("ray", "ray")}


class ChunkStore(Protocol):
    """Where finished chunks are kept, so an interrupted run can resume (a protocol).

    Implemented by :class:`trajectories.runs.chunkstore.ChunkDirectory`; passed as
    ``store`` to :func:`~trajectories.solvers.montecarlo.simulate.simulate`.

    A store may also keep the run's reduction instead of its chunks (optional methods,
    used when present; :class:`~trajectories.runs.chunkstore.ChunkDirectory` has them):
    ``restore(acc)`` brings the new accumulator to the saved state and may set its
    ``record_sink`` (records streamed to disk); ``absorbed(acc, chunk)`` is called after
    each chunk the accumulator adds, in order (save the state, drop the chunk's file);
    ``records()`` returns the streamed records for the result (``per_trajectory``).
    The saved chunks below the restored ``acc.next_index`` are then not offered again.

    Attributes
    ----------
    completed, load, save : method
        The three methods every implementation provides (below).
    """

    def completed(self, size_of: Callable[[int], int] | None = None) -> set[int]:
        """Indices of the chunks already saved and intact.

        Parameters
        ----------
        size_of : callable, optional
            ``size_of(i)``: the number of trajectories chunk ``i`` must hold.

        Returns
        -------
        set of int
            The chunk indices that need not be computed again.
        """

    def load(self, index: int) -> ChunkResult:
        """A saved chunk.

        Parameters
        ----------
        index : int
            Its index, one of :meth:`completed`.

        Returns
        -------
        ChunkResult
            The chunk as it was saved.
        """

    def save(self, chunk: ChunkResult) -> None:
        """Save a finished chunk (atomically).

        Parameters
        ----------
        chunk : ChunkResult
            The chunk.
        """


def check_backend(backend: str, n_jobs: int) -> None:
    """Clear one-line errors for backends whose optional dependencies are missing.

    Also registers the ``"ray"`` backend with joblib. Nothing is checked for ``n_jobs = 1``
    (chunks then run in this process).

    Parameters
    ----------
    backend : str
        joblib backend name.
    n_jobs : int
        Workers.

    Raises
    ------
    ValueError
        ``"dask"`` or ``"ray"`` without its extra installed, or ``"dask"`` without a
        running ``distributed.Client``.
    """
    if backend not in _EXTRA_BACKENDS or n_jobs == 1:
        return
    module, extra = _EXTRA_BACKENDS[backend]
    try:
        __import__(module)
    except ImportError:
        raise ValueError(
            f"backend={backend!r} needs the {extra} extra: pip install "
            f"'micromaser-trajectories[{extra}]'"
        ) from None
    if backend == "dask":
        from distributed import get_client

        try:
            get_client()
        except ValueError:
            raise ValueError(
                "backend='dask' needs a dask Client: create one first, e.g. "
                "Client('tcp://scheduler:8786') or Client(LocalCluster(n_workers=2))"
            ) from None
    if backend == "ray":
        from ray.util.joblib import register_ray

        register_ray()


def _parallel_unordered(n_jobs: int, backend: str) -> Parallel:
    """A joblib ``Parallel`` yielding results as they finish, where the backend can.

    Chunks are saved as they arrive and reduced in index order by the caller, so the
    arrival order never reaches the numbers. Backends that cannot stream (e.g.
    ``"multiprocessing"``) return one ordered list at the end.
    """
    from joblib import parallel_config

    with parallel_config(backend=backend):  # external backends (dask, ray) register here
        for mode in ("generator_unordered", "generator"):
            try:
                return Parallel(n_jobs=n_jobs, return_as=mode, **_DISPATCH)
            except ValueError as err:
                if "return_as" not in str(err):
                    raise
        return Parallel(n_jobs=n_jobs, return_as="list", **_DISPATCH)


@contextmanager
def map_chunks(tasks: Iterable, n_jobs: int, backend: str) -> Iterator[Iterable[ChunkResult]]:
    """Run joblib ``delayed`` chunk tasks; a context whose value iterates the finished chunks.

    Leaving the context (normally, on an early stop, or on an error) cancels the chunks not
    yet started, so no worker is left running.

    Parameters
    ----------
    tasks : iterable
        ``joblib.delayed(run_chunk)(...)`` tasks, one per chunk.
    n_jobs : int
        Workers (1: serially in this process, in order; -1: all cores).
    backend : str
        joblib backend name (ignored for ``n_jobs = 1``).

    Yields
    ------
    iterable of ChunkResult
        The finished chunks, in the order they finish where the backend can stream them
        (else in task order).
    """
    if n_jobs == 1:
        yield (task[0](*task[1], **task[2]) for task in tasks)
        return
    results = _parallel_unordered(n_jobs, backend)(tasks)
    try:
        yield results
    finally:
        if hasattr(results, "close"):
            with warnings.catch_warnings():  # joblib reports the cancelled chunks
                warnings.simplefilter("ignore", UserWarning)
                results.close()
