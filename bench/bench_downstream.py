"""Coverage of the two-stage chain's metric band on simulated model ladders (docs/downstream.md).

Each ladder: 6 model sizes (2e7..1e9) x 4 token counts (5, 10, 20, 40 tokens per parameter);
the loss from Chinchilla (E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28) with 0.5%
evaluation noise (simulate_runs), the accuracy a sigmoid of the true loss
(0.25 + 0.7/(1 + exp(3(L - 3)))) plus normal noise 0.01.  The chain (chinchilla, then
sigmoid_loss) is fitted with a bootstrap of whole rows, and the (1 - alpha) bands at two
held-out larger models are checked against the true metric and loss.

    python bench/bench_downstream.py --ladders 200 --bootstrap 200 --alpha 0.1
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

CHIN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
POINTS = dict(N=[2e9, 7e9], D=[4e10, 1.4e11])


def accuracy(loss):
    return 0.25 + 0.7 / (1 + np.exp(3.0 * (np.asarray(loss) - 3.0)))


def ladder(seed: int) -> pd.DataFrame:
    from scalelaw.synthetic.runs import simulate_runs
    N = np.geomspace(2e7, 1e9, 6)
    design = pd.DataFrame({"N": np.repeat(N, 4), "D": np.repeat(N, 4) * np.tile([5.0, 10, 20, 40], 6)})
    df = simulate_runs("chinchilla", CHIN, design, eval_sd=0.005, seed=100 + seed)
    rng = np.random.default_rng(1000 + seed)
    df["acc"] = accuracy(df["loss_true"]) + rng.normal(0.0, 0.01, len(df))
    return df


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ladders", type=int, default=40)
    p.add_argument("--bootstrap", type=int, default=100)
    p.add_argument("--alpha", type=float, default=0.1)
    args = p.parse_args(argv)
    import scalelaw as sl
    from scalelaw.errors import ScalelawWarning
    from scalelaw.fitting.chain import fit_chain
    warnings.simplefilter("ignore", ScalelawWarning)
    loss_true = sl.get_law("chinchilla")(**POINTS, **CHIN)
    metric_true = accuracy(loss_true)
    hit_m, hit_l, width = [], [], []
    t0 = time.perf_counter()
    for s in range(args.ladders):
        chain = fit_chain(ladder(s), metric="acc", bootstrap=args.bootstrap, seed=s)
        pred = chain.predict(POINTS, alpha=args.alpha)
        hit_m.append(((pred["metric_lower"] <= metric_true) & (metric_true <= pred["metric_upper"])).to_numpy())
        hit_l.append(((pred["loss_lower"] <= loss_true) & (loss_true <= pred["loss_upper"])).to_numpy())
        width.append((pred["metric_upper"] - pred["metric_lower"]).to_numpy())
    level = 1 - args.alpha
    print(f"{args.ladders} ladders, {args.bootstrap} resamples each, {100 * level:g}% bands, "
          f"{time.perf_counter() - t0:.0f} s")
    se = np.sqrt(level * (1 - level) / args.ladders)
    for i, (n, d) in enumerate(zip(POINTS["N"], POINTS["D"])):
        print(f"N={n:.3g} D={d:.3g}: true metric {metric_true[i]:.4f}, coverage of the metric "
              f"{np.mean([h[i] for h in hit_m]):.3f} (nominal {level:g} +- {se:.3f}), of the loss "
              f"{np.mean([h[i] for h in hit_l]):.3f}, mean metric band width {np.mean([w[i] for w in width]):.4f}")


if __name__ == "__main__":
    main()
