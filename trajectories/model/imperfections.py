r"""A real beam: when the qubits arrive and how long each one interacts.

Two imperfections of the qubit stream, each a parameter of
:class:`~trajectories.model.micromaser.Micromaser` whose default is the paper's ideal
(``docs/MODEL.md``, Sec. 9):

- :class:`Arrivals`: the interval ``T`` before each collision is random with mean ``t_r``:
  regular (``T = t_r``, the default), Poisson (``T`` exponential) or Bernoulli(``p``)
  (each slot of length ``p t_r`` carries a qubit with probability ``p``: ``T = j p t_r``,
  ``j`` geometric). The exact one-interval channel is the average of the loss channel over
  ``T``: :mod:`trajectories.channels.arrivals`.
- :class:`ThetaSpread`: each qubit has its own collision strength
  :math:`\theta_i = \theta x_i`, ``x_i`` drawn from a distribution with mean near 1
  (velocity spread of a beam, jitter of a pulse): Gaussian (relative standard deviation
  ``sigma``, truncated at :math:`\theta_i \ge 0`), uniform (relative half-width ``w``) or
  a discrete distribution. The collision channel is the average over :math:`\theta_i`:
  exact for a discrete distribution, a converged quadrature (:meth:`ThetaSpread.nodes`)
  for the continuous ones.

Detection (efficiency and misreads of the outgoing qubits) changes what is *counted*, not
the dynamics, so it is an argument of the counting statistics
(:mod:`trajectories.solvers.counting`, :mod:`trajectories.statistics.counting`), not of
the model.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..validation import real_in_range, show

__all__ = ["Arrivals", "ThetaSpread", "QUADRATURE_TOL", "GAUSSIAN_TAIL"]

#: The quadrature of a continuous spread doubles its nodes until the averaged collision
#: weights (``cos`` and ``sin`` products of every level) change by less than this.
QUADRATURE_TOL = 1e-14
#: A Gaussian spread is integrated over ``|x - 1| <= GAUSSIAN_TAIL * sigma`` (and
#: ``x >= 0``): the weight beyond, ``erfc(GAUSSIAN_TAIL / sqrt 2) = 1.6e-19``, is below
#: double-precision rounding.
GAUSSIAN_TAIL = 9.0
_WEIGHT_SUM_TOL = 1e-12


@dataclasses.dataclass(frozen=True)
class Arrivals:
    r"""When the qubits arrive: the distribution of the interval before each collision.

    The mean interval is always ``t_r``, so ``gamma_tr`` keeps its meaning (the loss per
    mean interval). Build with
    :meth:`~trajectories.model.imperfections.Arrivals.regular`,
    :meth:`~trajectories.model.imperfections.Arrivals.poisson` or
    :meth:`~trajectories.model.imperfections.Arrivals.bernoulli`.

    Parameters
    ----------
    kind : {"regular", "poisson", "bernoulli"}
        The distribution of ``T``.
    p : float
        Bernoulli slot probability, in ``(0, 1]`` (1 for the other kinds).

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``p`` is outside ``(0, 1]``.

    Examples
    --------
    >>> Arrivals.bernoulli(0.5).describe()
    'Bernoulli arrivals (p = 0.5)'
    >>> Arrivals.bernoulli(1.0) == Arrivals.regular()
    True
    """

    kind: str = "regular"
    p: float = 1.0

    KINDS = ("regular", "poisson", "bernoulli")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(
                f"arrivals must be 'regular', 'poisson' or 'bernoulli', got {show(self.kind)}"
            )
        p = real_in_range("arrivals p", self.p, 0.0, 1.0, allowed="in (0, 1]")
        if p <= 0.0:
            raise ValueError(f"arrivals p must be in (0, 1], got {p!r}")
        if self.kind != "bernoulli" and p != 1.0:
            raise ValueError(
                f"arrivals p applies to Bernoulli arrivals only, got kind={self.kind!r}"
            )
        if self.kind == "bernoulli" and p == 1.0:  # Bernoulli(1) is regular
            object.__setattr__(self, "kind", "regular")
        object.__setattr__(self, "p", p)

    @classmethod
    def regular(cls) -> Arrivals:
        """One qubit every ``t_r`` exactly (the paper's model, the default).

        Returns
        -------
        Arrivals
            Regular arrivals.
        """
        return cls("regular")

    @classmethod
    def poisson(cls) -> Arrivals:
        """Poisson arrivals: exponential intervals of mean ``t_r``.

        Returns
        -------
        Arrivals
            Poisson arrivals.
        """
        return cls("poisson")

    @classmethod
    def bernoulli(cls, p: float) -> Arrivals:
        """Each slot of length ``p t_r`` carries a qubit with probability ``p`` (``0 < p <= 1``).

        The interval is ``j p t_r`` with ``P(j) = p (1-p)^(j-1)``, ``j >= 1``: mean ``t_r``.
        ``p = 1`` is regular; ``p -> 0`` tends to Poisson.

        Parameters
        ----------
        p : float
            Slot probability, in ``(0, 1]``.

        Returns
        -------
        Arrivals
            Bernoulli arrivals (regular ones for ``p = 1``).
        """
        return cls("bernoulli", p)

    @property
    def is_regular(self) -> bool:
        """True for the ideal stream (``T = t_r``)."""
        return self.kind == "regular"

    @property
    def interval_variance(self) -> float:
        """Variance of ``T`` in units of ``t_r^2``: 0, 1 (Poisson), ``1 - p`` (Bernoulli)."""
        return {"regular": 0.0, "poisson": 1.0, "bernoulli": 1.0 - self.p}[self.kind]

    def describe(self) -> str:
        """One line for reports and figure titles.

        Returns
        -------
        str
            E.g. ``"Poisson arrivals"``.
        """
        if self.kind == "bernoulli":
            return f"Bernoulli arrivals (p = {self.p:g})"
        return f"{self.kind} arrivals"

    def to_dict(self) -> dict[str, Any]:
        """Flat stored parameters: ``{}`` for regular arrivals (files of earlier versions).

        Returns
        -------
        dict of str
            ``arrivals`` (the kind) and, for Bernoulli arrivals, ``arrivals_p``.
        """
        if self.is_regular:
            return {}
        out: dict[str, Any] = {"arrivals": self.kind}
        if self.kind == "bernoulli":
            out["arrivals_p"] = self.p
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Arrivals:
        """Inverse of :meth:`to_dict` (missing keys: regular; ``bytes`` accepted).

        Parameters
        ----------
        d : dict
            A model's stored parameters.

        Returns
        -------
        Arrivals
            The arrivals, validated.
        """
        kind = d.get("arrivals", "regular")
        if isinstance(kind, bytes):
            kind = kind.decode()
        return cls(str(kind), float(d.get("arrivals_p", 1.0)))


@dataclasses.dataclass(frozen=True)
class ThetaSpread:
    r"""How the collision strength varies from qubit to qubit: :math:`\theta_i = \theta x_i`.

    Build with
    :meth:`~trajectories.model.imperfections.ThetaSpread.none`,
    :meth:`~trajectories.model.imperfections.ThetaSpread.gaussian`,
    :meth:`~trajectories.model.imperfections.ThetaSpread.uniform` or
    :meth:`~trajectories.model.imperfections.ThetaSpread.discrete`.

    Parameters
    ----------
    kind : {"none", "gaussian", "uniform", "discrete"}
        The distribution of the relative strength ``x``.
    width : float
        Gaussian: relative standard deviation ``sigma >= 0`` (truncated at ``x >= 0``);
        uniform: relative half-width ``w`` in ``[0, 1]`` (``x`` uniform on ``[1-w, 1+w]``).
    values, weights : tuple of float
        Discrete: the relative strengths ``x_j >= 0`` and their probabilities (each in
        ``[0, 1]``, summing to 1 within 1e-12).

    Raises
    ------
    ValueError
        For an unknown kind, a negative width, a uniform width above 1, or discrete values
        and weights that are not a probability distribution; the message names the
        parameter and its allowed range.

    Notes
    -----
    A width of zero (or one discrete value 1) is no spread at all, and gives exactly the
    model without spread. ``x`` multiplies :math:`\theta = g\tau`: a spread of the
    interaction times :math:`\tau_i` (velocities) and of the coupling are the same thing
    for the collision.

    Examples
    --------
    >>> ThetaSpread.gaussian(0.05).describe()
    'Gaussian theta spread (sigma = 5%)'
    >>> ThetaSpread.discrete([0.9, 1.1], [0.5, 0.5]).nodes()
    (array([0.9, 1.1]), array([0.5, 0.5]))
    """

    kind: str = "none"
    width: float = 0.0
    values: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()

    KINDS = ("none", "gaussian", "uniform", "discrete")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.kind not in self.KINDS:
            raise ValueError(
                "theta_spread must be 'gaussian', 'uniform' or 'discrete' (or none), "
                f"got {show(self.kind)}"
            )
        if self.kind == "gaussian":
            set_(self, "width", real_in_range("theta_spread sigma", self.width, 0.0))
        elif self.kind == "uniform":
            set_(self, "width", real_in_range("theta_spread width", self.width, 0.0, 1.0))
        elif self.kind == "discrete":
            values = np.atleast_1d(np.asarray(self.values, dtype=object))
            weights = np.atleast_1d(np.asarray(self.weights, dtype=object))
            if values.ndim != 1 or values.size == 0 or values.shape != weights.shape:
                raise ValueError(
                    "theta_spread values and weights must be two non-empty lists of the same "
                    f"length, got {values.size} values and {weights.size} weights"
                )
            vals = tuple(
                real_in_range(f"theta_spread values[{i}]", v, 0.0) for i, v in enumerate(values)
            )
            wts = tuple(
                real_in_range(f"theta_spread weights[{i}]", w, 0.0, 1.0)
                for i, w in enumerate(weights)
            )
            total = math.fsum(wts)
            if abs(total - 1.0) > _WEIGHT_SUM_TOL:
                raise ValueError(
                    f"theta_spread weights must sum to 1 (within {_WEIGHT_SUM_TOL:g}), "
                    f"got {total!r}"
                )
            set_(self, "values", vals)
            set_(self, "weights", wts)
        if self.kind != "discrete" and (self.values or self.weights):
            raise ValueError("theta_spread values and weights apply to a discrete spread only")
        if self.kind == "none" and self.width != 0.0:
            raise ValueError("theta_spread width needs kind 'gaussian' or 'uniform'")
        # no spread at all: normalise to "none" so that equal physics compares equal
        trivial = (self.kind in ("gaussian", "uniform") and self.width == 0.0) or (
            self.kind == "discrete"
            and all(v == 1.0 for v, w in zip(self.values, self.weights, strict=True) if w)
        )
        if trivial:
            set_(self, "kind", "none")
            set_(self, "width", 0.0)
            set_(self, "values", ())
            set_(self, "weights", ())

    @classmethod
    def none(cls) -> ThetaSpread:
        """Every qubit has the same theta (the default).

        Returns
        -------
        ThetaSpread
            No spread.
        """
        return cls()

    @classmethod
    def gaussian(cls, sigma: float) -> ThetaSpread:
        """Gaussian ``x`` of mean 1 and standard deviation ``sigma``, truncated at ``x >= 0``.

        Parameters
        ----------
        sigma : float
            Relative standard deviation, ``>= 0`` (0: no spread).

        Returns
        -------
        ThetaSpread
            The spread.
        """
        return cls("gaussian", sigma)

    @classmethod
    def uniform(cls, w: float) -> ThetaSpread:
        """``x`` uniform on ``[1 - w, 1 + w]`` (standard deviation ``w/√3``).

        Parameters
        ----------
        w : float
            Relative half-width, in ``[0, 1]`` (0: no spread).

        Returns
        -------
        ThetaSpread
            The spread.
        """
        return cls("uniform", w)

    @classmethod
    def discrete(cls, values: Any, weights: Any) -> ThetaSpread:
        """``x = values[j]`` with probability ``weights[j]`` (an exact, finite mixture).

        Parameters
        ----------
        values : array_like of float
            Relative strengths ``x_j >= 0`` (``theta_j = theta x_j``).
        weights : array_like of float
            Their probabilities, summing to 1.

        Returns
        -------
        ThetaSpread
            The spread.
        """
        return cls(
            "discrete", 0.0, tuple(np.ravel(values).tolist()), tuple(np.ravel(weights).tolist())
        )

    @property
    def is_none(self) -> bool:
        """True when every qubit has the same theta."""
        return self.kind == "none"

    @property
    def is_discrete(self) -> bool:
        """True for a finite mixture (also the trivial spread: one value)."""
        return self.kind in ("none", "discrete")

    @property
    def lower(self) -> float:
        """Lower end of the support of ``x`` (a Gaussian's is where the quadrature stops)."""
        if self.kind == "gaussian":
            return max(0.0, 1.0 - GAUSSIAN_TAIL * self.width)
        if self.kind == "uniform":
            return 1.0 - self.width
        return min(self.values) if self.values else 1.0

    @property
    def upper(self) -> float:
        """Upper end of the support of ``x``."""
        if self.kind == "gaussian":
            return 1.0 + GAUSSIAN_TAIL * self.width
        if self.kind == "uniform":
            return 1.0 + self.width
        return max(self.values) if self.values else 1.0

    def density(self, x: np.ndarray) -> np.ndarray:
        """Probability density of a continuous spread at ``x`` (normalised on its support).

        Parameters
        ----------
        x : array_like of float
            Relative strengths.

        Returns
        -------
        ndarray of float64
            The density, same shape as ``x`` (zero outside the support).

        Raises
        ------
        ValueError
            For a spread without density (none, discrete).
        """
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "uniform":
            return np.where(np.abs(x - 1.0) <= self.width, 0.5 / self.width, 0.0)
        if self.kind != "gaussian":
            raise ValueError(f"a {self.kind} spread has no density")
        s = self.width
        z0 = -1.0 / s  # x >= 0
        mass = 0.5 * math.erfc(z0 / math.sqrt(2.0))  # P(z >= z0)
        pdf = np.exp(-0.5 * ((x - 1.0) / s) ** 2) / (s * math.sqrt(2.0 * math.pi) * mass)
        return np.where(x >= 0.0, pdf, 0.0)

    def nodes(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        r"""Relative strengths ``x_j`` and weights ``w_j`` of the average over the spread.

        Exact for a discrete spread (its own values and weights). For a continuous one,
        ``n``-point Gauss-Legendre quadrature of the density on its support (a Gaussian
        integrated over :data:`GAUSSIAN_TAIL` standard deviations, and over ``x >= 0``,
        with its weights renormalised to 1 to absorb the ``1.6e-19`` tail). The solvers
        choose ``n`` by doubling until the averaged collision converges
        (:func:`trajectories.channels.spread.averaged_collision`).

        Parameters
        ----------
        n : int, optional
            Number of quadrature nodes for a continuous spread (default 32).

        Returns
        -------
        x : ndarray of float64, shape (J,)
            Relative strengths.
        w : ndarray of float64, shape (J,)
            Weights, non-negative, summing to 1.
        """
        if self.kind == "none":
            return np.ones(1), np.ones(1)
        if self.kind == "discrete":
            return np.asarray(self.values, dtype=np.float64), np.asarray(
                self.weights, dtype=np.float64
            )
        n = 32 if n is None else int(n)
        t, wt = np.polynomial.legendre.leggauss(n)
        lo, hi = self.lower, self.upper
        x = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)
        w = 0.5 * (hi - lo) * wt * self.density(x)
        return x, w / math.fsum(w)

    def mean(self) -> float:
        """Mean of ``x`` (1, except for a Gaussian truncated at ``x >= 0`` or a discrete spread).

        Returns
        -------
        float
            The mean relative strength.
        """
        x, w = self.nodes(256) if self.kind == "gaussian" else self.nodes()
        return float(np.dot(x, w))

    def describe(self) -> str:
        """One line for reports and figure titles.

        Returns
        -------
        str
            E.g. ``"Gaussian theta spread (sigma = 5%)"``.
        """
        if self.kind == "gaussian":
            return f"Gaussian theta spread (sigma = {100 * self.width:g}%)"
        if self.kind == "uniform":
            return f"uniform theta spread (+-{100 * self.width:g}%)"
        if self.kind == "discrete":
            pairs = ", ".join(
                f"{v:g}:{w:g}" for v, w in zip(self.values, self.weights, strict=True)
            )
            return f"discrete theta spread (x:p = {pairs})"
        return "no theta spread"

    def to_dict(self) -> dict[str, Any]:
        """Flat stored parameters: ``{}`` without spread (files of earlier versions).

        Returns
        -------
        dict of str
            ``theta_spread`` (the kind) and ``theta_spread_width``, or the lists
            ``theta_spread_values`` and ``theta_spread_weights``.
        """
        if self.is_none:
            return {}
        out: dict[str, Any] = {"theta_spread": self.kind}
        if self.kind == "discrete":
            out["theta_spread_values"] = list(self.values)
            out["theta_spread_weights"] = list(self.weights)
        else:
            out["theta_spread_width"] = self.width
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ThetaSpread:
        """Inverse of :meth:`to_dict` (missing keys: no spread; HDF5 arrays accepted).

        Parameters
        ----------
        d : dict
            A model's stored parameters.

        Returns
        -------
        ThetaSpread
            The spread, validated.
        """
        kind = d.get("theta_spread", "none")
        if isinstance(kind, bytes):
            kind = kind.decode()
        kind = str(kind)
        if kind == "discrete":
            return cls.discrete(
                np.asarray(d["theta_spread_values"], dtype=float),
                np.asarray(d["theta_spread_weights"], dtype=float),
            )
        return cls(kind, float(d.get("theta_spread_width", 0.0)))
