"""``read_log``: any training log -> one tidy frame, plus a report of what was understood.

See ``docs/io.md`` for the formats, the frame's columns and units, and the cleaning rules.
"""
from __future__ import annotations

import os
import re
from typing import Mapping

import numpy as np

from ..errors import ScalelawError, ScalelawWarning
from . import _frame as F

#: formats read_log understands (``format=`` values); aliases are listed in ``ALIASES``
FORMATS = ("table", "wandb-csv", "wandb-history", "hf", "tensorboard", "mlflow",
           "mlflow-sqlite", "lightning", "text")
ALIASES = {"csv": "table", "tsv": "table", "parquet": "table", "jsonl": "table", "json": "table",
           "wandb": "wandb-csv", "wandb-panel": "wandb-csv", "tb": "tensorboard",
           "tfevents": "tensorboard", "trainer_state": "hf", "huggingface": "hf",
           "mlflow-file": "mlflow", "sqlite": "mlflow-sqlite", "log": "text", "nanogpt": "text",
           "megatron": "text", "litgpt": "text", "csvlogger": "lightning"}

#: units and conventions of the tidy frame (also stored in the report)
UNITS = {
    "run": "run label (file stem, directory or the source's own run name)",
    "step": "optimizer step as logged (int64)",
    "tokens": "tokens seen so far, a count (float64, NaN where not logged)",
    "lr": "learning rate in effect at that step (float64, NaN where not logged)",
    "loss": "loss as logged; for LM cross-entropy nats per token (float64, NaN where not logged)",
    "split": "'train' or 'val'",
    "N": "parameters (run-level, as the source states it)",
    "D": "training tokens (run-level)",
    "C": "training compute in FLOPs (run-level; Hugging Face total_flos)",
}

_TABLE_EXTS = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson")
_TEXT_EXTS = (".log", ".txt", ".out", ".err")
_GENERIC_NAMES = ("trainer_state.json", "metrics.csv", "history.csv", "history.jsonl")


def canonical_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    f = str(fmt).strip().lower()
    f = ALIASES.get(f, f)
    if f not in FORMATS:
        raise ScalelawError(f"unknown log format {fmt!r}; use one of {', '.join(FORMATS)}")
    return f


def _head(path: str, n: int = 65536) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as e:
        raise ScalelawError(f"cannot read {path}: {e.strerror}") from e


def detect_format(path: str | os.PathLike) -> str:
    """The format of a log file or directory (see :data:`FORMATS`; ``'dir'`` for a
    directory of runs in mixed formats)."""
    from . import lightning, mlflow, tensorboard, text, wandb

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ScalelawError(f"file not found: {path}")
    if os.path.isdir(path):
        if mlflow.looks_like(path):
            return "mlflow"
        return "dir"
    name = os.path.basename(path).lower()
    ext = os.path.splitext(name)[1]
    if tensorboard.looks_like(path):
        return "tensorboard"
    if mlflow.is_sqlite(path):
        return "mlflow-sqlite"
    head = _head(path)
    if ext == ".json" or head.lstrip()[:1] == b"{" and b"log_history" in head:
        if b"log_history" in head or name == "trainer_state.json":
            return "hf"
        return "table"
    if ext in (".parquet", ".pq", ".jsonl", ".ndjson"):
        cols = _columns(path, ext)
        return "wandb-history" if wandb.is_history(cols) else "table"
    if ext in (".csv", ".tsv") or (ext not in _TEXT_EXTS and _looks_delimited(head)):
        cols = _columns(path, ext, head)
        if wandb.is_panel_csv(cols):
            return "wandb-csv"
        if wandb.is_history(cols):
            return "wandb-history"
        if lightning.looks_like(cols, path):
            return "lightning"
        return "table"
    txt = head.decode("utf-8", errors="replace")
    if text.sniff(txt):
        return "text"
    if b"\x00" in head:
        raise ScalelawError(f"{path}: unrecognized binary file; give format= (one of "
                            f"{', '.join(FORMATS)})")
    if ext in _TEXT_EXTS:
        return "text"
    raise ScalelawError(f"{path}: cannot tell the log format; give format= / --format "
                        f"(one of {', '.join(FORMATS)})")
    del hf  # pragma: no cover


def _looks_delimited(head: bytes) -> bool:
    line = head.split(b"\n", 1)[0]
    return b"," in line or b"\t" in line


def _columns(path: str, ext: str, head: bytes | None = None):
    """Column names of a table file (delimited text: from its header line in ``head`` when
    that holds the whole line; a pandas call per file was half the time of reading a
    directory of small logs)."""
    import pandas as pd

    if head is not None and ext not in (".parquet", ".pq", ".jsonl", ".ndjson"):
        first, nl, _ = head.partition(b"\n")
        first = first.rstrip(b"\r")
        # a plain header line only: blank lines, stray CRs and quoted newlines go to pandas
        if nl and first.strip() and b"\r" not in first and first.count(b'"') % 2 == 0:
            import csv

            from .table import sniff_sep
            line = first.decode("utf-8-sig", errors="replace")
            try:
                return next(csv.reader([line], delimiter=sniff_sep(path, head)), [])
            except csv.Error:
                pass
    try:
        if ext in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_schema(path).names
        if ext in (".jsonl", ".ndjson"):
            import json

            with open(path, "r", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.strip():
                        obj = json.loads(line)
                        return list(obj) if isinstance(obj, dict) else []
            return []
        from .table import sniff_sep

        return list(pd.read_csv(path, sep=sniff_sep(path), nrows=0, engine="c",
                                encoding_errors="replace").columns)
    except ImportError as e:
        raise ScalelawError("reading Parquet needs pyarrow: pip install 'scalelaw[parquet]'") from e
    except Exception:  # the full read will give the precise error
        return []


def _default_run(path: str) -> str:
    """Run name for a single file: its stem, or the directory name for generic file names
    (trainer_state.json, metrics.csv, events.out.tfevents.*)."""
    p = os.path.abspath(path)
    base = os.path.basename(p)
    if base.lower() in _GENERIC_NAMES or base.startswith("events.out.tfevents") or os.path.isdir(p):
        d = p if os.path.isdir(p) else os.path.dirname(p)
        if re.match(r"checkpoint-\d+$", os.path.basename(d)):
            d = os.path.dirname(d)
        return os.path.basename(d) or base
    stem = os.path.splitext(base)[0]
    return stem or base


# ---------------------------------------------------------------------------------------
# per-format sources


def _sources(path: str, fmt: str, run: str | None) -> list:
    from . import hf, lightning, mlflow, text, wandb

    default = run or _default_run(path)
    if fmt == "hf":
        return [hf.source(path, default)]
    if fmt == "tensorboard":
        return _tb_sources(path, run)
    if fmt == "mlflow":
        if os.path.isfile(path):
            if mlflow.is_sqlite(path):
                return mlflow.sqlite_sources(path)
            raise ScalelawError(f"{path}: an MLflow file store is a directory (mlruns/)")
        return mlflow.file_sources(path)
    if fmt == "mlflow-sqlite":
        return mlflow.sqlite_sources(path)
    if fmt == "text":
        return [text.source(path, default)]
    if os.path.isdir(path):
        raise ScalelawError(f"{path} is a directory; format {fmt} reads a file")
    from .table import read_table

    df = read_table(path)
    if fmt == "wandb-csv":
        if not wandb.is_panel_csv(df.columns):
            raise ScalelawError(f"{path}: not a W&B panel export (needs a Step column and "
                                f"'<run> - <metric>' columns)")
        return wandb.panel_sources(df, path)
    if fmt == "wandb-history":
        if "_step" not in df.columns:
            raise ScalelawError(f"{path}: not a W&B history export (no _step column)")
        return [wandb.history_source(df, path, run or default)]
    if fmt == "lightning":
        return [F.Source(df, path, run=run or lightning.run_name(path))]
    return [F.Source(df, path, run=run)]


def _tb_sources(path: str, run: str | None) -> list:
    """Event files: one file, a run directory, or a log directory of runs.  Files in one
    directory are one run, concatenated in name (= creation time) order; a directory
    named train/validation (Keras) is that split of its parent run."""
    from . import tensorboard

    if os.path.isfile(path):
        files = {os.path.dirname(os.path.abspath(path)): [path]}
        root = os.path.dirname(os.path.abspath(path))
    else:
        root = os.path.abspath(path)
        files = {}
        for d, dirs, fs in os.walk(root):
            dirs.sort()
            # natural order: events.out.tfevents.<time>.<host>.<pid>.<counter>[suffix]
            ev = sorted((f for f in fs if f.startswith("events.out.tfevents")), key=_natural_key)
            if ev:
                files[d] = [os.path.join(d, f) for f in ev]
        if not files:
            raise ScalelawError(f"{path}: no events.out.tfevents.* files")
    out = []
    for d, fs in files.items():
        split = None
        rel = os.path.relpath(d, root)
        leaf = os.path.basename(d).lower()
        if leaf in ("train", "training", "validation", "val", "eval", "valid"):
            split = "train" if leaf.startswith("train") else "val"
            rel = os.path.dirname(rel) or "."
        if run is not None and len(files) == 1:
            name = run
        elif rel == ".":
            name = os.path.basename(root) or root
        else:
            name = rel.replace(os.sep, "/")
        warnings: list = []
        series: dict = {}
        for fp in fs:
            for tag, (s, v) in tensorboard.read_scalars(fp, warnings).items():
                if tag in series:
                    s0, v0 = series[tag]
                    series[tag] = (np.concatenate([s0, s]), np.concatenate([v0, v]))
                else:
                    series[tag] = (s, v)
        wide, dropped = F.join_series(series)
        out.append(F.Source(wide, d, run=name, split=split, fixed={"step": "step"},
                            labels={"step": "event step"}, dropped=dropped, warnings=warnings))
    return out


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _dir_sources(path: str, run: str | None) -> tuple[list, list]:
    """A directory of runs in any formats: every log file below it is one or more runs."""
    from . import tensorboard

    root = os.path.abspath(path)
    sources, fmts = [], []
    tb_dirs = set()
    for d, dirs, fs in os.walk(root):
        dirs.sort()
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        if any(f.startswith("events.out.tfevents") for f in fs):
            tb_dirs.add(d)
    if tb_dirs:
        sources += _tb_sources(root, run)
        fmts.append("tensorboard")
    for d, dirs, fs in os.walk(root):
        dirs.sort()
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        if "trainer_state.json" in fs:
            # a Trainer output dir: the top-level state covers its checkpoint-* copies
            dirs[:] = [x for x in dirs if not re.match(r"checkpoint-\d+$", x)]
        for f in sorted(fs):
            fp = os.path.join(d, f)
            if f.startswith(".") or f.startswith("events.out.tfevents") or tensorboard.looks_like(fp):
                continue
            ext = os.path.splitext(f)[1].lower()
            if ext not in _TABLE_EXTS + _TEXT_EXTS + (".json", ".db", ".sqlite"):
                continue
            try:
                fmt = detect_format(fp)
            except ScalelawError:
                continue
            rel = os.path.relpath(fp, root)
            name = _default_run(fp) if f.lower() in _GENERIC_NAMES else os.path.splitext(rel)[0]
            if fmt == "lightning":
                name = os.path.relpath(os.path.dirname(fp), root)
            name = name.replace(os.sep, "/")
            # single-run formats are named by their path below the directory (so runs/a/x.log
            # and runs/b/x.log stay two runs); a table keeps its own run column if it has one
            single = fmt in ("wandb-history", "hf", "text", "lightning")
            srcs = _sources(fp, fmt, name if single else None)
            for s in srcs:
                if s.run is None and fmt == "table":
                    s.run = name
            sources += srcs
            if fmt not in fmts:
                fmts.append(fmt)
    if not sources:
        raise ScalelawError(f"{path}: no training logs found in this directory")
    return sources, fmts


# ---------------------------------------------------------------------------------------
# options


def _parse_smooth(smooth):
    """``'ema[:alpha]'``, ``'median[:window]'``, ``'lowess[:frac]'`` (or ``(kind, value)``) ->
    ``(kind, value)``; ``None``/``False`` -> ``None``.  Grammar: :mod:`scalelaw.spec`, the
    defaults are the builders' (alpha 0.9, window 11, frac 0.05)."""
    from ..spec import Grammar, Kind, Range

    def ema(alpha: float = 0.9):      # debiased EMA weight of the past
        return ("ema", alpha)

    def median(window: int = 11):     # centered rolling median over `window` points
        return ("median", window)

    def lowess(frac: float = 0.05):   # fraction of the points in each local fit
        return ("lowess", frac)

    if smooth is None or smooth is False:
        return None
    g = Grammar("smoothing", [Kind("ema", ema, ranges={"alpha": Range(0, 1, "[)")}, positional="alpha"),
                              Kind("median", median, ranges={"window": Range(1)}, positional="window"),
                              Kind("lowess", lowess, ranges={"frac": Range(0, 1, "(]")}, positional="frac")],
                kind_aliases={"rolling-median": "median", "rolling_median": "median"})
    if isinstance(smooth, (tuple, list)) and len(smooth) == 2:
        return g.build(str(smooth[0]), [] if smooth[1] is None else [smooth[1]])
    return g.parse(str(smooth))


def smooth_loss(loss, spec) -> np.ndarray:
    """Smooth one curve: ``spec`` is ``'ema[:alpha]'`` or ``'median[:window]'`` (NaNs kept)."""
    parsed = _parse_smooth(spec)
    loss = np.asarray(loss, dtype=float)
    return loss.copy() if parsed is None else _smooth(loss, parsed)


def _smooth(loss: np.ndarray, spec) -> np.ndarray:
    import pandas as pd

    out = loss.copy()
    m = np.isfinite(loss)
    if not m.any():
        return out
    y = loss[m]
    kind, p = spec
    if kind == "ema":
        # debiased EMA, as TensorBoard's smoothing slider: s_t = a s_{t-1} + (1-a) y_t, / (1-a^t)
        z = pd.Series(y).ewm(alpha=1 - p, adjust=True).mean().to_numpy()
    elif kind == "lowess":
        # statsmodels' LOWESS (robust local linear fits over a fraction of the points),
        # in the order of the points (steps are sorted before smoothing)
        from statsmodels.nonparametric.smoothers_lowess import lowess
        z = lowess(y, np.arange(len(y), dtype=float), frac=p, it=2, return_sorted=False)
    else:
        z = pd.Series(y).rolling(p, center=True, min_periods=1).median().to_numpy()
    out[m] = z
    return out


def _downsample_idx(n: int, k: int) -> np.ndarray:
    """At most k indices of 0..n-1, evenly spaced, always keeping the first and last."""
    if n <= k:
        return np.arange(n)
    if k == 1:
        return np.array([n - 1])
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(np.int64))


# ---------------------------------------------------------------------------------------
# entry point


def read_log(path, format: str | None = None, columns: Mapping[str, str] | None = None, *,
             run: str | None = None, warmup: int | None = None, max_points: int | None = None,
             smooth=None, warn: bool = False):
    """Read a training log (any supported format) into one tidy frame.

    Parameters
    ----------
    path : file or directory (or an in-memory :class:`pandas.DataFrame` with log columns).
    format : one of :data:`FORMATS` (or an alias); detected from the file when ``None``.
    columns : explicit mapping canonical name -> source column, which always wins over the
        synonyms.  Canonical names: ``step``, ``tokens``, ``lr``, ``loss`` (train loss),
        ``val_loss``, ``run``, ``split``, ``N``, ``D``, ``C``.
    run : run name for a single-run source (default: the file stem, or the directory name for
        generic file names such as ``trainer_state.json``).
    warmup : drop points with ``step < warmup`` (counted as ``warmup``).
    max_points : keep at most this many points per (run, split), evenly spaced in index,
        always keeping the first and the last (counted as ``downsampled``).
    smooth : ``'ema[:alpha]'`` (debiased EMA, alpha default 0.9), ``'median[:window]'``
        (centered rolling median, default 11) or ``'lowess[:frac]'`` (statsmodels LOWESS)
        applied to ``loss`` per (run, split) after
        the warmup cut and before downsampling; the raw loss is kept in ``loss_raw``.
    warn : also emit each report warning as a :class:`ScalelawWarning`.

    Returns
    -------
    pandas.DataFrame with columns ``run, step, tokens, lr, loss, split`` (+ ``N``, ``D``,
    ``C`` when the source has them, + ``loss_raw`` when smoothing), sorted by run, split,
    step; ``step`` unique within each (run, split).  ``df.attrs["scalelaw"]`` is the report
    (see ``docs/io.md``): ``source, format, runs, columns, ignored, rows_read, rows,
    dropped, inf_values, warnings, options, units``.
    """
    import pandas as pd

    fmt = canonical_format(format)
    if isinstance(path, pd.DataFrame):
        label = "<DataFrame>"
        sources, fmts = [F.Source(path, label, run=run)], ["frame"]
        default_run = run or "run"
    else:
        label = os.fspath(path)
        if not os.path.exists(label):
            raise ScalelawError(f"file not found: {label}")
        detected = fmt or detect_format(label)
        default_run = run or _default_run(label)
        if detected == "dir":
            sources, fmts = _dir_sources(label, run)
        else:
            sources, fmts = _sources(label, detected, run), [detected]
    if warmup is not None and (not isinstance(warmup, (int, np.integer)) or warmup < 0):
        raise ScalelawError(f"warmup must be a whole number of steps >= 0, got {warmup!r}")
    if max_points is not None and (not isinstance(max_points, (int, np.integer)) or max_points < 1):
        raise ScalelawError(f"max_points must be a whole number >= 1, got {max_points!r}")
    spec = _parse_smooth(smooth)

    count = F.Counter()
    parts: list[F.Part] = []
    for src in sources:
        parts += F.source_parts(src, columns, default_run, count)
    if not parts:
        raise ScalelawError(f"{label}: no data points found (read {count.rows_read} rows; "
                            f"dropped {', '.join(f'{k} {v}' for k, v in count.dropped.items() if v) or 'none'})")

    # runs with the same name from different sources: merge same-named (run, split) parts
    merged: dict[tuple, F.Part] = {}
    for p in parts:
        key = (p.run, p.split)
        if key in merged:
            q = merged[key]
            step = np.concatenate([q.step, p.step]).astype(np.float64)
            cat = lambda a, b: np.concatenate([a, b])  # noqa: E731
            merged[key] = F._clean_part(p.run, p.split, step, cat(q.tokens, p.tokens),
                                        cat(q.lr, p.lr), cat(q.loss, p.loss), {**q.meta, **p.meta},
                                        count, label)
        else:
            merged[key] = p
    runs = list(dict.fromkeys(p.run for p in merged.values()))
    run_pos = {r: i for i, r in enumerate(runs)}
    ordered = sorted(merged.values(), key=lambda p: (run_pos[p.run], p.split))

    has_meta = [c for c in F.RUN_LEVEL if any(c in p.meta for p in ordered)]
    final = []
    for p in ordered:
        step, tokens, lr, loss = p.step, p.tokens, p.lr, p.loss
        if warmup:
            m = step >= warmup
            if not m.all():
                count.drop("warmup", int((~m).sum()))
                step, tokens, lr, loss = step[m], tokens[m], lr[m], loss[m]
        raw = None
        if spec is not None:
            raw = loss
            loss = _smooth(loss, spec)
        if max_points is not None and len(step) > max_points:
            idx = _downsample_idx(len(step), max_points)
            count.drop("downsampled", len(step) - len(idx))
            step, tokens, lr, loss = step[idx], tokens[idx], lr[idx], loss[idx]
            raw = raw[idx] if raw is not None else None
        if len(step):
            final.append((p, step, tokens, lr, loss, raw))
    if not final:
        raise ScalelawError(f"{label}: no data points left after the warmup cut ({warmup} steps)")

    sizes = [len(f[1]) for f in final]
    run_codes = np.repeat([run_pos[f[0].run] for f in final], sizes).astype(np.int32)
    split_codes = np.repeat([f[0].split for f in final], sizes).astype(np.int8)
    cat = (lambda i: np.concatenate([f[i] for f in final])) if len(final) > 1 else (lambda i: final[0][i])
    data = {
        "run": pd.Categorical.from_codes(run_codes, categories=runs),
        "step": cat(1),
        "tokens": cat(2),
        "lr": cat(3),
        "loss": cat(4),
        "split": pd.Categorical.from_codes(split_codes, categories=list(F.SPLITS)),
    }
    for c in has_meta:
        data[c] = np.repeat([f[0].meta.get(c, np.nan) for f in final], sizes).astype(np.float64)
    if spec is not None:
        data["loss_raw"] = np.concatenate([f[5] for f in final])
    df = pd.DataFrame(data, copy=False)

    run_info = {}
    for (p, step, *_rest), nrow in zip(final, sizes):
        info = run_info.setdefault(p.run, {"rows": 0, "splits": {}, "step_min": None, "step_max": None})
        info["rows"] += nrow
        info["splits"][F.SPLITS[p.split]] = nrow
        lo, hi = int(step[0]), int(step[-1])
        info["step_min"] = lo if info["step_min"] is None else min(info["step_min"], lo)
        info["step_max"] = hi if info["step_max"] is None else max(info["step_max"], hi)
        for c in has_meta:
            if c in p.meta:
                info[c] = p.meta[c]
    report = {
        "source": label,
        "format": fmts[0] if len(fmts) == 1 else "dir",
        "formats": fmts,
        "runs": run_info,
        "columns": count.columns,
        "ignored": count.ignored,
        "rows_read": count.rows_read,
        "rows": int(len(df)),
        "dropped": count.dropped,
        "inf_values": count.inf_values,
        "warnings": count.warnings,
        "options": {"format": fmt, "columns": dict(columns or {}), "run": run, "warmup": warmup,
                    "max_points": max_points, "smooth": None if spec is None else f"{spec[0]}:{spec[1]}"},
        "units": dict(UNITS),
    }
    df.attrs["scalelaw"] = report
    if warn:
        import warnings as _w

        for msg in count.warnings:
            _w.warn(msg, ScalelawWarning, stacklevel=2)
    return df
