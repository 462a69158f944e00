"""Fitting: the one engine, its results, uncertainty and validation.

>>> import scalelaw as sl
>>> res = sl.fit("runs.csv", "chinchilla", bootstrap=1000)       # doctest: +SKIP
>>> print(res.summary()); res.predict(N=7e10, D=1.4e12)          # doctest: +SKIP

Keyword vocabulary shared by :func:`fit`, :func:`leave_one_group_out` and the CLI:
``x`` (columns for the law's variables), ``y`` (target column), ``where`` (rows to fit),
``holdout`` (rows to score), ``weights``, ``groups``, ``fix``, ``bounds``, ``start``,
``grid``, ``loss`` (``"huber"``/``"l2"``), ``delta``, ``space`` (``"log"``/``"linear"``),
``overpredict``, ``bootstrap``, ``seed``, ``pool``/``n_jobs``, ``strict``,
``flops_per_token``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from .engine import Problem
from .objective import Objective
from .results import FitResult, compute_metrics, holdout_scores

__all__ = ["fit", "FitResult", "Objective", "leave_one_group_out"]


def fit(data, law, *, x=None, y=None, where: str | None = None, holdout: str | None = None,
        weights=None, groups=None, fix: dict | None = None, bounds: dict | None = None,
        start: dict | None = None, grid: dict | None = None, loss: str = "huber",
        delta: float = 1e-3, space: str = "log", overpredict: float = 0.0, n_polish: int | None = None,
        bootstrap: int = 0, seed: int = 0, pool=None, n_jobs: int | None = None,
        strict: bool = False, flops_per_token: float = 6.0) -> FitResult:
    """Fit ``law`` to ``data`` and return a :class:`FitResult`.

    Parameters
    ----------
    data : DataFrame, dict of columns, or path to a table (CSV/TSV/Parquet/JSONL).
    law : a law object, a registered name (``"chinchilla"``) or a formula string.
    x : column(s) for the law's variables (default: matched by name and synonym).
    y : target column (default: ``loss`` and its synonyms).  Loss in nats.
    where, holdout : row filters such as ``"C <= 1e21"``; ``where`` selects the rows to fit
        (default all), ``holdout`` the rows scored afterwards (excluded from the fit).
    fix, bounds, start, grid : per-parameter fixed values, (lo, hi) bounds, start values
        (replace the start grid for that parameter), start grids.
    loss, delta, space, overpredict : the objective (:mod:`scalelaw.fit.objective`).
    bootstrap : number of resamples (0: none); ``groups`` resamples whole groups;
        for the LR-schedule laws ``groups="block"`` resamples blocks of consecutive points
        of each run (serially correlated logs).
    n_polish : how many of the best grid points are polished (default: the law's
        ``n_polish`` hint, else 4).
    """
    from ..laws import get_law
    from .data import check_fittable, prepare_frame, row_mask

    law = get_law(law)
    objective = Objective(loss=loss, delta=float(delta), space=space, overpredict=float(overpredict))
    keep_unobserved = bool(getattr(law, "keeps_unobserved_rows", False))
    boot_groups = True if groups is not None else None
    if keep_unobserved and isinstance(groups, str) and groups == "block":
        boot_groups, groups = "block", None   # per-step logs: blocks of consecutive points
    law, prep = prepare_frame(data, law, x=x, y=y, weights=weights, groups=groups, strict=strict,
                              flops_per_token=flops_per_token, keep_unobserved=keep_unobserved)
    frame = prep.frame
    fit_rows = row_mask(prep.env, where, "--where")
    hold_rows = np.zeros(len(frame), bool)
    if holdout is not None:
        hold_rows = row_mask(prep.env, holdout, "--holdout")
        if not hold_rows.any():
            raise ScalelawError(f"--holdout {holdout!r} selects no rows")
        fit_rows &= ~hold_rows
    if keep_unobserved:
        observed = frame["y"].notna().to_numpy()
        fit_rows &= observed
        hold_rows &= observed
        if holdout is not None and not hold_rows.any():
            raise ScalelawError(f"--holdout {holdout!r} selects no rows with a loss")
    notes = list(prep.notes)
    if where is not None or holdout is not None:
        why = "; ".join(t for t in (f"where {where}" if where else "",
                                    f"{int(hold_rows.sum())} held out" if holdout else "") if t)
        notes.append(f"fitted on {int(fit_rows.sum())} of {len(frame)} rows ({why})")
    if keep_unobserved:   # per-step logs: rows carry the LR history; mask losses instead
        train = frame.assign(y=frame["y"].where(fit_rows))
    else:
        train = frame.loc[fit_rows].reset_index(drop=True)
    if len(train) == 0:
        raise ScalelawError(f"no rows left to fit (--where {where!r}"
                            f"{', --holdout ' + repr(holdout) if holdout else ''})")
    n_free = len([p for p in law.param_names if p not in (fix or {})])
    check_fittable(law, train, n_free, objective.space)
    design = law.prepare(train, target="y")
    if design.y is None or len(design.y) == 0:
        raise ScalelawError("no observed values to fit")
    if design.n < n_free:
        raise ScalelawError(f"{design.n} data point(s) for {n_free} free parameters of {law.name}: "
                            "give more points or fix parameters with --fix P=V")
    w = np.ones(design.n)
    if "weight" in train and not keep_unobserved:
        w = pd.to_numeric(train["weight"], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
            raise ScalelawError("weights must be finite, non-negative and not all zero")
    elif getattr(design, "info", {}).get("weights") is not None:
        w = np.asarray(design.info["weights"], dtype=float)
    problem = Problem(law, design, objective, weights=w, fixed=fix, bounds=bounds)
    rng = np.random.default_rng(seed)
    if n_polish is None:
        n_polish = int(getattr(law, "n_polish", 4))
    ignored = [p for p in {**(start or {}), **(grid or {})} if p in problem.anchored]
    if ignored:
        notes.append(f"start/grid for {', '.join(ignored)} ignored: anchored by the law "
                     "(fix it, or for the multi-power law use amplitude='free')")
    p_hat, f_hat = problem.solve(grid=grid, start=start, n_polish=n_polish, rng=rng)
    res = _make_result(problem, p_hat, f_hat, prep, notes)
    if holdout is not None:
        test = (frame.assign(y=frame["y"].where(hold_rows)) if keep_unobserved
                else frame.loc[hold_rows].reset_index(drop=True))
        tdesign = law.prepare(test, target="y")
        pred = law.evaluate(tdesign.x, p_hat)
        res.holdout = {**holdout_scores(tdesign.y, pred), "where": holdout}
    if bootstrap:
        res.bootstrap(int(bootstrap), groups=boot_groups, seed=seed,
                      pool=pool, n_jobs=n_jobs)
    return res


def _make_result(problem: Problem, p_hat, f_hat, prep, notes) -> FitResult:
    from .uncertainty import sandwich_cov

    law, design = problem.law, problem.design
    with np.errstate(all="ignore"):
        cov = sandwich_cov(problem, p_hat)
    pred = problem.predict(p_hat)
    r, _ = problem.obj.residual(pred, problem.y)
    n_free = int(problem.free.sum()) + len(problem.anchored)   # anchored ones are estimated too
    dof = max(problem.n - n_free, 1)
    w = problem.w
    scale = float(np.sqrt(np.sum(w * r ** 2) / np.sum(w) * problem.n / dof))
    metrics = compute_metrics(problem.y, pred, n_free, problem.obj.space)
    info = dict(getattr(design, "info", {}) or {})
    info.pop("weights", None)
    return FitResult(law, p_hat, list(problem.user_fixed), cov, f_hat, problem.obj, problem.n,
                     anchored=list(problem.anchored), domain=law.domain(design),
                     residual_scale=scale, mapping=prep.mapping,
                     notes=notes + list(info.pop("notes", [])) + problem.notes, metrics=metrics, residuals=r,
                     fitted=pred, observed=problem.y, problem=problem,
                     design_info={k: v for k, v in info.items() if _jsonable(v)},
                     bounds=problem.bounds)


def _jsonable(v):
    import json
    try:
        json.dumps(v)
        return True
    except TypeError:
        return False


def leave_one_group_out(data, law, by: str, **kwargs) -> pd.DataFrame:
    """Refit without each group (e.g. ``by="N"``: each model size) and score the fit on the
    group left out.  Returns one row per group (``group, n, rmse, mape, max_abs_err``) and
    the mean over groups in ``.attrs["mean"]``.  Keyword arguments go to :func:`fit`."""
    from ..laws import get_law
    from .data import prepare_frame

    law0 = get_law(law)
    law1, prep = prepare_frame(data, law0, x=kwargs.get("x"), y=kwargs.get("y"), groups=by,
                               flops_per_token=kwargs.get("flops_per_token", 6.0))
    frame = prep.frame
    labels = frame.pop("group").to_numpy()
    groups = pd.unique(labels)
    if len(groups) < 2:
        raise ScalelawError(f"leave-one-group-out needs at least 2 groups in {by!r}")
    rows = []
    kw = {k: v for k, v in kwargs.items() if k not in ("bootstrap", "holdout", "where", "x", "y")}
    for g in groups:
        mask = labels == g
        res = fit(frame.loc[~mask].rename(columns={"y": law1.target}), law1, **kw)
        test = frame.loc[mask].reset_index(drop=True)
        d = law1.prepare(test, target="y")
        pred = law1.evaluate(d.x, res.params.to_numpy())
        rows.append({"group": g, **holdout_scores(d.y, pred)})
    out = pd.DataFrame(rows)
    out.attrs["mean"] = out[["rmse", "mape", "max_abs_err"]].mean().to_dict()
    return out


class _CallableModule(__import__("types").ModuleType):
    """``scalelaw.fit`` is both this package and the function :func:`fit`: importing a
    submodule (``scalelaw.fit.engine``) binds the package as ``scalelaw.fit``, so the
    package itself forwards calls to :func:`fit`."""

    def __call__(self, *args, **kwargs) -> FitResult:
        return fit(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
