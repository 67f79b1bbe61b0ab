r"""The Rabi collisions of a model: one Kraus channel per distinct collision phase.

Collision ``k`` (1, 2, ...) is :math:`U_k = R_{\alpha_k} W(\beta_k) R_{\alpha_k}^\dagger`
(:mod:`trajectories.channels.rabi_unitary`): the counter-rotating phase runs on in absolute
time when ``omega_tr`` is set, so collisions may differ. :class:`RabiCollisions` builds the
:class:`~trajectories.channels.kraus.KrausChannel` of each distinct phase on demand (all
``period`` of them for a periodic schedule, one per collision otherwise; the schedule is
:func:`~trajectories.model.interactions.phase_schedule`). The Kraus operators keep their
non-negligible diagonals (entries above :data:`~trajectories.channels.kraus.DROP_TOL`);
the weight a collision pushes above the cutoff is their leak form.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.interactions import Rabi, phase_schedule
from ..model.micromaser import Micromaser
from .kraus import DROP_TOL, KrausChannel, qubit_branches
from .rabi_unitary import EDGE_TOL, RabiUnitary, rabi_unitary

__all__ = ["RabiCollisions"]


class RabiCollisions:
    r"""The collision channels of a Rabi model, collision by collision.

    :meth:`at` returns the :class:`~trajectories.channels.kraus.KrausChannel` of collision ``k``
    (1, 2, ...); channels are built on demand and cached per distinct phase set (all
    ``period`` of them for a periodic schedule; for an aperiodic one the cache keeps
    the last ``APERIODIC_CACHE``). Collision ``k`` is
    :math:`U_k = R_{\alpha_k} W(\beta_k) R_{\alpha_k}^\dagger` (module docstring); its
    Kraus operators keep the diagonals with an entry above
    :data:`~trajectories.channels.kraus.DROP_TOL` (``docs/MODEL.md``, Sec. 2.2). A
    :class:`~trajectories.channels.collisions.CollisionSequence`.

    Parameters
    ----------
    model : Micromaser
        A model with ``collision=Rabi(...)``.
    method : str, optional
        Integrator of the unitary, ``"auto"``, ``"eigen"``, ``"rk"`` or ``"magnus"``
        (:func:`~trajectories.channels.rabi_unitary.rabi_unitary`).

    Attributes
    ----------
    model : Micromaser
        The model.
    method : str
        As given.
    period : int or None
        Number of distinct collisions (1: all alike, ``None``: every one differs).
    d_alpha, d_beta : float
        Phase increments per collision, rad
        (:func:`~trajectories.model.interactions.phase_schedule`).
    levels : int
        Cavity levels ``N + Delta`` the unitaries are integrated on.
    unitary_method : str
        The integrator used (``"auto"`` resolved).
    branches : list of (float, complex, complex)
        The qubit branches (:func:`~trajectories.channels.kraus.qubit_branches`).
    edge : float
        Largest amplitude that reached the two highest integrated levels so far (a
        diagnostic of the integration space; the first unitary is grown until it is below
        ``EDGE_TOL`` = 1e-12 unless ``extra_levels`` is fixed).
    APERIODIC_CACHE : int
        Channels kept for an aperiodic schedule (4).
    counter_rotating : bool
        True: the collisions create photons.

    Raises
    ------
    ValueError
        If the model's collision is not Rabi, or (from :meth:`at`) if a later collision
        phase needs more integrated levels than the first.
    """

    APERIODIC_CACHE = 4
    #: the counter-rotating terms create photons (see CollisionSequence)
    counter_rotating = True

    def __init__(self, model: Micromaser, method: str = "auto"):
        if not isinstance(model.collision, Rabi):
            raise ValueError("RabiCollisions needs a model with collision=trajectories.Rabi(...)")
        self.model = model
        self.method = method
        col = model.collision
        self.period, self.d_alpha, self.d_beta = phase_schedule(col)
        first = rabi_unitary(model, method=method)
        self.levels = first.levels
        self.unitary_method = first.method
        self._w = {0.0: first}
        self._channels: dict[int, KrausChannel] = {}
        self.branches = qubit_branches(model)
        #: largest edge amplitude seen so far (diagnostic of the integration space)
        self.edge = first.edge

    @property
    def is_periodic(self) -> bool:
        """True when the collision phases repeat (``period`` is not ``None``)."""
        return self.period is not None

    def set_index(self, k: int) -> int:
        """Index of the phase set of collision ``k``.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1``.

        Returns
        -------
        int
            ``(k - 1) % period``, or ``k - 1`` for an aperiodic schedule.
        """
        return (k - 1) % self.period if self.period is not None else k - 1

    def phases(self, k: int) -> tuple[float, float]:
        r"""The phases of collision ``k``.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1``.

        Returns
        -------
        alpha, beta : float
            :math:`\alpha_k = 2\omega t_0` and :math:`\beta_k = \nu t_0` modulo
            :math:`2\pi`, in ``[0, 2 pi)``, with :math:`t_0 = (k-1) t_r`.
        """
        i = self.set_index(k)
        two_pi = 2.0 * math.pi
        return (i * self.d_alpha) % two_pi, (i * self.d_beta) % two_pi

    def _unitary(self, beta: float) -> RabiUnitary:
        if self.model.collision.modulation is None:
            return self._w[0.0]  # W does not depend on beta without modulation
        key = round(beta, 12)
        if key not in self._w:
            w = rabi_unitary(self.model, beta=beta, method=self.method, levels=self.levels)
            if w.edge > 1e3 * EDGE_TOL:
                raise ValueError(
                    f"collision phase beta = {beta:.6g} needs more integrated levels "
                    f"than {self.levels} (edge amplitude {w.edge:.2g}); pass "
                    f"Rabi(extra_levels=...) > {self.levels - self.model.cutoff}"
                )
            self.edge = max(self.edge, w.edge)
            if len(self._w) > self.APERIODIC_CACHE and not self.is_periodic:
                self._w.pop(next(iter(self._w)))
            self._w[key] = w
        return self._w[key]

    def at(self, k: int) -> KrausChannel:
        """The channel of collision ``k``, built on first use.

        Parameters
        ----------
        k : int
            Collision index, ``k >= 1``.

        Returns
        -------
        KrausChannel
            Dense-built operators stored by diagonals, with the leak form of the weight
            above the cutoff.
        """
        i = self.set_index(k)
        ch = self._channels.get(i)
        if ch is None:
            alpha, beta = self.phases(k)
            ch = self._channel(alpha, self._unitary(beta))
            if not self.is_periodic and len(self._channels) >= self.APERIODIC_CACHE:
                self._channels.pop(next(iter(self._channels)))
            self._channels[i] = ch
        return ch

    def _channel(self, alpha: float, w: RabiUnitary) -> KrausChannel:
        n, big = self.model.cutoff, w.levels
        # U = R W R^dag with R = exp(i alpha X / 2): the qubit part of R is a phase per
        # block, the cavity part D = exp(i alpha n / 2) conjugates every block.
        d = np.exp(0.5j * alpha * np.arange(big))
        qphase = {"e": np.exp(0.5j * alpha), "g": 1.0}
        ops, leaks = [], []
        for j, (lam, amp_e, amp_g) in enumerate(self.branches):
            r = math.sqrt(lam)
            for o in "eg":
                blk = (
                    r
                    * qphase[o]
                    * (
                        amp_e * np.conj(qphase["e"]) * w.block(o, "e")
                        + amp_g * np.conj(qphase["g"]) * w.block(o, "g")
                    )
                )
                blk = d[:, None] * blk[:, :n] * np.conj(d[:n])[None, :]
                ops.append((blk[:n], j, o))
                leaks.append(blk[n:])
        return KrausChannel.from_dense(ops, leaks, DROP_TOL)
