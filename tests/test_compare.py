"""Comparing variants: the compute multiplier recovered on simulated variants with a known
multiplier, its coverage, probability best, paired differences, the CLI and bad input."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.optimize import brentq

import scalelaw as sl
from scalelaw.allocate import compute_optimal
from scalelaw.compare import compare, frontier
from scalelaw.errors import ScalelawError, ScalelawWarning
from scalelaw.laws import get_law
from scalelaw.synthetic.runs import simulate_runs

from cli_helpers import one_line, run

HOFFMANN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
#: variant B trains as if it had S_N times the parameters and S_D times the data of A
S_N, S_D = 2.0, 1.5
TRUE_M = S_N * S_D


def shifted(p, s_n, s_d):
    """Chinchilla parameters of L_B(N, D) = L_A(s_n·N, s_d·D): A' = A·s_n^-α, B' = B·s_d^-β."""
    return dict(p, A=p["A"] * s_n ** -p["alpha"], B=p["B"] * s_d ** -p["beta"])


def grid(n=5):
    N = np.geomspace(1e7, 1e9, n)
    D = np.geomspace(1e9, 1e11, n)
    return pd.DataFrame([(a, b) for a in N for b in D], columns=["N", "D"])


def fit_pair(seed, *, n=5, run_sd=0.01, bootstrap=200, s=(S_N, S_D), **fit_options):
    """Simulate A and B on one grid, fit chinchilla to each: (fit A, fit B, table A, table B)."""
    g = grid(n)
    da = simulate_runs("chinchilla", HOFFMANN, g, run_sd=run_sd, seed=2 * seed)
    db = simulate_runs("chinchilla", shifted(HOFFMANN, *s), g, run_sd=run_sd, seed=2 * seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        ra = sl.fit(da[["N", "D", "loss"]], "chinchilla", bootstrap=bootstrap, seed=seed, **fit_options)
        rb = sl.fit(db[["N", "D", "loss"]], "chinchilla", bootstrap=bootstrap, seed=seed + 1, **fit_options)
    return ra, rb, da, db


@pytest.fixture(scope="module")
def pair():
    return fit_pair(0)


def quiet_compare(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        return compare(*args, **kw)


def drawn_fit(params, sd, n=4000, seed=0, law="chinchilla", config=None, extra=None):
    """A fit JSON object with the given parameters and normal bootstrap draws around them."""
    rng = np.random.default_rng(seed)
    boot = {k: (params[k] + sd.get(k, 0.0) * rng.standard_normal(n)).tolist() for k in params}
    d = {"law": law, "params": dict(params), "bootstrap": boot, "config": config or {}}
    d.update(extra or {})
    return d


# --------------------------------------------------------------------------- the algebra
def test_shifted_chinchilla_has_the_constant_multiplier_s_n_times_s_d():
    """L_B(N, D) = L_A(s_N N, s_D D) puts B's frontier at A's frontier of s_N·s_D·C: checked
    with the frontier's inverse and, independently, by root-finding on allocate's optimum."""
    pa, pb = HOFFMANN, shifted(HOFFMANN, S_N, S_D)
    fa = frontier({"law": "chinchilla", "params": pa})
    fb = frontier({"law": "chinchilla", "params": pb})
    C = np.geomspace(1e17, 1e25, 9)
    # the frontier is allocate's compute-optimal loss
    assert np.allclose(fa.loss(C)[0], compute_optimal(pa, C)["loss_opt"], rtol=1e-12)
    assert np.allclose(fb.loss(C)[0], fa.loss(TRUE_M * C)[0], rtol=1e-12)
    m = fa.compute(fb.loss(C))[0] / C
    assert np.allclose(m, TRUE_M, rtol=1e-9)
    for c in (1e18, 1e23):
        target = float(compute_optimal(pb, [c])["loss_opt"][0])
        root = brentq(lambda lc: float(compute_optimal(pa, [math.exp(lc)])["loss_opt"][0]) - target,
                      math.log(c) - 10, math.log(c) + 10, xtol=1e-12)
        assert math.exp(root) / c == pytest.approx(TRUE_M, rel=1e-6)
    # at or below the asymptote E the frontier never gets there
    assert np.isinf(fa.compute(np.array([[pa["E"], pa["E"] - 0.1]]))).all()


# --------------------------------------------------------------------------- recovery
def test_recovers_the_known_multiplier_with_an_interval(pair):
    ra, rb, _, _ = pair
    res = quiet_compare([ra, rb], at=["C=1e19", 3e19])
    m = res.multiplier([1e18, 1e19])
    assert list(m.columns) == ["C", "variant", "multiplier", "multiplier_lower", "multiplier_upper",
                               "extrapolation"]
    for r in m.itertuples(index=False):
        assert r.variant == "B"
        assert r.multiplier == pytest.approx(TRUE_M, rel=0.15)
        assert r.multiplier_lower < TRUE_M < r.multiplier_upper
        assert r.multiplier_lower < r.multiplier < r.multiplier_upper
        assert r.extrapolation == 1.0
    f = res.frame
    assert set(f["variant"]) == {"A", "B"}
    base = f[f["variant"] == "A"]
    assert (base["multiplier"] == 1).all() and (base["loss_diff"] == 0).all()
    b = f[f["variant"] == "B"]
    assert (b["loss_diff_upper"] < 0).all()          # B is better at every budget
    assert (b["loss_opt"] < base["loss_opt"].to_numpy()).all()
    # the requested budgets are in the table, marked, and inside the fitted compute
    assert sorted(f.loc[f["requested"], "C"].unique()) == [1e19, 3e19]
    assert f["C"].min() == pytest.approx(6 * 1e7 * 1e9) and f["C"].max() == pytest.approx(6 * 1e20)
    best = res.best
    assert np.allclose(best.groupby("C")["prob_best"].sum(), 1.0)
    assert (best.loc[best["variant"] == "B", "prob_best"] > 0.95).all()
    text = res.summary()
    assert "B over A" in text and "200 bootstrap" in text
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["kind"] == "comparison" and doc["n_draws"] == 200 and len(doc["rows"]) == len(f)


def test_extrapolation_is_flagged_and_said(pair):
    ra, rb, _, _ = pair
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compare([ra, rb], at=[1e23])
    assert any("extrapolation" in str(w.message) for w in caught)
    row = res.frame[(res.frame["variant"] == "B") & res.frame["requested"]].iloc[0]
    assert row["extrapolation"] > 100 and row["interval"].startswith("extrapolation x")
    assert any("extrapolation" in n for n in res.notes)
    inside = res.multiplier(1e19)["extrapolation"].iloc[0]
    assert inside == 1.0


@pytest.mark.slow
def test_multiplier_interval_covers_the_truth_near_nominal():
    """Over repeated simulated datasets the 95% interval of m at an interior budget covers
    m = s_N·s_D in most of them (measured: see docs/compare.md), and is not uselessly wide."""
    reps, cover, ratio = 20, [], []
    for s in range(reps):
        ra, rb, _, _ = fit_pair(100 + s, bootstrap=100, n_polish=1)
        m = quiet_compare([ra, rb]).multiplier([1e18, 1e19])
        cover.append(((m["multiplier_lower"] <= TRUE_M) & (TRUE_M <= m["multiplier_upper"])).to_numpy())
        ratio.append((m["multiplier_upper"] / m["multiplier_lower"]).to_numpy())
    cover = np.mean(cover, axis=0)
    print(f"coverage of the 95% multiplier interval over {reps} datasets at C = 1e18, 1e19: {cover}")
    assert (cover >= 0.8).all(), cover
    assert np.median(ratio) < 2.0


def test_without_bootstrap_the_sandwich_covariance_gives_the_intervals_and_says_so(pair):
    _, rb, da, _ = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        ra = sl.fit(da[["N", "D", "loss"]], "chinchilla")
    assert ra.boot is None
    with pytest.warns(ScalelawWarning, match="sandwich covariance"):
        res = compare([ra, rb], at=[1e19])
    assert res.draw_sources["A"].endswith("sandwich-covariance") and res.n_draws == 200
    r = res.multiplier(1e19).iloc[0]
    assert r.multiplier_lower < TRUE_M < r.multiplier_upper
    assert r.multiplier_upper / r.multiplier_lower < 2
    # the draws stay in the fit's bounds and reproduce its covariance
    only = quiet_compare([ra, ra], n_draws=4000)
    E = only.frontiers["A"][1].E
    assert (E >= 0).all()
    assert np.std(E) == pytest.approx(math.sqrt(ra.cov.loc["E", "E"]), rel=0.1)


def test_a_law_of_compute_alone_is_its_own_frontier():
    law = get_law("powerlaw_const", var="C")
    pa = dict(E=1.8, A=60.0, alpha=0.08)
    m_true = 5.0
    pb = dict(pa, A=pa["A"] * m_true ** -pa["alpha"])
    design = pd.DataFrame({"C": np.geomspace(1e17, 1e21, 12)})
    fits = []
    for i, p in enumerate((pa, pb)):
        d = simulate_runs(law, p, design, run_sd=0.002, seed=i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalelawWarning)
            fits.append(sl.fit(d[["C", "loss"]], "powerlaw_const", columns={"C": "C"},
                               bootstrap=200, seed=i))
    res = quiet_compare(fits, at=[1e19])
    r = res.multiplier(1e19).iloc[0]
    assert r.multiplier == pytest.approx(m_true, rel=0.25)
    assert r.multiplier_lower < m_true < r.multiplier_upper
    assert res.compute_ranges["A"] == pytest.approx((1e17, 1e21))


# --------------------------------------------------------------------------- probability best
def test_probability_best_matches_the_normal_law_of_the_draws():
    """Two laws of C differing only in E, with normal draws of E: P(B best) = Φ(ΔE / (σ√2))."""
    cfg = {"var": "C"}
    base = dict(E=2.0, A=50.0, alpha=0.1)
    sd = {"E": 0.02}
    a = drawn_fit(base, sd, seed=1, law="powerlaw_const", config=cfg)
    b = drawn_fit(dict(base, E=1.98), sd, seed=2, law="powerlaw_const", config=cfg)
    res = quiet_compare([a, b], at=[1e20, 1e22])
    want = stats.norm.cdf(0.02 / (0.02 * math.sqrt(2)))
    best = res.best
    pb = best.loc[best["variant"] == "B", "prob_best"].to_numpy()
    assert np.allclose(pb, want, atol=0.03)
    assert np.allclose(best.groupby("C")["prob_best"].sum(), 1.0)


def test_three_variants_probability_sums_to_one_and_favours_the_best():
    sd = {"E": 0.01, "alpha": 0.004, "beta": 0.004}
    fits = [drawn_fit(HOFFMANN, sd, seed=1),
            drawn_fit(shifted(HOFFMANN, 3.0, 2.0), sd, seed=2),
            drawn_fit(shifted(HOFFMANN, 0.7, 0.7), sd, seed=3)]
    res = quiet_compare(fits, at=[1e21, 1e23], names=["base", "wide", "thin"],
                        flops_per_token=6)
    best = res.best
    for c, g in best.groupby("C"):
        assert g["prob_best"].sum() == pytest.approx(1.0)
        assert g.set_index("variant")["prob_best"].idxmax() == "wide"
    m = res.multiplier(1e21).set_index("variant")["multiplier"]
    assert m["wide"] == pytest.approx(6.0, rel=1e-6) and m["thin"] == pytest.approx(0.49, rel=1e-6)


def test_a_loss_below_the_baselines_asymptote_gives_an_infinite_multiplier():
    sd = {"E": 0.005}
    a = drawn_fit(HOFFMANN, sd, seed=1)
    b = drawn_fit(dict(HOFFMANN, E=1.5), sd, seed=2)
    with pytest.warns(ScalelawWarning, match="never matches"):
        res = compare([a, b], at=[1e26])
    r = res.multiplier(1e26).iloc[0]
    assert np.isinf(r.multiplier)
    assert json.loads(json.dumps(res.to_dict()))["rows"][-1]["multiplier"] is None


# --------------------------------------------------------------------------- paired differences
def test_paired_differences_at_matched_configurations(pair):
    ra, rb, da, db = pair
    res = quiet_compare([ra, rb], data=[da, db])
    p = res.paired
    assert len(p) == len(grid()) and set(p.columns) >= {"N", "D", "C", "loss", "loss_baseline", "diff"}
    truth = (db["loss_true"] - da["loss_true"]).to_numpy()
    assert np.allclose(p["diff"], db["loss"].to_numpy() - da["loss"].to_numpy())
    s = res.paired_summary.iloc[0]
    assert s["n_pairs"] == 25 and s["diff_lower"] < truth.mean() < s["diff_upper"]
    assert s["diff"] == pytest.approx(np.mean(p["diff"]))
    # budgets: the configurations of one C = 6·N·D share a budget
    b = res.paired_budgets
    assert b["n_pairs"].sum() == 25 and len(b) == 9
    assert b["diff_lower"].isna().sum() == 2        # the corners: one pair, no interval
    # one table with a variant column gives the same
    both = pd.concat([da.assign(arch="A"), db.assign(arch="B")], ignore_index=True)
    res2 = quiet_compare([ra, rb], data=both, by="arch")
    pd.testing.assert_frame_equal(res2.paired_summary, res.paired_summary)
    assert "paired loss differences" in res.summary()


def test_replicate_seeds_are_averaged_before_pairing(pair):
    ra, rb, _, _ = pair
    g = grid()
    da = simulate_runs("chinchilla", HOFFMANN, g, run_sd=0.01, n_seeds=3, seed=5)
    db = simulate_runs("chinchilla", shifted(HOFFMANN, S_N, S_D), g.iloc[::2], run_sd=0.01, seed=6)
    res = quiet_compare([ra, rb], data=[da, db])
    p = res.paired
    assert len(p) == len(g.iloc[::2]) and (p["n_rows_baseline"] == 3).all()
    mean_a = da.groupby(["N", "D"])["loss"].mean()
    key = list(zip(p["N"], p["D"]))
    assert np.allclose(p["loss_baseline"], mean_a.loc[key].to_numpy())


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_one_line(pair, tmp_path):
    ra, rb, da, _ = pair
    with pytest.raises(ScalelawError, match="two or more"):
        compare([ra])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        rk = sl.fit(da[["N", "D", "loss"]], "kaplan")
        on_c = sl.fit({"C": 6 * da["N"] * da["D"], "loss": da["loss"]}, "powerlaw_const",
                      columns={"C": "C"})
        on_n = sl.fit(da[["N", "loss"]], "powerlaw_const", columns={"N": "N"})
    with pytest.raises(ScalelawError, match="different laws .*chinchilla.*kaplan"):
        compare([ra, rk])
    with pytest.raises(ScalelawError, match="different variables .*C.*N"):
        compare([on_c, on_n])
    with pytest.raises(ScalelawError, match="compute-optimal frontier"):
        compare([rk, rk])
    lr = {"law": "multipower", "params": {p: 1.0 for p in get_law("multipower").param_names}}
    with pytest.raises(ScalelawError, match="LR-schedule fit"):
        compare([ra, lr])
    # different FLOPs per token: D derived from C with k = 6 and with k = 8
    tab = pd.DataFrame({"N": da["N"], "C": 6 * da["N"] * da["D"], "loss": da["loss"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        k6 = sl.fit(tab, "chinchilla")
        k8 = sl.fit(tab, "chinchilla", flops_per_token=8)
    with pytest.raises(ScalelawError, match="different FLOPs per token .*6·N·D.*8·N·D"):
        compare([k6, k8])
    with pytest.raises(ScalelawError, match="not the 8·N·D"):
        compare([k6, k6], flops_per_token=8)
    # non-embedding against total parameters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        ne = sl.fit(da.rename(columns={"N": "N_nonembed"})[["N_nonembed", "D", "loss"]], "chinchilla",
                    columns={"N": "N_nonembed"})
        tot = sl.fit(da.rename(columns={"N": "N_total"})[["N_total", "D", "loss"]], "chinchilla",
                     columns={"N": "N_total"})
    with pytest.raises(ScalelawError, match="count N differently"):
        compare([ne, tot])
    with pytest.raises(ScalelawError, match="share no configuration"):
        compare([ra, rb], data=[da, da.assign(N=da["N"] * 3)])
    with pytest.raises(ScalelawError, match="not B"):
        compare([ra, rb], data=da.assign(arch="A"), by="arch")
    with pytest.raises(ScalelawError, match="C=FLOPS"):
        compare([ra, rb], at=["N=1e9"])
    for e in (pytest.raises(ScalelawError),):
        with e:
            compare([ra, rb], alpha=1.5)


# --------------------------------------------------------------------------- CLI
def _write_fits(tmp_path, capsys):
    ra, rb, da, db = fit_pair(0, bootstrap=100)
    ra.to_json(tmp_path / "base.json")
    rb.to_json(tmp_path / "wide.json")
    da.to_csv(tmp_path / "base.csv", index=False)
    db.to_csv(tmp_path / "wide.csv", index=False)
    return tmp_path / "base.json", tmp_path / "wide.json"


def test_cli_end_to_end(tmp_path, capsys):
    a, b = _write_fits(tmp_path, capsys)
    out_json, out_csv = tmp_path / "cmp.json", tmp_path / "cmp.csv"
    code, out, err = run(capsys, "compare", a, b, "--at", "C=1e19", "C=2e19", "--data",
                         tmp_path / "base.csv", tmp_path / "wide.csv", "--json", out_json,
                         "--csv", out_csv, "--level", "0.9")
    assert code == 0, err
    assert "wide over base" in out and "90% interval" in out and "paired loss differences" in out
    doc = json.loads(out_json.read_text())
    assert doc["variants"] == ["base", "wide"] and doc["level"] == pytest.approx(0.9)
    at = [r for r in doc["rows"] if r["requested"] and r["variant"] == "wide"]
    assert len(at) == 2
    for r in at:
        assert r["multiplier"] == pytest.approx(TRUE_M, rel=0.2)
        assert r["multiplier_lower"] < r["multiplier"] < r["multiplier_upper"]
    table = pd.read_csv(out_csv)
    assert len(table) == len(doc["rows"])
    assert np.allclose(table.groupby("C")["prob_best"].sum(), 1.0)
    assert doc["paired_summary"][0]["n_pairs"] == 25
    # one combined table with a variant column
    both = pd.concat([pd.read_csv(tmp_path / "base.csv").assign(arch="base"),
                      pd.read_csv(tmp_path / "wide.csv").assign(arch="wide")])
    both.to_csv(tmp_path / "both.csv", index=False)
    code, out2, err = run(capsys, "compare", a, b, "--at", "1e19", "--data", tmp_path / "both.csv",
                          "--variant", "arch")
    assert code == 0, err
    assert "over 25 configurations" in out2


def test_cli_bad_input_exits_2(tmp_path, capsys):
    a, b = _write_fits(tmp_path, capsys)
    lr = tmp_path / "lr.json"
    lr.write_text(json.dumps({"law": "multipower",
                              "params": {p: 1.0 for p in get_law("multipower").param_names}}))
    kap = tmp_path / "kaplan.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        sl.fit(pd.read_csv(tmp_path / "base.csv")[["N", "D", "loss"]], "kaplan").to_json(kap)
    cases = [((a,), "two or more"), ((a, kap), "different laws"), ((a, lr), "LR-schedule"),
             ((a, b, "--at", "C=abc"), "not a number"),
             ((a, b, "--data", tmp_path / "base.csv"), "one table per fit"),
             ((a, b, "--names", "x"), "one name per fit"),
             ((a, b, "--flops-per-token", "0"), "positive"),
             ((a, tmp_path / "missing.json"), "not found")]
    for argv, words in cases:
        code, out, err = run(capsys, "compare", *argv)
        assert code == 2, (argv, err)
        assert words in one_line(err), err
    # inputs are never overwritten
    code, out, err = run(capsys, "compare", a, b, "--json", a)
    assert code == 2 and json.loads(a.read_text())["law"] == "chinchilla"


# --------------------------------------------------------------------------- docs
def test_the_docs_example_runs(capsys):
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "compare.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        for i, code in enumerate(blocks):
            exec(compile(code, f"docs/compare.md[{i}]", "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out
    assert "wide over base" in out and "multiplier_lower" in out


# --------------------------------------------------------------------------- issue 12 review
def test_frontier_constants_are_the_loss_at_the_compute_optimum():
    """allocate.frontier_constants (the one formula compare uses): E + K·(C/k)^−γ equals the
    law's loss at compute_optimal's (N*, D*), for a point estimate and per draw."""
    from scalelaw.allocate import frontier_constants
    C = np.geomspace(1e18, 1e25, 8)
    E, K, g = frontier_constants(HOFFMANN)
    ref = compute_optimal(HOFFMANN, C)["loss_opt"].to_numpy()
    np.testing.assert_allclose(E + K * (C / 6) ** -g, ref, rtol=1e-12)
    rng = np.random.default_rng(0)
    draws = {n: HOFFMANN[n] * (1 + 0.05 * rng.standard_normal(5)) for n in HOFFMANN}
    E, K, g = frontier_constants(draws)
    for i in range(5):
        one = {n: float(v[i]) for n, v in draws.items()}
        want = compute_optimal(one, C, flops_per_token=8)["loss_opt"].to_numpy()
        np.testing.assert_allclose(E[i] + K[i] * (C / 8) ** -g[i], want, rtol=1e-12)
    f = frontier(drawn_fit(HOFFMANN, {}, n=3))
    np.testing.assert_allclose(f.loss(C)[0], ref, rtol=1e-12)


def test_a_fit_of_a_metric_is_refused():
    """The logit link's law has chinchilla's variables and parameters, but its values are
    odds of a metric, not losses: refused in one line."""
    cfg = {"base": "chinchilla", "lo": 0.0, "hi": 1.0}
    a = drawn_fit(HOFFMANN, {"E": 0.01}, law="logit", config=cfg)
    b = drawn_fit(dict(HOFFMANN, E=1.5), {"E": 0.01}, law="logit", config=cfg, seed=1)
    with pytest.raises(ScalelawError, match="target is a metric .*needs fits of the loss") as e:
        compare([a, b], at=[1e22])
    assert "\n" not in str(e.value)
    with pytest.raises(ScalelawError, match="target is a metric"):
        frontier(a)


def test_an_optimum_outside_the_fitted_sizes_is_no_interpolation():
    """C inside the fitted compute, but N* beyond the largest fitted N: labelled and noted
    as predict measures it (extrapolation_distance), not called an interpolation."""
    from scalelaw.fitting.bands import extrapolation_distance
    dom = {"domain": {"N": [1e7, 1e8], "D": [1e9, 1e12]}, "compute_range": [1e16, 1e20]}
    a = drawn_fit(HOFFMANN, {"E": 0.005}, extra=dom, seed=1)
    b = drawn_fit(shifted(HOFFMANN, 2.0, 1.5), {"E": 0.005}, extra=dom, seed=2)
    C = 1e20                                           # C/6 = 1.7e19 < 1e20: inside in compute
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compare([a, b], at=[C])
    opt = compute_optimal(HOFFMANN, [C])
    want, var = extrapolation_distance({"N": (1e7, 1e8), "D": (1e9, 1e12)},
                                       {"N": opt["N_opt"].to_numpy(), "D": opt["D_opt"].to_numpy()},
                                       (1e16, 1e20))
    assert var[0] == "N" and want[0] > 5                # N* = 6.4e8, x6.4 beyond 1e8
    rows = res.frame[res.frame["requested"]].set_index("variant")
    assert rows.loc["A", "extrapolation"] == pytest.approx(want[0], rel=1e-9)
    assert rows.loc["A", "extrapolation_in"] == "N"
    assert rows.loc["A", "interval"].startswith("extrapolation x") and rows.loc["A", "interval"].endswith("in N")
    assert rows.loc["B", "extrapolation"] >= want[0]    # B's optimum and A's at m·C: no nearer
    msgs = [str(w.message) for w in caught]
    assert any("allocation of A lies outside its fitted N" in m for m in msgs)
    assert any("allocation of A lies outside" in n for n in res.notes)
    # deep inside both the sizes and the compute: an interpolation still
    inside = res.multiplier(3e17)
    assert inside["extrapolation"].iloc[0] == 1.0


def test_a_fit_without_a_range_is_not_called_an_interpolation():
    a = drawn_fit(HOFFMANN, {"E": 0.005}, seed=1)
    b = drawn_fit(shifted(HOFFMANN, 2.0, 1.5), {"E": 0.005}, seed=2)
    res = quiet_compare([a, b], at=[1e20])
    assert (res.frame["interval"] == "fitted range unknown").all()
    assert any("no fitted range" in n for n in res.notes)


def test_a_law_of_compute_is_noted_as_needing_the_lower_envelope():
    cfg = {"var": "C"}
    base = dict(E=2.0, A=50.0, alpha=0.1)
    a = drawn_fit(base, {"E": 0.01}, seed=1, law="powerlaw_const", config=cfg)
    b = drawn_fit(dict(base, E=1.98), {"E": 0.01}, seed=2, law="powerlaw_const", config=cfg)
    with pytest.warns(ScalelawWarning, match="lower envelope"):
        res = compare([a, b], at=[1e20])
    assert "lower envelope" in res.summary()
    # chinchilla fits get no such note
    c = quiet_compare([drawn_fit(HOFFMANN, {"E": 0.01}), drawn_fit(HOFFMANN, {"E": 0.01}, seed=3)],
                      at=[1e20])
    assert not any("lower envelope" in n for n in c.notes)


def test_tied_draws_split_the_probability_best_evenly():
    """Fixed-parameter draws (every draw the same value) of two identical variants: each is
    best in half the draws, not the baseline in all of them."""
    a = drawn_fit(HOFFMANN, {}, n=50, seed=1)
    b = drawn_fit(HOFFMANN, {}, n=50, seed=2)
    c = drawn_fit(shifted(HOFFMANN, 0.5, 0.5), {}, n=50, seed=3)     # worse: never best
    res = quiet_compare([a, b, c], at=[1e20, 1e22])
    best = res.best.set_index(["C", "variant"])["prob_best"]
    for C in (1e20, 1e22):
        assert best[(C, "A")] == pytest.approx(0.5) and best[(C, "B")] == pytest.approx(0.5)
        assert best[(C, "C")] == 0.0
    assert np.allclose(res.frame.groupby("C")["prob_best"].sum(), 1.0)


def test_budgets_are_checked_by_the_allocation_helper():
    a, b = drawn_fit(HOFFMANN, {"E": 0.01}), drawn_fit(HOFFMANN, {"E": 0.01}, seed=3)
    res = quiet_compare([a, b], at=["C=1e20", 1e21])
    assert list(res.at) == [1e20, 1e21]
    for bad in (["C=-1"], [0.0], ["C=inf"]):
        with pytest.raises(ScalelawError, match="positive, finite FLOP count"):
            compare([a, b], at=bad)
