"""Law selection and stacking by cross-validation (scalelaw.fitting.select, issue 14 item 1).

Simulated data where one law is the truth (selection must pick it) and where neither is
(stacking must weigh both, and the CV choice must agree with the out-of-sample truth)."""
import json

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.errors import ScalelawError
from scalelaw.fitting.select import combine_predictions, folds, stacking_weights
from scalelaw.laws import get_law
from scalelaw.schedules import parse_schedule
from scalelaw.synthetic import simulate_runs

from cli_helpers import one_line, run

TRUE = {"chinchilla": [1.7, 400.0, 410.0, 0.34, 0.28],
        "kaplan": [8.8e13, 0.076, 5.4e13, 0.095]}


def grid(sizes=6, tokens=5):
    N = np.repeat(np.geomspace(1e7, 1e9, sizes), tokens)
    D = np.tile(np.geomspace(1e9, 1e11, tokens), sizes)
    return pd.DataFrame({"N": N, "D": D})


def table(truth, seed, sd=0.01):
    return simulate_runs(truth, TRUE[truth], grid(), run_sd=sd, seed=seed)


@pytest.mark.parametrize("truth", ["chinchilla", "kaplan"])
def test_auto_picks_the_true_scaling_law(truth):
    picked = [sl.fit(table(truth, seed), "auto").law.name for seed in range(3)]
    assert picked == [truth] * 3


def test_selection_keeps_every_candidate_and_its_cv_table():
    res = sl.fit(table("chinchilla", 0), ["chinchilla", "kaplan"])
    sel = res.selection
    assert set(sel.candidates) == {"chinchilla", "kaplan"} and sel.chosen == "chinchilla"
    t = sel.table.set_index("law")
    assert t.loc["chinchilla", "cv_score"] < t.loc["kaplan", "cv_score"]
    assert t["folds"].tolist() == [6, 6] and t["points"].tolist() == [30, 30]
    assert sel.weights == {"chinchilla": 1.0, "kaplan": 0.0}
    # the chosen law's CV table: one row per model size left out, with held-out errors
    assert len(res.cv) == 6 and len(res.cv.attrs["errors"]) == 30
    text = res.summary()
    assert "law selection by cross-validation (leave one N out), best: chose chinchilla" in text
    assert "cross-validation (leave one N out)" in text
    # the candidate kaplan is a real fit to all the data, not the chosen one
    assert sel.candidates["kaplan"].law.name == "kaplan" and sel.candidates["kaplan"].n == 30


def mixed_table(seed, sd=0.005, design=None):
    """Neither law: the geometric mean of a Chinchilla and a Kaplan surface."""
    d = grid() if design is None else design
    x = {"N": d["N"].to_numpy(), "D": d["D"].to_numpy()}
    a = get_law("chinchilla").evaluate(x, np.array(TRUE["chinchilla"]))
    b = get_law("kaplan").evaluate(x, np.array(TRUE["kaplan"]))
    rng = np.random.default_rng(seed)
    return d.assign(loss=np.sqrt(a * b) * np.exp(rng.normal(0, sd, len(d))))


def test_stacking_weighs_both_when_neither_law_is_true():
    res = sl.fit(mixed_table(0), "chinchilla,kaplan", select="stack")
    w = res.selection.weights
    assert 0.05 < w["kaplan"] < 0.95 and abs(sum(w.values()) - 1) < 1e-9
    # the stacked CV error (the weighted held-out errors) is below each candidate's
    E = res.selection.errors.pivot_table(index="row", columns="law", values="error")
    stacked = np.mean(np.abs(E[["chinchilla", "kaplan"]].to_numpy() @ np.array([w["chinchilla"], w["kaplan"]])))
    assert stacked < np.abs(E).mean().min()
    # predictions combine the candidates: between them, on the log scale
    at = {"N": [3e8], "D": [3e10]}
    comb = res.predict(at)
    each = [res.selection.candidates[k].predict(at)["mean"].iloc[0] for k in ("chinchilla", "kaplan")]
    expect = np.exp(w["chinchilla"] * np.log(each[0]) + w["kaplan"] * np.log(each[1]))
    assert comb["mean"].iloc[0] == pytest.approx(expect, rel=1e-12)
    assert comb["obs_ci_lower"].iloc[0] < comb["mean"].iloc[0] < comb["obs_ci_upper"].iloc[0]


def test_cv_choice_agrees_with_out_of_sample_error_when_neither_law_is_true():
    """Where neither law is the truth, the law CV prefers predicts fresh held-out sizes
    (1.6x beyond the fitted ones) better, in each of 3 draws."""
    far = pd.DataFrame({"N": np.repeat([1.6e9, 2.5e9], 5), "D": np.tile(np.geomspace(1e9, 1e11, 5), 2)})
    for seed in range(3):
        res = sl.fit(mixed_table(seed), "chinchilla,kaplan", cv="rollout")
        fresh = mixed_table(100 + seed, sd=0.0, design=far)
        err = {k: float(np.mean(np.abs(np.log(r.predict(fresh[["N", "D"]])["mean"] / fresh["loss"]))))
               for k, r in res.selection.candidates.items()}
        assert res.selection.chosen == min(err, key=err.get), (seed, err)


def test_stacking_weights_solve_the_simplex_problem():
    rng = np.random.default_rng(1)
    e1 = rng.normal(0.02, 0.01, 200)
    e2 = rng.normal(-0.02, 0.01, 200)        # opposite biases: the mean cancels them
    w = stacking_weights(np.c_[e1, e2])
    assert w == pytest.approx([0.5, 0.5], abs=0.05)
    w = stacking_weights(np.c_[e1 * 0.1, e2])   # one candidate nearly exact
    assert w[0] > 0.85
    assert stacking_weights(np.c_[e1, e1, e2]).sum() == pytest.approx(1.0)


def test_mixture_bands_reduce_to_the_candidate_with_all_the_weight():
    a = pd.DataFrame({"mean": [2.0], "obs_ci_lower": [1.8], "obs_ci_upper": [2.2]})
    b = pd.DataFrame({"mean": [3.0], "obs_ci_lower": [2.5], "obs_ci_upper": [3.5]})
    out = combine_predictions({"a": a, "b": b}, {"a": 1.0, "b": 0.0}, {"a": "linear", "b": "linear"}, 0.05)
    assert out["obs_ci_lower"].iloc[0] == pytest.approx(1.8, abs=1e-6)
    assert out["obs_ci_upper"].iloc[0] == pytest.approx(2.2, abs=1e-6)
    half = combine_predictions({"a": a, "b": b}, {"a": 0.5, "b": 0.5}, {"a": "linear", "b": "linear"}, 0.05)
    assert half["mean"].iloc[0] == pytest.approx(2.5)
    # the mixture's 95% band spans both candidates' bands' inner parts
    assert 1.8 < half["obs_ci_lower"].iloc[0] < 2.0 and 3.0 < half["obs_ci_upper"].iloc[0] < 3.5


def test_folds():
    labels = np.array([1, 1, 2, 2, 4, 4, 8])
    got = folds(labels, "group")
    assert [f[0] for f in got] == [1, 2, 4, 8]
    assert got[0][1].tolist() == [False, False] + [True] * 5 and got[0][2].sum() == 2
    with pytest.raises(ScalelawError, match="at least 2 groups"):
        folds(np.ones(4), "group")
    with pytest.raises(ScalelawError, match="unknown cross-validation"):
        folds(labels, "rollout")   # rollout folds are validation.rollout's


def test_one_variable_tables_weights_and_groups_with_candidates(tmp_path, capsys):
    rng = np.random.default_rng(3)
    N = np.repeat(np.geomspace(1e6, 1e9, 8), 3)
    t = pd.DataFrame({"N": N, "loss": (1.5 + 40 * N ** -0.3) * np.exp(rng.normal(0, 0.003, N.size)),
                      "w": rng.uniform(0.5, 2, N.size)})
    res = sl.fit(t, "auto")   # one variable: powerlaw_const against powerlaw
    assert res.law.name == "powerlaw_const" and res.selection.cv == "leave one N out"
    path = tmp_path / "n.csv"
    t.to_csv(path, index=False)
    code, out, err = run(capsys, "fit", str(path), "--law", "auto")
    assert code == 0 and "chose powerlaw_const" in out, err
    # weights reach every refit: the CV of a weighted fit differs from the unweighted one
    a = sl.fit(t, "powerlaw_const", weights="w", cv="group")
    b = sl.fit(t, "powerlaw_const", cv="group")
    assert len(a.cv) == 8 and not np.allclose(a.cv["rmse"], b.cv["rmse"])
    assert np.isfinite(sl.fit(t, "powerlaw_const", weights="w", cv="rollout").cv["rmse"]).all()
    # a bootstrap of the chosen candidate by groups of a column
    sel = sl.fit(t, "powerlaw_const,powerlaw", groups="N", bootstrap=20)
    assert sel.boot_groups == "groups" and len(sel.boot) == 20
    with pytest.raises(ScalelawError, match="for training logs"):
        sl.fit(t, "powerlaw_const", cv="run")


def test_stacked_prediction_uses_the_bootstrap_run_after_the_selection():
    res = sl.fit(mixed_table(0), "chinchilla,kaplan", select="stack", bootstrap=40)
    assert res.boot is not None
    at = {"N": [2e9], "D": [2e11]}
    back = sl.FitResult.from_json(res.to_json())
    pd.testing.assert_frame_equal(back.predict(at), res.predict(at), rtol=1e-9)


def test_selection_json_round_trip_and_stacked_prediction():
    res = sl.fit(mixed_table(0), "chinchilla,kaplan", select="stack")
    back = sl.FitResult.from_json(res.to_json())
    assert back.selection.weights == pytest.approx(res.selection.weights)
    assert back.selection.chosen == res.selection.chosen
    at = {"N": [2e9], "D": [2e11]}
    pd.testing.assert_frame_equal(back.predict(at), res.predict(at), rtol=1e-9)
    d = json.loads(res.to_json())
    assert d["selection"]["method"] == "stack" and "cv" in d
    assert res.selection.chosen not in d["selection"]["candidates"]   # the fit itself is the chosen one


def test_refits_go_through_the_pool():
    calls = []

    class Pool:
        def map(self, fn, tasks):
            tasks = list(tasks)
            calls.append(len(tasks))
            return [fn(t) for t in tasks]

    data = table("chinchilla", 0)
    a = sl.fit(data, "chinchilla,kaplan", pool=Pool())
    b = sl.fit(data, "chinchilla,kaplan")
    assert calls == [2 * 6 + 2]   # 6 folds and the full fit, per candidate
    pd.testing.assert_frame_equal(a.selection.table, b.selection.table)


# -- training logs ------------------------------------------------------------------------
MOMENTUM = {"L0": 1.21, "A": 0.30, "alpha": 1.49, "C": 0.098, "lam": 0.962}
MULTIPOWER = {"L0": 1.21, "A": 0.29, "alpha": 1.46, "B": 2.61, "C": 0.617, "beta": 1.0, "gamma": 1.0}
SCHEDULES = ["constant:peak=1e-2,steps=1000,warmup=50",
             "cosine:peak=1e-2,final=1e-4,steps=1000,warmup=50",
             "wsd:peak=1e-2,final=1e-4,steps=1000,warmup=50,cooldown=0.2"]


def simulated_logs(law_name, params, sd=0.001, seed=0):
    law = get_law(law_name, warmup=50) if law_name == "momentum" else get_law(law_name)
    p = np.array([params[k] for k in law.param_names])
    rng = np.random.default_rng(seed)
    frames = []
    for i, spec in enumerate(SCHEDULES):
        eta = parse_schedule(spec).lrs(1000)
        design, out = law.curve_design(spec, every=10, warmup=50)
        loss = law.evaluate(design.x, p) * np.exp(rng.normal(0, sd, design.n))
        f = pd.DataFrame({"run": f"r{i}", "step": np.arange(len(eta)), "lr": eta, "loss": np.nan})
        f.loc[out["step"].to_numpy(), "loss"] = loss
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("truth,params,laws", [
    ("momentum", MOMENTUM, "auto"),
    # on these schedules the momentum law fits multi-power curves to within the noise (CV
    # RMSE 0.00108 vs 0.00108), so no criterion can tell them apart; against the law
    # without the annealing term the multi-power truth stands out (0.0011 vs 0.0084)
    ("multipower", MULTIPOWER, ["s1power", "multipower"]),
])
def test_cv_picks_the_true_lr_schedule_law(truth, params, laws):
    res = sl.fit_lr(simulated_logs(truth, params), laws, warmup=50)
    assert res.law.name == truth, res.selection.table
    assert res.selection.cv == "leave one run out"
    assert list(res.cv["fold"]) == ["r0", "r1", "r2"] and np.isfinite(res.cv["final_err"]).all()
    t = res.selection.table.set_index("law")
    assert t.loc[truth, "cv_score"] < t.drop(index=truth)["cv_score"].min()


def test_fit_routes_logs_to_selection_too():
    res = sl.fit(simulated_logs("multipower", MULTIPOWER), ["momentum", "multipower"])
    assert res.selection is not None and res.law.name == "multipower"


def test_one_law_cross_validated_on_logs():
    logs = simulated_logs("momentum", MOMENTUM)
    res = sl.fit_lr(logs, "momentum", warmup=50, cv="run")
    assert res.selection is None and len(res.cv) == 3
    assert "cross-validation (leave one run out)" in res.summary()
    # each fold is a real refit without that run: redo the one for r1 by hand
    alone = sl.fit_lr(logs[logs["run"] != "r1"], "momentum", warmup=50)
    pred = alone.predict(logs[logs["run"] == "r1"]).dropna(subset=["loss"])
    pred = pred[pred["step"] >= 50]
    tail = pred.iloc[-max(1, len(pred) // 20):]
    row = res.cv.set_index("fold").loc["r1"]
    assert row["final_err"] == pytest.approx(abs(tail["loss_pred"].mean() / tail["loss"].mean() - 1), rel=1e-9)
    assert row["n"] == len(pred)


def test_selection_refuses_bad_combinations():
    logs = simulated_logs("momentum", MOMENTUM)
    with pytest.raises(ScalelawError, match="mix LR-schedule laws and scaling laws"):
        sl.fit(table("chinchilla", 0), ["chinchilla", "momentum"])
    with pytest.raises(ScalelawError, match="leaving one run out"):
        sl.fit_lr(logs, "auto", cv="rollout")
    with pytest.raises(ScalelawError, match="unknown selection"):
        sl.fit(table("chinchilla", 0), "auto", select="vote")
    with pytest.raises(ScalelawError, match="at least two candidate laws"):
        sl.fit(table("chinchilla", 0), ["chinchilla"])
    with pytest.raises(ScalelawError, match="filter the table"):
        sl.fit(table("chinchilla", 0), "auto", where="N < 1e9")


# -- command line -------------------------------------------------------------------------
def test_cli_law_auto_on_a_table_and_on_logs(tmp_path, capsys):
    t = tmp_path / "runs.csv"
    table("kaplan", 0).to_csv(t, index=False)
    code, out, err = run(capsys, "fit", str(t), "--law", "auto", "--cv", "rollout", "--json",
                         str(tmp_path / "fit.json"))
    assert code == 0, err
    assert "rollout by N" in out and "chose kaplan" in out and "calibrated from" in out
    d = json.loads((tmp_path / "fit.json").read_text())
    assert d["law"] == "kaplan" and d["selection"]["chosen"] == "kaplan" and d["cv"]["kind"] == "rollout by N"
    code, out, err = run(capsys, "predict", str(tmp_path / "fit.json"), "--at", "N=5e9", "D=1e11")
    assert code == 0 and "cal_ci_lower" in out and "extrapolation" in out
    logs = simulated_logs("multipower", MULTIPOWER)
    paths = []
    for r, g in logs.groupby("run"):
        paths.append(str(tmp_path / f"{r}.csv"))
        g.drop(columns="run").to_csv(paths[-1], index=False)
    code, out, err = run(capsys, "fit", *paths, "--law", "auto", "--warmup", "50")
    assert code == 0, err
    assert "leave one run out" in out and "chose multipower" in out


@pytest.mark.parametrize("args,msg", [
    (["--law", "chinchilla,momentum"], "mixes LR-schedule laws and scaling laws"),
    (["--law", "chinchilla,nosuchlaw"], "unknown law 'nosuchlaw'"),
    (["--law", "chinchilla", "--cv-by", "D"], "--cv-by names the groups of --cv"),
    (["--law", "chinchilla", "--cv", "rollout", "--cv-by", "nosuch"], "nosuch"),
])
def test_cli_selection_errors_are_one_line(tmp_path, capsys, args, msg):
    t = tmp_path / "runs.csv"
    table("chinchilla", 0).to_csv(t, index=False)
    code, out, err = run(capsys, "fit", str(t), *args)
    assert code == 2
    assert msg in one_line(err)


def test_wild_bootstrap_from_fit_and_the_cli(tmp_path, capsys):
    data = table("chinchilla", 0)
    res = sl.fit(data, "chinchilla", groups="wild", bootstrap=30)
    assert len(res.boot) == 30 and res.boot["alpha"].std() > 0
    assert "wild" in (res.boot_groups or "")
    t = tmp_path / "runs.csv"
    data.to_csv(t, index=False)
    code, out, err = run(capsys, "fit", str(t), "--law", "chinchilla", "--groups", "wild", "--bootstrap", "20")
    assert code == 0, err
    assert "20 resamples" in out and "wild" in out


def test_curve_predictions_are_labelled_and_calibrated_by_the_run_cv():
    logs = simulated_logs("momentum", MOMENTUM)
    res = sl.fit_lr(logs, "momentum", warmup=50, cv="run")
    assert res.calibration is not None and res.calibration.n_folds == 3
    spec = "wsd:peak=1e-2,final=1e-4,steps=3000,warmup=50,cooldown=0.2"
    p = res.predict(spec)
    inside = p[p["step"] <= 1000]
    assert (inside["interval"] == "interpolation").all()
    assert p["interval"].iloc[-1] == "extrapolation x3 in step"
    # the calibrated band of a new run's logged loss holds the curve band
    assert (p["loss_cal_lower"] <= p["loss_lower"]).all() and (p["loss_cal_upper"] >= p["loss_upper"]).all()
    back = sl.FitResult.from_json(res.to_json())
    pd.testing.assert_frame_equal(back.predict(spec), p, rtol=1e-9)
    # without a CV there is no calibrated band, and the labels are still there
    plain = sl.fit_lr(logs, "momentum", warmup=50).predict(spec)
    assert "loss_cal_lower" not in plain and plain["interval"].iloc[-1] == "extrapolation x3 in step"


def test_allocation_from_a_stacked_fit_says_it_uses_one_law():
    from scalelaw.allocate import compute_optimal
    from scalelaw.errors import ScalelawWarning
    res = sl.fit(mixed_table(0), "chinchilla,kaplan", select="stack")
    assert res.selection.chosen == "chinchilla"
    with pytest.warns(ScalelawWarning, match="highest-weight law chinchilla"):
        out = compute_optimal(res, [1e22])
    plain = compute_optimal(res.selection.candidates["chinchilla"], [1e22])
    assert out["N_opt"].iloc[0] == pytest.approx(plain["N_opt"].iloc[0])


def test_the_report_of_a_stacked_fit_says_whose_figures_it_shows(tmp_path):
    from scalelaw.report import Report
    res = sl.fit(mixed_table(0), "chinchilla,kaplan", select="stack")
    rep = Report("stacked")
    rep.add_fit(res)
    rep.write(tmp_path)
    text = (tmp_path / "report.md").read_text()
    flat = " ".join(text.split())
    w = ", ".join(f"{k} {v:.3g}" for k, v in res.selection.weights.items())
    assert f"A stacked fit (weights {w}): the parameters" in flat
    assert f"highest-weight law {res.selection.chosen}" in flat
