"""Bootstrap timings: scalelaw against simple-scaling-laws 0.2.0, side by side.

Default: scalelaw's 1,000-resample bootstrap of the Chinchilla fit (the 240 points of
``chinchilla_epoch.csv`` with the 5 highest-loss points dropped, as in bench_fit.py; Huber
δ = 1e-3 on log loss; points resampled; serial) and the peer's 1,000-draw bootstrap of its
fit to the same 240 points (simple-scaling-laws' default: a wild cluster bootstrap, Webb
weights per configuration, least squares on the loss), timed ALTERNATELY, each in a fresh
subprocess (``--repeats`` of each; the peer through ``--peer-python``, a separate
virtual environment).  Each subprocess fits once and warms up (10 draws) untimed, then
times the 1,000-draw bootstrap alone (the peer's ``uncertainty.bootstrap`` call inside its
``fit``).  Reported: every run's wall and CPU time and the load average before it, the
medians and their ratio.

    python -m venv /work/peervenv
    /work/peervenv/bin/pip install --ignore-requires-python simple-scaling-laws==0.2.0
    python bench/bench_bootstrap.py                       # 5 alternating repeats
    python bench/bench_bootstrap.py --check               # + batched vs per-resample draws

``--check``: the batched draws against the per-resample polish (``batched=False``) for the
same resamples: largest per-draw difference relative to the bootstrap SD, the 95%
percentile intervals, and the objective of each draw on its resample.
``--processes``: the older comparison, serial against ``--jobs`` worker processes (same
draws), for the Chinchilla case and the multi-power law on mpl_25m (40 block resamples).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("SCALELAW_BENCHDATA", HERE.parent.parent / "shared" / "benchdata"))
PEER_PYTHON = "/work/peervenv/bin/python"


def chinchilla_points():
    """N (parameters), D (tokens = FLOP / 6N), loss of the 235 points used (numpy only)."""
    import csv
    with open(DATA / "chinchilla_epoch.csv") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["loss"]))[:-5]
    N = np.array([float(r["Model Size"]) for r in rows])
    D = np.array([float(r["Training FLOP"]) for r in rows]) / (6 * N)
    return N, D, np.array([float(r["loss"]) for r in rows])


def worker_scalelaw(n):
    sys.path.insert(0, str(HERE.parent))
    import scalelaw as sl
    N, D, L = chinchilla_points()
    res = sl.fit({"N": N, "D": D, "loss": L}, "chinchilla")
    res.bootstrap(10, seed=1)                    # warm-up, untimed
    t, c = time.perf_counter(), time.process_time()
    draws = res.bootstrap(n, seed=0)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"wall": wall, "cpu": cpu, "sd": {k: float(v) for k, v in draws.std().items()}}


def worker_peer(n):
    import polars as pl
    import simple_scaling_laws as ssl
    from simple_scaling_laws import api
    N, D, L = chinchilla_points()
    frame = pl.DataFrame({"training_run_id": [f"r{i}" for i in range(len(N))], "model_size__n_params": N,
                          "dataset_size__n_tokens": D, "test_loss__cross_entropy": L})
    times, orig = [], api.bootstrap

    def timed(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        out = orig(*a, **k)
        times.append((time.perf_counter() - t, time.process_time() - c, out))
        return out

    api.bootstrap = timed
    ssl.fit(frame, n_draws=10, seed=1)           # warm-up, untimed
    ssl.fit(frame, n_draws=n, seed=0)
    wall, cpu, unc = times[-1]
    return {"wall": wall, "cpu": cpu, "method": unc.method, "n_draws": int(unc.n_draws),
            "sd": dict(zip(("E", "A", "alpha", "B", "beta"), map(float, unc.params.std(axis=0, ddof=1))))}


def run_worker(python, which, n):
    out = subprocess.run([python, __file__, "--worker", which, "--n", str(n)], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{which} worker failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def side_by_side(a):
    print(f"machine: {os.cpu_count()} cores (shared); {a.n} draws each; {a.repeats} alternating repeats; "
          f"peer: {a.peer_python}", flush=True)
    ours, peer, last = [], [], {}
    for i in range(a.repeats):
        for which, python, acc in (("scalelaw", sys.executable, ours), ("peer", a.peer_python, peer)):
            load = os.getloadavg()[0]
            r = last[which] = run_worker(python, which, a.n)
            acc.append(r["wall"])
            extra = f"; {r['method']}" if "method" in r else ""
            print(f"  {i + 1} {which:<8} wall {r['wall']:.3f} s, CPU {r['cpu']:.3f} s (load {load:.2f}{extra})",
                  flush=True)
    mo, mp = statistics.median(ours), statistics.median(peer)
    print(f"median wall: scalelaw {mo:.3f} s, simple-scaling-laws {mp:.3f} s; "
          f"ratio scalelaw/peer {mo / mp:.2f} (load now {os.getloadavg()[0]:.2f})", flush=True)
    for which in ("scalelaw", "peer"):   # the peer's E, A, B are on its own normalized scale
        print(f"{which} bootstrap SD: " + ", ".join(f"{k}={v:.3g}" for k, v in last[which]["sd"].items()))


def check(n):
    """Batched draws against the per-resample path for the same resamples."""
    sys.path.insert(0, str(HERE.parent))
    import scalelaw as sl
    from scalelaw.fitting.engine import Problem
    from scalelaw.fitting.uncertainty import bootstrap, resample_weights
    N, D, L = chinchilla_points()
    res = sl.fit({"N": N, "D": D, "loss": L}, "chinchilla")
    pr, p = res._problem, res.params.to_numpy()
    t = time.perf_counter()
    new = bootstrap(pr, p, n, seed=0)
    t_new = time.perf_counter() - t
    t = time.perf_counter()
    old = bootstrap(pr, p, n, seed=0, batched=False)
    t_old = time.perf_counter() - t
    sd = old.std(axis=0, ddof=1)
    d = np.abs(new - old) / sd
    names = list(res.params.index)
    print(f"check: {n} resamples, batched {t_new:.2f} s, per-resample {t_old:.2f} s (load "
          f"{os.getloadavg()[0]:.2f})")
    print("  largest |batched - per-resample| / SD: " + ", ".join(f"{k}={v:.1e}" for k, v in zip(names, d.max(0))))
    lo_o, hi_o = np.percentile(old, [2.5, 97.5], axis=0)
    lo_n, hi_n = np.percentile(new, [2.5, 97.5], axis=0)
    for k, a, b, c, e in zip(names, lo_o, hi_o, lo_n, hi_n):
        print(f"  95% interval {k}: per-resample [{a:.6g}, {b:.6g}], batched [{c:.6g}, {e:.6g}] "
              f"(ends differ by {max(abs(c - a), abs(e - b)) / (b - a):.1e} of the width)")
    counts = resample_weights(n, pr.n, None, 0)
    f_old = np.array([Problem(pr.law, pr.design, pr.obj, weights=pr.w * c).value(q) for c, q in zip(counts, old)])
    f_new = np.array([Problem(pr.law, pr.design, pr.obj, weights=pr.w * c).value(q) for c, q in zip(counts, new)])
    rel = (f_new - f_old) / f_old
    print(f"  objective batched vs per-resample: lower on {int((rel < 0).sum())}, higher on "
          f"{int((rel > 0).sum())} (largest higher {max(rel.max(), 0):.1e}, largest lower {-rel.min():.1e} relative)")


def processes(a):
    """The older comparison: serial against worker processes, same draws."""
    import pandas as pd
    sys.path.insert(0, str(HERE.parent))
    import scalelaw as sl

    def report(name, n, res, groups=None):
        kw = {} if groups is None else {"groups": groups}
        out = {}
        for jobs in (1, a.jobs):
            t = time.perf_counter()
            out[jobs] = res.bootstrap(n, seed=0, n_jobs=jobs, **kw).to_numpy().copy()
            print(f"{name}: {n} resamples n_jobs={jobs}: {time.perf_counter() - t:.2f} s (load "
                  f"{os.getloadavg()[0]:.1f})", flush=True)
        same = np.array_equal(out[1], out[a.jobs], equal_nan=True)
        print(f"{name}: draws {'identical' if same else 'DIFFER'}", flush=True)

    N, D, L = chinchilla_points()
    report("chinchilla", a.n, sl.fit({"N": N, "D": D, "loss": L}, "chinchilla"))
    sys.path.insert(0, str(HERE))
    from bench_lr import TRAIN, W, dense_frame

    from scalelaw.fitting import fit_lr
    train = pd.concat([dense_frame(DATA / "mpl_25m", n) for n in TRAIN], ignore_index=True)
    report("multipower", 40, fit_lr(train, "multipower", warmup=W), groups="block")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="draws per bootstrap")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--peer-python", default=PEER_PYTHON)
    ap.add_argument("--check", action="store_true", help="also compare batched and per-resample draws")
    ap.add_argument("--processes", action="store_true", help="serial against worker processes instead")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--worker", choices=["scalelaw", "peer"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps((worker_scalelaw if a.worker == "scalelaw" else worker_peer)(a.n)))
        return
    if a.processes:
        processes(a)
        return
    if not Path(a.peer_python).exists():
        sys.exit(f"peer interpreter not found: {a.peer_python} (see the module docstring to install it)")
    side_by_side(a)
    if a.check:
        check(a.n)


if __name__ == "__main__":
    main()
