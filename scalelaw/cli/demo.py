"""``scalelaw demo``: the main job end to end on runs with a known answer."""
from __future__ import annotations

HELP = "fit, bootstrap, predict and allocate on synthetic runs whose true law is known"
DESCRIPTION = """Generate 60 training runs from a known Chinchilla law (E=1.80, A=400, B=1800,
alpha=0.34, beta=0.36) with 0.5% multiplicative noise (seeded, so every run of the demo
prints the same numbers), fit the law, bootstrap it, predict a 70B/1.4T run, and allocate a
1e24 FLOP budget, comparing each figure with the truth.  With --out DIR (created if needed)
it also writes runs.csv, isoflop.csv (the same law at 5 fixed budgets x 8 sizes, for
`scalelaw allocate --isoflop`), fit.json and fit.png there."""

TRUE = {"E": 1.80, "A": 400.0, "B": 1800.0, "alpha": 0.34, "beta": 0.36}


def add_arguments(p):
    p.add_argument("--bootstrap", type=int, default=200, metavar="N", help="resamples (default 200)")
    p.add_argument("--out", metavar="DIR", help="also write runs.csv, isoflop.csv, fit.json and "
                   "fit.png there (the folder is created if needed)")


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


#: the budgets of the IsoFLOP table (FLOPs) and the model sizes around each optimum
ISO_BUDGETS = (1e18, 1e19, 1e20, 1e21, 1e22)


def isoflop_runs(seed: int = 1):
    """IsoFLOP profiles of the same law: 8 model sizes spanning 1/6x..6x of the true optimum
    at each of 5 budgets (D = C/(6N)), 0.5% noise.  The true exponent of N* ∝ C^a is
    beta/(alpha+beta) = 0.514."""
    import numpy as np
    import pandas as pd

    from .. import allocate
    rng = np.random.default_rng(seed)
    t = TRUE
    rows = []
    for C in ISO_BUDGETS:
        n_opt = float(allocate.compute_optimal(t, [C]).iloc[0]["N_opt"])
        for N in n_opt * np.geomspace(1 / 6, 6, 8):
            D = C / (6 * N)
            L = (t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]) * np.exp(rng.normal(0, 0.005))
            rows.append({"params": N, "tokens": D, "flops": C, "loss": L})
    return pd.DataFrame(rows)


def run(args) -> int:
    import os
    import time

    import numpy as np

    from .. import allocate
    from ..fitting import fit
    from .._output import check_output, make_folder
    from ._common import check_bootstrap

    n_boot = check_bootstrap(args.bootstrap)
    files = ("runs.csv", "isoflop.csv", "fit.json", "fit.png")
    if args.out:   # the folder made and every file checked before any work
        folder = make_folder(args.out, label=f"--out {args.out}")
        for name in files:
            check_output(os.path.join(folder, name), label=os.path.join(args.out, name),
                         plot=name.endswith(".png"))
    runs = demo_runs()
    print(f"60 synthetic runs from E + A/N^alpha + B/D^beta with {TRUE}, 0.5% noise\n")
    t0 = time.perf_counter()
    res = fit(runs, "chinchilla", bootstrap=n_boot, seed=0)
    dt = time.perf_counter() - t0
    print(res.summary())
    print(f"(fit + {n_boot} bootstrap resamples in {dt:.1f} s)\n")
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
        from .._output import open_output
        from ..plot import plot_fit
        for name, frame in (("runs.csv", runs), ("isoflop.csv", isoflop_runs())):
            with open_output(os.path.join(folder, name), label=os.path.join(args.out, name)) as f:
                frame.to_csv(f, index=False)
        res.to_json(os.path.join(folder, "fit.json"))
        plot_fit(res, os.path.join(folder, "fit.png"))
        print(f"wrote {', '.join(files)} to {args.out}")
    return 0 if np.isfinite(res.objective) else 1
