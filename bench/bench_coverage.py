"""Coverage of held-out runs by scalelaw's bands on public data (../shared/benchdata).

For each table: fit the Chinchilla law L = E + A/N^alpha + B/D^beta (Huber on log loss, the
default) on the smaller compute budgets, predict the runs of the larger ones, and count how
many held-out runs fall inside

* the curve sampling band (``mean_ci_*``),
* the new-run band under the law (``obs_ci_*``: "before"),
* the calibrated new-run band (``cal_ci_*``: "after"), calibrated from a rollout by
  compute on the fitted rows only (:func:`scalelaw.fitting.validation.rollout`,
  :func:`scalelaw.fitting.calibration.calibrate`, default settings).

Splits (fixed before any coverage was looked at, never tuned):

* ``chinchilla_epoch.csv`` (245 runs, Besiroglu et al. 2024): fit C <= 1e21, predict the
  23 runs above (the split of issue 14); once with all 245 runs, once with the 240 of
  the published refit (the 5 highest losses dropped, all of them small fitted runs);
* ``reallogs/isoflops_ml_scalefit.csv`` (124 runs, 9 IsoFLOP budgets) and
  ``reallogs/isoflops_misfitting.csv`` (176 runs, 26 budgets): predict the top decade of
  compute (budget > largest / 10), fit the rest.

The rollout groups runs by compute (binned into 12 groups of equal counts when the
budgets are continuous, as in the reconstructed Chinchilla table).

    python bench/bench_coverage.py            # all tables, 95% and 80%
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "benchdata"


def tables():
    """(name, frame with N, D, C, loss, group column for the rollout, held-out mask)."""
    out = []
    f = DATA / "chinchilla_epoch.csv"
    if f.exists():
        df = pd.read_csv(f)
        t = pd.DataFrame({"N": df["Model Size"].astype(float), "C": df["Training FLOP"].astype(float),
                          "loss": df["loss"].astype(float)})
        t["D"] = t["C"] / (6 * t["N"])
        out.append(("chinchilla_epoch 245 (fit C <= 1e21)", t, "C", (t["C"] > 1e21).to_numpy()))
        t240 = t.loc[t["loss"].rank(method="first") <= len(t) - 5].reset_index(drop=True)
        out.append(("chinchilla_epoch 240 (fit C <= 1e21)", t240, "C", (t240["C"] > 1e21).to_numpy()))
    for name in ("isoflops_ml_scalefit", "isoflops_misfitting"):
        f = DATA / "reallogs" / f"{name}.csv"
        if not f.exists():
            continue
        df = pd.read_csv(f)
        t = pd.DataFrame({"N": df["params"].astype(float), "D": df["tokens"].astype(float),
                          "C": df["budget"].astype(float), "loss": df["loss"].astype(float)})
        cut = t["C"].max() / 10
        out.append((f"{name} (fit budget <= {cut:.3g})", t, "C", (t["C"] > cut).to_numpy()))
    return out


def inside(y, p, band):
    return (y >= p[f"{band}_ci_lower"].to_numpy()) & (y <= p[f"{band}_ci_upper"].to_numpy())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alpha", type=float, nargs="+", default=[0.05, 0.2])
    args = ap.parse_args(argv)
    import scalelaw as sl
    from scalelaw.fitting.calibration import calibrate
    from scalelaw.fitting.validation import rollout

    warnings.simplefilter("ignore")
    rows = []
    for name, t, by, held in tables():
        t0 = time.perf_counter()
        train, test = t.loc[~held, ["N", "D", "loss"]], t.loc[held, ["N", "D", "loss"]]
        res = sl.fit(train, "chinchilla")
        cv = rollout(t.loc[~held, ["N", "D", "C", "loss"]], "chinchilla", by, fitter=sl.fit)
        res.calibration = calibrate(cv.attrs["errors"])
        secs = time.perf_counter() - t0
        y = test["loss"].to_numpy()
        for a in args.alpha:
            p = res.predict(test[["N", "D"]], alpha=a)
            rows.append({"table": name, "level": f"{100 * (1 - a):g}%", "fit n": len(train),
                         "held out": len(test), "curve band": inside(y, p, "mean").mean(),
                         "new-run band (before)": inside(y, p, "obs").mean(),
                         "calibrated (after)": inside(y, p, "cal").mean(),
                         "median width before/after": float(np.median(
                             (p["cal_ci_upper"] - p["cal_ci_lower"]) / (p["obs_ci_upper"] - p["obs_ci_lower"]))),
                         "seconds": round(secs, 2)})
        far = p["interval"].value_counts().to_dict()
        print(f"{name}: {len(cv)} rollout refits, {res.calibration.describe()}; held-out intervals: {far}")
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return out


if __name__ == "__main__":
    main()
