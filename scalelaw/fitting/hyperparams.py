"""Optimal learning rate and batch size as power laws of compute, by DeepSeek-LLM's
procedure (DeepSeek-AI 2024, "DeepSeek LLM: Scaling Open-Source Language Models with
Longtermism", §3.1; REFERENCE §13).

From a sweep table (compute ``C`` in FLOPs, peak ``lr``, ``batch_size`` in tokens per step,
final ``loss`` in nats per token): at each compute budget keep the runs whose loss is within
``tolerance`` (relative, default 0.25%) of that budget's best loss (the "near-optimal"
region), then fit ``η_opt = η0·C^a`` to the kept runs' learning rates and
``B_opt = B0·C^b`` to their batch sizes.  Each power law is a fit of the one engine
(:func:`scalelaw.fit` with law ``powerlaw`` in ``C``, least squares on log residuals: an
ordinary regression of log lr and log batch size on log C), so intervals, bootstrap
(``bootstrap=``, ``groups=``) and JSON come from :class:`FitResult`.  ``powerlaw`` is
``A·C^−α``: ``η0 = A`` and ``a = −α`` of the LR fit, likewise ``B0``, ``b``.

The loss-surface law ``lr_batch`` (:mod:`scalelaw.laws.hyperparams`) estimates the same
four numbers from every run at once; this procedure uses only the near-optimal runs, as
DeepSeek did, and needs no model of the loss surface.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import ScalelawError, ScalelawWarning

#: DeepSeek-LLM's near-optimal band: within 0.25% of the best loss at each compute budget
DEFAULT_TOLERANCE = 0.0025


@dataclass
class HyperparamFit:
    """The result of :func:`fit_hyperparams`.

    ``kept`` : the near-optimal runs (columns ``C, lr, batch_size, loss``, and ``best_loss``
    of their budget); ``lr_fit``, ``batch_fit`` : the two power-law fits
    (:class:`FitResult`, law ``powerlaw`` in ``C``); ``tolerance`` : the relative band used.
    """

    kept: pd.DataFrame
    lr_fit: Any
    batch_fit: Any
    tolerance: float
    n_budgets: int

    @property
    def params(self) -> pd.Series:
        """``eta0, a, B0, b`` (``η_opt = η0·C^a``, ``B_opt = B0·C^b``)."""
        lr, bs = self.lr_fit.params, self.batch_fit.params
        return pd.Series({"eta0": lr["A"], "a": -lr["alpha"], "B0": bs["A"], "b": -bs["alpha"]})

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """``lower, upper`` of ``eta0, a, B0, b`` at confidence 1 − ``alpha`` (from each power
        law's :meth:`FitResult.conf_int`: bootstrap when the fits were bootstrapped)."""
        rows = {}
        for pre, res in (("", self.lr_fit), ("B", self.batch_fit)):
            ci = res.conf_int(alpha=alpha)
            scale, expo = ("eta0", "a") if pre == "" else ("B0", "b")
            rows[scale] = (ci.loc["A", "lower"], ci.loc["A", "upper"])
            rows[expo] = (-ci.loc["alpha", "upper"], -ci.loc["alpha", "lower"])
        return pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"]).loc[
            ["eta0", "a", "B0", "b"]]

    def predict(self, C) -> pd.DataFrame:
        """``C, lr_opt, batch_size_opt`` and their ``*_lower/*_upper`` (the power laws'
        mean bands) at compute ``C`` (FLOPs)."""
        C = np.atleast_1d(np.asarray(C, dtype=float))
        out = {"C": C}
        for name, res in (("lr_opt", self.lr_fit), ("batch_size_opt", self.batch_fit)):
            pr = res.predict(C=C)
            out[name] = pr["mean"].to_numpy()
            out[f"{name}_lower"] = pr["mean_ci_lower"].to_numpy()
            out[f"{name}_upper"] = pr["mean_ci_upper"].to_numpy()
        return pd.DataFrame(out)

    def summary(self) -> str:
        p, ci = self.params, self.conf_int()
        lines = [f"optimal hyperparameters from {len(self.kept)} near-optimal run(s) "
                 f"(within {100 * self.tolerance:g}% of the best loss at each of "
                 f"{self.n_budgets} compute budgets)",
                 f"  lr_opt         = eta0 * C^a: eta0 = {p['eta0']:.4g} "
                 f"[{ci.loc['eta0', 'lower']:.4g}, {ci.loc['eta0', 'upper']:.4g}], "
                 f"a = {p['a']:.4g} [{ci.loc['a', 'lower']:.4g}, {ci.loc['a', 'upper']:.4g}]",
                 f"  batch_size_opt = B0 * C^b:   B0 = {p['B0']:.4g} "
                 f"[{ci.loc['B0', 'lower']:.4g}, {ci.loc['B0', 'upper']:.4g}], "
                 f"b = {p['b']:.4g} [{ci.loc['b', 'lower']:.4g}, {ci.loc['b', 'upper']:.4g}]"]
        for res in (self.lr_fit, self.batch_fit):
            lines += [f"  note: {n}" for n in res.notes if "x = C" not in n]
        return "\n".join(lines)


def near_optimal(frame: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """The rows of ``frame`` (columns ``C`` and ``loss``) within ``tolerance`` (relative) of
    the lowest loss of their compute budget ``C``; with a column ``best_loss`` added."""
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise ScalelawError(f"tolerance must be a relative loss band >= 0 (0.0025 for 0.25%), "
                            f"not {tolerance!r}")
    best = frame.groupby("C")["loss"].transform("min")
    out = frame.assign(best_loss=best)
    return out.loc[out["loss"] <= best * (1.0 + tolerance)].reset_index(drop=True)


def fit_hyperparams(data, *, tolerance: float = DEFAULT_TOLERANCE,
                    columns: Mapping[str, str] | None = None, where: str | None = None,
                    flops_per_token: float = 6.0, **fit_options) -> HyperparamFit:
    """DeepSeek-LLM's optimal LR and batch-size power laws from a sweep table.

    Parameters
    ----------
    data : a table (DataFrame, dict of columns, or file path) with compute ``C`` (or ``N``
        and ``D``, then ``C = flops_per_token·N·D``), ``lr``, ``batch_size`` (tokens per
        step) and ``loss``; column names are matched as everywhere (``columns=`` maps
        canonical names to yours).
    tolerance : relative loss band of the near-optimal runs per budget (0.0025: 0.25%).
    where : rows to use, an expression over the table's columns.
    fit_options : go to both :func:`scalelaw.fit` calls (``bootstrap``, ``seed``,
        ``groups``, ``pool``, ``n_jobs`` ...); the objective defaults to ``"l2"`` on log
        residuals (a regression in log-log axes).

    Budgets are the distinct values of ``C``: round them in your table if runs of one
    budget carry slightly different FLOP counts.  At least two budgets are needed, and
    three or more for an interval that means anything.
    """
    from ..laws.hyperparams import LRBatchLaw
    from .api import fit
    from .data import column_options, prepare_frame, row_mask

    law = LRBatchLaw()
    varmap, target = column_options(law, columns)
    _, prep = prepare_frame(data, law, x=varmap, y=target, flops_per_token=flops_per_token)
    frame = prep.frame.rename(columns={"y": "loss"})
    if where is not None:
        keep = row_mask(prep.env, where, "where")
        frame = frame.loc[keep].reset_index(drop=True)
    for v in ("C", "lr", "batch_size", "loss"):
        bad = ~(frame[v].to_numpy(dtype=float) > 0)
        if bad.any():
            raise ScalelawError(f"{int(bad.sum())} row(s) with {v} <= 0; remove them "
                                f"(select '{v} > 0')", option="where")
    n_budgets = int(frame["C"].nunique())
    if n_budgets < 2:
        raise ScalelawError(f"{n_budgets} compute budget(s) in the sweep: power laws in C need "
                            "runs at two or more budgets (three or more for intervals)")
    kept = near_optimal(frame[["C", "lr", "batch_size", "loss"]], tolerance)
    opts = {"objective": "l2", **fit_options}
    fits = []
    for v in ("lr", "batch_size"):
        sub = pd.DataFrame({"C": kept["C"].to_numpy(), "loss": kept[v].to_numpy()})
        if sub["loss"].nunique() < 2:
            raise ScalelawError(f"the near-optimal runs all have one {v}: the sweep does not vary "
                                f"{v} near the optimum, or the tolerance is too small; widen it "
                                "(tolerance=)", option="tolerance")
        fits.append(fit(sub, "powerlaw", columns={"C": "C"}, **opts))
    return HyperparamFit(kept=kept, lr_fit=fits[0], batch_fit=fits[1], tolerance=float(tolerance),
                         n_budgets=n_budgets)


#: the columns of :func:`optimal_hparams`, in the order of the law's ``optimum``
OPTIMUM_COLUMNS = ("lr_opt", "batch_size_opt", "loss_opt")


def optimal_hparams(res, C, alpha: float = 0.05) -> pd.DataFrame:
    """The optimal learning rate, batch size and best loss of an ``lr_batch`` fit at compute
    ``C`` (FLOPs), with (1 − ``alpha``) intervals.

    ``res`` : a :class:`FitResult` of a law with an ``optimum(C, p)`` method (``lr_batch``).
    Returns one row per budget: ``C``, ``lr_opt`` (η_opt), ``batch_size_opt`` (B_opt, in the
    units of the fitted batch sizes), ``loss_opt`` (L* = E + G·C^−γ, nats per token), each
    with ``*_lower/*_upper``, and ``interval`` (``"interpolation"`` inside the fitted compute
    range, else ``"extrapolation x12 in C"``: how far outside).  The intervals are bootstrap percentiles of
    the optimum per draw when the fit holds draws (``res.bootstrap(n)``; fixed parameters at
    their value in every draw), else the delta method on log scale with the fit's covariance
    of the free parameters (NaN when that covariance is not finite).
    """
    from scipy.special import ndtri

    from .bands import extrapolation_distance, interval_labels, param_draws
    from .results import EXTRAPOLATION_WARN

    law = getattr(res, "law", None)
    if not callable(getattr(law, "optimum", None)):
        raise ScalelawError(f"a {getattr(law, 'name', 'multi-target')} fit has no optimal "
                            "hyperparameters: optimal_hparams (predict --optimum) takes an "
                            "lr_batch fit")
    if not 0 < alpha < 1:
        raise ScalelawError(f"alpha must be between 0 and 1 (0.05 for 95%), not {alpha!r}")
    C = np.atleast_1d(np.asarray(C, dtype=float)).ravel()
    if not np.all(np.isfinite(C) & (C > 0)):
        raise ScalelawError("C must be positive numbers of FLOPs")
    p = res.params.to_numpy(dtype=float)
    point = [np.asarray(v, dtype=float).reshape(-1) for v in law.optimum(C, p)]
    P = param_draws(res)
    if P is not None:
        with np.errstate(invalid="ignore"):
            draws = law.optimum(C, P)   # each (draws, len(C))
        q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
        bands = [np.nanpercentile(np.asarray(d, dtype=float).reshape(len(P), len(C)), q, axis=0)
                 for d in draws]
    else:
        bands = _delta_bands(res, C, point, ndtri(1 - alpha / 2))
    out = {"C": C}
    for name, v, (lo, hi) in zip(OPTIMUM_COLUMNS, point, bands):
        out[name], out[f"{name}_lower"], out[f"{name}_upper"] = v, lo, hi
    dom = {"C": res.domain["C"]} if "C" in res.domain else {}
    dist, which = extrapolation_distance(dom, {"C": C})
    out["interval"] = interval_labels(dist, which)
    far = dist > EXTRAPOLATION_WARN
    if far.any():
        warnings.warn(f"{int(far.sum())} budget(s) more than {EXTRAPOLATION_WARN:g}x outside the "
                      f"fitted compute (C in [{dom['C'][0]:.3g}, {dom['C'][1]:.3g}]): the optimum "
                      "there is an extrapolation of the power laws", ScalelawWarning, stacklevel=2)
    return pd.DataFrame(out)


def _delta_bands(res, C, point, z):
    """Delta-method limits of each optimum on log scale: central differences of
    ``log optimum`` in the free parameters, the fit's covariance."""
    law, free = res.law, list(res.cov.columns)
    cov = res.cov.to_numpy(dtype=float)
    nan = [(np.full(len(C), np.nan),) * 2 for _ in point]
    if not free or not np.all(np.isfinite(cov)):
        return nan
    p = res.params.to_numpy(dtype=float)
    J = np.zeros((len(point), len(C), len(free)))
    for j, name in enumerate(free):
        i = law.param_names.index(name)
        h = 1e-6 * max(abs(p[i]), 1e-8)
        up, dn = p.copy(), p.copy()
        up[i] += h
        dn[i] -= h
        with np.errstate(divide="ignore", invalid="ignore"):
            d = [(np.log(np.asarray(u, dtype=float).reshape(-1)) - np.log(np.asarray(v, dtype=float).reshape(-1)))
                 / (2 * h) for u, v in zip(law.optimum(C, up), law.optimum(C, dn))]
        J[:, :, j] = d
    sd = np.sqrt(np.clip(np.einsum("acj,jk,ack->ac", J, cov, J), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return [(v * np.exp(-z * s), v * np.exp(z * s)) for v, s in zip(point, sd)]


__all__ = ["fit_hyperparams", "near_optimal", "optimal_hparams", "HyperparamFit",
           "DEFAULT_TOLERANCE", "OPTIMUM_COLUMNS"]
