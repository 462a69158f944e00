"""IsoFLOP with cubic profiles beside parabolas, and the parabola-bias check.

Grids are simulated from a Chinchilla law with alpha != beta, whose profiles at fixed C are
asymmetric in ln N (f(u) ∝ e^(-αu)/α + e^(βu)/β around the optimum): a parabola's vertex is
pulled to one side, a cubic follows the asymmetry.
"""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from scalelaw.allocate import compute_optimal, exponents, isoflop
from scalelaw.cli import main
from scalelaw.errors import ScalelawError, ScalelawWarning
from scalelaw.synthetic.runs import simulate_runs

ASYM = dict(E=1.8, A=400.0, B=2000.0, alpha=0.45, beta=0.25)     # a = 0.357
SYM = dict(E=1.8, A=400.0, B=1000.0, alpha=0.3, beta=0.3)
BUDGETS = np.logspace(18, 21, 7)


def grid(p, *, spread=1.0, per_budget=11, drift=0.0, eval_sd=0.0, seed=1):
    """Runs at each budget, N log-spaced over ±spread decades around the true optimum, shifted
    by up to ±drift decades (a different offset per budget); losses through simulate_runs."""
    nopt = compute_optimal(p, BUDGETS).N_opt.to_numpy()
    offs = np.linspace(-drift, drift, len(BUDGETS))
    rows = []
    for C, n0, off in zip(BUDGETS, nopt, offs):
        N = n0 * np.logspace(-spread + off, spread + off, per_budget)
        rows.append(pd.DataFrame({"N": N, "D": C / (6 * N)}))
    runs = simulate_runs("chinchilla", p, pd.concat(rows, ignore_index=True), eval_sd=eval_sd, seed=seed)
    return runs[["N", "C", "loss"]], nopt


def _quiet(frame, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = isoflop(frame, **kw)
    return res, [str(w.message) for w in rec if issubclass(w.category, ScalelawWarning)]


@pytest.mark.parametrize("eval_sd", [0.0, 0.002])
def test_parabola_is_biased_and_the_cubic_is_closer_on_asymmetric_profiles(eval_sd):
    runs, nopt = grid(ASYM, eval_sd=eval_sd)
    par, w_par = _quiet(runs)
    cub, w_cub = _quiet(runs, profile="cubic")
    e_par = np.log(par.budgets.N_star.to_numpy() / nopt)
    e_cub = np.log(cub.budgets.N_star.to_numpy() / nopt)
    # measured: parabola +0.123 (noise-free) / +0.125 (0.2% noise) in ln N, i.e. N* 13% too
    # large in every budget; cubic -0.004 / -0.006
    assert np.median(e_par) > 0.08 and (e_par > 0.05).all()
    assert abs(np.median(e_cub)) < 0.02 and np.median(np.abs(e_cub)) < np.median(np.abs(e_par)) / 5
    # the check flags the parabola in both analyses, says it, and says what to do
    assert par.budgets.parabola_biased.sum() >= 5
    np.testing.assert_allclose(par.budgets.N_star, par.budgets.N_star_parabola)
    np.testing.assert_allclose(cub.budgets.N_star, cub.budgets.N_star_cubic)
    np.testing.assert_allclose(par.budgets.parabola_shift,
                               par.budgets.N_star_parabola / par.budgets.N_star_cubic)
    for res, warned, tail in ((par, w_par, "use the cubic profile"), (cub, w_cub, "the cubic's minimum is used")):
        msg = [m for m in warned if "biased beyond its own 95% interval" in m]
        assert len(msg) == 1 and tail in msg[0] and msg[0] in res.notes
        assert "note: the parabola's vertex is biased" in res.summary()
    # the parabola's vertex lies outside its own interval around the truth; the cubic's covers it
    if eval_sd > 0:
        cover = (cub.budgets.N_star_lower <= nopt) & (nopt <= cub.budgets.N_star_upper)
        assert cover.mean() >= 5 / 7
        assert ((par.budgets.N_star_lower > nopt) | (nopt > par.budgets.N_star_upper)).mean() >= 5 / 7
    # with a constant relative placement both exponents are unbiased
    a = exponents(ASYM)["a"]
    assert abs(par.a - a) < 0.01 and abs(cub.a - a) < 0.01 and cub.profile == "cubic"


def test_equal_exponents_give_symmetric_profiles_and_no_flag():
    runs, nopt = grid(SYM, eval_sd=0.002, seed=3)
    par, w = _quiet(runs)
    assert not any("biased" in m for m in w) and not par.budgets.parabola_biased.any()
    assert np.abs(np.log(par.budgets.N_star.to_numpy() / nopt)).max() < 0.06
    cub, w = _quiet(runs, profile="cubic")
    assert not any("biased" in m for m in w)
    assert abs(cub.a - 0.5) < 0.03 and abs(par.a - 0.5) < 0.03


def test_cubic_minimum_and_its_interval_on_an_exact_cubic():
    """loss = 3 + 0.1·u² + 0.02·u³, u = ln N − ln N0: the local minimum is exactly N0."""
    rows = []
    for C, x0 in zip(BUDGETS, np.linspace(math.log(1e8), math.log(1e9), len(BUDGETS))):
        x = x0 + np.linspace(-2.0, 2.5, 10)
        u = x - x0
        rows.append(pd.DataFrame({"N": np.exp(x), "C": C, "loss": 3 + 0.1 * u ** 2 + 0.02 * u ** 3}))
    runs = pd.concat(rows, ignore_index=True)
    cub, _ = _quiet(runs, profile="cubic", robust=False)
    truth = np.exp(np.linspace(math.log(1e8), math.log(1e9), len(BUDGETS)))
    np.testing.assert_allclose(cub.budgets.N_star, truth, rtol=1e-9)
    np.testing.assert_allclose(cub.budgets.loss_star, 3.0, rtol=1e-12)
    par, _ = _quiet(runs, robust=False)          # the parabola is off by a known, constant amount
    assert (par.budgets.N_star / truth).std() < 1e-9 and abs(math.log(par.budgets.N_star[0] / truth[0])) > 0.1
    # with noise the delta-method interval covers the true minimum in most budgets
    rng = np.random.default_rng(0)
    noisy = runs.assign(loss=runs.loss + rng.normal(0, 0.002, len(runs)))
    cub, _ = _quiet(noisy, profile="cubic")
    inside = (cub.budgets.N_star_lower <= truth) & (truth <= cub.budgets.N_star_upper)
    assert inside.sum() >= 5 and (cub.budgets.N_star_upper > cub.budgets.N_star_lower).all()


def test_cubic_refusals_and_bad_profile():
    runs, _ = grid(ASYM, per_budget=4)
    with pytest.raises(ScalelawError, match="compute budget"):
        _quiet(runs, profile="cubic")                         # 4 runs per budget: none usable
    rows = []
    for C in BUDGETS[:4] * 1e-3:              # budgets of their own, below the grid's
        x = np.linspace(18, 22, 8)
        rows.append(pd.DataFrame({"N": np.exp(x), "C": C, "loss": 3 - 0.01 * (x - 20) - 0.002 * (x - 20) ** 3}))
    mono = pd.concat([grid(ASYM)[0], *rows], ignore_index=True)
    cub, w = _quiet(mono, profile="cubic")
    assert (cub.budgets.status == "no minimum").sum() == 4 and cub.n_budgets == 7
    assert any("cubic has no local minimum" in m for m in w)
    with pytest.raises(ScalelawError, match="parabola or cubic"):
        isoflop(mono, profile="quartic")


def test_drifting_placement_is_reported_honestly():
    """Sizes placed ±0.5 decade off the optimum, differently per budget: the per-budget N* error
    of the cubic stays below the parabola's, but neither exponent is unbiased then."""
    runs, nopt = grid(ASYM, drift=0.5)
    par, _ = _quiet(runs)
    cub, _ = _quiet(runs, profile="cubic")
    e_par = np.abs(np.log(par.budgets.N_star.to_numpy() / nopt))
    e_cub = np.abs(np.log(cub.budgets.N_star.to_numpy() / nopt))
    # measured: max 0.123 vs 0.058, median 0.072 vs 0.031
    assert e_cub.max() < e_par.max() and np.median(e_cub) < np.median(e_par)


def test_cli_profile_cubic(tmp_path, capsys):
    runs, nopt = grid(ASYM, eval_sd=0.002)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    assert main(["allocate", "--isoflop", str(tmp_path / "runs.csv")]) == 0
    cap = capsys.readouterr()
    assert "use --profile cubic" in cap.out and "use the cubic profile" not in cap.out
    rc = main(["allocate", "--isoflop", str(tmp_path / "runs.csv"), "--profile", "cubic",
               "--json", str(tmp_path / "iso.json")])
    cap = capsys.readouterr()
    assert rc == 0 and "IsoFLOP profiles (Approach 2), cubic in ln N" in cap.out
    assert "the cubic's minimum is used" in cap.out and "biased" not in cap.err   # said once
    doc = json.loads((tmp_path / "iso.json").read_text())
    assert doc["profile"] == "cubic" and "N_star_cubic" in doc["budgets"][0]
    res = isoflop(runs, profile="cubic")
    assert doc["a"] == pytest.approx(res.a)
    assert main(["allocate", "--isoflop", str(tmp_path / "runs.csv"), "--profile", "quartic"]) == 2
    capsys.readouterr()
