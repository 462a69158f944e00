"""The noise of per-step training logs, measured along the curve, and what a fit of an
LR-schedule law does with it (docs/perstep.md).

A per-step log has thousands of losses whose noise (a few percent a step) dwarfs the
curve's change from one step to the next, and its first steps often follow a transient the
laws do not describe (a plateau, a phase change, a fast initial drop).  Two measurements,
both on the fit's scale (log loss for the default log-space fit; residual = log predicted −
log observed):

* :func:`local_noise` — a robust noise scale at every point: the rolling median absolute
  deviation of the differences of consecutive residuals, divided by √2 (differences cancel
  the smooth part of the curve and of any misfit, the MAD ignores spikes).
* :func:`lack_of_fit` — how far the residuals' local means stray from zero in units of
  their own standard error: consecutive blocks of points, ``z_b = mean_b / (σ_b / √k)``,
  and ``R = mean(z_b²)``.  For a law that describes the data down to the noise R ≈ 1
  (``K·R`` is χ² with K degrees of freedom); a systematic misfit gives R ≫ 1.

:func:`choose_start` takes R for the fits that leave out the first ``c`` steps, for a grid
of ``c``, and returns the smallest ``c`` whose lack of fit is as small as the law can do on
these data (the one-standard-error rule of model selection, with the χ² standard error
√(2/K) of R).  :func:`noise_weights` turns the noise scale into per-point weights: each
point counts by the inverse of its own noise (``1/σ`` where the Huber objective acts as
least absolute deviations, ``1/σ²`` where it acts as least squares).

Steps are optimizer steps; nothing here depends on the law.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: MAD -> standard deviation for Gaussian noise
MAD_SD = 1.4826
#: blocks a run is split into to judge its lack of fit (so a block is ~2.5% of a run)
BLOCKS_PER_RUN = 40
#: fewest points in a block, and so the fewest points a run needs (x 8 blocks) to be judged
MIN_BLOCK = 20
MIN_BLOCKS = 8
#: candidate cuts, as fractions of the shortest run's last logged step
CUT_FRACTIONS = (0.0, 1 / 64, 1 / 32, 1 / 16, 1 / 8, 3 / 16, 1 / 4, 3 / 8)


def _rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    import pandas as pd
    return pd.Series(x).rolling(window, center=True, min_periods=max(3, window // 4)).median().to_numpy()


def local_noise(residuals, window: int | None = None) -> np.ndarray:
    """Robust noise scale of one run's residuals at every point (fit scale).

    ``residuals`` in step order.  ``σ_i`` = 1.4826 · rolling median of ``|d − median d|``
    over ``window`` consecutive differences ``d_j = r_{j+1} − r_j``, / √2; ``window``
    defaults to 1/40 of the points (at least 20).  The estimate assumes the noise is
    uncorrelated from one logged point to the next (positively correlated noise reads
    smaller).  A run with fewer than 4 points gets its overall MAD.
    """
    r = np.asarray(residuals, dtype=float)
    n = len(r)
    if n < 4:
        s = MAD_SD * np.median(np.abs(r - np.median(r))) if n else 0.0
        return np.full(n, s)
    w = window or max(MIN_BLOCK, n // BLOCKS_PER_RUN)
    w = int(min(max(w, 3), n - 1))
    d = np.diff(r)
    med = _rolling_median(d, w)
    med = np.where(np.isfinite(med), med, np.median(d))
    dev = _rolling_median(np.abs(d - med), w)
    dev = np.where(np.isfinite(dev), dev, np.median(np.abs(d - np.median(d))))
    s = MAD_SD * dev / np.sqrt(2.0)
    # n-1 differences for n points: a point takes the mean of its two neighbouring differences
    out = np.empty(n)
    out[0], out[-1] = s[0], s[-1]
    out[1:-1] = 0.5 * (s[:-1] + s[1:])
    floor = np.median(out[out > 0]) * 1e-3 if np.any(out > 0) else 1e-12
    return np.maximum(out, floor)


def noise_by_group(residuals, groups, window: int | None = None) -> np.ndarray:
    """:func:`local_noise` per group (run) of ``residuals`` (each group in step order)."""
    r = np.asarray(residuals, dtype=float)
    g = np.asarray(groups)
    out = np.empty(len(r))
    for lab in dict.fromkeys(g.tolist()):
        m = g == lab
        out[m] = local_noise(r[m], window)
    return out


@dataclass
class LackOfFit:
    """Residual means per block in units of their standard error: ``R = mean(z²)``, ``K``
    blocks, ``z`` per block with each block's first and last position ``start``, ``stop``."""

    R: float
    K: int
    z: np.ndarray = field(repr=False)
    start: np.ndarray = field(repr=False)
    stop: np.ndarray = field(repr=False)

    @property
    def se(self) -> float:
        """The standard error of ``R`` when the law fits to the noise (χ²_K / K)."""
        return float(np.sqrt(2.0 / max(self.K, 1)))


def serial_correlation(residuals, groups=None) -> dict:
    """Lag-1 autocorrelation ρ of the noise per group, from the differences of consecutive
    residuals: for AR(1) noise their lag-1 autocorrelation is −(1 − ρ)/2, whatever smooth
    misfit the residuals carry (differences cancel it; their rolling median is taken off
    first), so ``ρ = 1 + 2·acf₁(Δr)``, clipped to [0, 0.98] (0 for white noise)."""
    r = np.asarray(residuals, dtype=float)
    g = np.zeros(len(r), int) if groups is None else np.asarray(groups)
    out = {}
    for lab in dict.fromkeys(g.tolist()):
        d = np.diff(r[g == lab])
        rho = 0.0
        if len(d) > 10 and np.std(d) > 0:
            # less the differences' own local level: a steep stretch of misfit (a transient)
            # shifts consecutive differences alike and would read as correlated noise
            w = max(MIN_BLOCK, len(d) // BLOCKS_PER_RUN)
            lev = _rolling_median(d, w)
            d = d - np.where(np.isfinite(lev), lev, np.median(d))
            a = float(np.sum(d[1:] * d[:-1]) / np.sum(d * d))
            rho = float(np.clip(1.0 + 2.0 * a, 0.0, 0.98))
        out[lab] = rho
    return out


def lack_of_fit(residuals, sigma, groups=None, block: int | None = None,
                rho: dict | None = None) -> LackOfFit:
    """Blocks of ``block`` consecutive points per group (default 1/40 of the group's points,
    at least 20); ``z_b = mean(r) / se_b`` over the block, ``se_b = rms(σ) / √k`` for
    uncorrelated noise.  With the noise's lag-1 autocorrelation ``rho`` (per group, see
    :func:`serial_correlation`; ``σ`` from differences then reads ``σ·√(1−ρ)``) the standard
    error of an AR(1) block mean, ``rms(σ)·√(1+ρ) / ((1−ρ)·√k)``."""
    r = np.asarray(residuals, dtype=float)
    s = np.asarray(sigma, dtype=float)
    g = np.zeros(len(r), int) if groups is None else np.asarray(groups)
    zs, starts, stops = [], [], []
    for lab in dict.fromkeys(g.tolist()):
        q = float((rho or {}).get(lab, 0.0))
        inflate = np.sqrt(1.0 + q) / (1.0 - q)
        idx = np.flatnonzero(g == lab)
        n = len(idx)
        k = int(block or max(MIN_BLOCK, n // BLOCKS_PER_RUN))
        nb = n // k
        if nb < 1:
            continue
        # equal blocks; the remainder joins the last block
        edges = np.r_[np.arange(nb) * k, n]
        for a, b in zip(edges[:-1], edges[1:]):
            rr, ss = r[idx[a:b]], s[idx[a:b]]
            se = inflate * np.sqrt(np.mean(ss ** 2) / len(rr))
            zs.append(np.mean(rr) / se if se > 0 else 0.0)
            starts.append(idx[a])
            stops.append(idx[b - 1])
    z = np.asarray(zs, dtype=float)
    return LackOfFit(R=float(np.mean(z ** 2)) if len(z) else float("nan"), K=len(z), z=z,
                     start=np.asarray(starts, int), stop=np.asarray(stops, int))


def choose_start(cuts, fits) -> int:
    """The index of the chosen cut: the smallest cut whose lack of fit ``R`` lies within
    two of its standard errors of the best ``R`` over the grid (and of 1, the noise floor,
    when the best is below it).  ``cuts`` ascending; ``fits`` a :class:`LackOfFit` (or
    None for a cut that could not be fitted) per cut."""
    ok = [i for i, f in enumerate(fits) if f is not None and np.isfinite(f.R) and f.K >= MIN_BLOCKS]
    if not ok:
        return 0
    best = min(fits[i].R for i in ok)
    target = max(best, 1.0)
    for i in ok:
        f = fits[i]
        if f.R <= target * (1.0 + 2.0 * f.se):
            return i
    return ok[0]


def noise_weights(sigma, power: float) -> np.ndarray:
    """Per-point weights ``(median σ / σ_i)^power``, mean 1 (``power`` 1 for a Huber
    objective in its absolute-deviation regime, 2 for least squares)."""
    s = np.asarray(sigma, dtype=float)
    w = (np.median(s) / s) ** power
    return w / np.mean(w)


def weight_power(objective, sigma) -> float:
    """The power :func:`noise_weights` uses for an objective: 2 for least squares or a Huber
    δ above the typical noise (the points sit in its quadratic part), else 1."""
    if getattr(objective, "loss", "huber") == "l2":
        return 2.0
    return 2.0 if float(np.median(sigma)) <= float(getattr(objective, "delta", 0.0)) else 1.0


#: the treatments :func:`treat_per_step` knows
MODES = ("auto", "cut", "weights", "off")


def _keys(res):
    """(run label, step) of each fitted point of a curve-law fit, in design order."""
    d = res._problem.design
    return list(zip(np.asarray(d.groups).astype(str).tolist(),
                    np.asarray(d.x["step"]).astype(np.int64).tolist()))


def treat_per_step(fit_one, df, mode: str = "auto", target: str = "loss"):
    """The noise treatment of per-step logs (docs/perstep.md): returns the frame to fit
    (losses before the chosen cut set to NaN; a ``weight`` column from the local noise), the
    notes that say what was done and a record of the choice (``mode``, ``start``,
    ``weights``, the lack of fit by cut), which given back as ``mode`` repeats the choice
    without the search (refits in cross-validation).

    ``fit_one(frame) -> FitResult`` fits one law to a frame with ``step, lr``, the loss
    column ``target``, ``run`` (optional) and ``weight``; ``df`` the frame after warmup
    exclusion and smoothing.  ``mode``:
    ``"auto"`` (cut and weights), ``"cut"``, ``"weights"``.  Nothing changes when a run has
    fewer than ``MIN_BLOCK · MIN_BLOCKS`` fitted points (the noise cannot be measured).

    1. A pilot fit to every point; its residuals give the local noise σ of every point
       (:func:`local_noise`, a window of 1/10 of the run's points, at least 25).
    2. Weights ``(median σ / σ_i)^p`` (:func:`weight_power`), times any run weights.
    3. Cuts ``c`` = :data:`CUT_FRACTIONS` of the shortest run's last logged step, ascending:
       refit on the steps ``>= c`` and take the lack of fit ``R`` of the refit's residuals
       against σ (:func:`lack_of_fit`); stop at the first ``R`` within the noise band
       ``1 + 2√(2/K)``; if none is, the smallest cut within two standard errors of the best
       (:func:`choose_start`).
    """
    from ..errors import ScalelawError
    fixed_start = None
    if isinstance(mode, dict):    # a choice made before (result.design_info["noise"]): no search
        fixed_start = int(mode.get("start", 0))
        mode = "auto" if mode.get("weights") else "cut"
    if mode not in MODES:
        raise ScalelawError(f"unknown noise treatment {mode!r}; use one of {', '.join(MODES)}",
                            option="noise")
    record = {"mode": mode, "start": 0, "weights": False}
    if mode == "off":
        return df, [], record
    runs = df["run"].astype(str) if "run" in df else pd.Series("0", index=df.index)
    finite = np.isfinite(df[target].to_numpy(dtype=float)) & (df["step"].to_numpy() > 0)
    counts = df.loc[finite].groupby(runs).size()
    need = MIN_BLOCK * MIN_BLOCKS
    if len(counts) == 0 or counts.min() < need:
        return df, [f"noise treatment not applied: a run has {int(counts.min()) if len(counts) else 0} "
                    f"fitted points, fewer than the {need} needed to measure the noise along the curve"], \
            {**record, "mode": "off", "reason": "too few points"}
    if fixed_start is not None and mode == "cut":
        out = df.copy()
        out.loc[df["step"].to_numpy() < fixed_start, target] = np.nan
        return out, [f"per-step noise (docs/perstep.md): losses before step {fixed_start} left out "
                     "(the cut given)"], {**record, "start": fixed_start}
    pilot = fit_one(df)
    keys = _keys(pilot)
    groups = np.array([k[0] for k in keys], dtype=object)
    window = {g: max(25, int(c) // 10) for g, c in counts.items()}
    sigma = np.empty(len(keys))
    for g in dict.fromkeys(groups.tolist()):
        m = groups == g
        sigma[m] = local_noise(pilot.residuals[m], window.get(g))
    sig_of = dict(zip(keys, sigma))
    rho = serial_correlation(pilot.residuals, groups)
    key_df = list(zip(runs.tolist(), df["step"].astype(np.int64).tolist()))
    notes = []
    out = df.copy()
    base = out["weight"].to_numpy(dtype=float) if "weight" in out else np.ones(len(out))
    if mode in ("auto", "weights"):
        power = weight_power(pilot.settings, sigma)
        w = noise_weights(sigma, power)
        w_of = dict(zip(keys, w))
        out["weight"] = base * np.array([w_of.get(k, 0.0) for k in key_df])
        record.update(weights=True, power=power, sigma_median=float(np.median(sigma)))
        notes.append(f"per-step noise (docs/perstep.md): points weighted by 1/sigma^{power:g}, the local "
                     f"noise sigma {np.min(sigma):.3g}..{np.max(sigma):.3g} (median {np.median(sigma):.3g}) "
                     f"on the fit's scale")
    if fixed_start is not None:
        out.loc[df["step"].to_numpy() < fixed_start, target] = np.nan
        record["start"] = fixed_start
        notes.append(f"per-step noise (docs/perstep.md): losses before step {fixed_start} left out "
                     "(the cut given)")
    elif mode in ("auto", "cut"):
        steps = df["step"].to_numpy()
        last = df.loc[finite].groupby(runs)["step"].max().min()
        cuts, fits, kept = [], [], []
        prev = None
        fitted = 0
        for f in CUT_FRACTIONS:
            c = int(round(f * float(last)))
            keep = finite & (steps >= c)
            n = int(keep.sum())
            if n == prev:
                continue    # the same points as the previous cut (e.g. inside the warmup)
            prev = n
            trial = out.copy()
            trial.loc[~keep, target] = np.nan
            try:
                if fitted == 0 and c == 0 and mode == "cut":
                    r = pilot
                else:
                    r = fit_one(trial)
            except ScalelawError:
                continue
            fitted += 1
            s = np.array([sig_of.get(k, np.nan) for k in _keys(r)])
            lf = lack_of_fit(r.residuals, np.where(np.isfinite(s), s, np.nanmedian(sigma)),
                             np.asarray(r._problem.design.groups).astype(str), rho=rho)
            cuts.append(c)
            fits.append(lf)
            kept.append(keep)
            if lf.K >= MIN_BLOCKS and lf.R <= 1.0 + 2.0 * lf.se:
                break   # the law fits these points to the noise: the first such cut
        if cuts:
            i = choose_start(cuts, fits)
            c = cuts[i]
            out.loc[~kept[i], target] = np.nan
            trail = ", ".join(f"{cc}: {ff.R:.3g}" for cc, ff in zip(cuts, fits))
            left = int((finite & ~kept[i]).sum())
            rq = max(rho.values()) if rho else 0.0
            record.update(start=c, lack_of_fit={str(cc): round(ff.R, 4) for cc, ff in zip(cuts, fits)},
                          blocks=fits[i].K, autocorrelation=round(rq, 3))
            what = (f"losses before step {c} left out ({left} point(s))" if c > 0 else
                    "no early steps left out")
            notes.append(f"per-step noise (docs/perstep.md): {what}; lack of fit R by cut ({trail}; 1 = the noise floor, K = {fits[i].K} blocks"
                         + (f", noise autocorrelation up to {rq:.2f}" if rq > 0 else "") + ")")
    return out, notes, record


__all__ = ["local_noise", "noise_by_group", "lack_of_fit", "LackOfFit", "choose_start",
           "noise_weights", "weight_power", "CUT_FRACTIONS", "treat_per_step", "MODES", "serial_correlation"]
