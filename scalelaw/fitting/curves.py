"""Fitting LR-schedule laws to training logs: one joint fit of several runs, on the one
engine (:func:`scalelaw.fit`), with the choices per-step logs need (warmup convention, the
LR before the first logged step, warmup losses left out, smoothing, run weights).

Steps are optimizer steps counted from 0, LR is the per-step learning rate, loss in nats.
Predicting curves is ``FitResult.predict(schedule)``; planning schedules is
:mod:`scalelaw.forecast`.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ..laws import Law, curve_law_names, get_law

if TYPE_CHECKING:
    from ..schedules import Schedule
    from .results import FitResult


def fit_lr(data: pd.DataFrame | str | os.PathLike | Sequence, law: str | Law = "multipower", *,
           warmup: int | None = None, schedule: str | Schedule | None = None,
           exclude_warmup: bool = True, smooth: str | None = None,
           run_weights: str | Mapping[str, float] | None = None, convention: str | None = None,
           lam: str | float = "fit", amplitude: str | None = None, noise: str | dict | None = "auto",
           **fit_options) -> FitResult:
    """Fit an LR-schedule law jointly to all runs of ``data`` (shared parameters).

    data : frame with ``step, lr, loss`` (+ ``run``), or log paths (see
        :func:`scalelaw.io.read_curves`).
    law : a law that predicts curves (``law.predicts_curves``): a registered name, a
        ``"module:Class"`` path or a law object (user-defined subclasses included).
    warmup : the runs' warmup length W in steps; the LR before the first logged step is
        linear from 0 over W steps (else ``schedule``, a spec for that part, else linear
        from 0 to the first LR).
    exclude_warmup : leave the loss of steps ``< W`` out of the fit (their LR is still used).
    smooth : opt-in smoothing of noisy per-step losses per run, ``ema[:a]`` or ``median[:w]``.
    run_weights : ``"equal"`` (every run weighs the same in total) or ``{run: weight}``.
    convention : how the warmup enters the areas, one of the law's ``conventions``; for the
        momentum family ``"tissue"`` (Tissue et al.: warmup steps at η_max), ``"actual"``
        (the real LR ramp), or ``"auto"`` (default: fit each, keep the lower objective, say
        so in the notes); for ``multipower`` ``"released"`` (default) or ``"paper"``.
    amplitude : multi-power law's B: ``"anchored"`` (default; from the law's saturated limit,
        see :class:`~scalelaw.laws.lr.MultiPowerLaw`) or ``"free"`` (fitted jointly).
    lam : momentum law's λ when the law is given by name: ``"fit"`` (default; bounded to
        [0.9, 0.99999]) or a fixed value such as 0.999 (Tissue et al.'s choice).
    noise : the treatment of noisy per-step logs (docs/perstep.md, :mod:`scalelaw.fitting.noise`):
        ``"auto"`` (default: the first steps the law does not describe are left out, the cut
        chosen by a lack-of-fit criterion against the noise measured along the curve, and
        each point weighted by the inverse of its local noise), ``"cut"`` or ``"weights"``
        (one of the two), ``"off"`` (or None: every point after the warmup, equal weights).
        It applies when every run has at least 160 fitted points (fewer: too few to measure
        the noise; the notes say so); the notes and ``result.design_info["noise"]`` record
        the choice, and that record given as ``noise`` repeats it without the search.
    Other keywords go to :func:`scalelaw.fit` (``fix``, ``bounds``, ``bootstrap`` ...).
    The bootstrap resamples ``groups="block"`` (default: blocks of consecutive logged points
    of a run, their length from the residuals' autocorrelation, since per-step losses are
    serially correlated), ``"run"`` (whole runs) or ``"point"`` (single points).
    Returns the engine's :class:`~scalelaw.fitting.FitResult`; its notes record the LR fill rule,
    warmup exclusion and smoothing.
    """
    from ..io.curves import read_curves
    from .api import fit
    from .select import is_candidates
    if not isinstance(data, pd.DataFrame):
        data = read_curves(data)
    if is_candidates(law) or fit_options.get("cv") is not None:   # law selection / CV: select.py
        from .select import fit_lr_cv
        lr_options = dict(warmup=warmup, schedule=schedule, exclude_warmup=exclude_warmup, smooth=smooth,
                          run_weights=run_weights, convention=convention, lam=lam, amplitude=amplitude,
                          noise=noise)
        return fit_lr_cv(data, law, lr_options, fit_options, fitter=fit_lr)
    fit_options.pop("cv", None)
    fit_options.pop("select", None)
    law0 = get_law(law)
    if not law0.predicts_curves:
        raise ScalelawError(f"{law0.name} is not an LR-schedule law (it does not predict loss "
                            f"curves); use one of {', '.join(curve_law_names())}")
    changes: dict = {}
    if warmup is not None:
        changes["warmup"] = int(warmup)
    if schedule is not None:
        changes["schedule"] = schedule if isinstance(schedule, str) else getattr(schedule, "spec", None)
    if isinstance(law, str) and "fit_lambda" in law0.options():   # by name: the data decide λ
        if isinstance(lam, str):
            if lam != "fit":
                raise ScalelawError(f"lam must be 'fit' or a number in (0, 1), not {lam!r}")
            changes["fit_lambda"] = True
        else:
            changes["lam"] = float(lam)
    candidates = [{}]
    if law0.conventions:
        conv = convention or law0.config().get("convention") or ("auto" if law0.auto_conventions else None)
        if conv == "auto" and law0.auto_conventions:
            candidates = [{"convention": c} for c in law0.auto_conventions]
        elif conv is not None:
            if conv not in law0.conventions:
                raise ScalelawError(f"convention {conv!r} does not apply to {law0.name}; use one of "
                                    f"{', '.join(law0.conventions + (('auto',) if law0.auto_conventions else ()))}")
            candidates = [{"convention": conv}]
    elif convention is not None:
        raise ScalelawError(f"{law0.name} has no warmup convention to choose")
    if amplitude is not None:
        if "amplitude" not in law0.options():
            raise ScalelawError(f"amplitude applies to the multipower law, not {law0.name}")
        changes["amplitude"] = amplitude
    laws = [law0.replace(**changes, **c) for c in candidates]
    notes = list(data.attrs.get("notes", []))
    df = data.reset_index(drop=True)
    if "run" not in df:
        df["run"] = "run"
    if smooth:
        from ..io.logs import smooth_loss
        for _, idx in df.groupby("run", sort=False).groups.items():
            df.loc[idx, "loss"] = smooth_loss(df.loc[idx, "loss"].to_numpy(dtype=float), smooth)
        notes.append(f"loss smoothed per run with {smooth}")
    if exclude_warmup:
        W = df["run"].map(laws[0].warmups(df)).to_numpy() if warmup is None else int(warmup)
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
    fit_options.setdefault("groups", "block")   # bootstrap unit: block, run or point
    if noise not in (None, False, "off"):
        from .noise import treat_per_step
        df, noise_notes, noise_record = treat_per_step(lambda d: fit(d, laws[0], columns={"loss": "loss"}, noise="off", **{
            k: v for k, v in fit_options.items() if k not in ("bootstrap", "pool", "n_jobs")}), df, noise)
        notes.extend(noise_notes)
    else:
        noise_record = {"mode": "off", "start": 0, "weights": False}
    res, tried = None, []
    for candidate in laws:
        r = fit(df, candidate, columns={"loss": "loss"}, noise="off", **fit_options)
        tried.append((_convention(candidate), r.objective))
        if res is None or r.objective < res.objective:
            res = r
    if len(tried) > 1:
        chosen = _convention(res.law)
        notes.append(f"warmup convention {chosen} chosen by objective ("
                     + ", ".join(f"{c}: {o:.6g}" for c, o in tried) + ")")
    res.design_info["noise"] = noise_record
    fill = res.design_info.get("lr_fill", {})
    res.notes.extend(notes + [f"{k}: {v}" for k, v in fill.items()])
    return res


def _convention(law):
    """The warmup convention a law uses (its option, else its first, the default)."""
    return law.config().get("convention") or next(iter(law.conventions), None)


__all__ = ["fit_lr"]
