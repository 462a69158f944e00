"""Rollout validation, held-out errors, interval labels and the simulated runs they are
checked on (scalelaw.synthetic.simulate_runs)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.errors import ScalelawError
from scalelaw.fitting.bands import extrapolation_distance, heldout_errors, interval_labels
from scalelaw.fitting.validation import group_values, rollout
from scalelaw.synthetic import simulate_runs

TRUTH = {"E": 1.8, "A": 482.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}
SIZES = np.geomspace(2e7, 2e9, 7)


def design(sizes=SIZES, tpp=(5, 10, 20, 40)):
    return pd.DataFrame([(n, n * t) for n in sizes for t in tpp], columns=["N", "D"])


# -- simulate_runs -------------------------------------------------------------------------
def test_simulate_runs_layout_and_truth():
    df = simulate_runs("chinchilla", TRUTH, design(), n_seeds=3, n_eval=2, seed=4)
    assert len(df) == 7 * 4 * 3 * 2
    assert {"N", "D", "C", "run", "seed", "eval", "loss_true", "loss"} <= set(df)
    assert df["run"].nunique() == 7 * 4 * 3 and set(df["seed"]) == {0, 1, 2} and set(df["eval"]) == {0, 1}
    assert np.allclose(df["C"], 6 * df["N"] * df["D"])
    n, d = df["N"].to_numpy(), df["D"].to_numpy()
    law = TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]
    np.testing.assert_allclose(df["loss_true"], law, rtol=1e-12)
    np.testing.assert_allclose(df["loss"], law)   # no noise asked for: the law itself


def test_simulate_runs_noise_levels_and_run_offsets_shared_by_evaluations():
    df = simulate_runs("chinchilla", list(TRUTH.values()), design(np.geomspace(1e7, 1e9, 20)),
                       run_sd=0.03, eval_sd=0.01, n_seeds=10, n_eval=4, seed=1)
    u = np.log(df["loss"] / df["loss_true"])
    assert u.std() == pytest.approx(np.hypot(0.03, 0.01), rel=0.05)
    within = u.groupby(df["run"]).transform(lambda s: s - s.mean())
    assert within.std() * np.sqrt(4 / 3) == pytest.approx(0.01, rel=0.05)   # evaluations only
    again = simulate_runs("chinchilla", TRUTH, design(np.geomspace(1e7, 1e9, 20)), run_sd=0.03,
                          eval_sd=0.01, n_seeds=10, n_eval=4, seed=1)
    assert np.array_equal(df["loss"], again["loss"])


def test_simulate_runs_refuses_bad_input():
    with pytest.raises(ScalelawError, match="lacks D"):
        simulate_runs("chinchilla", TRUTH, {"N": [1e8]})
    with pytest.raises(ScalelawError, match="missing: beta"):
        simulate_runs("chinchilla", {k: v for k, v in TRUTH.items() if k != "beta"}, design())
    with pytest.raises(ScalelawError, match="non-negative"):
        simulate_runs("chinchilla", TRUTH, design(), run_sd=-1)


# -- rollout -------------------------------------------------------------------------------
def test_rollout_table_on_noise_free_data_is_exact_and_ordered():
    df = simulate_runs("chinchilla", TRUTH, design(), seed=0)
    tab = rollout(df, "chinchilla", "N", fitter=sl.fit)
    # Chinchilla has 5 free parameters: 3 sizes (12 points, 3 distinct N) is the first fit
    assert tab["k"].tolist() == [3, 4, 5, 6]
    np.testing.assert_allclose(tab["train_max"], SIZES[2:6])
    np.testing.assert_allclose(tab["target"], SIZES[3:7])
    np.testing.assert_allclose(tab["ratio"], SIZES[1] / SIZES[0])
    np.testing.assert_allclose(tab["ratio_C"], (SIZES[1] / SIZES[0]) ** 2)   # same tokens per parameter
    assert (tab["n"] == 4).all()
    assert tab["mape"].max() < 1e-4 and tab["rmse"].max() < 1e-3   # the law is the truth
    assert tab.attrs["kind"] == "rollout by N"
    e = tab.attrs["errors"]
    # every refit predicts all larger sizes: 4 + 3 + 2 + 1 groups of 4 points
    assert len(e) == 4 * (4 + 3 + 2 + 1)
    assert set(e.columns) >= {"fold", "distance", "error", "sd_curve", "sd_obs", "observed", "predicted",
                              "horizon"}
    assert (e["distance"] > 1).all() and (e["sd_obs"] >= e["sd_curve"]).all()
    far = e.groupby("horizon")["distance"].median()
    assert far.is_monotonic_increasing


def test_rollout_rows_match_an_independent_refit():
    df = simulate_runs("chinchilla", TRUTH, design(), run_sd=0.01, eval_sd=0.005, n_eval=2, seed=3)
    tab = rollout(df, "chinchilla", "N", fitter=sl.fit)
    row = tab.loc[tab["k"] == 4].iloc[0]
    train, test = df[df["N"] < SIZES[4] * 0.99], df[np.isclose(df["N"], SIZES[4])]
    res = sl.fit(train[["N", "D", "loss"]], "chinchilla")
    pred = res.predict(test[["N", "D"]])["mean"].to_numpy()
    err = test["loss"].to_numpy() - pred
    assert row["n"] == len(test) == 8
    assert row["rmse"] == pytest.approx(np.sqrt(np.mean(err ** 2)), rel=1e-6)
    assert row["bias"] == pytest.approx(err.mean(), rel=1e-6, abs=1e-12)
    assert row["max_abs_err"] == pytest.approx(np.abs(err).max(), rel=1e-6)
    e = tab.attrs["errors"]
    mine = e[(e["fold"] == 4) & (e["horizon"] == 1)]
    np.testing.assert_allclose(mine["error"], np.log(test["loss"].to_numpy()) - np.log(pred), rtol=1e-6)
    assert tab.attrs["mean"]["rmse"] == pytest.approx(tab["rmse"].mean())


def test_rollout_by_compute_bins_continuous_budgets_and_uses_a_pool():
    rng = np.random.default_rng(0)
    n = np.geomspace(1e7, 3e9, 60) * np.exp(rng.normal(0, 0.05, 60))
    d = n * rng.uniform(5, 40, 60)
    df = simulate_runs("chinchilla", TRUTH, pd.DataFrame({"N": n, "D": d}), run_sd=0.01, seed=2)

    class Pool:
        calls = 0

        def map(self, f, items):
            Pool.calls += 1
            return [f(t) for t in items]

    done = []
    tab = rollout(df[["N", "D", "loss"]], "chinchilla", "C", fitter=sl.fit, pool=Pool(),
                  progress=lambda i, total: done.append((i, total)))
    assert Pool.calls == 1 and done[-1] == (len(tab), len(tab))
    assert tab.attrs["kind"] == "rollout by C" and "binned into 12 groups" in tab.attrs["notes"][0]
    assert tab["target"].is_monotonic_increasing and (tab["ratio"] > 1).all()
    serial = rollout(df[["N", "D", "loss"]], "chinchilla", "C", fitter=sl.fit)
    pd.testing.assert_frame_equal(tab, serial)


def test_group_values_keeps_equal_values_together():
    v = np.repeat([1e18, 2e18, 4e18], 3)
    labels, notes = group_values(v)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] and not notes
    labels, notes = group_values(np.geomspace(1, 1e6, 40), bins=4)
    assert sorted(np.bincount(labels)) == [10, 10, 10, 10] and np.all(np.diff(labels) >= 0)


def test_rollout_refuses_what_it_cannot_do():
    df = simulate_runs("chinchilla", TRUTH, design(SIZES[:3]), seed=0)
    with pytest.raises(ScalelawError, match="fit function"):
        rollout(df, "chinchilla", "N")
    with pytest.raises(ScalelawError, match="leave none to predict"):
        rollout(df, "chinchilla", "N", fitter=sl.fit)
    with pytest.raises(ScalelawError, match="no such column"):
        rollout(df, "chinchilla", "width", fitter=sl.fit)


# -- distances, labels, predict ------------------------------------------------------------
def test_distance_counts_compute_beyond_the_fitted_corner():
    dom = {"N": (1e8, 1e9), "D": (1e9, 1e10)}
    nd = (1e17, 1e18)   # the fitted runs never had both a large N and a large D
    x = {"N": np.array([5e8, 1e9, 4e9, 1e9]), "D": np.array([2e9, 1e10, 1e10, 1e9])}
    dist, which = extrapolation_distance(dom, x, nd)
    np.testing.assert_allclose(dist, [1.0, 10.0, 40.0, 1.0])
    assert list(which) == ["", "C", "C", ""]
    assert interval_labels(dist, which) == ["interpolation", "extrapolation x10 in C",
                                            "extrapolation x40 in C", "interpolation"]
    dist, which = extrapolation_distance(dom, {"N": np.array([3.2e9]), "D": np.array([1e9])})
    assert interval_labels(dist, which) == ["extrapolation x3.2 in N"]


def test_predict_labels_intervals_and_adds_calibrated_band_only_when_calibrated():
    df = simulate_runs("chinchilla", TRUTH, design(), run_sd=0.01, seed=5)
    res = sl.fit(df[["N", "D", "loss"]], "chinchilla")
    assert res.cv is None and res.calibration is None   # no cross-validation asked for
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = res.predict({"N": [1e8, 2e10], "D": [2e9, 4e11]})
    assert "cal_ci_lower" not in p
    # N x10 and D x5 beyond the largest fitted ones: compute x50 (8e21 / 1.6e20)
    assert p["interval"].tolist() == ["interpolation", "extrapolation x50 in C"]
    from scalelaw.fitting.calibration import calibrate
    tab = rollout(df, "chinchilla", "N", fitter=sl.fit)
    res.calibration = calibrate(tab.attrs["errors"])
    p2 = res.predict({"N": [1e8, 1e9], "D": [2e9, 4e10]}, alpha=0.2)
    assert (p2["cal_ci_lower"] < p2["mean"]).all() and (p2["cal_ci_upper"] > p2["mean"]).all()
    half = np.log(p2["cal_ci_upper"] / p2["mean"])
    z = 1.2815515655446004
    sd_obs = np.log(p2["obs_ci_upper"] / p2["mean"]) / z
    cal = res.calibration
    np.testing.assert_allclose(half, cal.quantile(0.2) * cal.scale(sd_obs, [1.0, 1.0]), rtol=1e-6)


def test_predict_uses_components_for_the_new_run_band():
    df = simulate_runs("chinchilla", TRUTH, design(), run_sd=0.01, seed=6)
    res = sl.fit(df[["N", "D", "loss"]], "chinchilla")
    base = res.predict({"N": [3e8], "D": [6e9]})

    class Components:
        identified = {"run": True, "eval": False}

        def new_run_var(self, n_eval=1):
            return 0.05 ** 2

    res.components = Components()
    p = res.predict({"N": [3e8], "D": [6e9]})
    z = 1.959963984540054
    sd_curve = np.log(p["mean_ci_upper"] / p["mean"]) / z
    sd_obs = np.log(p["obs_ci_upper"] / p["mean"]) / z
    np.testing.assert_allclose(sd_obs ** 2, sd_curve ** 2 + 0.05 ** 2, rtol=1e-6)
    assert p["obs_ci_upper"].iloc[0] > base["obs_ci_upper"].iloc[0]   # 0.05 > residual scale ~0.01


def test_heldout_errors_at_known_points():
    df = simulate_runs("chinchilla", TRUTH, design(), seed=0)
    res = sl.fit(df[["N", "D", "loss"]], "chinchilla")
    test = pd.DataFrame({"N": [1e8, 1e10], "D": [2e9, 2e11], "loss": [3.0, 2.0]})
    e = heldout_errors(res, test, fold="x")
    pred = res.predict(test[["N", "D"]])["mean"].to_numpy()
    np.testing.assert_allclose(e["error"], np.log([3.0, 2.0]) - np.log(pred))
    np.testing.assert_allclose(e["predicted"], pred)
    assert e["fold"].tolist() == ["x", "x"]
    # the second point: N x5, D x2.5 beyond the fitted ranges, compute x12.5 (2e21 / 1.6e20)
    assert e["distance"].iloc[0] == 1.0 and e["distance"].iloc[1] == pytest.approx(12.5, rel=1e-6)
