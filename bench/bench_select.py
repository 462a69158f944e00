"""Law selection timing: cross-validation of two LR-schedule laws (momentum, multi-power)
on three runs (leave one run out: 6 refits, plus the 2 fits to all data), on the trainer's
own schedule logs in data/schedules/logs (2,001 steps per run).

    python bench/bench_select.py            # serial and 2 processes, val and train loss

Target (issue 14): under 20 s on 2 cores.  Reports wall time, the chosen law and the CV
table, and the load average while it ran (the machine's two cores are shared).
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scalelaw as sl  # noqa: E402
from scalelaw.io import read_curves  # noqa: E402

LOGS = ROOT / "data" / "schedules" / "logs"
RUNS = ("constant", "cosine", "wsdlinear")


def main() -> None:
    files = [next(LOGS.glob(f"*_{r}_*.csv")) for r in RUNS]
    warnings.simplefilter("ignore")
    for split in ("val", "train"):
        df = read_curves(files, split=split)
        n = int(df["loss"].notna().sum())
        for jobs in (None, 2):
            load0 = os.getloadavg()[0]
            t = time.perf_counter()
            res = sl.fit_lr(df, ["momentum", "multipower"], warmup=50, n_jobs=jobs)
            wall = time.perf_counter() - t
            tab = res.selection.table
            print(f"{split:5s} loss ({n} points), n_jobs={jobs}: {wall:5.1f} s wall, chose {res.law.name}; "
                  f"load {load0:.1f} -> {os.getloadavg()[0]:.1f}")
            for _, r in tab.iterrows():
                print(f"    {r['law']:<11} CV score {r['cv_score']:.4g}  RMSE {r['cv_rmse']:.4g}  "
                      f"MAPE {100 * r['cv_mape']:.2f}%  final {100 * r['cv_final_err']:.2f}%")


if __name__ == "__main__":
    main()
