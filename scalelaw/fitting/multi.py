"""Several targets in one call: ``fit(data, law, targets=[...], share=(...))``.

Each target column (the loss on each evaluation set, say: ``loss_c4``, ``loss_paloma``) is
fitted with its own parameters of one law.  Without ``share`` every target is an ordinary
:func:`~scalelaw.fitting.fit` of that column, nothing more.  With ``share`` (e.g.
``("alpha", "beta")``) the targets are fitted jointly by the one engine: the table is
stacked (one row per run and target, a ``target_index`` variable), the law becomes a
:class:`~scalelaw.laws.joint.JointLaw` whose shared parameters appear once, and the joint
fit's covariance and bootstrap draws are cut into one :class:`FitResult` per target (a view:
its parameters, covariance, draws and residuals are the joint fit's for that target).  The
bootstrap of a joint fit resamples whole rows of the table (a run with all its targets)
unless ``groups`` names other units.

:class:`MultiFit` holds the per-target results (``.results``), the joint fit (``.joint``,
None without sharing), a tidy table of the estimates (``.frame``), the asymptote of each
target with its interval (:meth:`MultiFit.asymptotes`), predictions with a ``target``
column, and one JSON for all targets.  Losses are in the units of the table (nats per
token for the built-in laws).  docs/multitarget.md has an example.

This module sits below :mod:`.api`; it refits through ``fitter`` (:func:`fit`).
"""
from __future__ import annotations

import fnmatch
import os
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ..io.columns import show
from ..laws.joint import INDEX, JointLaw
from .results import FitResult

#: JSON marker of a multi-target fit (and its format version)
JSON_KEY = "multi_target"

#: the joint bootstrap's default unit, as the summary names it
ROW_UNIT = "whole rows of the table (a run with all its targets)"

#: the stacked table's own columns (refused as names in the user's table)
_VALUE, _ROW = "__target_value", "__row"


# -- targets ---------------------------------------------------------------------------------
def resolve_targets(frame: pd.DataFrame, targets) -> list[str]:
    """The target columns ``targets`` names in ``frame``: a column name, a glob such as
    ``"loss_*"`` (matched in table order), or a list of either; each column once, in the
    order given.  A name not in the table or a glob that matches nothing is a one-line
    :class:`ScalelawError`."""
    if isinstance(targets, str):
        targets = [t for t in (s.strip() for s in targets.split(",")) if t]
    targets = [str(t) for t in (targets or [])]
    if not targets:
        raise ScalelawError("no target columns given: name them, e.g. targets=['loss_c4', 'loss_paloma'] "
                            "or a glob 'loss_*'")
    cols = [str(c) for c in frame.columns]
    out: list[str] = []
    for t in targets:
        if any(ch in t for ch in "*?["):
            hits = [c for c in cols if fnmatch.fnmatchcase(c, t)]
            if not hits:
                raise ScalelawError(f"no column matches the target pattern {t!r}; the table has: "
                                    f"{show(cols)}; give a pattern that matches, or the column names")
        elif t in cols:
            hits = [t]
        else:
            raise ScalelawError(f"target column {t!r} is not in the table; it has: {show(cols)}; "
                                "name an existing column")
        out += [h for h in hits if h not in out]
    from .data import numeric_column
    for t in out:   # text in a target column: one line (the rule of every fit's target)
        numeric_column(frame, t, "target column", empty_ok=False)
    return out


def _share_names(share) -> tuple[str, ...]:
    if share is None:
        return ()
    if isinstance(share, str):
        share = share.split(",")
    return tuple(s.strip() for s in share if str(s).strip())


# -- fitting ---------------------------------------------------------------------------------
def fit_targets(data, law, targets, *, share=None, fitter, options: dict) -> "MultiFit":
    """:func:`~scalelaw.fitting.fit` with ``targets=``: one fit per target column, or with
    ``share`` one joint fit (see the module docstring).  ``options`` are fit's other
    keywords; ``fitter`` is :func:`~scalelaw.fitting.fit`."""
    from ..laws import get_law
    from .data import as_frame
    from .select import is_candidates

    if is_candidates(law):
        raise ScalelawError("several targets are fitted with one law: choose the law first "
                            "(fit one target with several candidate laws), then fit the targets")
    frame = as_frame(data)
    opts = dict(options)
    if opts.pop("y", None) is not None or opts.pop("loss", None) is not None:
        raise ScalelawError("targets= names the target columns; leave out y= (and give objective= "
                            "for the per-point loss)")
    law = get_law(law)
    if law.predicts_curves:
        raise ScalelawError(f"several targets apply to scaling laws of a table of runs, not to the "
                            f"LR-schedule law {law.name}")
    columns = dict(opts.pop("columns", None) or {})
    key = law.target if law.target in columns else "y" if "y" in columns else None
    if key is not None:
        raise ScalelawError(f"the targets name the {law.target} columns; a single one is named too "
                            f"(loss {columns[key]!r}): leave it out, and list it among the targets",
                            option="loss")
    names = resolve_targets(frame, targets)
    from ..io.columns import resolve
    used = resolve(frame.columns, list(law.variables) + ["N", "D", "C"],
                   mapping={k: v for k, v in columns.items() if isinstance(v, str)}, required=[])
    clash = [t for t in names if t in used.values()]
    if clash:
        raise ScalelawError(f"target column {clash[0]!r} is a variable of the fit "
                            f"({next(k for k, v in used.items() if v == clash[0])}); name loss columns only")
    share = _share_names(share)
    if share and len(names) < 2:
        raise ScalelawError(f"share= ties parameters across targets; {names[0]!r} is the only target")
    unknown = [s for s in share if s not in law.param_names]
    if unknown:
        raise ScalelawError(f"cannot share {', '.join(unknown)}: {law.name} has parameters "
                            f"{', '.join(law.param_names)}")
    per_param = {w: opts.get(w) for w in ("fix", "bounds", "start", "grid")}
    for w, given in per_param.items():   # per-target names (E[loss_c4]) checked once, up front
        _for_target(given, law, names, None, share, w)
    if share and opts.get("cv") is not None:
        raise ScalelawError("cross-validation of a joint fit with shared parameters is not available; "
                            "fit the targets without share= to cross-validate each")

    def own(t):   # the options of target t's own fit: NAME[t] as NAME, other targets' left out
        return {**opts, **{w: _for_target(g, law, names, t, share, w) for w, g in per_param.items()}}

    if not share:   # one ordinary fit per target
        results = {t: fitter(frame, law, columns={**columns, law.target: t}, **own(t)) for t in names}
        return MultiFit(results)
    separate = {t: fitter(frame, law, columns={**columns, law.target: t},
                          **{**own(t), "bootstrap": 0, "cv": None}) for t in names}
    return _fit_joint(frame, law, names, share, separate, columns, opts, fitter)


def _fit_joint(frame, law, names, share, separate, columns, opts, fitter) -> "MultiFit":
    """The joint fit with shared parameters, started from the separate fits."""
    for c in (INDEX, _VALUE, _ROW):
        if c in frame.columns:
            raise ScalelawError(f"the table has a column named {c!r}, which a fit of several targets "
                                "uses itself: rename it")
    base = separate[names[0]].law           # bound to its variable (one-variable laws)
    joint_law = JointLaw(base, names, share)
    from .data import numeric_column
    stacked = pd.concat([frame.assign(**{INDEX: float(j), _VALUE: numeric_column(frame, t).to_numpy(),
                                          _ROW: np.arange(len(frame))})
                         for j, t in enumerate(names)], ignore_index=True)
    mapping = {v: c for v, c in separate[names[0]].mapping.items()
               if v in base.variables and not str(c).startswith("derived")}
    groups = opts.pop("groups", None)
    rows = groups is None
    if rows:   # a run with all its targets is one resampling unit
        groups = stacked[_ROW].to_numpy()
    elif not isinstance(groups, str):
        groups = np.tile(np.asarray(groups), len(names))
    fix = _expand(joint_law, opts.pop("fix", None), "fix")
    bounds = _expand(joint_law, opts.pop("bounds", None), "bounds")
    grid = _start_grid(joint_law, separate, opts.pop("grid", None), opts.pop("start", None), fix)
    jcols = {**{v: c for v, c in columns.items() if v != law.target}, **mapping,
             law.target: _VALUE, INDEX: INDEX}
    res = fitter(stacked, joint_law, columns=jcols, groups=groups, fix=fix, bounds=bounds, grid=grid, **opts)
    if rows:
        res.design_info["bootstrap_unit"] = ROW_UNIT
        if res.boot is not None:
            res.boot_groups = ROW_UNIT
    views = joint_views(res, {t: separate[t].mapping for t in names})
    if opts.get("holdout") is not None:
        _holdout_per_target(frame, base, views, mapping, opts)
    test = share_test(res, separate)
    if test is not None:
        res.design_info["share_test"] = test
        if test["p"] < SHARE_TEST_LEVEL:
            res.notes.append(share_note(test, joint_law.share))
    return MultiFit(views, joint=res)


#: a sharing test below this p-value gets a note: the shared parameters may differ
SHARE_TEST_LEVEL = 0.01


def share_test(joint: FitResult, separate: dict) -> dict | None:
    """An approximate F test of the sharing: the squared fit-space residuals (weighted) of
    the joint fit against those of the separate fits, ``F = ((RSS_joint − RSS_sep)/q) /
    (RSS_sep/dof)`` with q the parameters sharing saves and dof = n − the separate fits'
    parameters.  A small p says the targets disagree on the shared parameters by more than
    their noise explains.  (Approximate: a Huber fit does not minimize the squares.)  None
    when the fits did not use the same rows."""
    from scipy import stats
    if joint._problem is None or any(r._problem is None for r in separate.values()):
        return None
    n = sum(r.n for r in separate.values())
    if n != joint.n:
        return None
    rss_j = float(np.sum(joint._problem.w * np.asarray(joint.residuals, dtype=float) ** 2))
    rss_s = float(sum(np.sum(r._problem.w * np.asarray(r.residuals, dtype=float) ** 2) for r in separate.values()))
    k_s = sum(len(r.free) + len(r.anchored) for r in separate.values())
    q = k_s - (len(joint.free) + len(joint.anchored))
    dof = n - k_s
    if q <= 0 or dof <= 0 or not (np.isfinite(rss_j) and np.isfinite(rss_s)) or rss_s <= 0:
        return None
    F = max(rss_j - rss_s, 0.0) / q / (rss_s / dof)
    return {"F": float(F), "q": int(q), "dof": int(dof), "p": float(stats.f.sf(F, q, dof))}


def share_note(test: dict, share) -> str:
    return (f"sharing {', '.join(share)} fits worse than the noise explains (approximate F({test['q']}, "
            f"{test['dof']}) = {test['F']:.3g}, p = {test['p']:.2g}): the targets may differ in them; "
            "compare the fits without sharing")


def _holdout_per_target(frame, base, views: dict, mapping: dict, opts: dict) -> None:
    """Each view's holdout scores on its own target's held-out rows (the joint fit's
    ``holdout`` scores all targets together)."""
    from .data import prepare_frame, row_mask
    from .metrics import holdout_scores
    for t, view in views.items():
        _, prep = prepare_frame(frame, base, x=mapping or None, y=t, strict=bool(opts.get("strict")),
                                flops_per_token=opts.get("flops_per_token", 6.0))
        test = prep.frame.loc[row_mask(prep.env, opts["holdout"], "holdout")]
        if len(test):
            d = base.prepare(test, target="y")
            pred = base.evaluate(d.x, view.params.to_numpy(dtype=float))
            view.holdout = {**holdout_scores(d.y, pred), "where": opts["holdout"]}


def _for_target(given, law, targets, target, share, what):
    """A per-parameter option (fix, bounds, start, grid) for the fit of ``target`` alone:
    base names (``"beta"``: every target) as given, ``"NAME[target]"`` as ``NAME`` (it
    wins over the base name), other targets' entries left out.  ``target=None`` only checks
    the per-target names: a known target and parameter, and not a shared one."""
    if not given:
        return given
    lookup = {f"{p}[{t}]": (p, t) for t in targets for p in law.param_names}
    out, mine = {}, {}
    for k, v in dict(given).items():
        k = str(k)
        if k in lookup:
            p, t = lookup[k]
            if p in share:
                raise ScalelawError(f"{what} for {k!r}: {p} is shared by all the targets; give it as "
                                    f"{p!r} (one value for all)", option=what)
            if t == target:
                mine[p] = v
        elif "[" in k and k.endswith("]"):
            p, t = k[:-1].split("[", 1)
            why = (f"{t!r} is not one of the targets ({', '.join(targets)})" if p in law.param_names
                   else f"{law.name} has parameters {', '.join(law.param_names)}")
            raise ScalelawError(f"{what} for {k!r}: {why}; per target write NAME[target]", option=what)
        else:
            out[k] = v
    return {**out, **mine}


def _expand(joint: JointLaw, given, what):
    """Per-parameter options (fix, bounds) given by base name (every target) or joint name
    (which wins over the base name)."""
    if not given:
        return given
    out, own = {}, {}
    for k, v in dict(given).items():
        if k in joint.param_names:
            own[k] = v
        elif k in joint.base.param_names:
            out.update({joint.joint_param(k, t): v for t in joint.targets})
        else:
            raise ScalelawError(f"{what} for unknown parameter {k!r}; {joint.base.name} has "
                                f"{', '.join(joint.base.param_names)} (per target: NAME[target])")
    return {**out, **own}


def _start_grid(joint: JointLaw, separate: dict, grid, start, fix) -> dict:
    """Start values of the joint search: each target's own nonlinear parameters at its
    separate estimate; a shared one over the law's grid plus the separate estimates."""
    base = joint.base
    lin = set(base.linear_params) if base.has_basis() else set()
    user = {**(_expand(joint, grid, "grid") or {}), **(_expand(joint, start, "start") or {})}
    out = {}
    for p in base.param_names:
        if p in lin:
            continue
        ests = np.array([separate[t].params[p] for t in joint.targets], dtype=float)
        if p in joint.share:
            if p in user:
                continue
            vals = np.concatenate([np.asarray(base.start_grid.get(p, []), dtype=float), ests, [ests.mean()]])
            out[p] = np.unique(vals[np.isfinite(vals)])
        else:
            for t, e in zip(joint.targets, ests):
                q = joint.joint_param(p, t)
                if q not in user and np.isfinite(e):
                    out[q] = np.array([e])
    out.update({k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in user.items()})
    return {k: v for k, v in out.items() if k not in (fix or {})}


def joint_views(res: FitResult, mappings: dict | None = None) -> dict:
    """One :class:`FitResult` of the base law per target of a joint fit ``res``: its
    parameters (shared ones included), the block of the joint covariance, the joint
    bootstrap draws of its parameters, its residuals, metrics and residual scale, and the
    notes that concern it.  Prediction, ``conf_int`` and JSON work on each as on any fit;
    refitting (its ``bootstrap``) goes through the :class:`MultiFit`."""
    from ..laws.base import Design
    from .bands import compute_range
    from .engine import SolveInfo
    from .metrics import compute_metrics
    from .objective import dof

    law: JointLaw = res.law
    base = law.base
    pr = res._problem
    idx = np.asarray(pr.design.x[INDEX]) if pr is not None else None
    out = {}
    for j, t in enumerate(law.targets):
        jn = [law.joint_param(p, t) for p in base.param_names]
        back = dict(zip(jn, base.param_names))
        fixed = [back[q] for q in jn if q in res.fixed]
        anchored = [back[q] for q in jn if q in res.anchored]
        free_j = [q for q in jn if q in res.free]
        cov = res.cov.loc[free_j, free_j].to_numpy() if free_j else np.zeros((0, 0))
        notes = _notes_for(res.notes, law, t) + [_shared_note(law, t, res)]
        conv = None
        if res.convergence is not None:
            c = res.convergence
            conv = SolveInfo(n_evaluations=c.n_evaluations, n_grid=c.n_grid, n_starts=c.n_starts,
                             converged=c.converged, message=c.message,
                             at_bound={back[q]: s for q, s in c.at_bound.items() if q in back},
                             grad_norm=c.grad_norm, notes=_notes_for(c.notes, law, t))
        bounds = {back[q]: res.bounds[q] for q in jn if q in res.bounds}
        kwargs: dict[str, Any] = {}
        n_j, domain, crange = 0, {}, None
        if idx is not None:
            rows = np.flatnonzero(idx == j)
            n_j = len(rows)
            y, pred, r = res.observed[rows], res.fitted[rows], res.residuals[rows]
            w = pr.w[rows]
            n_est = len(free_j) + len(anchored)
            with np.errstate(all="ignore"):
                objective = float(np.sum(w * res.settings.rho(r)))
                scale = float(np.sqrt(np.sum(w * r ** 2) / np.sum(w) * n_j / max(dof(n_j, n_est), 1)))
            x_j = {v: np.asarray(pr.design.x[v])[rows] for v in base.variables}
            domain = base.domain(Design(x=x_j, y=y))
            crange = compute_range(x_j)
            kwargs = dict(residuals=r, fitted=pred, observed=y, residual_scale=scale,
                          metrics=compute_metrics(y, pred, n_est, res.settings.space))
        else:
            objective = np.nan
        view = TargetFit(base, res.params[jn].to_numpy(), fixed, cov, objective, res.settings, n_j,
                         anchored=anchored, domain=domain, mapping=(mappings or {}).get(t),
                         notes=notes, design_info=dict(res.design_info), bounds=bounds, convergence=conv,
                         **kwargs)
        view.compute_range = crange
        _view_boot(view, res, jn, back)
        out[t] = view
    return out


class TargetFit(FitResult):
    """One target's view of a joint fit (see :func:`joint_views`): a :class:`FitResult` whose
    :meth:`bootstrap` resamples the joint fit (all targets at once) through its
    :class:`MultiFit`."""

    _multi: "MultiFit | None" = None

    def bootstrap(self, n: int = 1000, groups=None, seed: int = 0, pool=None, n_jobs=None, progress=None):
        """The joint fit's bootstrap (:meth:`MultiFit.bootstrap`); returns this target's draws."""
        if self._multi is None:
            raise ScalelawError("this target's fit is part of a joint fit: bootstrap the MultiFit "
                                "(multi.bootstrap(n)), which resamples all targets together")
        self._multi.bootstrap(n, groups=groups, seed=seed, pool=pool, n_jobs=n_jobs, progress=progress)
        return self.boot


def _view_boot(view: FitResult, res: FitResult, jn, back) -> None:
    if res.boot is not None:
        have = [q for q in jn if q in res.boot.columns]
        view.boot = res.boot[have].rename(columns=back).reset_index(drop=True)
        view.boot_groups = res.boot_groups
    else:
        view.boot, view.boot_groups = None, None


def _notes_for(notes, law: JointLaw, target: str) -> list[str]:
    """The joint fit's notes that concern ``target`` (or no target), its names unbracketed."""
    own, others = f"[{target}]", [f"[{t}]" for t in law.targets if t != target]
    return [n.replace(own, "") for n in notes if own in n or not any(o in n for o in others)]


def _shared_note(law: JointLaw, target: str, res: FitResult) -> str:
    others = ", ".join(t for t in law.targets if t != target)
    return (f"{', '.join(law.share)} shared with {others} (joint fit of {len(law.targets)} targets, "
            f"n = {res.n}); the other parameters are this target's own")


# -- the result ----------------------------------------------------------------------------------
class MultiFit:
    """The fits of several targets: ``results`` ({target: :class:`FitResult`}), ``joint``
    (the joint :class:`FitResult` of the :class:`~scalelaw.laws.joint.JointLaw` when
    parameters are shared, else None), ``share`` (their names), ``targets``, and

    * ``frame``: tidy estimates, one row per target and parameter: ``target, param,
      estimate, stderr, lower, upper, shared, fixed`` (95% intervals; :meth:`params_frame`
      for another level);
    * :meth:`asymptotes`: each target's irreducible loss with its interval;
    * :meth:`summary`, :meth:`predict` (a tidy frame with a ``target`` column),
      :meth:`bootstrap`, :meth:`to_json` / :meth:`from_json`.

    ``multi["loss_c4"]`` is that target's :class:`FitResult`; iterating gives the targets."""

    def __init__(self, results: dict, joint: FitResult | None = None):
        self.results = dict(results)
        self.joint = joint
        self.share = tuple(joint.law.share) if joint is not None else ()
        for r in self.results.values():
            if isinstance(r, TargetFit):
                r._multi = self

    @property
    def targets(self) -> list[str]:
        return list(self.results)

    @property
    def law(self):
        return next(iter(self.results.values())).law

    @property
    def n(self) -> int:
        return self.joint.n if self.joint is not None else sum(r.n for r in self.results.values())

    def __getitem__(self, target: str) -> FitResult:
        try:
            return self.results[target]
        except KeyError:
            raise ScalelawError(f"no target {target!r}; the targets are {', '.join(self.targets)}") from None

    def __iter__(self):
        return iter(self.results)

    def __len__(self):
        return len(self.results)

    def __repr__(self):
        shared = f", shared {', '.join(self.share)}" if self.share else ""
        return f"<MultiFit {self.law.name}: {len(self)} targets ({', '.join(self.targets)}){shared}>"

    # -- tables ------------------------------------------------------------------------------
    def params_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per target and parameter: ``target, param, estimate, stderr, lower,
        upper, shared, fixed`` ((1 − alpha) intervals, bootstrap when drawn)."""
        rows = []
        for t, r in self.results.items():
            ci, se = r.conf_int(alpha), r.stderr
            for p, v in r.params.items():
                rows.append({"target": t, "param": p, "estimate": float(v),
                             "stderr": np.nan if p in r.fixed else float(se.get(p, np.nan)),
                             "lower": float(ci.loc[p, "lower"]), "upper": float(ci.loc[p, "upper"]),
                             "shared": p in self.share, "fixed": p in r.fixed})
        return pd.DataFrame(rows)

    @property
    def frame(self) -> pd.DataFrame:
        return self.params_frame()

    def asymptotes(self, alpha: float = 0.05) -> pd.DataFrame:
        """Each target's asymptote, the loss its law tends to as every variable grows (the
        irreducible term: E of Chinchilla, L_inf of the encoder-decoder law; 0 for laws
        without one): ``target, param, estimate, lower, upper`` with the parameter's
        (1 − alpha) interval (``param`` empty and no interval when the limit is 0)."""
        rows = []
        for t, r in self.results.items():
            name, value = asymptote(r)
            lo = hi = np.nan
            if name:
                ci = r.conf_int(alpha)
                lo, hi = float(ci.loc[name, "lower"]), float(ci.loc[name, "upper"])
            rows.append({"target": t, "param": name or "", "estimate": value, "lower": lo, "upper": hi})
        return pd.DataFrame(rows)

    def summary(self, alpha: float = 0.05) -> str:
        """Each target's summary, then the asymptote per target and the shared parameters."""
        w = 78
        head = f"scalelaw fit of {len(self)} targets: {self.law.name}"
        lines = ["#" * w, f"{head:^{w}}",
                 f"targets: {', '.join(self.targets)}",
                 "shared:  " + (", ".join(self.share) + " (one joint fit)" if self.share
                                else "none (each target fitted on its own)")]
        if self.joint is not None:
            j = self.joint
            lines.append(f"joint:   objective {j.objective:.6g}, n = {j.n}, dof = {j.dof}, "
                         f"{len(j.free)} free parameters")
            test = j.design_info.get("share_test")
            if test:
                lines.append(f"sharing: approximate F({test['q']}, {test['dof']}) = {test['F']:.3g}, "
                             f"p = {test['p']:.2g} against the targets fitted on their own"
                             + (" (small: the targets may differ in the shared parameters)"
                                if test["p"] < SHARE_TEST_LEVEL else ""))
        lines.append("#" * w)
        for t, r in self.results.items():
            lines.append(f"target {t}")
            lines.append(r.summary(alpha))
        pct = f"{100 * (1 - alpha):g}%"
        lines.append(f"asymptote per target ({pct} interval):")
        a = self.asymptotes(alpha)
        lines.append(f"  {'target':<24}{'param':<8}{'estimate':>12}{'lower':>12}{'upper':>12}")
        for _, row in a.iterrows():
            lines.append(f"  {str(row['target']):<24}{row['param'] or '-':<8}{row['estimate']:>12.5g}"
                         f"{row['lower']:>12.5g}{row['upper']:>12.5g}")
        unnamed = ~a["param"].astype(bool)
        if (unnamed & (a["estimate"] == 0)).any():
            lines.append("  (-: the law tends to 0, it has no irreducible term)")
        if (unnamed & (a["estimate"] != 0)).any():
            lines.append("  (-: the law's value at 1e300 in every variable; no parameter equals it, "
                         "an exponent near 0 keeps the limit from being reached)")
        if self.share:
            r0 = next(iter(self.results.values()))
            ci = r0.conf_int(alpha)
            lines.append("shared parameters: " + ", ".join(
                f"{p} = {r0.params[p]:.5g} [{ci.loc[p, 'lower']:.5g}, {ci.loc[p, 'upper']:.5g}]"
                for p in self.share))
        lines.append("#" * w)
        return "\n".join(lines)

    # -- prediction and uncertainty ------------------------------------------------------------
    def predict(self, data=None, alpha: float = 0.05, **columns) -> pd.DataFrame:
        """Every target's :meth:`FitResult.predict` at the same points, stacked: a
        ``target`` column first, then that method's columns (``mean``, ``mean_ci_*``,
        ``obs_ci_*``, ...)."""
        parts = []
        for t, r in self.results.items():
            p = r.predict(data, alpha, **columns)
            p.insert(0, "target", t)
            parts.append(p)
        return pd.concat(parts, ignore_index=True)

    def bootstrap(self, n: int = 1000, groups=None, seed: int = 0, pool=None, n_jobs=None,
                  progress=None):
        """Bootstrap draws for every target: the joint fit's (whole rows of the table unless
        it was fitted with other ``groups``) cut per target, or each separate fit's.
        Returns ``{target: draws}``."""
        if self.joint is not None:
            if self.joint._problem is None:
                raise ScalelawError("this result was loaded from JSON and has no data: refit to bootstrap")
            self.joint.bootstrap(n, groups=True if groups is None else groups, seed=seed, pool=pool,
                                 n_jobs=n_jobs, progress=progress)
            if groups is None and self.joint.design_info.get("bootstrap_unit") == ROW_UNIT:
                self.joint.boot_groups = ROW_UNIT
            law = self.joint.law
            for t, view in self.results.items():
                jn = [law.joint_param(p, t) for p in law.base.param_names]
                _view_boot(view, self.joint, jn, dict(zip(jn, law.base.param_names)))
        else:
            k = len(self.results)
            for i, r in enumerate(self.results.values()):
                step = None if progress is None else (lambda d, m, i=i: progress(i * m + d, k * m))
                r.bootstrap(n, groups=groups, seed=seed, pool=pool, n_jobs=n_jobs, progress=step)
        return {t: r.boot for t, r in self.results.items()}

    # -- JSON ------------------------------------------------------------------------------------
    def to_dict(self, alpha: float = 0.05) -> dict:
        """One JSON object: ``multi_target`` (format version), ``law``, ``targets``,
        ``share``, ``results`` ({target: a fit's JSON object}), ``joint`` (the joint fit's,
        or None), ``asymptotes`` (rows of :meth:`asymptotes`)."""
        from .select import json_records
        return {JSON_KEY: 1, "law": self.law.name, "targets": self.targets, "share": list(self.share),
                "results": {t: r.to_dict(alpha) for t, r in self.results.items()},
                "joint": None if self.joint is None else self.joint.to_dict(alpha),
                "asymptotes": json_records(self.asymptotes(alpha))}

    def to_json(self, path: str | os.PathLike | None = None, alpha: float = 0.05) -> str:
        """JSON text; written atomically to ``path`` when given."""
        from .serialize import dump_json
        return dump_json(self.to_dict(alpha), path)

    @classmethod
    def from_json(cls, source) -> "MultiFit":
        """Rebuild from JSON text, a file path or the parsed object (for prediction)."""
        from .serialize import read_fit_json, result_from_json
        d = source if isinstance(source, dict) else read_fit_json(source)
        if not is_multi_json(d):
            raise ScalelawError("not a fit of several targets: load it with FitResult.from_json")
        res = d.get("results")
        if not isinstance(res, dict) or not res:
            raise ScalelawError("not a scalelaw multi-target JSON: \"results\" must map each target to its fit")
        results = {str(t): result_from_json(FitResult, r) for t, r in res.items()}
        joint = result_from_json(FitResult, d["joint"]) if d.get("joint") else None
        return cls(results, joint=joint)


def is_multi_json(d) -> bool:
    """Whether a parsed JSON object is a :class:`MultiFit`'s."""
    return isinstance(d, dict) and JSON_KEY in d


def asymptote(result: FitResult) -> tuple[str | None, float]:
    """``(parameter, value)`` of the loss the fitted law tends to as every variable grows
    (1e300): the parameter equal to that limit (``E``, ``L_inf``, ...), or ``(None, 0.0)``
    for a law that tends to 0, or ``(None, limit)`` when no parameter equals it."""
    law = result.law
    x = law.prepare({v: np.array([1e300]) for v in law.variables}, target=None).x
    with np.errstate(all="ignore"):
        lim = float(np.asarray(law.evaluate(x, result.params.to_numpy(dtype=float))).ravel()[0])
    if not np.isfinite(lim):
        return None, np.nan
    if abs(lim) < 1e-12:
        return None, 0.0
    for p, v in result.params.items():
        if np.isfinite(v) and abs(v - lim) <= 1e-9 * abs(lim):
            return str(p), float(v)
    return None, lim


__all__ = ["MultiFit", "TargetFit", "fit_targets", "resolve_targets", "joint_views",
           "asymptote", "is_multi_json"]
