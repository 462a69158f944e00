"""``read_log``: any training log -> one tidy frame, plus a report of what was understood.

The steps, each a function below: find the sources (:func:`_gather`: one file, a store,
or every file below a directory, a bad file there becoming a note), canonicalize them
(:func:`scalelaw.io._frame.source_parts`), merge same-named runs (:func:`_merge`), set the
run-level N the caller gives (:func:`_give_N`), keep one split (:func:`_keep_split`), cut
the early steps (``min_step``), smooth and downsample (:func:`_shape`), assemble the frame (:func:`_frame`)
and the report (:func:`_report`).  See ``docs/io.md`` for the formats, the frame's columns
and units, and the cleaning rules.
"""
from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from ..errors import ScalelawError, ScalelawWarning
from . import _frame as F
from . import _stdin, detect, sources, walk
from .smoothing import _parse_smooth, _smooth

#: units and conventions of the tidy frame (also stored in the report)
UNITS = {
    "run": "run label (file stem, directory or the source's own run name)",
    "step": "optimizer step as logged (int64)",
    "tokens": "tokens seen so far, a count (float64, NaN where not logged)",
    "lr": "learning rate in effect at that step (float64, NaN where not logged)",
    "loss": "loss as logged; for LM cross-entropy nats per token (float64, NaN where not logged)",
    "split": "'train' or 'val'",
    "N": "parameters (run-level, as the source states it; the notes say what a "
         "parameter-count line counted)",
    "D": "training tokens (run-level)",
    "C": "training compute in FLOPs (run-level; Hugging Face total_flos)",
}


def read_log(path, format: str | None = None, columns: Mapping[str, str] | None = None, *,
             run: str | None = None, min_step: int | None = None, max_points: int | None = None,
             smooth=None, split: str | None = None, N=None, warn: bool = False,
             warmup: int | None = None):
    """Read a training log (any supported format) into one tidy frame.

    Parameters
    ----------
    path : file or directory, ``'-'`` for standard input (format told by the content), or
        an in-memory :class:`pandas.DataFrame` with log columns.
    format : one of :data:`~scalelaw.io.FORMATS` (or an alias); detected when ``None``.
    columns : explicit mapping canonical name -> source column, which always wins over the
        synonyms.  Canonical names: ``step``, ``tokens``, ``lr``, ``loss`` (train loss),
        ``val_loss``, ``run``, ``split``, ``N``, ``D``, ``C``.
    run : run name for a single-run source (default: the file stem, or the directory name for
        generic file names such as ``trainer_state.json``).
    min_step : drop points with ``step < min_step`` (counted as ``min_step``), e.g. the
        warmup.  (``warmup=`` is its deprecated spelling: a warmup is a property of a
        schedule, see docs/architecture.md.)
    max_points : keep at most this many points per (run, split), evenly spaced in index,
        always keeping the first and the last (counted as ``downsampled``).
    smooth : ``'ema[:alpha]'`` (debiased EMA, alpha default 0.9), ``'median[:window]'``
        (centered rolling median, default 11) or ``'lowess[:frac]'`` (statsmodels LOWESS,
        default 0.05) applied to ``loss`` per (run, split) after the ``min_step`` cut and before
        downsampling; the raw loss is kept in ``loss_raw``.
    split : ``'train'`` or ``'val'``: keep only that split's rows (the other rows are
        counted as ``split``); a log without that split is an error.
    N : the model size (parameters) of the run: a number for every run of the source, or a
        mapping run name -> parameters.  It wins over what the log states (noted when the
        two differ).  Say in your own report whether it counts embeddings.
    warn : also emit each report warning as a :class:`ScalelawWarning`.

    Returns
    -------
    pandas.DataFrame with columns ``run, step, tokens, lr, loss, split`` (+ ``N``, ``D``,
    ``C`` when known, + ``loss_raw`` when smoothing), sorted by run, split, step; ``step``
    unique within each (run, split).  ``df.attrs["scalelaw"]`` is the report (see
    ``docs/io.md``): ``source, format, formats, runs, columns, ignored, rows_read, rows,
    dropped, inf_values, warnings, notes, options, units``.

    Raises
    ------
    ScalelawError (one line) for every problem a user can fix;
    :class:`~scalelaw.io.detect.RunTableError` (a ScalelawError) for a table of runs (one
    row per run, no step column), which is not a training log.
    """
    fmt = detect.canonical_format(format)
    if warmup is not None:
        from ..errors import deprecated
        deprecated("read_log(warmup=...)", "min_step=")
        min_step = warmup if min_step is None else min_step
    _check_options(min_step, max_points, split)
    spec = _parse_smooth(smooth)
    count = F.Counter()
    label, default_run, parts, fmts = _gather(path, fmt, columns, run, count)
    merged = _merge(parts, count, label)
    if N is not None:
        _give_N(merged, N, count, label)
    if split is not None:
        merged = _keep_split(merged, split, count, label)
    final = _shape(merged, min_step, spec, max_points, count, label)
    df = _frame(final, spec)
    df.attrs["scalelaw"] = _report(df, final, count, label, fmts, options={
        "format": fmt, "columns": dict(columns or {}), "run": run, "min_step": min_step,
        "max_points": max_points, "smooth": None if spec is None else f"{spec[0]}:{spec[1]}",
        "split": split, "N": N if not isinstance(N, Mapping) else dict(N)})
    if warn:
        import warnings as _w

        for msg in count.warnings:
            _w.warn(msg, ScalelawWarning, stacklevel=2)
    return df


# ---------------------------------------------------------------------------------------
# steps


def _check_options(min_step, max_points, split) -> None:
    if min_step is not None and (not isinstance(min_step, (int, np.integer)) or min_step < 0):
        raise ScalelawError(f"min_step must be a whole number of steps >= 0, got {min_step!r}")
    if max_points is not None and (not isinstance(max_points, (int, np.integer)) or max_points < 1):
        raise ScalelawError(f"max_points must be a whole number >= 1, got {max_points!r}")
    if split is not None and split not in F.SPLITS:
        raise ScalelawError(f"split must be 'train' or 'val', not {split!r}")


def _gather(path, fmt, columns, run, count: F.Counter):
    """``(label, default run, parts, formats)``: every source of ``path`` canonicalized."""
    import pandas as pd

    if isinstance(path, pd.DataFrame):
        default_run = run or "run"
        parts = F.source_parts(F.Source(path, "<DataFrame>", run=run), columns, default_run, count)
        return "<DataFrame>", default_run, _nonempty(parts, "<DataFrame>", count), ["frame"]
    label = os.fspath(path)
    real = _stdin.resolve(label)
    if not os.path.lexists(real):
        raise ScalelawError(f"file not found: {label}")
    if real != label:       # standard input: messages name it, not its temporary copy
        try:
            return _gather_path(label, real, fmt, columns, run, count)
        except ScalelawError as e:
            msg = str(getattr(e, "message", e)).replace(real, "<stdin>")
            if isinstance(e, detect.RunTableError):
                rep = {k: (v.replace(real, "<stdin>") if isinstance(v, str) else v) for k, v in e.report.items()}
                raise detect.RunTableError(msg, rep) from None
            raise type(e)(msg, option=e.option) from None
    return _gather_path(label, real, fmt, columns, run, count)


def _gather_path(label, real, fmt, columns, run, count: F.Counter):
    if fmt is None:
        detected, head = detect.detect(real)
    else:
        detected, head = fmt, None
    if _stdin.is_stdin(label):
        default_run = run or "stdin"
    else:
        default_run = run or walk.run_name(real)
    if detected == "dir":
        parts, fmts = _read_directory(real, run, columns, default_run, count)
        return label, default_run, parts, fmts
    srcs = sources.file_sources(real, detected, run, head)
    parts = []
    for s in srcs:
        parts += F.source_parts(s, columns, default_run, count)
    return label, default_run, _nonempty(parts, label, count), [detected]


def _nonempty(parts, label, count):
    if not parts:
        raise ScalelawError(f"{label}: no data points found (read {count.rows_read} rows; "
                            f"dropped {', '.join(f'{k} {v}' for k, v in count.dropped.items() if v) or 'none'})")
    return parts


def _read_directory(root: str, run, columns, default_run: str, count: F.Counter):
    """Every log below a directory, each unit read and canonicalized on its own.  A file
    that should hold data but cannot be read (unreadable, a Git LFS pointer, damaged) is a
    warning naming it; a file that is no training log (a table of runs, a config, a README)
    a note; the others are read.  Only a directory with nothing readable is an error."""
    units, passed = sources.directory_units(root, run)
    parts, fmts, skipped, not_logs = [], [], [], []

    def note(u, e):
        if isinstance(e, detect.RunTableError):
            not_logs.append(f"{u.label}: a table of runs (one row per run), not a training log: not read")
        elif isinstance(e, detect.NotALogError):
            not_logs.append(sources.file_note(u, e, root))
        else:
            skipped.append(sources.file_note(u, e, root))

    read = []       # every file first, then their canonicalization (measurably faster)
    for u in units:
        try:
            srcs, fmt, problems = u.read()
        except ScalelawError as e:
            note(u, e)
            continue
        skipped += problems
        read.append((u, srcs, fmt, problems))
    for u, srcs, fmt, problems in read:
        own = F.Counter()
        try:
            got = []
            for s in srcs:
                got += F.source_parts(s, columns, default_run, own)
            if not got:
                if problems:
                    continue
                raise detect.NotALogError("no data points: not read")
        except ScalelawError as e:
            note(u, e)
            continue
        count.merge(own)
        parts += got
        if fmt not in fmts:
            fmts.append(fmt)
    count.warnings.extend(skipped)
    count.notes.extend(not_logs)
    if passed:
        shown = ", ".join(passed[:5]) + (f" and {len(passed) - 5} more" if len(passed) > 5 else "")
        count.notes.append(f"{len(passed)} file(s) not read (not a log file extension): {shown}")
    if not parts:
        why = skipped + not_logs
        why = "; ".join(why[:3]) + (f"; and {len(why) - 3} more" if len(why) > 3 else "")
        raise ScalelawError(f"{root}: no training logs found in this directory"
                            + (f" ({why})" if why else ""))
    return parts, fmts


def _merge(parts, count: F.Counter, label: str) -> list:
    """Same-named (run, split) parts from different sources merged under the cleaning
    rules; ordered by run (first seen) and split."""
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
    return sorted(merged.values(), key=lambda p: (run_pos[p.run], p.split))


def _give_N(parts, N, count: F.Counter, label: str) -> None:
    """The caller's model size for every run (a number) or for named runs (a mapping)."""
    runs = list(dict.fromkeys(p.run for p in parts))
    if isinstance(N, Mapping):
        given = {str(k): v for k, v in N.items()}
        unknown = [k for k in given if k not in runs]
        if unknown:
            raise ScalelawError(f"N given for run(s) {', '.join(map(repr, unknown[:5]))} that "
                                f"{label} does not have; its runs: {', '.join(runs[:10])}")
    else:
        given = {r: N for r in runs}
    for r, v in given.items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ScalelawError(f"N for run {r!r} must be a number of parameters, not {v!r}") from None
        if not np.isfinite(v) or v <= 0:
            raise ScalelawError(f"N for run {r!r} must be a positive number of parameters, not {v!r}")
        given[r] = v
    noted = set()
    for p in parts:
        if p.run not in given:
            continue
        own = p.meta.get("N")
        if own is not None and not np.isclose(own, given[p.run], rtol=1e-3) and p.run not in noted:
            noted.add(p.run)
            count.notes.append(f"run {p.run}: N = {given[p.run]:.6g} as given, not the log's {own:.6g}")
        p.meta["N"] = given[p.run]
    count.map("N", "given")


def _keep_split(parts, split: str, count: F.Counter, label: str) -> list:
    code = F.SPLITS.index(split)
    keep = [p for p in parts if p.split == code]
    if not keep:
        have = sorted({F.SPLITS[p.split] for p in parts})
        raise ScalelawError(f"{label}: no {split} rows (the log has {', '.join(have)} only)")
    count.drop("split", sum(len(p.step) for p in parts if p.split != code))
    return keep


def _downsample_idx(n: int, k: int) -> np.ndarray:
    """At most k indices of 0..n-1, evenly spaced, always keeping the first and last."""
    if n <= k:
        return np.arange(n)
    if k == 1:
        return np.array([n - 1])
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(np.int64))


def _shape(parts, min_step, spec, max_points, count: F.Counter, label: str) -> list:
    """Warmup cut, smoothing and downsampling per (run, split):
    ``[(part, step, tokens, lr, loss, raw loss or None)]``."""
    final = []
    for p in parts:
        step, tokens, lr, loss = p.step, p.tokens, p.lr, p.loss
        if min_step:
            m = step >= min_step
            if not m.all():
                count.drop("min_step", int((~m).sum()))
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
        raise ScalelawError(f"{label}: no data points left before step {min_step} (min_step)")
    return final


def _frame(final, spec):
    import pandas as pd

    runs = list(dict.fromkeys(f[0].run for f in final))
    run_pos = {r: i for i, r in enumerate(runs)}
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
    for c in [c for c in F.RUN_LEVEL if any(c in f[0].meta for f in final)]:
        data[c] = np.repeat([f[0].meta.get(c, np.nan) for f in final], sizes).astype(np.float64)
    if spec is not None:
        data["loss_raw"] = np.concatenate([f[5] for f in final])
    return pd.DataFrame(data, copy=False)


def _report(df, final, count: F.Counter, label: str, fmts, options: dict) -> dict:
    has_meta = [c for c in F.RUN_LEVEL if any(c in f[0].meta for f in final)]
    run_info = {}
    for p, step, *_rest in final:
        info = run_info.setdefault(p.run, {"rows": 0, "splits": {}, "step_min": None, "step_max": None})
        info["rows"] += len(step)
        info["splits"][F.SPLITS[p.split]] = len(step)
        lo, hi = int(step[0]), int(step[-1])
        info["step_min"] = lo if info["step_min"] is None else min(info["step_min"], lo)
        info["step_max"] = hi if info["step_max"] is None else max(info["step_max"], hi)
        for c in has_meta:
            if c in p.meta:
                info[c] = p.meta[c]
    return {
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
        "notes": count.notes,
        "options": options,
        "units": dict(UNITS),
    }
