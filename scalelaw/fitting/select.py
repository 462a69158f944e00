"""Law selection and averaging by cross-validation on whole groups.

``fit(data, ["chinchilla", "kaplan"])``, ``fit(data, "auto")`` or, for training logs,
``fit_lr(logs, ["momentum", "multipower"])`` fits every candidate law, scores each by
cross-validation on whole groups and returns the chosen candidate's
:class:`~scalelaw.fitting.FitResult` with a :class:`Selection` in ``result.selection``.

Folds (:func:`folds`):

* training logs (LR-schedule laws): leave one run out;
* scaling tables: leave one group out (``by``, default the model size N) or rollout
  (fit on the smallest k groups, predict the next one, for every k).

Every candidate is scored on the same held-out points: the error of a point is
observed − predicted on the fit's scale (log loss for a log-space fit).  The score
(``cv_score``) is the mean of the fit's own per-point loss ρ of those errors (Huber with
its δ, or squared error) over all held-out points; for logs only the steps a fit scores
(after the warmup and the per-step noise treatment's early-step cut) are held-out points.

``select="best"`` keeps the candidate with the lowest score.  ``select="stack"`` combines
them: stacking weights ``w`` on the simplex minimise the same held-out loss ρ of the
combined prediction ``Σ w_k pred_k`` on the fit's scale (Breiman 1996; Yao et al. 2018
for the same construction on leave-one-out predictive densities).  A combination is worth it
when the candidates err on different held-out groups; when one law is the truth its weight
goes to one and stacking equals selection.  The combined prediction is the weighted mean on
the fit's scale, its bands the quantiles of the weighted mixture of the candidates' normal
bands.

The refits run serially unless ``pool`` (any object with ``map``) or ``n_jobs`` (worker
processes, as for the bootstrap) is given.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ScalelawError

#: the candidates ``"auto"`` tries, by the kind of data
AUTO = {
    "curves": ("momentum", "multipower"),
    "N,D": ("chinchilla", "kaplan"),
    "x": ("powerlaw_const", "powerlaw"),
}
SELECT_METHODS = ("best", "stack")
CV_KINDS = ("group", "rollout", "run")


class Selection:
    """The outcome of a selection: every candidate's fit and CV score, the weights.

    Attributes
    ----------
    method : ``"best"`` or ``"stack"``
    cv : what the folds were (``"leave one run out"``, ``"leave one N out"``, ``"rollout by N"``)
    table : DataFrame, one row per candidate: ``law, cv_score`` (the criterion: the fit's
        own per-point loss, mean over held-out points), ``cv_rmse, cv_mape, cv_final_err``
        (training logs: relative error of the mean of each held-out run's last 5% of points),
        ``folds, points, weight, chosen``
    candidates : ``{law name: FitResult}`` of the fits to all the data
    weights : ``{law name: weight}`` (1 for the chosen one with ``"best"``)
    chosen : the name of the selected (``"best"``) or highest-weight candidate
    errors : per held-out point frame (``law, fold, row, observed, predicted, error``)
    """

    def __init__(self, method, cv, table, candidates, weights, chosen, errors=None):
        self.method = method
        self.cv = cv
        self.table = table
        self.candidates = dict(candidates)
        self.weights = {k: float(v) for k, v in weights.items()}
        self.chosen = chosen
        self.errors = errors

    def summary_lines(self) -> list[str]:
        t = self.table
        lines = [f"law selection by cross-validation ({self.cv}), {self.method}: "
                 + ("weights " + ", ".join(f"{k} {v:.3f}" for k, v in self.weights.items())
                    if self.method == "stack" else f"chose {self.chosen}")]
        head = f"  {'law':<16}{'CV score':>12}{'CV RMSE':>11}{'CV MAPE':>10}"
        curves = "cv_final_err" in t and t["cv_final_err"].notna().any()
        head += f"{'final err':>11}" if curves else ""
        head += f"{'folds':>7}{'points':>8}{'weight':>8}"
        lines.append(head)
        t = t.apply(lambda c: c if c.name in ("law", "chosen") else pd.to_numeric(c, errors="coerce"))
        for _, r in t.iterrows():
            s = (f"  {r['law'] + (' *' if r['chosen'] else ''):<16}{r['cv_score']:>12.4g}{r['cv_rmse']:>11.4g}"
                 f"{100 * r['cv_mape']:>9.3f}%")
            if curves:
                s += f"{100 * r['cv_final_err']:>10.3f}%"
            s += f"{int(r['folds']):>7}{int(r['points']):>8}{r['weight']:>8.3f}"
            lines.append(s)
        lines.append("  (CV score: the fit's own per-point loss, mean over held-out points; * chosen)")
        return lines

    def predict(self, data=None, alpha: float = 0.05, chosen=None, **columns) -> pd.DataFrame:
        """The combined prediction (``method == "stack"``): each candidate's prediction, then
        the weighted mean on the fit's scale and mixture quantiles for every band.
        ``chosen``: the fit that holds this selection, which stands for its own candidate
        (its bootstrap, if it was run after the selection, included)."""
        names = [k for k, w in self.weights.items() if w > 0]
        cands = dict(self.candidates)
        if chosen is not None:
            me = copy.copy(chosen)
            me.selection = None
            cands[self.chosen] = me
        preds = {k: cands[k].predict(data, alpha, **columns) for k in names}
        return combine_predictions(preds, {k: self.weights[k] for k in names},
                                   {k: cands[k].settings.space for k in names}, alpha)

    def to_dict(self, alpha: float = 0.05) -> dict:
        """JSON of the selection; the chosen candidate is the fit that holds it (not repeated)."""
        return {"method": self.method, "cv": self.cv, "chosen": self.chosen, "weights": self.weights,
                "table": json_records(self.table),
                "candidates": {k: _without_selection(r, alpha) for k, r in self.candidates.items()
                               if k != self.chosen}}

    @classmethod
    def from_dict(cls, d: dict, result_cls, chosen_result=None) -> "Selection":
        try:
            cands = {k: result_cls.from_json(v) for k, v in d["candidates"].items()}
            if chosen_result is not None:
                cands[d["chosen"]] = copy.copy(chosen_result)
            order = [r["law"] for r in d["table"]]
            cands = {k: cands[k] for k in order if k in cands}
            return cls(d["method"], d["cv"], pd.DataFrame(d["table"]), cands, d["weights"], d["chosen"])
        except (KeyError, TypeError, AttributeError) as e:
            raise ScalelawError(f"not a scalelaw fit JSON: malformed \"selection\" ({e})") from None


def _without_selection(res, alpha):
    """A candidate's JSON object without a selection or CV table of its own (its
    calibration stays: a combined prediction mixes the candidates' calibrated bands)."""
    keep = res.selection, res.cv
    res.selection = res.cv = None
    try:
        return res.to_dict(alpha)
    finally:
        res.selection, res.cv = keep


def stacked_note(fit) -> str | None:
    """For a stacked fit (a :class:`FitResult` or its JSON object), the one-line note that a
    computation which needs one set of parameters (allocation, schedule search) uses the
    highest-weight candidate; None for any other fit."""
    sel = fit.get("selection") if isinstance(fit, dict) else getattr(fit, "selection", None)
    if sel is None:
        return None
    method = sel.get("method") if isinstance(sel, dict) else sel.method
    if method != "stack":
        return None
    weights = sel.get("weights") if isinstance(sel, dict) else sel.weights
    chosen = sel.get("chosen") if isinstance(sel, dict) else sel.chosen
    return (f"a stacked fit: this uses its highest-weight law {chosen} (weight {weights.get(chosen, 1):.3g}) "
            "alone; predictions combine the laws")


def json_value(v):
    """A frame cell as JSON: numpy scalars as Python numbers, NaN and inf as None."""
    if isinstance(v, np.generic):
        v = v.item()
    return None if isinstance(v, float) and not np.isfinite(v) else v


def json_records(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as JSON objects (:func:`json_value` per cell)."""
    return [{k: json_value(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


# -- candidates ---------------------------------------------------------------------------
def candidate_names(law: Any, data: pd.DataFrame | None = None, curves: bool | None = None) -> list:
    """The candidate laws ``law`` names: a list (or tuple) of laws, a comma-separated
    string of names, or ``"auto"`` (:data:`AUTO`, by the kind of data)."""
    if isinstance(law, str):
        key = law.strip().lower()
        if key == "auto":
            return list(AUTO[data_kind(data, curves)])
        return [p.strip() for p in law.split(",") if p.strip()]
    return list(law)


def is_candidates(law: Any) -> bool:
    """Whether ``law`` names several laws (a list, ``"a,b"``) or ``"auto"``."""
    if isinstance(law, (list, tuple)):
        return True
    if isinstance(law, str):
        key = law.strip().lower()
        return key == "auto" or ("," in key and not any(ch in key for ch in "+-*/^()"))
    return False


def data_kind(data, curves=None) -> str:
    """``"curves"`` (training logs: step and lr columns), ``"N,D"`` (a table with two of
    N, D, C) or ``"x"`` (one variable): which :data:`AUTO` candidates apply."""
    if curves:
        return "curves"
    if data is None:
        return "N,D"
    from ..io.columns import resolve
    cols = list(data.columns)
    have = resolve(cols, ["step", "lr", "N", "D", "C"], required=[])
    if "step" in have and "lr" in have and curves is not False:
        return "curves"
    if sum(v in have for v in ("N", "D", "C")) >= 2:
        return "N,D"
    return "x"


# -- folds --------------------------------------------------------------------------------
def folds(labels, kind: str = "group") -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """``(fold label, train mask, test mask)`` for each fold over row ``labels``: each group
    left out (``"group"``, ``"run"``).  Rollout folds are
    :func:`scalelaw.fitting.validation.rollout`'s."""
    labels = np.asarray(labels)
    groups = pd.unique(labels)
    if len(groups) < 2:
        raise ScalelawError(f"cross-validation needs at least 2 groups; the data have {len(groups)}")
    if kind not in ("group", "run"):
        raise ScalelawError(f"unknown cross-validation {kind!r}; use one of {', '.join(CV_KINDS)}")
    return [(g, labels != g, labels == g) for g in groups]


# -- the selection ------------------------------------------------------------------------
def select_laws(data, laws, *, fitter, curves: bool, cv: str | None = None, by: str | None = None,
                select: str = "best", pool=None, n_jobs: int | None = None, progress=None,
                fit_options: dict | None = None):
    """Fit every candidate in ``laws`` (see :func:`candidate_names`), score each by
    cross-validation, and return the chosen fit with its :class:`Selection` (and the
    chosen law's CV table in ``result.cv``).

    ``fitter``: the fit function of each candidate (:func:`scalelaw.fitting.fit`, or
    :func:`scalelaw.fitting.fit_lr` for training logs; this module sits below both, which
    pass themselves).  ``curves``: the data are training logs (frame ``step, lr, loss,
    run``).  ``cv``: ``"run"`` (logs; the default there), ``"group"`` (default for tables)
    or ``"rollout"``; ``by``: the group column of a table (default ``"N"``)."""
    if select not in SELECT_METHODS:
        raise ScalelawError(f"unknown selection {select!r}; use one of {', '.join(SELECT_METHODS)}",
                            option="select")
    names_in = candidate_names(laws, data if isinstance(data, pd.DataFrame) else None, curves)
    if len(names_in) < 2:
        raise ScalelawError("law selection needs at least two candidate laws, e.g. "
                            "'chinchilla,kaplan' or 'auto'", option="law")
    full, errors, names, what, tables = cross_validate(
        data, names_in, fitter=fitter, curves=curves, cv=cv, by=by, pool=pool, n_jobs=n_jobs,
        progress=progress, fit_options=fit_options)
    table, weights = _score(errors, names, select, curves, full[names[0]].settings)
    chosen = names[int(np.argmax([weights[n] for n in names]))]
    res = full[chosen]
    # the candidates are shallow copies (the chosen fit holds the selection, they do not),
    # each with its own CV table and the calibration its held-out errors give
    cands = {}
    for k, r in full.items():
        c = cands[k] = copy.copy(r)
        c.cv = tables.get(k)
        if c.cv is None:
            c.cv = cv_table(errors[errors["law"] == k], what, curves)
        c.calibration = calibration_of(c.cv)
    res.selection = Selection(select, what, table, cands, weights, chosen, errors)
    res.cv, res.calibration = cands[chosen].cv, cands[chosen].calibration
    res.notes.append(f"law {'chosen' if select == 'best' else 'combined'} by cross-validation ({what}) "
                     f"among {', '.join(names)}: "
                     + ", ".join(f"{n} CV score {s:.4g}" for n, s in zip(table['law'], table['cv_score'])))
    return res


def fit_lr_cv(data: pd.DataFrame, law, lr_options: dict, fit_options: dict, *, fitter):
    """``fit_lr`` (``fitter``) with law selection (``law`` several candidates or
    ``"auto"``) or leave-one-run-out cross-validation (``cv="run"``) of one law; the
    bootstrap (``bootstrap=n``) is of the chosen fit."""
    fo = dict(fit_options)
    cv = fo.pop("cv", None) or "run"
    select = fo.pop("select", "best")
    pool, n_jobs = fo.pop("pool", None), fo.pop("n_jobs", None)
    boot, seed = fo.pop("bootstrap", 0), fo.get("seed", 0)
    progress = fo.pop("progress", None)
    groups = fo.get("groups", "block")
    opts = {**lr_options, **fo}
    if is_candidates(law):
        res = select_laws(data, law, fitter=fitter, curves=True, cv=cv, select=select, pool=pool,
                          n_jobs=n_jobs, progress=progress, fit_options=opts)
    else:
        res = fitter(data, law, **opts)
        full, errors, _, what, _ = cross_validate(data, [law], fitter=fitter, curves=True, cv=cv, pool=pool,
                                                  n_jobs=n_jobs, progress=progress, fit_options=opts,
                                                  full={res.law.name: res})
        res.cv = cv_table(errors, what, True)
        res.calibration = calibration_of(res.cv)
    if boot:
        res.bootstrap(int(boot), groups={"block": "block", "run": True, "point": None, "wild": "wild"}.get(groups, "block"),
                      seed=seed, pool=pool, n_jobs=n_jobs)
    return res


def cross_validate(data, laws, *, fitter, curves: bool, cv: str | None = None, by: str | None = None,
                   pool=None, n_jobs: int | None = None, progress=None, fit_options: dict | None = None,
                   full: dict | None = None, fit_all: bool = True):
    """Refit each law of ``laws`` with ``fitter`` on every fold's training rows and predict
    its held-out rows.  Returns ``(fits to all data {name: FitResult}, held-out errors
    frame, names, what the folds were, {name: rollout table} for rollout)``; ``full`` gives
    fits already made (not refitted); ``fit_all=False`` makes none (the fold refits only).
    Rollout folds are those of :func:`scalelaw.fitting.validation.rollout`, restricted to
    the steps every candidate can be fitted on."""
    from ..laws import get_law
    opts = dict(fit_options or {})
    opts.pop("bootstrap", None)
    user_columns = opts.get("columns")
    frame, labels, names, specs, by, raw_weights = _setup(data, laws, curves, by, opts)
    kind = cv or ("run" if curves else "group")
    if kind not in CV_KINDS:
        raise ScalelawError(f"unknown cross-validation {kind!r}; use one of {', '.join(CV_KINDS)}",
                            option="cv")
    if curves and kind != "run":
        raise ScalelawError(f"training logs are cross-validated by leaving one run out, not {kind!r}",
                            option="cv")
    if not curves and kind == "run":
        raise ScalelawError("'run' cross-validation is for training logs; for a table use 'group' "
                            "(with the run column as the groups) or 'rollout'", option="cv")
    per = [opts if curves else dict(opts, columns={**{v: v for v in get_law(lw).variables}, "loss": "loss"})
           for lw in specs]
    full = dict(full or {})
    fl = [] if kind == "rollout" else folds(labels, kind)
    whole = [(i, lw, None, frame, None, curves, per[i], fitter) for i, lw in enumerate(specs)
             if fit_all and names[i] not in full]   # fits to all the data
    n_tasks = len(whole) + len(specs) * (len(fl) or len(set(labels)))
    with _mapper(pool, n_jobs, n_tasks) as mp:
        count = _Counter(n_tasks, progress)
        if curves:   # the full fits first: the folds keep their convention and noise cut
            full.update({names[t[0]]: r for t, r in zip(whole, count(mp.map(_one_task, whole)))})
            per = [_fold_options(per[i], full[names[i]]) for i in range(len(specs))]
            whole = []
        tasks = [(i, lw, lab, frame.loc[tr].reset_index(drop=True), frame.loc[te], curves, per[i], fitter)
                 for i, lw in enumerate(specs) for lab, tr, te in fl] + whole
        results = list(count(mp.map(_one_task, tasks)))
        full.update({names[i]: r for (i, _, lab, *_), r in zip(tasks, results) if lab is None})
        errs = [r.assign(law=names[i], fold=lab) for (i, _, lab, *_), r in zip(tasks, results)
                if lab is not None]
        tables = {}
        if kind == "rollout":
            errs, tables = _rollout_errors(data, specs, names, by, fitter, mp,
                                           {k: v for k, v in opts.items() if k not in ("columns", "weights")}
                                           | ({"weights": raw_weights} if raw_weights is not None else {}),
                                           user_columns)
    errors = pd.concat(errs, ignore_index=True) if errs else pd.DataFrame()
    what = {"run": "leave one run out", "group": f"leave one {by} out", "rollout": f"rollout by {by}"}[kind]
    return full, errors, names, what, tables


def _rollout_errors(data, specs, names, by, fitter, mp, opts, columns):
    """Each candidate's rollout held-out errors on the rollout steps common to all (each
    law starts where it can be fitted), rows numbered within each step."""
    from .validation import rollout
    per, tables = [], {}
    for spec, name in zip(specs, names):
        t = rollout(data, spec, by=by, fitter=fitter, pool=mp, columns=columns, **opts)
        per.append((name, t.attrs["errors"]))
        tables[name] = t
    common = set.intersection(*(set(e["fold"]) for _, e in per))
    if not common:
        raise ScalelawError(f"rollout by {by}: the candidates share no step they can all be fitted on; "
                            "give more groups", option="cv")
    out = []
    for name, e in per:
        e = e[e["fold"].isin(common)].copy()
        e["row"] = [f"{f}:{i}" for f, i in zip(e["fold"], e.groupby("fold").cumcount())]
        out.append(e.assign(law=name))
    return out, tables


def calibration_of(cv: pd.DataFrame):
    """The calibration of the new-run band from a CV table's held-out errors
    (:func:`scalelaw.fitting.calibration.calibrate`), or None when they carry no new-run sd."""
    e = cv.attrs.get("errors")
    if e is None or not len(e) or "sd_obs" not in e:
        return None
    from .calibration import calibrate
    try:
        return calibrate(e.assign(fold=e["fold"].astype(str)), source=cv.attrs.get("kind"))
    except ScalelawError:   # too few usable held-out points: no calibrated band
        return None


def cv_table(errors: pd.DataFrame, what: str, curves: bool) -> pd.DataFrame:
    """One row per fold of one law's held-out errors: ``fold, n, rmse`` (fit scale),
    ``mape`` and for logs ``final_err`` (the relative error of the mean of the run's last
    5% of points); ``.attrs``: ``kind``, ``errors`` (the per-point frame), ``mean``."""
    rows = []
    for fold, e in errors.groupby("fold", sort=False):
        err = e["error"].to_numpy(dtype=float)
        ok = np.isfinite(err)
        row = {"fold": fold, "n": int(ok.sum()),
               "rmse": float(np.sqrt(np.mean(err[ok] ** 2))) if ok.any() else np.nan,
               "mape": float(np.nanmean(np.abs(e["predicted"] / e["observed"] - 1)))}
        if curves:
            row["final_err"] = _final_err(e)
        for extra in ("distance",):
            if extra in e:
                row["distance"] = float(np.nanmax(e[extra]))
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["kind"] = what
    out.attrs["errors"] = errors.drop(columns=[c for c in ("law",) if c in errors]).reset_index(drop=True)
    out.attrs["mean"] = out[[c for c in ("rmse", "mape", "final_err") if c in out]].mean().to_dict()
    return out


def _final_err(e: pd.DataFrame) -> float:
    """Mean over runs of |mean predicted / mean observed − 1| over each run's last 5% of
    held-out points (the end of training, where the per-step noise averages out)."""
    fin = []
    for _, g in e.groupby("run"):
        tail = g.sort_values("step").iloc[-max(1, len(g) // 20):]
        fin.append(abs(tail["predicted"].mean() / tail["observed"].mean() - 1))
    return float(np.mean(fin)) if fin else np.nan


def _setup(data, names_in, curves, by, opts):
    """The shared frame, its fold labels, and the candidates (names and law specs)."""
    from ..laws import get_law
    laws_ = [get_law(lw) for lw in names_in]
    names = []
    for lw in laws_:
        nm = lw.name
        while nm in names:
            nm += "'"
        names.append(nm)
    kinds = {bool(lw.predicts_curves) for lw in laws_}
    if len(kinds) > 1:
        raise ScalelawError("candidate laws mix LR-schedule laws and scaling laws; compare laws of one kind",
                            option="law")
    if curves != kinds.pop():
        raise ScalelawError("these candidates are " + ("LR-schedule laws: fit training logs"
                            if not curves else "scaling laws: fit a table of runs"), option="law")
    if curves:
        from ..io.curves import read_curves
        frame = data if isinstance(data, pd.DataFrame) else read_curves(data)
        frame = frame.reset_index(drop=True)
        if "run" not in frame:
            frame = frame.assign(run="run")
        return frame, frame["run"].astype(str).to_numpy(), names, names_in, "run", None
    from .data import as_frame, bind_x, column_options, prepare_frame
    table = as_frame(data)
    xmap, ycol = column_options(laws_[0], opts.pop("columns", None))
    bound = [bind_x(lw, table, xmap)[0] for lw in laws_]   # one-variable laws: the same x
    if by is None:
        by = "N" if "N" in bound[0].variables or len(bound[0].variables) != 1 else bound[0].variables[0]
    weights = opts.pop("weights", None)
    law0, prep = prepare_frame(table, bound[0], x=xmap, y=ycol, groups=by, weights=weights,
                               flops_per_token=opts.get("flops_per_token", 6.0))
    frame = prep.frame
    labels = frame.pop("group").to_numpy()
    frame = frame.rename(columns={"y": "loss"})
    if weights is not None:
        opts["weights"] = "weight"   # the refits read the prepared column
    for lw in bound:
        missing = [v for v in lw.variables if v not in frame]
        if missing:
            raise ScalelawError(f"candidate {lw.name} needs {', '.join(missing)}, which "
                                f"{laws_[0].name}'s columns do not give; compare laws of the same variables",
                                option="law")
    return frame, labels, names, bound, by, weights



class _mapper:
    """``with _mapper(pool, n_jobs, n) as m: m.map(fn, tasks)``: ``pool`` itself, a process
    pool of ``n_jobs`` workers (forkserver, as the bootstrap), or serial; ``m`` is an object
    with ``map``, so it can be handed on as a ``pool``."""

    def __init__(self, pool, n_jobs, n_tasks):
        self.pool, self.n_jobs, self.n = pool, n_jobs, n_tasks
        self.ex = None

    def __enter__(self):
        from .uncertainty import n_processes, process_context
        if self.pool is not None:
            return self.pool
        procs = min(n_processes(self.n_jobs), max(self.n, 1))
        if procs > 1:
            from concurrent.futures import ProcessPoolExecutor
            self.ex = ProcessPoolExecutor(max_workers=procs, mp_context=process_context())
        return self

    def map(self, fn, tasks):
        return self.ex.map(fn, tasks) if self.ex is not None else map(fn, tasks)

    def __exit__(self, *exc):
        if self.ex is not None:
            self.ex.shutdown(wait=exc[0] is None, cancel_futures=exc[0] is not None)
        return False


class _Counter:
    """Passes results through, calling ``progress(done, total)`` after each."""

    def __init__(self, total, progress):
        self.total, self.progress, self.done = total, progress, 0

    def __call__(self, it):
        for r in it:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)
            yield r


def _fold_options(opts: dict, res) -> dict:
    """Fold refits of an LR-schedule law keep the warmup convention and the per-step noise
    treatment (early-step cut, weights; docs/perstep.md) its fit to all the data chose,
    unless the caller set them: two discrete choices, each of which would otherwise cost a
    search per refit.  The parameters are searched afresh (no start from the full fit: a
    refit started there keeps what its runs cannot pin down, e.g. the annealing terms from a
    constant run alone, and would score the held-out run with its own data)."""
    out = dict(opts)
    conv = res.law.config().get("convention")
    if conv and out.get("convention") in (None, "auto"):
        out["convention"] = conv
    record = (res.design_info or {}).get("noise")   # the per-step noise treatment's choice
    if isinstance(record, dict) and out.get("noise", "auto") == "auto":
        out["noise"] = "off" if record.get("mode") == "off" else record
    return out


def _one_task(task):
    """One fold's refit and its held-out errors, or (no test rows) the fit to all data
    (module level, so process pools can pickle it)."""
    import warnings

    from ..errors import ScalelawWarning
    i, law, fold, train, test, curves, opts, fitter = task
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        res = fitter(train, law, **opts)
        if test is None:
            return res
        return _heldout(res, test, curves)


def _heldout(res, test, curves) -> pd.DataFrame:
    """Observed and predicted values of the held-out rows (``row``: their index in the
    shared frame), the error on the fit's scale, and for logs each row's run and step."""
    log = res.settings.space == "log"
    if curves:   # with the new-run sds and distances that calibrate curve bands
        from .bands import curve_prediction
        test = test.assign(_row=test.index.to_numpy())
        pred = curve_prediction(res, test.drop(columns="_row").reset_index(drop=True), details=True)
        if "run" not in pred:
            pred["run"] = str(test["run"].iloc[0])
        rows = test.set_index([test["run"].astype(str), "step"])["_row"]
        idx = pd.MultiIndex.from_arrays([pred["run"].astype(str), pred["step"]])
        W = res.law.warmups(test) if hasattr(res.law, "warmups") else {}
        step = pred["step"].to_numpy(dtype=float)
        cut = float(((res.design_info or {}).get("noise") or {}).get("start") or 0)
        first = np.fmax(np.array([W.get(r, 0) or 0 for r in pred["run"]], dtype=float), cut)
        keep = np.isfinite(pred["loss"].to_numpy(dtype=float)) & (step >= first)   # what the fit scores
        out = pd.DataFrame({"row": rows.reindex(idx).to_numpy()[keep], "run": pred["run"].astype(str)[keep],
                            "step": step[keep], "observed": pred["loss"].to_numpy(dtype=float)[keep],
                            "predicted": pred["loss_pred"].to_numpy(dtype=float)[keep],
                            "sd_curve": pred["sd_curve"].to_numpy(dtype=float)[keep],
                            "sd_obs": pred["sd_obs"].to_numpy(dtype=float)[keep],
                            "distance": pred["distance"].to_numpy(dtype=float)[keep]})
    else:   # tables: the errors, distances and new-run sds that calibrate bands
        from .bands import heldout_errors
        out = heldout_errors(res, test.rename(columns={"loss": "y"})).drop(columns="fold")
        out.insert(0, "row", test.index.to_numpy())
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        out["error"] = (np.log(out["observed"] / out["predicted"]) if log
                        else out["observed"] - out["predicted"])
    return out


def _score(errors: pd.DataFrame, names, select, curves, objective):
    """The CV table and the candidates' weights.  A candidate's score (``cv_score``) is the
    mean of the fit's own per-point loss ρ (``objective``: Huber with its δ, or squared
    error, on the fit's scale) over all held-out points; the lowest wins."""
    rows = []
    wide = errors.pivot_table(index="row", columns="law", values="error", aggfunc="first")
    common = wide.dropna()
    for n in names:
        e = errors[errors["law"] == n]
        err = e["error"].to_numpy(dtype=float)
        ok = np.isfinite(err)
        rel = np.abs(e["predicted"] / e["observed"] - 1).to_numpy(dtype=float)
        final = _final_err(e) if curves and len(e) else np.nan
        rows.append({"law": n,
                     "cv_score": float(np.mean(objective.rho(-err[ok]))) if ok.any() else np.inf,
                     "cv_rmse": float(np.sqrt(np.mean(err[ok] ** 2))) if ok.any() else np.inf,
                     "cv_mape": float(np.nanmean(rel)) if len(rel) else np.nan, "cv_final_err": final,
                     "folds": int(e["fold"].nunique()), "points": int(ok.sum())})
    table = pd.DataFrame(rows)
    if not curves:
        table = table.drop(columns="cv_final_err")
    scores = table["cv_score"].to_numpy()
    if not np.isfinite(scores).any():
        raise ScalelawError("no candidate law predicted its held-out groups (every CV error is "
                            "undefined); check the data or give other laws")
    if select == "stack" and len(common) >= 2:
        w = stacking_weights(common[names].to_numpy(), objective)
    else:
        w = np.zeros(len(names))
        w[int(np.argmin(np.where(np.isfinite(scores), scores, np.inf)))] = 1.0
    table["weight"] = w
    first = int(np.argmax(w))
    table["chosen"] = [i == first for i in range(len(w))]
    return table, dict(zip(names, w))


def stacking_weights(errors: np.ndarray, objective=None) -> np.ndarray:
    """Weights ``w`` on the simplex minimising the mean held-out loss ``ρ(Σ_k w_k e_ik)``,
    where ``e_ik`` is the held-out error (observed − predicted, fit scale) of candidate k at
    point i (the combined prediction ``Σ w_k pred_k`` errs by ``Σ w_k e_ik`` since the
    weights sum to one) and ρ the fit's per-point loss (``objective``; squared error if
    None).  Convex in ``w``; solved by SLSQP."""
    from scipy import optimize

    E = np.asarray(errors, dtype=float)
    K = E.shape[1]
    if objective is None:
        from .objective import Objective
        objective = Objective(loss="l2")
    w0 = np.full(K, 1.0 / K)
    scale = float(np.mean(objective.rho(-E @ w0))) or 1.0   # order one: SLSQP's tolerances are absolute

    def f(w):
        r = -E @ w
        return float(np.mean(objective.rho(r))) / scale, -(objective.psi(r) @ E) / len(E) / scale

    best = None
    for start in [w0] + [np.eye(K)[k] for k in range(K)]:
        res = optimize.minimize(f, start, jac=True, method="SLSQP", bounds=[(0, 1)] * K,
                                constraints=({"type": "eq", "fun": lambda w: w.sum() - 1,
                                              "jac": lambda w: np.ones_like(w)},),
                                options={"ftol": 1e-12, "maxiter": 200})
        if best is None or res.fun < best.fun:
            best = res
    w = np.clip(best.x, 0, None)
    w[w < 1e-4] = 0.0
    return w / w.sum()


# -- combined predictions -----------------------------------------------------------------
_BANDS = (("mean_ci_lower", "mean_ci_upper"), ("obs_ci_lower", "obs_ci_upper"),
          ("cal_ci_lower", "cal_ci_upper"), ("loss_lower", "loss_upper"),
          ("loss_cal_lower", "loss_cal_upper"))


def combine_predictions(preds: dict, weights: dict, spaces: dict, alpha: float) -> pd.DataFrame:
    """The weighted combination of the candidates' prediction frames (same rows): the
    weighted mean of the central prediction on the fit's scale, and each band as the
    ``alpha/2`` and ``1 − alpha/2`` quantiles of the mixture of normals the candidates'
    bands describe (sd = band half-width / z)."""
    from scipy.special import ndtri

    names = list(preds)
    first = preds[names[0]]
    log = spaces[names[0]] == "log"
    fwd, back = (np.log, np.exp) if log else ((lambda v: v), (lambda v: v))
    w = np.array([weights[n] for n in names], dtype=float)
    w = w / w.sum()
    out = first.copy()
    center_col = "loss_pred" if "loss_pred" in first else "mean"
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.stack([fwd(preds[n][center_col].to_numpy(dtype=float)) for n in names])
        out[center_col] = back(w @ C)
        z = ndtri(1 - alpha / 2)
        for lo_c, hi_c in _BANDS:
            if lo_c not in first or not all(lo_c in preds[n] for n in names):
                continue
            L = np.stack([fwd(preds[n][lo_c].to_numpy(dtype=float)) for n in names])
            H = np.stack([fwd(preds[n][hi_c].to_numpy(dtype=float)) for n in names])
            M, S = (L + H) / 2, (H - L) / (2 * z)
            out[lo_c] = back(_mixture_quantile(w, M, S, alpha / 2))
            out[hi_c] = back(_mixture_quantile(w, M, S, 1 - alpha / 2))
    out.attrs["combined"] = dict(zip(names, w.tolist()))
    return out


def _mixture_quantile(w, M, S, q, iters: int = 60):
    """The q-quantile of Σ_k w_k N(M_k, S_k²) per column, by bisection."""
    from scipy import stats

    ok = np.all(np.isfinite(M) & np.isfinite(S), axis=0)
    lo = np.where(ok, np.min(M - 10 * S, axis=0), np.nan)
    hi = np.where(ok, np.max(M + 10 * S, axis=0), np.nan)
    Ssafe = np.where(S > 0, S, 1e-300)
    for _ in range(iters):
        mid = (lo + hi) / 2
        cdf = np.sum(w[:, None] * stats.norm.cdf((mid[None, :] - M) / Ssafe), axis=0)
        lo = np.where(cdf < q, mid, lo)
        hi = np.where(cdf < q, hi, mid)
    return (lo + hi) / 2


__all__ = ["Selection", "select_laws", "folds", "candidate_names", "is_candidates",
           "stacking_weights", "combine_predictions", "AUTO"]
