"""The wild (cluster) bootstrap: y* = ŷ + e·v_c on the fit scale, one weight per cluster."""
import numpy as np
import pytest

import scalelaw as sl
from scalelaw.errors import ScalelawError
from scalelaw.fitting import _batched
from scalelaw.fitting.uncertainty import _coarse_grid, bootstrap, wild_observations, wild_weights

X = np.geomspace(1e6, 1e10, 60)
MEAN = 2.0 + 300 * X ** -0.3
CLUSTERS = np.repeat(np.arange(15), 4)      # 15 clusters of 4 consecutive points


def _noise(rng, m, clustered):
    if clustered:   # a shock shared by each cluster, plus a little of each point's own
        return 0.02 * rng.standard_normal((m, 15))[:, CLUSTERS] + 0.005 * rng.standard_normal((m, 60))
    return 0.02 * rng.standard_normal((m, 60))


def test_wild_observations_keep_every_point_and_one_weight_per_cluster():
    y = MEAN * np.exp(_noise(np.random.default_rng(0), 1, False)[0])
    res = sl.fit({"N": X, "loss": y}, "powerlaw_const")
    pr, p = res._problem, res.params.to_numpy()
    ys = wild_observations(pr, p, 50, CLUSTERS, seed=3)
    assert ys.shape == (50, 60) and np.all(ys > 0)
    e = np.log(y) - np.log(pr.predict(p))
    v = (np.log(ys) - np.log(pr.predict(p))) / e          # the weight each point got
    for c in range(15):
        blk = v[:, CLUSTERS == c]
        assert np.allclose(blk, blk[:, :1])                # one weight per cluster and draw
    # 15 clusters: Rademacher signs, times the CR1-style scale sqrt(G/(G-k))
    assert np.allclose(np.abs(v), np.sqrt(15 / 12))
    assert np.array_equal(ys, wild_observations(pr, p, 50, CLUSTERS, seed=3))
    assert not np.array_equal(ys, wild_observations(pr, p, 50, CLUSTERS, seed=4))


def test_wild_weights():
    w = wild_weights(4000, 5, seed=1)                      # few clusters: Webb's six points
    assert set(np.round(np.abs(w.ravel()), 6)) == {round(np.sqrt(0.5), 6), 1.0, round(np.sqrt(1.5), 6)}
    assert abs(w.mean()) < 0.03 and abs(w.var() - 1) < 0.03
    r = wild_weights(100, 12, seed=1)
    assert set(np.unique(r)) == {-1.0, 1.0}
    with pytest.raises(ScalelawError, match="'mammen'"):
        wild_weights(10, 3, kind="mammen")


def test_result_bootstrap_groups_wild():
    y = MEAN * np.exp(_noise(np.random.default_rng(2), 1, False)[0])
    res = sl.fit({"N": X, "loss": y}, "powerlaw_const")
    draws = res.bootstrap(40, groups="wild", seed=1)
    assert draws.shape == (40, 3) and (draws.std() > 0).all()
    assert res.boot_groups.startswith("wild weights per block of")
    with pytest.raises(ScalelawError, match="'wild'"):
        res.bootstrap(10, groups="blocks")


@pytest.mark.slow
@pytest.mark.parametrize("objective, clustered, lo, hi", [
    ("l2", False, 0.88, 1.12),
    ("huber", False, 0.7, 1.15),
    ("huber", True, 0.6, 1.2),
])
def test_wild_sd_close_to_monte_carlo_sd(objective, clustered, lo, hi):
    """The wild bootstrap's SD of each parameter, averaged over 10 (16) simulated datasets,
    against the SD of the estimate over 300 datasets from the same law and noise.

    Squared error: within about 4%.  Huber with δ = 1e-3 on 2% noise behaves like least
    absolute deviations, and the draws run 13-30% narrow (the fit passes through a few
    points, whose zero residuals the wild draws never move).  With noise shared by
    15 clusters of 4 points, one weight per cluster is needed (per point the draws are
    far too narrow, about 0.45 of the Monte-Carlo SD); with so few clusters and a Huber
    fit they still run 20-30% narrow."""
    rng = np.random.default_rng(1)
    Y = MEAN * np.exp(_noise(rng, 300, clustered))
    res0 = sl.fit({"N": X, "loss": Y[0]}, "powerlaw_const", objective=objective)
    pr = res0._problem
    truth = np.array([{"E": 2.0, "A": 300.0, "alpha": 0.3}[k] for k in pr.law.param_names])
    grid = _batched.grid_points(pr, _coarse_grid(pr))

    def no_fallback(i):
        raise AssertionError("the Monte-Carlo refits converge")

    est = _batched.refit(pr, truth, np.ones((300, 60)), Y, *grid, no_fallback)
    assert np.allclose(est[0], res0.params.to_numpy(), rtol=1e-6)   # the fit's own estimate
    mc = est.std(axis=0, ddof=1)
    sds, per_point = [], []
    for j in range(16 if clustered else 10):
        y = MEAN * np.exp(_noise(rng, 1, clustered)[0])
        r = sl.fit({"N": X, "loss": y}, "powerlaw_const", objective=objective)
        p = r.params.to_numpy()
        sds.append(bootstrap(r._problem, p, 200, CLUSTERS if clustered else None, seed=j, wild=True).std(0))
        if clustered:
            per_point.append(bootstrap(r._problem, p, 200, None, seed=j, wild=True).std(0))
    ratio = np.mean(sds, axis=0) / mc
    assert np.all((ratio > lo) & (ratio < hi)), ratio
    if clustered:
        assert np.all(np.mean(per_point, axis=0) / mc < 0.6 * ratio)
