"""The paper reproduction (issue 5): code paths, committed data, and the paper's claims."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

import trajectories as tj
from analysis import paper, reproduce

DATA = Path(__file__).resolve().parents[1] / "data" / "paper"


def test_every_figure_code_path_runs_and_writes_finite_numbers(tmp_path):
    out = reproduce.run(
        trajectories=40, quick=True, figures=tmp_path / "fig", data=tmp_path / "data",
        report=tmp_path / "R.md", log=lambda *a: None,
    )  # fmt: skip
    names = [f"paper-{n}.png" for n in paper.FIGURES] + ["paper-fig1-inset.png",
                                                          "paper-fig3-inset.png"]  # fmt: skip
    for name in names:
        assert (tmp_path / "fig" / name).read_bytes()[:4] == b"\x89PNG", name
    for name in list(paper.FIGURES) + ["fig1_inset", "fig3_inset"]:
        with open(tmp_path / "data" / f"{name}.csv") as fh:
            rows = list(csv.reader(fh))
        assert len(rows) > 2, name
        for r in rows[1:]:
            values = [float(x) for x in r if x and x[0] in "-0123456789n"]
            if name == "fig7" and r[2] == "0":
                continue  # the Fano factor is undefined (NaN) at zero energy
            assert values and all(math.isfinite(v) for v in values), (name, r)
    report = (tmp_path / "R.md").read_text()
    assert "| Fig. | the paper's claim | our number | verdict |" in report
    assert "Quick run" in report
    assert math.isfinite(out["escape"]["exponent"])


def _rows(name):
    with open(DATA / f"{name}.csv") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", list(paper.FIGURES))
def test_committed_paper_data_matches_a_fresh_exact_solve(name):
    observable, keys = paper.FIGURES[name]
    meta = json.loads((DATA / "metadata.json").read_text())
    rows = _rows(name)
    for key in keys:
        model = paper.CURVES[key].model
        assert meta["curves"][key]["model"] == model.to_dict(), "stale data: model changed"
        exact_rows = {int(r["k"]): float(r[observable]) for r in rows
                      if r["curve"] == key and r["source"] == "exact"}  # fmt: skip
        ks = [0, 10, 300, 1000, 2000]
        fresh = getattr(tj.solve_exact(model, 2000, checkpoints=ks), observable)
        for k, value in zip(ks, fresh, strict=True):
            if np.isnan(value):
                assert np.isnan(exact_rows[k])
            else:
                assert abs(exact_rows[k] - value) < 1e-9, (key, k)
        mc = [r for r in rows if r["curve"] == key and r["source"] == "trajectories"]
        assert mc, f"no trajectory points for {key}"


@pytest.fixture(scope="module")
def exact_results():
    keys = {k for _, ks in paper.FIGURES.values() for k in ks} - {"inc_det_q025", "inc_det_q0"}
    return {k: paper.run_curve(paper.CURVES[k], trajectories=0) for k in sorted(keys)}


def test_paper_claims_hold_for_the_exact_solver(exact_results):
    c = paper.claims(exact_results)
    # Fig. 1: fine-tuned incoherent energy within 1% of its final value for all k >= K1
    # (the paper: "about 300"; we find K1 = 374, reported in docs/REPRODUCTION.md)
    assert 200 <= c["K1"] <= 450
    # the steady value is the r^m closed form
    assert abs(c["E_fine_q025"] - c["E_closed_q025"]) < 1e-6
    # Fig. 2: unit purity at q = 0 (1 - P < 1e-3) for all k >= K2 (the paper: "almost 1000";
    # we find K2 = 725), well after the energy has settled
    assert 500 <= c["K2"] <= 1000
    # Fig. 4: with the same absolute tolerance on energy and purity, the coherent protocol
    # settles both on the same time scale and the incoherent q = 0 one is not an order of
    # magnitude apart (docs/REPRODUCTION.md; a 1% energy criterion against a 1e-3 purity
    # criterion made it look like x3)
    for tol in ("0.001", "0.0001"):
        coh, inc = c["settle"]["coh_fine"], c["settle"]["inc_fine_q0"]
        assert 0.5 <= coh["purity"][tol] / coh["energy"][tol] <= 2
        assert 1 < inc["purity"][tol] / inc["energy"][tol] < 5
    assert abs(c["E_fine_q0"] - 14.0) < 1e-9  # Fock state |m-1>, not |m>
    # Fig. 6: purity near the paper's 0.85 at gamma t_r = 0.1 (exact: 0.8544 and 0.8523)
    assert abs(c["P_loss_fine_01"] - 0.85) < 0.01 and abs(c["P_loss_det_01"] - 0.85) < 0.01
    assert c["P_loss_fine_0001"] > 0.99
    # Fig. 7: sub-Poissonian in every lossy coherent case at late times
    for key in ("loss_fine_01", "loss_det_01", "loss_fine_0001", "loss_det_0001"):
        assert c[f"Fmax_late_{key}"] < 1.0, key
    # Fig. 3: coherent fine-tuned energy equals Eq. (15)
    assert abs(c["E_coh_fine"] - c["E_closed_coh"]) < 1e-9


def test_eq7_as_printed_is_not_a_channel_and_the_corrected_one_is_ours():
    r = paper.eq7_check()
    assert r["corrected_vs_ours"] < 1e-14
    assert r["printed_vs_ours"] > 1e-2 and r["printed_hermiticity_error"] > 1e-2
