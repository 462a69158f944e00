"""Downstream metrics: the two-stage chain of OLMo's model ladder and logit-link fits.

The chain (Bhagia et al. 2024, "Establishing Task Scaling Laws via Compute-Efficient Model
Ladders"; REFERENCE §12; docs/downstream.md):

1. stage 1, the loss from the run's size: any scaling law, default Chinchilla
   ``loss = E + A/N^α + B/D^β`` (nats; N parameters, D tokens; C = k·N·D FLOPs with
   k = ``flops_per_token``);
2. stage 2, the metric from the loss: :class:`~scalelaw.laws.downstream.SigmoidLoss`,
   ``metric = b + (c − b)/(1 + exp(k·(loss − L0)))`` (floor b and ceiling c inside the
   metric's declared range), fitted on the observed losses and metrics of the same runs.

A prediction at a new (N, D) chains both: ``metric = stage2(stage1(N, D))``.  Its band comes
from bootstrapping the chain: each resample draws whole runs (rows, or the groups of
``groups``), and both stages are refitted on that same resample by the one engine
(:meth:`~scalelaw.fitting.results.FitResult.bootstrap` of each stage's fit with the same
units and seed, hence the same multinomial counts: draw b of stage 1 and draw b of stage 2
come from one resample).  Draw b predicts ``stage2_b(stage1_b(N, D))``; the band is the
draws' quantiles, so the uncertainty of both stages and their correlation go through.
Every draw's sigmoid has its floor and ceiling inside the declared range, so the bands stay
inside it too.

:func:`fit_chain` returns a :class:`ChainResult`; :func:`fit_metric` fits one scaling law
to the logit of a bounded metric (:class:`~scalelaw.laws.downstream.LogitLink`) and
:func:`predict_metric` maps its predictions back to the metric.  Both take ``fitter=``
(default :func:`scalelaw.fitting.api.fit`): this module sits on top of ``api`` in
``fitting/`` and ``api`` never imports it.
"""
from __future__ import annotations

import os
import numpy as np
import pandas as pd

from ..errors import ScalelawError

__all__ = ["ChainResult", "fit_chain", "fit_metric", "predict_metric", "metric_column"]

#: stage names: the prefixes of the chain's parameters ("loss.E", "metric.k")
STAGES = ("loss", "metric")


def _default_fitter(fitter):
    if fitter is not None:
        return fitter
    from .api import fit
    return fit


def metric_column(frame: pd.DataFrame, column: str, metric_range=None, open_range: bool = False) -> np.ndarray:
    """The values of a bounded metric column: numbers (NaN where empty), refused in one line
    when the column is missing, holds text, or has values outside ``metric_range``
    ((lo, hi); with ``open_range`` the ends are refused too)."""
    from ..io.columns import resolve, show
    from ..laws.downstream import check_range, parse_range
    from .data import numeric_column
    col = resolve(frame.columns, [column], required=[]).get(column, column)
    if col not in frame.columns:
        raise ScalelawError(f"no metric column {column!r}; the table has: {show(frame.columns)}")
    values = numeric_column(frame, col, "metric column").to_numpy(dtype=float)
    if metric_range is not None:
        lo, hi = parse_range(metric_range)
        check_range(values, lo, hi, f"metric column {col!r}", open_range=open_range,
                    why=" (the logit is infinite at the ends)" if open_range else "")
    return values


# -- the chain -----------------------------------------------------------------------------
def fit_chain(data, law="chinchilla", *, metric: str, loss: str | None = None,
              metric_range=(0.0, 1.0), stage2="sigmoid_loss", columns=None, groups=None,
              bootstrap: int = 200, seed: int = 0, pool=None, n_jobs=None, strict: bool = False,
              flops_per_token: float = 6.0, stage1_options: dict | None = None,
              stage2_options: dict | None = None, fitter=None) -> "ChainResult":
    """Fit the two-stage chain: ``law`` for the loss from the run's size, then ``stage2``
    (default the sigmoid of the loss) for ``metric`` from the loss; bootstrap both together.

    Parameters
    ----------
    data : DataFrame, dict of columns or a table path; one row per run (or per evaluation
        of a run), with the stage-1 variables (N, D, or N and C: D = C/(k·N) is derived),
        the loss (nats) and the metric.
    law : stage 1, any scaling law (name, formula or law object).
    metric : the metric column (accuracy, AUROC, a pass rate).
    loss : the loss column (default: ``loss`` and its synonyms): the task loss the metric
        is predicted from, and stage 1's target.
    metric_range : (lo, hi), the values the metric can take (default (0, 1) for accuracies
        and rates).  Values outside it are refused; it bounds the sigmoid's floor b and
        ceiling c to [lo, hi], so the fit, every draw and the bands stay inside it.  Keep it
        the metric's own range even when
        the task has a chance level (small models' scores scatter below chance); to hold the
        floor at chance, fix it: ``stage2_options={"fix": {"b": 0.25}}``.
    stage2 : the stage-2 law (its variable ``loss``); default ``"sigmoid_loss"`` built
        with the range.
    columns : canonical name -> column for stage 1's variables (e.g. ``{"N": "params"}``).
    groups : the bootstrap unit: None (whole runs when a ``run`` column repeats, else rows)
        or a column whose groups are resampled whole (e.g. ``"N"``).
    bootstrap, seed, pool, n_jobs : resamples of the chain (0: no bands), the seed, and
        parallelism as for :func:`~scalelaw.fitting.api.fit`.
    stage1_options, stage2_options : more keywords for each stage's fit (``fix``,
        ``bounds``, ``objective``, ...).  Stage 2 defaults to least squares on linear
        residuals (``objective="l2", space="linear"``).
    fitter : the fit function (default :func:`scalelaw.fitting.api.fit`).
    """
    from ..laws import get_law
    from ..laws.downstream import SigmoidLoss, parse_range
    from .data import as_frame, column_options, prepare_frame

    fitter = _default_fitter(fitter)
    frame = as_frame(data)
    if len(frame) == 0:
        raise ScalelawError("the table has no rows")
    lo, hi = parse_range(metric_range)
    law1 = get_law(law)
    if law1.predicts_curves or law1.target != "loss":
        raise ScalelawError(f"stage 1 of the chain is a scaling law of the loss from the run's size; "
                            f"{law1.name} is {'an LR-schedule law' if law1.predicts_curves else 'a law of the ' + law1.target}")
    law2 = SigmoidLoss(lo, hi) if isinstance(stage2, str) and stage2.strip().lower() == "sigmoid_loss" \
        else get_law(stage2)
    if tuple(law2.variables) != ("loss",) or law2.target != "metric":
        raise ScalelawError(f"stage 2 of the chain predicts the metric from the loss: its law reads "
                            f"'loss' and predicts 'metric' (as sigmoid_loss), not {law2.name}")
    mvals = metric_column(frame, metric, (lo, hi))
    xmap, _ = column_options(law1, columns)
    ids = np.arange(len(frame))
    law1, prep = prepare_frame(frame, law1, x=xmap, y=loss, groups=ids, strict=strict,
                               flops_per_token=flops_per_token)
    rows = prep.frame["group"].to_numpy(dtype=int)
    canon = prep.frame[[v for v in law1.variables]].copy()
    canon["loss"] = prep.frame["y"].to_numpy(dtype=float)
    canon["metric"] = mvals[rows]
    notes = list(prep.notes)
    missing = ~np.isfinite(canon["metric"].to_numpy())
    if missing.any():
        if strict:
            raise ScalelawError(f"{int(missing.sum())} row(s) without a value of {metric}; clean them, or "
                                "turn strict checking off to skip them", option="strict")
        notes.append(f"dropped {int(missing.sum())} row(s) without a value of {metric}")
    keep = ~missing
    unit, labels = _units(frame, prep, rows, groups)
    canon, labels = canon.loc[keep].reset_index(drop=True), labels[keep]
    if len(canon) == 0:
        raise ScalelawError(f"no rows with both a loss and a value of {metric}")
    opts1 = dict(stage1_options or {})
    opts2 = {"objective": "l2", "space": "linear", **(stage2_options or {})}
    cols1 = {**{v: v for v in law1.variables}, "loss": "loss"}
    res1 = fitter(canon[list(law1.variables) + ["loss"]], law1, columns=cols1, strict=True,
                  flops_per_token=flops_per_token, **opts1)
    res2 = fitter(canon[["loss", "metric"]], law2, columns={"loss": "loss", "metric": "metric"}, strict=True,
                  **opts2)
    if res1.n != len(canon) or res2.n != len(canon):   # the pairing of the resamples needs one row set
        raise ScalelawError("the two stages were fitted on different rows; give a table whose rows all "
                            "have the variables, the loss and the metric")
    loss_col = prep.mapping.get("loss", loss or "loss")
    metric_col = metric
    res1.mapping = {**{v: prep.mapping.get(v, v) for v in law1.variables}, "loss": loss_col}
    res2.mapping = {"loss": loss_col, "metric": metric_col}   # the table's columns, not the copies
    out = ChainResult(res1, res2, metric=metric_col, loss=loss_col, metric_range=(lo, hi), notes=notes,
                      n_units=len(np.unique(labels)), unit=unit)
    if bootstrap:
        out.bootstrap(int(bootstrap), labels, seed=seed, pool=pool, n_jobs=n_jobs)
    out.notes.extend(out._checks())
    return out


def _units(frame, prep, rows, groups):
    """The bootstrap unit of the chain and its labels per prepared row: a column's groups,
    whole runs when a run column repeats, else rows."""
    if isinstance(groups, str) and groups in ("wild", "block", "point", "run"):
        if groups == "run" and "run" in prep.frame:
            groups = None
        elif groups != "run":
            raise ScalelawError(f"bootstrap groups {groups!r}: the chain resamples rows, whole runs (a run "
                                "column) or the groups of a column", option="groups")
    if groups is not None:
        from ..io.columns import resolve
        col = resolve(frame.columns, [str(groups)], required=[]).get(str(groups), groups)
        if col not in frame.columns:
            raise ScalelawError(f"bootstrap groups column {groups!r} is not in the table", option="groups")
        lab = pd.factorize(frame[col].astype(str))[0][rows]
        return f"groups of {col}", lab
    if "run" in prep.frame:
        lab = pd.factorize(prep.frame["run"].astype(str))[0]
        if len(np.unique(lab)) < len(lab):
            return "whole runs", lab
    return "rows", np.arange(len(rows))


class ChainResult:
    """The two-stage chain: loss from (N, D), then the metric from the loss.

    Attributes
    ----------
    stage1, stage2 : the :class:`~scalelaw.fitting.results.FitResult` of each stage
        (``stage1.params``: the loss law's; ``stage2.params``: the sigmoid's b, c, k, L0)
    metric, loss : the metric and loss columns fitted
    metric_range : (lo, hi) declared for the metric
    params : all parameters, named ``loss.<name>`` and ``metric.<name>``
    draws : the bootstrap draws of both stages, one row per resample (stage 1's and stage
        2's columns of a row come from the same resample), or None
    notes : what the chain decided (dropped rows, the bootstrap unit) and what to watch
    """

    def __init__(self, stage1, stage2, *, metric: str, loss: str = "loss", metric_range=(0.0, 1.0),
                 notes=None, n_units: int | None = None, unit: str = "rows"):
        self.stage1, self.stage2 = stage1, stage2
        self.metric, self.loss = str(metric), str(loss)
        self.metric_range = (float(metric_range[0]), float(metric_range[1]))
        self.notes = list(notes or [])
        self.unit = unit
        self.n_units = n_units
        self.n_resamples = 0

    # -- parameters -----------------------------------------------------------------------
    @property
    def params(self) -> pd.Series:
        return pd.concat([self.stage1.params.add_prefix("loss."), self.stage2.params.add_prefix("metric.")])

    @property
    def draws(self) -> pd.DataFrame | None:
        if self.stage1.boot is None or self.stage2.boot is None:
            return None
        return pd.concat([self.stage1.boot.add_prefix("loss."), self.stage2.boot.add_prefix("metric.")], axis=1)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """(1 − alpha) intervals of every parameter (bootstrap percentiles when bootstrapped)."""
        return pd.concat([self.stage1.conf_int(alpha).rename(index=lambda p: f"loss.{p}"),
                          self.stage2.conf_int(alpha).rename(index=lambda p: f"metric.{p}")])

    def bootstrap(self, n: int, labels=None, seed: int = 0, pool=None, n_jobs=None) -> pd.DataFrame:
        """Refit both stages on ``n`` resamples of the units ``labels`` (one label per fitted
        row; None: rows) and store the paired draws (:attr:`draws`)."""
        if self.stage1._problem is None or self.stage2._problem is None:
            raise ScalelawError("this chain was loaded from JSON and has no data: refit it to bootstrap")
        n_rows = self.stage1.n
        labels = np.arange(n_rows) if labels is None else np.asarray(labels)
        if len(labels) != n_rows or self.stage2.n != n_rows:
            raise ScalelawError("the bootstrap units do not line up with the fitted rows")
        if n < 2:
            raise ScalelawError("bootstrap needs at least 2 resamples")
        for res in (self.stage1, self.stage2):   # same units, same seed: the same resamples
            res.bootstrap(int(n), groups=labels, seed=seed, pool=pool, n_jobs=n_jobs)
            res.boot_groups = self.unit
        self.n_resamples = int(n)
        return self.draws

    # -- prediction -----------------------------------------------------------------------
    def predict(self, data=None, alpha: float = 0.05, seed: int = 0, **columns) -> pd.DataFrame:
        """The metric at new points: ``predict(N=7e9, D=1.4e11)`` or a frame of the stage-1
        variables (D = C/(k·N) derived as in the fit).

        Returns the inputs plus ``loss_mean`` (stage 1 at its fitted parameters),
        ``loss_lower/upper`` (the band of the loss curve from the chain's draws),
        ``metric_mean`` (stage 2 at ``loss_mean``), ``metric_lower/upper`` (the (1 − alpha)
        band of the metric curve: quantiles of ``stage2_b(stage1_b(N, D))`` over the paired
        draws), ``metric_obs_lower/upper`` (a new run: each draw's loss also gets the
        run-to-run noise of stage 1 and its metric the scatter of stage 2, both normal on the
        stages' fit scales with the new-run variance of each fit, the scores then held to
        the declared range as a run's score is), and ``interval`` (stage
        1's extrapolation label, and ``loss below the fitted range`` when the predicted loss
        lies outside the losses stage 2 was fitted on).  Without bootstrap draws the bands
        are NaN.
        """
        from .bands import new_run_variance
        if data is None:
            data = columns
        p1 = self.stage1.predict(data, alpha=alpha)   # warns when far outside the fitted range
        law1 = self.stage1.law
        inputs = p1[[v for v in law1.variables if v in p1]].copy()
        x1 = law1.prepare({v: inputs[v].to_numpy(dtype=float) for v in law1.variables}, target=None).x
        loss_mean = p1["mean"].to_numpy(dtype=float)
        metric_mean = self._stage2(loss_mean, self.stage2.params.to_numpy(dtype=float))
        n = len(inputs)
        nan = np.full(n, np.nan)
        out = inputs.copy()
        out["loss_mean"] = loss_mean
        bands = {k: nan for k in ("loss_lower", "loss_upper", "metric_lower", "metric_upper",
                                  "metric_obs_lower", "metric_obs_upper")}
        P1, P2 = self._draw_params()
        if P1 is not None:
            q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
            with np.errstate(all="ignore"):
                Lb = np.asarray(law1.evaluate(x1, P1), dtype=float).reshape(len(P1), n)
                mb = np.vstack([self._stage2(Lb[b], P2[b]) for b in range(len(P1))])
                rng = np.random.default_rng(seed)
                s1 = np.sqrt(max(new_run_variance(self.stage1), 0.0))
                s2 = np.sqrt(max(new_run_variance(self.stage2), 0.0))
                e1 = rng.standard_normal(Lb.shape) * s1
                Lnew = Lb * np.exp(e1) if self.stage1.settings.space == "log" else Lb + e1
                mnew = np.vstack([self._stage2(Lnew[b], P2[b]) for b in range(len(P1))])
                e2 = rng.standard_normal(mnew.shape) * s2
                mnew = mnew * np.exp(e2) if self.stage2.settings.space == "log" else mnew + e2
                lo, hi = self.metric_range
                mnew = np.clip(mnew, lo, hi)   # a run's score lies in the metric's range
                self._flag_outside(mb, lo, hi)
                bands["loss_lower"], bands["loss_upper"] = np.nanpercentile(Lb, q, axis=0)
                bands["metric_lower"], bands["metric_upper"] = np.nanpercentile(mb, q, axis=0)
                bands["metric_obs_lower"], bands["metric_obs_upper"] = np.nanpercentile(mnew, q, axis=0)
        out["loss_lower"], out["loss_upper"] = bands["loss_lower"], bands["loss_upper"]
        out["metric_mean"] = metric_mean
        for k in ("metric_lower", "metric_upper", "metric_obs_lower", "metric_obs_upper"):
            out[k] = bands[k]
        out["interval"] = self._labels(p1, loss_mean)
        return out.reset_index(drop=True)

    def _flag_outside(self, mb, lo, hi) -> None:
        """Warn when draws of the metric curve leave the declared range (a stage-2 law that
        does not keep to it; sigmoid_loss does by construction)."""
        tol = 1e-9 * max(abs(lo), abs(hi), 1.0)
        out = np.isfinite(mb) & ((mb < lo - tol) | (mb > hi + tol))
        if out.any():
            import warnings

            from ..errors import ScalelawWarning
            rows = out.any(axis=1)
            warnings.warn(f"{int(rows.sum())} of {len(mb)} bootstrap draws of {self.metric} lie outside the "
                          f"declared range [{lo:g}, {hi:g}] (e.g. {mb[out][0]:.4g}; stage 2 "
                          f"{self.stage2.law.name} does not keep to it): the band may leave the range; "
                          "use sigmoid_loss, or bound the stage-2 law", ScalelawWarning, stacklevel=3)

    def _stage2(self, loss, p):
        law = self.stage2.law
        x = law.prepare({"loss": np.atleast_1d(np.asarray(loss, dtype=float))}, target=None).x
        return np.asarray(law.evaluate(x, p), dtype=float).reshape(-1)

    def _draw_params(self):
        """The full parameter vectors of each stage per resample (fixed ones at their value)."""
        out = []
        for res in (self.stage1, self.stage2):
            if res.boot is None or not len(res.boot):
                return None, None
            P = np.repeat(res.params.to_numpy(dtype=float)[None, :], len(res.boot), axis=0)
            P[:, [res.law.param_names.index(c) for c in res.boot.columns]] = res.boot.to_numpy(dtype=float)
            out.append(P)
        if len(out[0]) != len(out[1]):
            raise ScalelawError("the two stages hold different numbers of bootstrap draws; refit the chain")
        return out[0], out[1]

    def _labels(self, p1, loss_mean):
        labels = p1["interval"].astype(str).to_numpy() if "interval" in p1 else np.full(len(p1), "")
        lo, hi = self.stage2.domain.get("loss", (np.nan, np.nan))
        out = []
        for lab, L in zip(labels, loss_mean):
            if np.isfinite(lo) and L < lo:
                lab = f"{lab}; loss {L:.4g} below the fitted {lo:.4g}..{hi:.4g}"
            elif np.isfinite(hi) and L > hi:
                lab = f"{lab}; loss {L:.4g} above the fitted {lo:.4g}..{hi:.4g}"
            out.append(lab)
        return out

    # -- checks and reports ---------------------------------------------------------------
    def _checks(self) -> list[str]:
        """Notes on fits that need a look: a stage-2 curve that leaves the declared range
        (possible only for a stage-2 law other than sigmoid_loss), a sigmoid that falls as
        the loss falls, a midpoint the data cannot pin down."""
        notes = []
        p = self.stage2.params
        lo, hi = self.metric_range
        Lmax = self.stage2.domain.get("loss", (np.nan, np.nan))[1]
        grid = np.linspace(0.0, 2.0 * Lmax if np.isfinite(Lmax) and Lmax > 0 else 20.0, 401)
        with np.errstate(all="ignore"):
            m = self._stage2(grid, p.to_numpy(dtype=float))
        tol = 1e-9 * max(abs(lo), abs(hi), 1.0)
        if np.isfinite(m).any() and (np.nanmin(m) < lo - tol or np.nanmax(m) > hi + tol):
            notes.append(f"stage 2 ({self.stage2.law.name}) leaves the declared range [{lo:g}, {hi:g}] "
                         f"(from {np.nanmin(m):.4g} to {np.nanmax(m):.4g} at losses 0..{grid[-1]:.3g}): "
                         "bound its parameters, or use sigmoid_loss, which keeps to the range")
        bounds = getattr(self.stage2.law, "bounds", {})
        for name, end, which in (("c", hi, "top"), ("b", lo, "bottom")):
            if name in p.index and bounds.get(name) == (lo, hi) and abs(p[name] - end) <= tol:
                notes.append(f"the sigmoid's {'ceiling' if name == 'c' else 'floor'} {name} is at the declared "
                             f"range's {which} {end:g}: the scores reach that end of the range, and the fit, its "
                             "draws and the bands are held inside it (a bound that is the range's end, not one to widen)")
        if {"b", "c"} <= set(p.index) and p["c"] < p["b"]:
            notes.append(f"the sigmoid's ceiling c = {p['c']:.4g} is below its floor b = {p['b']:.4g}: the "
                         f"fitted {self.metric} falls as the loss falls; check the metric's direction")
        if "L0" in p.index and self.stage2.domain.get("loss"):
            Llo, Lhi = self.stage2.domain["loss"]
            if not (Llo - (Lhi - Llo) <= p["L0"] <= Lhi + (Lhi - Llo)):
                notes.append(f"the sigmoid's midpoint L0 = {p['L0']:.4g} lies far outside the fitted losses "
                             f"{Llo:.4g}..{Lhi:.4g}: the data see one tail of the sigmoid only, and its "
                             "extrapolation is weakly determined")
        if self.n_resamples == 0:
            notes.append("no bootstrap: the chain's predictions have no bands (bootstrap=N)")
        return notes

    def summary(self, alpha: float = 0.05) -> str:
        """Both stages' summaries under one header, and the chain's notes."""
        w = 78
        lo, hi = self.metric_range
        head = ["=" * w, f"{'scalelaw chain: ' + self.stage1.law.name + ' -> ' + self.stage2.law.name:^{w}}", "=" * w,
                f"stage 1:    {self.loss} = {self.stage1.law.formula}",
                f"stage 2:    {self.metric} = {self.stage2.law.formula.replace('loss', self.loss)}"
                f"   (range [{lo:g}, {hi:g}])",
                f"bootstrap:  {self.n_resamples} resamples of {self.unit}"
                + (f" ({self.n_units} units)" if self.n_units else "")
                + ", both stages refitted on each; metric bands from the paired draws"
                if self.n_resamples else "bootstrap:  none (no bands)"]
        lines = head + [f"note:       {n}" for n in self.notes]
        lines += ["", "stage 1: the loss", self.stage1.summary(alpha), "",
                  f"stage 2: {self.metric} from the loss", self.stage2.summary(alpha)]
        return "\n".join(lines)

    def __repr__(self):
        return (f"<ChainResult {self.stage1.law.name} -> {self.stage2.law.name} ({self.metric}); "
                f"{self.n_resamples} resamples>")

    # -- JSON ----------------------------------------------------------------------------
    def to_dict(self, alpha: float = 0.05) -> dict:
        return {"chain": {"kind": "two-stage downstream chain", "metric": self.metric, "loss": self.loss,
                          "metric_range": list(self.metric_range), "n_resamples": self.n_resamples,
                          "unit": self.unit, "n_units": self.n_units, "notes": self.notes},
                "stage1": self.stage1.to_dict(alpha), "stage2": self.stage2.to_dict(alpha)}

    def to_json(self, path: str | os.PathLike | None = None, alpha: float = 0.05) -> str:
        """JSON text (both stages' fits with their paired draws); written atomically to
        ``path`` when given."""
        from .serialize import dump_json
        return dump_json(self.to_dict(alpha), path)

    @classmethod
    def from_json(cls, source) -> "ChainResult":
        """A chain from JSON text, a file path or the parsed object (for prediction)."""
        from .results import FitResult
        from .serialize import read_fit_json
        d = source if isinstance(source, dict) else read_fit_json(source)
        if not is_chain_json(d):
            raise ScalelawError("not a chain JSON: give the file written by `scalelaw fit --metric COL --json`")
        c = d["chain"]
        try:
            out = cls(FitResult.from_json(d["stage1"]), FitResult.from_json(d["stage2"]),
                      metric=c["metric"], loss=c.get("loss", "loss"),
                      metric_range=tuple(c.get("metric_range") or (0.0, 1.0)), notes=c.get("notes"),
                      n_units=c.get("n_units"), unit=c.get("unit", "rows"))
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise ScalelawError(f"not a chain JSON: missing or malformed {e}") from None
        out.n_resamples = int(c.get("n_resamples") or 0)
        out._draw_params()   # refuses stages with different numbers of draws
        return out


def is_chain_json(d) -> bool:
    """Whether a parsed JSON object is a chain (``ChainResult.to_dict``)."""
    return isinstance(d, dict) and isinstance(d.get("chain"), dict) and "stage1" in d and "stage2" in d


# -- one law through the logit link ---------------------------------------------------------
def fit_metric(data, law="chinchilla", *, metric: str, metric_range=(0.0, 1.0), fitter=None, **options):
    """Fit a scaling law to the logit of a bounded metric column
    (:class:`~scalelaw.laws.downstream.LogitLink`): the law models the odds against success
    ``(hi − metric)/(metric − lo)``.  Values must lie strictly inside ``metric_range`` (a
    :class:`~scalelaw.laws.downstream.LogitLink` given as ``law`` brings its own range).
    ``options`` go to the fit (``columns`` for the law's variables, ``bootstrap``, ...).
    Predict the metric with :func:`predict_metric`."""
    from ..laws import get_law
    from ..laws.downstream import LogitLink, parse_range
    from .data import as_frame
    fitter = _default_fitter(fitter)
    frame = as_frame(data)
    base = get_law(law)
    if isinstance(base, LogitLink):   # a link law brings its own range
        link = base
    else:
        lo, hi = parse_range(metric_range)
        link = LogitLink(base, lo, hi)
    metric_column(frame, metric, (link.lo, link.hi), open_range=True)
    columns = {**dict(options.pop("columns", None) or {}), "metric": metric}
    return fitter(frame, link, columns=columns, **options)


def predict_metric(result, data=None, alpha: float = 0.05, **columns) -> pd.DataFrame:
    """Predictions of a logit-link fit mapped to the metric: the inputs plus ``metric_mean``,
    ``metric_lower/upper`` (the curve's band), ``metric_obs_lower/upper`` (a new run),
    ``metric_cal_lower/upper`` (calibrated, when the fit was cross-validated),
    ``extrapolation`` and ``interval``.  Bands are mapped through the inverse link, so they
    stay inside the declared range."""
    law = result.law
    if not hasattr(law, "to_metric"):
        raise ScalelawError(f"predict_metric maps logit-link fits to the metric; this is a {law.name} fit: "
                            "use its predict")
    pred = result.predict(data, alpha=alpha, **columns)
    keep = [c for c in pred.columns if c in law.variables]
    out = pred[keep].copy()
    out["metric_mean"] = law.to_metric(pred["mean"])
    for src, dst in (("mean_ci", "metric"), ("obs_ci", "metric_obs"), ("cal_ci", "metric_cal")):
        if f"{src}_lower" in pred:   # the map decreases: the odds' upper limit is the metric's lower
            out[f"{dst}_lower"] = law.to_metric(pred[f"{src}_upper"])
            out[f"{dst}_upper"] = law.to_metric(pred[f"{src}_lower"])
    for c in ("extrapolation", "interval"):
        if c in pred:
            out[c] = pred[c]
    return out
