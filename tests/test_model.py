"""Model construction, validation and the fine-tuned helper (issue 2, item 2)."""

import dataclasses
import math

import numpy as np
import pytest

import trajectories as tj

GOOD = dict(theta=0.8, q=0.25, c=1.0, gamma_tr=0.1, nbar=0.15, cutoff=60)


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("q", -0.1, r"q must be in \[0, 1\], got -0.1"),
        ("q", 1.0000001, r"q must be in \[0, 1\], got 1.0000001"),
        ("q", float("nan"), r"q must be a finite real number in \[0, 1\], got nan"),
        ("q", "0.3", r"q must be a real number in \[0, 1\], got '0.3' \(str\)"),
        ("theta", -1.0, r"theta must be >= 0, got -1.0"),
        ("theta", float("inf"), r"theta must be a finite real number >= 0, got inf"),
        ("theta", 1j, r"theta must be a real number >= 0, got 1j \(complex\)"),
        ("gamma_tr", -0.01, r"gamma_tr must be >= 0, got -0.01"),
        ("nbar", -1e-9, r"nbar must be >= 0, got -1e-09"),
        ("nbar", None, r"nbar must be a real number >= 0, got None \(NoneType\)"),
        ("c", 1.01, r"c must satisfy abs\(c\) <= 1, got 1.01"),
        ("c", 0.8 + 0.8j, r"c must satisfy abs\(c\) <= 1"),
        ("c", complex("nan"), r"c must be finite"),
        ("c", "1", r"c must be a complex number with abs\(c\) <= 1, got '1' \(str\)"),
        ("cutoff", 1, r"cutoff must be an integer >= 2, got 1"),
        ("cutoff", 60.0, r"cutoff must be an integer >= 2, got 60.0 \(float\)"),
        ("cutoff", True, r"cutoff must be an integer >= 2, got True \(bool\)"),
        ("q", False, r"q must be a real number"),
    ],
)
def test_invalid_parameter_raises_value_error_naming_it(name, value, message):
    with pytest.raises(ValueError, match=message):
        tj.Micromaser(**{**GOOD, name: value})


def test_valid_model_is_immutable_and_normalised():
    m = tj.Micromaser(**{**GOOD, "cutoff": np.int64(40), "q": np.float32(0.5)})
    assert isinstance(m.cutoff, int) and m.cutoff == 40
    assert isinstance(m.q, float)
    assert isinstance(m.c, complex)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.q = 0.3  # type: ignore[misc]
    assert m.replace(q=0.1).q == 0.1
    with pytest.raises(ValueError, match="q must be"):
        m.replace(q=2.0)


def test_coherence_on_the_unit_circle_within_rounding_is_accepted():
    c = np.exp(1j * 0.3) * (1 + 2e-16)
    m = tj.Micromaser(**{**GOOD, "c": c})
    assert abs(m.c) <= 1.0
    assert m.qubit_is_pure
    w = np.linalg.eigvalsh(m.qubit_state)
    assert w.min() >= -1e-15
    with pytest.raises(ValueError, match="abs"):
        tj.Micromaser(**{**GOOD, "c": 1 + 1e-9})


def test_qubit_state_matches_spec():
    m = tj.Micromaser(**{**GOOD, "c": 0.5j, "q": 0.36})
    k = 0.5j * math.sqrt(0.36 * 0.64)
    assert np.allclose(m.qubit_state, [[0.64, k], [np.conj(k), 0.36]])


def test_fine_tuned_theta():
    assert tj.fine_tuned_theta(15) == math.pi / math.sqrt(15)
    assert tj.fine_tuned_theta(15.6) == math.pi / math.sqrt(15.6)
    assert tj.fine_tuned_theta(15, Q=2) == 2 * math.pi / math.sqrt(15)
    # the transition m-1 -> m is blocked
    assert abs(math.sin(tj.fine_tuned_theta(15) * math.sqrt(15))) < 1e-15
    for bad, msg in [(0, "m must be > 0"), (-2.0, "m must be > 0"), ("15", "m must be a real")]:
        with pytest.raises(ValueError, match=msg):
            tj.fine_tuned_theta(bad)
    with pytest.raises(ValueError, match="Q must be an integer >= 1"):
        tj.fine_tuned_theta(15, Q=0)


def test_initial_state_validation():
    n = 6
    with pytest.raises(ValueError, match="norm 1"):
        tj.as_density_matrix(np.ones(n), n)
    with pytest.raises(ValueError, match="Hermitian"):
        rho = np.eye(n, dtype=complex) / n
        rho[0, 1] = 0.1
        tj.as_density_matrix(rho, n)
    with pytest.raises(ValueError, match="unit trace"):
        tj.as_density_matrix(np.eye(n) / (n + 1), n)
    with pytest.raises(ValueError, match="positive semi-definite"):
        tj.as_density_matrix(np.diag([1.5, -0.5, 0, 0, 0, 0]), n)
    with pytest.raises(ValueError, match=r"length cutoff=6 or a \(6, 6\)"):
        tj.as_density_matrix(np.eye(4) / 4, n)
    with pytest.raises(ValueError, match="NaN"):
        tj.as_density_matrix(np.full(n, np.nan), n)
    psi = tj.fock_state(2, n)
    assert np.array_equal(tj.as_density_matrix(psi, n), np.diag(psi))
