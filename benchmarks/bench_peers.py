"""Side by side with what users would write instead (issue 7, item 4): QuTiP 5 and plain numpy.

Same model everywhere: the Fig. 5 case (c = 1, theta = pi/sqrt(15), q = 0.25,
gamma t_r = 0.1, nbar = 0.15), N = 40 Fock levels, from vacuum, 200 collisions. All on one
core: BLAS pinned to one thread (threadpoolctl), QuTiP's trajectory map serial, ``n_jobs=1``.

Trajectories (trajectory-collisions per second, energy after 200 collisions):

- QuTiP loops. Per trajectory and collision: the collision with QuTiP Kraus operators (built
  from the Jaynes-Cummings unitary on N+1 levels, ``expm`` of ``theta (a s+ + a^dag s-)``,
  restricted to N levels, as ``qutip.Qobj``), outcome sampled from ``||K psi||^2``; then the
  loss interval t_r = 1 by QuTiP's Monte Carlo solver with collapse operators
  ``sqrt(gamma (nbar+1)) a`` and ``sqrt(gamma nbar) a^dag`` and ``H = 0``, one trajectory per
  interval, a fresh seed per call. Variants: ``qutip.mcsolve`` called per interval;
  one ``qutip.MCSolver`` reused (``.run(psi, [0, 1], ntraj=1)``); the same solver driven by
  ``.start(psi, 0, seed)`` + ``.step(1)`` (no result object); each with QuTiP's default ODE
  method (``vern7``) and with ``method="diag"`` (exact exponential of the constant
  non-Hermitian generator, the fastest we found).
- Plain numpy, one trajectory at a time, dense N x N operators: collision by the dense Kraus
  matrices (one batched ``K @ psi``); loss exactly, by waiting times: the no-jump generator
  ``G = -1/2 sum_k L_k^dag L_k`` (dense) is diagonalised once, ``G = V diag(g) V^dag``; an
  interval without a jump uses the precomputed dense ``exp(G t_r)``; otherwise the
  no-jump norm ``S(t) = sum_j |(V^dag psi)_j|^2 exp(2 g_j t)`` is solved for ``S(t*) = u``
  with ``scipy.optimize.brentq`` (bracketed, ``xtol = 1e-13``, our kernels' tolerance), the
  jump operator is drawn with probabilities ``||L_k psi(t*)||^2`` (dense products), and the
  clock restarts from t* with a fresh u. No time step anywhere.
- ours: ``tj.simulate(model, 200, M, n_jobs=1)`` (compiled kernels, banded operators),
  whole call timed (set-up, chunks, reduction).

QuTiP and numpy use QuTiP's truncated-operator convention (``a^dag`` on N levels drops
absorption out of the top level); ours counts that weight as leakage (SPEC Sec. 2.2). At
N = 40 the top levels are empty to far below the statistical errors, so the energies are
comparable.

Exact evolution (seconds per collision and set-up, N = 80 and 160):

- ours: ``ExactPropagator(model)`` set-up, ``step_dm`` per collision;
- QuTiP sparse superoperator: Kraus operators as above (CSR), ``kraus_to_super(K,
  sparse=True)``, ``liouvillian(0, c_ops)``, ``(L * t_r).expm(dtype="csr")`` (the default
  ``expm`` is dense, N^2 x N^2: not feasible at N = 160), then repeated products with
  ``operator_to_vector(rho)``: one precomputed product ``S_loss @ S_coll``, the two applied
  in turn (Qobj), and the same on QuTiP's data layer (``qutip.core.data.matmul``);
- with ``--dense``, QuTiP's defaults at N = 80 (dense ``kraus_to_super(K)`` and dense
  ``expm``), for reference: minutes of set-up.

Timings are CPU seconds of this process (everything here runs single-threaded in it), so
that jobs of others sharing the machine do not enter the ratios; wall-clock times are printed
next to them.

Run:  python benchmarks/bench_peers.py [--min-seconds 5] [--ours-trajectories 20000] [--dense]
      [--exact-only]  (the exact-evolution section alone, about 2 minutes)
Needs QuTiP 5 (``pip install ".[compare]"``); exits with status 2 when it is missing.
Takes about 2 minutes on a 2-core machine (plus about 5 with ``--dense``).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
import warnings

import numpy as np
from _common import cpu_name, fig5, load_average  # noqa: E402  (benchmarks/ is the script folder)
from threadpoolctl import threadpool_limits

import trajectories as tj

try:
    import qutip as qt
    from qutip.core import data as qdata
except ImportError:  # pragma: no cover - depends on the environment
    qt = None

N_TRAJ_CUTOFF = 40
N_COLLISIONS = 200
EXACT_CUTOFFS = (80, 160)
EXACT_STEPS = 200
T_R = 1.0  # the interval between collisions; rates are in units of 1/t_r


def mean_se(x) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


# --------------------------------------------------------------------------- QuTiP objects
def qutip_kraus(model: tj.Micromaser, dtype: str = "dense") -> list:
    """Kraus operators <o|U|phi> of the collision, from the JC unitary on N+1 levels, cut to N."""
    n = model.cutoff
    a = qt.destroy(n + 1)
    h = model.theta * (qt.tensor(a, qt.sigmap()) + qt.tensor(a.dag(), qt.sigmam()))
    u = (-1j * h).expm()
    e, g = qt.basis(2, 0), qt.basis(2, 1)  # sigmap = |e><g|
    q, c = model.q, model.c
    # c = 1 here: the qubit is pure, rho_q = |phi><phi| (two Kraus operators)
    assert model.qubit_is_pure
    phi = math.sqrt(1.0 - q) * e + np.conj(c / abs(c)) * math.sqrt(q) * g
    one = qt.qeye(n + 1)
    ops = []
    for out in (e, g):
        k = qt.tensor(one, out.dag()) @ u @ qt.tensor(one, phi)
        ops.append(qt.Qobj(k.full()[:n, :n]).to(dtype))
    return ops


def qutip_c_ops(model: tj.Micromaser) -> list:
    a = qt.destroy(model.cutoff)
    g, nb = model.gamma_tr, model.nbar
    return [math.sqrt(g * (nb + 1.0)) * a, math.sqrt(g * nb) * a.dag()]


# --------------------------------------------------------------------------- QuTiP loops
def qutip_loop(model: tj.Micromaser, api: str, method: str):
    """A function running one trajectory of ``n`` collisions, returning <n> at the end."""
    n = model.cutoff
    kraus = qutip_kraus(model)
    c_ops = qutip_c_ops(model)
    h0 = qt.qzero(n)
    num = qt.num(n)
    tlist = [0.0, T_R]
    opts = {
        "progress_bar": False,
        "keep_runs_results": True,
        "store_final_state": True,
        "method": method,
    }
    if api == "mcsolve":

        def evolve(psi, seed):
            res = qt.mcsolve(h0, psi, tlist, c_ops, ntraj=1, seeds=seed, options=opts)
            return res.runs_final_states[0]

    else:
        solver = qt.MCSolver(h0, c_ops, options=opts)
        if api == "MCSolver.run":

            def evolve(psi, seed):
                return solver.run(psi, tlist, ntraj=1, seeds=seed).runs_final_states[0]

        else:  # start/step

            def evolve(psi, seed):
                solver.start(psi, 0.0, seed=seed)
                return solver.step(T_R)

    psi0 = qt.basis(n, 0)

    def trajectory(n_collisions: int, rng: np.random.Generator) -> float:
        psi = psi0
        for _ in range(n_collisions):
            outs = [k @ psi for k in kraus]
            p = np.array([o.norm() ** 2 for o in outs])
            j = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"))
            j = min(j, len(p) - 1)
            psi = outs[j] / math.sqrt(p[j])
            psi = evolve(psi, int(rng.integers(2**62)))
        return float(qt.expect(num, psi))

    return trajectory


# --------------------------------------------------------------------------- plain numpy
class NumpyTrajectories:
    """One trajectory at a time with dense operators; exact waiting-time loss (no time step)."""

    def __init__(self, kraus: list[np.ndarray], c_ops: list[np.ndarray], t_r: float = 1.0):
        from scipy.optimize import brentq

        self.brentq = brentq
        self.kraus = np.array(kraus)  # (n_ops, N, N)
        self.c_ops = np.array(c_ops)  # (2, N, N)
        self.t_r = t_r
        gen = -0.5 * sum(c.conj().T @ c for c in c_ops)  # no-jump generator, Hermitian
        self.g, self.v = np.linalg.eigh(gen)
        self.vh = self.v.conj().T
        self.full = (self.v * np.exp(self.g * t_r)) @ self.vh  # exp(G t_r), dense
        n = gen.shape[0]
        self.num = np.arange(n, dtype=float)

    def collide(self, psi: np.ndarray, u: float) -> np.ndarray:
        outs = self.kraus @ psi  # (n_ops, N)
        p = np.square(np.abs(outs)).sum(axis=1).tolist()
        target = u * sum(p)  # the operators are cut to N levels: renormalise the draw
        j, acc = 0, p[0]
        while acc <= target and j < len(p) - 1:
            j += 1
            acc += p[j]
        return outs[j] / math.sqrt(p[j])

    def loss(self, psi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        t_rem = self.t_r
        g2 = 2.0 * self.g
        while True:
            u = rng.random()
            if t_rem == self.t_r:
                phi = self.full @ psi
            else:
                phi = self.v @ (np.exp(self.g * t_rem) * (self.vh @ psi))
            s = np.vdot(phi, phi).real
            if s >= u:  # no jump in the rest of the interval
                return phi / math.sqrt(s)
            coef = self.vh @ psi
            w = coef.real**2 + coef.imag**2
            t_jump = self.brentq(lambda t, w=w, u=u: w @ np.exp(g2 * t) - u, 0.0, t_rem, xtol=1e-13)
            psi_t = self.v @ (np.exp(self.g * t_jump) * coef)
            outs = self.c_ops @ psi_t  # (2, N)
            r = (outs.real**2 + outs.imag**2).sum(axis=1)
            k = 0 if rng.random() * r.sum() < r[0] else 1
            psi = outs[k] / math.sqrt(r[k])
            t_rem -= t_jump

    def trajectory(self, n_collisions: int, rng: np.random.Generator) -> float:
        psi = np.zeros(self.num.size, dtype=np.complex128)
        psi[0] = 1.0
        for _ in range(n_collisions):
            psi = self.collide(psi, rng.random())
            psi = self.loss(psi, rng)
        return float(self.num @ (psi.real**2 + psi.imag**2))


def numpy_operators(model: tj.Micromaser) -> tuple[list, list]:
    """Dense Kraus matrices (JC unitary on N+1 levels, cut to N) and jump operators, numpy only."""
    from scipy.linalg import expm

    n = model.cutoff
    a = np.diag(np.sqrt(np.arange(1.0, n + 1)), 1)  # (N+1) levels
    sp = np.array([[0.0, 1.0], [0.0, 0.0]])  # |e><g|, basis (e, g)
    h = model.theta * (np.kron(a, sp) + np.kron(a.T, sp.T))
    u = expm(-1j * h).reshape(n + 1, 2, n + 1, 2)
    q = model.q
    phi = np.array([math.sqrt(1.0 - q), np.conj(model.c / abs(model.c)) * math.sqrt(q)])
    kraus = [(u[:, o, :, :] @ phi)[:n, :n] for o in (0, 1)]
    a_n = a[:n, :n]
    g, nb = model.gamma_tr, model.nbar
    c_ops = [math.sqrt(g * (nb + 1.0)) * a_n, math.sqrt(g * nb) * a_n.T]
    return kraus, [c.astype(np.complex128) for c in c_ops]


# --------------------------------------------------------------------------- timing helpers
def clock() -> tuple[float, float]:
    """(wall, CPU of this process) seconds. Everything timed here runs in this process on one
    thread, so CPU time is the one-core cost even when other jobs share the machine."""
    return time.perf_counter(), time.process_time()


def since(t0: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - t0[0], cpu - t0[1]


def run_for(trajectory, min_seconds: float, min_traj: int, seed: int) -> dict:
    """Trajectories of N_COLLISIONS collisions until both limits (CPU seconds) are reached."""
    rng = np.random.default_rng(seed)
    energies = []
    t0 = clock()
    while True:
        energies.append(trajectory(N_COLLISIONS, rng))
        wall, cpu = since(t0)
        if cpu >= min_seconds and len(energies) >= min_traj:
            break
    e, se = mean_se(energies)
    m = len(energies)
    return dict(m=m, wall=wall, cpu=cpu, rate=m * N_COLLISIONS / cpu, energy=e, se=se)


def best_of(fn, repeat: int) -> float:
    """Smallest CPU time of ``repeat`` calls."""
    best = np.inf
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, since(t0)[1])
    return best


# --------------------------------------------------------------------------- sections
def bench_trajectories(args) -> tuple[list, float]:
    model = fig5(N_TRAJ_CUTOFF)
    exact = tj.solve_exact(model, N_COLLISIONS)
    e_exact = float(exact.energy[-1])
    rows = []
    print(
        f"## Trajectories, N = {N_TRAJ_CUTOFF}, {N_COLLISIONS} collisions per trajectory, "
        "one core\n"
    )
    print(
        f"Each slow variant runs whole trajectories until >= {args.min_seconds:g} CPU seconds "
        f"and >= {args.min_traj} trajectories; set-up (operators, solver objects) is not timed "
        "for the peers; ours is the whole `simulate` call. Rates and ratios use the CPU time of "
        "this process (all of it single-threaded); wall/CPU > 1 shows time lost to other jobs "
        "on the machine.\n",
        flush=True,
    )
    # warm-ups (imports, first-call costs, numba compilation) before any timing
    tj.simulate(model, 5, 20, seed=0, n_jobs=1, chunk_size=10, checkpoints=[0, 5])
    variants = [
        ("QuTiP: mcsolve per interval", "mcsolve", "vern7"),
        ("QuTiP: mcsolve per interval, method='diag'", "mcsolve", "diag"),
        ("QuTiP: MCSolver reused, .run", "MCSolver.run", "vern7"),
        ("QuTiP: MCSolver reused, .run, method='diag'", "MCSolver.run", "diag"),
        ("QuTiP: MCSolver reused, .start/.step", "start/step", "vern7"),
        ("QuTiP: MCSolver reused, .start/.step, method='diag'", "start/step", "diag"),
    ]
    for i, (name, api, method) in enumerate(variants):
        traj = qutip_loop(model, api, method)
        traj(3, np.random.default_rng(99))  # warm-up
        r = run_for(traj, args.min_seconds, args.min_traj, seed=100 + i)
        rows.append(dict(name=name, kind="qutip", **r))
        print(f"  {name}: {r['rate']:,.0f} trajectory-collisions/s", file=sys.stderr, flush=True)
    kraus, c_ops = numpy_operators(model)
    ref = qutip_kraus(model)
    dev = max(np.abs(k - r.full()).max() for k, r in zip(kraus, ref, strict=True))
    assert dev < 1e-12, f"numpy and QuTiP Kraus operators differ by {dev}"
    npt = NumpyTrajectories(kraus, c_ops, T_R)
    npt.trajectory(3, np.random.default_rng(98))
    r = run_for(npt.trajectory, args.min_seconds, args.min_traj, seed=200)
    rows.append(dict(name="plain numpy, dense operators, exact waiting times", kind="numpy", **r))
    print(f"  numpy: {r['rate']:,.0f} trajectory-collisions/s", file=sys.stderr, flush=True)
    m = args.ours_trajectories
    t0 = clock()
    ens = tj.simulate(model, N_COLLISIONS, m, seed=300, n_jobs=1, checkpoints=[0, N_COLLISIONS])
    wall, cpu = since(t0)
    rows.append(
        dict(
            name="ours: tj.simulate, n_jobs=1",
            kind="ours",
            m=m,
            wall=wall,
            cpu=cpu,
            rate=m * N_COLLISIONS / cpu,
            energy=float(ens.energy.mean[-1]),
            se=float(ens.energy.stderr[-1]),
        )
    )
    ours = rows[-1]["rate"]
    print(
        "| implementation | trajectories | CPU seconds | wall/CPU | trajectory-collisions/s "
        "| ours is faster by | energy at k = 200 (± se) | z vs exact |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        z = (r["energy"] - e_exact) / r["se"] if r["se"] > 0 else float("nan")
        r["z"] = z
        ratio = "" if r["kind"] == "ours" else f"x{ours / r['rate']:,.0f}"
        print(
            f"| {r['name']} | {r['m']:,} | {r['cpu']:.2f} | {r['wall'] / r['cpu']:.2f} "
            f"| {r['rate']:,.0f} | {ratio} "
            f"| {r['energy']:.4f} ± {r['se']:.4f} | {z:+.2f} |"
        )
    print(f"| exact (`tj.solve_exact`) | | | | | | {e_exact:.10f} | |\n")
    return rows, e_exact


def qutip_superop(model: tj.Micromaser, sparse: bool = True) -> tuple:
    """(S_coll, S_loss), superoperators built from the model's parameters."""
    kraus = qutip_kraus(model, "csr" if sparse else "dense")
    c_ops = qutip_c_ops(model)
    s_coll = qt.kraus_to_super(kraus, sparse=sparse)
    liou = qt.liouvillian(qt.qzero(model.cutoff), c_ops)
    s_loss = (liou * T_R).expm(dtype="csr" if sparse else None)
    return s_coll, s_loss


def bench_exact(args, e_exact_40: float) -> list:
    print(
        f"## Exact evolution: ours vs a precomputed QuTiP superoperator ({EXACT_STEPS} steps "
        "after 50 steps away from the vacuum, best of 3; CPU seconds of this process, BLAS "
        "pinned to one thread; set-up: ours the median of 3, QuTiP's once)\n"
    )
    # agreement at N = 40 first (cheap)
    m40 = fig5(N_TRAJ_CUTOFF)
    s_coll, s_loss = qutip_superop(m40)
    v = qt.operator_to_vector(qt.fock_dm(N_TRAJ_CUTOFF, 0))
    for _ in range(N_COLLISIONS):
        v = s_loss @ (s_coll @ v)
    e_q = float(qt.expect(qt.num(N_TRAJ_CUTOFF), qt.vector_to_operator(v)).real)
    print(
        f"N = {N_TRAJ_CUTOFF}, energy after {N_COLLISIONS} collisions: QuTiP superoperator "
        f"{e_q:.12f}, ours (solve_exact) {e_exact_40:.12f}, difference {e_q - e_exact_40:.1e}\n"
    )
    print(
        "| N | implementation | set-up [s] | seconds per collision | energy after 250 steps "
        "| ours faster: set-up | ours faster: per collision |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    rows = []
    tj.ExactPropagator(fig5(10))
    for n in args.exact_cutoffs:
        model = fig5(n)
        # ours
        setups = []
        rho = tj.as_density_matrix(None, n)
        for _ in range(3):  # with the first step: the loss layout is built on first use
            t0 = clock()
            prop = tj.ExactPropagator(model)
            prop.step_dm(rho)
            setups.append(since(t0)[1])
        setup_ours = float(np.median(setups))
        for _ in range(50):
            rho, _ = prop.step_dm(rho)
        out = {}

        def ours_steps(rho=rho, prop=prop, out=out) -> None:
            r = rho
            for _ in range(EXACT_STEPS):
                r, _ = prop.step_dm(r)
            out["rho"] = r

        step_ours = best_of(ours_steps, 3) / EXACT_STEPS
        e_ours = float(np.arange(n) @ np.diagonal(out["rho"]).real)
        print(
            f"| {n} | ours: `ExactPropagator` + `step_dm` | {setup_ours:.4f} | {step_ours:.3e} "
            f"| {e_ours:.10f} | | |",
            flush=True,
        )
        # QuTiP sparse
        t0 = clock()
        s_coll, s_loss = qutip_superop(model, sparse=True)
        setup_split = since(t0)[1]
        t0 = clock()
        s_one = s_loss @ s_coll
        setup_prod = setup_split + since(t0)[1]
        v0 = qt.operator_to_vector(qt.fock_dm(n, 0))
        for _ in range(50):
            v0 = s_loss @ (s_coll @ v0)
        d_coll, d_loss = s_coll.data, s_loss.data

        def q_prod(v0=v0, s_one=s_one, out=out) -> None:
            v = v0
            for _ in range(EXACT_STEPS):
                v = s_one @ v
            out["v"] = v

        def q_split(v0=v0, s_coll=s_coll, s_loss=s_loss, out=out) -> None:
            v = v0
            for _ in range(EXACT_STEPS):
                v = s_loss @ (s_coll @ v)
            out["v"] = v

        def q_data(v0=v0, d_coll=d_coll, d_loss=d_loss, out=out) -> None:
            v = v0.data
            for _ in range(EXACT_STEPS):
                v = qdata.matmul(d_loss, qdata.matmul(d_coll, v))
            out["v"] = qt.Qobj(v, dims=v0.dims)

        cases = [
            ("QuTiP sparse: S_loss @ S_coll precomputed, Qobj @ vector", setup_prod, q_prod),
            ("QuTiP sparse: S_loss @ (S_coll @ vector), Qobj", setup_split, q_split),
            ("QuTiP sparse: same on the data layer (`data.matmul`)", setup_split, q_data),
        ]
        best = None
        for name, setup, fn in cases:
            step = best_of(fn, 3) / EXACT_STEPS
            e_q = float(qt.expect(qt.num(n), qt.vector_to_operator(out["v"])).real)
            print(
                f"| {n} | {name} | {setup:.3f} | {step:.3e} | {e_q:.10f} "
                f"| x{setup / setup_ours:,.0f} | x{step / step_ours:.2f} |",
                flush=True,
            )
            rows.append(dict(n=n, name=name, setup=setup, step=step))
            if best is None or step < best[1]:
                best = (name, step, setup)
        rows.append(
            dict(n=n, name="ours", setup=setup_ours, step=step_ours, best_qutip=best, e=e_ours)
        )
        del s_one, s_coll, s_loss
        if n == 80 and args.dense:
            t0 = clock()
            s_coll, s_loss = qutip_superop(model, sparse=False)
            s_one = s_loss @ s_coll
            setup = since(t0)[1]
            v0 = qt.operator_to_vector(qt.fock_dm(n, 0))
            for _ in range(50):
                v0 = s_one @ v0

            def q_dense(v0=v0, s_one=s_one, out=out) -> None:
                v = v0
                for _ in range(20):
                    v = s_one @ v

            step = best_of(q_dense, 2) / 20
            print(
                f"| {n} | QuTiP defaults (dense `kraus_to_super`, dense `expm`), 20 steps "
                f"| {setup:.3f} | {step:.3e} | | x{setup / setup_ours:,.0f} "
                f"| x{step / step_ours:.1f} |",
                flush=True,
            )
            del s_one, s_coll, s_loss
    print()
    return rows


def verdict(traj_rows, exact_rows) -> None:
    print("## Targets (issue 7)\n")
    if traj_rows:
        verdict_trajectories(traj_rows)
    verdict_exact(exact_rows)
    bad = [r["name"] for r in traj_rows if not abs(r["z"]) <= 3.0]
    if traj_rows:
        print(
            "- energy agreement at k = 200 (|z| <= 3 for every implementation): "
            + ("yes" if not bad else "NO: " + ", ".join(bad))
        )
    print()


def verdict_trajectories(traj_rows) -> None:
    ours = next(r for r in traj_rows if r["kind"] == "ours")["rate"]
    fastest_q = max((r for r in traj_rows if r["kind"] == "qutip"), key=lambda r: r["rate"])
    numpy_r = next(r for r in traj_rows if r["kind"] == "numpy")
    rq, rn = ours / fastest_q["rate"], ours / numpy_r["rate"]
    print(
        f"- trajectories vs fastest QuTiP loop ({fastest_q['name']}): x{rq:,.0f} "
        f"(target >= 250: {'met' if rq >= 250 else 'MISSED'})"
    )
    print(
        f"- trajectories vs plain numpy loop: x{rn:,.0f} "
        f"(target >= 150: {'met' if rn >= 150 else 'MISSED'})"
    )


def verdict_exact(exact_rows) -> None:
    leads = {}
    for r in (r for r in exact_rows if r["name"] == "ours"):
        name, step, setup = r["best_qutip"]
        leads[r["n"]] = step / r["step"]
        print(
            f"- exact, N = {r['n']}: per collision x{step / r['step']:.2f} vs the fastest QuTiP "
            f"iteration ({name}); set-up x{setup / r['setup']:,.0f}"
        )
    if not {80, 160} <= leads.keys():
        return
    s80 = next(r for r in exact_rows if r["name"] == "ours" and r["n"] == 80)
    ok80 = leads[80] >= 1.0 and s80["best_qutip"][2] / s80["setup"] >= 20
    grow = leads[160] > leads[80]
    print(
        f"- exact targets: at least as fast per collision and >= 20x faster set-up at N = 80: "
        f"{'met' if ok80 else 'MISSED'}; per-collision lead growing at N = 160 "
        f"(x{leads[80]:.2f} -> x{leads[160]:.2f}): {'yes' if grow else 'NO'}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-seconds", type=float, default=5.0, help="per slow variant")
    ap.add_argument("--min-traj", type=int, default=20, help="per slow variant")
    ap.add_argument("--ours-trajectories", type=int, default=20_000)
    ap.add_argument(
        "--dense",
        action="store_true",
        help="also time QuTiP's dense defaults at N = 80 (about 5 minutes more)",
    )
    ap.add_argument(
        "--exact-cutoffs",
        type=int,
        nargs="+",
        default=list(EXACT_CUTOFFS),
        help="cutoffs of the exact-evolution section (the verdict needs 80 and 160)",
    )
    ap.add_argument(
        "--exact-only",
        action="store_true",
        help="only the exact-evolution section (ours vs the QuTiP superoperator)",
    )
    args = ap.parse_args()
    if qt is None or int(qt.__version__.split(".")[0]) < 5:
        print(
            'bench_peers.py needs QuTiP 5: pip install ".[compare]" (or pip install "qutip>=5")',
            file=sys.stderr,
        )
        return 2
    warnings.simplefilter("ignore", tj.StatisticsWarning)
    warnings.filterwarnings("ignore", "invalid value", RuntimeWarning, "trajectories")
    t_start = clock()
    print(f"# Peers benchmark, trajectories {tj.__version__}\n")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {__import__('scipy').__version__}, qutip "
        f"{qt.__version__}; BLAS pinned to one thread; load average at start: "
        f"{load_average()}\n"
    )
    with threadpool_limits(limits=1, user_api="blas"):
        if args.exact_only:
            traj_rows, e_exact = (
                [],
                float(tj.solve_exact(fig5(N_TRAJ_CUTOFF), N_COLLISIONS).energy[-1]),
            )
        else:
            traj_rows, e_exact = bench_trajectories(args)
        exact_rows = bench_exact(args, e_exact)
    verdict(traj_rows, exact_rows)
    wall, cpu = since(t_start)
    print(f"total {wall:.0f} s wall ({cpu:.0f} s CPU); load average at end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
