"""The results of a fit: parameters, uncertainty, metrics, prediction, serialization.

Modelled on statsmodels' results objects: ``params``, ``bse``/``stderr``, ``cov_params()``,
``conf_int(alpha)``, ``summary()``, ``predict(...)`` returning a tidy frame with a band for
the curve (``mean_ci_*``) and a wider band for a new run (``obs_ci_*``).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from ..errors import ScalelawError, ScalelawWarning
from .bands import (compute_range, curve_band, curve_prediction, exp_band, extrapolation_distance,
                    interval_labels, new_run_variance)
from .bands import curve_validity  # noqa: F401  (importable from here as before the split)
from .metrics import compute_metrics, holdout_scores  # noqa: F401  (idem)
from .objective import Objective, dof
from .serialize import read_fit_json  # noqa: F401  (idem)

#: a prediction this many times beyond the fitted range of a variable triggers a warning
EXTRAPOLATION_WARN = 10.0


class FitResult:
    """Outcome of :func:`scalelaw.fitting.fit`.

    Attributes
    ----------
    law : the law object (``law.name``, ``law.formula``)
    params : pandas.Series of all parameters (fixed ones included)
    fixed : names of parameters held fixed
    anchored : names the law estimated before the search and held during it (e.g. the
        multi-power law's B); no asymptotic error, bootstrap draws when bootstrapped
    cov : pandas.DataFrame covariance of the free parameters (asymptotic, sandwich form)
    objective : Σ w·ρ(r) at the optimum (see :mod:`scalelaw.fitting.objective`)
    n, dof : observations used and n − free parameters
    boot : pandas.DataFrame of bootstrap draws (one row per resample) or None
    metrics : dict of R², RMSE and MAPE in log and linear space, AIC, BIC
    holdout : dict of holdout scores (n, rmse, mape, max_abs_err) or None
    notes : what scalelaw decided for you (derived columns, dropped rows, ...), and what
        went wrong (a parameter on a bound, no convergence)
    convergence : :class:`~scalelaw.fitting.engine.SolveInfo` of the solve (evaluations,
        converged, parameters on a bound) or None
    at_bound : ``{parameter: "lower" | "upper"}``, free parameters whose estimate is on a
        finite bound of the fit.  Their standard error and asymptotic interval are kept but
        assume an interior estimate (the interval is cut at the bound); ``summary()`` marks
        them, ``conf_int(at_bound=True)`` adds a column, ``notes`` say what to do
    """

    def __init__(self, law, params, fixed, cov, objective, settings: Objective, n, *,
                 anchored=(), domain=None, residual_scale=None, mapping=None, notes=None, metrics=None,
                 residuals=None, fitted=None, observed=None, problem=None, design_info=None,
                 bounds=None, convergence=None):
        self.law = law
        self.params = pd.Series(params, index=list(law.param_names), dtype=float)
        self.fixed = list(fixed)
        self.anchored = [p for p in anchored if p not in self.fixed]
        self.free = [p for p in law.param_names if p not in self.fixed and p not in self.anchored]
        self.cov = pd.DataFrame(cov, index=self.free, columns=self.free, dtype=float)
        self.objective = float(objective)
        self.settings = settings
        self.n = int(n)
        self.dof = dof(self.n, len(self.free) + len(self.anchored))
        self.domain = dict(domain or {})
        self.residual_scale = residual_scale
        self.mapping = dict(mapping or {})
        self.notes = list(notes or [])
        self.metrics = dict(metrics or {})
        self.residuals = residuals
        self.fitted = fitted
        self.observed = observed
        self.design_info = dict(design_info or {})
        #: the parameter bounds of the fit (the law's, narrowed or widened by the user's)
        self.bounds = {p: (float(lo), float(hi)) for p, (lo, hi) in
                       (bounds or getattr(law, "bounds", {}) or {}).items()}
        self.boot: pd.DataFrame | None = None
        self.boot_groups: str | None = None
        self.holdout: dict | None = None
        self._problem = problem
        #: how the solve went (:class:`~scalelaw.fitting.engine.SolveInfo`), None if unknown
        self.convergence = convergence
        #: fitted range of N·D (compute up to C = k·N·D's constant) for laws in N and D, else
        #: None: predictions beyond it extrapolate in compute (see ``predict``'s ``interval``)
        self.compute_range = (compute_range(problem.design.x)
                              if problem is not None and getattr(problem, "design", None) is not None
                              else None)
        #: cross-validation table (rollout or leave-one-group-out), ``.attrs["errors"]`` its
        #: per-point held-out errors; None unless the fit ran one
        self.cv: pd.DataFrame | None = None
        #: :class:`~scalelaw.fitting.calibration.Calibration` of the new-run band, built from
        #: the held-out errors of ``cv``; None unless the fit ran a cross-validation
        self.calibration = None
        #: :class:`~scalelaw.fitting.components.Components` (run-to-run and evaluation
        #: variance) when the data have replicates, else None
        self.components = None
        #: :class:`~scalelaw.fitting.select.Selection` when several laws were compared, else None
        self.selection = None

    # -- uncertainty ---------------------------------------------------------------------
    @property
    def stderr(self) -> pd.Series:
        """Standard errors: bootstrap SD when a bootstrap was run, else asymptotic."""
        s = self.boot.std(ddof=1) if self.boot is not None else self._asymptotic_se()
        return s.reindex(self.params.index)

    def _asymptotic_se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.clip(np.diag(self.cov.to_numpy()), 0, None)), index=self.free)

    bse = stderr

    @property
    def at_bound(self) -> dict[str, str]:
        """``{parameter: "lower" | "upper"}`` for free parameters on a finite bound of the
        fit (from :attr:`convergence`, else from the parameters and bounds)."""
        if self.convergence is not None:
            return dict(self.convergence.at_bound)
        from .engine import params_at_bound
        return params_at_bound(list(self.params.index), self.params.to_numpy(), self.bounds,
                               check=self.free, log_params=getattr(self.law, "log_params", ()))

    def cov_params(self) -> pd.DataFrame:
        return self.cov.copy()

    def conf_int(self, alpha: float = 0.05, method: str | None = None,
                 at_bound: bool = False) -> pd.DataFrame:
        """(1 − alpha) intervals per parameter, columns ``lower, upper`` (and with
        ``at_bound=True`` a column ``at_bound``: ``"lower"``/``"upper"`` for a parameter
        whose estimate is on that bound of the fit, else ``""``).

        ``method``: ``"bootstrap"`` (percentile), ``"asymptotic"`` (normal, sandwich
        covariance; for log-scale parameters on the log scale, so intervals stay positive),
        or None: bootstrap when available.  Asymptotic intervals are clipped to the fit's
        parameter bounds (a β in (0, 1] fitted at 1 does not get an upper limit of 1.17) and
        always contain the estimate.
        """
        if method is None:
            method = "bootstrap" if self.boot is not None else "asymptotic"
        rows = {}
        if method == "bootstrap":
            if self.boot is None:
                raise ScalelawError("no bootstrap draws: call .bootstrap(n) or fit with bootstrap=n")
            for p in self.params.index:
                if p in self.boot:
                    lo, hi = np.nanpercentile(self.boot[p], [100 * alpha / 2, 100 * (1 - alpha / 2)])
                else:
                    lo = hi = self.params[p]
                rows[p] = (lo, hi)
        elif method == "asymptotic":
            from scipy.special import ndtri   # = scipy.stats.norm.ppf, without importing scipy.stats
            z = ndtri(1 - alpha / 2)
            se = self._asymptotic_se()
            for p, v in self.params.items():
                s = se.get(p, np.nan)
                if p in self.fixed or not np.isfinite(s):
                    rows[p] = (v, v) if p in self.fixed else (np.nan, np.nan)
                elif p in self.law.log_params and v > 0:
                    with np.errstate(over="ignore"):   # an unidentified scale: (0, inf)
                        f = np.exp(z * s / v)
                    rows[p] = (v / f, v * f)
                else:
                    rows[p] = (v - z * s, v + z * s)
                lo, hi = self.bounds.get(p, (-np.inf, np.inf))   # never outside the fit's box,
                rows[p] = (min(max(rows[p][0], lo), v), max(min(rows[p][1], hi), v))  # always around v
        else:
            raise ScalelawError(f"unknown interval method {method!r}; use 'bootstrap' or 'asymptotic'")
        out = pd.DataFrame(rows, index=["lower", "upper"]).T
        if at_bound:
            ab = self.at_bound
            out["at_bound"] = [ab.get(p, "") for p in out.index]
        return out

    def bootstrap(self, n: int = 1000, groups=None, seed: int = 0, pool=None, n_jobs=None,
                  progress=None) -> pd.DataFrame:
        """Refit on ``n`` resamples; stores and returns the draws (``self.boot``).

        ``groups``: None resamples points (whole runs when the table has replicate runs,
        :attr:`components`); an array of labels (or True for the groups
        given at fit time, e.g. the runs of an LR-schedule fit) resamples whole groups;
        ``"block"`` resamples blocks of consecutive points within each group (per-step
        logs, whose residuals are serially correlated; block length from the residuals'
        autocorrelation, see :func:`scalelaw.fitting.uncertainty.block_labels`);
        ``"wild"`` keeps every point and multiplies the residuals of each such block by one
        random weight (:func:`scalelaw.fitting.uncertainty.wild_observations`).  ``progress``:
        called as ``progress(done, n)`` while the resamples finish (a progress bar's hook).
        """
        from .uncertainty import block_labels, bootstrap
        if self._problem is None:
            raise ScalelawError("this result was loaded from JSON and has no data: refit to bootstrap")
        pr = self._problem
        comp = self.components
        if (groups is None and comp is not None and (comp.identified or {}).get("run")
                and getattr(comp, "run_labels", None) is not None and len(comp.run_labels) == pr.n):
            groups, unit = np.asarray(comp.run_labels), "whole runs (replicate runs found)"
        else:
            unit = None if groups is None else "groups"
        wild = isinstance(groups, str) and groups == "wild"
        if isinstance(groups, str):
            if groups not in ("block", "wild"):
                raise ScalelawError(f"bootstrap groups {groups!r}: give 'block', 'wild', True or labels")
            groups, length = block_labels(pr.design.groups, self.residuals)
            unit = (f"wild weights per block of {length} consecutive points" if wild
                    else f"blocks of {length} consecutive points")
        elif groups is True:
            groups = pr.design.groups
            if groups is None:
                raise ScalelawError("no groups in the data: pass groups=<labels> or fit with groups=COL")
        if n < 2:
            raise ScalelawError("bootstrap needs at least 2 resamples")
        draws = bootstrap(pr, self.params.to_numpy(), n, groups=groups, seed=seed, pool=pool,
                          n_jobs=n_jobs, progress=progress, wild=wild)
        drawn = np.array([p in self.free or p in self.anchored for p in self.params.index])
        self.boot = pd.DataFrame(draws[:, drawn], columns=self.params.index[drawn])
        self.boot_groups = unit
        return self.boot

    # -- prediction ----------------------------------------------------------------------
    def predict(self, data=None, alpha: float = 0.05, **columns) -> pd.DataFrame:
        """Predict at new points: ``predict({"N": [7e10], "D": [1.4e12]})`` or
        ``predict(N=7e10, D=1.4e12)``.

        Returns the input columns plus

        * ``mean``: the law at the fitted parameters;
        * ``mean_ci_lower/upper``: the **curve sampling band**, the (1 − alpha) band of the
          fitted curve from the sampling noise of the fit alone (bootstrap percentiles if
          available, else delta method).  It does not contain new runs;
        * ``obs_ci_lower/upper``: the **new-run band under the law**, the band for one new
          run assuming the law is right: ``sqrt(sd_curve² + v)`` with ``v`` the run-to-run
          plus evaluation variance of :attr:`components` when estimated, else the squared
          residual scale.  It leaves out extrapolation error and the choice of law;
        * ``cal_ci_lower/upper`` (only when :attr:`calibration` is set, i.e. the fit ran a
          cross-validation): the **calibrated new-run band**, widened as a function of the
          extrapolation distance from the errors of held-out refits so that it covers held-out
          runs at about the nominal rate (:mod:`scalelaw.fitting.calibration`,
          docs/calibration.md);
        * ``extrapolation``: the largest factor by which a variable lies outside its fitted
          range (1 inside);
        * ``interval``: ``"interpolation"`` or ``"extrapolation x3.2 in N"``: the distance
          from the fitted region counting, for laws in N and D, the compute C ∝ N·D too
          (:func:`~scalelaw.fitting.bands.extrapolation_distance`).

        In a log-space fit bands are built on log loss.  Warns (:class:`ScalelawWarning`)
        when a point lies more than 10x outside the fitted range of a variable.

        For a law that predicts curves (``law.predicts_curves``: the LR-schedule laws),
        ``data`` is a schedule (spec, :class:`~scalelaw.schedules.Schedule`, per-step LRs) or
        a log frame (``step, lr``, optionally ``run, loss``), and the result is the curve
        ``step, lr, loss_pred, loss_lower, loss_upper`` (+ ``run``, observed ``loss`` for a
        log); keywords ``steps``, ``every``, ``max_points``, ``warmup`` go to the law's
        :meth:`~scalelaw.laws.base.Law.curve_design`.
        """
        if self.selection is not None and self.selection.method == "stack":   # combined candidates
            return self.selection.predict(data, alpha, chosen=self, **columns)
        if self.law.predicts_curves:
            return self._predict_curve(data, alpha, **columns)
        from .data import as_frame, prepare_frame
        if data is None:
            data = columns
        frame = as_frame(data)
        # reuse the column matching of fit (derives D = C/6N when needed)
        law = self.law
        _, prep = prepare_frame(frame, law, x=self._x_mapping(frame), keep_unobserved=True,
                                require_target=False)
        from .data import POSITIVE
        for v in law.variables:
            if (v in POSITIVE or getattr(law, "var", None) == v) and v in prep.frame:
                bad = int((prep.frame[v] <= 0).sum())
                if bad:
                    raise ScalelawError(f"{bad} non-positive value(s) in {v}: the law needs {v} > 0")
        design = law.prepare(prep.frame, target=None)
        mean, center, sd_mean, lo, hi = curve_band(self, law, design.x, alpha)
        log = self.settings.space == "log"
        from scipy.special import ndtri   # = scipy.stats.norm.ppf, without importing scipy.stats
        z = ndtri(1 - alpha / 2)
        sd_obs = np.sqrt(sd_mean ** 2 + new_run_variance(self))
        olo, ohi = center - z * sd_obs, center + z * sd_obs
        dist, which = extrapolation_distance(self.domain, design.x, self.compute_range) \
            if isinstance(design.x, dict) else (np.ones(len(mean)), np.full(len(mean), ""))
        tr = exp_band if log else (lambda v: v)
        out = prep.frame[[v for v in law.variables if v in prep.frame]].copy() \
            if isinstance(design.x, dict) else pd.DataFrame(index=range(len(mean)))
        out["mean"] = mean
        out["mean_ci_lower"] = tr(lo)
        out["mean_ci_upper"] = tr(hi)
        out["obs_ci_lower"] = tr(olo)
        out["obs_ci_upper"] = tr(ohi)
        if self.calibration is not None:
            clo, chi = self.calibration.band(center, sd_obs, dist, alpha)
            out["cal_ci_lower"] = tr(clo)
            out["cal_ci_upper"] = tr(chi)
        out["extrapolation"] = self._extrapolation(design)
        out["interval"] = interval_labels(dist, which)
        far = out["extrapolation"] > EXTRAPOLATION_WARN
        if far.any():
            warnings.warn(f"{int(far.sum())} prediction(s) lie more than {EXTRAPOLATION_WARN:g}x outside "
                          f"the fitted range ({self._range_text()}): treat them with care",
                          ScalelawWarning, stacklevel=2)
        bad = ~(np.asarray(mean, dtype=float) > 0)
        if bad.any():
            warnings.warn(f"{int(bad.sum())} predicted loss(es) <= 0 or not a number: the law is outside "
                          "its valid region there (a loss in nats is positive)", ScalelawWarning, stacklevel=2)
        return out.reset_index(drop=True)

    def _predict_curve(self, source, alpha, **options):
        return curve_prediction(self, source, alpha, **options)

    def _x_mapping(self, frame):
        if self.law.variables and all(v in frame.columns for v in self.law.variables):
            return {v: v for v in self.law.variables}
        return None

    def _extrapolation(self, design):
        if not self.domain or not isinstance(design.x, dict):
            return np.ones(design.n)
        f = np.ones(design.n)
        for v, (lo, hi) in self.domain.items():
            if v not in design.x or lo <= 0:
                continue
            a = np.asarray(design.x[v], dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.fmax(f, np.fmax(lo / a, a / hi))
        return f

    def _range_text(self):
        return ", ".join(f"{v} in [{lo:.3g}, {hi:.3g}]" for v, (lo, hi) in self.domain.items())

    # -- reports -------------------------------------------------------------------------
    @property
    def aic(self):
        return self.metrics.get("aic")

    @property
    def bic(self):
        return self.metrics.get("bic")

    def summary(self, alpha: float = 0.05) -> str:
        """A text table in the style of statsmodels' ``summary()``."""
        ci = self.conf_int(alpha)
        se = self.stderr
        method = ("bootstrap" if self.boot is not None else
                  "asymptotic (sandwich; assumes the law is right - bootstrap for reports)")
        lines = []
        w = 78
        lines.append("=" * w)
        lines.append(f"{'scalelaw fit: ' + self.law.name:^{w}}")
        lines.append("=" * w)
        lines.append(f"law:        {self.law.formula}")
        lines.append(f"objective:  {self.settings.describe()}")
        lines.append(f"value:      {self.objective:.6g}    n = {self.n}    dof = {self.dof}")
        m = self.metrics
        if m:
            lines.append(f"R2 (log) = {m.get('r2_log', np.nan):.5f}   R2 (linear) = {m.get('r2', np.nan):.5f}   "
                         f"RMSE (log) = {m.get('rmse_log', np.nan):.4g}   RMSE = {m.get('rmse', np.nan):.4g}")
            lines.append(f"MAPE = {100 * m.get('mape', np.nan):.3f}%   AIC = {m.get('aic', np.nan):.2f}   "
                         f"BIC = {m.get('bic', np.nan):.2f}")
        if self.mapping:
            lines.append("columns:    " + ", ".join(f"{k} <- {v}" for k, v in self.mapping.items()))
        lines.append("-" * w)
        pct = f"{100 * (1 - alpha):g}%"
        lines.append(f"{'param':<12}{'value':>14}{'std err':>14}{pct + ' lower':>16}{pct + ' upper':>16}")
        lines.append("-" * w)
        bound = self.at_bound
        for p, v in self.params.items():
            tag = " (fixed)" if p in self.fixed else " (anchored)" if p in self.anchored else ""
            s = se.get(p, np.nan)
            lines.append(f"{p + tag:<12}{v:>14.6g}{(s if p not in self.fixed else np.nan):>14.4g}"
                         f"{ci.loc[p, 'lower']:>16.6g}{ci.loc[p, 'upper']:>16.6g}"
                         + (f"  on {bound[p]} bound" if p in bound else ""))
        lines.append("-" * w)
        lines.append(f"intervals: {method}" + (f", {len(self.boot)} resamples" if self.boot is not None else "")
                     + (f" of {self.boot_groups}" if self.boot is not None and self.boot_groups else ""))
        if self.holdout:
            h = self.holdout
            lines.append(f"holdout:   n = {h['n']}, RMSE = {h['rmse']:.4g}, MAPE = {100 * h['mape']:.3f}%, "
                         f"max |err| = {h['max_abs_err']:.4g}")
        if self.selection is not None:
            lines.extend(self.selection.summary_lines())
        if self.cv is not None:
            lines.extend(cv_summary_lines(self.cv))
        if self.calibration is not None:
            lines.append(f"calibrated: {self.calibration.describe()}")
        if self.components is not None:
            c = self.components
            lines.append("noise:      " + (c.describe() if any(c.identified.get(k) for k in ("run", "eval"))
                                           else "no replicates: run-to-run and evaluation noise not identified "
                                                "(the new-run band uses the residual scale)"))
        for note in self.notes:
            lines.append(f"note:      {note}")
        lines.append("=" * w)
        return "\n".join(lines)

    fit_report = summary

    def __repr__(self):
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"<FitResult {self.law.name}: {ps}; objective={self.objective:.4g}, n={self.n}>"

    # -- serialization (scalelaw.fitting.serialize) --------------------------------------
    def to_dict(self, alpha: float = 0.05) -> dict:
        """The JSON object of this fit (see :mod:`scalelaw.fitting.serialize`)."""
        from .serialize import result_to_dict
        return result_to_dict(self, alpha)

    def to_json(self, path: str | os.PathLike | None = None, alpha: float = 0.05) -> str:
        """JSON text; written atomically to ``path`` when given."""
        from .serialize import dump_json
        return dump_json(self.to_dict(alpha), path)

    @classmethod
    def from_json(cls, source) -> "FitResult":
        """Rebuild a result (for prediction and allocation) from JSON text, a file path or
        the parsed object."""
        from .serialize import result_from_json
        return result_from_json(cls, source)


def cv_summary_lines(cv: pd.DataFrame) -> list[str]:
    """The summary's lines for a cross-validation table (``FitResult.cv``)."""
    kind = cv.attrs.get("kind", "cross-validation")
    lines = [f"cross-validation ({kind}): held-out errors per fold"]
    lines.extend("  " + ln for ln in cv.to_string(index=False, float_format=lambda v: f"{v:.4g}").splitlines())
    mean = cv.attrs.get("mean")
    if mean:
        lines.append("  mean: " + ", ".join(f"{k} {v:.4g}" for k, v in mean.items()
                                             if isinstance(v, (int, float)) and np.isfinite(v)))
    lines.extend(f"  note: {n}" for n in cv.attrs.get("notes") or ())   # binning, failed refits
    return lines
