"""The new laws of issue 12 (item 4) against simple-scaling-laws 0.2.0, on the same
simulated data: recovery of the asymptote and exponent, and extrapolation.

* shifted power law ``E + A·(N + x0)^−α`` (truth E 1.7, A 300, x0 2e7, α 0.35; 25 sizes
  1e6..1e10, 0.2% noise): scalelaw ``shifted_powerlaw`` against the peer's
  ``shifted-separable-power``;
* M4 ``(L − L∞)/(L0 − L)^α = β·D^−c`` (truth L∞ 2, L0 5, β 2000, c 0.4; 30 sizes 1e5..1e11,
  0.2% noise) with the shape α = 1 and α = 0.5: scalelaw ``m4`` (α free) against the peer's
  ``bounded-rational-power`` (M4 with α fixed at 1), predicted at D = 3e12.

The peer has no data-constrained law and no LR / batch-size law, so those have no row.
Five seeds each; prints the largest relative error over the seeds.

    python bench/bench_laws_peer.py [--peer /work/peervenv/bin/python]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import scalelaw as sl
from scalelaw.laws import get_law

SHIFTED = {"E": 1.7, "A": 300.0, "x0": 2e7, "alpha": 0.35}
M4 = {"L_inf": 2.0, "L0": 5.0, "beta": 2000.0, "c": 0.4}
SEEDS = range(5)

PEER = textwrap.dedent('''
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from simple_scaling_laws import fit
    out = {}
    for path, law in json.loads(sys.argv[1]):
        m = fit(path, law=law, n_draws=100, seed=0)
        p = m.params("test_loss__cross_entropy")
        row = {"params": {k: float(v) for k, v in p.items()}}
        if "dataset_size__n_tokens" in open(path).readline():
            pr = m.predict({"dataset_size__n_tokens": [3e12]})
            row["pred"] = float(pr[[c for c in pr.columns if "median" in c][0]][0])
        out[path] = row
    print(json.dumps(out))
''')


def _tables(folder: Path):
    jobs, truth = [], {}
    for s in SEEDS:
        rng = np.random.default_rng(s)
        N = np.geomspace(1e6, 1e10, 25)
        L = get_law("shifted_powerlaw", var="N")(N=N, **SHIFTED) * np.exp(0.002 * rng.standard_normal(N.size))
        path = folder / f"shifted_{s}.csv"
        pd.DataFrame({"training_run_id": [f"r{i}" for i in range(N.size)], "model_size__n_params": N,
                      "test_loss__cross_entropy": L}).to_csv(path, index=False)
        jobs.append((str(path), "shifted-separable-power"))
        for shape in (1.0, 0.5):
            D = np.geomspace(1e5, 1e11, 30)
            law = get_law("m4", var="D")
            L = law(D=D, alpha=shape, **M4) * np.exp(0.002 * rng.standard_normal(D.size))
            path = folder / f"m4_{shape}_{s}.csv"
            pd.DataFrame({"training_run_id": [f"r{i}" for i in range(D.size)], "dataset_size__n_tokens": D,
                          "test_loss__cross_entropy": L}).to_csv(path, index=False)
            jobs.append((str(path), "bounded-rational-power"))
            truth[str(path)] = float(law(D=[3e12], alpha=shape, **M4)[0])
    return jobs, truth


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", default="/work/peervenv/bin/python", help="the peer's interpreter")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        jobs, truth = _tables(Path(tmp))
        peer = json.loads(subprocess.run([args.peer, "-c", PEER, json.dumps(jobs)], check=True,
                                         capture_output=True, text=True).stdout)
        rows = {}
        for path, _ in jobs:
            f = pd.read_csv(path)
            if "model_size__n_params" in f:
                r = sl.fit(f, "shifted_powerlaw", columns={"N": "model_size__n_params",
                                                           "loss": "test_loss__cross_entropy"})
                pp = peer[path]["params"]
                key = "shifted"
                errs = {"ours": (r.params["E"] / 1.7 - 1, r.params["alpha"] / 0.35 - 1),
                        "peer": (pp["E"] / 1.7 - 1, pp["alpha"] / 0.35 - 1)}
            else:
                r = sl.fit(f, "m4", columns={"D": "dataset_size__n_tokens", "loss": "test_loss__cross_entropy"})
                pp = peer[path]
                key = "m4 alpha=" + path.split("_")[-2]
                t = truth[path]
                errs = {"ours": (r.params["L_inf"] / 2 - 1, float(r.predict(D=[3e12])["mean"][0]) / t - 1),
                        "peer": (pp["params"]["E"] / 2 - 1, pp["pred"] / t - 1)}
            for who, e in errs.items():
                rows.setdefault((key, who), []).append(e)
    print(f"{'case':<14} {'tool':<6} {'max |rel err| asymptote':>24} {'max |rel err| alpha / prediction':>34}")
    for (key, who), e in rows.items():
        e = np.abs(np.array(e))
        print(f"{key:<14} {who:<6} {e[:, 0].max():>24.4f} {e[:, 1].max():>34.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
