r"""A real micromaser: random arrivals, interaction-time spread and imperfect detection.

Produces ``docs/IMPERFECTIONS.md``, its figures (``docs/figures/imperfections-*.png``) and
``data/imperfections/results.json``::

    python -m analysis.imperfections                 # ~3 min on 2 cores
    python -m analysis.imperfections --report-only   # re-render page and figures from the data

The page is rendered from the data file only (:func:`render`), so the two cannot disagree.
Three parts:

(a) the classic micromaser (ground-state cavity pumped by excited qubits, ``q = 0``,
    ``c = 0``): steady photon number and Mandel Q against the pump parameter
    :math:`\Theta = \theta\sqrt{N_{ex}}`, :math:`N_{ex} = 1/(\gamma t_r)`, for regular,
    Poisson and Bernoulli(1/2) pumping and with a Gaussian theta spread; the steady
    populations of the incoherent model form a Markov chain, solved directly (checked against
    :func:`trajectories.steady_state` and, for Poisson pumping, against the
    Filipowicz-Javanainen-Meystre detailed balance);
(b) the paper's batteries (fine-tuned ``theta = pi/sqrt(15)``, ``q = 0.25``, incoherent
    ``c = 0`` and coherent ``c = 1``) with and without loss under 1, 5 and 10 % spread and
    Poisson arrivals: exact curves against ``k``, steady states with loss, escape times from
    the plateau below level 15 without loss;
(c) detection with efficiency 0.3-0.5: the Mandel Q of the detected qubit counts, exact,
    the number of repeated runs needed to see it, and a trajectory check of the thinning.

Convergence: every exact run records the weight leaked through its cutoff (below
``leakage_tol = 1e-8``, or the point is left out and said); the steady populations record
their top-level weight; the theta quadrature is converged to 1e-14 on the channel and its
node count is recorded.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import trajectories as tj
from trajectories._threads import single_threaded_blas
from trajectories.channels.collisions import collision_sequence
from trajectories.channels.loss import population_channel
from trajectories.errors import TruncationError
from trajectories.solvers.spectral import escape_time, steady_state

__all__ = ["main", "render", "figures", "classic_point"]

ROOT = Path(__file__).resolve().parents[1]
FIG_DIR = ROOT / "docs" / "figures"
DATA_DIR = ROOT / "data" / "imperfections"
DOC = ROOT / "docs" / "IMPERFECTIONS.md"

THETA15 = tj.fine_tuned_theta(15)
#: classic micromaser: N_ex qubits per photon lifetime
N_EX = 20.0
CLASSIC_CUTOFF = 110
CLASSIC_PUMP = np.round(np.arange(0.1, 15.0001, 0.05), 10)
CLASSIC_NBAR = (0.0, 0.15)
#: (label, arrivals, Gaussian spread)
CLASSIC_BEAMS = (
    ("regular", "regular", 0.0),
    ("Poisson", "poisson", 0.0),
    ("Bernoulli(1/2)", ("bernoulli", 0.5), 0.0),
    ("regular, 5% spread", "regular", 0.05),
    ("regular, 10% spread", "regular", 0.10),
    ("Poisson, 10% spread", "poisson", 0.10),
)
#: battery variants: (label, arrivals, Gaussian spread)
BATTERY_BEAMS = (
    ("ideal", "regular", 0.0),
    ("1% spread", "regular", 0.01),
    ("5% spread", "regular", 0.05),
    ("10% spread", "regular", 0.10),
    ("Poisson", "poisson", 0.0),
    ("Poisson, 5% spread", "poisson", 0.05),
)
BATTERY_K = 2000
LOSSY = dict(gamma_tr=0.1, nbar=0.15)
EFFICIENCIES = (1.0, 0.5, 0.4, 0.3)
DETECTION_K = 1000


def _arrivals(a) -> tj.Arrivals:
    if isinstance(a, tuple):
        return tj.Arrivals.bernoulli(a[1])
    return tj.Arrivals(a)


def _spread(s: float) -> tj.ThetaSpread:
    return tj.ThetaSpread.gaussian(s)


def to_plain(x):
    """JSON-ready copy of nested results (arrays to lists, floats finite or None)."""
    if isinstance(x, dict):
        return {str(k): to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_plain(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else (None if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


# ======================================================================= (a) classic
def population_matrix(model: tj.Micromaser) -> np.ndarray:
    """One-step transition matrix of the populations (incoherent qubits), ``T[m, n]``."""
    channel = collision_sequence(model).at(1)
    n = model.cutoff
    coll = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        coll[:, j] = channel.apply_populations(e)[0]
    block, _ = population_channel(model)
    return block @ coll


def steady_populations(model: tj.Micromaser) -> np.ndarray:
    """Fixed point of :func:`population_matrix` (normalised), by one linear solve."""
    t = population_matrix(model)
    n = t.shape[0]
    a = t - np.eye(n)
    a[-1, :] = 1.0  # replace one equation by the normalisation
    b = np.zeros(n)
    b[-1] = 1.0
    p = np.linalg.solve(a, b)
    return np.clip(p, 0.0, None) / np.clip(p, 0.0, None).sum()


def detailed_balance(theta: float, gamma: float, nbar: float, n: int) -> np.ndarray:
    """Poisson-pumped steady populations for excited qubits (Filipowicz et al. 1986)."""
    p = np.ones(n)
    for k in range(1, n):
        s = math.sin(theta * math.sqrt(k)) ** 2
        p[k] = p[k - 1] * (gamma * nbar * k + s) / (gamma * (nbar + 1.0) * k)
    return p / p.sum()


def classic_point(args: tuple) -> dict:
    """Steady <n> and Mandel Q of the classic micromaser for one beam and temperature."""
    label, arrivals, spread, nbar = args
    gamma = 1.0 / N_EX
    mean, q, top, db = [], [], [], 0.0
    nodes = 1
    with single_threaded_blas():
        for pump in CLASSIC_PUMP:
            model = tj.Micromaser(
                theta=pump / math.sqrt(N_EX),
                q=0.0,
                gamma_tr=gamma,
                nbar=nbar,
                cutoff=CLASSIC_CUTOFF,
                arrivals=_arrivals(arrivals),
                theta_spread=_spread(spread),
            )
            p = steady_populations(model)
            k = np.arange(p.size)
            mu = float(p @ k)
            var = float(p @ k**2) - mu * mu
            mean.append(mu)
            q.append(var / mu - 1.0 if mu > 0 else 0.0)
            top.append(float(p[-5:].sum()))
            if arrivals == "poisson" and spread == 0.0:
                db = max(db, float(np.abs(p - detailed_balance(model.theta, gamma, nbar, p.size)).max()))
            if spread:
                nodes = max(nodes, collision_sequence(model).quadrature.nodes)
    return {
        "label": label,
        "nbar": nbar,
        "mean": mean,
        "mandel_q": q,
        "top_weight": max(top),
        "detailed_balance_dev": db if arrivals == "poisson" and spread == 0.0 else None,
        "nodes": nodes,
    }


def classic_checks() -> dict:
    """The direct population solve against the package's steady-state solver, 6 points."""
    dev = 0.0
    for pump in (1.0, 3.3, 6.6, 9.9):
        for arr, s in (("regular", 0.0), ("poisson", 0.1)):
            m = tj.Micromaser(
                theta=pump / math.sqrt(N_EX),
                q=0.0,
                gamma_tr=1.0 / N_EX,
                nbar=0.15,
                cutoff=CLASSIC_CUTOFF,
                arrivals=arr,
                theta_spread=_spread(s),
            )
            p = steady_populations(m)
            dev = max(dev, float(np.abs(np.diagonal(steady_state(m).rho).real - p).max()))
    return {"steady_state_dev": dev}


def trapping_positions(max_pump: float, n_max: int = 12) -> list[dict]:
    """Pump values where the transition k -> k+1 is blocked for every qubit (nbar = 0)."""
    out = []
    for k in range(n_max):
        for j in (1, 2):
            pump = j * math.pi * math.sqrt(N_EX / (k + 1))
            if pump <= max_pump:
                out.append({"k": k, "j": j, "pump": pump})
    return sorted(out, key=lambda d: d["pump"])


# ====================================================================== (b) batteries
def _battery_model(c: float, lossy: bool, arrivals, spread: float, cutoff: int) -> tj.Micromaser:
    loss = LOSSY if lossy else dict(gamma_tr=0.0, nbar=0.0)
    return tj.Micromaser(
        theta=THETA15,
        q=0.25,
        c=c,
        cutoff=cutoff,
        arrivals=_arrivals(arrivals),
        theta_spread=_spread(spread),
        **loss,
    )


def battery_case(args: tuple) -> dict:
    """Curves, steady state or escape time of one battery under one beam."""
    c, lossy, label, arrivals, spread = args
    ks = np.unique(np.concatenate([np.arange(0, 50), np.geomspace(50, BATTERY_K, 90).astype(int)]))
    out: dict = {"c": c, "lossy": lossy, "label": label, "arrivals": arrivals, "spread": spread}
    with single_threaded_blas():
        cutoff = 60 if lossy else 400
        model = _battery_model(c, lossy, arrivals, spread, cutoff)
        k_end = BATTERY_K
        while True:
            try:
                ex = tj.solve_exact(model, k_end, checkpoints=ks[ks <= k_end])
                break
            except TruncationError as err:  # keep the converged part of the curve
                k_end = max(int(err.collision) - 1, 1) if hasattr(err, "collision") else k_end // 2
                out["truncated_at"] = k_end
        out.update(
            k=ex.k,
            energy=ex.energy,
            purity=ex.purity,
            ergotropy=ex.ergotropy,
            fano=ex.fano,
            leakage=float(ex.total_leakage),
            cutoff=cutoff,
            k_end=k_end,
        )
        if spread:
            out["nodes"] = collision_sequence(model).quadrature.nodes
        if lossy:
            ss = steady_state(model)
            out["steady"] = {
                "energy": ss.energy,
                "purity": ss.purity,
                "ergotropy": ss.ergotropy,
                "fano": ss.fano,
                "relaxation": ss.relaxation_collisions,
                "unique": ss.unique,
            }
            # the same with a larger cutoff: converged
            big = steady_state(_battery_model(c, lossy, arrivals, spread, 80))
            out["steady_cutoff_dev"] = abs(big.energy - ss.energy)
        else:
            e = escape_time(_battery_model(c, lossy, arrivals, spread, 60), below=15)
            out["escape"] = {
                "lifetime": e.lifetime,
                "lower_bound": bool(e.is_lower_bound),
                "energy": e.energy,
                "purity": e.purity,
            }
    return out


def lossless_arrivals_check() -> float:
    """Without loss the arrival times do nothing: Poisson equals regular (max |dE|)."""
    a = tj.solve_exact(_battery_model(1.0, False, "regular", 0.05, 60), 300)
    b = tj.solve_exact(_battery_model(1.0, False, "poisson", 0.05, 60), 300)
    return float(np.abs(a.energy - b.energy).max())


# ====================================================================== (c) detection
def detection_case(args: tuple) -> dict:
    """Exact Mandel Q of the detected qubit counts for several efficiencies."""
    name, model = args
    rows = []
    with single_threaded_blas():
        for eta in EFFICIENCIES:
            m = tj.counting.exact_moments(model, DETECTION_K, "g", efficiency=eta, checkpoints=[DETECTION_K])
            q = float(m.mandel_q[-1])
            rows.append({"eta": eta, "mean": float(m.mean[-1]), "mandel_q": q, "runs_5sigma": runs_needed(q)})
    return {"name": name, "model": model.to_dict(), "rows": rows}


def runs_needed(q: float, z: float = 5.0) -> float:
    r"""Repetitions ``M`` after which a Mandel Q is ``z`` standard errors from 0.

    For nearly Gaussian counts the sample variance has relative standard error
    :math:`\sqrt{2/M}`, so :math:`\mathrm{se}(Q) \approx (1 + Q)\sqrt{2/M}` and
    :math:`M = 2 [z (1 + Q)/Q]^2`.
    """
    if q == 0:
        return math.inf
    return 2.0 * (z * (1.0 + q) / q) ** 2


def detection_trajectories(n_traj: int = 4000, seed: int = 17) -> dict:
    """Thinned trajectory counts against the exact detected moments (Fig. 5 battery)."""
    model = tj.Micromaser(theta=THETA15, q=0.25, c=1.0, cutoff=40, **LOSSY)
    k = 300
    ens = tj.simulate(model, k, n_traj, seed=seed, checkpoints=[0, k], n_jobs=2)
    rows = []
    for eta in (1.0, 0.4):
        stats = tj.counting.from_ensemble(ens, "g", efficiency=eta)
        exact = tj.counting.exact_moments(model, k, "g", efficiency=eta, checkpoints=[k])
        q_hat, q_se = float(stats.mandel_q[-1]), float(stats.mandel_q_stderr[-1])
        rows.append(
            {
                "eta": eta,
                "q": q_hat,
                "q_stderr": q_se,
                "q_exact": float(exact.mandel_q[-1]),
                "z": (q_hat - float(exact.mandel_q[-1])) / q_se,
            }
        )
    return {"trajectories": n_traj, "k": k, "seed": seed, "rows": rows}


# ========================================================================= driver
def compute(jobs: int) -> dict:
    t0 = time.time()
    classic_args = [(lab, arr, s, nb) for nb in CLASSIC_NBAR for lab, arr, s in CLASSIC_BEAMS]
    battery_args = [
        (c, lossy, lab, arr, s)
        for c in (0.0, 1.0)
        for lossy in (False, True)
        for lab, arr, s in BATTERY_BEAMS
        if lossy or arr == "regular"  # without loss the arrivals do nothing (checked)
    ]
    det_models = [
        ("coherent battery (Fig. 5 case)", tj.Micromaser(theta=THETA15, q=0.25, c=1.0, cutoff=60, **LOSSY)),
        ("incoherent battery, with loss", tj.Micromaser(theta=THETA15, q=0.25, c=0.0, cutoff=60, **LOSSY)),
    ]
    with ProcessPoolExecutor(jobs) as pool:
        classic = list(pool.map(classic_point, classic_args))
        batteries = list(pool.map(battery_case, battery_args))
        # the classic micromaser at its most sub-Poissonian pump (Poisson pumping, nbar = 0.15)
        poisson = next(r for r in classic if r["label"] == "Poisson" and r["nbar"] == 0.15)
        i = int(np.argmin(poisson["mandel_q"]))
        pump = float(CLASSIC_PUMP[i])
        det_models.append(
            (
                f"classic micromaser, Poisson pumping, Theta = {pump:g}",
                tj.Micromaser(
                    theta=pump / math.sqrt(N_EX), q=0.0, gamma_tr=1.0 / N_EX, nbar=0.15,
                    cutoff=CLASSIC_CUTOFF, arrivals="poisson",
                ),
            )
        )  # fmt: skip
        detection = list(pool.map(detection_case, det_models))
    return {
        "meta": {
            "machine": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "version": tj.__version__,
            "seconds": None,
            "n_ex": N_EX,
            "classic_cutoff": CLASSIC_CUTOFF,
            "battery_k": BATTERY_K,
            "detection_k": DETECTION_K,
        },
        "classic": {
            "pump": CLASSIC_PUMP,
            "rows": classic,
            "checks": classic_checks(),
            "traps": trapping_positions(float(CLASSIC_PUMP[-1])),
        },
        "batteries": batteries,
        "lossless_arrivals_dev": lossless_arrivals_check(),
        "detection": detection,
        "detection_trajectories": detection_trajectories(),
        "_t0": t0,
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: compute (or reload) the data, then render figures and page."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--report-only", action="store_true", help="re-render from the data")
    args = parser.parse_args(argv)
    data_file = DATA_DIR / "results.json"
    if not args.report_only:
        d = compute(args.jobs)
        d["meta"]["seconds"] = time.time() - d.pop("_t0")
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        data_file.write_text(json.dumps(to_plain(d), indent=1))
    d = json.loads(data_file.read_text())
    FIG_DIR.mkdir(parents=True, exist_ok=True)
    figures(d)
    DOC.write_text(render(d))
    print(f"wrote {DOC.relative_to(ROOT)}, {data_file.relative_to(ROOT)} and the figures")


if __name__ == "__main__":
    main()
