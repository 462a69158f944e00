"""Write the three example training logs of the README (constant, cosine and WSD schedules).

They are not measurements: each is the loss curve that the multi-power law (Luo et al.
2025) gives for its schedule with the parameters in TRUE, times 0.3% Gaussian noise
(seed 0), logged every 10 steps with the learning rate of that step (the warmup rows
carry the learning rate only, an empty loss).  The logs have a
known answer, so a fit can be checked against it:

    scalelaw fit data/examples/constant.csv data/examples/cosine.csv data/examples/wsd.csv \\
        --law multipower --warmup 100 --json mpl.json
    scalelaw predict mpl.json --schedule wsd:peak=1e-3,final=1e-4,steps=3000,warmup=100,cooldown=0.3,shape=sqrt

Rerun with ``python data/examples/make_examples.py`` (from the repository root); the files
are rewritten bit for bit.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from scalelaw.laws import get_law
from scalelaw.schedules import parse_schedule

W = 100          # warmup steps (linear from 0)
STEPS = 3000     # steps per run
EVERY = 10       # logging interval
NOISE = 0.003    # relative noise of a logged loss
SPECS = {
    "constant": f"constant:peak=1e-3,steps={STEPS},warmup={W}",
    "cosine": f"cosine:peak=1e-3,final=1e-4,steps={STEPS},warmup={W}",
    "wsd": f"wsd:peak=1e-3,final=1e-4,steps={STEPS},warmup={W},cooldown=0.2",
}
#: multi-power law parameters (L0, A, alpha, B, C, beta, gamma); loss in nats per token
TRUE = {"L0": 2.0, "A": 0.8, "alpha": 0.5, "B": 300.0, "C": 2.0, "beta": 0.5, "gamma": 0.6}


def example_logs(seed: int = 0) -> dict[str, pd.DataFrame]:
    """``{name: frame of step, lr, loss}`` for the three schedules."""
    rng = np.random.default_rng(seed)
    law = get_law("multipower", amplitude="free", warmup=W)
    p = np.array([TRUE[k] for k in law.param_names])
    out = {}
    for name, spec in SPECS.items():
        s = parse_schedule(spec)
        steps = np.arange(s.total + 1)
        frame = pd.DataFrame({"run": name, "step": steps, "lr": s(steps), "loss": np.nan})
        logged = steps % EVERY == 0
        scored = logged & (steps >= W)      # the law describes the loss after the warmup
        design = law.prepare(frame.assign(y=np.where(scored, 1.0, np.nan)), target="y")
        loss = law.evaluate(design.x, p) * (1 + NOISE * rng.standard_normal(design.n))
        frame.loc[scored, "loss"] = loss
        out[name] = frame.loc[logged, ["step", "lr", "loss"]].reset_index(drop=True)
    return out


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    for name, frame in example_logs().items():
        frame.to_csv(os.path.join(here, f"{name}.csv"), index=False, float_format="%.6g")
        print(f"wrote {name}.csv ({len(frame)} rows)")


if __name__ == "__main__":
    main()
