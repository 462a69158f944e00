"""Compute-optimal allocation: closed form vs brute force, intervals, IsoFLOP, envelope, CLI."""
from __future__ import annotations

import json
import math
import re
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from scalelaw.allocate import (PARAM_NAMES, chinchilla_loss, compute_optimal, exponents,
                               group_budgets, isoflop, lower_envelope, params_from_fit)
from scalelaw.cli import main
from scalelaw.errors import ScalelawError, ScalelawWarning

HOFFMANN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
BESIROGLU = dict(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
SE_BESIROGLU = dict(E=0.026, A=124.5, B=1293.3, alpha=0.015, beta=0.021)


def loss(p, N, D):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def brute_force(p, C, k=6.0):
    """argmin over N of L(N, C/(kN)) by 1-D bounded search in ln N."""
    f = lambda x: loss(p, math.exp(x), C / (k * math.exp(x)))  # noqa: E731
    r = minimize_scalar(f, bounds=(math.log(1e2), math.log(C / k) - math.log(1e2)),
                        method="bounded", options={"xatol": 1e-10})
    return math.exp(r.x), r.fun


# --------------------------------------------------------------------------- closed form
@pytest.mark.parametrize("p", [HOFFMANN, BESIROGLU, dict(E=0.5, A=50.0, B=3000.0, alpha=0.6, beta=0.2)])
@pytest.mark.parametrize("k", [6.0, 8.0])
def test_closed_form_matches_brute_force(p, k):
    C = np.array([1e18, 1e21, 1e24])
    t = compute_optimal(p, C, flops_per_token=k)
    for i, c in enumerate(C):
        n_bf, l_bf = brute_force(p, c, k)
        assert t.N_opt[i] == pytest.approx(n_bf, rel=1e-5)
        assert t.D_opt[i] == pytest.approx(c / (k * n_bf), rel=1e-5)
        assert t.loss_opt[i] == pytest.approx(l_bf, rel=1e-10, abs=1e-10)
        # the budget is spent exactly and nearby allocations are worse
        assert k * t.N_opt[i] * t.D_opt[i] == pytest.approx(c, rel=1e-12)
        for f in (0.9, 1.1):
            n = t.N_opt[i] * f
            assert loss(p, n, c / (k * n)) > t.loss_opt[i]
    assert np.allclose(t.tokens_per_param, t.D_opt / t.N_opt)


def test_exponent_formulas_and_scaling():
    p = HOFFMANN
    ex = exponents(p)
    s = p["alpha"] + p["beta"]
    assert ex["a"] == pytest.approx(p["beta"] / s)
    assert ex["b"] == pytest.approx(p["alpha"] / s)
    assert ex["a"] + ex["b"] == pytest.approx(1.0)
    assert ex["G"] == pytest.approx((p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / s))
    t = compute_optimal(p, [1e20, 1e22])
    assert t.N_opt[1] / t.N_opt[0] == pytest.approx(100 ** ex["a"], rel=1e-10)
    assert t.D_opt[1] / t.D_opt[0] == pytest.approx(100 ** ex["b"], rel=1e-10)
    assert t.N_opt[0] == pytest.approx(ex["G"] * (1e20 / 6) ** ex["a"], rel=1e-12)
    # alpha > beta: more tokens per parameter as compute grows; alpha == beta: constant
    assert t.tokens_per_param[1] > 1.5 * t.tokens_per_param[0]
    eq = compute_optimal(dict(p, beta=p["alpha"]), [1e18, 1e24])
    assert eq.tokens_per_param[0] == pytest.approx(eq.tokens_per_param[1], rel=1e-12)
    assert t.attrs["a"] == ex["a"] and t.attrs["flops_per_token"] == 6.0


def _draws(p, n=400, seed=0, scale=0.05):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 5)) * scale
    return pd.DataFrame({k: p[k] * np.exp(z[:, i]) for i, k in enumerate(PARAM_NAMES)})


def test_bootstrap_intervals_contain_point_and_match_percentiles():
    p = BESIROGLU
    d = _draws(p)
    t = compute_optimal(p, [1e21, 1e24], draws=d, alpha=0.1)
    for col in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
        assert (t[f"{col}_lower"] < t[col]).all() and (t[col] < t[f"{col}_upper"]).all(), col
    # the interval is the percentile of the per-draw optimum (checked draw by draw)
    n_each = [compute_optimal(dict(r), 1e24).N_opt[0] for r in d.to_dict(orient="records")]
    assert t.N_opt_lower[1] == pytest.approx(np.percentile(n_each, 5), rel=1e-10)
    assert t.N_opt_upper[1] == pytest.approx(np.percentile(n_each, 95), rel=1e-10)
    assert t.attrs["n_draws"] == 400
    ex = exponents(p, draws=d)
    assert ex["a_lower"] < ex["a"] < ex["a_upper"] and ex["b_lower"] < ex["b"] < ex["b_upper"]
    assert ex["a_lower"] == pytest.approx(1 - ex["b_upper"]) and ex["n_draws"] == 400
    # a narrower spread of draws gives a narrower interval
    t2 = compute_optimal(p, 1e24, draws=_draws(p, scale=0.01))
    assert t2.N_opt_upper[0] - t2.N_opt_lower[0] < 0.5 * (t.N_opt_upper[1] - t.N_opt_lower[1])


def test_invalid_draws_are_dropped_with_warning():
    d = _draws(HOFFMANN, n=50)
    d.loc[0, "alpha"] = -0.1
    d.loc[1, "B"] = np.nan
    with pytest.warns(ScalelawWarning, match="2 of 50 bootstrap draws"):
        t = compute_optimal(HOFFMANN, 1e22, draws=d)
    assert t.attrs["n_draws"] == 48 and np.isfinite(t.N_opt_lower[0])


def test_accepts_fitresult_like_json_dict_and_array_draws():
    d = _draws(HOFFMANN, n=100)
    ref = compute_optimal(HOFFMANN, 1e23, draws=d)
    fr = SimpleNamespace(law=SimpleNamespace(name="chinchilla", param_names=PARAM_NAMES),
                         params=pd.Series(HOFFMANN), boot=d)
    pd.testing.assert_frame_equal(compute_optimal(fr, 1e23), ref)
    doc = {"law": "chinchilla", "params": HOFFMANN, "bootstrap": {k: list(d[k]) for k in d}}
    pd.testing.assert_frame_equal(compute_optimal(doc, 1e23), ref)
    pd.testing.assert_frame_equal(compute_optimal(HOFFMANN, 1e23, draws=d.to_numpy()), ref)
    # FitResult without bootstrap: point values only
    no_boot = SimpleNamespace(law=fr.law, params=fr.params, boot=None)
    assert "N_opt_lower" not in compute_optimal(no_boot, 1e23)


@pytest.mark.parametrize("bad, match", [
    ({"law": "kaplan", "params": {"N_c": 8.8e13, "alpha_N": 0.076}}, "kaplan"),
    (dict(HOFFMANN, alpha=-0.3), "alpha"),
    ({k: v for k, v in HOFFMANN.items() if k != "B"}, "lack B"),
    (dict(HOFFMANN, A="x"), "not a number"),
])
def test_bad_params_are_refused(bad, match):
    with pytest.raises(ScalelawError, match=match):
        compute_optimal(bad, 1e22)


def test_bad_compute_is_refused():
    for c in (0, -1e20, float("nan"), []):
        with pytest.raises(ScalelawError, match="compute"):
            compute_optimal(HOFFMANN, c)
    with pytest.raises(ScalelawError, match="FLOPs per token"):
        compute_optimal(HOFFMANN, 1e20, flops_per_token=0)


def test_chinchilla_loss_is_the_law_object():
    from scalelaw.laws.scaling import Chinchilla
    N = np.array([[1e8], [1e10]])
    D = np.array([2e9, 3e11, 1e13])
    got = chinchilla_loss({"e": 1.69, "a": 406.4, "b": 410.7, "α": 0.34, "β": 0.28}, N, D)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, loss(HOFFMANN, N, D), rtol=1e-13)
    law = Chinchilla()
    np.testing.assert_allclose(got, law(N=np.broadcast_to(N, (2, 3)).ravel(),
                                        D=np.broadcast_to(D, (2, 3)).ravel(), **HOFFMANN).reshape(2, 3),
                               rtol=1e-15)
    assert np.shape(chinchilla_loss(HOFFMANN, 1e9, 2e10)) == ()
    # the optimum's loss and its per-draw interval are the law's loss at the allocation
    d = _draws(HOFFMANN, n=60)
    t = compute_optimal(HOFFMANN, [1e21, 1e23], draws=d, alpha=0.2)
    np.testing.assert_allclose(t.loss_opt, law(N=t.N_opt, D=t.D_opt, **HOFFMANN), rtol=1e-14)
    per_draw = [compute_optimal(dict(r), 1e23) for r in d.to_dict(orient="records")]
    l_each = [law(N=r.N_opt, D=r.D_opt, **dict(q))[0]
              for r, q in zip(per_draw, d.to_dict(orient="records"))]
    assert t.loss_opt_lower[1] == pytest.approx(np.percentile(l_each, 10), rel=1e-12)
    assert t.loss_opt_upper[1] == pytest.approx(np.percentile(l_each, 90), rel=1e-12)


def _deprecations(rec):
    return [w for w in rec if issubclass(w.category, DeprecationWarning)]


def test_old_names_still_work_and_warn_once_each():
    C = [1e20, 1e22]
    new = compute_optimal(HOFFMANN, C, flops_per_token=8)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        old = compute_optimal(HOFFMANN, C, flops_per_token_param=8)
    dep = _deprecations(rec)
    assert len(dep) == 1 and "flops_per_token_param" in str(dep[0].message)
    assert "flops_per_token=" in str(dep[0].message) and dep[0].filename == __file__
    pd.testing.assert_frame_equal(old, new)
    assert old.attrs["flops_per_token"] == 8.0 and old.N_opt[0] != compute_optimal(HOFFMANN, C).N_opt[0]
    with pytest.raises(ScalelawError, match="give it once"), pytest.warns(DeprecationWarning):
        compute_optimal(HOFFMANN, C, flops_per_token=8, flops_per_token_param=7)

    runs = isoflop_runs(HOFFMANN, np.logspace(18, 21, 5), jitter=0.0)[["params", "tokens", "loss"]]
    res = isoflop(runs, flops_per_token=8)
    for func, frame in ((isoflop, runs),
                        (lower_envelope, training_curves(HOFFMANN, np.logspace(7, 10, 12)))):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            r_old = func(frame, flops_per_token_param=8)
        dep = _deprecations(rec)
        assert len(dep) == 1 and func.__name__ in str(dep[0].message), func
        assert r_old.flops_per_token == 8.0
    b = r_old.budgets      # the envelope's D* = C/(k·N*) with the k given under the old name
    np.testing.assert_allclose(b.D_star, b.C / (8 * b.N_star), rtol=1e-12)
    with pytest.warns(DeprecationWarning):
        assert isoflop(runs, flops_per_token_param=8).a == res.a

    for attr, want in (("a_ci", (res.a_lower, res.a_upper)), ("b_ci", (res.b_lower, res.b_upper)),
                       ("flops_per_token_param", 8.0)):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            got = getattr(res, attr)
        dep = _deprecations(rec)
        assert len(dep) == 1 and attr in str(dep[0].message) and dep[0].filename == __file__
        assert got == want
    assert res.a_lower < res.a < res.a_upper and res.b_lower < res.b < res.b_upper
    doc = res.to_dict()
    assert doc["a_lower"] == res.a_lower and doc["b_upper"] == res.b_upper
    assert doc["flops_per_token"] == 8.0
    assert not {"a_ci", "b_ci", "flops_per_token_param"} & set(doc)


def test_library_messages_are_neutral_and_the_cli_names_flags(tmp_path, capsys):
    """allocate's messages name no flag or Python keyword; the CLI says --keep-outside."""
    p = HOFFMANN
    ex = exponents(p)
    C_bad = 3e21
    n_opt = ex["G"] * (C_bad / 6) ** ex["a"]
    far = pd.DataFrame([{"params": N, "FLOPs": C_bad, "loss": loss(p, N, C_bad / (6 * N))}
                        for N in n_opt * np.logspace(-2.5, -1.5, 6)])
    data = pd.concat([isoflop_runs(p, np.logspace(18, 21, 5), noise=0.0), far], ignore_index=True)
    with pytest.warns(ScalelawWarning) as rec:
        res = isoflop(data)
    texts = [str(w.message) for w in rec] + res.notes
    for err_call in (lambda: compute_optimal(p, 1e22, flops_per_token=-1),
                     lambda: compute_optimal(p, 1e22, alpha=2),
                     lambda: lower_envelope(data, per_decade=0),
                     lambda: isoflop(data, bins=0)):
        with pytest.raises(ScalelawError) as e:
            err_call()
        texts.append(str(e.value))
    assert any("keep outside vertices" in t for t in texts)
    for t in texts:
        assert not re.search(r"--\w|\w=|\b[a-z]+_[a-z_]+\b", t), t   # no flag, no keyword=
    data.to_csv(tmp_path / "runs.csv", index=False)
    assert main(["allocate", "--isoflop", str(tmp_path / "runs.csv")]) == 0
    out = capsys.readouterr().out
    assert "or use --keep-outside)" in out and "keep outside vertices" not in out
    assert main(["allocate", "--isoflop", str(tmp_path / "runs.csv"), "--keep-outside"]) == 0
    assert "outside the sampled N range kept" in capsys.readouterr().out


def test_params_from_fit_other_law_with_same_params_is_accepted():
    p, d = params_from_fit({"law": "myform", "params": HOFFMANN})
    assert p == HOFFMANN and d is None


# --------------------------------------------------------------------------- IsoFLOP
def isoflop_runs(p, budgets, *, per_budget=9, spread=1.0, noise=0.003, seed=0, k=6.0, jitter=0.01):
    """Runs at each budget: N log-spaced over +/-spread decades around an offset guess of N_opt."""
    rng = np.random.default_rng(seed)
    ex = exponents(p)
    rows = []
    for C in budgets:
        guess = ex["G"] * (C / k) ** ex["a"] * math.exp(rng.normal(0, 0.3))
        for N in guess * np.logspace(-spread, spread, per_budget):
            c = C * math.exp(rng.normal(0, jitter))
            D = c / (k * N)
            rows.append({"params": N, "FLOPs": c, "tokens": D,
                         "loss": loss(p, N, D) * math.exp(rng.normal(0, noise))})
    return pd.DataFrame(rows)


def test_isoflop_recovers_exponent():
    p = HOFFMANN
    a_true = exponents(p)["a"]
    budgets = np.logspace(18, 21, 7)
    res = isoflop(isoflop_runs(p, budgets))
    assert res.n_budgets == 7 and res.budgets.used.all()
    assert res.a_lower < a_true < res.a_upper
    assert abs(res.a - a_true) < 0.02
    assert res.a_upper - res.a_lower < 0.1
    assert res.b == pytest.approx(1 - res.a, abs=1e-9)
    # per-budget vertices near the true optimum
    true_n = compute_optimal(p, res.budgets.C).N_opt.to_numpy()
    assert np.all(np.abs(np.log(res.budgets.N_star.to_numpy() / true_n)) < 0.2)
    pred = res.predict(1e22)
    assert pred.N_opt[0] == pytest.approx(compute_optimal(p, 1e22).N_opt[0], rel=0.2)
    assert "a = " in res.summary() and "budgets" in json.dumps(res.to_dict())


def test_isoflop_from_D_column_same_as_C():
    runs = isoflop_runs(HOFFMANN, np.logspace(18, 21, 5), jitter=0.0)
    r_c = isoflop(runs[["params", "FLOPs", "loss"]])
    r_d = isoflop(runs[["params", "tokens", "loss"]])
    assert r_d.a == pytest.approx(r_c.a, rel=1e-9)
    r_k = isoflop(runs[["params", "tokens", "loss"]], flops_per_token=8)
    assert r_k.budgets.C.iloc[0] == pytest.approx(r_c.budgets.C.iloc[0] * 8 / 6)


def test_isoflop_refuses_vertex_outside_range_and_downward_parabola():
    p = HOFFMANN
    runs = isoflop_runs(p, np.logspace(18, 21, 5), noise=0.0)
    ex = exponents(p)
    C_bad = 3e21
    n_opt = ex["G"] * (C_bad / 6) ** ex["a"]
    far = pd.DataFrame([{"params": N, "FLOPs": C_bad, "loss": loss(p, N, C_bad / (6 * N))}
                        for N in n_opt * np.logspace(-2.5, -1.5, 6)])  # all far left of optimum
    C_down = 3e17
    xs = np.linspace(-1, 1, 7)
    down = pd.DataFrame({"params": 1e8 * np.exp(xs), "FLOPs": C_down, "loss": 3.0 - 0.2 * xs ** 2})
    data = pd.concat([runs, far, down], ignore_index=True)
    with pytest.warns(ScalelawWarning) as rec:
        res = isoflop(data)
    msgs = " ".join(str(w.message) for w in rec)
    assert "outside the sampled N range" in msgs and "opens downward" in msgs
    st = dict(zip(res.budgets.C.round(-15), res.budgets.status))
    assert st[round(C_bad, -15)] == "outside" and st[round(C_down, -15)] == "opens downward"
    assert res.n_budgets == 5
    with pytest.warns(ScalelawWarning) as rec:
        kept = isoflop(data, keep_outside=True)
    assert any("outside the sampled N range kept" in str(w.message) for w in rec)
    assert kept.n_budgets == 6


def test_isoflop_too_few_budgets():
    runs = isoflop_runs(HOFFMANN, [1e19, 1e20])
    with pytest.raises(ScalelawError, match="only 2 compute budget"):
        isoflop(runs)
    with pytest.raises(ScalelawError, match="compute column C"):
        isoflop(runs[["params", "loss"]])


def test_group_budgets():
    C = np.array([1e19, 1.02e19, 0.99e19, 1e20, 1e20, 3e20])
    assert list(group_budgets(C, rtol=0.05)) == [0, 0, 0, 1, 1, 2]
    assert list(group_budgets(C, rtol=0)) == [1, 2, 0, 3, 3, 4]
    assert len(set(group_budgets(C, rtol=5))) == 2  # 1e19.. and 1e20..3e20 chain (factor 6 allowed)
    assert list(group_budgets(C, bins=[5e18, 5e19, 5e20])) == [0, 0, 0, 1, 1, 1]


# --------------------------------------------------------------------------- lower envelope
def training_curves(p, sizes, k=6.0):
    rows = []
    for N in sizes:
        for D in np.logspace(8, 12.5, 120):
            rows.append({"N": N, "C": k * N * D, "loss": loss(p, N, D)})
    return pd.DataFrame(rows)


def test_lower_envelope_recovers_exponent():
    p = dict(E=1.8, A=400.0, B=1e4, alpha=0.30, beta=0.40)  # a = 0.571, 15-100 tokens/param
    a_true = exponents(p)["a"]
    with pytest.warns(ScalelawWarning, match="smallest or largest"):
        res = lower_envelope(training_curves(p, np.logspace(7, 10.5, 30)))
    assert res.method == "envelope" and res.n_budgets >= 15
    assert abs(res.a - a_true) < 0.03
    assert res.a_lower < a_true < res.a_upper
    edge = res.budgets[res.budgets.status == "edge size"]
    assert len(edge) >= 1 and not edge.used.any()
    # each bin's winner is the true minimum-loss point among that bin's points
    assert (res.budgets.loss_star.diff().dropna() < 0).all()


def test_lower_envelope_few_sizes_cannot_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ScalelawError, match="compute budget"):
            lower_envelope(training_curves(HOFFMANN, [1e8, 1e9]))


# --------------------------------------------------------------------------- CLI
@pytest.fixture
def fits(tmp_path):
    d = _draws(BESIROGLU, n=300, scale=0.03)
    with_boot = tmp_path / "fit_boot.json"
    with_boot.write_text(json.dumps({"law": "chinchilla", "formula": "E + A/N^alpha + B/D^beta",
                                     "params": BESIROGLU, "stderr": SE_BESIROGLU,
                                     "bootstrap": {k: list(d[k]) for k in d}}))
    plain = tmp_path / "fit.json"
    plain.write_text(json.dumps({"law": "chinchilla", "params": BESIROGLU}))
    return SimpleNamespace(boot=with_boot, plain=plain, draws=d, dir=tmp_path)


def test_cli_allocate_with_bootstrap(fits, capsys):
    out_json = fits.dir / "alloc.json"
    rc = main(["allocate", str(fits.boot), "--compute", "1e24", "5.76e23", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert rc == 0
    t = compute_optimal(BESIROGLU, [1e24, 5.76e23], draws=fits.draws)
    assert f"{t.N_opt[0]:.4g} [{t.N_opt_lower[0]:.3g}, {t.N_opt_upper[0]:.3g}]" in out
    assert f"{t.tokens_per_param[1]:.4g} [" in out
    assert "95% percentile over 300 bootstrap draws" in out and "a = 0.5126" in out
    doc = json.loads(out_json.read_text())
    assert doc["flops_per_token"] == 6.0 and len(doc["rows"]) == 2
    assert doc["rows"][0]["D_opt"] == pytest.approx(t.D_opt[0])


def test_cli_allocate_without_bootstrap_and_k(fits, capsys):
    rc = main(["allocate", str(fits.plain), "--compute", "1e24", "--flops-per-token", "8"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "no bootstrap in FIT.json: rerun fit with --bootstrap N for intervals" in out
    n = compute_optimal(BESIROGLU, 1e24, flops_per_token=8).N_opt[0]
    assert f"N_opt [params]  {n:.4g}\n" in out and "C = 8·N·D" in out


@pytest.mark.parametrize("argv_tail, match", [
    (["missing.json", "--compute", "1e24"], "file not found"),
    (["bad.json", "--compute", "1e24"], "not valid JSON"),
    (["kaplan.json", "--compute", "1e24"], "law 'kaplan' has no compute-optimal"),
    (["noparams.json", "--compute", "1e24"], "no \"params\""),
    (["list.json", "--compute", "1e24"], "is not a JSON object"),
    (["fit.json", "--compute", "0"], "--compute"),
    (["fit.json", "--compute", "1e24", "-5"], "positive"),
    (["fit.json", "--compute", "lots"], "not a number"),
    (["fit.json"], "--compute"),
    (["fit.json", "--compute", "1e24", "--flops-per-token", "0"], "--flops-per-token"),
    ([], "exactly one of"),
    (["--isoflop", "runs2.csv"], "only 2 compute budget"),
])
def test_cli_allocate_bad_input(fits, capsys, monkeypatch, argv_tail, match):
    d = fits.dir
    (d / "bad.json").write_text("{\"law\": \"chinchilla\", \"params\": ")
    (d / "kaplan.json").write_text(json.dumps({"law": "kaplan", "params": {"N_c": 1, "alpha_N": 0.07}}))
    (d / "noparams.json").write_text(json.dumps({"law": "chinchilla"}))
    (d / "list.json").write_text("[1, 2]")
    isoflop_runs(HOFFMANN, [1e19, 1e20]).to_csv(d / "runs2.csv", index=False)
    monkeypatch.chdir(d)
    rc = main(["allocate", *argv_tail])
    err = capsys.readouterr().err
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1].startswith("scalelaw allocate: error:") and match in lines[-1]
    assert "Traceback" not in err


def test_cli_isoflop_and_envelope(tmp_path, capsys):
    runs = isoflop_runs(HOFFMANN, np.logspace(18, 21, 7))
    runs.to_csv(tmp_path / "runs.csv", index=False)
    rc = main(["allocate", "--isoflop", str(tmp_path / "runs.csv"), "--compute", "1e23",
               "--json", str(tmp_path / "iso.json")])
    out = capsys.readouterr().out
    assert rc == 0
    res = isoflop(runs)
    assert f"a = {res.a:.4f}" in out and "IsoFLOP" in out and "C = 1e+23 FLOPs" in out
    doc = json.loads((tmp_path / "iso.json").read_text())
    assert doc["a"] == pytest.approx(res.a) and len(doc["budgets"]) == 7
    curves = training_curves(HOFFMANN, np.logspace(7, 10, 12)).rename(columns={"N": "Model Size"})
    curves.to_csv(tmp_path / "curves.csv", index=False)
    rc = main(["allocate", "--envelope", str(tmp_path / "curves.csv"), "--per-decade", "3"])
    cap = capsys.readouterr()
    assert rc == 0 and "Lower envelope" in cap.out
    # the refusal is said once, as a note of the summary (not repeated as a warning)
    assert "note: " in cap.out and "refused" in cap.out
    assert "refused" not in cap.err


# --------------------------------------------------------------------------- benchmark data
def test_besiroglu_exponents_and_chinchilla_envelope(benchdata):
    ex = exponents(BESIROGLU)
    assert round(ex["a"], 3) == 0.513 and round(ex["b"], 3) == 0.487
    # brute-force slope of ln N_opt in ln C agrees with the closed-form exponent
    n1, _ = brute_force(BESIROGLU, 1e20)
    n2, _ = brute_force(BESIROGLU, 1e24)
    assert math.log(n2 / n1) / math.log(1e4) == pytest.approx(ex["a"], abs=1e-5)
    # Approach 1 on the reconstructed Chinchilla runs is consistent with Approach 3
    data = pd.read_csv(benchdata("chinchilla_epoch.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        res = lower_envelope(data[["Model Size", "Training FLOP", "loss"]])
    assert res.a_lower < ex["a"] < res.a_upper
    assert abs(res.a - 0.5) < 0.06
