"""The laws of issue 12 item 4: shifted_powerlaw, data_constrained (Muennighoff et al. 2023),
m4 (Alabdulmohsin et al. 2022), lr_batch (a DeepSeek-style LR / batch-size surface) and
DeepSeek's near-optimal procedure (fit_hyperparams): parameter recovery from simulated data
with noise, fits through the CLI, JSON round trips, derivatives, bad input, and parameters
the data do not identify landing on a bound (said in the results)."""
import json

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.errors import ScalelawError
from scalelaw.fitting import FitResult
from scalelaw.fitting.engine import law_jacobian
from scalelaw.fitting.hyperparams import fit_hyperparams, near_optimal
from scalelaw.laws import get_law

from cli_helpers import one_line, run


def _fd_jacobian(law, x, p, rel=1e-6):
    """Central differences, one parameter at a time (the reference for analytic Jacobians)."""
    p = np.asarray(p, dtype=float)
    cols = []
    for i in range(len(p)):
        h = rel * max(abs(p[i]), 1e-3)
        up, dn = p.copy(), p.copy()
        up[i] += h
        dn[i] -= h
        cols.append((law.evaluate(x, up) - law.evaluate(x, dn)).ravel() / (2 * h))
    return np.column_stack(cols)


def _roundtrip(res, tmp_path, **at):
    path = tmp_path / "fit.json"
    res.to_json(path)
    back = FitResult.from_json(path)
    assert back.law.name == res.law.name and back.law.config() == res.law.config()
    np.testing.assert_allclose(back.params.to_numpy(), res.params.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(back.predict(**at)["mean"], res.predict(**at)["mean"], rtol=1e-12)
    return json.loads(path.read_text())


# -- shifted_powerlaw --------------------------------------------------------------------
SHIFTED = {"E": 1.7, "A": 300.0, "x0": 2e7, "alpha": 0.35}


def _shifted_table(seed=0, noise=0.002):
    rng = np.random.default_rng(seed)
    N = np.geomspace(1e6, 1e10, 25)
    L = get_law("shifted_powerlaw", var="N")(N=N, **SHIFTED)
    return pd.DataFrame({"N": N, "loss": L * np.exp(noise * rng.standard_normal(N.size))})


def test_shifted_powerlaw_recovers_its_parameters_and_round_trips(tmp_path):
    res = sl.fit(_shifted_table(), "shifted_powerlaw")
    assert res.law.formula == "E + A*(N + x0)**-alpha"
    assert res.params["E"] == pytest.approx(SHIFTED["E"], rel=0.02)
    assert res.params["x0"] == pytest.approx(SHIFTED["x0"], rel=0.1)
    assert res.params["alpha"] == pytest.approx(SHIFTED["alpha"], rel=0.1)
    ci = res.conf_int()
    for k in ("E", "x0", "alpha"):
        assert ci.loc[k, "lower"] < SHIFTED[k] < ci.loc[k, "upper"], k
    _roundtrip(res, tmp_path, N=[1e11])


def test_shifted_powerlaw_jacobian_matches_differences():
    law = get_law("shifted_powerlaw", var="N")
    x = law.prepare({"N": np.geomspace(1e5, 1e10, 9)}, target=None).x
    p = np.array([SHIFTED[k] for k in law.param_names])
    np.testing.assert_allclose(law.jacobian(x, p), _fd_jacobian(law, x, p), rtol=1e-5, atol=1e-12)


def test_shifted_powerlaw_without_a_shift_puts_x0_on_its_bound():
    rng = np.random.default_rng(3)
    N = np.geomspace(1e6, 1e10, 20)
    loss = (1.7 + 300 * N ** -0.35) * np.exp(0.001 * rng.standard_normal(N.size))
    res = sl.fit({"N": N, "loss": loss}, "shifted_powerlaw")
    # no shift in the data: x0 at its lower bound 0, and the results say so
    assert res.params["x0"] < 1e-200 and res.at_bound.get("x0") == "lower"
    assert any(n.startswith("x0 = ") and "lower bound 0" in n for n in res.notes)
    assert "on lower bound" in res.summary()
    assert res.params["alpha"] == pytest.approx(0.35, rel=0.05)


# -- data_constrained ----------------------------------------------------------------------
DC = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353,
      "R_D_star": 15.4, "R_N_star": 5.3}


def _repeated_runs(seed=0, noise=0.003, epochs=(1, 2, 4, 8, 16, 32, 64)):
    rng = np.random.default_rng(seed)
    N, U, ep = np.meshgrid(np.geomspace(5e7, 2e9, 5), [1e9, 4e9, 1.6e10], epochs)
    f = pd.DataFrame({"N": N.ravel(), "U": U.ravel(), "D": (U * ep).ravel()})
    L = get_law("data_constrained")(N=f.N, D=f.D, U=f.U, **DC)
    f["loss"] = L * np.exp(noise * rng.standard_normal(len(f)))
    return f


def test_data_constrained_effective_data_and_parameters():
    law = get_law("data_constrained", tokens_per_param=20)
    U = 1e9
    D = np.array([0.5e9, 1e9, 2e9, 1e12])    # half an epoch, one, two, a thousand
    N = np.array([1e7, 5e7, 1e8, 1e10])       # U_D/20 = 2.5e7 for the first, 5e7 for the rest
    x = law.prepare({"N": N, "D": D, "U": np.full(4, U)}, target=None).x
    Np, Dp = law.effective(x, 15.4, 5.3)
    assert Dp[0] == D[0] and Dp[1] == D[1]                  # no repetition: D' = D
    assert Dp[2] == pytest.approx(1e9 + 1e9 * 15.4 * (1 - np.exp(-1 / 15.4)))
    assert Dp[3] == pytest.approx(1e9 * (1 + 15.4), rel=1e-6)   # saturates at U(1 + R*_D)
    assert Np[0] == N[0] and Np[1] == N[1]                  # N <= U_D/r: N' = N
    UN = 5e7
    assert Np[2] == pytest.approx(UN + UN * 5.3 * (1 - np.exp(-(1e8 / UN - 1) / 5.3)))
    assert Np[3] == pytest.approx(UN * (1 + 5.3), rel=1e-6)   # saturates at U_N(1 + R*_N)


def test_data_constrained_recovers_the_published_repetition_constants(tmp_path):
    runs = _repeated_runs()
    res = sl.fit(runs, "data_constrained")
    for k, tol in (("R_D_star", 0.1), ("R_N_star", 0.1), ("alpha", 0.05), ("beta", 0.05), ("E", 0.02)):
        assert res.params[k] == pytest.approx(DC[k], rel=tol), k
    ci = res.conf_int()
    assert ci.loc["R_D_star", "lower"] < DC["R_D_star"] < ci.loc["R_D_star", "upper"]
    assert not res.at_bound
    _roundtrip(res, tmp_path, N=[7e9], D=[1e12], U=[1e11])


def test_data_constrained_from_one_pool_of_unique_tokens():
    """Every run repeats the same pool (one value of U, a common experiment): allowed.  The
    repetition constant is then only weakly identified (B, beta and R_D_star trade off: over
    seeds 0-3 the estimates were 12.7, 27.0, 11.3, 52.2), but its interval holds the truth."""
    runs = _repeated_runs(seed=0)
    runs = runs[runs["U"] == 4e9].reset_index(drop=True)
    res = sl.fit(runs, "data_constrained", fix={"R_N_star": DC["R_N_star"]})
    assert res.params["R_D_star"] == pytest.approx(DC["R_D_star"], rel=0.25)
    ci = res.conf_int()
    assert ci.loc["R_D_star", "lower"] < DC["R_D_star"] < ci.loc["R_D_star", "upper"]
    with pytest.raises(ScalelawError, match="single distinct value"):   # N must still vary
        sl.fit(_repeated_runs().query("N == 5e7"), "data_constrained")


def test_data_constrained_jacobian_matches_differences():
    law = get_law("data_constrained")
    f = _repeated_runs(noise=0.0).iloc[::7]
    x = law.prepare(f, target=None).x
    p = np.array([DC[k] for k in law.param_names])
    np.testing.assert_allclose(law.jacobian(x, p), _fd_jacobian(law, x, p), rtol=1e-4, atol=1e-12)
    # the batched evaluation matches one vector at a time
    P = np.stack([p, p * 1.01, p * 0.98])
    np.testing.assert_allclose(law.evaluate(x, P)[2], law.evaluate(x, P[2]).ravel(), rtol=1e-13)


def test_without_repeated_data_R_D_star_is_not_identified_and_said_so():
    runs = _repeated_runs(epochs=(0.25, 0.5, 1.0))        # never more than one epoch
    res = sl.fit(runs, "data_constrained")
    said = [n for n in res.notes if "R_D_star" in n and ("not identified" in n or "bound" in n)]
    assert said and said[0] in res.summary()
    assert res.params["beta"] == pytest.approx(DC["beta"], rel=0.1)   # the rest still recovered


def test_data_constrained_is_chinchilla_without_repetition(benchdata):
    """On the Chinchilla runs (Epoch AI's reconstruction, no repetition), with U above every
    D and tokens_per_param -> 0 (U_N = N), the law is the Chinchilla law: the same fit."""
    raw = pd.read_csv(benchdata("chinchilla_epoch.csv"))
    t = pd.DataFrame({"N": raw["Model Size"], "C": raw["Training FLOP"], "loss": raw["loss"]})
    t["D"] = t["C"] / (6 * t["N"])
    t["U"] = np.where(np.arange(len(t)) % 2, 10.0, 20.0) * t["D"].max()   # two pools, both > D
    t = t.nsmallest(240, "loss")      # Besiroglu et al.'s 240 points: the 5 highest losses out
    ch = sl.fit(t, "chinchilla")
    dc = sl.fit(t, get_law("data_constrained", tokens_per_param=1e-12),
                fix={"R_D_star": 15.4, "R_N_star": 5.3})
    for k in ("E", "A", "B", "alpha", "beta"):
        assert dc.params[k] == pytest.approx(ch.params[k], rel=1e-3), k
    assert dc.params["E"] == pytest.approx(1.8172, abs=0.03)   # the published refit


def test_data_constrained_through_the_cli(tmp_path, capsys):
    runs = _repeated_runs(seed=1).rename(columns={"U": "unique_tokens", "D": "tokens"})
    table = tmp_path / "repeated.csv"
    runs.to_csv(table, index=False)
    out = tmp_path / "dc.json"
    code, printed, _ = run(capsys, "fit", table, "--law", "data_constrained", "--json", out)
    assert code == 0 and "U <- unique_tokens" in printed and "R_D_star" in printed
    back = FitResult.from_json(out)
    assert back.params["R_D_star"] == pytest.approx(15.4, rel=0.15)
    code, printed, _ = run(capsys, "predict", out, "--at", "N=1e9", "D=1.6e11", "U=1e10")
    truth = get_law("data_constrained")(N=1e9, D=1.6e11, U=1e10, **DC)[0]
    mean = float(printed.strip().splitlines()[-1].split()[3])
    assert code == 0 and mean == pytest.approx(truth, rel=0.01)


def test_data_constrained_refuses_a_table_without_unique_tokens(tmp_path, capsys):
    runs = _repeated_runs().drop(columns="U")
    table = tmp_path / "no_u.csv"
    runs.to_csv(table, index=False)
    code, _, err = run(capsys, "fit", table, "--law", "data_constrained")
    assert code == 2 and "no column for U" in one_line(err)
    bad = _repeated_runs()
    bad.loc[0, "U"] = 0.0
    with pytest.raises(ScalelawError, match="U > 0"):
        sl.fit(bad, "data_constrained")
    with pytest.raises(ScalelawError, match="tokens_per_param"):
        get_law("data_constrained", tokens_per_param=-1)


# -- m4 ------------------------------------------------------------------------------------
M4 = {"L_inf": 2.0, "L0": 5.0, "alpha": 0.7, "beta": 2000.0, "c": 0.4}


def test_m4_root_solves_the_equation_batched():
    law = get_law("m4", var="x")
    x = np.geomspace(1e2, 1e14, 40)
    d = law.prepare({"x": x}, target=None).x
    rng = np.random.default_rng(0)
    P = np.column_stack([rng.uniform(0.5, 2.5, 50), rng.uniform(3.0, 10.0, 50), rng.uniform(0.05, 4, 50),
                         np.exp(rng.uniform(-5, 15, 50)), rng.uniform(0.05, 1.5, 50)])
    L = law.evaluate(d, P)
    assert L.shape == (50, 40)
    Linf, L0, a, b, c = (P[:, i, None] for i in range(5))
    assert np.all((L >= Linf) & (L <= L0))
    inner = (L > Linf + 1e-9 * (L0 - Linf)) & (L < L0 - 1e-9 * (L0 - Linf))   # away from the ends
    with np.errstate(divide="ignore"):
        lhs = np.log(L - Linf) - a * np.log(L0 - L)
    rhs = np.log(b) - c * np.log(x)
    assert inner.mean() > 0.5
    np.testing.assert_allclose(lhs[inner], rhs[inner], atol=1e-8)
    # the batched evaluation is the evaluation of each vector alone
    np.testing.assert_allclose(L[7], law.evaluate(d, P[7]).ravel(), rtol=1e-14)
    # the curve falls from L0 to L_inf
    assert np.all(np.diff(L, axis=1) <= 1e-12)


def test_m4_jacobian_matches_differences():
    law = get_law("m4", var="N")
    x = law.prepare({"N": np.geomspace(1e5, 1e11, 12)}, target=None).x
    p = np.array([M4[k] for k in law.param_names])
    np.testing.assert_allclose(law.jacobian(x, p), _fd_jacobian(law, x, p), rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(law_jacobian(law, x, p), law.jacobian(x, p))


def test_m4_recovers_its_parameters_and_extrapolates(tmp_path):
    law = get_law("m4", var="D")
    D = np.geomspace(1e5, 1e11, 30)
    rng = np.random.default_rng(1)
    loss = law(D=D, **M4) * np.exp(0.002 * rng.standard_normal(D.size))
    res = sl.fit({"D": D, "loss": loss}, "m4")
    for k, tol in (("L_inf", 0.03), ("L0", 0.01), ("alpha", 0.15), ("c", 0.1)):
        assert res.params[k] == pytest.approx(M4[k], rel=tol), k
    # fitted on D <= 1e11, predicted at 3e12 (with a warning): within 1% of the truth
    with pytest.warns(sl.errors.ScalelawWarning, match="outside"):
        pred = res.predict(D=[3e12])
    assert pred["mean"][0] == pytest.approx(law(D=[3e12], **M4)[0], rel=0.01)
    _roundtrip(res, tmp_path, D=[3e10])


def test_m4_through_the_cli(tmp_path, capsys):
    law = get_law("m4", var="N")
    N = np.geomspace(1e5, 1e11, 25)
    loss = law(N=N, **M4) * np.exp(0.002 * np.random.default_rng(2).standard_normal(N.size))
    table = tmp_path / "m4.csv"
    pd.DataFrame({"params": N, "loss": loss}).to_csv(table, index=False)
    out = tmp_path / "m4.json"
    code, printed, _ = run(capsys, "fit", table, "--law", "m4", "--x", "N", "--json", out)
    assert code == 0 and "(L - L_inf)/(L0 - L)**alpha = beta*N**-c" in printed
    back = FitResult.from_json(out)
    assert back.params["c"] == pytest.approx(0.4, rel=0.1)
    assert back.params["L_inf"] == pytest.approx(2.0, rel=0.03)


# -- lr_batch and DeepSeek's procedure -------------------------------------------------------
LRB = {"E": 1.8, "G": 600.0, "gamma": 0.15, "eta0": 0.3118, "a": -0.125,
       "B0": 0.292, "b": 0.3271, "k_lr": 0.02, "k_bs": 0.012}
BUDGETS = np.geomspace(1e17, 1e19, 5)


def _sweep(seed=0, per=40, noise=0.001, vary_batch=True):
    """``per`` runs at each of five budgets, LR and batch size log-uniform around the optimum
    (up to 2 e-folds in LR, 1.5 in batch size), the loss of the true surface with noise."""
    law = get_law("lr_batch")
    rng = np.random.default_rng(seed)
    rows = []
    for C in BUDGETS:
        lr_opt, bs_opt, _ = law.optimum(C, LRB)
        for _ in range(per):
            rows.append({"C": C, "lr": lr_opt * np.exp(rng.uniform(-2, 2)),
                         "batch_size": bs_opt * (np.exp(rng.uniform(-1.5, 1.5)) if vary_batch else 1.0)})
    f = pd.DataFrame(rows)
    f["loss"] = law(C=f.C, lr=f.lr, batch_size=f.batch_size, **LRB) * np.exp(noise * rng.standard_normal(len(f)))
    return f


def test_lr_batch_recovers_the_deepseek_power_laws(tmp_path):
    res = sl.fit(_sweep(), "lr_batch")
    assert res.params["a"] == pytest.approx(LRB["a"], abs=0.01)
    assert res.params["b"] == pytest.approx(LRB["b"], abs=0.02)
    assert res.params["eta0"] == pytest.approx(LRB["eta0"], rel=0.3)
    assert res.params["B0"] == pytest.approx(LRB["B0"], rel=0.5)
    assert res.params["k_lr"] == pytest.approx(LRB["k_lr"], rel=0.05)
    ci = res.conf_int()
    for k in ("a", "b", "eta0", "B0"):
        assert ci.loc[k, "lower"] < LRB[k] < ci.loc[k, "upper"], k
    # the optimum at a budget 100x beyond the sweep: within 20% of the truth
    law = res.law
    lr_hat, bs_hat, _ = law.optimum(1e21, res.params)
    lr_true, bs_true, _ = law.optimum(1e21, LRB)
    assert lr_hat == pytest.approx(lr_true, rel=0.2) and bs_hat == pytest.approx(bs_true, rel=0.2)
    # one optimum per bootstrap draw: its 95% interval holds the true optimal LR
    res.bootstrap(100, seed=0)
    lr_draws, bs_draws, best = law.optimum(1e21, res.boot)
    assert lr_draws.shape == (100,) and best.shape == (100,)
    assert np.percentile(lr_draws, 2.5) < lr_true < np.percentile(lr_draws, 97.5)
    both, _, _ = law.optimum([1e19, 1e21], res.boot)
    np.testing.assert_allclose(both[:, 1], lr_draws)
    _roundtrip(res, tmp_path, C=[1e18], lr=[1e-3], batch_size=[2e5])


def test_lr_batch_jacobian_matches_differences():
    law = get_law("lr_batch")
    f = _sweep(per=4, noise=0.0)
    x = law.prepare(f, target=None).x
    p = np.array([LRB[k] for k in law.param_names])
    np.testing.assert_allclose(law.jacobian(x, p), _fd_jacobian(law, x, p), rtol=1e-5, atol=1e-9)


def test_lr_batch_through_the_cli_with_batch_size_synonyms(tmp_path, capsys):
    f = _sweep(seed=4).rename(columns={"C": "flops", "lr": "learning_rate", "batch_size": "global_batch_size"})
    table = tmp_path / "sweep.csv"
    f.to_csv(table, index=False)
    out = tmp_path / "lrb.json"
    code, printed, _ = run(capsys, "fit", table, "--law", "lr_batch", "--json", out)
    assert code == 0 and "batch_size <- global_batch_size" in printed
    rows = {ln.split()[0]: ln.split() for ln in printed.splitlines() if ln.split()}
    for k in ("eta0", "a", "B0", "b"):   # value, std err, lower, upper
        lo, hi = float(rows[k][3]), float(rows[k][4])
        assert lo < LRB[k] < hi, k
    assert FitResult.from_json(out).params["a"] == pytest.approx(LRB["a"], abs=0.01)


def test_lr_batch_when_the_batch_size_does_not_matter():
    """Truth k_bs = 0: the fit finds no curvature in batch size (k_bs on or next to its bound
    0) and says that b (or B0) is not identified, or gives it an interval as wide as its box."""
    truth = dict(LRB, k_bs=0.0)
    law = get_law("lr_batch")
    f = _sweep(per=20)
    f["loss"] = law(C=f.C, lr=f.lr, batch_size=f.batch_size, **truth) \
        * np.exp(0.001 * np.random.default_rng(9).standard_normal(len(f)))
    res = sl.fit(f, "lr_batch")
    ci = res.conf_int()
    assert res.params["k_bs"] < 0.1 * LRB["k_bs"] and ci.loc["k_bs", "lower"] == 0.0
    summary = res.summary()
    if res.at_bound.get("k_bs") == "lower":
        assert any(n.startswith("k_bs = 0") and "bound" in n for n in res.notes)
        assert "on lower bound" in summary
    unidentified = [n for n in res.notes if "not identified" in n]
    wide = ci.loc["b", "upper"] - ci.loc["b", "lower"] > 1.0
    assert wide or any(n.split()[0].rstrip(",") in ("b", "B0") for n in unidentified)
    assert res.params["a"] == pytest.approx(LRB["a"], abs=0.015)   # the LR law still recovered


def test_lr_batch_refuses_non_positive_learning_rates():
    f = _sweep(per=5)
    f.loc[3, "lr"] = 0.0
    with pytest.raises(ScalelawError, match="lr > 0"):
        sl.fit(f, "lr_batch")


def test_deepseek_procedure_on_a_fine_grid_recovers_the_power_laws():
    """Noise-free loss on a fine, symmetric grid around each optimum: the near-optimal band is
    symmetric in logs, so the fitted power laws are the true ones."""
    law = get_law("lr_batch")
    rows = []
    for C in BUDGETS:
        lr_opt, bs_opt, _ = law.optimum(C, LRB)
        for dl in np.linspace(-1.5, 1.5, 31):
            for db in np.linspace(-1.5, 1.5, 31):
                rows.append({"C": C, "lr": lr_opt * np.exp(dl), "batch_size": bs_opt * np.exp(db)})
    f = pd.DataFrame(rows)
    f["loss"] = law(C=f.C, lr=f.lr, batch_size=f.batch_size, **LRB)
    ds = fit_hyperparams(f, tolerance=0.0025)
    assert ds.n_budgets == 5 and 0 < len(ds.kept) < len(f)
    assert np.all(ds.kept["loss"] <= ds.kept["best_loss"] * 1.0025)
    p = ds.params
    assert p["a"] == pytest.approx(LRB["a"], abs=1e-3) and p["b"] == pytest.approx(LRB["b"], abs=1e-3)
    assert p["eta0"] == pytest.approx(LRB["eta0"], rel=0.05) and p["B0"] == pytest.approx(LRB["B0"], rel=0.05)
    opt = ds.predict([1e18])
    lr_true, bs_true, _ = law.optimum(1e18, LRB)
    assert opt["lr_opt"][0] == pytest.approx(lr_true, rel=0.01)
    assert opt["batch_size_opt_lower"][0] <= opt["batch_size_opt"][0] <= opt["batch_size_opt_upper"][0]
    assert "eta0" in ds.summary() and "0.25%" in ds.summary()


def test_deepseek_procedure_on_a_noisy_sweep():
    ds = fit_hyperparams(_sweep(seed=5, per=200), tolerance=0.0025, bootstrap=50, groups="C", seed=0)
    p, ci = ds.params, ds.conf_int()
    # measured spread of this estimator over sweeps of this size: sd(a) ~ 0.025, sd(b) ~ 0.027
    assert p["a"] == pytest.approx(LRB["a"], abs=0.08) and p["b"] == pytest.approx(LRB["b"], abs=0.08)
    assert (ci["lower"] < ci["upper"]).all()
    assert ci.loc["a", "lower"] < p["a"] < ci.loc["a", "upper"]


def test_near_optimal_and_bad_input():
    f = pd.DataFrame({"C": [1.0, 1.0, 1.0, 2.0, 2.0], "loss": [3.0, 3.005, 3.1, 2.5, 2.51]})
    kept = near_optimal(f, 0.0025)
    assert kept["loss"].tolist() == [3.0, 3.005, 2.5]
    with pytest.raises(ScalelawError, match="tolerance"):
        near_optimal(f, -0.1)
    one = _sweep(per=10)
    one = one[one["C"] == BUDGETS[0]]
    with pytest.raises(ScalelawError, match="compute budget"):
        fit_hyperparams(one)
    with pytest.raises(ScalelawError, match="no column for batch_size"):
        fit_hyperparams(_sweep(per=5).drop(columns="batch_size"))


# -- optima of an lr_batch fit with intervals (optimal_hparams, predict --optimum) ----------
@pytest.mark.filterwarnings("ignore:1 budget")
def test_lr_batch_optimum_per_draw_with_a_fixed_parameter():
    """gamma fixed: res.boot holds no gamma column, so the law refuses it by name, and
    optimal_hparams fills it in at its fixed value in every draw."""
    from scalelaw.errors import ScalelawWarning
    from scalelaw.fitting.hyperparams import optimal_hparams
    res = sl.fit(_sweep(seed=1, per=20), "lr_batch", fix={"gamma": 0.15})
    law = res.law
    C = np.array([1e18, 1e21])
    delta = optimal_hparams(res, C)             # no draws yet: the delta method
    delta99 = optimal_hparams(res, C, alpha=0.01)
    res.bootstrap(60, seed=0)
    assert "gamma" not in res.boot.columns
    with pytest.raises(ScalelawError, match="gamma.*optimal_hparams"):
        law.optimum(1e21, res.boot)
    with pytest.warns(ScalelawWarning, match="1 budget.*outside the fitted compute"):
        opt = optimal_hparams(res, C)
    assert opt["interval"].tolist() == ["interpolation", "extrapolation x100 in C"]
    for name, point in zip(("lr_opt", "batch_size_opt", "loss_opt"), law.optimum(C, res.params)):
        np.testing.assert_allclose(opt[name], point, rtol=1e-12)
    full = res.boot.assign(gamma=0.15)[list(law.param_names)]
    for name, draws in zip(("lr_opt", "batch_size_opt", "loss_opt"), law.optimum(C, full)):
        np.testing.assert_allclose(opt[f"{name}_lower"], np.percentile(draws, 2.5, axis=0), rtol=1e-12)
        np.testing.assert_allclose(opt[f"{name}_upper"], np.percentile(draws, 97.5, axis=0), rtol=1e-12)
    # the truth inside the 99% bands (6 numbers; over seeds 1-6 the truth sat at |z| < 2.3)
    truth = law.optimum(C, LRB)
    for name, t in zip(("lr_opt", "batch_size_opt", "loss_opt"), truth):
        for band in (optimal_hparams(res, C, alpha=0.01), delta99):
            assert np.all(band[f"{name}_lower"] < t) and np.all(t < band[f"{name}_upper"]), name
        # the delta method and the bootstrap agree on the width within a factor 2
        ratio = (delta[f"{name}_upper"] - delta[f"{name}_lower"]) / (opt[f"{name}_upper"] - opt[f"{name}_lower"])
        assert np.all((ratio > 0.5) & (ratio < 2.0)), (name, ratio)
    # the band widens 100x beyond the sweep
    w = np.log(opt["lr_opt_upper"] / opt["lr_opt_lower"]).to_numpy()
    assert w[1] > 1.5 * w[0]
    with pytest.raises(ScalelawError, match="alpha"):
        optimal_hparams(res, C, alpha=5)


def test_predict_optimum_through_the_cli(tmp_path, capsys):
    from scalelaw.fitting.hyperparams import optimal_hparams
    table, fitj, out = tmp_path / "sweep.csv", tmp_path / "lrb.json", tmp_path / "opt.csv"
    _sweep(seed=2, per=15).to_csv(table, index=False)
    code, _, _ = run(capsys, "fit", table, "--law", "lr_batch", "--fix", "gamma=0.15",
                     "--bootstrap", 30, "--json", fitj)
    assert code == 0
    code, printed, err = run(capsys, "predict", fitj, "--optimum", 1e19, 1e21)
    assert code == 0 and "lr_opt_lower" in printed and "extrapolation x100 in C" in printed
    assert one_line(err).startswith("warning: 1 budget(s) more than 10x outside")
    code, _, _ = run(capsys, "predict", fitj, "--optimum", 1e21, "--alpha", 0.1, "--out", out)
    assert code == 0
    got = pd.read_csv(out)
    want = optimal_hparams(FitResult.from_json(fitj), [1e21], alpha=0.1)
    for c in ("lr_opt", "lr_opt_lower", "batch_size_opt_upper", "loss_opt"):
        assert got[c][0] == pytest.approx(want[c][0], rel=1e-9), c
    lr_true = get_law("lr_batch").optimum(1e21, LRB)[0]
    assert got["lr_opt_lower"][0] < lr_true < got["lr_opt_upper"][0]
    # a law without an optimum, and budgets that are not FLOPs: one-line errors
    f = pd.DataFrame({"N": [1e7, 1e8, 1e9, 1e10], "loss": [4.0, 3.5, 3.1, 2.8]})
    f.to_csv(tmp_path / "n.csv", index=False)
    assert run(capsys, "fit", tmp_path / "n.csv", "--law", "powerlaw", "--json", tmp_path / "p.json")[0] == 0
    code, _, err = run(capsys, "predict", tmp_path / "p.json", "--optimum", 1e21)
    assert code == 2 and "lr_batch" in one_line(err)
    code, _, err = run(capsys, "predict", fitj, "--optimum", -1)
    assert code == 2 and "FLOPs" in one_line(err)
