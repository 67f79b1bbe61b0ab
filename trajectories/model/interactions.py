r"""What happens during one collision: the qubit-cavity interaction.

Two interactions, both resonant (qubit and cavity at the frequency :math:`\omega`):

- :class:`JaynesCummings` (the default): :math:`U = \exp[-i\theta(a\sigma_+ + a^\dagger
  \sigma_-)]`, the rotating-wave limit the paper simulates (its Eq. 5). Exactly
  excitation-conserving; the banded channel of :mod:`trajectories.channels.jaynes_cummings`.
- :class:`Rabi`: the full dipole coupling of the paper's Eqs. 2-4, counter-rotating
  terms included, optionally with the frequency modulation of its Eq. 6
  (:class:`Modulation`). The collision unitary is a time-ordered exponential,
  integrated numerically by :mod:`trajectories.channels.rabi_unitary`.

Units: time in :math:`1/\omega`, so a Rabi collision with coupling ``g_over_omega`` lasts
:math:`\omega\tau = \theta/(g/\omega)`. ``theta = g tau`` keeps its meaning: the
Jaynes-Cummings part of the collision is the same as in the default model.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..validation import integer_at_least, real_in_range

__all__ = [
    "JaynesCummings",
    "Rabi",
    "Modulation",
    "Interaction",
    "interaction_from_dict",
    "phase_schedule",
    "MAX_PERIOD",
]

#: Largest coupling accepted: deep-strong coupling (g > omega) needs cutoffs far beyond
#: what a dense collision unitary handles; the ultrastrong study (docs/ULTRASTRONG.md)
#: stops at g = omega.
MAX_G_OVER_OMEGA = 2.0


@dataclasses.dataclass(frozen=True)
class JaynesCummings:
    r"""The rotating-wave (Jaynes-Cummings) collision: the paper's Eq. 5, the default.

    :math:`U = \exp[-i\theta(a\sigma_+ + a^\dagger\sigma_-)]` conserves
    :math:`n + P_e`, so every Kraus operator is banded (``docs/MODEL.md``, Sec. 2.1). It
    has no parameters: the strength :math:`\theta` is the model's.

    Attributes
    ----------
    kind : str
        ``"jaynes-cummings"``, the value of ``collision`` in stored parameters.
    """

    kind = "jaynes-cummings"

    def to_dict(self) -> dict[str, Any]:
        """Nothing to store: a model without a ``collision`` entry is Jaynes-Cummings.

        Returns
        -------
        dict
            ``{}``.
        """
        return {}

    def describe(self) -> str:
        """One line for reports and figure titles.

        Returns
        -------
        str
            ``"Jaynes-Cummings"``.
        """
        return "Jaynes-Cummings"


@dataclasses.dataclass(frozen=True)
class Modulation:
    r"""Simultaneous frequency modulation of qubit and cavity (the paper's Eq. 6).

    Both frequencies become :math:`\omega + \eta\nu\cos(\nu t)`; in the interaction
    picture the rotating terms are unchanged and the counter-rotating phase becomes
    :math:`\phi(t) = 2\omega t + 2\eta\sin(\nu t)`. See
    :mod:`trajectories.channels.rabi_unitary` for the derivation and the suppression
    condition, and ``docs/ULTRASTRONG.md`` for the study.

    Parameters
    ----------
    eta : float
        Modulation amplitude (dimensionless, the modulation index), ``>= 0``.
    nu_over_omega : float
        Modulation frequency in units of :math:`\omega`, ``> 0``.
    """

    eta: float
    nu_over_omega: float

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "eta", real_in_range("eta", self.eta, 0.0))
        nu = real_in_range("nu_over_omega", self.nu_over_omega, 0.0, allowed="> 0")
        if nu <= 0.0:
            raise ValueError(f"nu_over_omega must be > 0, got {nu!r}")
        set_(self, "nu_over_omega", nu)

    @classmethod
    def suppressing(cls, nu_over_omega: float, zero: int = 1) -> Modulation:
        r"""The fast-modulation suppression condition: :math:`J_0(2\eta) = 0`.

        ``eta`` is half the ``zero``-th zero of :math:`J_0` (``zero = 1``: ``eta = 1.2024...``).
        The counter-rotating coupling is then suppressed when ``nu_over_omega`` is large
        compared with 2 and with the collision's Rabi frequencies (see
        :func:`trajectories.channels.rabi_unitary.modulation_residual`).

        Parameters
        ----------
        nu_over_omega : float
            Modulation frequency in units of :math:`\omega`, ``> 0``.
        zero : int, optional
            Which zero of :math:`J_0` (1 = the first, default).

        Returns
        -------
        Modulation
            With :math:`\eta = j_{0,\mathrm{zero}}/2`.

        Examples
        --------
        >>> round(Modulation.suppressing(20.0).eta, 6)
        1.202413
        """
        from scipy.special import jn_zeros

        zero = integer_at_least("zero", zero, 1)
        return cls(eta=float(jn_zeros(0, zero)[-1]) / 2.0, nu_over_omega=nu_over_omega)

    def detuned(self, *, eta: float = 0.0, nu: float = 0.0) -> Modulation:
        r"""A copy with ``eta`` and ``nu_over_omega`` changed by the relative amounts given.

        Used to test how sharp the suppression condition is.

        Parameters
        ----------
        eta : float, optional
            Relative change of the amplitude: :math:`\eta \to \eta(1 + \mathrm{eta})`.
        nu : float, optional
            Relative change of the frequency: :math:`\nu \to \nu(1 + \mathrm{nu})`.

        Returns
        -------
        Modulation
            The detuned modulation (validated again).

        Examples
        --------
        >>> Modulation(1.0, 20.0).detuned(eta=0.5)
        Modulation(eta=1.5, nu_over_omega=20.0)
        """
        return Modulation(self.eta * (1.0 + eta), self.nu_over_omega * (1.0 + nu))


@dataclasses.dataclass(frozen=True)
class Rabi:
    r"""The full (Rabi) collision: rotating and counter-rotating terms (Eqs. 2-4, 6).

    Parameters
    ----------
    g_over_omega : float
        Coupling in units of the common frequency :math:`\omega`, in ``(0, 2]``. The
        collision lasts :math:`\omega\tau = \theta/(g/\omega)`.
    modulation : Modulation or None
        Frequency modulation of Eq. 6; ``None``: none.
    omega_tr : float or None
        :math:`\omega t_r`, the time between collision starts in units of
        :math:`1/\omega`. ``None`` (default): a multiple of :math:`2\pi` for which also
        :math:`\nu t_r` is a multiple of :math:`2\pi`, so every collision sees the same
        phases and one unitary serves all. A number: collision ``k`` (``k = 1, 2, ...``)
        starts at :math:`t_0 = (k-1) t_r` and its unitary depends on
        :math:`2\omega t_0` and :math:`\nu t_0` modulo :math:`2\pi`; must exceed the
        collision duration :math:`\omega\tau`.
    extra_levels : int or None
        Levels above the cutoff ``N`` on which the unitary is integrated (their weight
        is the collision's leakage). ``None``: chosen until the amplitude reaching the
        two highest integrated levels is below 1e-12.

    Attributes
    ----------
    kind : str
        ``"rabi"``, the value of ``collision`` in stored parameters.

    Raises
    ------
    ValueError
        If ``g_over_omega`` is outside ``(0, 2]``, ``omega_tr <= 0`` or
        ``extra_levels < 2``. (That ``omega_tr`` exceeds the collision's duration is
        checked by :class:`~trajectories.model.micromaser.Micromaser`, which knows
        :math:`\theta`.)

    Examples
    --------
    >>> col = Rabi(0.1)
    >>> col.duration(1.0)  # omega tau = theta / (g/omega)
    10.0
    >>> col.schedule()
    'the same unitary for every collision'
    """

    g_over_omega: float
    modulation: Modulation | None = None
    omega_tr: float | None = None
    extra_levels: int | None = None

    kind = "rabi"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        g = real_in_range(
            "g_over_omega", self.g_over_omega, 0.0, MAX_G_OVER_OMEGA,
            allowed=f"in (0, {MAX_G_OVER_OMEGA:g}]",
        )  # fmt: skip
        if g <= 0.0:
            raise ValueError(f"g_over_omega must be in (0, {MAX_G_OVER_OMEGA:g}], got {g!r}")
        set_(self, "g_over_omega", g)
        if self.modulation is not None and not isinstance(self.modulation, Modulation):
            raise ValueError(
                "modulation must be a trajectories.Modulation or None, "
                f"got {type(self.modulation).__name__}"
            )
        if self.omega_tr is not None:
            w = real_in_range("omega_tr", self.omega_tr, 0.0, allowed="> 0")
            if w <= 0.0:
                raise ValueError(f"omega_tr must be > 0 (or None), got {w!r}")
            set_(self, "omega_tr", w)
        if self.extra_levels is not None:
            set_(self, "extra_levels", integer_at_least("extra_levels", self.extra_levels, 2))

    def duration(self, theta: float) -> float:
        r"""Collision duration :math:`\omega\tau = \theta/(g/\omega)`.

        Parameters
        ----------
        theta : float
            Collision strength :math:`\theta = g\tau` (dimensionless).

        Returns
        -------
        float
            :math:`\omega\tau`, the duration in units of :math:`1/\omega`.
        """
        return theta / self.g_over_omega

    def to_dict(self) -> dict[str, Any]:
        """Flat plain-number description, for run files and HDF5 attributes.

        Returns
        -------
        dict of str
            ``collision`` (``"rabi"``), ``g_over_omega``, ``eta`` and ``nu_over_omega``
            (NaN without modulation), ``omega_tr`` (NaN if unset) and ``extra_levels``
            (-1 if unset). :func:`interaction_from_dict` inverts it.
        """
        m = self.modulation
        return {
            "collision": self.kind,
            "g_over_omega": self.g_over_omega,
            "eta": m.eta if m else math.nan,
            "nu_over_omega": m.nu_over_omega if m else math.nan,
            "omega_tr": math.nan if self.omega_tr is None else self.omega_tr,
            "extra_levels": -1 if self.extra_levels is None else self.extra_levels,
        }

    def describe(self) -> str:
        """One line for reports and figure titles: the coupling, modulation and schedule.

        Returns
        -------
        str
            E.g. ``"Rabi g/omega = 0.1 (the same unitary for every collision)"``.
        """
        text = f"Rabi g/omega = {self.g_over_omega:g}"
        if self.modulation is not None:
            m = self.modulation
            text += f", modulation eta = {m.eta:.6g}, nu/omega = {m.nu_over_omega:g}"
        if self.omega_tr is not None:
            text += f", omega t_r = {self.omega_tr:g}"
        return text + f" ({self.schedule()})"

    def schedule(self) -> str:
        """Which unitaries the collisions need: one, a periodic sequence, or one each.

        Returns
        -------
        str
            A sentence, from the period of :func:`phase_schedule`.
        """
        period = phase_schedule(self)[0]
        if period == 1:
            return "the same unitary for every collision"
        if period is None:
            return "a different unitary for every collision: the phases never repeat"
        return f"a periodic sequence of {period} unitaries"


#: Type of a model's ``collision``: either interaction.
Interaction = JaynesCummings | Rabi


def interaction_from_dict(d: dict[str, Any]) -> Interaction:
    """Inverse of ``to_dict``: the interaction described by flat stored parameters.

    Parameters
    ----------
    d : dict
        A model's stored parameters; only the collision's keys are read. Without a
        ``collision`` entry (files of earlier versions) the interaction is
        Jaynes-Cummings. ``bytes`` values (from HDF5) are accepted.

    Returns
    -------
    JaynesCummings or Rabi
        The interaction.

    Raises
    ------
    ValueError
        If ``collision`` names an unknown interaction.

    Examples
    --------
    >>> interaction_from_dict({})
    JaynesCummings()
    >>> interaction_from_dict(Rabi(0.1).to_dict()) == Rabi(0.1)
    True
    """
    kind = d.get("collision", JaynesCummings.kind)
    if isinstance(kind, bytes):
        kind = kind.decode()
    if kind == JaynesCummings.kind:
        return JaynesCummings()
    if kind != Rabi.kind:
        raise ValueError(f"collision must be 'jaynes-cummings' or 'rabi', got {kind!r}")
    eta, nu = float(d.get("eta", math.nan)), float(d.get("nu_over_omega", math.nan))
    w = float(d.get("omega_tr", math.nan))
    extra = int(d.get("extra_levels", -1))
    return Rabi(
        g_over_omega=float(d["g_over_omega"]),
        modulation=None if math.isnan(eta) else Modulation(eta, nu),
        omega_tr=None if math.isnan(w) else w,
        extra_levels=None if extra < 0 else extra,
    )


#: Longest period of the collision phases that is recognised as periodic.
MAX_PERIOD = 1000
_PHASE_TOL = 1e-10


def _wrapped(x: float) -> float:
    return (x + math.pi) % (2.0 * math.pi) - math.pi


def phase_schedule(col: Rabi) -> tuple[int | None, float, float]:
    r"""Period of the collision phases and their increments per collision.

    Collision ``k`` (``k = 1, 2, ...``) starts at :math:`t_0 = (k-1)t_r`, so its
    counter-rotating phase is :math:`\alpha_k = 2\omega t_0 = (k-1)\,d\alpha` and the
    modulation phase :math:`\beta_k = \nu t_0 = (k-1)\,d\beta` (mod :math:`2\pi`).

    Parameters
    ----------
    col : Rabi
        The collision; ``omega_tr`` and ``modulation`` are read.

    Returns
    -------
    period : int or None
        The smallest ``p <= MAX_PERIOD`` after which both phases repeat to 1e-10 rad,
        ``None`` if there is none (every collision differs). 1 for ``omega_tr = None``.
    d_alpha, d_beta : float
        Phase increments per collision, :math:`2\omega t_r` and :math:`\nu t_r` (rad,
        not wrapped); 0 for ``omega_tr = None``.

    Examples
    --------
    >>> import math
    >>> phase_schedule(Rabi(0.1, omega_tr=math.pi / 2))[0]  # 2 omega t_r = pi
    2
    """
    if col.omega_tr is None:
        return 1, 0.0, 0.0
    d_alpha = 2.0 * col.omega_tr
    d_beta = col.modulation.nu_over_omega * col.omega_tr if col.modulation else 0.0
    for p in range(1, MAX_PERIOD + 1):
        if abs(_wrapped(p * d_alpha)) < _PHASE_TOL and abs(_wrapped(p * d_beta)) < _PHASE_TOL:
            return p, d_alpha, d_beta
    return None, d_alpha, d_beta
