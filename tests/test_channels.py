"""Collision and loss channels against brute-force dense constructions (SPEC Sec. 2)."""

import numpy as np
import pytest
from helpers import dense_collision, dense_loss, random_density_matrix

import trajectories as tj
from trajectories.channels.collisions import collision_channel
from trajectories.channels.kraus import qubit_branches
from trajectories.channels.loss import LossChannel

COLLISION_CASES = [
    # theta, q, c
    (tj.fine_tuned_theta(15), 0.25, 1.0),
    (tj.fine_tuned_theta(15.6), 0.25, 0.0),
    (0.37, 0.6, 0.5 * np.exp(0.7j)),
    (1.3, 0.1, np.exp(-2.1j)),
    (2.9, 0.5, 0.0),
    (0.8, 0.0, 0.3),
    (0.8, 1.0, 0.0),
    (0.55, 0.3, -0.999999j),
]


def model(theta, q, c, n, gamma_tr=0.0, nbar=0.0):
    return tj.Micromaser(theta=theta, q=q, c=c, gamma_tr=gamma_tr, nbar=nbar, cutoff=n)


@pytest.mark.parametrize("theta,q,c", COLLISION_CASES)
def test_collision_channel_matches_dense_unitary_on_n_plus_one_levels(theta, q, c, rng):
    n = 9
    rho = random_density_matrix(n, rng)
    ch = collision_channel(model(theta, q, c, n))
    out, leak = ch.apply_dm(rho)
    ref = dense_collision(rho, theta, q, c)
    assert np.max(np.abs(out - ref)) < 1e-12
    assert abs(np.trace(out).real + leak - 1.0) < 1e-12
    assert abs(leak - (1.0 - np.trace(ref).real)) < 1e-12
    # the Kraus operators give the same map (the pair weights are written from rho_q)
    assert np.max(np.abs(ch.apply_stack(rho) - ref)) < 1e-12


@pytest.mark.parametrize("theta,q,c", COLLISION_CASES)
def test_banded_kraus_operators_match_dense_unitary_on_state_vectors(theta, q, c, rng):
    n = 8
    psi = rng.normal(size=n) + 1j * rng.normal(size=n)
    psi /= np.linalg.norm(psi)
    ch = collision_channel(model(theta, q, c, n))
    rho_out = sum(np.outer(k.apply(psi), k.apply(psi).conj()) for k in ch.kraus)
    ref = dense_collision(np.outer(psi, psi.conj()), theta, q, c)
    assert np.max(np.abs(rho_out - ref)) < 1e-12
    # batch application equals one-by-one application
    batch = np.stack([psi, psi[::-1], np.roll(psi, 2)])
    for k in ch.kraus:
        assert np.allclose(k.apply(batch), [k.apply(v) for v in batch], rtol=0, atol=1e-15)
        assert np.allclose(k.apply(psi), k.dense() @ psi, rtol=0, atol=1e-15)


@pytest.mark.parametrize("theta,q,c", COLLISION_CASES)
def test_kraus_completeness_up_to_the_leaking_top_level(theta, q, c):
    n = 7
    ch = collision_channel(model(theta, q, c, n))
    total = sum(k.dense().conj().T @ k.dense() for k in ch.kraus)
    expected = np.eye(n)
    expected[-1, -1] -= (1 - q) * np.sin(theta * np.sqrt(n)) ** 2
    assert np.max(np.abs(total - expected)) < 1e-13
    leak_form = ch.leak_matrix()
    assert leak_form[-1, -1].real == pytest.approx(1 - expected[-1, -1], abs=1e-14)
    assert np.max(np.abs(total + leak_form - np.eye(n))) < 1e-13


def test_number_of_kraus_operators_and_incoherent_basis():
    n = 5
    assert len(collision_channel(model(0.5, 0.25, 1.0, n)).kraus) == 2
    assert len(collision_channel(model(0.5, 0.0, 0.7, n)).kraus) == 2
    assert len(collision_channel(model(0.5, 0.25, 0.4j, n)).kraus) == 4
    # c = 0 at q = 1/2: branch 0 is "came in excited", branch 1 "came in ground"
    branches = qubit_branches(model(0.5, 0.5, 0.0, n))
    assert branches == [(0.5, 1.0, 0.0), (0.5, 0.0, 1.0)]
    ks = collision_channel(model(0.5, 0.5, 0.0, n)).kraus
    assert [(k.branch, k.outcome) for k in ks] == [(0, "e"), (0, "g"), (1, "e"), (1, "g")]
    assert np.allclose(
        ks[0].dense(), np.sqrt(0.5) * np.diag(np.cos(0.5 * np.sqrt(np.arange(n) + 1)))
    )


def test_collision_on_populations_equals_density_matrix_path(rng):
    n = 12
    ch = collision_channel(model(1.1, 0.3, 0.0, n))
    p = rng.random(n)
    p /= p.sum()
    out_p, leak_p = ch.apply_populations(p)
    out_rho, leak_rho = ch.apply_dm(np.diag(p).astype(complex))
    assert np.max(np.abs(out_p - np.diag(out_rho).real)) < 1e-15
    assert np.max(np.abs(out_rho - np.diag(np.diag(out_rho)))) == 0.0
    assert leak_p == pytest.approx(leak_rho, abs=1e-16)


@pytest.mark.parametrize("phi", [0.3, -2.0, np.pi])
@pytest.mark.parametrize("c_abs", [1.0, 0.6])
def test_collision_is_phase_covariant_on_the_full_density_matrix(phi, c_abs, rng):
    n = 10
    rho = random_density_matrix(n, rng)
    r = np.diag(np.exp(1j * phi * np.arange(n)))
    rotated = collision_channel(model(0.9, 0.35, c_abs * np.exp(1j * phi), n)).apply_dm(rho)[0]
    plain = collision_channel(model(0.9, 0.35, c_abs, n)).apply_dm(r.conj().T @ rho @ r)[0]
    assert np.max(np.abs(rotated - r @ plain @ r.conj().T)) < 1e-13
    # and the phase is visible: the two channels differ on a coherent state
    assert (
        np.max(np.abs(rotated - collision_channel(model(0.9, 0.35, c_abs, n)).apply_dm(rho)[0]))
        > 1e-3
    )


LOSS_CASES = [(0.1, 0.15), (0.001, 0.15), (0.5, 0.0), (1.7, 2.0), (0.05, 0.0)]


@pytest.mark.parametrize("gamma,nbar", LOSS_CASES)
def test_loss_channel_matches_expm_of_dense_generator_same_cutoff_convention(gamma, nbar, rng):
    for n in (2, 5, 8):
        rho = random_density_matrix(n, rng)
        ch = LossChannel(model(0.3, 0.5, 0.0, n, gamma, nbar))
        out, leak = ch.apply_dm(rho)
        ref = dense_loss(rho, gamma, nbar, leaky_top=True)
        assert np.max(np.abs(out - ref)) < 1e-12
        assert abs(np.trace(out).real + leak - 1.0) < 1e-12
        assert np.max(np.abs(out - out.conj().T)) == 0.0
        assert np.linalg.eigvalsh(out)[0] > -1e-12
        # the populations path is the d = 0 block of the same channel
        p_out, p_leak = ch.apply_populations(np.diag(rho).real)
        assert np.max(np.abs(p_out - np.diag(ref).real)) < 1e-12
        assert p_leak == pytest.approx(leak, abs=1e-15)


@pytest.mark.parametrize("gamma,nbar", [(0.1, 0.15), (0.5, 1.0), (1.0, 3.0)])
def test_loss_channel_agrees_with_larger_dense_liouvillian_within_the_leakage(gamma, nbar, rng):
    n, extra = 6, 20
    rho = random_density_matrix(n, rng)
    out, leak = LossChannel(model(0.3, 0.5, 0.0, n, gamma, nbar)).apply_dm(rho)
    big = np.zeros((n + extra, n + extra), dtype=complex)
    big[:n, :n] = rho
    ref = dense_loss(big, gamma, nbar, leaky_top=False)[:n, :n]
    diff = ref - out
    assert leak > 1e-4  # the test means something: weight really crosses the cutoff
    # populations: we drop the (non-negative) weight of paths that crossed the cutoff and
    # came back, which is at most the weight that crossed it
    assert np.diag(diff).real.min() > -1e-12
    assert np.trace(diff).real <= leak + 1e-12
    # every element agrees to within the leaked weight
    assert np.max(np.abs(diff)) <= leak
    # and with the top level empty, nothing leaks and both agree to rounding
    rho_low = np.zeros_like(rho)
    rho_low[: n - 3, : n - 3] = random_density_matrix(n - 3, rng)
    big[:] = 0
    big[:n, :n] = rho_low
    out_low, leak_low = LossChannel(model(0.3, 0.5, 0.0, n, gamma, 0.0)).apply_dm(rho_low)
    ref_low = dense_loss(big, gamma, 0.0, leaky_top=False)[:n, :n]
    assert leak_low == 0.0
    assert np.max(np.abs(out_low - ref_low)) < 1e-12


def test_loss_channel_keeps_positivity_and_is_identity_without_loss(rng):
    n = 30
    for gamma, nbar in [(0.1, 0.15), (2.0, 0.5)]:
        ch = LossChannel(model(0.3, 0.5, 0.0, n, gamma, nbar))
        for rank in (1, 3, n):
            out, _ = ch.apply_dm(random_density_matrix(n, rng, rank=rank))
            assert np.linalg.eigvalsh(out)[0] > -1e-12
    rho = random_density_matrix(n, rng)
    out, leak = LossChannel(model(0.3, 0.5, 0.0, n)).apply_dm(rho)
    assert out is rho and leak == 0.0


def test_loss_channel_is_phase_covariant(rng):
    n = 12
    rho = random_density_matrix(n, rng)
    r = np.diag(np.exp(0.77j * np.arange(n)))
    ch = LossChannel(model(0.3, 0.5, 0.0, n, 0.3, 0.4))
    lhs = ch.apply_dm(r @ rho @ r.conj().T)[0]
    rhs = r @ ch.apply_dm(rho)[0] @ r.conj().T
    assert np.max(np.abs(lhs - rhs)) < 1e-14


def test_packed_loss_blocks_match_individual_blocks(rng):
    for n in (2, 3, 7, 10):  # odd and even cutoffs exercise the pairing of diagonals
        ch = LossChannel(model(0.3, 0.5, 0.0, n, 0.2, 0.3))
        rho = random_density_matrix(n, rng)
        out = ch.apply_dm(rho)[0]
        for d in range(n):
            ref = ch.block(d) @ np.diagonal(rho, d)
            assert np.max(np.abs(np.diagonal(out, d) - ref)) < 1e-14
            assert np.max(np.abs(np.diagonal(out, -d) - ref.conj())) < 1e-14


BAND_CASES = [
    # gamma_tr, nbar, N
    (0.1, 0.15, 160),  # the Fig. 5 loss
    (0.7, 1.5, 200),  # strong loss, hot bath: high diagonals decay below DROP entirely
    (1e-3, 0.15, 120),  # weak loss: very narrow bands
    (1.7, 2.0, 30),
    (0.2, 0.3, 7),
    (0.5, 0.0, 2),
]


def _test_states(n, rng):
    """A full-rank random state, a random pure state, one on the top five levels only, one
    with every diagonal exactly real or imaginary (``i^(n-m)`` times a real state: the
    states of a real-c model, where the kernels skip the zero part) and a diagonal one."""
    top = np.zeros((n, n), dtype=complex)
    k = min(5, n)
    top[n - k :, n - k :] = random_density_matrix(k, rng, rank=1)
    g = rng.normal(size=(n, n))
    phase = 1j ** np.arange(n)
    gauge = np.conj(phase)[:, None] * (g @ g.T / np.trace(g @ g.T)) * phase[None, :]
    diagonal = np.diag(rng.dirichlet(np.ones(n))).astype(complex)
    return [
        random_density_matrix(n, rng),
        random_density_matrix(n, rng, rank=1),
        top,
        gauge,
        diagonal,
    ]


@pytest.mark.parametrize("gamma,nbar,n", BAND_CASES)
def test_banded_loss_blocks_agree_with_dense_block_products(gamma, nbar, n, rng):
    ch = LossChannel(model(0.3, 0.5, 0.0, n, gamma, nbar))
    ch.set_layout("dense")
    ch.set_layout("band")
    blocks = [ch.block(d) for d in range(n)]
    for rho in _test_states(n, rng):
        out = ch._apply_band(rho)
        for d in range(n):
            ref = blocks[d] @ np.diagonal(rho, d)
            assert np.max(np.abs(np.diagonal(out, d) - ref)) <= 1e-14
        assert np.max(np.abs(out - ch._apply_dense(rho))) <= 1e-14
        assert np.array_equal(ch.apply_dm(rho)[0], out)
        assert np.array_equal(out, out.conj().T)  # Hermitian by construction
        assert np.all(np.diagonal(out).imag == 0.0)
        # only the upper triangle is read
        lower_garbage = rho + np.tril(rng.normal(size=(n, n)), -1)
        assert np.array_equal(ch._apply_band(lower_garbage), out)


@pytest.mark.parametrize("gamma,nbar,n", BAND_CASES[:3])
def test_banded_layout_drops_only_entries_below_the_threshold(gamma, nbar, n):
    from trajectories.channels.loss import DROP

    ch = LossChannel(model(0.3, 0.5, 0.0, n, gamma, nbar))
    ch.set_layout("band")
    kept = 0
    for d in range(n):
        b = ch.block(d)
        rebuilt = np.zeros_like(b)
        for r in range(ch._band_ptr[d], ch._band_ptr[d + 1]):
            vals = ch._band_vals[ch._band_start[r] : ch._band_start[r + 1]]
            i = ch._band_row[r] + np.arange(vals.size)
            rebuilt[i, ch._band_col[r] + np.arange(vals.size)] = vals
        assert np.array_equal(rebuilt[rebuilt != 0], b[rebuilt != 0])
        assert np.max(np.abs(b - rebuilt), initial=0.0) < DROP
        assert b.min() >= 0.0 and b.max() <= 1.0  # the premise of the error bound
        kept += np.count_nonzero(rebuilt)
    assert kept <= ch._band_vals.size <= n * (n + 1) * (2 * n + 1) // 6


def test_loss_layout_is_the_band_unless_asked_and_both_agree():
    fig5 = LossChannel(model(0.3, 0.5, 0.0, 160, 0.1, 0.15))
    assert fig5.layout == "band" and fig5.band_fill < 0.5
    assert LossChannel(model(0.3, 0.5, 0.0, 20, 0.7, 1.5)).layout == "band"  # small N
    hot = LossChannel(model(0.3, 0.5, 0.0, 48, 0.7, 1.5))  # nearly full bands: still the band
    assert hot.layout == "band" and hot.band_fill > 0.85
    assert LossChannel(model(0.3, 0.5, 0.0, 48, 0.0, 0.0)).layout == "identity"
    rho = random_density_matrix(48, np.random.default_rng(0))
    band = hot.apply_dm(rho)[0]
    hot.set_layout("dense")
    assert hot.layout == "dense" and np.max(np.abs(hot.apply_dm(rho)[0] - band)) <= 1e-14
    with pytest.raises(ValueError, match="layout"):
        hot.set_layout("sparse")


@pytest.mark.parametrize("c", [1.0, 0.0, 0.5 * np.exp(0.7j)])
@pytest.mark.parametrize(
    "gamma,nbar,n",
    [(0.1, 0.15, 120), (0.7, 1.5, 30), (0.2, 0.3, 7), (0.2, 0.3, 3), (0.5, 0.0, 2)],
)
def test_fused_collision_and_banded_loss_step_matches_the_two_channels(c, gamma, nbar, n, rng):
    prop = tj.ExactPropagator(model(tj.fine_tuned_theta(15), 0.25, c, n, gamma, nbar))
    prop.loss.set_layout("band")
    for rho in _test_states(n, rng):
        out, leak = prop.step_dm(rho)  # one compiled pass
        mid, leak_c = prop.collisions.at(1).apply(rho)
        ref, leak_l = prop.loss.apply_dm(mid)
        assert np.max(np.abs(out - ref)) <= 1e-14
        assert leak == pytest.approx(leak_c + leak_l, rel=1e-14, abs=1e-17)
        assert np.array_equal(out, out.conj().T)
        prop.loss.set_layout("dense")
        dense, leak_d = prop.step_dm(rho)  # the two channels in turn, dense loss blocks
        prop.loss.set_layout("band")
        assert np.max(np.abs(out - dense)) <= 1e-14
        assert leak == pytest.approx(leak_d, rel=1e-14, abs=1e-17)


@pytest.mark.parametrize("n", [2, 3, 7, 40])
def test_fused_step_reads_the_upper_triangle_and_keeps_weights_per_collision(n, rng):
    """The fused kernel takes the collision's lower-triangle terms as conjugates of the upper
    triangle, and rearranges each collision's weights once (cached per weights object): two
    collisions applied alternately on one loss channel each match their two-channel step."""
    props = [
        tj.ExactPropagator(model(theta, 0.25, c, n, 0.1, 0.15))
        for theta, c in [(tj.fine_tuned_theta(15), 1.0), (0.37, 0.5 * np.exp(0.7j))]
    ]
    loss = props[0].loss
    for rho in _test_states(n, rng):
        garbage = rho + np.tril(rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)), -1)
        for _ in range(2):
            for prop in props:
                pw = prop.collisions.at(1).pair_weights
                out, leak = loss.apply_after_collision(rho, pw)
                mid = prop.collisions.at(1).apply(rho)[0]
                ref, leak_ref = loss.apply_dm(mid)
                assert np.max(np.abs(out - ref)) <= 1e-14
                assert leak == pytest.approx(leak_ref, rel=1e-14, abs=1e-17)
                assert np.array_equal(loss.apply_after_collision(garbage, pw)[0], out)
