"""``scalelaw demo``: the main job end to end on runs with a known answer."""
from __future__ import annotations

HELP = "fit, bootstrap, predict and allocate on synthetic runs whose true law is known"
DESCRIPTION = """Generate 60 training runs from a known Chinchilla law (E=1.80, A=400, B=1800,
alpha=0.34, beta=0.36) with 0.5% multiplicative noise (seeded, so every run of the demo
prints the same numbers), fit the law, bootstrap it, predict a 70B/1.4T run, and allocate a
1e24 FLOP budget, comparing each figure with the truth."""

TRUE = {"E": 1.80, "A": 400.0, "B": 1800.0, "alpha": 0.34, "beta": 0.36}


def add_arguments(p):
    p.add_argument("--bootstrap", type=int, default=200, metavar="N", help="resamples (default 200)")
    p.add_argument("--out", metavar="DIR", help="also write runs.csv, fit.json and fit.png there")


def demo_runs(seed: int = 0):
    """60 runs: 10 model sizes x 6 token counts (tokens per parameter 5..160), 0.5% noise."""
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(5e7, 5e9, 10), 6)
    D = N * np.tile(np.geomspace(5, 160, 6), 10)
    t = TRUE
    L = t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]
    L = L * np.exp(rng.normal(0, 0.005, len(L)))
    return pd.DataFrame({"params": N, "tokens": D, "flops": 6 * N * D, "loss": L})


def run(args) -> int:
    import os
    import time

    import numpy as np

    from .. import allocate
    from .. import fit as fit_mod
    from ..errors import ScalelawError

    runs = demo_runs()
    print(f"60 synthetic runs from E + A/N^alpha + B/D^beta with {TRUE}, 0.5% noise\n")
    t0 = time.perf_counter()
    res = fit_mod.fit(runs, "chinchilla", bootstrap=max(args.bootstrap, 0) or 0, seed=0)
    dt = time.perf_counter() - t0
    print(res.summary())
    print(f"(fit + {args.bootstrap} bootstrap resamples in {dt:.1f} s)\n")
    ci = res.conf_int()
    print("recovery:  param      true     fitted    in 95% CI")
    for p, v in TRUE.items():
        inside = ci.loc[p, "lower"] <= v <= ci.loc[p, "upper"]
        print(f"           {p:<7}{v:>9.4g}{res.params[p]:>11.4g}    {'yes' if inside else 'no'}")
    pred = res.predict(N=[7e10], D=[1.4e12])
    truth = TRUE["E"] + TRUE["A"] / 7e10 ** TRUE["alpha"] + TRUE["B"] / 1.4e12 ** TRUE["beta"]
    r = pred.iloc[0]
    print(f"\npredict N=7e10, D=1.4e12: {r['mean']:.4f} (curve 95%: {r['mean_ci_lower']:.4f}-"
          f"{r['mean_ci_upper']:.4f}; new run: {r['obs_ci_lower']:.4f}-{r['obs_ci_upper']:.4f}); "
          f"true {truth:.4f}")
    alloc = allocate.compute_optimal(res, [1e24])
    a = alloc.iloc[0]
    true_alloc = allocate.compute_optimal(TRUE, [1e24]).iloc[0]
    print("allocate C=1e24 FLOPs (C = 6ND):")
    for col, fmt in (("N_opt", ".3g"), ("D_opt", ".3g"), ("tokens_per_param", ".1f")):
        band = (f" (95%: {a[col + '_lower']:{fmt}}-{a[col + '_upper']:{fmt}})"
                if col + "_lower" in alloc else "")
        print(f"  {col:<17}{a[col]:{fmt}}{band}; true {true_alloc[col]:{fmt}}")
    if args.out:
        if not os.path.isdir(args.out):
            raise ScalelawError(f"--out {args.out} is not a directory")
        from .._atomic import atomic_path
        with atomic_path(os.path.join(args.out, "runs.csv")) as tmp:
            runs.to_csv(tmp, index=False)
        res.to_json(os.path.join(args.out, "fit.json"))
        from ..plot import plot_fit
        plot_fit(res, os.path.join(args.out, "fit.png"))
        print(f"wrote runs.csv, fit.json, fit.png to {args.out}")
    return 0 if np.isfinite(res.objective) else 1
