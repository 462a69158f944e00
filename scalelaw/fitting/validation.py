"""Rollout validation: fit on the smallest groups, predict the next one, for every step.

OLMo-style: order the groups of ``by`` (model sizes N, or compute budgets C), fit on the
smallest ``k``, predict group ``k + 1``, for every ``k`` from the smallest that the fit
can be made on.  The table says how the forecast error grows with the extrapolation
distance (×N, ×C); its per-point held-out errors (``.attrs["errors"]``, see
:func:`heldout_errors`) are what :func:`scalelaw.fitting.calibration.calibrate` turns into
a calibrated new-run band.

This module sits below :mod:`scalelaw.fitting.api` (which calls it), so it does not
import ``fit``: :func:`rollout` takes the fit function as ``fitter`` (``scalelaw.fit``;
``scalelaw.fitting.api`` passes its own).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from .bands import heldout_errors
from .metrics import holdout_scores

__all__ = ["rollout", "heldout_errors", "group_values"]

#: a ``by`` column with more distinct values than this is binned (equal counts, log scale)
MAX_GROUPS = 12

#: fit options that make no sense for a refit inside a rollout (dropped)
_NOT_FOR_REFITS = ("bootstrap", "holdout", "where", "x", "y", "columns", "cv", "pool", "n_jobs",
                   "progress")


def group_values(values, bins: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Ordered group labels (0, 1, ...) of the positive values of a ``by`` column.

    Distinct values are the groups when there are at most :data:`MAX_GROUPS` of them (and
    ``bins`` is None); otherwise (reconstructed or jittered sizes and budgets, e.g. 245
    distinct compute budgets) the values are cut into ``bins`` (default
    :data:`MAX_GROUPS`) bins of about equal counts on the log scale, equal values always in
    one bin.  Returns ``(labels, notes)``; group ``g`` holds smaller values than ``g + 1``.
    """
    v = np.asarray(values, dtype=float)
    uniq = np.unique(v)
    notes: list[str] = []
    if bins is None and len(uniq) <= MAX_GROUPS:
        return np.searchsorted(uniq, v), notes
    nb = int(bins or MAX_GROUPS)
    if nb < 2:
        raise ScalelawError(f"bins={nb}: a rollout needs at least 2 groups")
    lv = np.log(v)
    edges = np.unique(np.quantile(lv, np.linspace(0, 1, nb + 1)[1:-1]))
    labels = np.searchsorted(edges, lv, side="right")
    _, labels = np.unique(labels, return_inverse=True)   # no empty bins
    notes.append(f"{len(uniq)} distinct values binned into {labels.max() + 1} groups of about "
                 "equal counts (log scale)")
    return labels, notes


def rollout(data, law, by: str = "N", *, fitter: Callable | None = None, min_groups: int | None = None,
            bins: int | None = None, horizon: int | None = None, where: str | None = None, pool: Any = None,
            progress: Any = None, alpha: float = 0.05, **fit_options) -> pd.DataFrame:
    """Rollout validation of ``law`` on ``data`` along ``by``.

    Parameters
    ----------
    data, law : as for :func:`scalelaw.fit` (``columns`` and the other fit options go in
        ``fit_options`` and to every refit; ``bootstrap`` and ``holdout`` are not used).
    by : the column that orders the groups: ``"N"`` (model size, non-embedding
        parameters), ``"C"`` (training compute, FLOPs; derived as 6·N·D when the table
        has N and D), ``"D"`` or any column of the table.
    fitter : the fit function (``scalelaw.fit``).  Required: this module sits below
        ``scalelaw.fitting.api``; ``scalelaw.fitting.api.rollout`` fills it in.
    min_groups : the smallest ``k`` (default: the smallest with more points than free
        parameters and at least three distinct values of every variable of the law).
    bins : cut ``by`` into this many groups of about equal counts (default: its distinct
        values, binned into :data:`MAX_GROUPS` when there are more).
    horizon : how many groups ahead each refit predicts for the per-point errors
        (``.attrs["errors"]``, column ``horizon``, 1 = the next group).  Default: every
        larger group, so that the errors span the extrapolation distances of the data (a
        calibration needs them: the next group alone is always about one step away).  The
        table itself always scores the next group.
    where : rows to use (a filter such as ``"C <= 1e21"``); the rest are ignored.
    pool : any object with ``map`` (an executor, a multiprocessing pool) for the refits;
        serial otherwise.  ``progress(done, total)`` is called after each refit.

    Returns
    -------
    DataFrame, one row per ``k``: ``k`` (groups fitted), ``train_max`` (largest ``by``
    value fitted), ``target`` (the predicted group's ``by`` value: its geometric mean),
    ``ratio`` (target / train_max), ``ratio_C`` (largest compute of the predicted group /
    largest compute fitted, for laws in N and D), ``distance`` (largest extrapolation
    distance of its points, see :func:`~scalelaw.fitting.bands.extrapolation_distance`),
    ``n`` (points predicted), ``rmse``, ``mape``, ``max_abs_err`` (loss units, nats) and
    ``bias`` (mean observed − predicted, nats).  ``.attrs``: ``kind`` (``"rollout by N"``),
    ``mean`` (the means of the error columns), ``errors`` (the per-point frame of
    :func:`heldout_errors`, ``fold`` = k, plus ``horizon``: groups ahead), ``notes``
    (binning, refits that failed).
    """
    from ..laws import get_law
    from .data import column_options, prepare_frame, row_mask

    if fitter is None:
        raise ScalelawError("rollout needs the fit function: call scalelaw.fitting.api.rollout, "
                            "or pass fitter=scalelaw.fit")
    law0 = get_law(law)
    xmap, ycol = column_options(law0, fit_options.get("columns"))
    weights = fit_options.pop("weights", None)
    law1, prep = prepare_frame(data, law0, x=xmap, y=ycol, weights=weights,
                               flops_per_token=fit_options.get("flops_per_token", 6.0))
    if weights is not None:
        fit_options["weights"] = "weight"   # the refits read the prepared column
    env = prep.env
    keep = row_mask(env, where, "where")
    if by not in env:
        raise ScalelawError(f"rollout by {by!r}: no such column; use N, C, D or a column of the table")
    key = pd.to_numeric(env[by], errors="coerce").to_numpy(dtype=float)
    keep &= np.isfinite(key) & (key > 0)
    if not keep.any():
        raise ScalelawError(f"rollout by {by!r}: no rows with a positive {by}")
    frame = prep.frame.loc[keep].reset_index(drop=True)
    key = key[keep]
    labels, notes = group_values(key, bins)
    n_groups = int(labels.max()) + 1
    if n_groups < 2:
        raise ScalelawError(f"rollout by {by!r} needs at least 2 distinct values of {by}")
    n_free = len([p for p in law1.param_names if p not in (fit_options.get("fix") or {})])
    k0 = _first_k(frame, labels, law1, n_free, n_groups)
    if min_groups is not None:
        k0 = max(k0, int(min_groups))
    if k0 >= n_groups:
        raise ScalelawError(f"rollout by {by!r}: {n_groups} groups leave none to predict after the "
                            f"{k0} needed to fit {n_free} free parameters; give more groups")
    kw = {k: v for k, v in fit_options.items() if k not in _NOT_FOR_REFITS}
    fit_frame = frame.rename(columns={"y": law1.target}).drop(columns=["group"], errors="ignore")
    ahead = n_groups if horizon is None else max(int(horizon), 1)
    tasks = [(fit_frame.loc[labels < k].reset_index(drop=True),
              frame.loc[(labels >= k) & (labels < k + ahead)].assign(
                  horizon=labels[(labels >= k) & (labels < k + ahead)] - k + 1).reset_index(drop=True),
              law1, kw, fitter, k, alpha)
             for k in range(k0, n_groups)]
    outs = []
    for out in (pool.map if pool is not None else map)(_rollout_step, tasks):
        outs.append(out)
        if progress is not None:
            progress(len(outs), len(tasks))
    nd = frame["N"].to_numpy(float) * frame["D"].to_numpy(float) \
        if "N" in frame and "D" in frame else None
    rows, errs = [], []
    for (train, test, *_), k, out in zip(tasks, range(k0, n_groups), outs):
        tr, te = labels < k, labels == k
        row = {"k": k, "train_max": float(key[tr].max()),
               "target": float(np.exp(np.mean(np.log(key[te]))))}
        row["ratio"] = row["target"] / row["train_max"]
        if nd is not None:
            row["ratio_C"] = float(nd[te].max() / nd[tr].max())
        if isinstance(out, str):
            notes.append(f"k = {k}: refit failed ({out})")
            row.update(distance=np.nan, n=int(te.sum()), rmse=np.nan, mape=np.nan,
                       max_abs_err=np.nan, bias=np.nan)
        else:
            errs.append(out)
            e = out.loc[out["horizon"] == 1]
            row["distance"] = float(e["distance"].max())
            row.update(holdout_scores(e["observed"], e["predicted"]))
            row["bias"] = float(np.mean(e["observed"] - e["predicted"]))
        rows.append(row)
    table = pd.DataFrame(rows)
    cols = ["k", "train_max", "target", "ratio"] + (["ratio_C"] if nd is not None else []) + \
        ["distance", "n", "rmse", "mape", "max_abs_err", "bias"]
    table = table[cols]
    table.attrs["kind"] = f"rollout by {by}"
    table.attrs["by"] = by
    table.attrs["mean"] = table[["rmse", "mape", "max_abs_err", "bias"]].mean().to_dict()
    table.attrs["errors"] = (pd.concat(errs, ignore_index=True) if errs else
                             pd.DataFrame(columns=["fold", "distance", "error", "sd_curve", "sd_obs",
                                                   "observed", "predicted", "horizon"]))
    table.attrs["errors"].attrs["kind"] = table.attrs["kind"]
    table.attrs["notes"] = notes
    return table


def _rollout_step(task):
    """One rollout refit (module level, so process pools can pickle it): the per-point
    held-out errors, or the one-line reason the refit failed."""
    train, test, law, kw, fitter, k, alpha = task
    try:
        res = fitter(train, law, **kw)
    except ScalelawError as e:
        return str(getattr(e, "message", e)).splitlines()[0]
    out = heldout_errors(res, test.drop(columns=["horizon"]), fold=k, alpha=alpha)
    out["horizon"] = test["horizon"].to_numpy()
    return out


def _first_k(frame, labels, law, n_free: int, n_groups: int) -> int:
    """The smallest k whose k groups hold more points than free parameters and at least
    three distinct values of every variable of the law (two for a law with two free
    parameters): a power law with an offset in a variable needs three values of it to be
    identified, and a refit that is not identified (a curve sd of zero or of 1e14) says
    nothing about how far the final fit can be trusted."""
    need = min(3, max(n_free, 1))
    for k in range(1, n_groups):
        tr = frame.loc[labels < k]
        if tr["y"].notna().sum() <= n_free:
            continue
        if all(tr[v].nunique() >= need for v in law.variables if v in tr):
            return k
    return n_groups
