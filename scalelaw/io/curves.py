"""Training logs as loss curves: the LR-schedule laws' view of a log.

:func:`read_curves` reads log files (any format :func:`scalelaw.io.read_log` reads) or
frames and reduces each to one row per (run, step): ``run, step, lr, loss`` (+ ``N`` when
the log states the model size).  Steps are optimizer steps, LR the per-step learning rate,
loss in nats.
"""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ScalelawError, deprecated


def read_curves(sources: str | os.PathLike | pd.DataFrame | Sequence, columns: Mapping[str, str] | None = None, *, format: str | None = None,
                split: str | None = None, require_loss: bool = True, **old) -> pd.DataFrame:
    """Tidy frame ``run, step, lr, loss`` from log files (or frames).

    Each file is one run unless a run column says otherwise (its name is the file stem).
    ``columns`` maps canonical names (``step, lr, loss, run``) to source columns, as in
    :func:`~scalelaw.io.read_log`.  ``split``: which loss to keep, ``"train"`` or ``"val"``
    (default: validation when the log has it, else train).  ``loss`` may be NaN on rows
    where only the LR is known; with ``require_loss=False`` (schedules to predict) a log may
    have no loss at all.  (``step=, lr=, loss=, run=, fmt=`` are deprecated spellings of
    ``columns=`` and ``format=``.)
    """
    mapping = dict(columns or {})
    for key in ("step", "lr", "loss", "run"):
        if old.get(key) is not None:
            deprecated(f"read_curves({key}=...)", f"columns={{'{key}': ...}}")
            mapping[key] = old.pop(key)
        old.pop(key, None)
    if "fmt" in old:
        deprecated("fmt=", "format=")
        format = old.pop("fmt") or format
    if old:
        raise TypeError(f"read_curves() got unexpected keyword(s) {', '.join(old)}")
    if isinstance(sources, (str, os.PathLike, pd.DataFrame)):
        sources = [sources]
    frames = []
    for src in sources:
        is_frame = isinstance(src, pd.DataFrame)
        name = "run" if is_frame else os.path.splitext(os.path.basename(os.fspath(src)))[0]
        df = _read_one(src, mapping, format, split, require_loss)
        if "run" not in df or df["run"].isna().all() or (is_frame and "run" not in src and len(sources) > 1):
            df["run"] = name
        notes = df.attrs.get("notes", [])
        df = df[["run", "step", "lr", "loss"] + [c for c in ("N",) if c in df]]
        df.attrs["notes"] = notes
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["notes"] = [n for f in frames for n in f.attrs.get("notes", [])]
    return out


def _read_one(src, mapping, fmt, split=None, require_loss=True):
    """One source through :func:`scalelaw.io.read_log` (every supported log format), reduced
    to ``run, step, lr, loss``: the LR from any row of a step, the loss of ``split``."""
    from .logs import read_log
    df = read_log(src, format=fmt, columns=mapping or None)
    where = "" if isinstance(src, pd.DataFrame) else f"{src}: "
    if df["lr"].isna().all():
        raise ScalelawError(f"{where}no lr column; the columns are: {', '.join(_source_columns(df))}; "
                            "name the learning-rate column", option="lr")
    if df["loss"].isna().all():
        if require_loss:
            raise ScalelawError(f"{where}no loss values; the columns are: "
                                f"{', '.join(_source_columns(df))}; name the loss column", option="loss")
        out = df.groupby(["run", "step"], observed=True)["lr"].max().reset_index()
        out["run"] = out["run"].astype(str)
        out["loss"] = np.nan
        out = _with_run_columns(out, df)
        out.attrs["notes"] = [f"{where}no loss in this log: every logged step is predicted"]
        return out
    has_val = bool((df["split"] == "val").any() and df.loc[df["split"] == "val", "loss"].notna().any())
    if split is None:
        split = "val" if has_val else "train"
    elif split not in ("train", "val"):
        raise ScalelawError(f"split must be 'train' or 'val', not {split!r}")
    if not df.loc[df["split"] == split, "loss"].notna().any():
        raise ScalelawError(f"{where}no {split} loss in this log")
    lr = df.groupby(["run", "step"], observed=True)["lr"].max()
    loss = df[df["split"] == split].groupby(["run", "step"], observed=True)["loss"].last()
    out = pd.concat([lr, loss], axis=1).reset_index()
    out["run"] = out["run"].astype(str)
    out = _with_run_columns(out, df)
    rep = df.attrs.get("scalelaw", {})
    notes = [f"{where}{n} row(s) dropped: {why}" for why, n in rep.get("dropped", {}).items() if n]
    notes += list(rep.get("warnings", []))       # e.g. files of a directory that were not read
    if has_val or split == "val":
        notes.append(f"{where}fitted the {'validation' if split == 'val' else 'training'} loss")
    out.attrs["notes"] = notes
    return out


def _with_run_columns(out, df):
    """Per-run columns of the log (model size ``N``) joined onto the reduced frame."""
    extra = [c for c in ("N",) if c in df]
    if not extra:
        return out
    return out.merge(df.groupby("run", observed=True)[extra].first().reset_index().assign(
        run=lambda d: d["run"].astype(str)), on="run", how="left")


def _source_columns(df):
    rep = df.attrs.get("scalelaw", {})
    cols = [c for v in rep.get("columns", {}).values() for c in v] + list(rep.get("ignored", []))
    return cols or list(map(str, df.columns))


__all__ = ["read_curves"]
