"""The report: one self-contained HTML file of one or more fits, and a Markdown twin.

``write_report(fits, folder)`` (what ``scalelaw report`` calls) writes ``folder/report.html``
(figures embedded as base64 PNG, style and script inline, no external request of any kind:
its Content-Security-Policy forbids them), ``folder/report.md`` and the figures it links
``folder/figures/*.png``.  For each fit: a summary, the parameter table with intervals
(``conf_int()``: bootstrap percentiles when the fit was bootstrapped, else asymptotic),
metrics, holdout scores, leave-one-group-out scores (scaling laws, with the runs), the
forecast figure and predictions at a target, the compute-optimal allocation (laws with the
Chinchilla parameters), and the notes the library made.  An LR-schedule fit gets its
predicted curves and a live schedule explorer: sliders for a WSD schedule's cooldown
fraction, cooldown shape, final LR and step budget that redraw the predicted loss curve in
the page, computed by ``report_assets/explorer.js`` from the fitted parameters (a float64
port of the schedule and law code; the momentum, S1-power and multi-power laws).  Last comes
the provenance: scalelaw's version, the SHA-256 of every input file and the command line (a
time only when asked for).

Every text that comes from an input (column and run names, notes, law names, file names) is
HTML-escaped (``html.escape``) in the HTML and escaped for Markdown in the twin; the same
inputs give the same bytes.

:class:`Report` and :class:`Section` build a report of your own: sections of paragraphs,
tables (DataFrames), figures (matplotlib Figures, drawn lazily) and fits.  Losses are in
nats per token (per character where the loss column says so); compute C = 6ND FLOPs.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .errors import ScalelawError

__all__ = ["ReportFit", "Section", "Report", "write_report", "explorer_model", "EXPLORER_LAWS",
           "ASSETS"]

#: the folder of the files the report inlines (explorer.js, report.css)
ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report_assets")

#: the laws the schedule explorer computes in the page (law classes by name)
EXPLORER_LAWS = ("momentum", "s1power", "multipower")

#: evaluation points of the explorer's curve (every ceil(T / this) steps and the last)
EXPLORER_POINTS = 400

#: the page may load nothing: images are data: URLs, style and script are inline
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")


# --------------------------------------------------------------------------- text helpers
def _esc(v) -> str:
    """HTML-escaped text (quotes too: safe in attributes)."""
    return html.escape(str(v), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def _md(v) -> str:
    """Text for Markdown: HTML-escaped (renderers pass raw HTML through) and the characters
    Markdown gives a meaning escaped; one line."""
    s = html.escape(str(v), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", s).replace("\r", " ").replace("\n", " ")


def _num(v, digits: int = 4) -> str:
    """A number for a table: integers as such, others with ``digits`` significant digits."""
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "—" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    s = f"{x:.{digits}g}"
    if "e" in s:
        m, e = s.split("e")
        s = f"{m}e{int(e)}"
    return s


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower()
    return s[:60] or "figure"


def _json_for_script(obj) -> str:
    """JSON safe inside a ``<script>`` element (no ``<``, ``>`` or ``&`` in the text)."""
    text = json.dumps(obj, sort_keys=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    with open(os.path.join(ASSETS, name), encoding="utf-8") as f:
        return f.read()


def sha256(path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- sections
@dataclass
class _Figure:
    make: Any                 # a Figure, or a callable returning one
    name: str
    caption: str
    path: str | None = None   # set when written
    data: bytes | None = None


@dataclass
class _Table:
    columns: list
    rows: list
    caption: str | None = None


@dataclass
class _Lazy:
    fn: Callable              # fn(section) adds blocks to a fresh Section; run when the report is written
    what: str


class Section:
    """A section of a report: a title and blocks (paragraphs, tables, figures, lists,
    preformatted text) shown in the order they were added.  Text is escaped when written."""

    def __init__(self, title: str, level: int = 2):
        self.title = str(title)
        self.level = int(level)
        self.blocks: list = []
        self.anchor = ""

    def text(self, text: str, cls: str | None = None) -> "Section":
        """A paragraph (``cls="note"``: shown as a caution)."""
        self.blocks.append(("p", str(text), cls))
        return self

    def heading(self, text: str) -> "Section":
        self.blocks.append(("h", str(text)))
        return self

    def pre(self, text: str) -> "Section":
        """Preformatted text (a fit summary)."""
        self.blocks.append(("pre", str(text)))
        return self

    def items(self, items: Sequence[str], cls: str | None = None) -> "Section":
        """A bullet list."""
        items = [str(i) for i in items]
        if items:
            self.blocks.append(("ul", items, cls))
        return self

    def table(self, frame, caption: str | None = None, *, digits: int = 4, index: bool = False) -> "Section":
        """A table from a DataFrame (or rows as a list of dicts): numbers with ``digits``
        significant digits, text escaped."""
        df = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        if index:
            df = df.reset_index()
        cols = [str(c) for c in df.columns]
        rows = []
        for rec in df.itertuples(index=False, name=None):
            rows.append([v if isinstance(v, str) else _num(v, digits) for v in rec])
        self.blocks.append(("table", _Table(cols, rows, caption)))
        return self

    def figure(self, make, name: str, caption: str = "") -> "Section":
        """A figure: a matplotlib Figure, or a callable returning one (drawn when the report
        is written, so that a progress bar can count it).  ``name`` names its PNG file."""
        self.blocks.append(("figure", _Figure(make, str(name), str(caption))))
        return self

    def later(self, fn: Callable, what: str = "") -> "Section":
        """Work done when the report is written (a refit): ``fn(section)`` adds its blocks to
        the section given; a :class:`ScalelawError` it raises becomes a note."""
        self.blocks.append(("lazy", _Lazy(fn, what)))
        return self

    def raw(self, html_text: str, md_text: str) -> "Section":
        """Markup made by this module (never text from an input): the explorer panel."""
        self.blocks.append(("raw", html_text, md_text))
        return self


# --------------------------------------------------------------------------- fits
@dataclass
class ReportFit:
    """One fit in a report.

    ``result``: a :class:`~scalelaw.fitting.FitResult` (fitted in this session, or loaded
    from JSON).  ``data``: for a scaling law the table of runs (points of the forecast,
    leave-one-group-out refits); for an LR-schedule law the logs (``run, step, lr, loss``),
    whose curves are predicted and scored.  ``where``: the rows of ``data`` to use (a
    condition on its columns, as the fit's).  ``target``: the forecast's target, a compute
    budget in FLOPs (laws of N and D) or a value of the law's one variable, or a mapping of
    the law's variables (default: ten times the largest fitted value).  ``logo_by``: the
    column of ``data`` whose groups leave-one-group-out leaves out (default the column of the
    law's first variable; False: none).  ``budgets``: compute budgets (FLOPs) of the
    allocation table.  ``schedules``: ``{name: spec}`` whose curves an LR-schedule fit
    predicts (default: the logs' own schedules, else a WSD schedule).  ``explorer``:
    start settings of the schedule explorer (``peak, final, steps, warmup, cooldown,
    shape``), False for none.  ``fitted_runs``: names of the runs the fit was made on (marked
    in the tables of an LR-schedule fit; default from the fit).
    """

    result: Any
    name: str | None = None
    data: pd.DataFrame | None = None
    source: str | None = None
    where: str | None = None
    target: Any = None
    logo_by: Any = None
    budgets: Sequence[float] | None = None
    schedules: Mapping | None = None
    explorer: Any = None
    fitted_runs: Sequence[str] | None = None
    flops_per_token: float = 6.0
    pairs: bool = True
    extra: dict = field(default_factory=dict)


def _in_session(res) -> bool:
    return res.observed is not None and res.fitted is not None


def _interval_words(res) -> str:
    if res.boot is not None:
        unit = f" of {res.boot_groups}" if res.boot_groups else ""
        return f"bootstrap percentile intervals ({len(res.boot)} resamples{unit})"
    return "asymptotic intervals (sandwich covariance; they assume the law is right)"


def _param_table(res, alpha):
    ci = res.conf_int(alpha)
    se = res.stderr
    bound = res.at_bound
    rows = []
    for p, v in res.params.items():
        tag = ("fixed" if p in res.fixed else "anchored" if p in res.anchored else
               f"on its {bound[p]} bound" if p in bound else "")
        rows.append({"parameter": p, "estimate": float(v),
                     "std err": np.nan if p in res.fixed else float(se.get(p, np.nan)),
                     "lower": float(ci.loc[p, "lower"]), "upper": float(ci.loc[p, "upper"]), "": tag})
    return pd.DataFrame(rows)


def _metrics_table(res):
    m = res.metrics or {}
    rows = [("points fitted n", res.n), ("residual degrees of freedom", res.dof)]
    for key, label in (("r2_log", "R² (log)"), ("r2", "R² (linear)"), ("rmse_log", "RMSE (log)"),
                       ("rmse", "RMSE (loss units)"), ("mape", "MAPE"), ("max_abs_err", "max |error|"),
                       ("aic", "AIC"), ("bic", "BIC")):
        if key in m and m[key] is not None:
            v = m[key]
            rows.append((label, f"{100 * v:.3g}%" if key == "mape" else _num(v, 5)))
    return pd.DataFrame(rows, columns=["metric", "value"])


def _holdout_table(h):
    rows = [("held-out rows", h.get("where", "")), ("n", h.get("n")), ("RMSE", _num(h.get("rmse"))),
            ("MAPE", f"{100 * h['mape']:.3g}%" if h.get("mape") is not None else "—"),
            ("max |error|", _num(h.get("max_abs_err")))]
    return pd.DataFrame(rows, columns=["holdout", "value"])


def _two_variable(law) -> bool:
    return tuple(sorted(law.variables)) == ("D", "N")


def _chinchilla_like(res) -> bool:
    from .allocate import PARAM_NAMES
    return _two_variable(res.law) and set(PARAM_NAMES) <= set(res.params.index) and \
        str(res.law.name).lower() == "chinchilla"


def _select(frame, where):
    if frame is None or where is None:
        return frame
    from .expr import select_rows
    return frame.loc[select_rows(frame, where, "the selection of the runs")].reset_index(drop=True)


def _scaling_sections(rf: ReportFit, sec: Section, alpha: float):
    from . import plot
    res, law, k = rf.result, rf.result.law, float(rf.flops_per_token)
    data = _select(rf.data, rf.where)
    two = _two_variable(law)
    x = "C" if two else (law.variables[0] if len(law.variables) == 1 else None)
    # ---- forecast
    from .plot._runs import fitted_range
    target = rf.target
    if target is None and x is not None:
        rng = fitted_range(res, x, k)
        target = None if rng is None else 10 * rng[1]
    if x is not None:
        sec.heading("Forecast")
        cap = ("Loss against " + ("compute C = 6ND" if two else x) + ": the runs, the fitted law, the "
               f"{100 * (1 - alpha):g}% confidence band of the curve and the wider band of a new run, the "
               "extrapolation region shaded, the asymptote E dashed"
               + (", and the forecast at the target with both intervals." if target is not None else "."))
        sec.figure(lambda: plot.forecast(res, data, target=target, alpha=alpha, flops_per_token=k),
                   f"{rf.name}-forecast", cap)
        point = _target_point(res, target, k)
        if point is not None:
            from .plot._base import quiet_extrapolation
            with quiet_extrapolation():
                pr = res.predict(pd.DataFrame({v: [val] for v, val in point.items()}), alpha=alpha).iloc[0]
            lvl = f"{100 * (1 - alpha):g}%"
            row = {**{v: val for v, val in point.items()}}
            if two:
                row["C = 6ND (FLOPs)"] = k * point["N"] * point["D"]
            row.update({"predicted loss": pr["mean"], f"curve {lvl} lower": pr["mean_ci_lower"],
                        f"curve {lvl} upper": pr["mean_ci_upper"], f"new run {lvl} lower": pr["obs_ci_lower"],
                        f"new run {lvl} upper": pr["obs_ci_upper"],
                        "× beyond the fitted range": pr.get("extrapolation", np.nan)})
            what = ("at the compute-optimal point of the target budget" if two and not isinstance(target, Mapping)
                    else "at the target")
            sec.table([row], f"Prediction {what}", digits=5)
    # ---- residuals and parity (the fitted points: a fit made in this session)
    if _in_session(res):
        sec.figure(lambda: plot.residuals(res, flops_per_token=k, alpha=alpha), f"{rf.name}-residuals",
                   "Residuals ln(observed / fitted) of the fitted points, with ±2 residual scales.")
        sec.figure(lambda: plot.parity(res, flops_per_token=k, alpha=alpha), f"{rf.name}-parity",
                   "Predicted against observed loss.")
    # ---- holdout and leave-one-group-out
    if res.holdout:
        sec.heading("Holdout")
        sec.table(_holdout_table(res.holdout), "Scores of the rows held out of the fit")
    by = rf.logo_by
    if data is not None and by is not False:
        if by is None:
            v0 = "N" if "N" in law.variables else law.variables[0]
            by = (res.mapping or {}).get(v0, v0)
        sec.later(lambda s: _logo(s, res, data, by, k), f"leave-one-group-out ({by})")
    # ---- allocation
    if _chinchilla_like(res):
        sec.later(lambda s: _allocation(s, res, rf.budgets, k, alpha), "allocation")
    if rf.pairs and res.boot is not None and len(res.boot.columns) >= 2:
        sec.figure(lambda: plot.pairs(res, alpha=alpha), f"{rf.name}-pairs",
                   "Bootstrap draws of the parameters: histograms with the estimate and its interval, "
                   "and the draws of each pair.")


def _target_point(res, target, k):
    """The law's variables at the target, or None when they cannot be named."""
    law = res.law
    if target is None:
        return None
    if isinstance(target, Mapping):
        return {v: float(target[v]) for v in law.variables}
    if _two_variable(law):
        if not _chinchilla_like(res):
            return None
        from .allocate import compute_optimal
        t = compute_optimal(res, [float(target)], flops_per_token=k, draws=None).iloc[0]
        return {"N": float(t["N_opt"]), "D": float(t["D_opt"])}
    if len(law.variables) == 1:
        return {law.variables[0]: float(target)}
    return None


def _logo(sec: Section, res, data, by, k):
    from .fitting import leave_one_group_out
    if by not in data.columns:
        raise ScalelawError(f"no column {by!r} in the runs for leave-one-group-out; they have: "
                            f"{', '.join(map(str, data.columns))}")
    law = res.law
    cols = {c: s for c, s in (res.mapping or {}).items()
            if (c in law.variables or c == "loss") and s in data.columns}
    st = res.settings
    out = leave_one_group_out(data, law, by=by, columns=cols or None,
                              fix={p: float(res.params[p]) for p in res.fixed} or None,
                              objective=st.loss, delta=st.delta, space=st.space, overpredict=st.overpredict,
                              flops_per_token=k)
    sec.heading(f"Leave one group out (by {by})")
    sec.text(f"The law refitted {len(out)} times, each time without the runs of one value of {by}, "
             "and scored on the runs left out (loss units; MAPE in percent). The groups at the ends of the "
             "range are extrapolations: the smallest or largest value, predicted from the others.")
    t = out.rename(columns={"group": by, "rmse": "RMSE", "mape": "MAPE (%)", "max_abs_err": "max |error|"})
    t["MAPE (%)"] = 100 * t["MAPE (%)"]
    mean = out.attrs.get("mean", {})
    t = pd.concat([t, pd.DataFrame([{by: "mean", "n": np.nan, "RMSE": mean.get("rmse"),
                                     "MAPE (%)": 100 * mean.get("mape", np.nan),
                                     "max |error|": mean.get("max_abs_err")}])], ignore_index=True)
    sec.table(t, f"Leave-one-group-out scores by {by}")


def _allocation(sec: Section, res, budgets, k, alpha):
    from . import plot
    from .allocate import compute_optimal
    from .plot._runs import fitted_range
    rng = fitted_range(res, "C", k)
    top = rng[1] if rng else 1e21
    if budgets is None:
        d = 10.0 ** math.ceil(math.log10(top))
        budgets = [d, 10 * d, 100 * d]
    table = compute_optimal(res, list(budgets), flops_per_token=k, alpha=alpha)
    lo = (rng[0] if rng else top / 1e3) / 10
    grid = compute_optimal(res, np.geomspace(lo, max(max(budgets), top) * 10, 25), flops_per_token=k,
                           alpha=alpha)
    sec.heading("Compute-optimal allocation")
    a = table.attrs
    words = (f"N_opt ∝ C^a with a = {_num(a.get('a'))}" +
             (f" [{_num(a.get('a_lower'))}, {_num(a.get('a_upper'))}]" if "a_lower" in a else "") +
             f", D_opt ∝ C^b with b = {_num(a.get('b'))}" +
             (f" [{_num(a.get('b_lower'))}, {_num(a.get('b_upper'))}]" if "b_lower" in a else "") +
             f"; C = {k:g}·N·D FLOPs; N in the parameter count the law was fitted on.")
    sec.text("The closed form of the fitted law (Approach 3): " + words)
    keep = [c for c in table.columns if c.split("_lower")[0].split("_upper")[0] in
            ("C", "N_opt", "D_opt", "tokens_per_param", "loss_opt")]
    sec.table(table[keep], "Compute-optimal model size N_opt, data D_opt (tokens) and loss at each budget"
              + (f" ({100 * (1 - alpha):g}% bootstrap intervals)" if "N_opt_lower" in table else ""))
    sec.figure(lambda: plot.frontier(grid), "allocation-frontier-" + _slug(res.law.name),
               "N_opt and D_opt against compute from the closed form of the fit, and the exponents.")


# --------------------------------------------------------------------------- LR-schedule fits
def _fitted_run_names(res) -> list[str]:
    info = res.design_info or {}
    return [str(k) for k in (info.get("warmup") or info.get("lr_fill") or {})]


def _log_schedules(logs) -> dict:
    """Each logged run's per-step LR as a schedule (gaps interpolated)."""
    from .schedules import from_array
    out = {}
    for run, g in logs.groupby("run", sort=False):
        g = g.dropna(subset=["lr"]).sort_values("step")
        if len(g) < 2:
            continue
        st = g["step"].to_numpy(float)
        full = np.arange(int(st[-1]) + 1, dtype=float)
        out[str(run)] = from_array(np.interp(full, st, g["lr"].to_numpy(float)), name=str(run))
    return out


def _curve_sections(rf: ReportFit, sec: Section, alpha: float):
    from . import plot
    from .plot._base import quiet_extrapolation
    from .schedules import parse_schedule
    res = rf.result
    logs = rf.data      # whole logs: the LR history before the scored steps matters
    fitted = [str(r) for r in (rf.fitted_runs if rf.fitted_runs is not None else _fitted_run_names(res))]
    if logs is not None and "run" not in logs:
        logs = logs.assign(run="run")
    if logs is not None and len(logs):
        rows = []
        with quiet_extrapolation():
            for run, g in logs.groupby("run", sort=False):
                if "loss" not in g or not g["loss"].notna().any():
                    continue
                try:
                    p = res.predict(g, alpha=alpha)
                except ScalelawError as e:
                    sec.text(f"log {run}: not predicted ({e})", "note")
                    continue
                p = p[p["loss"].notna()].reset_index(drop=True)
                if rf.where is not None:
                    from .expr import select_rows
                    p = p[select_rows(p.assign(run=str(run)), rf.where, "the selection of the scored steps")]
                elif res.domain.get("step"):
                    p = p[p["step"] >= res.domain["step"][0]]
                if not len(p):
                    continue
                err = (p["loss_pred"] - p["loss"]) / p["loss"]
                rows.append({"run": str(run), "fitted": "yes" if str(run) in fitted else "no, predicted",
                             "points": len(p), "mean |rel. error| (%)": 100 * float(err.abs().mean()),
                             "max |rel. error| (%)": 100 * float(err.abs().max()),
                             "final step": int(p["step"].iloc[-1]),
                             "final loss predicted": float(p["loss_pred"].iloc[-1]),
                             "final loss observed": float(p["loss"].iloc[-1])})
        if rows:
            lo = res.domain.get("step", (None,))[0]
            sec.heading("Logged runs: predicted against observed")
            scored = (f"steps where {rf.where}" if rf.where is not None else
                      f"steps ≥ {lo:g}, the start of the fitted range" if lo is not None else "every logged step")
            sec.table(pd.DataFrame(rows), f"Each log predicted from its own LR schedule; scored on {scored}",
                      digits=5)
    schedules = dict(rf.schedules) if rf.schedules else (_log_schedules(logs) if logs is not None else {})
    model = None
    if rf.explorer is not False and _explorer_law(res.law):
        try:
            model = explorer_model(res, rf.explorer if isinstance(rf.explorer, Mapping) else None)
        except ScalelawError as e:
            sec.text(f"No schedule explorer: its start settings are no WSD schedule ({e}).", "note")
            rf = ReportFit(**{**rf.__dict__, "explorer": False})
    if not schedules and model is not None:
        schedules = {"WSD (the explorer's start)": _spec(model["defaults"])}
    if schedules:
        observed = None
        if logs is not None and "loss" in logs:
            observed = logs[logs["loss"].notna() & logs["run"].astype(str).isin([str(s) for s in schedules])]
            observed = observed.assign(run=observed["run"].astype(str)) if len(observed) else None
        sec.heading("Predicted loss curves")
        sec.figure(lambda: plot.schedule_curves(res, schedules, observed, alpha=alpha), f"{rf.name}-curves",
                   "Predicted loss against step for each schedule (bands: the curve's "
                   f"{100 * (1 - alpha):g}% interval), the logs as points, the LR schedules below.")
        rows = []
        with quiet_extrapolation():
            for name, spec in schedules.items():
                s = parse_schedule(spec)
                p = res.predict(s, alpha=alpha, steps=[int(s.total)]).iloc[-1]
                rows.append({"schedule": str(name), "steps": int(s.total), "final loss": float(p["loss_pred"]),
                             f"{100 * (1 - alpha):g}% lower": float(p["loss_lower"]),
                             f"{100 * (1 - alpha):g}% upper": float(p["loss_upper"])})
        sec.table(pd.DataFrame(rows), "Predicted final loss of each schedule", digits=5)
    if model is not None:
        sec.heading("Schedule explorer")
        sec.raw(*_explorer_markup(res, model, rf.name or res.law.name))
    elif rf.explorer is not False:
        sec.text(f"No schedule explorer: the page computes the {', '.join(EXPLORER_LAWS)} laws, not "
                 f"{res.law.name}.", "note")
    if _in_session(res):
        sec.figure(lambda: plot.residuals(res, alpha=alpha), f"{rf.name}-residuals",
                   "Residuals ln(observed / fitted) against step, per run.")
    if res.holdout:
        sec.heading("Holdout")
        sec.table(_holdout_table(res.holdout), "Scores of the rows held out of the fit")


def _explorer_law(law) -> bool:
    from .laws.momentum import MomentumLaw, S1PowerLaw
    from .laws.multipower import MultiPowerLaw
    return type(law) in (MomentumLaw, S1PowerLaw, MultiPowerLaw)


def _spec(s: Mapping) -> str:
    """The WSD spec of explorer settings (numbers as repr: the same floats back)."""
    return (f"wsd:peak={float(s['peak'])!r},final={float(s['final'])!r},steps={int(s['steps'])},"
            f"warmup={int(s['warmup'])},cooldown={float(s['cooldown'])!r},shape={s['shape']}")


def explorer_model(res, overrides: Mapping | None = None) -> dict:
    """What the page's schedule explorer computes from: the law (name, convention, λ, the
    warmup option), the fitted parameters, and the start settings of the WSD schedule
    (``peak`` LR, ``final`` LR, ``steps``, ``warmup`` steps, ``cooldown`` fraction,
    ``shape``), by default the fitted runs' peak LR, warmup and length, a final LR of a tenth
    of the peak, a 20% linear cooldown.  ``overrides`` replaces any of them; its ``observed``
    (``{"name", "steps", "loss"}``: a logged run of the start schedule) is drawn as points
    while the settings are the start's."""
    law = res.law
    if not _explorer_law(law):
        raise ScalelawError(f"the schedule explorer computes the {', '.join(EXPLORER_LAWS)} laws, not {law.name}")
    dom = res.domain or {}
    peak = float(dom.get("lr", (1e-4, 1e-3))[1])
    steps = int(round(dom.get("step", (0, 1000))[1])) or 1000
    warm = law.warmup
    if warm is None:
        ws = [int(v) for v in ((res.design_info or {}).get("warmup") or {}).values()]
        warm = int(np.median(ws)) if ws else 0
    final = peak / 10
    d = {"peak": peak, "final": final, "steps": steps, "warmup": int(warm), "cooldown": 0.2, "shape": "linear"}
    overrides = dict(overrides or {})
    observed = overrides.pop("observed", None)
    for key, v in overrides.items():
        if key not in d:
            raise ScalelawError(f"unknown explorer setting {key!r}; use {', '.join(d)}")
        d[key] = v
    d = {"peak": float(d["peak"]), "final": float(d["final"]), "steps": int(d["steps"]),
         "warmup": int(d["warmup"]), "cooldown": float(d["cooldown"]), "shape": str(d["shape"])}
    from .schedules import parse_schedule
    parse_schedule(_spec(d))     # refuse settings that are no WSD schedule, in the grammar's words
    from .plot._base import loss_unit
    lo_steps = max(d["warmup"] + 10, int(d["steps"] // 4), 10)
    ratio = d["final"] / d["peak"]
    return {
        "law": law.name,
        "convention": getattr(law, "convention", None),
        "lam": getattr(law, "lam", None),
        "fit_lambda": bool(getattr(law, "fit_lambda", False)),
        "warmup": law.warmup,
        "precision": getattr(law, "precision", "double"),
        "params": {p: float(v) for p, v in res.params.items()},
        "defaults": d,
        "steps_range": [lo_steps, max(4 * d["steps"], lo_steps + 10)],
        "final_range": [min(-4.0, math.floor(math.log10(ratio)) if ratio > 0 else -4.0), 0.0],
        "fitted_steps": float(dom["step"][1]) if "step" in dom else None,
        "max_points": EXPLORER_POINTS,
        "loss_unit": loss_unit((res.mapping or {}).get("loss")),
        "observed": None if observed is None else {
            "name": str(observed["name"]), "steps": [int(v) for v in observed["steps"]],
            "loss": [float(v) for v in observed["loss"]]},
    }


def explorer_steps(total: int, max_points: int = EXPLORER_POINTS) -> np.ndarray:
    """The steps the explorer evaluates a schedule of ``total`` steps at."""
    k = max(1, math.ceil(total / max_points))
    s = list(range(k, total + 1, k))
    if not s or s[-1] != total:
        s.append(total)
    return np.asarray(s, dtype=np.int64)


def _explorer_markup(res, model, name):
    """The explorer panel (HTML) and its Markdown stand-in."""
    from .plot._base import quiet_extrapolation
    from .schedules import parse_schedule
    d = model["defaults"]
    spec = _spec(d)
    steps = explorer_steps(d["steps"])
    with quiet_extrapolation():
        py = res.predict(parse_schedule(spec), steps=steps)
    final = float(py["loss_pred"].iloc[-1])
    precision = ""
    if model["law"] == "multipower" and model["precision"] == "single":
        import copy
        dbl = copy.copy(res)
        dbl.law = res.law.replace(precision="double")
        with quiet_extrapolation():
            pd_ = dbl.predict(parse_schedule(spec), steps=steps)
        diff = float(np.max(np.abs(py["loss_pred"].to_numpy() / pd_["loss_pred"].to_numpy() - 1)))
        precision = (f" The page evaluates the loss-drop sum in double precision; this fit's law sums it "
                     f"in single precision (its default, for speed), which differs from double by at most "
                     f"{diff:.1e} relative at the start settings.")
    lf = math.log10(d["final"] / d["peak"]) if d["final"] > 0 else model["final_range"][0]
    idx = _esc(name)
    shapes = "".join(f'<option value="{s}"{" selected" if s == d["shape"] else ""}>{s}</option>'
                     for s in ("linear", "cosine", "sqrt", "exp"))
    lo_s, hi_s = (math.log10(v) for v in model["steps_range"])
    body = (
        f'<div class="explorer" data-scalelaw-explorer="{idx}">\n'
        f'<script type="application/json" class="explorer-model">{_json_for_script(model)}</script>\n'
        '<div class="controls">\n'
        f'<label>cooldown fraction <input type="range" data-role="cooldown" min="0" max="0.95" step="0.01" '
        f'value="{d["cooldown"]!r}"> <output data-out="cooldown">{d["cooldown"]:.2f}</output></label>\n'
        f'<label>cooldown shape <select data-role="shape">{shapes}</select> '
        f'<output data-out="shape">{_esc(d["shape"])}</output></label>\n'
        f'<label>final LR <input type="range" data-role="final" min="{model["final_range"][0]!r}" '
        f'max="{model["final_range"][1]!r}" step="any" value="{lf!r}"> '
        f'<output data-out="final">{d["final"]:.2e}</output></label>\n'
        f'<label>step budget <input type="range" data-role="steps" min="{lo_s!r}" max="{hi_s!r}" '
        f'step="any" value="{math.log10(d["steps"])!r}"> <output data-out="steps">{d["steps"]}</output></label>\n'
        '</div>\n'
        f'<p class="readout">Predicted final loss: <strong data-out="loss">{final:.4f}</strong> '
        f'({_esc(model["loss_unit"])}) for <code data-out="spec">{_esc(spec)}</code></p>\n'
        f'<svg class="explorer-plot" viewBox="0 0 720 380" role="img" '
        f'aria-label="predicted loss against step for the chosen schedule"></svg>\n'
        '<p class="warn" data-out="warn"></p>\n'
        f'<p class="check">Peak LR {d["peak"]:.3g} and warmup {d["warmup"]} steps as in the fitted runs. '
        f'The curve is computed in this page from the fitted parameters (law {_esc(model["law"])}) and '
        f'equals the Python prediction: at the start settings <code>result.predict(spec)</code> gives a '
        f'final loss of {final:.6f}. The dashed grey curve is the start; the dotted line marks the longest '
        f'fitted run, beyond which the curve is an extrapolation. {_esc(precision.strip())}</p>\n'
        '</div>')
    md = (f"*Schedule explorer (live in report.html; sliders for the WSD cooldown fraction, shape, final LR "
          f"and step budget).* At its start settings `{spec}` the fit predicts a final loss of "
          f"{final:.6f} ({_md(model['loss_unit'])}).{_md(precision)}")
    return body, md


# --------------------------------------------------------------------------- the report
class Report:
    """A report being built: sections added in order, then :meth:`write`."""

    def __init__(self, title: str = "scalelaw report", intro: str | None = None, alpha: float = 0.05):
        self.title = str(title)
        self.intro = intro
        self.alpha = float(alpha)
        self.sections: list[Section] = []

    def section(self, title: str) -> Section:
        s = Section(title)
        self.sections.append(s)
        return s

    def add_fit(self, fit: ReportFit | Any, **options) -> Section:
        """The section of one fit (a :class:`ReportFit`, or a result and its options)."""
        rf = fit if isinstance(fit, ReportFit) else ReportFit(fit, **options)
        res = rf.result
        rf.name = rf.name or res.law.name
        sec = self.section(f"{rf.name} ({res.law.name})")
        sec.text(f"Law {res.law.name}: {res.law.formula}. Objective: {res.settings.describe()}. "
                 f"{res.n} points, {res.dof} residual degrees of freedom."
                 + (f" Source: {rf.source}." if rf.source else ""))
        if res.mapping:
            sec.text("Columns: " + ", ".join(f"{c} ← {s}" for c, s in res.mapping.items()) + ".")
        sel = getattr(res, "selection", None)
        if sel is not None and sel.method == "stack":   # the figures and tables below are of one law
            w = ", ".join(f"{k} {v:.3g}" for k, v in sel.weights.items())
            sec.text(f"A stacked fit (weights {w}): the parameters, figures and tables below are "
                     f"those of its highest-weight law {sel.chosen}; its predictions combine the laws.")
        sec.table(_param_table(res, self.alpha), f"Parameters with {100 * (1 - self.alpha):g}% "
                  + _interval_words(res), digits=5)
        sec.table(_metrics_table(res), "Goodness of fit")
        if getattr(res.law, "predicts_curves", False):
            _curve_sections(rf, sec, self.alpha)
        else:
            _scaling_sections(rf, sec, self.alpha)
        if res.notes:
            sec.heading("Notes")
            sec.items(res.notes, "notes")
        sec.heading("Summary")
        sec.pre(res.summary(self.alpha))
        return sec

    # ---- writing
    def write(self, folder, *, inputs: Sequence = (), command: str | None = None, timestamp: bool = False,
              progress: Callable | None = None, dpi: float = 144, label: str | None = None) -> dict:
        """Write ``folder/report.html``, ``folder/report.md`` and ``folder/figures/*.png``
        (the folder is created if needed; files atomically, through scalelaw's one output
        writer).  ``inputs``: files (paths, or ``(label, path)``) whose SHA-256 the provenance
        lists; ``command``: the command line to record; ``timestamp``: also record when
        (UTC; the only thing that differs between two runs on the same inputs);
        ``progress(done, total)``: called as figures are drawn and refits done.  Returns
        ``{"html": path, "md": path, "figures": [paths], "bytes": size of the HTML}``."""
        from ._output import check_output, make_folder
        label = label or os.fspath(folder)
        root = make_folder(folder, label=label)
        html_path, md_path = os.path.join(root, "report.html"), os.path.join(root, "report.md")
        ins = [(p, p) if not isinstance(p, tuple) else p for p in inputs]
        for out in (html_path, md_path):
            check_output(out, inputs=[p for _, p in ins], label=os.path.join(label, os.path.basename(out)))
        fig_dir = make_folder(os.path.join(root, "figures"), label=os.path.join(label, "figures"))
        self._provenance(ins, command, timestamp)
        counted = {id(b) for s in self.sections for b in s.blocks if b[0] in ("figure", "lazy")}
        units = len(counted)
        self._dpi = float(dpi)
        done = [0]

        def tick():
            done[0] += 1
            if progress is not None:
                progress(done[0], units)

        names: set = set()
        figures = []
        for s in self.sections:
            blocks = []
            for b in s.blocks:
                if b[0] == "lazy":
                    sub = Section(s.title)
                    try:
                        b[1].fn(sub)
                    except ScalelawError as e:
                        sub.text(f"{b[1].what}: not computed ({e})", "note")
                    blocks.extend(sub.blocks)
                    tick()
                    continue
                blocks.append(b)
            for b in blocks:        # figures from lazy work are drawn here too
                if b[0] == "figure":
                    f = b[1]
                    name = _slug(f.name)
                    base, i = name, 2
                    while name in names:
                        name, i = f"{base}-{i}", i + 1
                    names.add(name)
                    try:
                        fig = f.make() if callable(f.make) else f.make
                        path = os.path.join(fig_dir, name + ".png")
                        from .plot import save
                        save(fig, path, dpi=dpi)
                        with open(path, "rb") as fh:
                            f.data = fh.read()
                        f.path = "figures/" + name + ".png"
                        figures.append(path)
                    except ScalelawError as e:
                        f.caption = f"{f.name}: not drawn ({e})"
                        f.data = None
                    if id(b) in counted:
                        tick()
            s.blocks = blocks
        used: set = set()
        for s in self.sections:
            a = _slug(s.title)
            base, i = a, 2
            while a in used:
                a, i = f"{base}-{i}", i + 1
            used.add(a)
            s.anchor = a
        text_html = self._html()
        text_md = self._markdown()
        from ._output import write_text
        write_text(html_path, text_html, label=os.path.join(label, "report.html"))
        write_text(md_path, text_md, label=os.path.join(label, "report.md"))
        return {"html": html_path, "md": md_path, "figures": figures, "bytes": len(text_html.encode("utf-8"))}

    def _provenance(self, inputs, command, timestamp):
        import platform
        import sys

        from . import __version__
        sec = Section("Provenance")
        vers = [f"scalelaw {__version__}", f"Python {platform.python_version()}"]
        for mod in ("numpy", "scipy", "pandas", "matplotlib", "statsmodels"):
            m = sys.modules.get(mod)
            if m is not None and getattr(m, "__version__", None):
                vers.append(f"{mod} {m.__version__}")
        sec.text("Made by " + ", ".join(vers) + ".")
        sec.text("Command: " + (command if command else "(called from Python)"))
        if inputs:
            rows = []
            for lab, p in inputs:
                try:
                    rows.append({"input": str(lab), "bytes": os.path.getsize(p), "SHA-256": sha256(p)})
                except OSError as e:
                    rows.append({"input": str(lab), "bytes": np.nan, "SHA-256": f"unreadable ({e.strerror})"})
            sec.table(pd.DataFrame(rows), "Input files")
        if timestamp:
            import datetime
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            sec.text(f"Written {now.isoformat()} (UTC).")
        else:
            sec.text("No date is recorded, so that the same inputs give the same file.")
        self.sections = [s for s in self.sections if s.title != "Provenance"] + [sec]

    # ---- HTML
    def _html(self) -> str:
        parts = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
                 f'<meta http-equiv="Content-Security-Policy" content="{_esc(CSP)}">\n',
                 '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
                 '<meta name="generator" content="scalelaw">\n',
                 '<link rel="icon" href="data:,">\n',
                 f"<title>{_esc(self.title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n<body>\n",
                 f"<h1>{_esc(self.title)}</h1>\n"]
        if self.intro:
            parts.append(f'<p class="lead">{_esc(self.intro)}</p>\n')
        parts.append('<nav class="toc"><strong>Contents</strong><ol>\n')
        for s in self.sections:
            parts.append(f'<li><a href="#{s.anchor}">{_esc(s.title)}</a></li>\n')
        parts.append("</ol></nav>\n")
        explorer = False
        for s in self.sections:
            parts.append(f'<section id="{s.anchor}">\n<h2>{_esc(s.title)}</h2>\n')
            for b in s.blocks:
                kind = b[0]
                if kind == "p":
                    cls = f' class="{_esc(b[2])}"' if b[2] else ""
                    parts.append(f"<p{cls}>{_esc(b[1])}</p>\n")
                elif kind == "h":
                    parts.append(f"<h3>{_esc(b[1])}</h3>\n")
                elif kind == "pre":
                    parts.append(f"<pre>{_esc(b[1])}</pre>\n")
                elif kind == "ul":
                    cls = f' class="{_esc(b[2])}"' if b[2] else ""
                    parts.append(f"<ul{cls}>" + "".join(f"<li>{_esc(i)}</li>" for i in b[1]) + "</ul>\n")
                elif kind == "table":
                    parts.append(_html_table(b[1]))
                elif kind == "figure":
                    f = b[1]
                    if f.data is None:
                        parts.append(f'<p class="note">{_esc(f.caption)}</p>\n')
                        continue
                    w, h = _png_size(f.data)
                    src = "data:image/png;base64," + base64.b64encode(f.data).decode("ascii")
                    dpi = getattr(self, "_dpi", 144.0)
                    parts.append(f'<figure><img src="{src}" width="{round(w * 96 / dpi)}" '
                                 f'height="{round(h * 96 / dpi)}" alt="{_esc(f.caption or f.name)}">'
                                 f"<figcaption>{_esc(f.caption)}</figcaption></figure>\n")
                elif kind == "raw":
                    explorer = explorer or "data-scalelaw-explorer" in b[1]
                    parts.append(b[1] + "\n")
            parts.append("</section>\n")
        parts.append('<footer>Written by scalelaw; self-contained: this file loads nothing from anywhere.</footer>\n')
        if explorer:
            js = _asset("explorer.js")
            if "</script" in js.lower():
                raise ScalelawError("report_assets/explorer.js must not contain '</script'")
            parts.append(f"<script>\n{js}</script>\n")
        parts.append("</body>\n</html>\n")
        return "".join(parts)

    # ---- Markdown
    def _markdown(self) -> str:
        out = [f"# {_md(self.title)}\n"]
        if self.intro:
            out.append(f"{_md(self.intro)}\n")
        for s in self.sections:
            out.append(f"\n## {_md(s.title)}\n")
            for b in s.blocks:
                kind = b[0]
                if kind == "p":
                    out.append(f"\n{_md(b[1])}\n")
                elif kind == "h":
                    out.append(f"\n### {_md(b[1])}\n")
                elif kind == "pre":
                    body = str(b[1]).replace("```", "'''")
                    out.append(f"\n```text\n{body}\n```\n")
                elif kind == "ul":
                    out.append("\n" + "".join(f"- {_md(i)}\n" for i in b[1]))
                elif kind == "table":
                    out.append(_md_table(b[1]))
                elif kind == "figure":
                    f = b[1]
                    if f.data is None:
                        out.append(f"\n*{_md(f.caption)}*\n")
                    else:
                        out.append(f"\n![{_md(f.caption or f.name)}]({f.path})\n\n*{_md(f.caption)}*\n")
                elif kind == "raw":
                    out.append(f"\n{b[2]}\n")
        return "".join(out)


def _html_table(t: _Table) -> str:
    def numeric(v):
        return bool(re.fullmatch(r"[−\-+]?[\d.,]+(e[−\-+]?\d+)?%?|—|∞|−∞", str(v)))

    align = ["" if all(numeric(r[j]) for r in t.rows) else ' class="text"' for j in range(len(t.columns))]
    out = ['<div class="scroll"><table>']
    if t.caption:
        out.append(f"<caption>{_esc(t.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th{a}>{_esc(c)}</th>" for c, a in zip(t.columns, align)) + "</tr></thead>")
    out.append("<tbody>")
    for r in t.rows:
        out.append("<tr>" + "".join(f"<td{a}>{_esc(v)}</td>" for v, a in zip(r, align)) + "</tr>")
    out.append("</tbody></table></div>\n")
    return "".join(out)


def _md_table(t: _Table) -> str:
    out = ["\n"]
    if t.caption:
        out.append(f"*{_md(t.caption)}*\n\n")
    out.append("| " + " | ".join(_md(c) or " " for c in t.columns) + " |\n")
    out.append("|" + "---|" * len(t.columns) + "\n")
    for r in t.rows:
        out.append("| " + " | ".join(_md(v) for v in r) + " |\n")
    return "".join(out)


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return 640, 480
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# --------------------------------------------------------------------------- one call
def write_report(fits, folder, *, title: str = "scalelaw report", intro: str | None = None,
                 inputs: Sequence = (), command: str | None = None, timestamp: bool = False,
                 progress: Callable | None = None, alpha: float = 0.05, dpi: float = 144,
                 label: str | None = None) -> dict:
    """Write the report of ``fits`` (:class:`ReportFit` objects, or results) into
    ``folder``: ``report.html`` (self-contained), ``report.md`` and ``figures/``.  See
    :meth:`Report.write` for the other options and what is returned."""
    rep = Report(title, intro, alpha=alpha)
    if not isinstance(fits, (list, tuple)):
        fits = [fits]
    if not fits:
        raise ScalelawError("no fits to report: give at least one fit")
    for f in fits:
        rep.add_fit(f)
    return rep.write(folder, inputs=inputs, command=command, timestamp=timestamp, progress=progress,
                     dpi=dpi, label=label)
