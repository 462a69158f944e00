"""LR-schedule fitting glue: logs -> frame, fit with the one engine, predict curves for any
schedule with a band, compare schedules, optimize a schedule family for a step budget.

Steps are optimizer steps counted from 0, LR is the per-step learning rate, loss in nats.
Fitting is :func:`scalelaw.fit.fit`; this module only builds frames and post-processes.
"""
from __future__ import annotations

import os
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ScalelawError
from .laws import SCHEDULE_LAWS, get_law
from .laws.lr import Run
from .schedules import Schedule, detect_warmup, parse_schedule

BAND = ("loss_lower", "loss_upper")


# -- reading ---------------------------------------------------------------------------------

def read_logs(sources, step: str | None = None, lr: str | None = None, loss: str | None = None,
              run: str | None = None, fmt: str | None = None, split: str | None = None,
              require_loss: bool = True) -> pd.DataFrame:
    """Tidy frame ``run, step, lr, loss`` from log files (or frames).  Each file is one run
    unless a run column says otherwise (its name is the file stem).  ``loss`` may be NaN
    on rows where only the LR is known; with ``require_loss=False`` (schedules to predict)
    a log may have no loss at all."""
    if isinstance(sources, (str, os.PathLike, pd.DataFrame)):
        sources = [sources]
    mapping = {k: v for k, v in (("step", step), ("lr", lr), ("loss", loss), ("run", run)) if v}
    frames = []
    for src in sources:
        name = os.path.splitext(os.path.basename(os.fspath(src)))[0] if not isinstance(src, pd.DataFrame) else "run"
        df = _read_one(src, mapping, fmt, split, require_loss)
        if "run" not in df or df["run"].isna().all() or (
                isinstance(src, pd.DataFrame) and "run" not in src and len(sources) > 1):
            df["run"] = name
        notes = df.attrs.get("notes", [])
        df = df[["run", "step", "lr", "loss"] + [c for c in ("N",) if c in df]]
        df.attrs["notes"] = notes
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["notes"] = [n for f in frames for n in f.attrs.get("notes", [])]
    return out


def _read_one(src, mapping, fmt, split=None, require_loss=True):
    """One source through :func:`scalelaw.io.read_log` (every supported log format), reduced
    to ``run, step, lr, loss``: the LR from any row of a step, the loss of ``split``
    (``"train"`` or ``"val"``; default: validation when the log has it, else train)."""
    from .io import read_log
    df = read_log(src, format=fmt, columns=mapping or None)
    where = "" if isinstance(src, pd.DataFrame) else f"{src}: "
    if df["lr"].isna().all():
        raise ScalelawError(f"{where}no lr column; the columns are: "
                            f"{', '.join(_source_columns(df))} (name it with --lr)")
    if df["loss"].isna().all():
        if require_loss:
            raise ScalelawError(f"{where}no loss values; the columns are: "
                                f"{', '.join(_source_columns(df))} (name it with --loss)")
        out = df.groupby(["run", "step"], observed=True)["lr"].max().reset_index()
        out["run"] = out["run"].astype(str)
        out["loss"] = np.nan
        out = _with_run_columns(out, df)
        out.attrs["notes"] = [f"{where}no loss in this log: every logged step is predicted"]
        return out
    has_val = bool((df["split"] == "val").any() and df.loc[df["split"] == "val", "loss"].notna().any())
    if split is None:
        split = "val" if has_val else "train"
    elif split not in ("train", "val"):
        raise ScalelawError(f"split must be 'train' or 'val', not {split!r}")
    if not df.loc[df["split"] == split, "loss"].notna().any():
        raise ScalelawError(f"{where}no {split} loss in this log")
    lr = df.groupby(["run", "step"], observed=True)["lr"].max()
    loss = df[df["split"] == split].groupby(["run", "step"], observed=True)["loss"].last()
    out = pd.concat([lr, loss], axis=1).reset_index()
    out["run"] = out["run"].astype(str)
    out = _with_run_columns(out, df)
    rep = df.attrs.get("scalelaw", {})
    notes = [f"{where}{n} row(s) dropped: {why}" for why, n in rep.get("dropped", {}).items() if n]
    if has_val or split == "val":
        notes.append(f"{where}fitted the {'validation' if split == 'val' else 'training'} loss")
    out.attrs["notes"] = notes
    return out


def _with_run_columns(out, df):
    """Per-run columns of the log (model size ``N``) joined onto the reduced frame."""
    extra = [c for c in ("N",) if c in df]
    if not extra:
        return out
    return out.merge(df.groupby("run", observed=True)[extra].first().reset_index().assign(
        run=lambda d: d["run"].astype(str)), on="run", how="left")


def _source_columns(df):
    rep = df.attrs.get("scalelaw", {})
    cols = [c for v in rep.get("columns", {}).values() for c in v] + list(rep.get("ignored", []))
    return cols or list(map(str, df.columns))


# -- fitting ---------------------------------------------------------------------------------

MOMENTUM_FAMILY = ("momentum", "momentum_n", "s1power")


def fit_lr(data, law="multipower", *, warmup: int | None = None, schedule=None,
           exclude_warmup: bool = True, smooth: str | None = None, run_weights=None,
           convention: str | None = None, lam="fit", amplitude: str | None = None, **fit_kwargs):
    """Fit an LR-schedule law jointly to all runs of ``data`` (shared parameters).

    data : frame with ``step, lr, loss`` (+ ``run``), or log paths (see :func:`read_logs`).
    warmup : warmup length W; the LR before the first logged step is linear from 0 over W
        steps (else ``schedule``, a spec for that part, else linear from 0 to the first LR).
    exclude_warmup : drop the loss of steps ``< W`` from the fit (their LR is still used).
    smooth : opt-in smoothing of noisy per-step losses per run, ``ema[:a]`` or ``median[:w]``.
    run_weights : ``"equal"`` (every run weighs the same in total) or ``{run: weight}``.
    convention : for the momentum family, how the warmup enters S1/S2: ``"tissue"`` (Tissue
        et al.: warmup steps at η_max), ``"actual"`` (the real LR ramp), or ``"auto"``
        (default): fit both, keep the one with the lower objective (same parameter count),
        and say so in the notes.  For ``multipower``: ``"released"`` (default) or ``"paper"``.
    amplitude : multi-power law's B: ``"anchored"`` (default; from the law's saturated limit,
        see :class:`~scalelaw.laws.lr.MultiPowerLaw`) or ``"free"`` (fitted jointly).
    lam : momentum law's λ: ``"fit"`` (default; the data decide, bounded to [0.9, 0.99999])
        or a fixed value such as 0.999 (Tissue et al.'s choice).
    Other keywords go to :func:`scalelaw.fit.fit` (``fix``, ``bounds``, ``bootstrap`` ...).
    The bootstrap resamples ``groups="block"`` (default: blocks of consecutive logged points
    of a run, their length from the residuals' autocorrelation, since per-step losses are
    serially correlated), ``"run"`` (whole runs) or ``"point"`` (single points).
    Returns the engine's :class:`~scalelaw.fit.FitResult`; its notes record the LR fill rule,
    warmup exclusion and smoothing.
    """
    from .fit import fit
    if not isinstance(data, pd.DataFrame):
        data = read_logs(data)
    name = law if isinstance(law, str) else law.name
    if name.lower() not in SCHEDULE_LAWS:
        raise ScalelawError(f"{name} is not an LR-schedule law; use one of {', '.join(SCHEDULE_LAWS)}")
    cfg = dict(law.config()) if not isinstance(law, str) else {}
    if warmup is not None:
        cfg["warmup"] = int(warmup)
    if schedule is not None:
        cfg["schedule"] = schedule if isinstance(schedule, str) else getattr(schedule, "spec", None)
    name = name.lower()
    candidates = [cfg]
    if name in MOMENTUM_FAMILY:
        if name == "momentum" and isinstance(law, str):
            if isinstance(lam, str):
                if lam != "fit":
                    raise ScalelawError(f"lam must be 'fit' or a number in (0, 1), not {lam!r}")
                cfg["fit_lambda"] = True
            else:
                cfg["lam"] = float(lam)
        conv = convention or cfg.get("convention") or "auto"
        if conv == "auto":
            candidates = [{**cfg, "convention": c} for c in ("tissue", "actual")]
        else:
            candidates = [{**cfg, "convention": conv}]
    elif convention is not None:
        candidates = [{**cfg, "convention": convention}]
    if amplitude is not None:
        if name != "multipower":
            raise ScalelawError(f"amplitude applies to the multipower law, not {name}")
        candidates = [{**c, "amplitude": amplitude} for c in candidates]
    law_obj = get_law(name, **candidates[0])
    notes = list(data.attrs.get("notes", []))
    df = data.reset_index(drop=True)
    if "run" not in df:
        df["run"] = "run"
    if smooth:
        from .io.logs import smooth_loss
        for r, idx in df.groupby("run", sort=False).groups.items():
            df.loc[idx, "loss"] = smooth_loss(df.loc[idx, "loss"].to_numpy(dtype=float), smooth)
        notes.append(f"loss smoothed per run with {smooth}")
    if exclude_warmup:
        from .laws.lr import _runs_from_frame
        if warmup is None:   # each run's warmup, detected from its LR (no features built)
            runs, _, _ = _runs_from_frame(df, None, None, law_obj.schedule)
            W = df["run"].map({r.label: r.warmup for r in runs}).to_numpy()
        else:
            W = int(warmup)
        m = (df["step"].to_numpy() < W) & np.isfinite(df["loss"].to_numpy(dtype=float))
        df.loc[m, "loss"] = np.nan
        if m.any():
            notes.append(f"{int(m.sum())} loss point(s) inside the warmup excluded from the fit")
    if run_weights is not None:
        counts = df[np.isfinite(df["loss"])].groupby("run").size()
        if isinstance(run_weights, str):
            if run_weights != "equal":
                raise ScalelawError("run_weights must be 'equal' or a mapping run -> weight")
            wmap = {r: counts.sum() / (len(counts) * c) for r, c in counts.items()}
        else:
            wmap = {r: float(run_weights.get(r, 1.0)) for r in counts.index}
        df["weight"] = df["run"].map(wmap).fillna(0.0)
        notes.append(f"run weights: {run_weights if isinstance(run_weights, str) else dict(run_weights)}")
    fit_kwargs.setdefault("groups", "block")   # bootstrap unit; "point" -> None (points)
    if isinstance(fit_kwargs["groups"], str) and fit_kwargs["groups"] == "point":
        fit_kwargs["groups"] = None
    res = None
    tried = []
    for c in candidates:
        r = fit(df, get_law(name, **c), y="loss", **fit_kwargs)
        tried.append((c.get("convention"), r.objective))
        if res is None or r.objective < res.objective:
            res = r
    if len(tried) > 1:
        notes.append("warmup convention " + str(res.law.config().get("convention", "tissue")) +
                     " chosen by objective (" + ", ".join(f"{c}: {o:.6g}" for c, o in tried) + ")")
    fill = res.design_info.get("lr_fill", {}) if hasattr(res, "design_info") else {}
    res.notes.extend(notes + [f"{k}: {v}" for k, v in fill.items()])
    return res


# -- prediction ------------------------------------------------------------------------------

def _result(result):
    if isinstance(result, (str, os.PathLike)):
        from .fit import FitResult
        return FitResult.from_json(result)
    return result


def curve_design(law, eta: np.ndarray, steps: np.ndarray, label="schedule", warmup=None):
    """A law design for per-step LRs ``eta`` (steps 0..T) evaluated at ``steps`` (> 0)."""
    steps = np.asarray(steps, dtype=np.int64)
    if np.any(steps <= 0) or np.any(steps >= len(eta)):
        raise ScalelawError("prediction steps must lie in 1..T of the schedule")
    W = getattr(law, "warmup", None)
    W = detect_warmup(eta) if W is None and warmup is None else (warmup if warmup is not None else W)
    r = Run(label=label, eta=np.asarray(eta, dtype=float), steps=steps, rows=np.arange(len(steps)),
            warmup=int(W))
    return law.design([r])


def _band(result, law, x, alpha):
    """Mean and (lower, upper) band of the curve (see :func:`scalelaw.fit.results.curve_band`)."""
    from .fit.results import curve_band, exp_band
    mean, _, _, lo, hi = curve_band(result, law, x, alpha)
    log = getattr(getattr(result, "settings", None), "space", "log") == "log"
    return (mean, exp_band(lo), exp_band(hi)) if log else (mean, lo, hi)


def predict_curve(result, schedule=None, *, log=None, steps=None, every: int | None = None,
                  alpha: float = 0.05, warmup: int | None = None, max_points: int = 1000) -> pd.DataFrame:
    """Predicted loss curve ``step, lr, loss_pred, loss_lower, loss_upper`` (band: 1−alpha).

    Either ``schedule`` (spec/Schedule/array; predicted every ``every`` steps, default so
    that about ``max_points`` points come out, always including the last step) or ``log``
    (a log path or frame: predicted at its steps that have a loss, every logged step if
    none, with its LR; the LR before its first row follows ``warmup`` or the fit's rule).
    """
    result = _result(result)
    law = result.law
    if (schedule is None) == (log is None):
        raise ScalelawError("give either a schedule or a log to predict")
    if schedule is not None:
        s = parse_schedule(schedule)
        T = s.total
        if steps is None:
            k = every or max(1, int(np.ceil(T / max_points)))
            steps = np.unique(np.r_[np.arange(k, T + 1, k), T])
        steps = np.asarray(steps, dtype=np.int64)
        eta = s.lrs(max(T, int(steps.max())))
        d = curve_design(law, eta, steps, getattr(s, "spec", s.name), warmup)
        mean, lo, hi = _band(result, law, d.x, alpha)
        return pd.DataFrame({"step": steps, "lr": eta[steps], "loss_pred": mean,
                             BAND[0]: lo, BAND[1]: hi})
    frames = []
    df = log if isinstance(log, pd.DataFrame) else read_logs(log, require_loss=False)
    if "run" not in df:
        df = df.assign(run="run")
    cfg = dict(law.config())
    if warmup is not None:
        cfg["warmup"] = int(warmup)
    law2 = get_law(law.name, **cfg)
    for r, g in df.groupby("run", sort=False):
        g = g.sort_values("step")
        has = np.isfinite(g["loss"].to_numpy(dtype=float)) if "loss" in g else np.zeros(len(g), bool)
        frame = g.rename(columns={"loss": "y"})
        from .laws.lr import _runs_from_frame
        runs, _, _ = _runs_from_frame(frame, "y" if has.any() else None, law2.warmup,
                                      law2.schedule, law2._need_N)
        run = runs[0]          # per-step LRs and evaluation steps; features built once below
        if every:
            run.steps = run.steps[(run.steps % every == 0) | (run.steps == run.steps.max())]
        st = run.steps
        d = law2.design([run])
        mean, lo, hi = _band(result, law2, d.x, alpha)
        out = pd.DataFrame({"run": r, "step": st, "lr": run.eta[st], "loss_pred": mean,
                            BAND[0]: lo, BAND[1]: hi})
        if has.any():
            obs = g.set_index("step")["loss"]
            out["loss"] = obs.reindex(st).to_numpy()
        frames.append(out)
    out = pd.concat(frames, ignore_index=True)
    if out["run"].nunique() == 1:
        out = out.drop(columns="run")
    return out


def compare_schedules(result, schedules, alpha: float = 0.05) -> pd.DataFrame:
    """Predicted final loss (with band) of each schedule, best first.

    ``schedules``: mapping name -> spec/Schedule, or a list of specs."""
    result = _result(result)
    if not isinstance(schedules, Mapping):
        schedules = {str(getattr(s, "spec", s)): s for s in schedules}
    rows = []
    for name, spec in schedules.items():
        s = parse_schedule(spec)
        c = predict_curve(result, s, steps=[s.total], alpha=alpha)
        rows.append({"schedule": name, "steps": s.total, "final_lr": float(c["lr"].iloc[-1]),
                     "final_loss": float(c["loss_pred"].iloc[-1]),
                     BAND[0]: float(c[BAND[0]].iloc[-1]), BAND[1]: float(c[BAND[1]].iloc[-1])})
    return pd.DataFrame(rows).sort_values("final_loss", kind="stable").reset_index(drop=True)


def optimize_schedule(result, steps: int, peak: float, *, warmup: int = 0, family: str = "wsd",
                      cooldowns: Iterable[float] = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5),
                      shapes: Iterable[str] = ("linear", "cosine", "sqrt", "exp"),
                      finals: Sequence[float] | None = None) -> pd.DataFrame:
    """Minimize the predicted final loss over a schedule family for a budget of ``steps``.

    ``family='wsd'``: grid over cooldown fraction × shape × final LR (``finals``, default
    ``peak·{0, 0.01, 0.1}``; the exponential shape uses only positive finals); the best
    cooldown per (shape, final) is then refined by a bounded scalar search.
    ``family='cosine'``: grid over the final LR.  Returns all candidates, best first, with
    ``spec`` strings that ``scalelaw schedule`` accepts.
    """
    from scipy.optimize import minimize_scalar
    result = _result(result)
    law = result.law
    p = result.params.to_numpy(dtype=float)
    if finals is None:
        finals = [0.0, 0.01 * peak, 0.1 * peak]

    def final_loss(s: Schedule) -> float:
        d = curve_design(law, s.lrs(), [s.total], warmup=warmup)
        return float(law.evaluate(d.x, p)[0])

    rows = []
    if family == "cosine":
        for f in finals:
            spec = f"cosine:peak={peak:g},final={f:g},steps={steps},warmup={warmup}"
            rows.append({"spec": spec, "final_loss": final_loss(parse_schedule(spec))})
    elif family == "wsd":
        span = steps - warmup
        for shape in shapes:
            for f in finals:
                if shape == "exp" and f <= 0:
                    continue

                def spec_of(c):
                    return (f"wsd:peak={peak:g},final={f:g},steps={steps},warmup={warmup},"
                            f"cooldown={c:.6g},shape={shape}")
                best = None
                for c in cooldowns:
                    if c * steps > span:
                        continue
                    v = final_loss(parse_schedule(spec_of(c)))
                    rows.append({"spec": spec_of(c), "final_loss": v})
                    if best is None or v < best[1]:
                        best = (c, v)
                if best is None:
                    continue
                cs = sorted(c for c in cooldowns if c * steps <= span)
                i = cs.index(best[0])
                lo, hi = cs[max(i - 1, 0)], cs[min(i + 1, len(cs) - 1)]
                if hi > lo:
                    r = minimize_scalar(lambda c: final_loss(parse_schedule(spec_of(c))),
                                        bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
                    rows.append({"spec": spec_of(float(r.x)), "final_loss": float(r.fun)})
    else:
        raise ScalelawError(f"unknown schedule family {family!r}; use wsd or cosine")
    out = pd.DataFrame(rows).drop_duplicates("spec").sort_values("final_loss", kind="stable")
    return out.reset_index(drop=True)


__all__ = ["read_logs", "fit_lr", "predict_curve", "compare_schedules", "optimize_schedule",
           "curve_design"]
