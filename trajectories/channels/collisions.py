"""The collisions of a model: which channel acts at collision ``k``.

Every solver asks a *collision sequence* for the channel of collision ``k`` (``k >= 1``)
through one interface: ``at(k)`` returns a :class:`~trajectories.channels.kraus.KrausChannel`,
``period`` is the number of distinct channels that repeat (1: every collision alike; ``None``:
every collision differs) and ``set_index(k)`` numbers them. :func:`collision_sequence` is
the only place that looks at which interaction a model has:

- Jaynes-Cummings: :class:`SameCollision` of
  :func:`~trajectories.channels.jaynes_cummings.jaynes_cummings_channel`;
- Rabi: :class:`~trajectories.channels.rabi.RabiCollisions` (one channel per distinct
  counter-rotating phase).

With a theta spread (:class:`~trajectories.model.imperfections.ThetaSpread`) the channel of a
collision is the average over the spread (:mod:`trajectories.channels.spread`): for
Jaynes-Cummings one averaged channel, for Rabi the mixture :class:`MixedCollisions` of one
Rabi sequence per discrete value.
"""

from __future__ import annotations

from typing import Protocol

from ..model.micromaser import Micromaser
from .jaynes_cummings import jaynes_cummings_channel
from .kraus import KrausChannel

__all__ = [
    "CollisionSequence",
    "MixedCollisions",
    "SameCollision",
    "collision_sequence",
    "collision_channel",
    "keeps_diagonal",
]


class CollisionSequence(Protocol):
    """The channels of collisions ``1, 2, ...`` of a model (a protocol).

    Implemented by :class:`SameCollision` and
    :class:`~trajectories.channels.rabi.RabiCollisions`; every solver uses only this.

    Attributes
    ----------
    period : int or None
        Number of distinct channels, repeating with that period: 1 when every collision
        is the same, ``None`` when every collision differs.
    counter_rotating : bool
        True when the collisions create photons (counter-rotating terms).
    """

    period: int | None
    #: True when the collisions create photons (counter-rotating terms): a truncation error
    #: then says that they pumped the weight up to the cutoff
    counter_rotating: bool

    def at(self, k: int) -> KrausChannel:
        """The channel of collision ``k``.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1``.

        Returns
        -------
        KrausChannel
            The channel acting on the cavity at that collision.
        """

    def set_index(self, k: int) -> int:
        """Index of the distinct channel collision ``k`` uses.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1``.

        Returns
        -------
        int
            In ``0 .. period - 1`` (or ``k - 1`` when the period is ``None``).
        """


class SameCollision:
    """Every collision is the same channel (Jaynes-Cummings, or a Rabi collision whose
    phases repeat after each collision).

    Parameters
    ----------
    channel : KrausChannel
        The channel of every collision.

    Attributes
    ----------
    channel : KrausChannel
        The channel.
    period : int
        1.
    is_periodic : bool
        True.
    counter_rotating : bool
        False: the collisions conserve the excitation number.
    """

    period = 1
    is_periodic = True
    #: how an average over a theta spread was computed
    #: (:class:`~trajectories.channels.spread.SpreadQuadrature`; None without a spread)
    quadrature = None
    #: the collisions conserve the excitation number: leakage comes only from the state's
    #: own weight reaching the cutoff
    counter_rotating = False

    def __init__(self, channel: KrausChannel):
        self.channel = channel

    def at(self, k: int) -> KrausChannel:
        """The channel of collision ``k``: always the same.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1`` (not used).

        Returns
        -------
        KrausChannel
            :attr:`channel`.
        """
        return self.channel

    def set_index(self, k: int) -> int:
        """Index of the distinct channel collision ``k`` uses: always 0.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1`` (not used).

        Returns
        -------
        int
            0.
        """
        return 0


def collision_sequence(model: Micromaser, method: str = "auto") -> CollisionSequence:
    """The collision channels of ``model``: the only place that looks at its interaction.

    Parameters
    ----------
    model : Micromaser
        The model.
    method : str, optional
        Integrator of a Rabi collision's unitary (see
        :func:`~trajectories.channels.rabi_unitary.rabi_unitary`); ``"auto"`` by default.
        Not used for Jaynes-Cummings.

    Returns
    -------
    CollisionSequence
        :class:`SameCollision` for Jaynes-Cummings,
        :class:`~trajectories.channels.rabi.RabiCollisions` for Rabi.
    """
    if model.is_jaynes_cummings:
        if model.theta_spread.is_none:
            return SameCollision(jaynes_cummings_channel(model))
        from .spread import averaged_collision

        channel, quadrature = averaged_collision(model)
        out = SameCollision(channel)
        out.quadrature = quadrature
        return out
    from .rabi import RabiCollisions

    if model.theta_spread.is_none:
        return RabiCollisions(model, method=method)
    from ..model.imperfections import ThetaSpread

    x, w = model.theta_spread.nodes()
    parts = [
        RabiCollisions(model.replace(theta=model.theta * xj, theta_spread=ThetaSpread()), method)
        for xj in x
    ]
    return MixedCollisions(parts, w)


class MixedCollisions:
    """Collision ``k`` is the mixture of the ``k``-th channels of several sequences.

    The exact collision of a Rabi model with a discrete theta spread: one
    :class:`~trajectories.channels.rabi.RabiCollisions` per value, mixed with its weight
    (:func:`~trajectories.channels.spread.mixture`). A :class:`CollisionSequence`.

    Parameters
    ----------
    parts : list of CollisionSequence
        One sequence per value of theta.
    weights : ndarray of float64, shape (J,)
        Their probabilities.

    Attributes
    ----------
    parts : list of CollisionSequence
        As given.
    weights : ndarray of float64
        As given.
    period : int or None
        The common period of the parts (``None`` if they differ or any is aperiodic).
    counter_rotating : bool
        True if any part creates photons.
    """

    def __init__(self, parts: list, weights):
        self.parts = list(parts)
        self.weights = weights
        periods = {p.period for p in self.parts}
        self.period = periods.pop() if len(periods) == 1 else None
        self.counter_rotating = any(p.counter_rotating for p in self.parts)
        self._cache: dict[int, KrausChannel] = {}

    @property
    def is_periodic(self) -> bool:
        """True when the mixture repeats (every part with the same period)."""
        return self.period is not None

    def set_index(self, k: int) -> int:
        """Index of the distinct channel collision ``k`` uses.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1``.

        Returns
        -------
        int
            ``(k - 1) mod period``, or ``k - 1`` without a common period.
        """
        return (k - 1) % self.period if self.period else k - 1

    def at(self, k: int) -> KrausChannel:
        """The mixture of the parts' channels of collision ``k``.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1``.

        Returns
        -------
        KrausChannel
            :math:`\\sum_j w_j \\Phi_{j,k}` (cached per distinct channel).
        """
        from .spread import mixture

        i = self.set_index(k)
        if i not in self._cache:
            if self.period is None:
                self._cache.clear()
            self._cache[i] = mixture([p.at(k) for p in self.parts], self.weights)
        return self._cache[i]


def keeps_diagonal(model: Micromaser) -> bool:
    """Whether the collisions of ``model`` keep the diagonal index ``d = n - m`` of rho.

    Then the populations evolve alone (a Markov chain on ``N`` levels) and the
    coherences decouple. Known without building the channel: it is the Jaynes-Cummings
    collision with incoherent qubits. Equals
    ``collision_sequence(model).at(1).keeps_diagonal``.

    Parameters
    ----------
    model : Micromaser
        The model.

    Returns
    -------
    bool
        True for Jaynes-Cummings with ``c = 0`` (or ``q`` in ``{0, 1}``).
    """
    return model.is_jaynes_cummings and model.is_incoherent


def collision_channel(model: Micromaser, k: int = 1) -> KrausChannel:
    """The channel of collision ``k`` of ``model``.

    Parameters
    ----------
    model : Micromaser
        The model.
    k : int, optional
        Collision index, ``k >= 1`` (default 1, the first). Only a Rabi collision with
        a finite ``omega_tr`` depends on it.

    Returns
    -------
    KrausChannel
        The collision channel on ``N = model.cutoff`` levels.

    Examples
    --------
    >>> from trajectories.model.micromaser import Micromaser
    >>> ch = collision_channel(Micromaser(theta=0.8, q=0.25, c=0.0, cutoff=10))
    >>> [(op.branch, op.outcome) for op in ch.kraus]
    [(0, 'e'), (0, 'g'), (1, 'e'), (1, 'g')]
    """
    return collision_sequence(model).at(k)
