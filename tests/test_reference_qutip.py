"""Every case of the independent QuTiP reference (data/reference) reproduced by solve_exact.

The reference was computed with QuTiP 5.3.1 from first principles by someone else
(trace-preserving truncation, but every case keeps its top levels below 1e-18, so the cutoff
convention does not matter). Energy, purity, Fano factor and ergotropy at every checkpoint
must agree to 1e-9, the final photon distribution too.
"""

import json

import numpy as np
import pytest
from conftest import DATA

import trajectories as tj

REFERENCE = json.loads((DATA / "reference" / "qutip-paper-cases.json").read_text())
CASES = REFERENCE["cases"]
TOL = 1e-9


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_solve_exact_reproduces_qutip_reference(case):
    p = case["params"]
    model = tj.Micromaser(
        theta=p["theta"], q=p["q"], c=p["c"], gamma_tr=p["gtr"], nbar=p["nbar"], cutoff=p["N"]
    )
    ks = case["checkpoints"]
    r = tj.solve_exact(model, ks[-1], checkpoints=ks)
    for name in ("energy", "purity", "fano", "ergotropy"):
        ref = np.array([np.nan if v is None else v for v in case[name]])
        ours = getattr(r, name)
        assert np.array_equal(np.isnan(ref), np.isnan(ours)), name
        assert np.nanmax(np.abs(ours - ref)) < TOL, name
    assert np.max(np.abs(r.populations[-1] - np.array(case["pn_final"]))) < TOL


def test_reference_closed_form_checks_agree_with_our_closed_forms():
    for case in CASES:
        if case["kind"] != "analytic_check":
            continue
        a = case["analytic"]
        m, q = a["m"], a["q"]
        if case["params"]["c"] == 0:
            p = tj.incoherent_steady_populations(m, q)
            assert p @ np.arange(m) == pytest.approx(a["energy_formula"], abs=1e-9)
            assert p @ p == pytest.approx(a["purity_formula_r_pow_m"], abs=1e-9)
        else:
            p = tj.coherent_steady_populations(m, q)
            assert np.max(np.abs(p - np.array(a["pops_eq15"]))) < 1e-12
            assert p @ np.arange(m) == pytest.approx(a["energy_eq15"], abs=1e-9)
