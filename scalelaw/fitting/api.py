"""The fitting entry points: :func:`fit` and :func:`leave_one_group_out`.

Keyword vocabulary (docs/architecture.md has the glossary): ``columns`` (canonical name ->
source column), ``where`` (rows to fit), ``holdout`` (rows to score), ``weights``,
``groups``, ``fix``, ``bounds``, ``start``, ``grid``, ``objective`` (``"huber"``/``"l2"``),
``delta``, ``space`` (``"log"``/``"linear"``), ``overpredict``, ``bootstrap``, ``seed``,
``pool``/``n_jobs``, ``strict``, ``flops_per_token``.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import ScalelawError, deprecated
from .engine import Problem
from .objective import Objective
from .objective import dof
from .metrics import compute_metrics, holdout_scores
from .results import FitResult


def fit(data, law, *, columns: Mapping[str, str] | None = None, where: str | None = None,
        holdout: str | None = None, weights: str | None = None, groups: Any = None,
        fix: Mapping[str, float] | None = None, bounds: Mapping[str, tuple] | None = None,
        start: Mapping[str, float] | None = None, grid: Mapping[str, Any] | None = None,
        objective: str = "huber", delta: float = 1e-3, space: str = "log",
        overpredict: float = 0.0, n_polish: int | None = None, bootstrap: int = 0, seed: int = 0,
        pool: Any = None, n_jobs: int | None = None, strict: bool = False,
        flops_per_token: float = 6.0, cv: str | None = None, cv_by: str | None = None,
        select: str = "best", noise: Any = "auto", x: Any = None, y: str | None = None,
        loss: str | None = None, targets: Any = None, share: Any = None) -> FitResult:
    """Fit ``law`` to ``data`` and return a :class:`~scalelaw.fitting.FitResult`.

    Parameters
    ----------
    data : DataFrame, dict of columns, or path to a table (CSV/TSV/Parquet/JSONL).
    law : a law object, a registered name (``"chinchilla"``), a ``"module:Class"`` path or a
        formula string.
    columns : canonical name -> source column, for the law's variables and its target
        (``loss``); unnamed ones are matched by name and synonym.  For the one-variable laws
        (``powerlaw``, ``powerlaw_const``, ``bnsl``) the variable named here is the x.
    where, holdout : row filters such as ``"C <= 1e21"``; ``where`` selects the rows to fit
        (default all), ``holdout`` the rows scored afterwards (excluded from the fit).
    weights : column of per-point weights.
    fix, bounds, start, grid : per-parameter fixed values, (lo, hi) bounds, start values
        (replace the start grid for that parameter), start grids.
    objective, delta, space, overpredict : the objective (:mod:`scalelaw.fitting.objective`):
        the per-point function ``"huber"`` (δ = ``delta``) or ``"l2"``, on ``"log"`` or
        ``"linear"`` residuals, over-predictions weighed ``1 + overpredict`` times.
    bootstrap : number of resamples (0: none); ``groups`` (a column) resamples whole
        groups; for the LR-schedule laws ``groups="block"`` (their default) resamples blocks
        of consecutive points of each run (serially correlated logs), ``"run"`` whole runs
        and ``"point"`` single points; ``"wild"`` keeps every point and multiplies the
        residuals of each block by one random weight (a wild cluster bootstrap).  Serial unless ``n_jobs`` or
        ``pool`` (any object with ``map``) is given.
    n_polish : how many of the best grid points are polished (default: the law's
        ``n_polish`` hint, else 4).
    strict : refuse rows with NaN/inf instead of dropping them (and counting them).
    flops_per_token : k in C = k·N·D when compute or tokens are derived (6: forward and
        backward pass of a dense transformer).
    cv, cv_by : cross-validation on whole groups: ``"group"`` (leave each group of column
        ``cv_by`` out; default ``"N"``, each model size), ``"rollout"`` (fit on the smallest k
        groups, predict the next, for every k) or, for training logs, ``"run"``.  The table is
        ``result.cv`` (summary and JSON too) and its held-out errors calibrate the new-run band
        (``result.calibration``; ``cal_ci_*`` in predictions).  Refits run through ``pool``
        / ``n_jobs`` like the bootstrap.
    select : with several candidate laws (``law`` a list, ``"a,b"`` or ``"auto"``, see
        :mod:`scalelaw.fitting.select`): ``"best"`` (the lowest CV error) or ``"stack"``
        (stacking weights from the CV errors; predictions combine the candidates).
    noise : LR-schedule laws on per-step logs: the noise treatment (docs/perstep.md,
        :func:`scalelaw.fitting.noise.treat_per_step`), ``"auto"`` (default), ``"cut"``,
        ``"weights"`` or ``"off"``; recorded in the notes and ``design_info["noise"]``.
    x, y, loss : deprecated spellings of ``columns`` and ``objective``.
    targets, share : several target columns (names, a glob such as ``"loss_*"``, or a list
        of them), each fitted with its own parameters of ``law``; ``share`` names parameters
        common to all targets (``("alpha", "beta")``: one joint fit).  Returns a
        :class:`~scalelaw.fitting.multi.MultiFit` (one result per target, a tidy frame);
        see :mod:`scalelaw.fitting.multi` and docs/multitarget.md.
    """
    if targets is not None or share is not None:   # several targets: scalelaw.fitting.multi
        options = {k: v for k, v in locals().items() if k not in ("data", "law", "targets", "share")}
        from .multi import fit_targets
        return fit_targets(data, law, targets, share=share, fitter=fit, options=options)
    from ..laws import get_law
    from .data import check_fittable, prepare_frame, row_mask
    from .select import is_candidates

    if is_candidates(law):
        return _fit_candidates(data, law, cv=cv, cv_by=cv_by, select=select, pool=pool, n_jobs=n_jobs,
                               where=where, holdout=holdout, bootstrap=bootstrap, seed=seed,
                               groups=groups, options=dict(
                                   columns=columns, weights=weights, fix=fix, bounds=bounds, start=start,
                                   grid=grid, objective=objective if loss is None else loss, delta=delta,
                                   space=space, overpredict=overpredict, n_polish=n_polish, strict=strict,
                                   flops_per_token=flops_per_token, noise=noise))
    law = get_law(law)
    if loss is not None:
        deprecated("fit(loss=...)", "objective=")
        objective = loss
    xmap, ycol = _column_options(law, columns, x, y)
    settings = Objective(loss=objective, delta=float(delta), space=space, overpredict=float(overpredict))
    per_step = law.predicts_curves
    if per_step and groups is None:
        groups = "block"   # per-step logs are serially correlated: blocks by default
    if per_step and isinstance(groups, str) and groups in ("point", "run"):
        groups = None if groups == "point" else "run"
    boot_groups = True if groups is not None else None
    if per_step and isinstance(groups, str) and groups == "block":
        boot_groups, groups = "block", None   # per-step logs: blocks of consecutive points
    if isinstance(groups, str) and groups == "wild":
        boot_groups, groups = "wild", None    # wild bootstrap: every point kept, residuals flipped
    law, prep = prepare_frame(data, law, x=xmap, y=ycol, weights=weights, groups=groups, strict=strict,
                              flops_per_token=flops_per_token, keep_unobserved=per_step)
    frame = prep.frame
    fit_rows = row_mask(prep.env, where, "where")
    hold_rows = np.zeros(len(frame), bool)
    if holdout is not None:
        hold_rows = row_mask(prep.env, holdout, "holdout")
        if not hold_rows.any():
            raise ScalelawError(f"the holdout selection {holdout!r} selects no rows", option="holdout")
        fit_rows &= ~hold_rows
    if per_step:
        observed = frame["y"].notna().to_numpy()
        fit_rows &= observed
        hold_rows &= observed
        if holdout is not None and not hold_rows.any():
            raise ScalelawError(f"the holdout selection {holdout!r} selects no rows with a loss",
                                option="holdout")
    notes = list(prep.notes)
    if where is not None or holdout is not None:
        why = "; ".join(t for t in (f"where {where}" if where else "",
                                    f"{int(hold_rows.sum())} held out" if holdout else "") if t)
        notes.append(f"fitted on {int(fit_rows.sum())} of {len(frame)} rows ({why})")
    if per_step:   # per-step logs: rows carry the LR history; mask losses instead
        train = frame.assign(y=frame["y"].where(fit_rows))
    else:
        train = frame.loc[fit_rows].reset_index(drop=True)
    if len(train) == 0 or not fit_rows.any():
        what = " and ".join(t for t in (f"the selection {where!r}" if where else "",
                                        f"the holdout {holdout!r}" if holdout else "") if t)
        raise ScalelawError(f"no rows left to fit after {what}" if what else "no rows to fit")
    noise_record = None
    if per_step and noise not in (None, False, "off"):   # noisy per-step logs: docs/perstep.md
        from .noise import treat_per_step
        train, noise_notes, noise_record = treat_per_step(lambda d: fit(
            d, law, columns={"loss": "y"}, noise="off", objective=objective, delta=delta, space=space,
            overpredict=overpredict, fix=fix, bounds=bounds, start=start, grid=grid, n_polish=n_polish,
            seed=seed), train, noise, target="y")
        notes.extend(noise_notes)
    n_free = len([p for p in law.param_names if p not in (fix or {})])
    check_fittable(law, train, n_free, settings.space)
    design = law.prepare(train, target="y")
    if design.y is None or len(design.y) == 0:
        raise ScalelawError("no observed values to fit")
    if design.n <= n_free:
        raise ScalelawError(f"{design.n} data point(s) for {n_free} free parameters of {law.name}: "
                            "no degrees of freedom left to judge the fit; give more points or hold "
                            "some parameters fixed", option="fix")
    w = np.ones(design.n)
    if "weight" in train and not per_step:
        w = pd.to_numeric(train["weight"], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
            raise ScalelawError("weights must be finite, non-negative and not all zero")
    elif design.info.get("weights") is not None:
        w = np.asarray(design.info["weights"], dtype=float)
    problem = Problem(law, design, settings, weights=w, fixed=fix, bounds=bounds)
    rng = np.random.default_rng(seed)
    if n_polish is None:
        n_polish = int(law.n_polish)
    ignored = [p for p in {**(start or {}), **(grid or {})} if p in problem.anchored]
    if ignored:
        notes.append(f"start/grid for {', '.join(ignored)} ignored: anchored by the law "
                     "(fix it, or for the multi-power law use amplitude free)")
    p_hat, f_hat = problem.solve(grid=grid, start=start, n_polish=n_polish, rng=rng)
    res = _make_result(problem, p_hat, f_hat, prep, notes)
    if per_step:   # the per-step noise treatment's choice, recorded as fit_lr records it
        res.design_info["noise"] = noise_record or {"mode": "off", "start": 0, "weights": False}
    else:   # replicates: run-to-run and evaluation noise (and whole-run resampling)
        res.components = _components(res, train, prep.env.loc[fit_rows].reset_index(drop=True))
    if holdout is not None:
        test = (frame.assign(y=frame["y"].where(hold_rows)) if per_step
                else frame.loc[hold_rows].reset_index(drop=True))
        tdesign = law.prepare(test, target="y")
        pred = law.evaluate(tdesign.x, p_hat)
        res.holdout = {**holdout_scores(tdesign.y, pred), "where": holdout}
    if bootstrap:
        res.bootstrap(int(bootstrap), groups=boot_groups, seed=seed, pool=pool, n_jobs=n_jobs)
    if cv is not None:
        if where is not None or holdout is not None:
            raise ScalelawError("cross-validation refits on all the rows: filter the table instead "
                                "of a where/holdout selection", option="cv")
        attach_cv(res, data, law, cv=cv, by=cv_by, pool=pool, n_jobs=n_jobs,
                  options=dict(columns=columns, weights=weights, fix=fix, bounds=bounds, start=start,
                               grid=grid, objective=objective, delta=delta, space=space,
                               overpredict=overpredict, n_polish=n_polish, strict=strict,
                               flops_per_token=flops_per_token, noise=noise if per_step else None))
    return res


def _fit_candidates(data, law, *, cv, cv_by, select, pool, n_jobs, where, holdout, bootstrap, seed,
                    groups, options):
    """:func:`fit` with several candidate laws: :func:`scalelaw.fitting.select.select_laws`,
    then the bootstrap of the chosen fit."""
    from ..laws import get_law
    from .data import as_frame
    from .select import candidate_names, select_laws
    if where is not None or holdout is not None:
        raise ScalelawError("law selection cross-validates on all the rows: filter the table instead "
                            "of a where/holdout selection", option="where")
    frame = data if isinstance(data, pd.DataFrame) else as_frame(data)
    names = candidate_names(law, frame)
    curves = bool(get_law(names[0]).predicts_curves)
    opts = {k: v for k, v in options.items() if v is not None}
    if curves:   # training logs through fit itself (fit_lr adds the log conventions)
        opts.pop("columns", None)
        opts["columns"] = {"loss": "loss"}
    res = select_laws(frame, names, fitter=fit, curves=curves, cv=cv, by=cv_by, select=select, pool=pool,
                      n_jobs=n_jobs, fit_options=opts)
    if bootstrap:
        res.bootstrap(int(bootstrap), groups=_candidate_boot_groups(res, frame, groups, curves, opts),
                      seed=seed, pool=pool, n_jobs=n_jobs)
    return res


def _candidate_boot_groups(res: FitResult, frame: pd.DataFrame, groups, curves: bool, opts: dict):
    """The bootstrap unit of a chosen candidate, from :func:`fit`'s ``groups``: for logs
    blocks (default), runs, points or wild; for tables points (default), wild, or the
    labels of a column, prepared as the chosen fit's rows were."""
    if curves:
        return {None: "block", "block": "block", "run": True, "point": None, "wild": "wild"}.get(groups, "block")
    if groups is None or (isinstance(groups, str) and groups == "wild"):
        return groups
    from .data import column_options, prepare_frame
    xmap, ycol = column_options(res.law, opts.get("columns"))
    _, prep = prepare_frame(frame, res.law, x=xmap, y=ycol, groups=groups, strict=bool(opts.get("strict")),
                            flops_per_token=opts.get("flops_per_token", 6.0))
    labels = prep.frame["group"].to_numpy()
    if len(labels) != res.n:
        raise ScalelawError(f"the bootstrap groups {groups!r} do not line up with the fitted rows; "
                            "bootstrap the chosen fit with groups=<labels>", option="groups")
    return labels


def rollout(data, law, by: str = "N", **options) -> pd.DataFrame:
    """Rollout validation (OLMo-style): fit on the smallest k groups of ``by`` (model sizes
    N, or compute budgets C), predict the next, for every k.  One row per k with the errors
    and extrapolation distances (×N, ×C); the per-point held-out errors in
    ``.attrs["errors"]``.  See :func:`scalelaw.fitting.validation.rollout` for the options;
    the refits use :func:`fit`."""
    from .validation import rollout as _rollout
    return _rollout(data, law, by, fitter=fit, **options)


def attach_cv(res: FitResult, data, law, *, cv: str, by: str | None, pool=None, n_jobs=None,
              options: dict | None = None, progress=None) -> FitResult:
    """Cross-validate ``law`` on ``data`` (see :func:`fit`'s ``cv``) and store the table in
    ``res.cv`` and the calibration of the new-run band in ``res.calibration``."""
    from .select import _mapper, calibration_of, cross_validate, cv_table
    opts = {k: v for k, v in (options or {}).items() if v is not None}
    if cv not in ("group", "rollout", "run"):
        raise ScalelawError(f"unknown cross-validation {cv!r}; use 'group' (leave one group out), "
                            "'rollout' or, for training logs, 'run'", option="cv")
    if law.predicts_curves:   # leave one run out
        _, errors, _, what, _ = cross_validate(data, [law], fitter=fit, curves=True, cv=cv, pool=pool,
                                            n_jobs=n_jobs, progress=progress,
                                            fit_options={**opts, "columns": {"loss": "loss"}},
                                            full={law.name: res})
        res.cv = cv_table(errors, what, True)
        res.calibration = calibration_of(res.cv)
        return res
    if cv == "run":
        raise ScalelawError("'run' cross-validation is for training logs; for a table use 'group' "
                            "(with the run column as the groups) or 'rollout'", option="cv")
    by = by or ("N" if "N" in law.variables or len(law.variables) != 1 else law.variables[0])
    with _mapper(pool, n_jobs, 8) as mp:
        if cv == "rollout":
            res.cv = rollout(data, law, by=by, pool=mp, progress=progress, **opts)
        else:
            res.cv = leave_one_group_out(data, law, by=by, pool=mp, progress=progress, **opts)
    res.calibration = calibration_of(res.cv)
    return res


#: columns that name a table's runs (seeds) and evaluation sets, for the noise components
REPLICATE_COLUMNS = ("run", "run_id", "seed", "eval", "eval_set")


def _components(res: FitResult, train: pd.DataFrame, env: pd.DataFrame):
    """The run-to-run and evaluation variance of a table with replicates
    (:func:`scalelaw.fitting.components.estimate_components`), from the fit's residuals;
    without replicates the object says which parts are not identified."""
    from .components import estimate_components
    law = res.law
    frame = train[[v for v in law.variables if v in train]].copy()
    for c in REPLICATE_COLUMNS:
        if c in env and c not in frame:
            frame[c] = env[c].to_numpy()
    r = np.asarray(res.residuals, dtype=float)
    if len(r) != len(frame) or not np.all(np.isfinite(r)):
        return None
    try:
        return estimate_components(frame, list(law.variables), -r,
                                   n_params=len(res.free) + len(res.anchored))
    except ScalelawError as e:
        res.notes.append(f"noise components not estimated: {e}")
        return None


def _column_options(law, columns, x, y):
    """``columns`` (or the deprecated ``x``/``y``) as the variable mapping and target column
    that :func:`~scalelaw.fitting.data.prepare_frame` takes."""
    if x is not None:
        deprecated("fit(x=...)", "columns={variable: column}", stacklevel=4)
    if y is not None:
        deprecated("fit(y=...)", "columns={'loss': column}", stacklevel=4)
    from .data import column_options
    if columns is None:
        return x, y
    cols, target = column_options(law, columns)
    return (cols or x), (target or y)


def _make_result(problem: Problem, p_hat, f_hat, prep, notes) -> FitResult:
    from .uncertainty import sandwich_cov

    law, design = problem.law, problem.design
    with np.errstate(all="ignore"):
        cov = sandwich_cov(problem, p_hat)
    pred = problem.predict(p_hat)
    r, _ = problem.obj.residual(pred, problem.y)
    n_est = int(problem.free_mask.sum()) + len(problem.anchored)   # anchored ones are estimated too
    w = problem.w
    scale = float(np.sqrt(np.sum(w * r ** 2) / np.sum(w) * problem.n / max(dof(problem.n, n_est), 1)))
    metrics = compute_metrics(problem.y, pred, n_est, problem.obj.space)
    info = dict(design.info or {})
    info.pop("weights", None)
    res = FitResult(law, p_hat, list(problem.user_fixed), cov, f_hat, problem.obj, problem.n,
                    anchored=list(problem.anchored), domain=law.domain(design),
                    residual_scale=scale, mapping=prep.mapping,
                    notes=notes + list(info.pop("notes", [])) + problem.notes
                    + (problem.last_info.notes if problem.last_info else []), metrics=metrics,
                    residuals=r, fitted=pred, observed=problem.y, problem=problem,
                    design_info={k: v for k, v in info.items() if _jsonable(v)},
                    bounds=problem.bounds, convergence=problem.last_info)
    res.notes.extend(_degeneracy_notes(res))
    return res


def _degeneracy_notes(res: FitResult) -> list[str]:
    """Notes for fits that should not be trusted as they stand: a law that fits worse than
    a constant (R² < 0 in the fit's space) and free parameters the data do not identify (a
    zero or non-finite asymptotic standard error)."""
    out = []
    r2 = res.metrics.get("r2_log" if res.settings.space == "log" else "r2")
    if r2 is not None and np.isfinite(r2) and r2 < 0:
        out.append(f"R2 = {r2:.3g} < 0: the law fits worse than a constant; the data may mix "
                   "conditions (filter them) or need another law")
    se = res._asymptotic_se()
    flat = [p for p in res.free if not (np.isfinite(se.get(p, np.nan)) and se[p] > 0)
            and p not in res.at_bound]
    if flat:
        out.append(f"{', '.join(flat)} not identified by the data (asymptotic standard error "
                   f"zero or undefined): fix {'it' if len(flat) == 1 else 'them'} or give more varied data")
    return out


def _jsonable(v):
    import json
    try:
        json.dumps(v)
        return True
    except TypeError:
        return False


def leave_one_group_out(data, law, by: str, *, pool: Any = None, progress: Any = None,
                        **options) -> pd.DataFrame:
    """Refit without each group (e.g. ``by="N"``: each model size) and score the fit on the
    group left out.  Returns one row per group (``group, n, rmse, mape, max_abs_err``) and
    the mean over groups in ``.attrs["mean"]``, the per-point held-out errors (see
    :func:`scalelaw.fitting.bands.heldout_errors`) in ``.attrs["errors"]``.  The refits
    run serially unless ``pool`` (any object with ``map``, e.g. an executor of
    :mod:`scalelaw.train.executors`, a ``multiprocessing`` pool) is given;
    ``progress(done, total)`` is called after each refit.  Other keywords go to
    :func:`fit`.  The folds are those of :func:`scalelaw.fitting.select.cross_validate`."""
    from ..laws import get_law
    from .select import cross_validate

    law0 = get_law(law)
    columns = options.pop("columns", None)
    if options.get("x") is not None or options.get("y") is not None:   # deprecated spellings
        xmap, ycol = _column_options(law0, columns, options.pop("x", None), options.pop("y", None))
        columns = {**(dict(zip(law0.variables, xmap)) if isinstance(xmap, (list, tuple)) else
                      {xmap: xmap} if isinstance(xmap, str) else dict(xmap or {})),
                   **({law0.target: ycol} if ycol else {})}
    opts = {k: v for k, v in options.items() if k not in ("holdout", "where")}
    _, errors, _, what, _ = cross_validate(data, [law0], fitter=fit, curves=False, cv="group", by=by,
                                           pool=pool, progress=progress, fit_all=False,
                                           fit_options={**opts, "columns": columns})
    errors = errors.drop(columns=["law"])
    rows = [{"group": g, **holdout_scores(e["observed"], e["predicted"])}
            for g, e in errors.groupby("fold", sort=False)]
    out = pd.DataFrame(rows)
    out.attrs["mean"] = out[["rmse", "mape", "max_abs_err"]].mean().to_dict()
    out.attrs["kind"] = what
    out.attrs["errors"] = errors
    return out


__all__ = ["fit", "leave_one_group_out", "rollout"]
