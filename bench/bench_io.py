"""Benchmark the log readers (issue: training-log readers).

    python bench/bench_io.py [--rows 1000000] [--repeat 5] [--keep DIR]

1. A 1,000,000-row CSV log (step, tokens, lr, loss; a tenth of the rows have an empty loss)
   read and canonicalized by ``scalelaw.read_log``, against a plain ``pandas.read_csv`` of
   the same file in the same run.  Target: ratio <= 2.
2. A 1,000,000-point TensorBoard event file (two tags, 500,000 steps, written by
   tensorboard's own EventFileWriter) read by ``scalelaw.read_log``, against
   ``pandas.read_csv`` of a CSV of the same points and against tensorboard's own
   protobuf-based record loader (``EventFileLoader``, iteration only).
3. A directory of 500 small CSV logs (100 rows each) read by ``scalelaw.read_log`` (format
   detection, one run per file), against ``pandas.concat`` of ``read_csv`` per file.
4. A sparse 2 GB file of zero bytes named ``.csv`` and ``events.out.tfevents.x``: the time
   until ``read_log`` refuses it (it reads the first 64 KiB only).

Timings are medians of ``--repeat`` interleaved runs; ratios are what to compare across
machines.  Writing the event file takes ~30 s (pure-Python CRCs in the writer); ``--keep``
reuses it.
"""
from __future__ import annotations

import argparse
import glob
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from scalelaw.io import read_log  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def make_csv(path, n):
    rng = np.random.default_rng(0)
    step = np.arange(n)
    loss = 2.0 + 3.0 / np.sqrt(1 + step) + rng.normal(0, 0.01, n)
    loss[rng.random(n) < 0.1] = np.nan
    pd.DataFrame({"step": step, "tokens": step * 524288, "lr": 3e-4 * np.cos(np.pi * step / (2 * n)),
                  "loss": loss}).to_csv(path, index=False)


def make_tb(logdir, n_points):
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    w = EventFileWriter(logdir, max_queue_size=10000)
    steps = n_points // 2
    Event, Summary, Value = event_pb2.Event, summary_pb2.Summary, summary_pb2.Summary.Value
    for s in range(steps):
        t = 1.7e9 + s
        w.add_event(Event(wall_time=t, step=s, summary=Summary(value=[Value(tag="train/loss", simple_value=2 + 3 / (1 + s) ** 0.5)])))
        w.add_event(Event(wall_time=t, step=s, summary=Summary(value=[Value(tag="train/learning_rate", simple_value=3e-4)])))
    w.close()
    return glob.glob(os.path.join(logdir, "events.out.tfevents.*"))[0]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", default=None, help="directory to keep/reuse the generated files")
    a = ap.parse_args(argv)
    d = a.keep or tempfile.mkdtemp(prefix="scalelaw-bench-io-")
    os.makedirs(d, exist_ok=True)
    csv = os.path.join(d, "log.csv")
    if not os.path.exists(csv):
        make_csv(csv, a.rows)
    tbdir = os.path.join(d, "tb")
    files = glob.glob(os.path.join(tbdir, "events.out.tfevents.*"))
    if not files:
        t, f = timed(lambda: make_tb(tbdir, a.rows))
        print(f"wrote {a.rows} TensorBoard points in {t:.1f} s")
    else:
        f = files[0]
    tbcsv = os.path.join(d, "tb_points.csv")
    df = read_log(f)
    if not os.path.exists(tbcsv):
        df[["step", "lr", "loss"]].to_csv(tbcsv, index=False)
    n_tb = int(df["loss"].notna().sum() + df["lr"].notna().sum())
    assert n_tb == a.rows, n_tb

    many = os.path.join(d, "many")
    if not os.path.isdir(many):
        os.makedirs(many)
        small = pd.DataFrame({"step": np.arange(0, 1000, 10), "lr": 1e-3,
                              "loss": np.linspace(5.0, 3.0, 100)})
        for i in range(500):
            small.to_csv(os.path.join(many, f"run{i:03d}.csv"), index=False)
    paths = sorted(glob.glob(os.path.join(many, "*.csv")))

    base, ours, tbbase, tbours, dirbase, dirours = [], [], [], [], [], []
    for _ in range(a.repeat):
        dirbase.append(timed(lambda: pd.concat([pd.read_csv(p) for p in paths]))[0])
        dirours.append(timed(lambda: read_log(many))[0])
        base.append(timed(lambda: pd.read_csv(csv))[0])
        t, out = timed(lambda: read_log(csv))
        ours.append(t)
        tbbase.append(timed(lambda: pd.read_csv(tbcsv))[0])
        tbours.append(timed(lambda: read_log(f))[0])
    assert len(out) == a.rows
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    t_tbl, _ = timed(lambda: sum(1 for _ in EventFileLoader(f).Load()))
    med = statistics.median
    r1 = med(ours) / med(base)
    r2 = med(tbours) / med(tbbase)
    r3 = med(tbours) / med(base)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}")
    print(f"CSV {a.rows} rows ({os.path.getsize(csv) / 1e6:.0f} MB): pandas.read_csv {med(base):.3f} s, "
          f"read_log {med(ours):.3f} s, ratio {r1:.2f} (target <= 2)")
    print(f"TensorBoard {n_tb} points ({os.path.getsize(f) / 1e6:.0f} MB): read_log {med(tbours):.3f} s; "
          f"pandas.read_csv of the same points as CSV ({os.path.getsize(tbcsv) / 1e6:.0f} MB) {med(tbbase):.3f} s, "
          f"ratio {r2:.2f}; vs read_csv of the 1M-row CSV log, ratio {r3:.2f}; "
          f"tensorboard EventFileLoader (protobuf, iterate only) {t_tbl:.2f} s, "
          f"read_log is {t_tbl / med(tbours):.0f}x faster")
    print(f"directory of {len(paths)} CSV logs: pandas concat of read_csv {med(dirbase):.3f} s, "
          f"read_log {med(dirours):.3f} s, ratio {med(dirours) / med(dirbase):.2f}")
    from scalelaw.errors import ScalelawError
    for name in ("zeros.csv", "events.out.tfevents.zeros"):
        z = os.path.join(d, name)
        with open(z, "wb") as fh:
            fh.truncate(2 * 1024 ** 3)      # sparse: no disk used
        t = time.perf_counter()
        try:
            read_log(z)
            why = "read (should have been refused)"
        except ScalelawError as e:
            why = str(e).split(": ", 1)[1]
        print(f"2 GB zero file {name}: refused in {1000 * (time.perf_counter() - t):.1f} ms ({why})")
        os.remove(z)
    return 0


if __name__ == "__main__":
    sys.exit(main())
