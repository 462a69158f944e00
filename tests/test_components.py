"""Noise components (scalelaw.fitting.components): configuration misfit, run-to-run and
evaluation variance recovered from residuals with known components, by MixedLM and by the
method of moments; identification without replicates; bad input.

Tolerances come from the sampling variance of the balanced ANOVA estimators,
Var(MS) = 2·E[MS]²/df (normal data), divided by the number of draws averaged.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scalelaw.errors import ScalelawError
from scalelaw.fitting.components import Components, estimate_components

SD = {"config": 0.01, "run": 0.02, "eval": 0.01}


def _nested(rng, a=30, s=4, e=4, sd=SD, seeds=None, evals=None):
    """Residuals r = m_config + u_run + e_eval at a configurations (N, D), s runs each (or
    seeds[c] runs at configuration c), e evaluations per run (or evals[c][j])."""
    rows = []
    run_id = 0
    for c in range(a):
        m = rng.normal(0, sd["config"])
        for j in range(s if seeds is None else seeds[c]):
            u = rng.normal(0, sd["run"])
            for k in range(e if evals is None else evals[c][j]):
                rows.append((1e7 * (1 + c % 6), 1e9 * (1 + c // 6), run_id, j, k,
                             m + u + rng.normal(0, sd["eval"])))
            run_id += 1
    return pd.DataFrame(rows, columns=["N", "D", "run", "seed", "eval", "r"])


def _anova_se(a, s, e, sd=SD, p=1):
    """Standard errors of the balanced nested ANOVA variance estimates (delta method)."""
    vc, vr, ve = (sd[k] ** 2 for k in ("config", "run", "eval"))
    ms_e, ms_b = ve, ve + e * vr
    ms_a = ms_b + s * e * vc
    df_a, df_b, df_e = a - p, a * (s - 1), a * s * (e - 1)
    v = lambda ms, df: 2 * ms ** 2 / df   # noqa: E731
    return {"eval": np.sqrt(v(ms_e, df_e)),
            "run": np.sqrt(v(ms_b, df_b) + v(ms_e, df_e)) / e,
            "config": np.sqrt(v(ms_a, df_a) + v(ms_b, df_b)) / (s * e)}


def _check_recovery(estimates, a, s, e, draws, sd=SD, p=1, z=4.0):
    """Mean over draws of each variance estimate within z standard errors of the truth."""
    se = _anova_se(a, s, e, sd, p)
    for k in ("config", "run", "eval"):
        mean = np.mean([getattr(c, f"{k}_var") for c in estimates])
        tol = z * se[k] / np.sqrt(draws)
        assert abs(mean - sd[k] ** 2) < tol, (k, mean, sd[k] ** 2, tol)


def test_moments_recovers_config_run_and_eval_variance():
    a, s, e, draws = 30, 4, 4, 20
    rng = np.random.default_rng(0)
    est = []
    for _ in range(draws):
        df = _nested(rng, a, s, e)
        c = estimate_components(df, ["N", "D"], df.r, method="moments")
        assert c.method == "moments" and c.identified == {"config": True, "run": True, "eval": True}
        assert all("estimated at 0" in n for n in c.notes)   # a config_var below 0 is cut
        est.append(c)
    _check_recovery(est, a, s, e, draws)
    # the run sd to better than 4% on average (SE of run_var/draw 16% of 4e-4: 1.8% in sd)
    assert abs(np.mean([c.sd["run"] for c in est]) / SD["run"] - 1) < 0.04
    assert est[0].df == {"config": 29.0, "run": 90.0, "eval": 360.0}
    assert est[0].counts["runs"] == a * s and est[0].counts["configs"] == a


def test_mixedlm_recovers_components_and_equals_anova_on_a_balanced_design():
    a, s, e, draws = 30, 4, 4, 6
    rng = np.random.default_rng(1)
    est = []
    for _ in range(draws):
        df = _nested(rng, a, s, e)
        c = estimate_components(df, ["N", "D"], df.r)   # auto: MixedLM on this design
        assert c.method == "mixedlm", c.notes
        m = estimate_components(df, ["N", "D"], df.r, method="moments")
        # REML equals the ANOVA estimate in a balanced design when no estimate is at 0
        if min(m.config_var, m.run_var) > 0:
            for k in ("config", "run", "eval"):
                assert getattr(c, f"{k}_var") == pytest.approx(getattr(m, f"{k}_var"), rel=2e-3, abs=1e-8)
        est.append(c)
    _check_recovery(est, a, s, e, draws)


@pytest.mark.parametrize("method", ["moments", "mixedlm"])
def test_unbalanced_design_recovers_run_and_eval(method):
    """1-5 seeds per configuration and 1-4 evaluations per run (some configurations with a
    single run of a single row)."""
    rng = np.random.default_rng(2)
    a, draws = 40, 6
    est = []
    for _ in range(draws):
        seeds = rng.integers(1, 6, size=a)
        evals = [rng.integers(1, 5, size=k) for k in seeds]
        df = _nested(rng, a, seeds=seeds, evals=evals)
        c = estimate_components(df, ["N", "D"], df.r, method=method)
        assert c.method == method, c.notes
        est.append(c)
    # about as informative as a balanced 40 x 3 x 2.5 design; compare to that one's SEs
    _check_recovery(est, a, 3, 2, draws, z=5.0)


def _reml_by_formula(df, scale=100.0):
    """An independent REML fit of the nested model (random intercept per configuration,
    a variance component per run) on rescaled residuals, best of three optimizers."""
    import warnings

    from statsmodels.regression.mixed_linear_model import MixedLM

    cfg = pd.factorize(pd.Series(list(zip(df.N, df.D))))[0]
    o = np.argsort(cfg, kind="stable")
    d = pd.DataFrame({"y": df.r.to_numpy()[o] * scale, "g": cfg[o], "run": df.run.to_numpy()[o]})
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for meth in ("powell", "nm", "bfgs"):
            fits.append(MixedLM.from_formula("y ~ 1", d, groups="g", re_formula="1",
                                             vc_formula={"run": "0 + C(run)"}).fit(
                reml=True, method=[meth], maxiter=5000))
    f = max(fits, key=lambda f: f.llf)
    s2 = scale ** 2
    return {"config": float(f.cov_re.iloc[0, 0]) / s2, "run": float(f.vcomp[0]) / s2, "eval": f.scale / s2}


def test_mixedlm_path_is_the_reml_estimate_on_an_unbalanced_design():
    rng = np.random.default_rng(13)
    seeds = rng.integers(1, 6, size=40)
    df = _nested(rng, 40, seeds=seeds, evals=[rng.integers(1, 5, size=k) for k in seeds])
    c = estimate_components(df, ["N", "D"], df.r, method="mixedlm")
    m = estimate_components(df, ["N", "D"], df.r, method="moments")
    ref = _reml_by_formula(df)
    for k in ("config", "run", "eval"):
        assert getattr(c, f"{k}_var") == pytest.approx(ref[k], rel=2e-3)
    assert abs(c.config_var - m.config_var) > 1e-3 * ref["config"]   # REML is not Henderson I here


def test_mixedlm_on_small_residuals_of_one_configuration():
    """Residuals of ~1e-2 at one configuration (4 seeds x 3 evaluations): lbfgs from its
    default start stops at a lower likelihood (run sd 0.028 for an ANOVA 0.006); the
    standardized, moments-started fit is the ANOVA/REML estimate."""
    rng = np.random.default_rng(0)
    rng.normal(0, 1, size=10)
    df = pd.DataFrame({"N": [1e8] * 12, "seed": np.repeat(range(4), 3), "r": rng.normal(0, 0.01, 12)})
    c = estimate_components(df, ["N"], df.r, method="mixedlm")
    m = estimate_components(df, ["N"], df.r, method="moments")
    assert c.method == "mixedlm" and c.identified == {"config": False, "run": True, "eval": True}
    assert any("a single configuration" in n for n in c.notes)
    g = df.groupby("seed").r
    ms_b = 3 * float(g.mean().var(ddof=1))
    ms_e = float(((df.r - g.transform("mean")) ** 2).sum()) / 8
    assert m.run_var == pytest.approx((ms_b - ms_e) / 3, rel=1e-9) and m.eval_var == pytest.approx(ms_e, rel=1e-9)
    assert c.run_var == pytest.approx(m.run_var, rel=1e-3) and c.eval_var == pytest.approx(m.eval_var, rel=1e-3)


def test_fit_residuals_with_simulate_runs_and_the_laws_degrees_of_freedom():
    """End to end: tables from synthetic.simulate_runs (no misfit: config_var 0), a Chinchilla
    fit, its residuals on log loss; run_sd 0.02 and eval_sd 0.01 come back."""
    import scalelaw as sl
    from scalelaw.synthetic import simulate_runs

    truth = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    design = pd.DataFrame([(n, d) for n in np.geomspace(1e7, 1e9, 6) for d in np.geomspace(1e9, 1e11, 5)],
                          columns=["N", "D"])
    run, ev, cfg = [], [], []
    for seed in range(3):
        df = simulate_runs("chinchilla", truth, design, run_sd=0.02, eval_sd=0.01, n_seeds=4, n_eval=3,
                           seed=seed)
        res = sl.fit(df[["N", "D", "loss"]], "chinchilla")
        c = estimate_components(df, ["N", "D"], res.residuals, n_params=5)
        assert c.identified == {"config": True, "run": True, "eval": True}
        assert len(c.run_labels) == len(df) and len(set(c.run_labels)) == 120
        run.append(c.run_var)
        ev.append(c.eval_var)
        cfg.append(c.config_var)
    se = _anova_se(30, 4, 3, {"config": 0.0, "run": 0.02, "eval": 0.01}, p=5)
    assert abs(np.mean(run) - 0.02 ** 2) < 4 * se["run"] / np.sqrt(3)
    assert abs(np.mean(ev) - 0.01 ** 2) < 4 * se["eval"] / np.sqrt(3)
    assert np.mean(cfg) < 4 * se["config"] / np.sqrt(3)
    assert c.new_run_var(3) == pytest.approx(c.config_var + c.run_var + c.eval_var / 3)


def test_configuration_level_accounts_for_the_laws_parameters():
    """A linear 'law' with p = 4 parameters fitted by least squares to 10 configuration
    means absorbs 3 more degrees of freedom than a mean: with n_params the average
    config_var is unbiased, without it is low by about (a − p)/(a − 1) = 2/3 of the
    configuration mean square."""
    rng = np.random.default_rng(3)
    a, s, e, p, draws = 10, 3, 2, 4, 300
    sd = {"config": 0.02, "run": 0.01, "eval": 0.01}
    X = np.column_stack([np.ones(a)] + [rng.normal(size=a) for _ in range(p - 1)])
    with_p, without = [], []
    for _ in range(draws):
        df = _nested(rng, a, s, e, sd=sd)
        c = pd.factorize(pd.Series(list(zip(df.N, df.D))))[0]
        Xr = X[c]
        y = df.r.to_numpy()
        resid = y - Xr @ np.linalg.lstsq(Xr, y, rcond=None)[0]
        with_p.append(estimate_components(df, ["N", "D"], resid, n_params=p, method="moments").config_var)
        without.append(estimate_components(df, ["N", "D"], resid, method="moments").config_var)
    se = _anova_se(a, s, e, sd, p=p)["config"] / np.sqrt(draws)
    assert abs(np.mean(with_p) - 0.02 ** 2) < 4 * se
    assert np.mean(without) < 0.02 ** 2 - 4 * se     # the uncorrected estimate is biased low


def test_without_replicates_the_run_part_is_not_identified():
    rng = np.random.default_rng(4)
    df = _nested(rng, 40, 1, 1).drop(columns=["run", "seed", "eval"])
    c = estimate_components(df, ["N", "D"], df.r, n_params=3)
    assert c.identified == {"config": True, "run": False, "eval": False}
    assert len(c.notes) == 1 and "\n" not in c.notes[0]
    assert c.notes[0].startswith("run-to-run and evaluation variance not identified")
    assert c.run_var == 0.0 and c.eval_var == 0.0
    # config_var holds the whole residual variance, net of the law's 3 parameters
    r = df.r.to_numpy()
    assert c.config_var == pytest.approx(np.sum((r - r.mean()) ** 2) / (40 - 3), rel=1e-9)
    assert c.new_run_var() == c.config_var
    assert "not identified: run, eval" in c.describe()


def test_seeds_without_evaluation_sets_fold_eval_into_run():
    rng = np.random.default_rng(5)
    df = _nested(rng, 30, 4, 1).drop(columns=["eval"])
    c = estimate_components(df, ["N", "D"], df.r, method="moments")
    assert c.identified == {"config": True, "run": True, "eval": False}
    assert any("evaluation variance not identified" in n for n in c.notes)
    # run_var estimates run + eval variance: 5e-4, SE sqrt(2/90)*5e-4 = 7.5e-5
    assert abs(c.run_var - 5e-4) < 4 * 7.5e-5


def test_seed_column_numbers_runs_within_a_configuration():
    """A 'seed' column (0..s-1 at every configuration) gives the same runs as unique run ids;
    without any run column, repeated rows at a configuration are separate runs."""
    rng = np.random.default_rng(6)
    df = _nested(rng, 20, 3, 2)
    by_run = estimate_components(df, ["N", "D"], df.r, method="moments")
    by_seed = estimate_components(df.drop(columns="run"), ["N", "D"], df.r, method="moments")
    assert by_seed.counts["runs"] == 60
    for k in ("config_var", "run_var", "eval_var"):
        assert getattr(by_seed, k) == pytest.approx(getattr(by_run, k), rel=1e-12)
    # a 'run' column of replicate numbers (0..2 at every configuration, which differ in N
    # and D): read as numbers within each configuration, with a note
    numbered = estimate_components(df.drop(columns="run").rename(columns={"seed": "run"}), ["N", "D"], df.r,
                                   method="moments")
    assert numbered.run_var == pytest.approx(by_run.run_var, rel=1e-12) and numbered.counts["runs"] == 60
    assert any("read as replicate numbers within each configuration" in n for n in numbered.notes)
    # an eval column without a run column: the k-th row of each eval set is run k
    by_eval = estimate_components(df.drop(columns=["run", "seed"]), ["N", "D"], df.r, method="moments")
    assert by_eval.run_var == pytest.approx(by_run.run_var, rel=1e-12)
    # no run or eval column: every row a run; the within-configuration scatter is run + eval
    bare = estimate_components(df.drop(columns=["run", "seed", "eval"]), ["N", "D"], df.r, method="moments")
    assert bare.identified["eval"] is False and bare.counts["runs"] == len(df)


def test_runs_spanning_configurations_are_crossed():
    """Checkpoints: each run (6 sizes x 3 seeds) is evaluated at 8 token counts, so a run spans
    8 configurations and every configuration has 3 runs; run offsets are shared along a run."""
    rng = np.random.default_rng(7)
    runs, cfgs, evs = [], [], []
    sd = {"config": 0.01, "run": 0.02, "eval": 0.005}
    for draw in range(4):
        rows = []
        m = rng.normal(0, sd["config"], size=(6, 8))
        for i in range(6):
            for s in range(3):
                u = rng.normal(0, sd["run"])
                for j in range(8):
                    for k in range(2):
                        rows.append((1e7 * (i + 1), 1e9 * (j + 1), f"n{i}s{s}", m[i, j] + u + rng.normal(0, sd["eval"])))
        df = pd.DataFrame(rows, columns=["N", "D", "run", "r"])
        c = estimate_components(df, ["N", "D"], df.r, method="mixedlm" if draw % 2 else "moments")
        assert c.identified == {"config": True, "run": True, "eval": True}
        assert c.counts["runs"] == 18 and c.counts["configs"] == 48
        assert any(n.startswith("runs span configurations (up to 8 each") for n in c.notes)
        runs.append(c.run_var)
        cfgs.append(c.config_var)
        evs.append(c.eval_var)
    # 18 runs (17 df) per draw: SE of run_var ≈ sqrt(2/17)·4e-4 ≈ 1.4e-4 per draw
    assert abs(np.mean(runs) - 4e-4) < 4 * 1.4e-4 / 2
    # 48 configurations with 3 runs: SE(config_var) ≈ sqrt(2/47)·(1e-4 + ...)≈ 3e-5 per draw
    assert abs(np.mean(cfgs) - 1e-4) < 4 * 3e-5 / 2
    assert abs(np.mean(evs) - 2.5e-5) < 4 * np.sqrt(2 / 288) * 2.5e-5 / 2


def test_a_small_design_or_failing_mixedlm_falls_back_to_moments(monkeypatch):
    rng = np.random.default_rng(8)
    df = _nested(rng, 2, 2, 3)     # run level has 2 degrees of freedom
    c = estimate_components(df, ["N", "D"], df.r)
    assert c.method == "moments"
    c = estimate_components(df, ["N", "D"], df.r, method="mixedlm")
    assert c.method == "moments" and any(n.startswith("MixedLM not used (design too small") for n in c.notes)

    from statsmodels.regression import mixed_linear_model as mlm

    def boom(self, *a, **k):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(mlm.MixedLM, "fit", boom)
    df = _nested(rng, 20, 3, 2)
    c = estimate_components(df, ["N", "D"], df.r)
    assert c.method == "moments"
    assert any(n.startswith("MixedLM failed (LinAlgError: Singular matrix)") for n in c.notes)
    assert c.run_var > 0


def test_the_law_fitting_every_configuration_leaves_within_scatter():
    rng = np.random.default_rng(9)
    df = _nested(rng, 4, 8, 3)
    c = estimate_components(df, ["N", "D"], df.r, n_params=5)
    assert c.identified == {"config": False, "run": True, "eval": True}
    assert c.method == "moments" and c.config_var == 0.0
    assert any("configuration misfit not identified: 4 configurations for 5" in n for n in c.notes)
    # the within-configuration ANOVA: MS_B = within-config between-run mean square
    g = df.groupby("run").r
    cells = g.mean()
    cfg_of = df.groupby("run").N.first() * 1e3 + df.groupby("run").D.first()
    ss_b = 3 * float(((cells - cells.groupby(cfg_of).transform("mean")) ** 2).sum())
    ss_e = float(((df.r - g.transform("mean")) ** 2).sum())
    ms_b, ms_e = ss_b / (32 - 4), ss_e / (96 - 32)
    assert c.eval_var == pytest.approx(ms_e, rel=1e-9)
    assert c.run_var == pytest.approx((ms_b - ms_e) / 3, rel=1e-9)


def test_serialization_description_and_new_run_variance():
    rng = np.random.default_rng(10)
    df = _nested(rng, 12, 3, 2)
    r = df.r.to_numpy().copy()
    r[5] = np.inf
    c = estimate_components(df, ["N", "D"], r, method="moments")
    assert any("1 non-finite residual" in n for n in c.notes)
    assert c.counts["rows"] == len(df) - 1
    d = json.loads(json.dumps(c.to_dict()))
    back = Components.from_dict(d)
    assert back.to_dict() == c.to_dict()
    assert back.new_run_var(4) == pytest.approx(c.config_var + c.run_var + c.eval_var / 4)
    line = c.describe()
    assert "\n" not in line and "moments" in line and f"run {c.sd['run']:.3g}" in line
    with pytest.raises(ScalelawError, match="n_eval"):
        c.new_run_var(0)
    with pytest.raises(ScalelawError, match="cannot read noise components"):
        Components.from_dict({"run_var": 1.0})


@pytest.mark.parametrize("kwargs, match", [
    ({"run": "replicate"}, "run column 'replicate' not in the table"),
    ({"eval": "set"}, "evaluation-set column 'set' not in the table"),
    ({"method": "bayes"}, "unknown noise-components method 'bayes'"),
    ({"run": "run", "eval": "run"}, "cannot name both"),
])
def test_bad_input_is_one_line(kwargs, match):
    df = _nested(np.random.default_rng(11), 5, 2, 2)
    with pytest.raises(ScalelawError, match=match) as info:
        estimate_components(df, ["N", "D"], df.r, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_shapes_are_one_line():
    df = _nested(np.random.default_rng(12), 5, 2, 2)
    with pytest.raises(ScalelawError, match="residuals for 20 rows"):
        estimate_components(df, ["N", "D"], df.r[:-1])
    with pytest.raises(ScalelawError, match="variable column.*'C' not in the table"):
        estimate_components(df, ["N", "C"], df.r)
