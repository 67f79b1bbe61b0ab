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
"""

from __future__ import annotations

from typing import Protocol

from ..model.micromaser import Micromaser
from .jaynes_cummings import jaynes_cummings_channel
from .kraus import KrausChannel

__all__ = [
    "CollisionSequence",
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
        return SameCollision(jaynes_cummings_channel(model))
    from .rabi import RabiCollisions

    return RabiCollisions(model, method=method)


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
