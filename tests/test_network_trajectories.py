"""Trajectories of a network of two cavities against the exact solver (docs/MODEL.md, Sec. 13).

Every statistical check has a fixed seed and the criterion |estimate - exact| <= 5 se + 1e-9
at every checkpoint, on the energies of both cavities, the total energy, the qubits that left
in e, and (at the rho checkpoints) the unbiased purity, the global and local ergotropies,
the logarithmic negativity and the mutual information. A wrong model must fail it (the
error bars are not so wide that anything passes). The mixture sampler of the jump times is
checked on its own against the exact no-jump probability and the exact jump integrals.
"""

import numpy as np
import pytest
from scipy import stats

import trajectories as tj
from trajectories._streams import new_state, start, stream_key
from trajectories.channels.network_arrays import interval_leak_vector, network_trajectory_arrays
from trajectories.channels.network_loss import NetworkLoss
from trajectories.channels.network_unravelling import first_jump

INF = float("inf")
BASE = dict(theta=(0.9, 0.7), q=0.35, gamma_tr=(0.1, 0.05), nbar=(0.15, 0.3), cutoff=(8, 8))
C = 0.6 * np.exp(0.9j)
CASES = {
    "series_incoherent": dict(BASE, c=0.0, topology="series"),
    "series_complex_c": dict(BASE, c=C, topology="series"),
    "simultaneous_incoherent": dict(BASE, c=0.0, topology="simultaneous"),
    "simultaneous_complex_c": dict(BASE, c=C, topology="simultaneous"),
    "poisson_arrivals": dict(BASE, c=1.0, topology="simultaneous", cutoff=(6, 5),
                             arrivals=tj.Arrivals.poisson()),
    "gaussian_spread": dict(BASE, c=C, topology="series", cutoff=(6, 5),
                            theta_spread=tj.ThetaSpread.gaussian(0.2)),
}  # fmt: skip
KS = [0, 4, 10, 20]
RUN = dict(seed=11, checkpoints=KS, rho_checkpoints=[10, 20], leakage_tol=INF, chunk_size=100)
PER_STEP = ("energy", "total_energy", "p_excited")
AT_RHO = (
    "purity", "ergotropy", "local_ergotropy", "log_negativity", "mutual_information",
)  # fmt: skip


def z_scores(ens, exact) -> dict[str, float]:
    """Largest |estimate - exact| / (5 se + 1e-9) of each observable (> 1 fails)."""
    out = {}
    for names, ks in ((PER_STEP, ens.k), (AT_RHO, ens.rho_k)):
        rows = np.searchsorted(exact.k, ks)
        for name in names:
            est = getattr(ens, name)
            x = getattr(exact, name)[rows]
            out[name] = float(np.max(np.abs(est.mean - x) / (5 * est.stderr + 1e-9)))
    return out


def run(cfg: dict, n: int = 20, m: int = 4000, **kw):
    net = tj.Network(**cfg)
    return net, tj.simulate(net, n, m, **{**RUN, **kw})


@pytest.mark.parametrize("name", list(CASES))
def test_ensemble_agrees_with_exact_solver_within_five_standard_errors(name):
    net, ens = run(CASES[name])
    exact = tj.solve_exact(net, 20, checkpoints=KS, leakage_tol=INF)
    z = z_scores(ens, exact)
    assert max(z.values()) <= 1.0, z
    # the error bars are small enough to mean something
    assert np.max(ens.energy.stderr) < 0.05 and np.max(ens.purity.stderr) < 0.02
    # the expected leaked weight against the exact trace lost (its own error is below the
    # binomial one of the leaked trajectories)
    p = exact.leakage[-1]
    assert abs(ens.leakage[-1] - p) <= 5 * np.sqrt(p * (1 - p) / ens.n_trajectories) + 1e-9
    dead = 1.0 - ens.records.alive.mean()
    assert abs(dead - p) <= 5 * np.sqrt(p * (1 - p) / ens.n_trajectories) + 1e-9
    # rho_hat is the sum over the trajectories that did not leak: trace 1 - (leaked fraction)
    assert np.isclose(np.trace(ens.rho[-1]).real, 1.0 - dead, atol=1e-12)


@pytest.mark.parametrize(
    "change",
    [dict(theta=(0.9, 0.77)), dict(q=0.3)],
    ids=["theta_B_plus_10_percent", "q_changed"],
)
def test_a_wrong_model_fails_the_five_sigma_check(change):
    cfg = CASES["simultaneous_complex_c"]
    net = tj.Network(**cfg)
    exact = tj.solve_exact(net, 20, checkpoints=KS, leakage_tol=INF)
    _, wrong = run({**cfg, **change})
    assert max(z_scores(wrong, exact).values()) > 1.0


@pytest.mark.parametrize("topology", ["series", "simultaneous"])
def test_excitation_balance_is_exact_per_trajectory_for_incoherent_qubits(topology):
    cfg = dict(BASE, c=0.0, topology=topology, cutoff=(12, 10), gamma_tr=(0.3, 0.2))
    _, ens = run(cfg, n=40, m=400, checkpoints=range(0, 41, 5), rho_checkpoints="none",
                 chunk_size=20)  # fmt: skip
    rec = ens.records
    alive = rec.alive
    assert alive.mean() > 0.9
    n_tot = rec.n_mean.sum(axis=2)[alive]
    # one shell at a time: n_A + n_B of each conditional state is an integer
    assert np.allclose(n_tot, np.round(n_tot), atol=1e-9)
    # branch 0 came in excited: left in g, it gave a photon; branch 1 left in e took one
    gave = rec.qubit_g[..., 0] - rec.qubit_e[..., 1]
    balance = gave - rec.emissions.sum(axis=2) + rec.absorptions.sum(axis=2)
    assert np.array_equal(np.round(n_tot).astype(np.int64), balance[alive])
    assert balance.max() >= 3  # the books are not trivially zero


def _fixed_state(net):
    """A real joint state on many levels (shell order) and the arrays of the network."""
    sh, col, loss, _ = network_trajectory_arrays(net)
    rng = np.random.default_rng(5)
    psi = np.abs(rng.normal(size=net.dimension)) * np.exp(-0.3 * (sh.a + sh.b))
    psi /= np.linalg.norm(psi)
    sw0 = np.array([np.sum(psi[sh.off[m] : sh.off[m + 1]] ** 2) for m in range(sh.off.size - 1)])
    return sh, loss, psi, sw0


def _draw_first_jumps(net, count, t_left):
    sh, loss, psi, sw0 = _fixed_state(net)
    na, nb = net.cutoff
    state = new_state()
    key = stream_key(17)
    start(state, key[0], key[1], np.uint64(0), np.uint64(0))
    fa, fbr, rates, sw = np.empty(na), np.empty(nb), np.empty(6), np.empty(sw0.size)
    times, kinds = np.empty(count), np.empty(count, dtype=np.int64)
    hi = sh.off.size - 2
    for i in range(count):
        times[i], kinds[i] = first_jump(psi.copy(), sw0, 1.0, sw, sh, loss, 0, hi, t_left,
                                        state, fa, fbr, rates)  # fmt: skip
    return sh, loss, psi**2, times, kinds


NET_JUMPS = tj.Network(theta=(0.0, 0.0), q=0.5, gamma_tr=(0.8, 0.5), nbar=(0.2, 0.4),
                       cutoff=(5, 4))  # fmt: skip


def test_mixture_sampler_first_jump_times_follow_the_exact_no_jump_probability():
    sh, loss, w, t, kinds = _draw_first_jumps(NET_JUMPS, 20000, 1.0)
    jumped = t[kinds >= 0]
    assert np.all(jumped < 1.0) and np.all(t[kinds < 0] >= 1.0)
    s = lambda x: np.exp(-np.multiply.outer(x, loss.rates)) @ w  # noqa: E731
    cdf = lambda x: (1 - s(x)) / (1 - s(1.0))  # noqa: E731  (given a jump in (0, 1))
    assert jumped.size > 5000
    assert stats.kstest(jumped, cdf).pvalue > 1e-3
    # P(no jump in the interval) = S(1)
    p = s(1.0)
    assert abs(np.mean(kinds < 0) - p) <= 5 * np.sqrt(p * (1 - p) / kinds.size)


def test_mixture_sampler_jump_kinds_follow_the_exact_jump_integrals():
    sh, loss, w, _, kinds = _draw_first_jumps(NET_JUMPS, 20000, 1.0)
    na, nb = NET_JUMPS.cutoff
    a, b, r = sh.a, sh.b, loss.rates
    weight = w * (1 - np.exp(-r)) / r  # int_0^1 |psi_x(t)|^2 dt
    ea, ka, la = loss.emit[0], loss.absorb[0], loss.absorb[0]
    eb, kb, lb = loss.emit[1], loss.absorb[1], loss.absorb[1]
    coef = [
        ea * a, ka * (a + 1) * (a < na - 1), la * na * (a == na - 1),
        eb * b, kb * (b + 1) * (b < nb - 1), lb * nb * (b == nb - 1),
    ]  # fmt: skip
    probs = np.array([c @ weight for c in coef] + [w @ np.exp(-r)])  # the last: no jump
    assert np.isclose(probs.sum(), 1.0, atol=1e-12)
    counts = np.bincount(np.where(kinds < 0, 6, kinds), minlength=7)
    assert stats.chisquare(counts, probs * kinds.size).pvalue > 1e-3
    assert np.all(counts[:6] > 100)


@pytest.mark.parametrize(
    "arrivals", [tj.Arrivals.regular(), tj.Arrivals.poisson(), tj.Arrivals.bernoulli(0.3)],
    ids=["regular", "poisson", "bernoulli"],
)  # fmt: skip
def test_interval_leak_vector_is_the_weight_the_exact_loss_channel_loses(arrivals):
    net = tj.Network(theta=(0.5, 0.5), q=0.5, gamma_tr=(0.6, 0.3), nbar=(0.5, 0.8),
                     cutoff=(5, 4), arrivals=arrivals)  # fmt: skip
    leak = interval_leak_vector(net)
    loss = NetworkLoss(net)
    for x in range(net.dimension):
        rho = np.zeros((net.dimension, net.dimension), dtype=complex)
        rho[x, x] = 1.0
        lost = 1.0 - np.trace(loss.apply(rho)).real
        assert abs(leak[x] - lost) <= 1e-13 + 1e-9 * lost
    assert leak.max() > 1e-2


@pytest.mark.filterwarnings("ignore::trajectories.StatisticsWarning")
def test_results_are_bit_identical_for_any_number_of_workers_and_chunk_order():
    net = tj.Network(**CASES["gaussian_spread"])
    kw = dict(RUN, chunk_size=25, checkpoints=[0, 6, 12], rho_checkpoints=[6, 12])
    one = tj.simulate(net, 12, 150, n_jobs=1, **kw)
    two = tj.simulate(net, 12, 150, n_jobs=2, **kw)
    for name in ("energy", "purity", "fano", "ergotropy", "log_negativity", "p_excited"):
        a, b = getattr(one, name), getattr(two, name)
        assert np.array_equal(a.mean, b.mean, equal_nan=True)
        assert np.array_equal(a.stderr, b.stderr, equal_nan=True)
    assert np.array_equal(one.rho, two.rho) and np.array_equal(one.leakage, two.leakage)
    # another chunk size: the same trajectories (records); sums to rounding
    other = tj.simulate(net, 12, 150, n_jobs=1, **{**kw, "chunk_size": 40})
    for field in ("n_mean", "qubit_g", "qubit_e", "emissions", "absorptions", "alive"):
        assert np.array_equal(getattr(one.records, field), getattr(other.records, field))
    assert np.allclose(one.rho, other.rho, atol=1e-14)
    again = tj.simulate(net, 12, 150, **{**kw, "seed": one.seed})
    assert np.array_equal(again.records.n_mean, one.records.n_mean)
    assert not np.array_equal(tj.simulate(net, 12, 150, **{**kw, "seed": 12}).records.n_mean,
                              one.records.n_mean)  # fmt: skip


def test_a_complex_initial_state_runs_in_complex_arithmetic_and_agrees():
    cfg = CASES["simultaneous_complex_c"]
    net = tj.Network(**{**cfg, "cutoff": (5, 4)})
    rng = np.random.default_rng(3)
    psi0 = rng.normal(size=net.dimension) + 1j * rng.normal(size=net.dimension)
    psi0[8:] = 0.0
    psi0 /= np.linalg.norm(psi0)
    mixed = 0.7 * np.outer(psi0, psi0.conj())
    mixed[1, 1] += 0.3
    for init in (psi0, mixed):
        kw = {**RUN, "checkpoints": [0, 4, 10], "rho_checkpoints": [4, 10]}
        ens = tj.simulate(net, 10, 3000, initial_state=init, **kw)
        exact = tj.solve_exact(net, 10, initial_state=init, checkpoints=[0, 4, 10],
                               leakage_tol=INF)  # fmt: skip
        assert max(z_scores(ens, exact).values()) <= 1.0


def test_truncation_is_refused_above_the_leakage_tolerance():
    net = tj.Network(**{**CASES["series_complex_c"], "cutoff": (4, 4)})
    with pytest.raises(tj.TruncationError, match=r"cutoff=\(4, 4\)"):
        tj.simulate(net, 20, 200, seed=1, chunk_size=10, leakage_tol=1e-3)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(n_trajectories=0), "n_trajectories must be an integer >= 1, got 0"),
        (dict(n_collisions=None), "n_collisions is required"),
        (dict(checkpoints=[0, 5, 3]), "strictly increasing"),
        (dict(rho_checkpoints=[3]), r"rho_checkpoints \[3\] are not among the checkpoints"),
        (dict(rho_checkpoints="first"), "rho_checkpoints must be"),
        (dict(seed=-1), "seed must be a non-negative integer"),
        (dict(n_jobs=0), "n_jobs must be a non-zero integer"),
        (dict(chunk_size=0), "chunk_size must be an integer >= 1"),
        (dict(jackknife_groups=1), "jackknife_groups must be an integer >= 2"),
        (dict(leakage_tol=-1.0), "leakage_tol must be >= 0"),
        (dict(initial_state=np.ones(7)), "initial_state"),
        (dict(max_jumps=5), "max_jumps=5 is not supported for a Network"),
        (dict(target_stderr=0.01), "target_stderr=0.01 is not supported for a Network"),
    ],
)
def test_bad_arguments_fail_before_any_work_with_one_line(kwargs, message):
    net = tj.Network(theta=(0.5, 0.5), q=0.5, cutoff=(4, 3))
    args = dict(n_collisions=10, n_trajectories=10, checkpoints=[0, 5, 10])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message) as info:
        tj.simulate(net, **args)
    assert "\n" not in str(info.value)


def test_few_jackknife_groups_warn_and_the_result_says_what_it_holds():
    net = tj.Network(theta=(0.5, 0.5), q=0.5, c=1.0, gamma_tr=0.1, cutoff=(4, 3))
    with pytest.warns(tj.StatisticsWarning, match="only 4 jackknife groups"):
        ens = tj.simulate(net, 5, 40, seed=1, chunk_size=10, leakage_tol=INF)
    assert isinstance(ens, tj.NetworkEnsemble) and isinstance(ens.records, tj.NetworkRecords)
    assert ens.sampler == "mixture" and ens.rho_k.tolist() == [5] and ens.rho.shape == (1, 12, 12)
    assert ens.records.n_mean.shape == (40, 6, 2) and ens.records.qubit_e.shape == (40, 6, 1)
    assert "NetworkEnsemble(series" in repr(ens)
