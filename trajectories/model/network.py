r"""Two cavities charged by one qubit stream: the network model.

Two cavity modes A and B (the batteries, both resonant with the qubits, energy
:math:`\hbar\omega` per photon) meet each qubit of one stream, in one of two topologies
(``docs/MODEL.md``, Sec. 13):

- ``"series"``: the qubit meets A (Jaynes-Cummings, :math:`\theta_A`), then B
  (:math:`\theta_B`), then leaves; it is not measured in between:
  :math:`U = U_B U_A`.
- ``"simultaneous"``: the qubit couples to both at once for the same time,
  :math:`U = \exp\{-i[\theta_A(a\sigma_+ + a^\dagger\sigma_-) +
  \theta_B(b\sigma_+ + b^\dagger\sigma_-)]\}`.

Between collisions each cavity loses photons to its own thermal bath (``gamma_tr`` and
``nbar`` per cavity, or shared). A :class:`Network` is immutable and validated on
construction; :func:`~trajectories.solvers.exact.solve_exact`,
:func:`~trajectories.solvers.montecarlo.simulate.simulate` and
:func:`~trajectories.solvers.spectral.steady_state` take it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..validation import complex_number, integer_at_least, real_in_range, show
from .imperfections import Arrivals, ThetaSpread
from .micromaser import COHERENCE_TOL, Micromaser, QubitStream

__all__ = ["Network", "TOPOLOGIES", "MAX_NETWORK_LEVELS"]

#: The two ways one qubit meets the two cavities.
TOPOLOGIES = ("series", "simultaneous")

#: Largest joint dimension ``N_A N_B`` a network accepts. The exact solver holds the joint
#: density matrix, ``16 (N_A N_B)^2`` bytes (1 GiB at 8192 levels); the solvers also check
#: the memory of the machine they run on before any allocation.
MAX_NETWORK_LEVELS = 8192


def _pair(name: str, value: object, check) -> tuple:
    """``value`` as a checked pair: a 2-sequence, or one value shared by both cavities."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if len(items) != 2:
            raise ValueError(
                f"{name} must be one value or a pair (cavity A, cavity B), got {show(value)} "
                f"with {len(items)} entries"
            )
        return tuple(check(f"{name}[{i}]", v) for i, v in enumerate(items))
    v = check(name, value)
    return (v, v)


def _strict_pair(name: str, value: object, check) -> tuple:
    """``value`` as a checked pair; a single value is refused (each cavity needs its own)."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise ValueError(
            f"{name} must be a pair (cavity A, cavity B), got {show(value)}: give both "
            f"cavities' values, e.g. {name}=({show(value)}, {show(value)})"
        )
    return _pair(name, value, check)


@dataclasses.dataclass(frozen=True)
class Network(QubitStream):
    r"""Two cavities A and B charged by one stream of qubits.

    Parameters
    ----------
    theta : pair of float
        Collision strengths ``(theta_A, theta_B)`` (dimensionless, ``g tau`` of each
        cavity), each ``>= 0``. A pair is required: ``theta_B = 0`` uncouples cavity B.
    q : float
        Ground-state population of each incoming qubit, in ``[0, 1]``.
    c : complex
        Qubit coherence parameter, ``abs(c) <= 1`` (the qubit state of
        :class:`~trajectories.model.micromaser.Micromaser`).
    gamma_tr : float or pair of float
        Decay rate of each cavity times the mean interval between qubits, ``>= 0``; one
        value is shared by both cavities.
    nbar : float or pair of float
        Thermal photon number of each cavity's bath, ``>= 0``; one value is shared.
    cutoff : pair of int
        Fock cutoffs ``(N_A, N_B)``, each ``>= 2``, with ``N_A N_B <=``
        :data:`MAX_NETWORK_LEVELS`. A pair is required.
    topology : {"series", "simultaneous"}
        How each qubit meets the cavities (module docstring).
    arrivals : Arrivals or str
        When the qubits arrive (:class:`~trajectories.model.imperfections.Arrivals`); both
        cavities lose photons during the same random interval.
    theta_spread : ThetaSpread
        Qubit-to-qubit spread of the collision strength
        (:class:`~trajectories.model.imperfections.ThetaSpread`): a qubit with factor ``x``
        meets A with ``x theta_A`` and B with ``x theta_B`` (one velocity through both).

    Raises
    ------
    ValueError
        If a parameter is outside its domain or a pair has the wrong length (the message
        names it, its value and the allowed range), before any work.

    Notes
    -----
    Energies in units of :math:`\hbar\omega` (photons), time in collisions; the joint basis
    is :math:`|n_A, n_B\rangle`, flattened as ``n_A * N_B + n_B``.

    Examples
    --------
    >>> import trajectories as tj
    >>> net = tj.Network(theta=(0.8, 0.8), q=0.25, c=1.0, gamma_tr=0.1, cutoff=(10, 10))
    >>> net.gamma_tr, net.dimension
    ((0.1, 0.1), 100)
    >>> net.cavity(0).theta
    0.8
    """

    theta: tuple[float, float]
    q: float
    c: complex = 0.0
    gamma_tr: Any = 0.0
    nbar: Any = 0.0
    cutoff: tuple[int, int] = (20, 20)
    topology: str = "series"
    arrivals: Arrivals = Arrivals()
    theta_spread: ThetaSpread = ThetaSpread()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {TOPOLOGIES}, got {show(self.topology)}")
        set_(self, "theta", _strict_pair("theta", self.theta,
                                         lambda n, v: real_in_range(n, v, 0.0)))  # fmt: skip
        set_(self, "q", real_in_range("q", self.q, 0.0, 1.0))
        c = complex_number("c", self.c, 1.0, COHERENCE_TOL)
        if abs(c) > 1.0:
            c = c / abs(c)
        set_(self, "c", c)
        set_(self, "gamma_tr", _pair("gamma_tr", self.gamma_tr,
                                     lambda n, v: real_in_range(n, v, 0.0)))  # fmt: skip
        set_(self, "nbar", _pair("nbar", self.nbar, lambda n, v: real_in_range(n, v, 0.0)))
        set_(self, "cutoff", _strict_pair("cutoff", self.cutoff,
                                          lambda n, v: integer_at_least(n, v, 2)))  # fmt: skip
        na, nb = self.cutoff
        if na * nb > MAX_NETWORK_LEVELS:
            raise ValueError(
                f"cutoff must give N_A * N_B <= {MAX_NETWORK_LEVELS} joint levels (the exact "
                f"solver holds a dense joint density matrix, 16 (N_A N_B)^2 bytes), got "
                f"cutoff={self.cutoff!r} ({na * nb} levels)"
            )
        arrivals = self.arrivals
        if isinstance(arrivals, str):
            arrivals = Arrivals(arrivals)
            set_(self, "arrivals", arrivals)
        if not isinstance(arrivals, Arrivals):
            raise ValueError(
                "arrivals must be trajectories.Arrivals.regular(), .poisson() or "
                f".bernoulli(p), got {type(arrivals).__name__}"
            )
        if not isinstance(self.theta_spread, ThetaSpread):
            raise ValueError(
                "theta_spread must be trajectories.ThetaSpread.gaussian(sigma), .uniform(w), "
                f".discrete(values, weights) or .none(), got {type(self.theta_spread).__name__}"
            )

    # ---------------------------------------------------------------- derived
    @property
    def dimension(self) -> int:
        """Joint Hilbert-space dimension ``N_A N_B``."""
        return self.cutoff[0] * self.cutoff[1]

    @property
    def is_ideal_beam(self) -> bool:
        """True for regular arrivals and no theta spread."""
        return self.arrivals.is_regular and self.theta_spread.is_none

    @property
    def has_loss(self) -> bool:
        """True when either cavity is coupled to its bath."""
        return self.gamma_tr[0] > 0.0 or self.gamma_tr[1] > 0.0

    def cavity(self, i: int) -> Micromaser:
        """Cavity ``i`` (0 = A, 1 = B) alone: the single-battery model with its parameters.

        Parameters
        ----------
        i : {0, 1}
            Which cavity.

        Returns
        -------
        Micromaser
            Its ``theta``, ``gamma_tr``, ``nbar`` and ``cutoff``, the network's qubits,
            arrivals and theta spread.
        """
        if i not in (0, 1):
            raise ValueError(f"i must be 0 (cavity A) or 1 (cavity B), got {show(i)}")
        return Micromaser(
            theta=self.theta[i], q=self.q, c=self.c, gamma_tr=self.gamma_tr[i],
            nbar=self.nbar[i], cutoff=self.cutoff[i], arrivals=self.arrivals,
            theta_spread=self.theta_spread,
        )  # fmt: skip

    def replace(self, **changes: Any) -> Network:
        """A copy with some parameters changed (validated again).

        Parameters
        ----------
        **changes
            Any of the constructor's parameters, by name.

        Returns
        -------
        Network
            The new model.
        """
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line: topology, theta pair, qubit state, loss, cutoffs.

        Returns
        -------
        str
            The description.
        """
        ta, tb = self.theta
        return (
            f"network ({self.topology}): theta=({ta:.6g}, {tb:.6g}), q={self.q:g}, "
            f"c={self.c:.6g}, gamma_tr={self.gamma_tr}, nbar={self.nbar}, cutoff={self.cutoff}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Parameters as plain Python numbers and lists (``c`` split into parts).

        Returns
        -------
        dict of str
            ``network`` (the topology), ``theta``, ``q``, ``c_real``, ``c_imag``,
            ``gamma_tr``, ``nbar``, ``cutoff`` (pairs as two-element lists) and the beam's
            keys when it is not ideal.
        """
        return {
            "network": self.topology,
            "theta": list(self.theta),
            "q": self.q,
            "c_real": self.c.real,
            "c_imag": self.c.imag,
            "gamma_tr": list(self.gamma_tr),
            "nbar": list(self.nbar),
            "cutoff": list(self.cutoff),
            **self.arrivals.to_dict(),
            **self.theta_spread.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Network:
        """Inverse of :meth:`to_dict` (numpy arrays and HDF5 attributes accepted).

        Parameters
        ----------
        d : dict
            The stored parameters.

        Returns
        -------
        Network
            The model, validated.

        Examples
        --------
        >>> net = Network(theta=(0.8, 0.4), q=0.25, c=0.5j, gamma_tr=(0.1, 0.05),
        ...               cutoff=(8, 6), topology="simultaneous")
        >>> Network.from_dict(net.to_dict()) == net
        True
        """
        topo = d["network"]
        if isinstance(topo, bytes):
            topo = topo.decode()
        return cls(
            theta=tuple(float(x) for x in np.atleast_1d(d["theta"])),
            q=float(d["q"]),
            c=complex(float(d["c_real"]), float(d["c_imag"])),
            gamma_tr=tuple(float(x) for x in np.atleast_1d(d["gamma_tr"])),
            nbar=tuple(float(x) for x in np.atleast_1d(d["nbar"])),
            cutoff=tuple(int(x) for x in np.atleast_1d(d["cutoff"])),
            topology=str(topo),
            arrivals=Arrivals.from_dict(d),
            theta_spread=ThetaSpread.from_dict(d),
        )


def is_network(model: object) -> bool:
    """True for a :class:`Network` (used by the solvers to dispatch)."""
    return isinstance(model, Network)
