"""Counting statistics (issue 6): trajectory records against exact counting distributions.

The exact side is checked against constructions independent of trajectories/counting.py:
the exact solver's states with dense Kraus operators and the exact loss integral (means),
a count-resolved recursion (qubit counts), dense N^2 x N^2 tilted Liouvillians built from
tests/helpers.py (every count), and a closed form (emissions from a Fock state).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import annihilation, dense_loss_generator, qubit_state, superop, unvec, vec
from scipy import stats
from scipy.linalg import expm

import trajectories as tj
from trajectories._threads import single_threaded_blas
from trajectories.channels.collisions import collision_channel
from trajectories.channels.kraus import incoming_states
from trajectories.channels.loss import LossChannel, loss_generator_block
from trajectories.statistics import counting as cn

FINE = tj.fine_tuned_theta(15)
DETUNED = tj.fine_tuned_theta(15.6)

#: the three trajectory cases of the chi-square tests (each one simulation, many counts)
CASES = {
    "coherent_lossy": dict(
        model=dict(theta=FINE, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=30),
        k=200, m=4000, seed=11, counts=("g", "emission"),
    ),
    "incoherent_fine_tuned": dict(
        model=dict(theta=FINE, q=0.25, c=0.0, cutoff=20),
        k=200, m=4000, seed=12, counts=("e", "g"),
    ),
    "thermal_absorptions": dict(
        model=dict(theta=1.1, q=0.4, c=0.6 * np.exp(0.7j), gamma_tr=0.3, nbar=0.5, cutoff=30),
        k=100, m=4000, seed=13, counts=("absorption", "net"),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def runs():
    """One ensemble and the exact distributions per case (computed once for the module)."""
    out = {}
    for name, case in CASES.items():
        model = tj.Micromaser(**case["model"])
        k = case["k"]
        ks = np.arange(0, k + 1, k // 4)
        ens = tj.simulate(
            model, k, case["m"], seed=case["seed"], chunk_size=100, checkpoints=ks,
            rho_checkpoints="none",
        )  # fmt: skip
        exact = {c: cn.exact_distribution(model, k, c, checkpoints=ks) for c in case["counts"]}
        out[name] = (model, ens, exact)
    return out


# ------------------------------------------------------------------- trajectories
@pytest.mark.parametrize("gamma_tr,nbar", [(0.0, 0.0), (0.1, 0.15), (0.7, 0.5)])
def test_incoherent_trajectories_are_fock_states_and_their_counts_balance(gamma_tr, nbar):
    model = tj.Micromaser(theta=DETUNED, q=0.3, c=0.0, gamma_tr=gamma_tr, nbar=nbar, cutoff=60)
    ks = range(0, 151, 10)
    ens = tj.simulate(model, 150, 300, seed=4, chunk_size=15, checkpoints=ks)
    per = ens.per_trajectory
    assert np.allclose(per.n2_mean, per.n_mean**2, atol=1e-9)  # a Fock state
    n = np.round(per.n_mean).astype(np.int64)
    assert np.allclose(per.n_mean, n, atol=1e-9)
    net = cn.from_ensemble(ens, "net").counts  # absorptions - emissions
    # photons = (qubits e -> g) - (qubits g -> e) - emissions + absorptions, every trajectory
    assert np.array_equal(n, per.photons_from_qubits + net)
    g, e = cn.from_ensemble(ens, "g").counts, cn.from_ensemble(ens, "e").counts
    assert np.array_equal(g + e, np.broadcast_to(ens.k, g.shape))  # one qubit per collision
    if gamma_tr > 0:
        assert np.abs(net).max() > 0  # the bath acted: the test is not vacuous
    else:
        assert not net.any()


def test_trajectory_statistics_are_the_textbook_estimators():
    model = tj.Micromaser(**CASES["thermal_absorptions"]["model"])
    ens = tj.simulate(model, 40, 600, seed=2, chunk_size=30, checkpoints=[0, 20, 40])
    st = cn.from_ensemble(ens, "absorption")
    x = st.counts[:, -1].astype(float)
    assert st.mean.mean[-1] == pytest.approx(x.mean(), rel=1e-12)
    assert st.variance.mean[-1] == pytest.approx(x.var(ddof=1), rel=1e-12)
    assert st.mandel_q.mean[-1] == pytest.approx(x.var(ddof=1) / x.mean() - 1, rel=1e-12)
    for p in range(1, 5):  # k-statistics
        assert st.cumulants[p - 1].mean[-1] == pytest.approx(stats.kstat(x, p), rel=1e-9, abs=1e-9)
    # the delete-one jackknife error of a mean is the usual standard error
    assert st.mean.stderr[-1] == pytest.approx(x.std(ddof=1) / np.sqrt(x.size), rel=1e-9)
    # brute-force delete-one jackknife of the Mandel Q
    loo = np.array(
        [np.var(np.delete(x, i), ddof=1) / np.delete(x, i).mean() - 1 for i in range(x.size)]
    )
    se = np.sqrt((x.size - 1) / x.size * np.sum((loo - loo.mean()) ** 2))
    assert st.mandel_q.stderr[-1] == pytest.approx(se, rel=1e-8)
    assert np.isnan(st.mandel_q.mean[0])  # mean 0 at k = 0
    values, f, err = cn.histogram(st)
    assert f.sum() == pytest.approx(1.0) and values[0] == x.min() and values[-1] == x.max()
    with pytest.raises(ValueError, match="count must be one of"):
        cn.from_ensemble(ens, "photons")


# ---------------------------------------------------------------------- exact side
def _exact_mean_counts(model: tj.Micromaser, k: int) -> dict[str, np.ndarray]:
    """Mean counts after 0..k collisions from the exact solver's states.

    Qubits: sum over collisions of Tr[K rho K^dag] over the Kraus operators of the outcome.
    Bath: gamma (nbar+1) int <n> dt and gamma nbar int <n+1> dt over each interval, from the
    augmented exponential of the population block (after the collision of that step).
    """
    ex = tj.solve_exact(model, k, store_states=True)
    cc = collision_channel(model)
    n = model.cutoff
    dense = {o: [kr.dense() for kr in cc.kraus if kr.outcome == o] for o in "ge"}
    aug = np.zeros((2 * n, 2 * n))
    aug[:n, :n] = loss_generator_block(model.gamma_tr, model.nbar, n, 0)
    aug[n:, :n] = np.eye(n)
    integral = expm(aug)[n:, :n]  # int_0^1 p(t) dt = integral @ p(0)
    levels = np.arange(n)
    inc = {c: np.zeros(k + 1) for c in ("g", "e", "emission", "absorption")}
    incoming = incoming_states(model)  # "changed": the operators leaving in the other state
    changed = [kr.dense() for kr in cc.kraus if incoming[kr.branch] not in (None, kr.outcome)]
    inc["changed"] = np.zeros(k + 1)
    for j in range(k):
        rho = ex.states[j]
        for o in "ge":
            inc[o][j + 1] = sum(np.trace(a @ rho @ a.conj().T).real for a in dense[o])
        inc["changed"][j + 1] = sum(np.trace(a @ rho @ a.conj().T).real for a in changed)
        p = integral @ np.diagonal(cc.apply_dm(rho)[0]).real
        inc["emission"][j + 1] = model.gamma_tr * (model.nbar + 1) * p @ levels
        inc["absorption"][j + 1] = model.gamma_tr * model.nbar * p @ (levels + 1)
    out = {c: np.cumsum(v) for c, v in inc.items()}
    out["net"] = out["absorption"] - out["emission"]
    return out


@pytest.mark.parametrize("coherent", [True, False])
def test_exact_distributions_are_normalised_and_their_means_match_the_exact_solver(coherent):
    c = 0.6 * np.exp(0.4j) if coherent else 0.0
    model = tj.Micromaser(theta=DETUNED, q=0.35, c=c, gamma_tr=0.2, nbar=0.3, cutoff=30)
    k = 40
    ref = _exact_mean_counts(model, k)
    for count in cn.COUNTS:
        if coherent and count == "changed":  # no incoming state to change
            continue
        ex = cn.exact_distribution(model, k, count)
        p = ex.probabilities
        assert np.all(p >= -1e-12), (count, p.min())
        assert np.allclose(p.sum(axis=1), 1.0 - ex.leakage, atol=1e-12, rtol=0)
        assert np.all(ex.leakage < 1e-12)
        assert np.all(ex.tail_mass <= 1e-14)
        assert np.allclose(ex.mean, ref[count], rtol=1e-10, atol=1e-11), count
        assert np.allclose(p @ ex.values, ref[count], rtol=1e-10, atol=1e-11), count
        # the count has a distribution: not a point mass
        assert ex.variance[-1] > 0.5


def test_qubit_count_distribution_equals_a_count_resolved_recursion():
    """rho_j(k+1) = Lambda(Phi_e rho_j + Phi_g rho_{j-1}): P(j) = Tr rho_j, no DFT."""
    model = tj.Micromaser(theta=FINE, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=20)
    k = 30
    ex = cn.exact_distribution(model, k, "g")
    cc, loss = collision_channel(model), LossChannel(model)
    dense = {o: [kr.dense() for kr in cc.kraus if kr.outcome == o] for o in "ge"}

    def part(o, rho):
        return sum(a @ rho @ a.conj().T for a in dense[o])

    rhos = [tj.as_density_matrix(None, 20)]
    for step in range(1, k + 1):
        new = [np.zeros((20, 20), complex) for _ in range(step + 1)]
        for j, rho in enumerate(rhos):
            new[j] += part("e", rho)
            new[j + 1] += part("g", rho)
        rhos = [loss.apply_dm(r)[0] for r in new]
        p = np.array([np.trace(r).real for r in rhos])
        assert np.allclose(ex.probabilities[step, : step + 1], p, atol=1e-13, rtol=0)
        assert np.all(ex.probabilities[step, step + 1 :] == 0.0)


def _dense_tilted_pieces(model: tj.Micromaser):
    """Dense N^2 x N^2 pieces of the one-step channel (column-stacking vec).

    Collision parts per outcome from U = expm on N+1 levels (outcome-resolved partial trace);
    loss: the dense Lindbladian with the package's leaky-top convention and its two jump terms.
    """
    n = model.cutoff
    big = n + 1
    a = annihilation(big)
    sp = np.array([[0, 1], [0, 0]], dtype=complex)
    u = expm(-1j * model.theta * (np.kron(sp, a) + np.kron(sp.conj().T, a.conj().T)))
    rq = qubit_state(model.q, model.c)
    # keys: outgoing "e" / "g"; for c = 0 also incoming+outgoing "ee", "eg", "ge", "gg"
    incoming = {"": rq}
    if model.c == 0:
        incoming.update(e=np.diag([rq[0, 0], 0.0]), g=np.diag([0.0, rq[1, 1]]))
    phi = {i + o: np.zeros((n * n, n * n), dtype=complex) for i in incoming for o in "eg"}
    for col in range(n * n):
        e = np.zeros(n * n, complex)
        e[col] = 1.0
        x = np.zeros((big, big), complex)
        x[:n, :n] = unvec(e, n)
        for i, r in incoming.items():
            full = u @ np.kron(r, x) @ u.conj().T
            phi[i + "e"][:, col] = vec(full[:big, :big][:n, :n])
            phi[i + "g"][:, col] = vec(full[big:, big:][:n, :n])
    g, nb = model.gamma_tr, model.nbar
    at = annihilation(n)
    emit = superop(np.sqrt(g * (nb + 1)) * at, np.sqrt(g * (nb + 1)) * at.conj().T)
    absorb = superop(np.sqrt(g * nb) * at.conj().T, np.sqrt(g * nb) * at)
    return phi, dense_loss_generator(n, g, nb, leaky_top=True), emit, absorb


def _dense_tilted_step(pieces, count: str, z: complex) -> np.ndarray:
    """The tilted one-step channel: weight z on the counted outcome or jump term."""
    phi, lind, emit, absorb = pieces
    if count == "changed":  # came in e and left in g, or the reverse
        step = phi["ee"] + phi["gg"] + z * (phi["eg"] + phi["ge"])
    else:
        step = phi["e"] * (z if count == "e" else 1.0) + phi["g"] * (z if count == "g" else 1.0)
    if count in ("emission", "net"):
        lind = lind + ((1 / z if count == "net" else z) - 1) * emit
    if count in ("absorption", "net"):
        lind = lind + (z - 1) * absorb
    return expm(lind) @ step


@pytest.mark.parametrize("count", cn.COUNTS)
def test_exact_distribution_matches_a_dense_tilted_channel(count):
    c = 0.0 if count == "changed" else 0.7 * np.exp(-0.5j)  # "changed": definite incoming states
    model = tj.Micromaser(theta=1.3, q=0.3, c=c, gamma_tr=0.4, nbar=0.6, cutoff=9)
    k, size = 12, 64  # size exceeds every count's range here: no aliasing in the reference
    rho0 = np.outer(tj.coherent_state(0.8, 9), tj.coherent_state(0.8, 9).conj())
    gen = np.zeros(size, complex)
    with single_threaded_blas():  # small dense matrices: threads only contend
        pieces = _dense_tilted_pieces(model)
        for lidx in range(size):
            t = _dense_tilted_step(pieces, count, np.exp(2j * np.pi * lidx / size))
            x = vec(rho0)
            for _ in range(k):
                x = t @ x
            gen[lidx] = np.trace(unvec(x, 9))
    ref = np.fft.fft(gen).real / size  # P(j mod size)
    ex = cn.exact_distribution(
        model, k, count, initial_state=rho0, checkpoints=[k], leakage_tol=1.0
    )
    got = np.zeros(size)
    np.add.at(got, np.mod(ex.values, size), ex.probabilities[0])
    assert np.allclose(got, ref, atol=1e-12, rtol=0), np.abs(got - ref).max()
    assert ex.leakage[0] > 0  # the reference and the package agree on the leaky cutoff too


def test_emissions_from_a_fock_state_are_binomial():
    """theta = 0, nbar = 0: each of n0 photons has left by time k with probability 1-e^{-gk}."""
    n0, gamma = 12, 0.15
    model = tj.Micromaser(theta=0.0, q=0.5, c=0.0, gamma_tr=gamma, nbar=0.0, cutoff=16)
    ex = cn.exact_distribution(model, 25, "emission", initial_state=tj.fock_state(n0, 16))
    for k in (1, 7, 25):
        v, p = ex.at(k)
        assert np.allclose(p, stats.binom.pmf(v, n0, 1 - np.exp(-gamma * k)), atol=1e-14)
    assert ex.mandel_q[-1] == pytest.approx(-(1 - np.exp(-gamma * 25)), rel=1e-10)


def test_exact_distribution_rejects_bad_input():
    model = tj.Micromaser(theta=FINE, q=0.25, cutoff=10)
    with pytest.raises(ValueError, match="count must be one of"):
        cn.exact_distribution(model, 5, "photons")
    with pytest.raises(ValueError, match="tail"):
        cn.exact_distribution(model, 5, "g", tail=0.1)
    with pytest.raises(tj.TruncationError):
        cn.exact_distribution(tj.Micromaser(theta=0.3, q=0.0, cutoff=5), 40, "g")


# ------------------------------------------------------- trajectories vs exact
_CHI_SQUARE = [(name, c) for name, case in CASES.items() for c in case["counts"]]


@pytest.mark.parametrize("name,count", _CHI_SQUARE)
def test_trajectory_histograms_pass_a_chi_square_test_against_the_exact_distribution(
    runs, name, count
):
    model, ens, exact = runs[name]
    st = cn.from_ensemble(ens, count)
    ex = exact[count]
    k = int(ens.k[-1])
    v, p = ex.at(k)
    chi = cn.chi_square(st.counts[:, -1], v, p)
    assert chi.dof >= 15  # a real histogram, not a couple of bins
    assert chi.pvalue > 1e-3, (name, count, chi.statistic, chi.dof)


@pytest.mark.parametrize("name,count", _CHI_SQUARE)
def test_mandel_q_from_trajectories_is_within_5_standard_errors_of_exact(runs, name, count):
    model, ens, exact = runs[name]
    st = cn.from_ensemble(ens, count)
    ex = exact[count]
    for est, ref in ((st.mandel_q, ex.mandel_q), (st.mean, ex.mean), (st.variance, ex.variance)):
        ok = ens.k > 0
        assert np.all(np.abs(est.mean[ok] - ref[ok]) <= 5 * est.stderr[ok] + 1e-9)
        assert np.all(est.stderr[ok] > 0)


def test_chi_square_rejects_the_distribution_of_a_different_model(runs):
    """The histogram tests can fail: q = 0.25 trajectories against the exact q = 0.30 counts."""
    model, ens, exact = runs["incoherent_fine_tuned"]
    other = cn.exact_distribution(model.replace(q=0.30), 200, "e", checkpoints=[200])
    v, p = other.at(200)
    st = cn.from_ensemble(ens, "e")
    assert cn.chi_square(st.counts[:, -1], v, p).pvalue < 1e-6
    z = (st.mandel_q.mean[-1] - other.mandel_q[-1]) / st.mandel_q.stderr[-1]
    assert abs(st.mean.mean[-1] - other.mean[-1]) > 10 * st.mean.stderr[-1] or abs(z) > 5


# ---------------------------------------------------------------- long-time rates
@pytest.mark.parametrize(
    "params",
    [
        dict(theta=DETUNED, q=0.3, c=0.0, gamma_tr=0.1, nbar=0.15, cutoff=40),  # populations
        dict(theta=FINE, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=22),  # N^2 x N^2
        dict(theta=1.1, q=0.4, c=0.6 * np.exp(0.7j), gamma_tr=0.5, nbar=0.3, cutoff=26),
    ],
)
def test_long_time_rate_from_the_leading_eigenvalue_matches_the_slope_of_the_exact_mean(params):
    model = tj.Micromaser(**params)
    k1, k2 = 200, 300
    for count in cn.counts_for(model):
        st = cn.stationary_rates(model, count)
        mo = cn.exact_moments(model, k2, count, checkpoints=[k1, k2])
        slope = (mo.mean[1] - mo.mean[0]) / (k2 - k1)
        var_slope = (mo.variance[1] - mo.variance[0]) / (k2 - k1)
        assert st.rate == pytest.approx(slope, rel=1e-6), count
        assert st.variance_rate == pytest.approx(var_slope, rel=1e-6), count
        assert st.mandel_q == pytest.approx(var_slope / slope - 1, rel=1e-5, abs=1e-6), count
        assert st.relaxation_collisions < 50  # the late slope is stationary
    assert abs(st.eigenvalue - 1) < 1e-10


def test_stationary_rates_refuse_large_dense_problems():
    with pytest.raises(ValueError, match="above the limit"):
        cn.stationary_rates(tj.Micromaser(theta=FINE, q=0.25, c=1.0, cutoff=41), "g")


# ------------------------------------------------------------------- waiting times
def test_g_waiting_times_are_geometric_when_the_qubits_pass_unchanged():
    """theta = 0: each qubit leaves as it came, in g with probability q, independently."""
    q = 0.3
    model = tj.Micromaser(theta=0.0, q=q, c=0.0, cutoff=4)
    ens = tj.simulate(model, 300, 200, seed=8, chunk_size=10, checkpoints=range(301))
    w = cn.g_waiting_times(ens)
    assert w.unit == "collisions" and w.values.min() >= 1
    tau = np.arange(1, 13)
    expected = q * (1 - q) ** (tau - 1)
    expected = np.append(expected, 1 - expected.sum()) * w.values.size
    observed = np.bincount(np.minimum(w.values, 13), minlength=14)[1:]
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    coarse = tj.simulate(model, 300, 20, seed=8, checkpoints=range(0, 301, 2))
    with pytest.raises(ValueError, match="every collision"):
        cn.g_waiting_times(coarse)


def test_emission_waiting_times_from_a_decaying_fock_state():
    """theta = 0, nbar = 0 from |n0>: the wait after the emission leaving m photons is Exp(g m)."""
    n0, gamma = 8, 0.5
    model = tj.Micromaser(theta=0.0, q=0.5, c=0.0, gamma_tr=gamma, nbar=0.0, cutoff=10)
    psi0 = tj.fock_state(n0, 10)
    ens = tj.simulate(model, 60, 2000, seed=6, chunk_size=100, initial_state=psi0, max_jumps=n0)
    w = cn.emission_waiting_times(ens)
    assert w.n_excluded == 0 and w.n_trajectories == 2000
    assert w.values.size == 2000 * (n0 - 1)  # every photon left within 60 t_r
    exact_mean = np.mean(1 / (gamma * np.arange(1, n0)))
    se = w.values.std(ddof=1) / np.sqrt(w.values.size)
    assert abs(w.mean - exact_mean) < 5 * se
    # the last wait of each trajectory (one photon left) is Exp(gamma)
    last = w.values.reshape(2000, n0 - 1)[:, -1]
    assert stats.kstest(last, "expon", args=(0, 1 / gamma)).pvalue > 1e-3
    small = tj.simulate(model, 60, 50, seed=6, initial_state=psi0, max_jumps=3)
    assert cn.emission_waiting_times(small).n_excluded == 50  # every log overflowed
    none = tj.simulate(model, 5, 20, seed=6, chunk_size=1, initial_state=psi0)
    with pytest.raises(ValueError, match="max_jumps"):
        cn.emission_waiting_times(none)


def test_energy_per_trajectory_is_labelled_unravelling_dependent(runs):
    model, ens, exact = runs["coherent_lossy"]
    e = cn.energy_per_trajectory(ens)
    assert "not a measurable" in e.note
    assert e.mean == pytest.approx(ens.energy.mean[-1], rel=1e-12)
    assert e.values.size == ens.n_trajectories and e.values.std() > 0


# ------------------------------------------------------------------ figures / command
def test_counts_command_writes_the_figures_from_a_result_file(tmp_path, capsys):
    from trajectories.runs.cli import counts_command

    model = tj.Micromaser(theta=FINE, q=0.25, c=1.0, gamma_tr=0.2, nbar=0.3, cutoff=24)
    ens = tj.simulate(model, 30, 200, seed=5, chunk_size=10, checkpoints=range(31), max_jumps=60)
    path = tj.save(tmp_path / "run.h5", ensemble=ens, exact=tj.solve_exact(model, 30))
    written = counts_command(path, tmp_path / "figs", ["png"])
    names = sorted(p.name for p in written)
    assert names == [f"run-counts-{w}.png" for w in ("energy", "hist", "mandel", "waiting")]
    assert all(p.stat().st_size > 10_000 for p in written)
    out = capsys.readouterr().out
    for count in [c for c in cn.COUNTS if c != "changed"]:
        assert f"\n{count} " in out  # one summary row per count (the histograms' counts)
    exact_free = tj.save(tmp_path / "exact.h5", exact=tj.solve_exact(model, 5))
    with pytest.raises(ValueError, match="no trajectory ensemble"):
        counts_command(exact_free, tmp_path, ["png"])


def test_qubits_in_e_are_the_mirror_image_of_qubits_in_g():
    """e = k - g in every history: the figures derive P(e) from P(g) without a second DFT."""
    from trajectories.plot import counting as acn

    model = tj.Micromaser(theta=FINE, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=20)
    g = cn.exact_distribution(model, 25, "g", checkpoints=[0, 10, 25])
    e = cn.exact_distribution(model, 25, "e", checkpoints=[0, 10, 25])
    m = acn._mirror(g, "e")
    for k in (0, 10, 25):
        v1, p1 = m.at(k)
        v2, p2 = e.at(k)
        n = min(v1.size, v2.size)
        assert np.allclose(p1[:n], p2[:n], atol=1e-14) and np.all(p1[n:] == 0)
    assert np.allclose(m.mean, e.mean, rtol=1e-12) and np.allclose(m.mandel_q[1:], e.mandel_q[1:])
