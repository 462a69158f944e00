"""Calibrated new-run bands (scalelaw.fitting.calibration): the scale model, the quantile,
serialization, and coverage of held-out larger runs in simulation."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import scalelaw as sl
from scalelaw.errors import ScalelawError
from scalelaw.fitting.calibration import Calibration, calibrate, effective_count
from scalelaw.fitting.validation import rollout
from scalelaw.synthetic import simulate_runs


def errors_frame(rng, n_folds=40, per_fold=5, kappa=2.0, tau=0.0, shared=0.0):
    """Held-out errors drawn from the scale model itself (sd_obs and distances varied)."""
    fold = np.repeat(np.arange(n_folds), per_fold)
    sd = rng.uniform(0.005, 0.02, fold.size)
    d = np.exp(rng.uniform(0.0, 2.5, fold.size))
    sig = np.sqrt(kappa ** 2 * sd ** 2 + tau ** 2 * np.log(d) ** 2)
    z = np.sqrt(1 - shared) * rng.normal(size=fold.size) + np.sqrt(shared) * rng.normal(size=n_folds)[fold]
    return pd.DataFrame({"fold": fold, "distance": d, "error": sig * z, "sd_curve": sd / 2,
                         "sd_obs": sd, "observed": 3.0, "predicted": 3.0})


def test_scale_model_recovers_kappa_and_keeps_tau_out_without_a_distance_trend():
    cal = calibrate(errors_frame(np.random.default_rng(0), kappa=2.0))
    assert cal.kappa == pytest.approx(2.0, rel=0.12)
    assert cal.tau == 0.0
    assert cal.n_folds == 40 and cal.n_eff == pytest.approx(200, rel=0.25)   # independent points


def test_scale_model_finds_an_error_growing_with_distance():
    cal = calibrate(errors_frame(np.random.default_rng(1), kappa=1.0, tau=0.03, n_folds=60))
    assert cal.tau == pytest.approx(0.03, rel=0.2)
    assert cal.kappa == pytest.approx(1.0, rel=0.3)
    lo, hi = cal.band(np.log([3.0, 3.0]), [0.01, 0.01], [1.0, 20.0], alpha=0.05)
    assert hi[1] - lo[1] > 3 * (hi[0] - lo[0])   # much wider far out


def test_band_is_the_t_quantile_times_the_scale():
    cal = calibrate(errors_frame(np.random.default_rng(2), kappa=1.5))
    lo, hi = cal.band([0.0, 1.0], [0.01, 0.02], [1.0, 1.0], alpha=0.2)
    q = stats.t.ppf(0.9, cal.n_eff)
    np.testing.assert_allclose(hi - [0.0, 1.0], q * cal.kappa * np.array([0.01, 0.02]))
    np.testing.assert_allclose([0.0, 1.0] - lo, hi - [0.0, 1.0])


def test_shared_errors_within_a_refit_lower_the_effective_count():
    rng = np.random.default_rng(3)
    fold = np.repeat(np.arange(30), 10)
    shared = rng.normal(size=30)[fold] + 0.01 * rng.normal(size=300)
    assert effective_count(shared, fold) == pytest.approx(30, rel=0.3)
    assert effective_count(rng.normal(size=300), fold) == pytest.approx(300, rel=0.3)
    cal = calibrate(errors_frame(rng, shared=0.9))
    assert cal.n_eff < 80 and cal.quantile(0.05) > stats.norm.ppf(0.975)


def test_conformal_quantile_is_a_score_and_round_trip_keeps_the_band():
    cal = calibrate(errors_frame(np.random.default_rng(4), n_folds=100, per_fold=2), method="conformal")
    q = cal.quantile(0.2)
    assert q in cal.scores
    assert np.mean(cal.scores <= q) == pytest.approx(0.8 * (1 + 1 / cal.n_eff), abs=0.01)
    back = Calibration.from_dict(cal.to_dict())
    for a in (0.05, 0.2):
        np.testing.assert_allclose(back.band([1.0], [0.01], [3.0], a), cal.band([1.0], [0.01], [3.0], a))
    text = cal.describe()
    assert "kappa" in text and "200 held-out points in 100 refits" in text and "\n" not in text


def test_calibrate_refuses_what_it_cannot_use():
    with pytest.raises(ScalelawError, match="no held-out errors"):
        calibrate(pd.DataFrame(columns=["fold", "distance", "error", "sd_obs"]))
    with pytest.raises(ScalelawError, match="lacks sd_obs"):
        calibrate(pd.DataFrame({"fold": [0] * 5, "distance": 1.0, "error": 0.1}))
    with pytest.raises(ScalelawError, match="unknown calibration method"):
        calibrate(errors_frame(np.random.default_rng(5)), method="magic")
    with pytest.raises(ScalelawError, match="alpha"):
        calibrate(errors_frame(np.random.default_rng(5))).quantile(1.5)
    nan = errors_frame(np.random.default_rng(6), n_folds=2, per_fold=2).assign(sd_obs=np.nan)
    with pytest.raises(ScalelawError, match="usable held-out"):
        calibrate(nan)


# -- coverage in simulation ------------------------------------------------------------------
TRUTH = {"E": 1.8, "A": 482.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}
SIZES = np.geomspace(2e7, 5e9, 9)
N_FIT = 6   # fit the 6 smallest sizes, score the 3 larger ones (x2, x4, x8 in N)


def coverage_draws(n_draws: int, seed: int = 0):
    """Per draw: coverage of the held-out larger runs by each band at 80% and 95%."""
    design = pd.DataFrame([(n, n * t) for n in SIZES for t in (5, 10, 20, 40)], columns=["N", "D"])
    from scalelaw.fitting.calibration import calibrate
    rows = []
    for i in range(n_draws):
        df = simulate_runs("chinchilla", TRUTH, design, run_sd=0.01, eval_sd=0.01, n_seeds=2,
                           seed=seed + i)
        train, test = df[df["N"] <= SIZES[N_FIT - 1]], df[df["N"] > SIZES[N_FIT - 1]]
        res = sl.fit(train[["N", "D", "loss"]], "chinchilla")
        cv = rollout(train[["N", "D", "loss"]], "chinchilla", "N", fitter=sl.fit)
        res.calibration = calibrate(cv.attrs["errors"])
        y = test["loss"].to_numpy()
        for alpha in (0.2, 0.05):
            p = res.predict(test[["N", "D"]], alpha=alpha)
            row = {"draw": i, "level": 1 - alpha}
            for band in ("mean", "obs", "cal"):
                row[band] = np.mean((y >= p[f"{band}_ci_lower"]) & (y <= p[f"{band}_ci_upper"]))
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_calibrated_band_covers_held_out_larger_runs_at_the_nominal_rate():
    """Data from a known Chinchilla law with run-to-run offsets (two seeds per configuration)
    and evaluation noise; fitted on the 6 smallest of 9 sizes, scored on the 3 larger ones,
    calibrated from a rollout by N of the fitted sizes only.  120 draws, fixed seed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cov = coverage_draws(120, seed=1000).groupby("level")[["mean", "obs", "cal"]].mean()
    print("\ncoverage of held-out larger runs (120 draws):\n"
          + cov.rename(columns={"mean": "curve band", "obs": "new-run band", "cal": "calibrated"})
          .to_string(float_format=lambda v: f"{v:.3f}"))
    assert abs(cov.loc[0.8, "cal"] - 0.80) <= 0.05
    assert abs(cov.loc[0.95, "cal"] - 0.95) <= 0.05
