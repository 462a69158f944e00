"""Fitting-engine benchmark on the 240 Chinchilla points (Besiroglu et al. 2024 data).

Baseline: the published recipe (REFERENCE §2) -- scipy L-BFGS-B from each of Hoffmann's
4,500 grid starts (alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1},
a, b in {0, 5, ..., 25}) on the SUM of Huber(delta=1e-3) terms of the log-sum-exp form,
with an analytic gradient (a stronger baseline than finite differences) and tight
tolerances; the best objective over all starts wins.

scalelaw: ``scalelaw.fit(df, "chinchilla")`` (variable-projection grid + polish).

Both are timed in the same process, one after the other, and reported as a ratio.
Then a 1,000-resample bootstrap of the scalelaw fit is timed (all cores).

    python bench/bench_fit.py            # full baseline (4,500 starts)
    python bench/bench_fit.py --starts 500   # a subsample of the grid, for a quick look
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "benchdata" / "chinchilla_epoch.csv"


def load():
    df = pd.read_csv(DATA).sort_values("loss").iloc[:-5]
    N = df["Model Size"].to_numpy(float)
    D = df["Training FLOP"].to_numpy(float) / (6 * N)
    return df, np.log(N), np.log(D), np.log(df["loss"].to_numpy(float))


def baseline(lN, lD, lL, starts, delta=1e-3):
    def f(x):
        a, b, e, al, be = x
        T = np.stack([a - al * lN, b - be * lD, np.full_like(lN, e)])
        lse = logsumexp(T, axis=0)
        r = lse - lL
        w = np.exp(T - lse)                        # softmax weights
        psi = np.clip(r, -delta, delta)
        g = np.array([np.sum(psi * w[0]), np.sum(psi * w[1]), np.sum(psi * w[2]),
                      np.sum(psi * w[0] * -lN), np.sum(psi * w[1] * -lD)])
        return np.sum(huber(delta, r)), g

    best = (np.inf, None)
    for s in starts:
        r = minimize(f, np.array(s, float), jac=True, method="L-BFGS-B",
                     options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
        if r.fun < best[0]:
            best = (r.fun, r.x)
    a, b, e, al, be = best[1]
    return best[0], {"E": np.exp(e), "A": np.exp(a), "B": np.exp(b), "alpha": al, "beta": be}


def hoffmann_grid():
    ab = np.arange(0, 2.01, 0.5)
    es = np.arange(-1, 1.01, 0.5)
    AB = np.arange(0, 25.1, 5)
    return [(a, b, e, al, be) for al, be, e, a, b in itertools.product(ab, ab, es, AB, AB)]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=None, help="use an evenly spaced subset of the grid")
    ap.add_argument("--boot", type=int, default=1000)
    args = ap.parse_args(argv)
    if not DATA.exists():
        sys.exit(f"benchmark data not found: {DATA}")
    sys.path.insert(0, str(HERE.parent))
    import scalelaw as sl
    from threadpoolctl import threadpool_limits

    df, lN, lD, lL = load()
    grid = hoffmann_grid()
    if args.starts:
        grid = [grid[i] for i in np.linspace(0, len(grid) - 1, args.starts).round().astype(int)]
    sl.fit(df, "chinchilla")  # warm-up (imports)
    t = time.perf_counter()
    res = sl.fit(df, "chinchilla")
    t_ours = time.perf_counter() - t
    with threadpool_limits(1, user_api="blas"):   # same BLAS setting as the engine
        t = time.perf_counter()
        f_base, p_base = baseline(lN, lD, lL, grid)
        t_base = time.perf_counter() - t
    scale = len(hoffmann_grid()) / len(grid)
    print(f"machine: {os.cpu_count()} cores; baseline starts: {len(grid)}")
    print(f"baseline (L-BFGS-B x {len(grid)} starts): {t_base:.2f} s, objective {f_base:.10g}")
    print("   params: " + ", ".join(f"{k}={v:.6g}" for k, v in p_base.items()))
    print(f"scalelaw.fit: {t_ours:.3f} s, objective {res.objective:.10g}")
    print("   params: " + ", ".join(f"{k}={v:.6g}" for k, v in res.params.items()))
    print(f"speed-up: {t_base / t_ours:.0f}x" + (f" (x{scale:.1f} for the full grid: ~{t_base * scale / t_ours:.0f}x)" if scale > 1 else ""))
    print(f"objective ours - baseline: {res.objective - f_base:+.3e} ({'no worse' if res.objective <= f_base * (1 + 1e-9) else 'WORSE'})")
    t = time.perf_counter()
    res.bootstrap(args.boot, seed=0, n_jobs=-1)   # the bootstrap is serial unless asked
    t_boot = time.perf_counter() - t
    print(f"bootstrap: {args.boot} resamples in {t_boot:.2f} s on {os.cpu_count()} cores; "
          "SE " + ", ".join(f"{k}={v:.3g}" for k, v in res.stderr.items()))


if __name__ == "__main__":
    main()
