r"""How much of the stored energy a stage delivers, how fast, how reliably.

:func:`discharge_report` reads one stage of an exact run (a protocol or a single model) and
returns a :class:`DischargeReport` (``docs/MODEL.md``, Sec. 12):

- the energy delivered to the qubits over the stage, :math:`W = -\Delta(\text{energy from the
  qubits})` (for ground-state qubits, ``q = 1``, it is the number of qubits that leave
  excited), against the energy and the ergotropy at the start of the stage (efficiencies);
- the power, per collision (units of :math:`\hbar\omega/t_r`) and per unit of interaction
  time (units of :math:`\hbar\omega g`: :math:`W/(K\theta)`);
- the collisions to deliver 50 % and 90 % of the stage's total, and the 1/e lifetimes of
  the energy and the ergotropy within the stage (self-discharge in a storage stage);
- for ground-state qubits the exact distribution of the delivered quanta (the count of
  qubits leaving in e, from the tilted channel started at the stage's first state), its
  mean, variance and Fano factor, and with an ensemble the trajectory estimates beside them.

Everything is interpolated linearly between the checkpoints of the result: record every
collision of the stage (``checkpoints=None``) for exact times.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..model.protocol import Protocol, Stage
from ..solvers.counting.exact import exact_distribution
from ..solvers.exact import ExactResult, solve_exact

__all__ = ["DischargeReport", "discharge_report"]


@dataclasses.dataclass(frozen=True)
class DischargeReport:
    r"""What one stage delivered (:func:`discharge_report`).

    Energies in units of :math:`\hbar\omega`, times in collisions.

    Attributes
    ----------
    stage : int
        Stage index.
    name, kind : str
        The stage's name and kind (``"charge"``, ``"storage"``, ``"discharge"``).
    k_start, k_end : int
        First and last collision index of the stage's checkpoints (``k_start`` is the last
        collision of the stage before, or 0).
    energy_start, ergotropy_start, energy_end, ergotropy_end : float
        The battery at the stage's start and end.
    delivered : float
        Energy the qubits took over the stage (negative: they gave energy).
    efficiency_energy, efficiency_ergotropy : float
        ``delivered / energy_start`` and ``delivered / ergotropy_start`` (NaN if the
        denominator is 0). Delivered energy may exceed the ergotropy (and even the stored
        energy) when the bath supplies quanta during the stage.
    power_per_collision : float
        ``delivered / collisions`` (:math:`\hbar\omega` per :math:`t_r`).
    power_per_interaction_time : float
        ``delivered / (collisions * theta)``, units of :math:`\hbar\omega g` (the power
        while a qubit interacts; NaN for ``theta = 0``).
    collisions_to_50, collisions_to_90 : float
        Collisions from the stage's start until 50 % / 90 % of ``delivered`` (NaN if not
        reached, or nothing was delivered).
    energy_lifetime, ergotropy_lifetime : float
        Collisions until the energy / ergotropy falls to ``1/e`` of its start value
        (NaN if it does not within the stage).
    delivered_values, delivered_probabilities : ndarray or None
        Exact distribution of the delivered quanta (ground-state qubits only).
    delivered_mean, delivered_variance, delivered_fano : float
        Its moments (NaN without the distribution).
    note : str
        Why the distribution is missing, if it is.
    trajectories : dict or None
        With an ensemble: ``delivered_mean``, ``delivered_mean_stderr``,
        ``delivered_variance``, ``delivered_variance_stderr``, ``delivered_fano``,
        ``counts`` (per trajectory), ``n_trajectories``.
    """

    stage: int
    name: str
    kind: str
    k_start: int
    k_end: int
    energy_start: float
    ergotropy_start: float
    energy_end: float
    ergotropy_end: float
    delivered: float
    efficiency_energy: float
    efficiency_ergotropy: float
    power_per_collision: float
    power_per_interaction_time: float
    collisions_to_50: float
    collisions_to_90: float
    energy_lifetime: float
    ergotropy_lifetime: float
    delivered_values: np.ndarray | None
    delivered_probabilities: np.ndarray | None
    delivered_mean: float
    delivered_variance: float
    delivered_fano: float
    note: str
    trajectories: dict | None

    def summary(self) -> str:
        """A few lines for a terminal.

        Returns
        -------
        str
            The stage, the delivered energy with its efficiencies, the power, the times.
        """
        lines = [
            f"{self.name} ({self.kind}), collisions {self.k_start}..{self.k_end}",
            f"  start: energy {self.energy_start:.4g}, ergotropy {self.ergotropy_start:.4g}; "
            f"end: energy {self.energy_end:.4g}, ergotropy {self.ergotropy_end:.4g}",
            f"  delivered {self.delivered:.4g} (of the energy: {self.efficiency_energy:.3g}, of "
            f"the ergotropy: {self.efficiency_ergotropy:.3g}); power {self.power_per_collision:.4g}"
            " per collision",
            f"  50% after {self.collisions_to_50:.4g}, 90% after {self.collisions_to_90:.4g} "
            "collisions",
            f"  1/e lifetimes in the stage: energy {self.energy_lifetime:.4g}, ergotropy "
            f"{self.ergotropy_lifetime:.4g} collisions",
        ]
        if self.delivered_probabilities is not None:
            lines.append(
                f"  delivered quanta: mean {self.delivered_mean:.4g}, variance "
                f"{self.delivered_variance:.4g}, Fano {self.delivered_fano:.4g} (exact)"
            )
        if self.trajectories is not None:
            t = self.trajectories
            lines.append(
                f"  trajectories ({t['n_trajectories']}): mean {t['delivered_mean']:.4g} +- "
                f"{t['delivered_mean_stderr']:.2g}, variance {t['delivered_variance']:.4g} +- "
                f"{t['delivered_variance_stderr']:.2g}"
            )
        return "\n".join(lines)


def _crossing(k: np.ndarray, y: np.ndarray, level: float, falling: bool) -> float:
    """First k where y crosses level (linear interpolation), relative to k[0]; NaN if never."""
    above = y <= level if falling else y >= level
    idx = np.flatnonzero(above)
    if idx.size == 0:
        return math.nan
    i = int(idx[0])
    if i == 0:
        return 0.0
    y0, y1 = y[i - 1], y[i]
    frac = (level - y0) / (y1 - y0) if y1 != y0 else 1.0
    return float(k[i - 1] + frac * (k[i] - k[i - 1]) - k[0])


def _stage_window(result: ExactResult, stage: int) -> tuple[int, np.ndarray, Any]:
    protocol: Protocol | None = result.protocol
    n_stages = 1 if protocol is None else len(protocol)
    if not -n_stages <= stage < n_stages:
        raise ValueError(f"stage must be in [{-n_stages}, {n_stages - 1}], got {stage}")
    stage %= n_stages
    if protocol is None:
        lo, hi = 0, int(result.k[-1])
        st = None
    else:
        lo, hi = int(protocol.boundaries[stage]), int(protocol.boundaries[stage + 1])
        st = protocol.stages[stage]
    sel = np.flatnonzero((result.k >= lo) & (result.k <= hi))
    if sel.size < 2 or result.k[sel[0]] != lo or result.k[sel[-1]] != hi:
        raise ValueError(
            f"the result must have checkpoints at the start and the end of stage {stage} "
            f"(collisions {lo} and {hi}); solve with checkpoints=None or include them"
        )
    return stage, sel, st


def _start_state(result: ExactResult, stage: int, i0: int) -> np.ndarray | None:
    if result.states is not None:
        return result.states[i0]
    protocol = result.protocol
    if protocol is None:
        return None
    if stage == 0:
        st0 = protocol.stages[0].initial_state
        start = protocol.initial_state if protocol.initial_state is not None else st0
        from ..model.states import as_density_matrix

        return as_density_matrix(start, protocol.cutoff)
    if protocol.stages[stage].initial_state is not None:
        return protocol.stages[stage].initial_state
    before = Protocol(protocol.stages[:stage], initial_state=protocol.initial_state)
    run = solve_exact(before, checkpoints=[before.n_collisions], store_states=True,
                      leakage_tol=math.inf)  # fmt: skip
    return run.states[-1]


def discharge_report(
    result: ExactResult, stage: int = -1, *, ensemble: Any = None, distribution: bool = True
) -> DischargeReport:
    """What one stage of an exact run delivered to the qubits, and how.

    Parameters
    ----------
    result : ExactResult
        An exact run (:func:`~trajectories.solvers.exact.solve_exact`) of a protocol or a
        model, with checkpoints at the stage's start and end (every collision of the stage
        for exact times).
    stage : int, optional
        Stage index (default -1: the last stage). A single model is one stage.
    ensemble : EnsembleResult, optional
        A trajectory run of the same protocol: the delivered quanta per trajectory (the
        qubits leaving in e during the stage, ground-state qubits only) are estimated beside
        the exact numbers.
    distribution : bool, optional
        Compute the exact distribution of the delivered quanta (default True; ground-state
        qubits only).

    Returns
    -------
    DischargeReport
        Delivered energy, efficiencies, power, times, lifetimes and the distribution.

    Raises
    ------
    ValueError
        If ``stage`` is out of range or the checkpoints miss the stage's start or end.

    Examples
    --------
    >>> import trajectories as tj
    >>> m = tj.Micromaser(theta=tj.fine_tuned_theta(15), q=0.25, c=1.0, cutoff=30)
    >>> p = tj.Protocol([tj.Stage(m, 200), tj.Stage(m.replace(q=1.0, c=0.0, theta=0.64), 60)])
    >>> rep = tj.discharge_report(tj.solve_exact(p))
    >>> round(rep.delivered, 6) == round(rep.delivered_mean, 6), rep.kind
    (True, 'discharge')
    """
    if not isinstance(result, ExactResult):
        raise ValueError(f"result must be an ExactResult, got {type(result).__name__}")
    if result.energy_from_qubits is None:
        raise ValueError("result has no energy books (a file of an earlier version): solve again")
    stage, sel, st = _stage_window(result, stage)
    model = result.model if st is None else st.model
    k = result.k[sel].astype(np.float64)
    e, w = result.energy[sel], result.ergotropy[sel]
    took = -(result.energy_from_qubits[sel] - result.energy_from_qubits[sel[0]])
    delivered = float(took[-1]) + 0.0  # no negative zero
    n_k = int(k[-1] - k[0])

    def ratio(a: float, b: float) -> float:
        return a / b if b != 0 else math.nan

    if delivered > 0:
        t50 = _crossing(k, took, 0.5 * delivered, falling=False)
        t90 = _crossing(k, took, 0.9 * delivered, falling=False)
    else:
        t50 = t90 = math.nan
    values = probs = None
    mean = var = fano = math.nan
    note = ""
    ground = model.q == 1.0
    if not ground:
        note = "no delivered-quanta distribution: the qubits do not arrive in g (q < 1)"
    elif distribution:
        rho0 = _start_state(result, stage, int(sel[0]))
        if rho0 is None:
            note = "no distribution: the stage's first state is not known (store_states=True)"
        else:
            # the weight leaked before the stage carries no count: normalise, then scale
            trace = float(np.trace(rho0).real)
            dist = exact_distribution(model, n_k, "e", initial_state=rho0 / trace,
                                      checkpoints=[n_k], leakage_tol=math.inf)  # fmt: skip
            values, probs = dist.values, trace * dist.probabilities[-1]
            mean, var = float(dist.mean[-1]), float(dist.variance[-1])
            fano = ratio(var, mean)
    traj = None
    if ensemble is not None and ground:
        traj = _trajectory_delivered(ensemble, int(k[0]), int(k[-1]))
    return DischargeReport(
        stage=stage,
        name="stage 0" if st is None else st.name,
        kind=Stage(model, 1).kind,
        k_start=int(k[0]),
        k_end=int(k[-1]),
        energy_start=float(e[0]),
        ergotropy_start=float(w[0]),
        energy_end=float(e[-1]),
        ergotropy_end=float(w[-1]),
        delivered=delivered,
        efficiency_energy=ratio(delivered, float(e[0])),
        efficiency_ergotropy=ratio(delivered, float(w[0])),
        power_per_collision=ratio(delivered, n_k),
        power_per_interaction_time=ratio(delivered, n_k * model.theta),
        collisions_to_50=t50,
        collisions_to_90=t90,
        energy_lifetime=_crossing(k, e, e[0] / math.e, falling=True) if e[0] > 0 else math.nan,
        ergotropy_lifetime=_crossing(k, w, w[0] / math.e, falling=True) if w[0] > 0 else math.nan,
        delivered_values=values,
        delivered_probabilities=probs,
        delivered_mean=mean,
        delivered_variance=var,
        delivered_fano=fano,
        note=note,
        trajectories=traj,
    )


def _trajectory_delivered(ens: Any, k0: int, k1: int) -> dict:
    """Delivered quanta per trajectory: qubits leaving in e between collisions k0 and k1."""
    ks = np.asarray(ens.k)
    i0, i1 = np.flatnonzero(ks == k0), np.flatnonzero(ks == k1)
    if i0.size == 0 or i1.size == 0:
        raise ValueError(
            f"the ensemble must have checkpoints at collisions {k0} and {k1} (the stage's ends)"
        )
    what = "the delivered count per trajectory"
    per = ens.records(k0, what) if hasattr(ens, "records") else ens.per_trajectory
    if hasattr(ens, "records"):
        ens.records(k1, what)
        rk = ens.record_k
        i0, i1 = np.flatnonzero(rk == k0), np.flatnonzero(rk == k1)
    e = per.qubit_e.sum(axis=2)
    alive = per.alive
    counts = (e[:, i1[0]] - e[:, i0[0]])[alive]
    m = counts.size
    mean = float(counts.mean())
    var = float(counts.var(ddof=1))
    # standard error of the sample variance: sqrt((m4 - var^2 (m-3)/(m-1)) / m)
    m4 = float(np.mean((counts - mean) ** 4))
    var_se = math.sqrt(max(m4 - var * var * (m - 3) / (m - 1), 0.0) / m)
    return {
        "delivered_mean": mean,
        "delivered_mean_stderr": math.sqrt(var / m),
        "delivered_variance": var,
        "delivered_variance_stderr": var_se,
        "delivered_fano": var / mean if mean > 0 else math.nan,
        "counts": counts,
        "n_trajectories": m,
    }
