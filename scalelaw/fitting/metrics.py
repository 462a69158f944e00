"""Goodness of fit: R², RMSE, MAPE, AIC/BIC of a fit, and scores on held-out rows."""
from __future__ import annotations

import numpy as np


def compute_metrics(y, pred, n_free: int, space: str) -> dict:
    """R², RMSE, MAPE in linear and log space; AIC/BIC from the Gaussian likelihood of the
    fit-space residuals (a comparison aid between laws fitted to the same data)."""
    y = np.asarray(y, float)
    pred = np.asarray(pred, float)
    n = len(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly, lp = np.log(y), np.log(pred)
    res_lin = pred - y
    res_log = lp - ly

    def r2(res, obs):
        ss = np.sum((obs - np.mean(obs)) ** 2)
        return 1 - np.sum(res ** 2) / ss if ss > 0 else np.nan

    rss = np.sum((res_log if space == "log" else res_lin) ** 2)
    ll_term = n * np.log(rss / n) if rss > 0 else -np.inf
    return {
        "r2": r2(res_lin, y), "rmse": float(np.sqrt(np.mean(res_lin ** 2))),
        "r2_log": r2(res_log, ly), "rmse_log": float(np.sqrt(np.mean(res_log ** 2))),
        "mape": float(np.mean(np.abs(res_lin / y))), "max_abs_err": float(np.max(np.abs(res_lin))),
        "aic": float(ll_term + 2 * n_free), "bic": float(ll_term + n_free * np.log(n)),
    }


def holdout_scores(y, pred) -> dict:
    """Scores on held-out rows, in the target's units (loss)."""
    y = np.asarray(y, float)
    pred = np.asarray(pred, float)
    err = pred - y
    return {"n": int(len(y)), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "mape": float(np.mean(np.abs(err / y))), "max_abs_err": float(np.max(np.abs(err)))}
