"""Noise components of a scaling table with replicates, estimated from a fit's residuals.

A table may hold several runs (seeds) at one configuration (identical values of the law's
variables, e.g. the same N and D) and several rows per run (evaluation sets, repeated
evaluations).  On the fit's scale (log loss for a log-space fit) a residual is modelled as

    r = m_config + u_run + e_eval,

three independent zero-mean effects with variances ``config_var`` (the law's misfit at a
configuration, seen by every run there), ``run_var`` (run-to-run, seed, variance) and
``eval_var`` (evaluation variance of one row).  A new run at a new configuration, evaluated
on ``n_eval`` sets and averaged, scatters around the law's curve with variance
``config_var + run_var + eval_var / n_eval`` (:meth:`Components.new_run_var`).

Estimators: statsmodels' :class:`~statsmodels.regression.mixed_linear_model.MixedLM`
(REML, variance components on groups of connected configurations and runs) where the design
allows it, and a method-of-moments (ANOVA, Henderson's method I) estimate otherwise or when
MixedLM fails; ``Components.method`` says which.  Both account for the law's degrees of
freedom at the configuration level when ``n_params`` is given (the law's fitted values are
constant within a configuration, so the fit absorbs ``n_params`` of its degrees of freedom;
exact for a balanced nested design fitted by least squares, approximate otherwise).

A component is identified when its grouping of the rows differs from the others': one run
per configuration leaves the run-to-run part folded into ``config_var``; one row per run
leaves the evaluation part folded into ``run_var``.  The unidentified ones are reported as
0 with ``identified[name] = False`` and a one-line note.  See docs/components.md.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ScalelawError

#: conventional names of the column that identifies a run (first match wins)
RUN_COLUMNS = ("run", "run_id", "seed")
#: conventional names of the column that identifies an evaluation set
EVAL_COLUMNS = ("eval", "eval_set", "evalset", "eval_name")
#: component names, from the highest level (configuration) to the lowest (one row)
LEVELS = ("config", "run", "eval")
#: MixedLM is used (method="auto") only when each estimated level above the rows has at
#: least this many degrees of freedom ...
MIN_DF_MIXEDLM = 3
#: ... and no group of connected rows is larger than this (its covariance is dense)
MAX_GROUP_MIXEDLM = 500


@dataclass
class Components:
    """Variance components of the residuals on the fit's scale (variances, not sds).

    Attributes
    ----------
    config_var : configuration-level misfit of the law (shared by all runs at a
        configuration)
    run_var : run-to-run (seed) variance
    eval_var : variance of one evaluation (one row) around its run's value
    identified : ``{"config", "run", "eval"} -> bool``; an unidentified component is 0 and its
        variance sits in the level it is confounded with (see ``notes``)
    method : ``"mixedlm"`` (statsmodels MixedLM, REML) or ``"moments"`` (ANOVA / Henderson I)
    notes : one-line notes (what is not identified, estimates at 0, a MixedLM fallback)
    counts : rows, configurations, runs, run×configuration cells, median rows per cell
    df : degrees of freedom of each level (configuration level net of the law's parameters)
    run_labels : the run of each input row (strings; for a bootstrap that resamples whole
        runs); not serialized
    """

    config_var: float
    run_var: float
    eval_var: float
    identified: dict = field(default_factory=dict)
    method: str = "moments"
    notes: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    df: dict = field(default_factory=dict)
    run_labels: np.ndarray | None = None

    def new_run_var(self, n_eval: int = 1) -> float:
        """Variance a new run at a new configuration adds around the law's curve (fit scale):
        ``config_var + run_var + eval_var / n_eval`` (``n_eval``: evaluation sets averaged)."""
        n_eval = int(n_eval)
        if n_eval < 1:
            raise ScalelawError(f"n_eval must be a positive number of evaluations, not {n_eval}")
        return float(self.config_var + self.run_var + self.eval_var / n_eval)

    @property
    def sd(self) -> dict:
        """Standard deviations of the three components (fit scale)."""
        return {k: float(np.sqrt(max(getattr(self, f"{k}_var"), 0.0))) for k in LEVELS}

    def describe(self) -> str:
        """One line for a fit's summary."""
        c = self.counts
        design = (f"{c.get('configs', '?')} configurations, {c.get('runs', '?')} runs, "
                  f"{c.get('rows', '?')} rows")
        parts = []
        for k in LEVELS:
            if self.identified.get(k):
                parts.append(f"{k} {self.sd[k]:.3g}")
        missing = [k for k in LEVELS if not self.identified.get(k)]
        sds = ", ".join(parts) if parts else "none separable"
        text = (f"noise components ({self.method}; {design}): sd {sds}; new run sd "
                f"{np.sqrt(self.new_run_var()):.3g}")
        if missing:
            text += f"; not identified: {', '.join(missing)}"
        return text

    def to_dict(self) -> dict:
        """JSON-able form (``run_labels`` left out)."""
        return {"config_var": float(self.config_var), "run_var": float(self.run_var),
                "eval_var": float(self.eval_var),
                "identified": {k: bool(v) for k, v in self.identified.items()},
                "method": self.method, "notes": list(self.notes),
                "counts": {k: (float(v) if isinstance(v, float) else int(v)) for k, v in self.counts.items()},
                "df": {k: float(v) for k, v in self.df.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "Components":
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(config_var=float(d["config_var"]), run_var=float(d["run_var"]),
                       eval_var=float(d["eval_var"]), identified=dict(d.get("identified", {})),
                       method=str(d.get("method", "moments")), notes=list(d.get("notes", [])),
                       counts=dict(d.get("counts", {})), df=dict(d.get("df", {})))
        except (KeyError, TypeError, ValueError) as e:
            raise ScalelawError(f"cannot read noise components from {type(d).__name__}: {e}") from None


def estimate_components(frame, variables, residuals, *, run: str | None = None,
                        eval: str | None = None, n_params: int | None = None,
                        method: str = "auto") -> Components | None:
    """Estimate configuration, run-to-run and evaluation variance from a fit's residuals.

    Parameters
    ----------
    frame : DataFrame of the fitted rows (same order as ``residuals``) with the law's
        variables and, optionally, a run column and an evaluation-set column.
    variables : the law's variable names (columns of ``frame``); rows with identical values
        form one configuration.
    residuals : residuals on the fit's scale (``log(pred) − log(obs)`` for a log-space fit),
        one per row; non-finite ones are dropped with a note.
    run : the column identifying each row's run.  Default: the first of
        :data:`RUN_COLUMNS` present.  A column named ``seed`` numbers the seeds at each
        configuration (runs = configuration × seed).  Labels of another run column are runs
        as given when each label stays within one configuration, or when a label's rows
        differ in one variable only (checkpoints of one run along D, say: its offset is then
        shared across them; a note says so); labels reused across configurations that differ
        in more than one variable (replicate numbers 0, 1, 2 at every configuration) number
        the runs within each configuration (a note says so).  Without a run column each row
        is a run, except with an evaluation column, where the k-th row of an evaluation set
        at a configuration belongs to that configuration's k-th run.
    eval : the column naming each row's evaluation set (default: the first of
        :data:`EVAL_COLUMNS` present); several rows of one run at one configuration are
        evaluations whether or not it is given.
    n_params : parameters the law estimated (free and anchored); the configuration level
        loses that many degrees of freedom to the fit (default 1: a mean only).
    method : ``"auto"`` (MixedLM when the design is big enough, else moments; moments if
        MixedLM fails), ``"mixedlm"`` (MixedLM unless it fails), ``"moments"``.

    Returns
    -------
    :class:`Components` (variances on the fit's scale).  Without replicates the run-to-run
    and evaluation parts are not identified: ``identified`` says so, a note says so, and
    ``config_var`` holds the whole residual variance.  (The ``None`` in the signature is for
    callers that store "no estimate"; valid input always gives a :class:`Components`.)
    """
    if method not in ("auto", "mixedlm", "moments"):
        raise ScalelawError(f"unknown noise-components method {method!r}; use 'auto', 'mixedlm' or 'moments'")
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    variables = [variables] if isinstance(variables, str) else list(variables)
    if not variables:
        raise ScalelawError("no variables given to group the rows into configurations")
    missing = [v for v in variables if v not in frame.columns]
    if missing:
        raise ScalelawError(f"variable column(s) {', '.join(map(repr, missing))} not in the table "
                            f"(columns: {_column_list(frame)})")
    r = np.asarray(residuals, dtype=float).ravel()
    if len(r) != len(frame):
        raise ScalelawError(f"{len(r)} residuals for {len(frame)} rows: give one residual per fitted row")
    run_col = _pick_column(frame, run, RUN_COLUMNS, "run")
    eval_col = _pick_column(frame, eval, EVAL_COLUMNS, "evaluation-set")
    if run_col is not None and run_col == eval_col:
        raise ScalelawError(f"column {run_col!r} cannot name both the run and the evaluation set")
    notes: list[str] = []

    config = _config_codes(frame, variables)
    run_labels = _run_labels(frame, variables, config, run_col, eval_col, notes)
    ok = np.isfinite(r)
    if not ok.all():
        notes.append(f"{int((~ok).sum())} non-finite residual(s) left out of the noise components")
    if ok.sum() < 2:
        raise ScalelawError("fewer than two finite residuals: no noise components to estimate")
    y, c_codes = r[ok], config[ok]
    run_codes = pd.factorize(run_labels[ok])[0]
    n_params = 1 if n_params is None else max(int(n_params), 1)

    design = _Design(c_codes, run_codes, n_params)
    if design.saturated() and design.identified["config"]:
        design.identified["config"] = False
        notes.append(f"configuration misfit not identified: {design.a} configurations for "
                     f"{n_params} law parameters (config_var = 0; within-configuration scatter only)")
    notes.extend(design.notes())
    y = design.inflate(y)

    est, used = None, "moments"
    why = design.mixedlm_unsuitable() if method != "moments" else None
    if method != "moments" and why is None:
        est, fail = _mixedlm(y, design, start=_moments(y, design))
        if est is None:
            notes.append(f"MixedLM {fail}: method-of-moments estimate instead")
        else:
            used = "mixedlm"
    elif method == "mixedlm":
        notes.append(f"MixedLM not used ({why}): method-of-moments estimate instead")
    if est is None:
        est = _moments(y, design)
    for k in design.estimated():
        if est[k] <= 0.0:
            notes.append(f"{k} variance estimated at 0 (no {k}-level scatter beyond the levels below it)")
    values = {k: (max(float(est[k]), 0.0) if design.identified[k] else 0.0) for k in LEVELS}
    return Components(config_var=values["config"], run_var=values["run"], eval_var=values["eval"],
                      identified=dict(design.identified), method=used, notes=notes,
                      counts=design.counts(), df=design.df, run_labels=run_labels)


# ---------------------------------------------------------------------------------------
def _pick_column(frame, name, conventional, what):
    if name is not None:
        if name not in frame.columns:
            raise ScalelawError(f"{what} column {name!r} not in the table (columns: {_column_list(frame)})")
        return name
    lower = {str(c).lower(): c for c in frame.columns}
    for c in conventional:
        if c in lower:
            return lower[c]
    return None


def _column_list(frame, most: int = 12) -> str:
    cols = [str(c) for c in frame.columns]
    return ", ".join(cols[:most]) + (f", ... ({len(cols)} in all)" if len(cols) > most else "")


def _config_codes(frame, variables) -> np.ndarray:
    """Integer code of each row's configuration: identical variable values (to 12
    significant digits, so that a round trip through text does not split one)."""
    keys = []
    for v in variables:
        x = frame[v]
        if pd.api.types.is_numeric_dtype(x):
            x = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
            x = np.array([f"{t:.12g}" for t in x], dtype=object)
        else:
            x = x.astype(str).to_numpy(dtype=object)
        keys.append(x)
    joined = pd.Series(["\x1f".join(t) for t in zip(*keys)]) if len(keys) > 1 else pd.Series(keys[0])
    return pd.factorize(joined)[0]


def _run_labels(frame, variables, config, run_col, eval_col, notes) -> np.ndarray:
    """String label of each row's run (see :func:`estimate_components` for the rules)."""
    n = len(frame)
    if run_col is not None:
        vals = frame[run_col].astype(str).to_numpy(dtype=object)
        blank = frame[run_col].isna().to_numpy()
        vals[blank] = [f"<unlabelled row {i}>" for i in np.flatnonzero(blank)]   # a run of its own
        nested = np.array([f"config {c} {run_col} {s}" for c, s in zip(config, vals)], dtype=object)
        if str(run_col).lower() == "seed":   # seed numbers repeat at every configuration
            return nested
        spans = pd.Series(config).groupby(vals).nunique()
        if (spans <= 1).all():
            return vals
        # a run spanning configurations: checkpoints of one run (its configurations differ
        # in one variable, e.g. D at one N) or replicate numbers reused at every configuration
        varying = frame[variables].groupby(vals).nunique() if len(variables) > 1 else None
        if varying is not None and bool(((varying > 1).sum(axis=1) <= 1).all()):
            notes.append(f"runs span configurations (up to {int(spans.max())} each, along one variable): "
                         "a run's offset is shared by its rows at all of them")
            return vals
        notes.append(f"{run_col} labels repeat across configurations that differ in more than one "
                     "variable: read as replicate numbers within each configuration")
        return nested
    if eval_col is not None:   # k-th row of an evaluation set at a configuration: k-th run
        k = pd.DataFrame({"c": config, "e": frame[eval_col].astype(str).to_numpy()}).groupby(
            ["c", "e"]).cumcount().to_numpy()
        return np.array([f"config {c} run {j}" for c, j in zip(config, k)], dtype=object)
    return np.array([f"row {i}" for i in range(n)], dtype=object)


class _Design:
    """The grouping of the rows: configurations, runs and their cells; which components the
    groupings identify; Henderson-I coefficients of the quadratic forms."""

    def __init__(self, config, run, n_params):
        self.config, self.run, self.p = np.asarray(config), np.asarray(run), int(n_params)
        self.n = len(self.config)
        self.config = pd.factorize(self.config)[0]
        self.a = int(self.config.max()) + 1
        self.b = int(self.run.max()) + 1
        cell = pd.factorize(pd.Series(self.config.astype(np.int64) * self.b + self.run))[0]
        self.cell = cell
        self.n_cells = int(cell.max()) + 1
        self.parts = {"config": self.config, "run": self.run, "eval": np.arange(self.n)}
        sizes = {"config": self.a, "run": self.b, "eval": self.n}
        # two groupings that put the same rows together are one level: the higher holds it
        self._holder = {}
        for k in LEVELS:
            self._holder[k] = k
            for h in LEVELS[:LEVELS.index(k)]:
                if self._holder[h] == h and sizes[h] == sizes[k] and _same_partition(self.parts[h], self.parts[k]):
                    self._holder[k] = h
                    break
        self.identified = {k: self._holder[k] == k for k in LEVELS}
        for k in ("config", "run"):   # one group in all: absorbed by the fit's mean
            if self.identified[k] and sizes[k] == 1:
                self.identified[k] = False
        self.nested = bool(np.all(pd.Series(self.config).groupby(self.run).nunique() == 1))
        # degrees of freedom of each level (nested design; crossed: the same counts)
        self.df = {"config": float(max(self.a - self.p, 0)),
                   "run": float(self.n_cells - self.a if self.nested else self.b - 1),
                   "eval": float(self.n - self.n_cells)}

    def holder(self, k):
        return self._holder[k]

    def notes(self) -> list[str]:
        out = []
        if self.a == 1:
            out.append("configuration misfit not identified: a single configuration (the fit's level)")
        run_in, eval_in = self._holder["run"], self._holder["eval"]
        if run_in == "config" and eval_in == "config":
            out.append("run-to-run and evaluation variance not identified: one row per configuration "
                       "(config_var holds all the scatter); replicate seeds at some configurations to "
                       "separate them")
            return out
        if run_in == "config":
            out.append("run-to-run variance not identified: one run per configuration "
                       "(config_var holds it); replicate seeds at some configurations to separate it")
        elif not self.identified["run"]:
            out.append("run-to-run variance not identified: a single run")
        if eval_in == "run":
            out.append("evaluation variance not identified: one row per run (run_var holds it)")
        elif eval_in == "config":
            out.append("evaluation variance not identified: one row per configuration (config_var holds it)")
        return out

    def counts(self) -> dict:
        per_cell = np.bincount(self.cell)
        return {"rows": self.n, "configs": self.a, "runs": self.b, "cells": self.n_cells,
                "rows_per_cell": float(np.median(per_cell))}

    def estimated(self) -> list[str]:
        """Levels estimated as separate unknowns (identified, or holding another)."""
        return [k for k in LEVELS if self.identified[k]]

    def mixedlm_unsuitable(self) -> str | None:
        est = self.estimated()
        if self.saturated():
            return "the law fits every configuration's mean"
        if self.holder("eval") not in est:
            return "no residual level"
        above = [k for k in est if k != self.holder("eval")]   # the rows' level is the residual
        if not above:
            return "nothing to separate"
        small = [k for k in above if self.df[k] < MIN_DF_MIXEDLM]
        if small:
            return f"design too small: {small[0]} level has {self.df[small[0]]:.0f} degrees of freedom"
        groups = _components(self.config, self.run)
        biggest = int(np.bincount(groups).max())
        if biggest > MAX_GROUP_MIXEDLM:
            return f"a group of {biggest} connected rows (dense covariance)"
        return None

    def coefficients(self):
        """Rows: quadratic forms T_g = Σ_blocks n_b·ȳ_b² for g in (0=mean, config, run, eval);
        columns: σ²_config, σ²_run, σ²_eval; E[T_g] = Σ_j K[g, j]·σ²_j + N·μ²."""
        parts = [np.zeros(self.n, int), self.config, self.run, self.parts["eval"]]
        comps = [self.config, self.run, self.parts["eval"]]
        K = np.empty((4, 3))
        for gi, g in enumerate(parts):
            ng = np.bincount(g).astype(float)
            for ji, j in enumerate(comps):
                if ji == 2:    # identity: each row its own block
                    K[gi, ji] = float(len(ng))
                    continue
                # n_bh: rows in block b of g and block h of j
                _, inv, nbh = np.unique(g.astype(np.int64) * (int(j.max()) + 1) + j,
                                        return_inverse=True, return_counts=True)
                first = np.zeros(len(nbh), np.int64)
                first[inv] = g
                K[gi, ji] = float(np.sum(nbh.astype(float) ** 2 / ng[first]))
        return K

    def saturated(self) -> bool:
        """The law has at least as many parameters as there are configurations: it can fit
        every configuration's mean, so the estimates use within-configuration scatter only."""
        return self.a <= self.p and self.a > 1

    def inflate(self, y) -> np.ndarray:
        """The residuals with their between-configuration part scaled by
        sqrt((a − 1)/(a − p)): the fitted law took p − 1 more of the configuration level's
        degrees of freedom than a mean would, so that estimators which assume a mean only
        (MixedLM, the moments below) see the configuration level's full scatter (exact for a
        balanced nested design fitted by least squares)."""
        if self.p <= 1 or self.saturated() or self.a <= 1:
            return y
        k = np.sqrt((self.a - 1) / (self.a - self.p))
        cm = np.bincount(self.config, weights=y) / np.bincount(self.config)
        grand = float(np.mean(y))
        return grand + k * (cm[self.config] - grand) + (y - cm[self.config])


def _same_partition(x, y) -> bool:
    """Whether two label arrays group the rows identically."""
    pairs = pd.Series(list(zip(x, y)))
    return pairs.nunique() == len(np.unique(x)) == len(np.unique(y))


def _components(config, run) -> np.ndarray:
    """Connected groups of rows: configurations linked by a run they share (a run spanning
    configurations couples them), as codes."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = int(config.max()) + 1, int(run.max()) + 1
    m = coo_matrix((np.ones(len(config)), (config, a + run)), shape=(a + b, a + b))
    _, lab = connected_components(m, directed=False)
    return pd.factorize(lab[config])[0]


def _moments(y, design: _Design) -> dict:
    """Henderson's method I: match the quadratic forms T_g = Σ n_b·ȳ_b² over the blocks of
    configurations, runs and rows, less that of the mean (of the configurations when the
    law fits every configuration), to their expectations; non-negative least squares when
    an estimate would be negative.  In a balanced nested design this is the ANOVA estimate."""
    from scipy.optimize import nnls

    K = design.coefficients()
    parts = [np.zeros(len(y), int), design.config, design.run, design.parts["eval"]]
    T = np.array([np.sum(np.bincount(g, weights=y) ** 2 / np.bincount(g)) for g in parts])
    base = 1 if design.saturated() else 0
    out = {k: 0.0 for k in LEVELS}
    est = design.estimated()
    if not est:   # nothing separable: the residual variance, net of the law's parameters
        out["config"] = float(np.sum((y - y.mean()) ** 2) / max(len(y) - design.p, 1))
        return out
    # one unknown per estimated level (its column stands for the levels it holds: their
    # groupings, hence their columns, are identical); one equation per estimated level
    cols = [LEVELS.index(k) for k in est]
    A = (K[1:] - K[base])[np.ix_(cols, cols)]
    B = (T[1:] - T[base])[cols]
    sol = np.linalg.lstsq(A, B, rcond=None)[0]
    if np.any(sol < 0):
        sol = nnls(A, B)[0]
    for k, v in zip(est, sol):
        out[k] = float(v)
    return out


def _mixedlm(y, design: _Design, start: dict | None = None):
    """REML variance components with statsmodels' MixedLM: one group per set of connected
    configurations and runs, a variance component for each estimated level above the rows,
    the residual for the lowest; started from ``start`` (the moments estimate).  Returns
    (estimates, None) or (None, why it failed)."""
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams, VCSpec

    est = design.estimated()
    residual_level = design.holder("eval")
    vc_levels = [k for k in est if k != residual_level]
    groups = _components(design.config, design.run)
    order = np.argsort(groups, kind="stable")
    names, colnames, mats = [], [], []
    for k in vc_levels:
        lab = design.parts[k]
        per_group, per_names = [], []
        for g in range(int(groups.max()) + 1):
            rows = np.flatnonzero(groups == g)
            codes, uniq = pd.factorize(lab[rows])
            m = np.zeros((len(rows), len(uniq)))
            m[np.arange(len(rows)), codes] = 1.0
            per_group.append(m)
            per_names.append([f"{k}{u}" for u in uniq])
        names.append(k)
        colnames.append(per_names)
        mats.append(per_group)
    # standardized and started from the moments estimate: from its default start on
    # residuals of ~1e-2, lbfgs can stop at a point of lower likelihood and call it
    # converged; a second optimizer if the first fails, the better likelihood wins
    sd = float(np.std(y))
    if not sd > 0:
        return None, "not used (all residuals equal)"
    z = (y[order] - float(np.mean(y))) / sd
    g_sorted = groups[order]
    # VCSpec matrices are per group in the group's own row order (stable, as sorted above)
    start_params = None
    if start is not None:
        resid = max(start[residual_level], 1e-12)
        rel = np.array([max(start[k] / resid, 1e-2) for k in vc_levels])
        start_params = MixedLMParams.from_components(fe_params=np.zeros(1), cov_re=np.zeros((0, 0)),
                                                     vcomp=rel)
    best, errors, msgs = None, [], set()
    for optimizer in ("lbfgs", "bfgs"):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = MixedLM(z, np.ones((len(z), 1)), g_sorted, exog_vc=VCSpec(names, colnames, mats))
                fit = model.fit(reml=True, method=[optimizer], start_params=start_params)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError, IndexError) as e:
            errors.append(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            continue
        msgs |= {str(w.message).splitlines()[0] for w in caught if "converge" in str(w.message).lower()}
        vcomp = np.asarray(getattr(fit, "vcomp", []), dtype=float)
        ok = (getattr(fit, "converged", True) and np.all(np.isfinite(vcomp)) and np.isfinite(fit.scale)
              and np.isfinite(fit.llf))
        if ok and (best is None or fit.llf > best.llf):
            best = fit
        if best is not None:
            break
    if best is None:
        if errors:
            return None, f"failed ({errors[0]})"
        return None, "did not converge" + (f" ({sorted(msgs)[0]})" if msgs else "")
    vcomp = np.asarray(best.vcomp, dtype=float) * sd ** 2
    scale = float(best.scale) * sd ** 2
    out = {k: 0.0 for k in LEVELS}
    for k, v in zip(vc_levels, vcomp):
        out[k] = float(v)
    out[residual_level] = scale
    return out, None
