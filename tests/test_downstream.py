"""Downstream metrics: the sigmoid of the loss, the logit link and the two-stage chain
(docs/downstream.md): parameter recovery from simulated data, the chain's band, JSON, CLI
and bad input."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.errors import ScalelawError, ScalelawWarning
from scalelaw.fitting.chain import ChainResult, fit_chain, fit_metric, predict_metric
from scalelaw.fitting.uncertainty import resample_weights
from scalelaw.laws.downstream import LogitLink, SigmoidLoss
from scalelaw.synthetic.runs import simulate_runs

from cli_helpers import one_line, run

CHIN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)   # the stage-1 truth (nats)
SIG = dict(b=0.25, c=0.95, k=3.0, L0=3.0)                       # the stage-2 truth (floor, ceiling)
HELD_OUT = dict(N=[7e9], D=[1.4e11])   # 7x the largest N, 24x the largest compute


def sigmoid_metric(loss, b=SIG["b"], c=SIG["c"], k=SIG["k"], L0=SIG["L0"]):
    return b + (c - b) / (1 + np.exp(k * (np.asarray(loss) - L0)))


def ladder(seed, eval_sd=0.005, metric_sd=0.01, sizes=6):
    """A ladder of ``sizes`` model sizes x 4 token counts: loss from Chinchilla
    (simulate_runs, evaluation noise eval_sd on log loss), accuracy from a known sigmoid of
    the true loss plus normal noise metric_sd."""
    N = np.geomspace(2e7, 1e9, sizes)
    design = pd.DataFrame({"N": np.repeat(N, 4), "D": np.repeat(N, 4) * np.tile([5.0, 10, 20, 40], sizes)})
    df = simulate_runs("chinchilla", CHIN, design, eval_sd=eval_sd, seed=seed)
    rng = np.random.default_rng(10_000 + seed)
    df["acc"] = sigmoid_metric(df["loss_true"]) + rng.normal(0.0, metric_sd, len(df))
    return df


def true_metric(N, D):
    return sigmoid_metric(sl.get_law("chinchilla")(N=N, D=D, **CHIN))


# -- the laws ------------------------------------------------------------------------------
def test_sigmoid_loss_recovers_its_parameters():
    rng = np.random.default_rng(1)
    loss = np.sort(rng.uniform(2.2, 4.5, 60))
    acc = sigmoid_metric(loss) + rng.normal(0, 0.005, loss.size)
    res = sl.fit({"loss": loss, "acc": acc}, "sigmoid_loss", columns={"metric": "acc"},
                 space="linear", objective="l2")
    p = res.params
    assert p["c"] == pytest.approx(SIG["c"], abs=0.02)
    assert p["b"] == pytest.approx(SIG["b"], abs=0.01)
    assert p["k"] == pytest.approx(SIG["k"], rel=0.08)
    assert p["L0"] == pytest.approx(SIG["L0"], abs=0.03)
    ci = res.conf_int()
    for name, v in SIG.items():   # the asymptotic 95% intervals cover the truth
        assert ci.loc[name, "lower"] <= v <= ci.loc[name, "upper"], name


def test_sigmoid_loss_range_bounds_and_jacobian():
    law = SigmoidLoss(0.25, 1.0)
    assert law.bounds["b"] == (0.25, 1.0) and law.bounds["c"] == (0.25, 1.0)
    assert sl.get_law("sigmoid_loss", **law.config()).bounds == law.bounds
    x = {"loss": np.array([2.0, 3.0, 4.5])}
    p = np.array([0.3, 0.9, 2.5, 3.1])
    _, J = law.evaluate_with_jacobian(x, p)
    h = 1e-6
    num = np.column_stack([(law.evaluate(x, p + h * e) - law.evaluate(x, p - h * e)) / (2 * h)
                           for e in np.eye(4)])
    np.testing.assert_allclose(J, num, rtol=1e-5, atol=1e-9)
    with pytest.raises(ScalelawError, match="both ends"):
        SigmoidLoss(0.25)


def test_logit_link_recovers_a_chinchilla_of_the_odds():
    """odds = (1 − acc)/(acc − 0.25) = E + A/N^α + B/D^β, 1% noise on the odds: the fit of
    the logit recovers the law, and the metric band at a 10x larger model stays in range and
    covers the truth."""
    truth = dict(E=0.2, A=60.0, B=300.0, alpha=0.3, beta=0.3)
    N = np.repeat(np.geomspace(5e7, 5e9, 8), 5)
    D = N * np.tile(np.geomspace(5, 120, 5), 8)
    link = LogitLink("chinchilla", 0.25, 1.0)
    rng = np.random.default_rng(3)
    odds = sl.get_law("chinchilla")(N=N, D=D, **truth) * np.exp(0.01 * rng.standard_normal(N.size))
    acc = link.to_metric(odds)
    res = fit_metric({"N": N, "D": D, "acc": acc}, metric="acc", metric_range=(0.25, 1), bootstrap=100)
    p = res.params
    assert p["E"] == pytest.approx(truth["E"], rel=0.1)
    assert p["alpha"] == pytest.approx(truth["alpha"], rel=0.1)
    assert p["beta"] == pytest.approx(truth["beta"], rel=0.1)
    assert any("logit link" in n for n in res.notes)
    pred = predict_metric(res, N=[5e10], D=[1e12])
    want = link.to_metric(sl.get_law("chinchilla")(N=5e10, D=1e12, **truth))[0]
    row = pred.iloc[0]
    assert row["metric_lower"] <= want <= row["metric_upper"]
    assert row["metric_mean"] == pytest.approx(want, abs=0.01)
    assert 0.25 < row["metric_lower"] < row["metric_mean"] < row["metric_upper"] < 1.0
    odds_pred = res.predict(N=[5e10], D=[1e12])   # the law's own values are odds
    assert link.to_metric(odds_pred["mean"])[0] == pytest.approx(row["metric_mean"])
    # the JSON rebuilds the link with its range and base law
    back = sl.FitResult.from_json(res.to_json())
    assert isinstance(back.law, LogitLink) and (back.law.lo, back.law.hi) == (0.25, 1.0)
    np.testing.assert_allclose(predict_metric(back, N=[5e10], D=[1e12])["metric_mean"], pred["metric_mean"])


def test_logit_link_bands_stay_inside_the_range_near_its_ends():
    """A metric close to its ceiling: the band of a far extrapolation would pass 1 on the
    metric's own scale; through the link it stays below."""
    N = np.repeat(np.geomspace(1e7, 1e9, 5), 4)
    D = N * np.tile([5.0, 10, 20, 40], 5)
    rng = np.random.default_rng(0)
    odds = (0.01 + 30.0 / N ** 0.3 + 80.0 / D ** 0.3) * np.exp(0.05 * rng.standard_normal(N.size))
    res = fit_metric({"N": N, "D": D, "acc": 1 / (1 + odds)}, metric="acc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)   # far outside the fitted range: said, and expected
        pred = predict_metric(res, N=[1e13], D=[1e15])
    assert (pred[["metric_lower", "metric_upper", "metric_obs_lower", "metric_obs_upper"]] < 1).all(axis=None)
    assert (pred[["metric_lower", "metric_obs_lower"]] > 0).all(axis=None)


# -- the chain -----------------------------------------------------------------------------
def test_chain_recovers_both_stages_and_covers_a_held_out_larger_model():
    df = ladder(seed=1)
    chain = fit_chain(df, metric="acc", bootstrap=200, seed=0)
    p = chain.params
    assert p["loss.E"] == pytest.approx(CHIN["E"], rel=0.05)
    assert p["loss.alpha"] == pytest.approx(CHIN["alpha"], rel=0.15)
    assert p["loss.beta"] == pytest.approx(CHIN["beta"], rel=0.15)
    assert p["metric.c"] == pytest.approx(SIG["c"], abs=0.03)
    assert p["metric.b"] == pytest.approx(SIG["b"], abs=0.01)
    assert p["metric.k"] == pytest.approx(SIG["k"], rel=0.1)
    assert p["metric.L0"] == pytest.approx(SIG["L0"], abs=0.05)
    pred = chain.predict(**HELD_OUT).iloc[0]
    want = true_metric(7e9, 1.4e11)[0]
    assert pred["metric_lower"] <= want <= pred["metric_upper"]
    assert pred["metric_obs_lower"] <= pred["metric_lower"] and pred["metric_upper"] <= pred["metric_obs_upper"]
    assert abs(pred["metric_mean"] - want) < 0.02
    assert pred["loss_lower"] <= pred["loss_mean"] <= pred["loss_upper"]
    assert "below the fitted" in pred["interval"]    # the predicted loss is below every fitted one
    ci = chain.conf_int()
    assert list(ci.index) == list(p.index)
    assert "scalelaw chain: chinchilla -> sigmoid_loss" in chain.summary()


def test_chain_draws_are_paired_refits_of_one_resample():
    """Draw b of both stages comes from the same resample: resample 0's counts (the same
    units and seed), fitted from scratch stage by stage, give draw 0's predictions."""
    df = ladder(seed=2)
    chain = fit_chain(df, metric="acc", bootstrap=20, seed=5)
    counts = resample_weights(20, len(df), np.arange(len(df)), seed=5)[0].astype(int)
    rep = df.loc[np.repeat(np.arange(len(df)), counts)].reset_index(drop=True)
    s1 = sl.fit(rep[["N", "D", "loss"]], "chinchilla")
    s2 = sl.fit(rep[["loss", "acc"]], SigmoidLoss(0.0, 1.0), columns={"metric": "acc"},
                space="linear", objective="l2")
    draws = chain.draws
    assert len(draws) == 20
    x = {"N": np.array([7e9]), "D": np.array([1.4e11])}
    d1 = draws[[f"loss.{k}" for k in s1.params.index]].to_numpy()[0]
    d2 = draws[[f"metric.{k}" for k in s2.params.index]].to_numpy()[0]
    L_draw = s1.law.evaluate(x, d1)[0]
    assert L_draw == pytest.approx(s1.law.evaluate(x, s1.params.to_numpy())[0], rel=2e-3)
    m_draw = s2.law.evaluate({"loss": np.array([L_draw])}, d2)[0]
    assert m_draw == pytest.approx(s2.law.evaluate({"loss": np.array([L_draw])}, s2.params.to_numpy())[0],
                                   abs=2e-3)


def test_chain_resamples_whole_runs_when_runs_repeat():
    df = simulate_runs("chinchilla", CHIN, pd.DataFrame({"N": np.repeat(np.geomspace(2e7, 1e9, 5), 3),
                                                         "D": np.repeat(np.geomspace(2e7, 1e9, 5), 3)
                                                         * np.tile([5.0, 20, 40], 5)}),
                       eval_sd=0.004, n_eval=2, seed=4)
    df["acc"] = sigmoid_metric(df["loss_true"]) + np.random.default_rng(0).normal(0, 0.01, len(df))
    chain = fit_chain(df, metric="acc", bootstrap=10)
    assert chain.unit == "whole runs" and chain.n_units == df["run"].nunique()


@pytest.mark.slow
def test_chain_band_coverage_near_nominal():
    """Over 24 simulated ladders the 90% band of the metric at the held-out larger model
    covers the true metric at about the nominal rate (measured 0.880 and 0.885 over 200
    ladders, bench/bench_downstream.py, docs/downstream.md), and is not so wide that
    covering is trivial."""
    hits, widths = [], []
    for s in range(24):
        chain = fit_chain(ladder(seed=100 + s), metric="acc", bootstrap=100, seed=s)
        pred = chain.predict(**HELD_OUT, alpha=0.1).iloc[0]
        want = true_metric(7e9, 1.4e11)[0]
        hits.append(pred["metric_lower"] <= want <= pred["metric_upper"])
        widths.append(pred["metric_upper"] - pred["metric_lower"])
    assert 0.7 <= np.mean(hits) <= 1.0
    assert np.mean(widths) < 0.15


@pytest.mark.slow
def test_chain_bootstrap_in_processes_equals_serial():
    df = ladder(seed=6)
    serial = fit_chain(df, metric="acc", bootstrap=16, seed=2)
    parallel = fit_chain(df, metric="acc", bootstrap=16, seed=2, n_jobs=2)
    np.testing.assert_allclose(parallel.draws.to_numpy(), serial.draws.to_numpy(), rtol=1e-6)


def test_chain_json_round_trip(tmp_path):
    chain = fit_chain(ladder(seed=3), metric="acc", bootstrap=30)
    path = tmp_path / "chain.json"
    chain.to_json(path)
    back = ChainResult.from_json(path)
    pd.testing.assert_series_equal(back.params, chain.params)
    pd.testing.assert_frame_equal(back.draws, chain.draws)
    pd.testing.assert_frame_equal(back.predict(**HELD_OUT), chain.predict(**HELD_OUT))
    assert back.metric == "acc" and back.metric_range == (0.0, 1.0) and back.n_resamples == 30
    with pytest.raises(ScalelawError, match="not a chain JSON"):
        ChainResult.from_json(chain.stage1.to_json())
    with pytest.raises(ScalelawError, match="no data"):
        back.bootstrap(10)


def test_chain_bad_metric_values():
    df = ladder(seed=4)
    bad = df.assign(acc=df["acc"].where(df.index != 3, 1.3))
    with pytest.raises(ScalelawError) as e:
        fit_chain(bad, metric="acc", bootstrap=0)
    msg = str(e.value)
    assert "'acc'" in msg and "[0, 1]" in msg and "1.3" in msg and "\n" not in msg
    neg = df.assign(acc=df["acc"].where(df.index != 0, -0.1))
    with pytest.raises(ScalelawError, match=r"outside the declared range \[0, 1\]"):
        fit_chain(neg, metric="acc", bootstrap=0)
    text = df.assign(acc=df["acc"].astype(object).where(df.index != 2, "n/a"))
    with pytest.raises(ScalelawError, match="'acc' is not numeric"):
        fit_chain(text, metric="acc", bootstrap=0)
    with pytest.raises(ScalelawError, match="loss column 'loss' is not numeric"):
        fit_chain(df.assign(loss=df["loss"].astype(object).where(df.index != 1, "nan?")), metric="acc",
                  bootstrap=0)
    with pytest.raises(ScalelawError, match="no metric column"):
        fit_chain(df, metric="mmlu", bootstrap=0)
    with pytest.raises(ScalelawError, match="LO < HI"):
        fit_chain(df, metric="acc", metric_range=(1, 0.25))
    with pytest.raises(ScalelawError, match=r"at or outside the declared range \(0.25, 1\)"):
        fit_metric(df, metric="acc", metric_range=(0.25, 1))   # noisy scores below chance
    chain = fit_chain(df, metric="acc", bootstrap=0)
    assert any("no bootstrap" in n for n in chain.notes)
    assert chain.predict(**HELD_OUT)["metric_lower"].isna().all()


# -- the command line ------------------------------------------------------------------------
@pytest.fixture
def ladder_csv(tmp_path):
    path = tmp_path / "runs.csv"
    ladder(seed=1)[["N", "D", "loss", "acc"]].to_csv(path, index=False)
    return path


def test_cli_fit_chain_and_predict(ladder_csv, tmp_path, capsys):
    out_json = tmp_path / "chain.json"
    code, out, err = run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc",
                         "--bootstrap", "60", "--json", out_json)
    assert code == 0, err
    assert "scalelaw chain: chinchilla -> sigmoid_loss" in out and "60 resamples" in out
    d = json.loads(out_json.read_text())
    assert d["chain"]["metric"] == "acc" and len(d["stage2"]["bootstrap"]["k"]) == 60
    code, out, err = run(capsys, "predict", out_json, "N=7e9", "D=1.4e11")
    assert code == 0, err
    assert "metric_lower" in out and "metric_obs_upper" in out
    pred_csv = tmp_path / "pred.csv"
    code, out, err = run(capsys, "predict", out_json, "--at", "N=7e9", "D=1.4e11", "--out", pred_csv)
    assert code == 0, err
    pred = pd.read_csv(pred_csv).iloc[0]
    want = true_metric(7e9, 1.4e11)[0]
    assert pred["metric_lower"] <= want <= pred["metric_upper"]
    # the logit link through the CLI: the prediction is a metric, not odds
    link_json = tmp_path / "link.json"
    code, out, err = run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc", "--link",
                         "logit", "--json", link_json)
    assert code == 0, err
    code, out, err = run(capsys, "predict", link_json, "--at", "N=2e9", "D=4e10", "--out", pred_csv)
    assert code == 0, err
    row = pd.read_csv(pred_csv).iloc[0]
    assert 0 < row["metric_lower"] <= row["metric_mean"] <= row["metric_upper"] < 1


def test_cli_fit_chain_fix_by_stage(ladder_csv, capsys):
    code, out, err = run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc",
                         "--bootstrap", "10", "--fix", "metric.b=0.25", "beta=0.28")
    assert code == 0, err
    assert out.count("(fixed)") == 2


@pytest.mark.parametrize("edit, args, expect", [
    (lambda d: d.assign(acc=d["acc"].where(d.index != 3, 1.3)), [], "outside the declared range [0, 1]"),
    (lambda d: d.assign(acc=d["acc"].where(d.index != 0, -0.2)), [], "outside the declared range [0, 1]"),
    (lambda d: d.assign(acc=d["acc"].astype(object).where(d.index != 2, "x")), [], "is not numeric"),
    (None, ["--metric-range", "1,0"], "LO < HI"),
    (None, ["--metric-range", "zero,1"], "give two numbers"),
    (None, ["--link", "logit", "--metric-range", "0.25,1"], "at or outside the declared range (0.25, 1)"),
    (None, ["--where", "N > 1e8"], "--where not available with --metric"),
    (None, ["--fix", "gamma=1"], "not a parameter of chinchilla"),
])
def test_cli_fit_chain_bad_input_exits_2(tmp_path, capsys, edit, args, expect):
    df = ladder(seed=1)[["N", "D", "loss", "acc"]]
    path = tmp_path / "runs.csv"
    (edit(df) if edit else df).to_csv(path, index=False)
    code, out, err = run(capsys, "fit", path, "--law", "chinchilla", "--metric", "acc", "--bootstrap", "5", *args)
    assert code == 2
    assert expect in one_line(err)


def test_cli_predict_chain_bad_input(ladder_csv, tmp_path, capsys):
    out_json = tmp_path / "chain.json"
    assert run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc", "--bootstrap", "5",
               "--json", out_json)[0] == 0
    code, _, err = run(capsys, "predict", out_json, "--schedule", "cosine:peak=1e-3,steps=100")
    assert code == 2 and "LR-schedule" in one_line(err)
    code, _, err = run(capsys, "predict", out_json, "lr=3")
    assert code == 2 and "not a variable" in one_line(err)
    code, _, err = run(capsys, "predict", out_json)
    assert code == 2 and "--at" in one_line(err)


def test_docs_downstream_examples_run(capsys):
    """docs/downstream.md's Python blocks, in order in one namespace (they assert their results)."""
    import re
    from pathlib import Path
    page = Path(__file__).resolve().parents[1] / "docs" / "downstream.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 2
    env = {"__name__": "docs_example"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/downstream.md[{i}]", "exec"), env)
    assert "scalelaw chain" in capsys.readouterr().out


# -- issue 12 item 2: review fixes -------------------------------------------------------------
def saturating_ladder(seed=1):
    """A ladder whose accuracy rises from 0.2 to a ceiling of exactly 1 (the range's top):
    the largest runs score about 0.91, and a model 70x larger is predicted near 1."""
    df = ladder(seed=seed, metric_sd=0.0)
    rng = np.random.default_rng(seed)
    acc = sigmoid_metric(df["loss_true"], b=0.2, c=1.0, k=4.0) + rng.normal(0, 0.01, len(df))
    return df.assign(acc=np.clip(acc, 0.0, 1.0))


FAR = dict(N=[7e10], D=[1.4e12])


def test_chain_bands_stay_inside_the_range_when_the_metric_saturates():
    """The ceiling c is a parameter bounded to the declared range, so no draw's curve passes
    1 (before: a rise a in [0, 1] and a floor b in [0, 1] let a + b reach 1.006 and the band
    1.024); a new run's score is held to the range too."""
    chain = fit_chain(saturating_ladder(), metric="acc", bootstrap=40, seed=0)
    assert (chain.draws["metric.c"] <= 1.0).all() and (chain.draws["metric.b"] >= 0.0).all()
    assert any("ceiling c is at the declared range's top 1" in n for n in chain.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)   # far outside the fitted range: said, and expected
        pred = chain.predict(**FAR).iloc[0]
    bands = pred[["metric_mean", "metric_lower", "metric_upper", "metric_obs_lower", "metric_obs_upper"]]
    assert ((bands >= 0.0) & (bands <= 1.0)).all()
    assert pred["metric_lower"] <= pred["metric_mean"] <= pred["metric_upper"]
    assert pred["metric_mean"] > 0.97   # the truth there is 0.998: near the top, inside it


def test_chain_flags_a_stage2_law_that_leaves_the_range():
    """A stage-2 law without the range's bounds (SigmoidLoss() unbounded) may pass 1 on the
    same data: the chain says so in its notes and warns when draws leave the range."""
    chain = fit_chain(saturating_ladder(), metric="acc", stage2=SigmoidLoss(), bootstrap=20, seed=0)
    assert chain.params["metric.c"] > 1.0   # what the bounded law prevents
    assert any("leaves the declared range [0, 1]" in n for n in chain.notes)
    with warnings.catch_warnings(), pytest.warns(ScalelawWarning, match=r"draws of acc lie outside the declared"):
        warnings.filterwarnings("ignore", "1 prediction", ScalelawWarning)   # far outside the fitted range
        chain.predict(**FAR)


def test_logit_link_keeps_its_base_laws_constant_variables():
    """data_constrained lets U hold one value (one pool of unique tokens for every run);
    through the logit link it still may (before: 'U has a single distinct value')."""
    link = LogitLink("data_constrained", 0.0, 1.0)
    assert link.may_be_constant == ("U",) == sl.get_law("data_constrained").may_be_constant
    N = np.repeat(np.geomspace(5e7, 2e9, 5), 4)
    D = N * np.tile([5.0, 10, 20, 40], 5)
    U = np.full(N.size, 2e10)   # the largest runs repeat the pool up to 4 times
    truth = dict(E=0.2, A=60.0, B=300.0, alpha=0.3, beta=0.3, R_D_star=15.0, R_N_star=5.0)
    odds = sl.get_law("data_constrained")(N=N, D=D, U=U, **truth)
    acc = link.to_metric(odds * np.exp(0.002 * np.random.default_rng(0).standard_normal(N.size)))
    res = fit_metric({"N": N, "D": D, "U": U, "acc": acc}, link, metric="acc",
                     fix={"R_D_star": 15.0, "R_N_star": 5.0})
    assert res.params["alpha"] == pytest.approx(0.3, rel=0.1)
    want = link.to_metric(sl.get_law("data_constrained")(N=5e9, D=1e11, U=2e10, **truth))[0]
    assert predict_metric(res, N=[5e9], D=[1e11], U=[2e10])["metric_mean"][0] == pytest.approx(want, abs=0.005)


def test_sigmoid_is_one_helper_without_overflow():
    from scalelaw.laws import _math, downstream, m4
    z = np.array([-1e4, -30.0, 0.0, 30.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no overflow warning at any z
        s = _math.sigmoid(z)
    np.testing.assert_allclose(s, [0.0, 1 / (1 + np.exp(30.0)), 0.5, 1 / (1 + np.exp(-30.0)), 1.0],
                               rtol=1e-12, atol=1e-16)
    assert downstream.sigmoid is _math.sigmoid and m4.sigmoid is _math.sigmoid


def test_chain_metric_column_reads_like_every_fitted_column():
    """The metric column is read by the fit's one rule (fitting.data.numeric_column): a
    'nan' text cell is an empty cell (dropped, said), other text is refused naming the cell."""
    df = ladder(seed=4)
    text_nan = df.assign(acc=df["acc"].astype(object).where(df.index != 2, "nan"))
    chain = fit_chain(text_nan, metric="acc", bootstrap=0)
    assert chain.stage2.n == len(df) - 1 and any("dropped 1 row(s) without a value of acc" in n for n in chain.notes)
    with pytest.raises(ScalelawError, match=r"metric column 'acc' is not numeric \(1 value\(s\) such as 'n/a' in row 2\)"):
        fit_chain(df.assign(acc=df["acc"].astype(object).where(df.index != 2, "n/a")), metric="acc", bootstrap=0)


def test_cli_link_logit_with_groups(ladder_csv, capsys):
    code, out, err = run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc", "--link", "logit",
                         "--groups", "N", "--bootstrap", "20")
    assert code == 0, err
    assert "20 resamples of groups" in out


def test_cli_metric_bootstrap_zero_and_options_without_metric(ladder_csv, tmp_path, capsys):
    out_json = tmp_path / "chain.json"
    code, out, err = run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc", "--bootstrap", "0",
                         "--json", out_json)
    assert code == 0, err
    assert "bootstrap:  none (no bands)" in out
    assert json.loads(out_json.read_text())["chain"]["n_resamples"] == 0
    code, out, err = run(capsys, "predict", out_json, "N=7e9", "D=1.4e11")
    assert code == 0 and "no covariance and no bootstrap draws" in out
    code, out, err = run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc")
    assert code == 0 and "200 resamples" in out   # the chain's default when --bootstrap is not given
    for extra in (["--metric-range", "0.25,1"], ["--link", "logit"]):
        code, _, err = run(capsys, "fit", ladder_csv, "--law", "chinchilla", *extra)
        assert code == 2 and f"{extra[0]} applies to a downstream metric" in one_line(err)


@pytest.mark.parametrize("command", [["allocate", "{f}", "--compute", "1e22"], ["report", "{f}", "--out", "{d}"],
                                     ["compare", "{f}", "{f}", "--at", "C=1e22"],
                                     ["suggest", "{f}", "--target", "C=1e22", "--budget", "1e20"]])
def test_cli_loss_commands_refuse_chains_and_metric_fits(ladder_csv, tmp_path, capsys, command):
    chain_json, link_json = tmp_path / "chain.json", tmp_path / "link.json"
    assert run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc", "--bootstrap", "4",
               "--json", chain_json)[0] == 0
    assert run(capsys, "fit", ladder_csv, "--law", "chinchilla", "--metric", "acc", "--link", "logit",
               "--json", link_json)[0] == 0
    for path, expect in ((chain_json, "is a two-stage chain (loss by chinchilla, then acc from the loss)"),
                         (link_json, "is a fit of the metric acc (law logit")):
        args = [a.format(f=path, d=tmp_path / "report") for a in command]
        code, out, err = run(capsys, *args)
        msg = one_line(err)
        assert code == 2, out
        if command[0] == "compare" and path == link_json:   # compare's own check names the target
            assert "whose target is a metric" in msg
        else:
            assert expect in msg and ("scalelaw predict" in msg)
