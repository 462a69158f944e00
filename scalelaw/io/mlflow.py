"""MLflow tracking stores, read without depending on mlflow.

* **File store** (``mlruns/``): ``mlruns/<experiment_id>/<run_id>/metrics/<key>``, one
  point per line ``timestamp value step`` (very old files lack the step: it is then the line
  number).  Keys with ``/`` are nested directories (``metrics/train/loss``).  The run name is
  ``tags/mlflow.runName`` when present, else the run id.  Points of a key are taken in
  file order, so a run that was resumed from an earlier step keeps the later segment.
* **SQLite store** (``mlflow.db``): table ``metrics(key, value, timestamp, run_uuid, step,
  is_nan)``, run names from ``runs.name``.  Points are ordered by timestamp (then step)
  before resume/duplicate handling.
"""
from __future__ import annotations

import os

from ..errors import ScalelawError
from ._frame import Source, join_series


def is_run_dir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "metrics")) and (
        os.path.exists(os.path.join(path, "meta.yaml")) or os.path.isdir(os.path.join(path, "tags"))
        or os.path.isdir(os.path.join(path, "params")))


def find_runs(path: str) -> list[str]:
    """Run directories at ``path`` (a run, an experiment, or the ``mlruns`` root)."""
    if os.path.basename(os.path.normpath(path)) == "metrics" and is_run_dir(os.path.dirname(os.path.normpath(path))):
        return [os.path.dirname(os.path.normpath(path))]
    if is_run_dir(path):
        return [path]
    runs = []
    for depth in (1, 2):
        for root, dirs, _files in os.walk(path):
            rel = os.path.relpath(root, path)
            level = 0 if rel == "." else rel.count(os.sep) + 1
            if level > depth:
                dirs[:] = []
                continue
            dirs.sort()
            if level == depth and is_run_dir(root):
                runs.append(root)
        if runs:
            break
    return runs


def looks_like(path: str) -> bool:
    return os.path.isdir(path) and bool(find_runs(path))


def _run_name(run_dir: str) -> str:
    p = os.path.join(run_dir, "tags", "mlflow.runName")
    try:
        with open(p, "r", encoding="utf-8", errors="replace") as f:
            name = f.read().strip()
        if name:
            return name
    except OSError:
        pass
    return os.path.basename(os.path.normpath(run_dir))


def _read_metric(path: str):
    """``(steps, values)`` of one metric file: pandas' C parser; on anything odd, the
    line-by-line reader below names the offending line."""
    import numpy as np
    import pandas as pd

    try:
        df = pd.read_csv(path, sep=" ", header=None, engine="c", dtype=np.float64,
                         skip_blank_lines=True)
    except Exception:
        return _read_metric_lines(path)
    if df.shape[1] not in (2, 3) or df.isna().to_numpy().any():
        return _read_metric_lines(path)
    v = df[1].to_numpy()
    s = df[2].to_numpy() if df.shape[1] == 3 else np.arange(len(df), dtype=np.float64)
    if np.any(s != np.round(s)):
        return _read_metric_lines(path)
    return s.astype(np.int64), v


def _read_metric_lines(path: str):
    import numpy as np

    steps, values = [], []
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in (2, 3):
                raise ScalelawError(f"{path}:{i + 1}: expected 'timestamp value step', got "
                                    f"{line.strip()[:60]!r}; is this an MLflow metrics file?")
            try:
                v = float(parts[1])
                s = int(parts[2]) if len(parts) == 3 else len(steps)
            except ValueError as e:
                raise ScalelawError(f"{path}:{i + 1}: not a number in {line.strip()[:60]!r}") from e
            steps.append(s)
            values.append(v)
    return np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)


def file_sources(path: str) -> list[Source]:
    runs = find_runs(path)
    if not runs:
        raise ScalelawError(f"{path}: no MLflow runs found (expected <experiment>/<run>/metrics/<key>)")
    out = []
    for rd in runs:
        mdir = os.path.join(rd, "metrics")
        series = {}
        for root, dirs, files in os.walk(mdir):
            dirs.sort()
            for fn in sorted(files):
                fp = os.path.join(root, fn)
                key = os.path.relpath(fp, mdir).replace(os.sep, "/")
                series[key] = _read_metric(fp)
        wide, dropped = join_series(series)
        out.append(Source(wide, rd, run=_run_name(rd), fixed={"step": "step"},
                          labels={"step": "metric step"}, dropped=dropped))
    return out


def is_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def sqlite_sources(path: str) -> list[Source]:
    import sqlite3

    import numpy as np

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise ScalelawError(f"cannot open {path} as SQLite: {e}") from e
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "metrics" not in tables:
            raise ScalelawError(f"{path} has no 'metrics' table; is it an MLflow SQLite store?")
        names = {}
        if "runs" in tables:
            cols = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
            if {"run_uuid", "name"} <= cols:
                names = {u: n for u, n in con.execute("SELECT run_uuid, name FROM runs")}
        rows = con.execute("SELECT run_uuid, key, step, value, is_nan FROM metrics "
                           "ORDER BY run_uuid, key, timestamp, rowid").fetchall()
    except sqlite3.Error as e:
        raise ScalelawError(f"cannot read MLflow metrics from {path}: {e}") from e
    finally:
        con.close()
    by_run: dict[str, dict[str, tuple[list, list]]] = {}
    for run, key, step, value, is_nan in rows:
        s, v = by_run.setdefault(str(run), {}).setdefault(str(key), ([], []))
        try:
            s.append(int(step))
            v.append(float("nan") if is_nan else float(value))
        except (TypeError, ValueError) as e:
            raise ScalelawError(f"{path}: bad metric row ({run}, {key}, {step}, {value})") from e
    out = []
    for run, series in by_run.items():
        wide, dropped = join_series({k: (np.asarray(s), np.asarray(v)) for k, (s, v) in series.items()})
        out.append(Source(wide, path, run=names.get(run) or run, fixed={"step": "step"},
                          labels={"step": "metrics.step"}, dropped=dropped))
    return out
