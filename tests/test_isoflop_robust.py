"""The IsoFLOP profile fits run statsmodels' estimators without importing statsmodels
(``allocate._huber_irls`` is RLM with the Huber T norm; ``_fit_exponent`` is OLS with a t
interval): checked here against statsmodels itself on random profiles."""
import numpy as np
import pytest

from scalelaw import allocate

RLM = pytest.importorskip("statsmodels.robust.robust_linear_model").RLM
norms = pytest.importorskip("statsmodels.robust.norms")
OLS = pytest.importorskip("statsmodels.regression.linear_model").OLS


def _profiles(seed):
    rng = np.random.default_rng(seed)
    for case in range(40):
        n = int(rng.integers(5, 14))
        degree = 2 if case % 2 else 3
        x = np.sort(rng.uniform(-2, 2, n))
        if case % 5 == 0:
            x[1] = x[0]                                   # a tie in N
        X = np.column_stack([x ** j for j in range(degree + 1)])
        y = X @ rng.normal(0, 1, degree + 1) + rng.normal(0, 0.01, n)
        if case % 3 == 0:
            y[rng.integers(n)] += rng.choice([-1, 1]) * rng.uniform(0.1, 2.0)   # an outlier
        yield X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_huber_irls_is_statsmodels_rlm(seed):
    for X, y in _profiles(seed):
        ref = RLM(y, X, M=norms.HuberT()).fit()
        coef, cov = allocate._huber_irls(y, X)
        assert np.allclose(coef, ref.params, rtol=1e-10, atol=1e-12)
        assert np.allclose(cov, ref.cov_params(), rtol=1e-8, atol=1e-14)


def test_huber_irls_resists_an_outlier_where_least_squares_does_not():
    x = np.linspace(-1, 1, 9)
    X = np.column_stack([np.ones_like(x), x, x ** 2])
    y = 2.0 + 0.3 * x + 0.5 * x ** 2
    y[7] += 0.5
    coef, _ = allocate._huber_irls(y, X)
    ls = np.linalg.lstsq(X, y, rcond=None)[0]
    assert abs(-coef[1] / (2 * coef[2]) - (-0.3)) < 0.5 * abs(-ls[1] / (2 * ls[2]) - (-0.3))


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.32])
def test_exponent_fit_is_statsmodels_ols(alpha):
    rng = np.random.default_rng(7)
    logC = np.log(np.geomspace(1e18, 1e22, 6))
    logY = 0.5 * logC - 3 + rng.normal(0, 0.05, logC.size)
    slope, (lo, hi), se, const = allocate._fit_exponent(logC, logY, alpha)
    ref = OLS(logY, np.column_stack([np.ones_like(logC), logC])).fit()
    ci = np.asarray(ref.conf_int(alpha=alpha))
    assert slope == pytest.approx(ref.params[1], rel=1e-12)
    assert const == pytest.approx(ref.params[0], rel=1e-12)
    assert se == pytest.approx(ref.bse[1], rel=1e-10)
    assert (lo, hi) == pytest.approx((ci[1, 0], ci[1, 1]), rel=1e-10)
