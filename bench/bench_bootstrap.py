"""Bootstrap timings: serial against processes, same draws.

Two cases, each timed serially (``n_jobs=1``) and with ``--jobs`` processes:

* Chinchilla law on the 240 Chinchilla points (``chinchilla_epoch.csv``, 5 highest-loss
  points dropped; Huber δ = 1e-3 on log loss), ``--chinchilla`` resamples (default 1,000);
* the multi-power law (B anchored, the default) fitted to mpl_25m's three training curves
  (constant_24000, cosine_24000, wsdcon_9; W = 2160), ``--multipower`` resamples (default
  40) of blocks of consecutive points (the LR fit's default unit).

Each line gives the wall-clock time of ``FitResult.bootstrap`` alone (the fit is done once
before) and whether the parallel draws equal the serial ones.  First, a check of what the
machine gives two processes: two CPU-bound Python processes at once, against one alone (on a
shared virtual machine two "cores" can deliver much less than twice one).

    python bench/bench_bootstrap.py                 # both cases, serial and 2 processes
    python bench/bench_bootstrap.py --jobs 2 --only chinchilla
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("SCALELAW_BENCHDATA", HERE.parent.parent / "shared" / "benchdata"))


def timed(res, n, **kw):
    t, c = time.perf_counter(), time.process_time()
    draws = res.bootstrap(n, seed=0, **kw).to_numpy().copy()
    timed.cpu = time.process_time() - c     # this process only (not the workers)
    return time.perf_counter() - t, draws


def report(name, n, res, jobs, groups=None):
    kw = {} if groups is None else {"groups": groups}
    t1, d1 = timed(res, n, n_jobs=1, **kw)
    print(f"{name}: {n} resamples serial (n_jobs=1): {t1:.2f} s (CPU {timed.cpu:.2f} s; load "
          f"{os.getloadavg()[0]:.1f})", flush=True)
    tj, dj = timed(res, n, n_jobs=jobs, **kw)
    same = np.array_equal(d1, dj, equal_nan=True)
    print(f"{name}: {n} resamples n_jobs={jobs}: {tj:.2f} s (x{t1 / tj:.2f}; load "
          f"{os.getloadavg()[0]:.1f}; draws "
          f"{'identical' if same else 'DIFFER, max abs diff %.3g' % np.nanmax(np.abs(d1 - dj))})",
          flush=True)
    print(f"{name}: SE " + ", ".join(f"{k}={v:.3g}" for k, v in res.stderr.items()), flush=True)


_SPIN = "import time\nt = time.process_time()\nx = 0\nfor i in range(20_000_000): x += i\n"


def core_check(jobs: int) -> float:
    """Speed of ``jobs`` simultaneous CPU-bound processes relative to one alone (1.0: each
    runs as fast as a lone one; 1/jobs: they share one core)."""
    import subprocess

    def run(k):
        t = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(k)]
        for p in procs:
            p.wait()
        return time.perf_counter() - t

    solo = run(1)
    return solo / run(jobs)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--chinchilla", type=int, default=1000)
    ap.add_argument("--multipower", type=int, default=40)
    ap.add_argument("--only", choices=["chinchilla", "multipower"])
    a = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    import scalelaw as sl
    print(f"machine: {os.cpu_count()} cores; {a.jobs} simultaneous CPU-bound processes each ran at "
          f"{core_check(a.jobs):.2f} of a lone one's speed (load {os.getloadavg()[0]:.1f})", flush=True)
    if a.only != "multipower":
        df = pd.read_csv(DATA / "chinchilla_epoch.csv").sort_values("loss").iloc[:-5]
        res = sl.fit(df, "chinchilla")
        report("chinchilla", a.chinchilla, res, a.jobs)
    if a.only != "chinchilla":
        sys.path.insert(0, str(HERE))
        from bench_lr import TRAIN, W, dense_frame

        from scalelaw.fitting import fit_lr
        train = pd.concat([dense_frame(DATA / "mpl_25m", n) for n in TRAIN], ignore_index=True)
        res = fit_lr(train, "multipower", warmup=W)
        report("multipower", a.multipower, res, a.jobs, groups="block")


if __name__ == "__main__":
    main()
