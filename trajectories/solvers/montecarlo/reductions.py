r"""Streaming reductions of a chunk: what the estimators need, in memory independent of M.

A chunk of M trajectories is reduced, where it ran (in the worker), to sums whose size does
not depend on M: the power sums of :math:`\langle n\rangle_i`, the running mean and squared
deviations of the energy and of its books (merged across chunks with the pairwise update of
Chan et al.), the number of leaked trajectories, and per checkpoint the histogram of every
count (:class:`CountHistograms`). The per-trajectory records can then be dropped (``records=
"none"``) and every statistic the package reports is still exact: the counting statistics of
``tj.counting`` (mean, variance, Mandel Q, cumulants with delete-one jackknife errors,
histograms, chi-square) depend on a column of counts only through its histogram
(``docs/MODEL.md``, Sec. 5).

Shapes: C checkpoints, V the width of a histogram (largest minus smallest count, plus one).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["HISTOGRAM_COUNTS", "CountHistograms", "ChunkSums", "column_histograms"]

#: The counts histogrammed per checkpoint: the qubits that left in g / e, photons emitted
#: into / absorbed from the bath, the net photons from the bath, the qubits that passed
#: (``g + e``) and the Fock samples (one photon number per conditional state).
HISTOGRAM_COUNTS = ("g", "e", "emission", "absorption", "net", "qubits", "fock")


def _counts_of(name: str, qubit_g, qubit_e, emissions, absorptions, fock) -> np.ndarray:
    """The (M, C) int64 count ``name`` from the records."""
    if name == "g":
        return qubit_g.sum(axis=2, dtype=np.int64)
    if name == "e":
        return qubit_e.sum(axis=2, dtype=np.int64)
    if name == "qubits":
        return qubit_g.sum(axis=2, dtype=np.int64) + qubit_e.sum(axis=2, dtype=np.int64)
    if name == "emission":
        return emissions.astype(np.int64)
    if name == "absorption":
        return absorptions.astype(np.int64)
    if name == "net":
        return absorptions.astype(np.int64) - emissions.astype(np.int64)
    return fock.astype(np.int64)


def column_histograms(x: np.ndarray, valid: np.ndarray) -> tuple[int, np.ndarray]:
    """Histograms of the columns of an integer array, over the entries marked valid.

    Parameters
    ----------
    x : ndarray of int64, shape (M, C)
        Values.
    valid : ndarray of bool, shape (M, C)
        Which entries count.

    Returns
    -------
    lo : int
        The smallest valid value (0 when there is none).
    h : ndarray of int64, shape (C, V)
        ``h[c, v]``: valid entries of column ``c`` equal to ``lo + v``.
    """
    c = x.shape[1]
    all_valid = bool(valid.all())
    if x.size == 0 or not (all_valid or valid.any()):
        return 0, np.zeros((c, 0), dtype=np.int64)
    if all_valid:
        lo, hi = int(x.min()), int(x.max())
    else:
        big = np.iinfo(np.int64).max
        lo, hi = int(x.min(where=valid, initial=big)), int(x.max(where=valid, initial=-big))
    width = hi - lo + 1
    idx = x.astype(np.int64) - lo
    idx += np.arange(c, dtype=np.int64) * width  # column c counts in bins c*width ...
    if not all_valid:
        idx[~valid] = c * width  # one bin past the end, dropped
    h = np.bincount(idx.ravel(), minlength=c * width + 1)[: c * width]
    return lo, h.reshape(c, width)


def _pad(lo: int, h: np.ndarray, new_lo: int, width: int) -> np.ndarray:
    out = np.zeros((h.shape[0], width), dtype=np.int64)
    out[:, lo - new_lo : lo - new_lo + h.shape[1]] = h
    return out


@dataclasses.dataclass(frozen=True)
class CountHistograms:
    """Per-checkpoint histograms of the counts over the trajectories not leaked there.

    A trajectory counts at a checkpoint when its Fock sample there is ``>= 0`` (it had not
    leaked through the cutoff): the same trajectories as
    :func:`trajectories.counting.from_ensemble` uses.

    Parameters
    ----------
    lo : dict of str to int
        The smallest value of each count's histogram (:data:`HISTOGRAM_COUNTS`).
    h : dict of str to ndarray of int64, shape (C, V)
        ``h[name][c, v]``: trajectories whose count ``name`` at checkpoint ``c`` is
        ``lo[name] + v``.
    """

    lo: dict[str, int]
    h: dict[str, np.ndarray]

    @classmethod
    def from_records(
        cls,
        qubit_g: np.ndarray,
        qubit_e: np.ndarray,
        emissions: np.ndarray,
        absorptions: np.ndarray,
        fock: np.ndarray,
    ) -> CountHistograms:
        """The histograms of a set of per-trajectory records.

        Parameters
        ----------
        qubit_g, qubit_e : ndarray of int, shape (M, C, B)
            Qubits that left in g / e, per incoming branch (summed here).
        emissions, absorptions : ndarray of int, shape (M, C)
            Photons emitted into / absorbed from the bath.
        fock : ndarray of int, shape (M, C)
            Fock samples (-1 once leaked: left out).

        Returns
        -------
        CountHistograms
            One histogram per count of :data:`HISTOGRAM_COUNTS`.
        """
        valid = np.asarray(fock) >= 0
        lo, h = {}, {}
        g, e = (_counts_of(n, qubit_g, qubit_e, emissions, absorptions, fock) for n in "ge")
        for name in HISTOGRAM_COUNTS:
            if name in ("g", "e", "qubits"):
                x = g if name == "g" else e if name == "e" else g + e
            else:
                x = _counts_of(name, qubit_g, qubit_e, emissions, absorptions, fock)
            lo[name], h[name] = column_histograms(x, valid)
        return cls(lo, h)

    @classmethod
    def empty(cls, n_checkpoints: int) -> CountHistograms:
        """Histograms of no trajectory (the start of a reduction).

        Parameters
        ----------
        n_checkpoints : int
            C.

        Returns
        -------
        CountHistograms
            Width 0 for every count.
        """
        zero = np.zeros((n_checkpoints, 0), dtype=np.int64)
        return cls({n: 0 for n in HISTOGRAM_COUNTS}, {n: zero for n in HISTOGRAM_COUNTS})

    def merge(self, other: CountHistograms) -> CountHistograms:
        """The histograms of both sets of trajectories (exact integer sums).

        Parameters
        ----------
        other : CountHistograms
            Of the same checkpoints.

        Returns
        -------
        CountHistograms
            Widened to cover both ranges.
        """
        lo, h = {}, {}
        for name in HISTOGRAM_COUNTS:
            a, b = self.h[name], other.h[name]
            if b.shape[1] == 0:
                lo[name], h[name] = self.lo[name], a
                continue
            if a.shape[1] == 0:
                lo[name], h[name] = other.lo[name], b
                continue
            la, lb = self.lo[name], other.lo[name]
            new_lo = min(la, lb)
            width = max(la + a.shape[1], lb + b.shape[1]) - new_lo
            lo[name] = new_lo
            h[name] = _pad(la, a, new_lo, width) + _pad(lb, b, new_lo, width)
        return CountHistograms(lo, h)

    def at(self, name: str, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The values taken and their multiplicities at checkpoint ``i``.

        Parameters
        ----------
        name : str
            One of :data:`HISTOGRAM_COUNTS`.
        i : int
            Checkpoint index.

        Returns
        -------
        values : ndarray of int64, shape (V',)
            The values with a nonzero multiplicity, increasing.
        multiplicity : ndarray of int64, shape (V',)
            Trajectories with that value.
        """
        row = self.h[name][i]
        nz = np.flatnonzero(row)
        return (nz + self.lo[name]).astype(np.int64), row[nz]

    def n_used(self) -> np.ndarray:
        """Trajectories counted at each checkpoint (those not leaked there).

        Returns
        -------
        ndarray of int64, shape (C,)
            The sum of each row of the Fock samples' histogram.
        """
        return self.h["fock"].sum(axis=1)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays, for ``.npz`` and HDF5.

        Returns
        -------
        dict of str to ndarray
            ``hist_<name>`` (C, V) int64 per count, and ``hist_lo`` (7,) int64 (the lowest
            values, in :data:`HISTOGRAM_COUNTS` order).
        """
        out = {f"hist_{n}": self.h[n] for n in HISTOGRAM_COUNTS}
        out["hist_lo"] = np.array([self.lo[n] for n in HISTOGRAM_COUNTS], dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CountHistograms:
        """Inverse of :meth:`to_arrays`.

        Parameters
        ----------
        arrays : mapping of str to ndarray
            With ``hist_lo`` and one ``hist_<name>`` per count.

        Returns
        -------
        CountHistograms
            The histograms.
        """
        lo = np.asarray(arrays["hist_lo"])
        return cls(
            {n: int(lo[j]) for j, n in enumerate(HISTOGRAM_COUNTS)},
            {n: np.asarray(arrays[f"hist_{n}"], dtype=np.int64) for n in HISTOGRAM_COUNTS},
        )


@dataclasses.dataclass(frozen=True)
class ChunkSums:
    r"""A chunk's reductions: everything the ensemble's estimators take from its records.

    Parameters
    ----------
    sum_n, sum_n2 : ndarray of float64, shape (C,)
        Sums over the chunk's trajectories of :math:`\langle n\rangle_i` and
        :math:`\langle n^2\rangle_i`.
    energy : ndarray of float64, shape (2, C)
        Mean of :math:`\langle n\rangle_i` over the chunk and the sum of squared deviations
        from it.
    books : ndarray of float64, shape (3, 2, C) or (0, 2, C)
        The same for the energy books ``energy_from_qubits``, ``switching_work``,
        ``energy_from_bath`` (no rows: a chunk saved without them).
    leaked : int
        Trajectories that leaked through the cutoff.
    counts : CountHistograms
        The count histograms per checkpoint.
    """

    sum_n: np.ndarray
    sum_n2: np.ndarray
    energy: np.ndarray
    books: np.ndarray
    leaked: int
    counts: CountHistograms

    #: the energy books, in the order of :attr:`books`
    BOOK_NAMES = ("energy_from_qubits", "switching_work", "energy_from_bath")

    @classmethod
    def from_records(cls, rec) -> ChunkSums:
        """Reduce a chunk's records (any object with the record attributes).

        Parameters
        ----------
        rec : ChunkResult or PerTrajectory
            With ``n_mean``, ``n2_mean`` (M, C), the counts, ``fock``, ``alive`` and the
            energy books (M, C) or without columns.

        Returns
        -------
        ChunkSums
            Its reductions.
        """
        x = rec.n_mean
        mean_b = x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        c = x.shape[1]
        if rec.collision_energy.shape[-1] == 0:
            books = np.zeros((0, 2, c))
        else:
            qubits = rec.qubit_energy if rec.qubit_energy.shape[1] else rec.collision_energy
            rows = []
            for b in (qubits, rec.collision_energy - qubits, rec.bath_energy):
                mb = b.mean(axis=0)
                rows.append((mb, ((b - mb) ** 2).sum(axis=0)))
            books = np.array(rows)
        return cls(
            sum_n=x.sum(axis=0),
            sum_n2=rec.n2_mean.sum(axis=0),
            energy=np.array([mean_b, m2_b]),
            books=books,
            leaked=int(np.count_nonzero(~np.asarray(rec.alive))),
            counts=CountHistograms.from_records(
                rec.qubit_g, rec.qubit_e, rec.emissions, rec.absorptions, rec.fock
            ),
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays, for ``.npz`` and HDF5.

        Returns
        -------
        dict of str to ndarray
            The sums under names prefixed ``sums_``, the histograms under ``hist_``
            (:meth:`CountHistograms.to_arrays`).
        """
        out = {
            "sums_sum_n": self.sum_n,
            "sums_sum_n2": self.sum_n2,
            "sums_energy": self.energy,
            "sums_books": self.books,
            "sums_leaked": np.asarray(self.leaked, dtype=np.int64),
        }
        out.update(self.counts.to_arrays())
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ChunkSums:
        """Inverse of :meth:`to_arrays`.

        Parameters
        ----------
        arrays : mapping of str to ndarray
            As :meth:`to_arrays` wrote them.

        Returns
        -------
        ChunkSums
            The reductions.
        """
        return cls(
            sum_n=np.asarray(arrays["sums_sum_n"]),
            sum_n2=np.asarray(arrays["sums_sum_n2"]),
            energy=np.asarray(arrays["sums_energy"]),
            books=np.asarray(arrays["sums_books"]),
            leaked=int(arrays["sums_leaked"]),
            counts=CountHistograms.from_arrays(arrays),
        )
