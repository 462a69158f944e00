"""Several targets with shared exponents against simple-scaling-laws (which fits each target
on its own), side by side on simulated ladders.

Each seed draws a 7 x 7 grid of runs (N 1e7..1e10, D 1e8..1e11) with three loss columns from
Chinchilla at one alpha = 0.34, beta = 0.30 and per-target E, A, B, with 1% log-normal
evaluation noise. It reports the 95% bootstrap interval of alpha (1000 draws): scalelaw's
joint fit (share alpha, beta), scalelaw per target, and the peer per target, plus whether
each covers the truth, and each fit's wall time.

    python bench/bench_multitarget.py [--seeds 3] [--peer /work/peervenv/bin/python]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd

SHARED = {"alpha": 0.34, "beta": 0.30}
TRUTH = {"c4": {"E": 1.8, "A": 400.0, "B": 1200.0, **SHARED},
         "paloma": {"E": 2.3, "A": 250.0, "B": 900.0, **SHARED},
         "wiki": {"E": 2.0, "A": 600.0, "B": 1500.0, **SHARED}}

PEER = """
import json, sys, time, simple_scaling_laws as ssl
t = time.perf_counter()
m = ssl.fit(sys.argv[1], law="separable-power", seed=0, n_draws=1000)
wall = time.perf_counter() - t
out = {t_: [m.params(t_)["alpha"], *m.conf_int(t_)["alpha"]] for t_ in m.targets}
print(json.dumps({"wall": wall, "alpha": out}))
"""


def table(seed: int) -> pd.DataFrame:
    from scalelaw.synthetic.runs import simulate_runs
    N = np.geomspace(1e7, 1e10, 7)
    D = np.geomspace(1e8, 1e11, 7)
    design = pd.DataFrame([(n, d) for n in N for d in D], columns=["N", "D"])
    out = design.copy()
    for j, (t, p) in enumerate(TRUTH.items()):
        out[f"loss_{t}"] = simulate_runs("chinchilla", p, design, eval_sd=0.01, seed=10 * seed + j)["loss"].to_numpy()
    return out


def main() -> None:
    import warnings

    import scalelaw as sl
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--peer", default="/work/peervenv/bin/python")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for seed in range(args.seeds):
        tab = table(seed)
        t = time.perf_counter()
        joint = sl.fit(tab, "chinchilla", targets="loss_*", share=("alpha", "beta"), bootstrap=1000)
        wj = time.perf_counter() - t
        t = time.perf_counter()
        sep = sl.fit(tab, "chinchilla", targets="loss_*", bootstrap=1000)
        ws = time.perf_counter() - t
        lo, hi = joint["loss_c4"].conf_int().loc["alpha"]
        rows.append({"seed": seed, "fit": "scalelaw joint (share alpha,beta)", "target": "all",
                     "alpha": joint["loss_c4"].params["alpha"], "width": hi - lo, "covers": lo < 0.34 < hi,
                     "wall_s": wj})
        for t_ in sep:
            lo, hi = sep[t_].conf_int().loc["alpha"]
            rows.append({"seed": seed, "fit": "scalelaw per target", "target": t_, "alpha": sep[t_].params["alpha"],
                         "width": hi - lo, "covers": lo < 0.34 < hi, "wall_s": ws})
        if os.path.exists(args.peer):
            peer = tab.rename(columns={"N": "model_size__n", "D": "dataset_size__d",
                                       **{f"loss_{t}": f"test_loss__{t}" for t in TRUTH}})
            peer.insert(0, "training_run_id", [f"r{i}" for i in range(len(peer))])
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "runs.csv")
                peer.to_csv(path, index=False)
                res = json.loads(subprocess.run([args.peer, "-c", PEER, path], capture_output=True, text=True,
                                                check=True).stdout.strip().splitlines()[-1])
            for t_, (a, lo, hi) in res["alpha"].items():
                rows.append({"seed": seed, "fit": "simple-scaling-laws per target", "target": t_, "alpha": a,
                             "width": hi - lo, "covers": lo < 0.34 < hi, "wall_s": res["wall"]})
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 140):
        print(out.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(out.groupby("fit")[["width", "covers", "wall_s"]].mean().to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
