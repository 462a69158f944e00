"""The Markov/tokenization experiment: cross-entropy against model size for tokenized and
untokenized training, with the source's unigram entropy H(π) and entropy rate H∞ as lines."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import ScalelawError
from ._base import (axes_or_new, level_text, log_ticks, loss_unit, param_count, place_legend,
                    quiet_extrapolation, styled_figure)

__all__ = ["entropy_curves"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _family_name(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip().lower() in ("", "none", "nan"):
        return "untokenized (symbols)"
    return f"tokenized: {v}"


def _entropy(frame, value, what):
    """A number, or the one value of a column (several sources in one figure: refused)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in frame:
            return None
        v = pd.to_numeric(frame[value], errors="coerce").dropna().unique()
        if len(v) == 0:
            return None
        if np.ptp(v) > 1e-9 * max(1.0, abs(v).max()):
            raise ScalelawError(f"the runs have {len(v)} different values of {value} ({what}): "
                                "draw one source at a time (select its rows)")
        return float(v[0])
    return float(value)


@styled_figure
def entropy_curves(results_frame, *, size: str = "N_nonembed", loss: str = "eval_loss_per_char",
                   family: str = "tokenizer", entropy_rate="entropy_rate", unigram_entropy="unigram_entropy",
                   fits=None, ax=None, alpha: float = 0.05):
    """Held-out cross-entropy against model size, one family of runs per ``family`` value
    (the trainer's ``tokenizer`` column: empty or ``none`` is untokenized, symbol-level
    training), with the source's unigram entropy H(π) and entropy rate H∞ as horizontal lines.

    ``results_frame``: the trainer's results.csv as a frame (one row per run; seeds are drawn
    as separate points).  ``size``: the model-size column (``N_nonembed``: non-embedding
    parameters, or ``N_total``); ``loss``: the loss column (``eval_loss_per_char``, nats per
    character, comparable across tokenizers; per-token losses are not).  ``entropy_rate``,
    ``unigram_entropy``: numbers (nats per character) or columns holding one value.
    ``fits``: None; True to fit ``E + A·N^-α`` (``powerlaw_const``) to each family; or a
    mapping ``{family value: result}`` of such fits: drawn with their confidence band and E
    with its ``1 - alpha`` interval at the right edge.  Returns the Figure.
    """
    frame = results_frame if isinstance(results_frame, pd.DataFrame) else pd.DataFrame(results_frame)
    for col in (size, loss):
        if col not in frame:
            raise ScalelawError(f"no column {col!r} in the runs; they have: {', '.join(map(str, frame.columns))}")
    fam = frame[family] if family in frame else pd.Series([None] * len(frame), index=frame.index)
    df = pd.DataFrame({"N": pd.to_numeric(frame[size], errors="coerce"),
                       "loss": pd.to_numeric(frame[loss], errors="coerce"),
                       "raw": fam.to_numpy(dtype=object),
                       "family": [_family_name(v) for v in fam]})
    df = df[np.isfinite(df["N"]) & np.isfinite(df["loss"]) & (df["N"] > 0)]
    if not len(df):
        raise ScalelawError(f"no runs with a positive {size} and a finite {loss}")
    h_inf = _entropy(frame, entropy_rate, "the entropy rate")
    h_pi = _entropy(frame, unigram_entropy, "the unigram entropy")
    fig, ax = axes_or_new(ax, figsize=(6.2, 4.2))
    unit = loss_unit(loss)
    lvl = level_text(alpha)
    families = sorted(df["family"].unique(), key=lambda f: (not f.startswith("untokenized"), f))
    nlo, nhi = df["N"].min(), df["N"].max()
    grid = np.geomspace(nlo / 1.3, nhi * 1.3, 160)
    ys = list(df["loss"])
    e_x = nhi * 1.3 * 1.25   # where the fitted E intervals are drawn, just right of the data
    fitted = {}
    if fits is True:
        from ..fitting import fit as _fit
        for f in families:
            sub = df[df["family"] == f]
            if sub["N"].nunique() >= 4:
                fitted[f] = _fit(sub[["N", "loss"]], "powerlaw_const", columns={"N": "N", "loss": "loss"})
    elif isinstance(fits, Mapping):
        for key, res in fits.items():
            fitted[_family_name(key) if not str(key).startswith(("tokenized", "untokenized")) else key] = res
    elif fits is not None:
        raise ScalelawError("fits: give True (fit each family) or a mapping {family: fitted result}")
    handles, labels = [], []
    for i, f in enumerate(families):
        color = f"C{i % 7}"
        marker = _MARKERS[i % len(_MARKERS)]
        sub = df[df["family"] == f]
        h = ax.scatter(sub["N"], sub["loss"], s=20, marker=marker, color=color, edgecolors="white",
                       linewidths=0.4, zorder=4)
        res = fitted.get(f)
        label = f
        if res is None:
            means = sub.groupby("N")["loss"].mean()
            ax.plot(means.index, means.to_numpy(), color=color, lw=0.9, alpha=0.7, zorder=3)
        else:
            with quiet_extrapolation():
                var = res.law.variables[0]
                pr = res.predict(pd.DataFrame({var: grid}), alpha=alpha)
            ax.fill_between(grid, pr["mean_ci_lower"], pr["mean_ci_upper"], color=color, alpha=0.25, lw=0,
                            zorder=2)
            ax.plot(grid, pr["mean"], color=color, lw=1.3, zorder=3)
            if "E" in res.params:
                E = float(res.params["E"])
                ci = res.conf_int(alpha=alpha)
                lo_e, hi_e = float(ci.loc["E", "lower"]), float(ci.loc["E", "upper"])
                ax.errorbar([e_x * (1.12 ** i)], [E], yerr=[[E - lo_e], [hi_e - E]], fmt=marker, color=color,
                            ms=4, mfc="white", capsize=2.5, lw=1.1, zorder=5)
                label = (f"{f}\n   fit: E = {E:.3f} [{lo_e:.3f}, {hi_e:.3f}], "
                         f"α = {res.params.get('alpha', np.nan):.2f}")
                ys += [lo_e, hi_e]
        handles.append(h)
        labels.append(label)
    for value, text, style in ((h_pi, "H(π) = {:.3f}, unigram entropy (no context)", ("0.35", (0, (5, 3)))),
                               (h_inf, "H∞ = {:.3f}, entropy rate (the floor)", ("black", "-"))):
        if value is None:
            continue
        ax.axhline(value, color=style[0], ls=style[1], lw=1.0, zorder=1)
        ax.annotate(text.format(value), xy=(0.01, value), xycoords=("axes fraction", "data"),
                    xytext=(0, 2), textcoords="offset points", va="bottom", ha="left", fontsize=7.5,
                    color=style[0])
        ys.append(value)
    ax.set_xscale("log")
    right = e_x * 1.12 ** max(len(fitted) - 1, 0) * 1.3 if fitted else nhi * 1.3 * 1.1
    ax.set_xlim(nlo / 1.3 / 1.1, right)
    ys = np.asarray([v for v in ys if np.isfinite(v)])
    pad = 0.06 * (ys.max() - ys.min())
    ax.set_ylim(ys.min() - pad, ys.max() + pad)
    ax.set_xlabel(f"model size N ({param_count(size)})")
    ax.set_ylabel(f"held-out cross-entropy ({unit})")
    if fitted:
        ax.set_title(f"fits E + A·N$^{{-α}}$ with {lvl} confidence bands; at the right: each fit's E with its "
                     f"{lvl} interval", fontsize=7.5, color="0.3")
    ax.set_ylim(ax.get_ylim()[0], ax.get_ylim()[1] + 0.04 * np.ptp(ax.get_ylim()))   # room for the labels
    log_ticks(ax, "x")
    place_legend(ax, handles, labels)
    return fig
