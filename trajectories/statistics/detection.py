r"""Imperfect detection of trajectory records: the counts a real detector would register.

Each outgoing qubit is detected with probability :math:`\eta` and a detected one may be
misread (:math:`\epsilon_e`: e read as g, :math:`\epsilon_g`: g read as e); each bath photon
is detected with probability :math:`\eta`. :func:`detected_counts` thins the recorded
cumulative counts with seeded draws (``docs/COUNTING.md``, detection); the exact counterpart
is the tilted channel with the detection generating functions
(:class:`~trajectories.channels.tilted.Detection`).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..channels.kraus import definite_incoming_states
from ..channels.tilted import COUNTS, QUBIT_COUNTS, Detection
from ..solvers.montecarlo.result import EnsembleResult

__all__ = ["DETECTION_SPAWN_KEY", "detected_counts", "check_count", "seed_of", "true_counts"]

#: First word of the ``spawn_key`` of the detection draws: ``SeedSequence(seed,
#: spawn_key=(DETECTION_SPAWN_KEY, part))`` with part 0 for the qubits, 1 for the bath
#: photons, so they never share bits with the trajectories' own streams (which use the seed's
#: entropy without a spawn key).
DETECTION_SPAWN_KEY = 0x646574  # "det"


def check_count(count: str) -> str:
    """``count`` if it is one of the counts, else a one-line ValueError.

    Parameters
    ----------
    count : str
        The name to check.

    Returns
    -------
    str
        ``count``, one of :data:`~trajectories.channels.tilted.COUNTS`.
    """
    if count not in COUNTS:
        raise ValueError(f"count must be one of {COUNTS}, got {count!r}")
    return count


def true_counts(ens: EnsembleResult, count: str) -> np.ndarray:
    """The recorded cumulative counts of ``count``, per trajectory and checkpoint.

    Parameters
    ----------
    ens : EnsembleResult
        The ensemble.
    count : str
        One of :data:`~trajectories.channels.tilted.COUNTS`.

    Returns
    -------
    ndarray of int64, shape (M, C)
        The counts (``"net"``: absorptions minus emissions).
    """
    per = ens.per_trajectory
    if count == "changed":
        changed = np.zeros(per.qubit_g.shape[:2], dtype=np.int64)
        for j, (_, left_in_other, _) in enumerate(_changed_columns(ens)):
            changed += np.asarray(left_in_other[:, :, j], dtype=np.int64)
        return changed
    if count == "g":
        return per.qubit_g.sum(axis=2, dtype=np.int64)
    if count == "e":
        return per.qubit_e.sum(axis=2, dtype=np.int64)
    if count == "emission":
        return per.emissions.astype(np.int64)
    if count == "absorption":
        return per.absorptions.astype(np.int64)
    return per.absorptions.astype(np.int64) - per.emissions.astype(np.int64)


def _changed_columns(ens: EnsembleResult) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per qubit branch ``j``: ``(incoming state, left in the other state, left as it
    came)``, the last two the records ``(M, C, B)`` of qubits that left in g / e."""
    incoming = definite_incoming_states(ens.model)
    g, e = ens.per_trajectory.qubit_g, ens.per_trajectory.qubit_e
    return [(i, g, e) if i == "e" else (i, e, g) for i in incoming]


def seed_of(ens: EnsembleResult, seed: int | None) -> int:
    """The seed of the detection draws: ``seed``, or the ensemble's when ``None``.

    Parameters
    ----------
    ens : EnsembleResult
        The ensemble (its ``seed`` is the default).
    seed : int or None
        A non-negative seed, or ``None``.

    Returns
    -------
    int
        The seed.

    Raises
    ------
    ValueError
        For a negative or non-integer seed, or ``None`` with an unseeded ensemble.
    """
    if seed is None:
        seed = getattr(ens, "seed", None)
        if seed is None:
            raise ValueError(
                "imperfect detection draws random numbers: give seed= (this ensemble "
                "records no seed to default to)"
            )
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _thin(rng: np.random.Generator, n: np.ndarray, p: float) -> np.ndarray:
    """``Binomial(n, p)`` elementwise (no draw when ``p`` is 0 or 1)."""
    if p <= 0.0:
        return np.zeros_like(n)
    if p >= 1.0:
        return n.copy()
    return rng.binomial(n, p).astype(np.int64)


def _split(
    rng: np.random.Generator, n: np.ndarray, right: float, wrong: float
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial split of ``n`` true events: read right (``right``), misread (``wrong``).

    ``right + wrong <= 1``; the rest is not detected. Drawn as ``Binomial(n, right)``, then
    ``Binomial(n - that, wrong / (1 - right))``, so each marginal is exactly binomial.
    """
    a = _thin(rng, n, right)
    rest = 1.0 - right
    b = _thin(rng, n - a, min(1.0, wrong / rest) if rest > 0.0 else 0.0)
    return a, b


def _increments(cumulative: np.ndarray) -> np.ndarray:
    """Increments between consecutive checkpoints, the first one from collision 0.

    Negative increments cannot occur in a record; entries after a leak (excluded from
    every statistic) are clipped at 0 so that the draws stay defined.
    """
    inc = np.diff(cumulative, axis=1, prepend=np.zeros((cumulative.shape[0], 1), np.int64))
    return np.maximum(inc, 0)


def detected_counts(
    ens: EnsembleResult,
    count: str,
    *,
    efficiency: float = 1.0,
    misread: tuple[float, float] = (0.0, 0.0),
    seed: int | None = None,
) -> np.ndarray:
    r"""The counts an imperfect detector records, per trajectory and checkpoint.

    The records are cumulative, so the increments between consecutive checkpoints (the
    first from collision 0) are thinned and summed again: each trajectory's detected count
    never decreases. Qubits: the increments of the true g and e counts are split
    multinomially into read-as-counted, read-as-the-other and undetected; for the count
    ``"g"``, ``Binomial(inc_g, eta (1 - eps_g)) + Binomial(inc_e, eta eps_e)`` (the
    same draws serve ``"g"`` and ``"e"``, so for one seed they describe one detector).
    Bath photons: emissions and absorptions are each thinned by ``Binomial(inc, eta)``
    (``"net"`` is the difference of the two thinned counts). ``"changed"``: per incoming
    branch, the qubits that left in the other state are detected as such with probability
    ``eta (1 - eps)`` of that state, those that left as they came are misread into it with
    ``eta eps`` of theirs (own draws, ``part`` 2).

    Draws come from ``numpy.random.Generator(numpy.random.Philox(SeedSequence(seed,
    spawn_key=(DETECTION_SPAWN_KEY, part))))`` (``part`` 0 qubits, 1 bath), in a fixed
    order: the same seed gives the same detected counts, and independent of the
    trajectories' own streams even for the run's seed.

    Parameters
    ----------
    ens : EnsembleResult
        From :func:`trajectories.simulate` or :func:`trajectories.load`.
    count : {"g", "e", "emission", "absorption", "net", "changed"}
        The counted event.
    efficiency : float, optional
        :math:`\eta \in [0, 1]` (default 1).
    misread : tuple of two floats, optional
        :math:`(\epsilon_e, \epsilon_g)`, each in ``[0, 1]`` (default ``(0, 0)``); qubit
        counts only.
    seed : int, optional
        Non-negative seed of the draws; default the ensemble's own seed (``ens.seed``).

    Returns
    -------
    ndarray of int64, shape (M, C)
        Detected cumulative counts; with perfect detection the true counts (no draws).

    Raises
    ------
    ValueError
        One line naming the parameter, value and range, for an unknown count, an
        efficiency or misread outside ``[0, 1]``, misreads of a bath count, or a bad seed.
    """
    check_count(count)
    det = Detection(efficiency, misread)
    det.check_count(count)
    if det.ideal:
        return true_counts(ens, count)
    seed = seed_of(ens, seed)
    eta = det.efficiency
    per = ens.per_trajectory
    if count == "changed":  # a qubit counts when detected in the state it did not come in
        eps_e, eps_g = det.misread
        rng = np.random.Generator(
            np.random.Philox(np.random.SeedSequence(seed, spawn_key=(DETECTION_SPAWN_KEY, 2)))
        )
        inc = np.zeros(per.qubit_g.shape[:2], dtype=np.int64)
        for j, (came, other, same) in enumerate(_changed_columns(ens)):
            right, wrong = (1.0 - eps_g, eps_e) if came == "e" else (1.0 - eps_e, eps_g)
            inc += _thin(rng, _increments(np.asarray(other[:, :, j], np.int64)), eta * right)
            inc += _thin(rng, _increments(np.asarray(same[:, :, j], np.int64)), eta * wrong)
        return np.cumsum(inc, axis=1)
    if count in QUBIT_COUNTS:
        eps_e, eps_g = det.misread
        rng = np.random.Generator(
            np.random.Philox(np.random.SeedSequence(seed, spawn_key=(DETECTION_SPAWN_KEY, 0)))
        )
        inc_g = _increments(per.qubit_g.sum(axis=2, dtype=np.int64))
        inc_e = _increments(per.qubit_e.sum(axis=2, dtype=np.int64))
        g_as_g, g_as_e = _split(rng, inc_g, eta * (1.0 - eps_g), eta * eps_g)
        e_as_e, e_as_g = _split(rng, inc_e, eta * (1.0 - eps_e), eta * eps_e)
        inc = g_as_g + e_as_g if count == "g" else e_as_e + g_as_e
        return np.cumsum(inc, axis=1)
    rng = np.random.Generator(
        np.random.Philox(np.random.SeedSequence(seed, spawn_key=(DETECTION_SPAWN_KEY, 1)))
    )
    emitted = np.cumsum(_thin(rng, _increments(per.emissions.astype(np.int64)), eta), axis=1)
    absorbed = np.cumsum(_thin(rng, _increments(per.absorptions.astype(np.int64)), eta), axis=1)
    if count == "emission":
        return emitted
    if count == "absorption":
        return absorbed
    return absorbed - emitted
