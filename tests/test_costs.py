"""Cost models cost(N, D) -> FLOPs and compute-optimal allocation along their equal-cost curves."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from scalelaw.allocate import PARAM_NAMES, compute_optimal
from scalelaw.cli import main
from scalelaw.costs import (AttentionCost, CallableCost, CostLaw, DenseCost, PerExampleCost, as_cost,
                            check_increasing, cost_from_config, fit_cost, parse_cost)
from scalelaw.errors import ScalelawError, ScalelawWarning

HOFFMANN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def loss(p, N, D):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def brute_force(p, C, cost):
    """argmin over ln N of L(N, D(N)) with cost(N, D(N)) = C, by scipy's bounded search."""
    x0 = math.log(compute_optimal(p, C).N_opt[0])
    f = lambda x: loss(p, math.exp(x), float(cost.tokens(math.exp(x), C)))  # noqa: E731
    r = minimize_scalar(f, bounds=(x0 - 6, x0 + 6), method="bounded", options={"xatol": 1e-10})
    return math.exp(r.x), r.fun


def _draws(p, n=300, seed=0, scale=0.03):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 5)) * scale
    return pd.DataFrame({k: p[k] * np.exp(z[:, i]) for i, k in enumerate(PARAM_NAMES)})


# --------------------------------------------------------------------------- the formulas
def test_attention_cost_matches_an_explicit_shape():
    L, d, T = 24, 2048, 4096                        # a 1.2B non-embedding model
    N = 12 * L * d ** 2
    D = np.array([1e9, 3e10])
    kaplan = D * (6 * N + 6 * L * T * d)             # 3 x (2N + 2 n_layer n_ctx d_model)
    nanogpt = D * (6 * N + 12 * L * T * d)           # 6N + 12 L T d (logits and values)
    for cost in (AttentionCost(T, aspect=d / L), AttentionCost(T, n_layer=L), AttentionCost(T, d_model=d),
                 parse_cost(f"attention:n_ctx={T},n_layer={L}")):
        np.testing.assert_allclose(cost(N, D), kaplan, rtol=1e-12)
    np.testing.assert_allclose(AttentionCost(T, n_layer=L, attn=4)(N, D), nanogpt, rtol=1e-12)
    # activation recomputation (k = 8: four passes) scales both terms
    np.testing.assert_allclose(AttentionCost(T, n_layer=L, flops_per_token=8)(N, D), kaplan * 8 / 6,
                               rtol=1e-12)
    # the default aspect ratio is 128: n_layer·d_model = (128 N/12)^(2/3)/128
    c = parse_cost(f"attention:n_ctx={T}")
    assert c.aspect == 128.0
    np.testing.assert_allclose(c.layer_width(N), (128 * N / 12) ** (2 / 3) / 128, rtol=1e-12)


def test_dense_and_per_example_costs():
    N, D = np.array([[1e8], [1e10]]), np.array([1e9, 2e11, 5e12])
    np.testing.assert_allclose(DenseCost()(N, D), 6 * N * D, rtol=1e-15)
    assert parse_cost("dense:8")(2.0, 3.0) == 48.0 and parse_cost("dense:k=8") == DenseCost(8)
    pe = parse_cost("per_example:flops=1e12,n_ctx=1024")
    np.testing.assert_allclose(pe(N, D), 6 * N * D + 1e12 * D / 1024, rtol=1e-15)
    assert pe(N, D).shape == (2, 3)
    assert isinstance(pe, PerExampleCost) and pe.n_ctx == 1024


@pytest.mark.parametrize("spec", ["dense:6", "attention:n_ctx=8192", "attention:n_ctx=4096,d_model=2048,attn=4",
                                  "per_example:flops=3e12", "law:terms=N*D+N^(2/3)*D+D,coef=6/60/1e6",
                                  "law:terms=N*D+N^0.5*D*n_ctx,coef=6/2,at=n_ctx:8192"])
def test_spec_config_json_round_trip_and_tokens(spec):
    c = parse_cost(spec)
    assert parse_cost(c.spec()) == c
    assert cost_from_config(json.loads(json.dumps(c.to_dict()))) == c
    N = np.geomspace(1e7, 1e11, 9)
    C = np.full_like(N, 1e22)
    D = c.tokens(N, C)
    np.testing.assert_allclose(c(N, D), C, rtol=1e-12)
    assert as_cost(spec) == c and as_cost(c) is c


def test_tokens_by_bisection_for_costs_not_linear_in_D():
    law = CostLaw(["N*D", "N*D^1.1"], [6.0, 1e-2])
    f = CallableCost(lambda N, D: 6 * N * D + 1e3 * np.sqrt(N) * D ** 1.05)
    N = np.geomspace(1e7, 1e11, 7)
    for c in (law, f):
        assert c.per_token(N) is None
        D = c.tokens(N, 1e21)
        np.testing.assert_allclose(c(N, D), 1e21, rtol=1e-9)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("spec, match", [
    ("foo:1", "unknown kind 'foo'"),
    ("attention:n_ctx=8192,bogus=1", "not 'bogus'"),
    ("attention:aspect=64", "needs n_ctx"),
    ("attention:n_ctx=8192,aspect=64,n_layer=32", "give one of aspect, n_layer or d_model"),
    ("attention:n_ctx=-5", "n_ctx=-5 is not a positive"),
    ("dense:0", "flops_per_token=0"),
    ("law:terms=N*D,coef=-6", "not increasing in N and D: negative coefficient"),
    ("law:terms=N*D+N^-1*D,coef=6/1", "not increasing in N: term N^-1*D"),
    ("law:terms=D,coef=1", "not increasing in N: no term"),
    ("law:terms=N*D+D,coef=6", "1 coefficient(s) for 2 cost term(s)"),
    ("law:terms=N*D^x,coef=6", "exponent 'x' is not a number"),
])
def test_bad_cost_specs_are_one_line_errors(spec, match):
    with pytest.raises(ScalelawError) as e:
        parse_cost(spec)
    assert match in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith("bad cost spec:")


def test_a_cost_not_increasing_is_refused_by_the_allocation():
    shrinking = lambda N, D: 6 * N * D / (1 + N / 1e9) ** 2   # noqa: E731 - falls with N past 1e9
    with pytest.raises(ScalelawError, match="not increasing in N"):
        compute_optimal(HOFFMANN, 1e22, cost=shrinking)
    with pytest.raises(ScalelawError, match="not increasing in D"):
        check_increasing(lambda N, D: 6e10 * N * (1 + 1e10 / D), np.array([1e9]), np.array([1e10]))
    check_increasing(lambda N, D: 6e10 * N + 0 * D, np.array([1e9]), np.array([1e10]))   # flat: allowed
    with pytest.raises(ScalelawError, match="not even one token"):
        compute_optimal(HOFFMANN, 1e21, cost="per_example:flops=1e30")
    with pytest.raises(ScalelawError, match="positive finite"):
        check_increasing(lambda N, D: -N * D, np.array([1e9]), np.array([1e10]))
    with pytest.raises(ScalelawError, match="must take numpy arrays"):
        compute_optimal(HOFFMANN, 1e22, cost=lambda N, D: math.sqrt(N) * D)
    with pytest.raises(ScalelawError, match="a cost must be"):
        as_cost([1, 2])
    with pytest.raises(ScalelawError, match="give it once"):
        compute_optimal(HOFFMANN, 1e22, cost="dense:8", flops_per_token=7)


# --------------------------------------------------------------------------- allocation
def test_dense_cost_keeps_the_closed_form_exactly():
    C = [1e20, 1e22, 1e24]
    d = _draws(HOFFMANN)
    ref = compute_optimal(HOFFMANN, C, draws=d)
    for cost in (None, "dense:6", DenseCost(6), {"kind": "dense", "flops_per_token": 6}, 6):
        got = compute_optimal(HOFFMANN, C, draws=d, cost=cost)
        pd.testing.assert_frame_equal(got, ref)
        assert got.attrs == ref.attrs
    pd.testing.assert_frame_equal(compute_optimal(HOFFMANN, C, cost="dense:8"),
                                  compute_optimal(HOFFMANN, C, flops_per_token=8))


def test_numeric_search_reproduces_the_closed_form_with_intervals():
    """A cost law C = 6·N·D goes through the numeric search: same optimum, same intervals."""
    C = np.array([1e19, 1e22, 1e25])
    d = _draws(HOFFMANN, n=200)
    ref = compute_optimal(HOFFMANN, C, draws=d)
    got = compute_optimal(HOFFMANN, C, draws=d, cost="law:terms=N*D,coef=6")
    assert got.attrs["method"] == "numeric" and got.attrs["n_draws"] == 200
    for col in ("N_opt", "D_opt", "N_opt_lower", "N_opt_upper", "D_opt_lower", "D_opt_upper"):
        np.testing.assert_allclose(got[col], ref[col], rtol=2e-6, err_msg=col)
    for col in ("loss_opt", "loss_opt_lower", "loss_opt_upper"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-11, err_msg=col)
    np.testing.assert_allclose(got.dense_fraction, 1.0, rtol=1e-12)


@pytest.mark.parametrize("spec, direction", [
    ("attention:n_ctx=131072", "smaller"),             # aspect 128: long context, smaller N
    ("attention:n_ctx=32768,d_model=4096", "smaller"),  # fixed width: attention ∝ N, a larger k
    ("attention:n_ctx=32768,n_layer=48", "larger"),     # fixed depth: attention ∝ √N, an overhead
    ("per_example:flops=1e13,n_ctx=2048", "larger"),    # a cost per token that N does not change
])
def test_cost_optimum_matches_brute_force_and_shifts_as_expected(spec, direction):
    cost = parse_cost(spec)
    C = np.array([1e21, 1e23])
    t = compute_optimal(HOFFMANN, C, cost=cost)
    dense = compute_optimal(HOFFMANN, C)
    for i, c in enumerate(C):
        n_bf, l_bf = brute_force(HOFFMANN, c, cost)
        assert t.N_opt[i] == pytest.approx(n_bf, rel=1e-5)
        assert t.loss_opt[i] == pytest.approx(l_bf, rel=1e-10)
        assert cost(t.N_opt[i], t.D_opt[i]) == pytest.approx(c, rel=1e-12)     # on the budget
        for f in (0.9, 1.1):                                                    # a minimum
            n = t.N_opt[i] * f
            assert loss(HOFFMANN, n, float(cost.tokens(n, c))) > t.loss_opt[i]
    ratio = (t.N_opt / dense.N_opt).to_numpy()
    assert (ratio < 0.97).all() if direction == "smaller" else (ratio > 1.02).all(), ratio
    assert (t.loss_opt > dense.loss_opt).all()          # every extra FLOP costs loss
    assert (t.dense_fraction < 1).all() and (t.dense_fraction > 0).all()


def test_fixed_width_attention_is_a_larger_k_in_closed_form():
    """With d_model fixed, attention FLOPs per token are ∝ N: C = k'·N·D with
    k' = 6 + 3·attn·n_ctx/(12·d_model), so N_opt shrinks by exactly (6/k')^a."""
    cost = parse_cost("attention:n_ctx=32768,d_model=4096")
    k2 = 6 + 3 * 2 * 32768 / (12 * 4096)
    C = [1e20, 1e22, 1e24]
    t = compute_optimal(HOFFMANN, C, cost=cost)
    ref = compute_optimal(HOFFMANN, C, flops_per_token=k2)
    np.testing.assert_allclose(t.N_opt, ref.N_opt, rtol=2e-6)
    a = HOFFMANN["beta"] / (HOFFMANN["alpha"] + HOFFMANN["beta"])
    np.testing.assert_allclose(t.N_opt / compute_optimal(HOFFMANN, C).N_opt, (6 / k2) ** a, rtol=2e-6)
    np.testing.assert_allclose(t.dense_fraction, 6 / k2, rtol=1e-9)


def test_cost_intervals_are_per_draw_percentiles():
    cost = parse_cost("attention:n_ctx=65536")
    d = _draws(HOFFMANN, n=40, seed=3)
    t = compute_optimal(HOFFMANN, [1e22], draws=d, cost=cost, alpha=0.1)
    each = [compute_optimal(dict(r), 1e22, cost=cost).N_opt[0] for r in d.to_dict(orient="records")]
    assert t.N_opt_lower[0] == pytest.approx(np.percentile(each, 5), rel=1e-5)
    assert t.N_opt_upper[0] == pytest.approx(np.percentile(each, 95), rel=1e-5)
    assert t.N_opt_lower[0] < t.N_opt[0] < t.N_opt_upper[0]
    assert t.loss_opt_lower[0] < t.loss_opt[0] < t.loss_opt_upper[0]


# --------------------------------------------------------------------------- fitted cost laws
def _recorded_runs(seed=0, noise=0.0):
    """Runs whose FLOPs are 6·N·D plus the attention term at aspect 128 over 4096 tokens."""
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(5e7, 2e10, 8), 3)
    D = np.tile([2e9, 2e10, 2e11], 8) * rng.uniform(0.8, 1.25, N.size)
    truth = AttentionCost(4096, aspect=128)
    C = truth(N, D) * np.exp(noise * rng.standard_normal(N.size))
    return pd.DataFrame({"params": N, "tokens": D, "FLOPs": C}), truth


def test_fitted_cost_law_recovers_known_coefficients():
    runs, truth = _recorded_runs()
    # the attention coefficient in N^(2/3)·D: 3·attn·n_ctx·(128/12)^(2/3)/128
    c_att = 3 * 2 * 4096 * (128 / 12) ** (2 / 3) / 128
    law = fit_cost(runs, ["N*D", "N^(2/3)*D"])
    np.testing.assert_allclose(law.coef, [6.0, c_att], rtol=1e-9)
    assert law.fit_info["rel_rms"] < 1e-12 and law.fit_info["n_runs"] == 24
    noisy, _ = _recorded_runs(seed=1, noise=0.01)
    law = fit_cost(noisy, "N*D+N^(2/3)*D")
    for c, se, want in zip(law.coef, law.stderr, [6.0, c_att]):
        assert abs(c - want) < 4 * se and abs(c / want - 1) < 0.05, (c, se, want)
    assert 0.005 < law.fit_info["rel_rms"] < 0.02
    # the fitted law prices runs and allocates like the true cost
    t = compute_optimal(HOFFMANN, 1e22, cost=law)
    ref = compute_optimal(HOFFMANN, 1e22, cost=truth)
    assert t.N_opt[0] == pytest.approx(ref.N_opt[0], rel=0.02)


def test_fitted_cost_law_bound_collinear_and_missing_columns():
    runs, _ = _recorded_runs(seed=2, noise=0.002)
    # recorded FLOPs a little below 6·N·D, more so for small models: the N^0.5·D term would
    # need a negative coefficient, so it sits at its bound 0
    runs = runs.assign(FLOPs=6 * runs.params * runs.tokens - 1e3 * np.sqrt(runs.params) * runs.tokens,
                       n_ctx=4096)
    with pytest.warns(ScalelawWarning, match="at its bound 0"):
        law = fit_cost(runs, ["N*D", "N^0.5*D"], columns={"C": "FLOPs"})
    assert law.coef[1] == 0 and law.coef[0] == pytest.approx(6.0, rel=0.02)
    assert law.flops_per_token == law.coef[0] and law.stderr[1] != law.stderr[1]   # NaN at the bound
    with pytest.raises(ScalelawError, match="collinear"):
        fit_cost(runs, ["N*D", "N*D*n_ctx"])
    with pytest.raises(ScalelawError, match="not a column"):
        fit_cost(runs, ["N*D*seq_len"])
    with pytest.raises(ScalelawError, match="FLOPs|C"):
        fit_cost(runs[["params", "tokens"]], ["N*D"])
    with pytest.raises(ScalelawError, match="usable runs"):
        fit_cost(runs.head(2), ["N*D", "N^0.5*D"])
    with pytest.warns(ScalelawWarning, match="misses the recorded FLOPs"):
        fit_cost(runs.assign(FLOPs=runs.FLOPs * np.exp(np.random.default_rng(0).normal(0, 0.3, len(runs)))),
                 ["N*D"])


def test_cost_law_with_another_variable_takes_its_value():
    rng = np.random.default_rng(4)
    n = 40
    runs = pd.DataFrame({"N": np.geomspace(1e8, 1e10, n), "D": rng.uniform(1e10, 1e11, n),
                         "n_ctx": rng.choice([2048, 8192, 32768], n)})
    runs["C"] = 6 * runs.N * runs.D + 2.5 * np.sqrt(runs.N) * runs.D * runs.n_ctx
    law = fit_cost(runs, ["N*D", "N^0.5*D*n_ctx"], at={"n_ctx": 8192})
    np.testing.assert_allclose(law.coef, [6.0, 2.5], rtol=1e-9)
    assert law(1e9, 1e10) == pytest.approx(6e19 + 2.5 * math.sqrt(1e9) * 1e10 * 8192, rel=1e-12)
    with pytest.raises(ScalelawError, match="give its value"):
        fit_cost(runs, ["N*D", "N^0.5*D*n_ctx"])(1e9, 1e10)


# --------------------------------------------------------------------------- CLI
def _fit_json(tmp_path, draws=True):
    doc = {"law": "chinchilla", "params": HOFFMANN}
    if draws:
        d = _draws(HOFFMANN, n=100)
        doc["bootstrap"] = {k: list(d[k]) for k in d}
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(doc))
    return path


def test_cli_cost_attention_and_json(tmp_path, capsys):
    fit = _fit_json(tmp_path)
    out_json = tmp_path / "alloc.json"
    rc = main(["allocate", str(fit), "--compute", "1e22", "--cost", "attention:n_ctx=131072",
               "--json", str(out_json)])
    out = capsys.readouterr().out
    assert rc == 0
    d = pd.DataFrame(json.loads(fit.read_text())["bootstrap"])
    t = compute_optimal(HOFFMANN, 1e22, draws=d, cost="attention:n_ctx=131072")
    assert f"{t.N_opt[0]:.4g} [{t.N_opt_lower[0]:.3g}, {t.N_opt_upper[0]:.3g}]" in out
    assert "equal-cost curves of attention:n_ctx=131072,aspect=128" in out and "6·N·D share" in out
    doc = json.loads(out_json.read_text())
    assert doc["cost"]["kind"] == "attention" and doc["method"] == "numeric"
    assert doc["rows"][0]["N_opt"] == pytest.approx(t.N_opt[0])
    assert parse_cost(doc["cost"]["spec"]) == parse_cost("attention:n_ctx=131072")


def test_cli_cost_fitted_from_a_table(tmp_path, capsys):
    runs, truth = _recorded_runs(seed=5, noise=0.003)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    fit = _fit_json(tmp_path, draws=False)
    spec = f"fitted:{tmp_path / 'runs.csv'},terms=N*D+N^0.6667*D"
    assert main(["allocate", str(fit), "--compute", "1e22", "--cost", spec]) == 0
    out = capsys.readouterr().out
    assert "no bootstrap in FIT.json" in out and "cost: C = " in out
    n = float(out.split("N_opt [params]")[1].split()[0])
    assert n == pytest.approx(compute_optimal(HOFFMANN, 1e22, cost=truth).N_opt[0], rel=0.02)


@pytest.mark.parametrize("argv, match", [
    (["--cost", "foo:1"], "bad cost spec: unknown kind 'foo'"),
    (["--cost", "attention:n_ctx=8192,bogus=1"], "not 'bogus'"),
    (["--cost", "law:terms=N*D,coef=-6"], "not increasing"),
    (["--cost", "dense:8", "--flops-per-token", "7"], "give it once"),
    (["--cost", "fitted:missing.csv"], "missing.csv"),
])
def test_cli_bad_cost(tmp_path, capsys, monkeypatch, argv, match):
    fit = _fit_json(tmp_path, draws=False)
    monkeypatch.chdir(tmp_path)
    rc = main(["allocate", str(fit), "--compute", "1e22", *argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and match in lines[0] and "Traceback" not in err


def test_isoflop_and_envelope_priced_by_a_cost(tmp_path, capsys):
    """Runs recorded with tokens only: C = cost(N, D) and D* on the cost's curve."""
    from scalelaw.allocate import isoflop, lower_envelope
    cost = parse_cost("attention:n_ctx=32768")
    rng = np.random.default_rng(0)
    rows = []
    for C in np.logspace(19, 22, 6):
        n0 = compute_optimal(HOFFMANN, C, cost=cost).N_opt[0]
        for N in n0 * np.logspace(-0.7, 0.7, 9):
            D = float(cost.tokens(N, C))
            rows.append({"N": N, "D": D, "loss": loss(HOFFMANN, N, D) * math.exp(rng.normal(0, 1e-4))})
    runs = pd.DataFrame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        res = isoflop(runs, cost=cost, profile="cubic")
    b = res.budgets
    np.testing.assert_allclose(b.C, np.logspace(19, 22, 6), rtol=1e-9)      # C from the cost
    np.testing.assert_allclose(cost(b.N_star, b.D_star), b.C, rtol=1e-9)    # D* on its curve
    truth = compute_optimal(HOFFMANN, b.C, cost=cost).N_opt.to_numpy()
    assert np.abs(np.log(b.N_star.to_numpy() / truth)).max() < 0.02
    assert res.cost["kind"] == "attention" and "n_ctx = 32768" in res.summary()
    env = lower_envelope(runs.assign(N=runs.N.round(-3)), cost=cost, drop_edge_sizes=False, bins=4)
    np.testing.assert_allclose(cost(env.budgets.N_star, env.budgets.D_star), env.budgets.C, rtol=1e-9)
    runs.to_csv(tmp_path / "r.csv", index=False)
    assert main(["allocate", "--isoflop", str(tmp_path / "r.csv"), "--cost", "attention:n_ctx=32768",
                 "--json", str(tmp_path / "r.json")]) == 0
    assert "C = D·(6·N + 6·n_ctx·n_layer·d_model)" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["cost"]["n_ctx"] == 32768


def test_no_warning_on_well_posed_cost_allocation():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = compute_optimal(HOFFMANN, np.logspace(18, 26, 5), draws=_draws(HOFFMANN, n=50),
                            cost="attention:n_ctx=8192")
    assert np.isfinite(t.to_numpy()).all() and "notes" in t.attrs and not t.attrs["notes"]


# --------------------------------------------------------------------------- docs
def _doc_blocks():
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "costs.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("i", range(len(_doc_blocks())))
def test_docs_costs_examples_run(i, capsys):
    code = _doc_blocks()[i]
    exec(compile(code, f"docs/costs.md[{i}]", "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out.strip()


def test_fitted_cost_law_round_trips_through_its_spec_and_json():
    runs, _ = _recorded_runs(seed=6, noise=0.004)
    with pytest.warns(ScalelawWarning, match="coefficient of D is at its bound 0"):
        law = fit_cost(runs, "N*D+N^(2/3)*D+D")     # the truth has no D term
    again = parse_cost(law.spec())
    assert again == law and again.coef == law.coef
    doc = json.loads(json.dumps(law.to_dict(), allow_nan=False))
    assert doc["stderr"][2] is None and doc["coef"][2] == 0
    back = cost_from_config(doc)
    assert back == law and back.fit_info["n_runs"] == 24 and math.isnan(back.stderr[2])


# --------------------------------------------------------------------------- recorded C vs the cost
def _priced_runs(cost, seed=0):
    """IsoFLOP runs on the cost's equal-cost curves, with N, D and their recorded C = cost(N, D)."""
    rng = np.random.default_rng(seed)
    rows = []
    for C in np.logspace(19, 22, 5):
        n0 = compute_optimal(HOFFMANN, C, cost=cost).N_opt[0]
        for N in n0 * np.logspace(-0.7, 0.7, 7):
            D = float(cost.tokens(N, C))
            rows.append({"N": N, "D": D, "C": C,
                         "loss": loss(HOFFMANN, N, D) * math.exp(rng.normal(0, 1e-4))})
    return pd.DataFrame(rows)


def test_isoflop_refuses_a_recorded_c_the_cost_did_not_count(tmp_path, capsys):
    """A table whose C is 6·N·D priced by a long-context attention cost: D* from the cost
    would be 2-7 tokens/param against the runs' own; refused in one line (also by the CLI,
    before anything is printed)."""
    from scalelaw.allocate import isoflop, lower_envelope
    cost = parse_cost("attention:n_ctx=131072")
    runs = _priced_runs(DenseCost(6))                  # C = 6·N·D exactly
    for method in (isoflop, lower_envelope):
        with pytest.raises(ScalelawError, match=r"recorded C differs from the cost attention.*C/\(N·D\) = 6") as e:
            method(runs, cost=cost)
        assert "\n" not in str(e.value)
    runs.to_csv(tmp_path / "iso.csv", index=False)
    assert main(["allocate", "--isoflop", str(tmp_path / "iso.csv"), "--cost", "attention:n_ctx=131072"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "recorded C differs" in err and len(err.strip().splitlines()) == 1
    # the same table priced by the cost that counted it (dense 6) is fine and self-consistent
    res = isoflop(runs, cost="dense:6")
    used = res.budgets[res.budgets.used]
    np.testing.assert_allclose(used.D_star, used.C / (6 * used.N_star), rtol=1e-12)


def test_isoflop_accepts_a_recorded_c_the_cost_counted_and_warns_about_stray_runs():
    from scalelaw.allocate import isoflop
    cost = parse_cost("attention:n_ctx=32768")
    runs = _priced_runs(cost)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = isoflop(runs, cost=cost, profile="cubic")
    assert not any("recorded C" in str(w.message) for w in caught)     # consistent: nothing said
    assert not any("recorded C" in n for n in res.notes)
    truth = compute_optimal(HOFFMANN, res.budgets.C, cost=cost).N_opt.to_numpy()
    assert np.abs(np.log(res.budgets.N_star.to_numpy() / truth)).max() < 0.02
    # two runs recorded 20 % off: used as recorded, said in a warning and the notes
    off = runs.copy()
    off.loc[[3, 10], "C"] *= 1.2
    with pytest.warns(ScalelawWarning, match="2 of 35 runs have a recorded C more than 5%"):
        res2 = isoflop(off, cost=cost, profile="cubic", min_points=4)
    assert any("2 of 35 runs" in n for n in res2.notes)
