"""Weights & Biases exports.

* **Panel CSV** (the "Export CSV" button of a line plot): a ``Step`` column and one column
  per run and metric named ``<run> - <metric>``, with ``<run> - <metric>__MIN`` /
  ``__MAX`` copies (the min/max envelope of W&B's sampling buckets, ignored here).  Each run
  becomes its own run in the frame.
* **API history** (``run.history()`` / ``scan_history()`` saved as CSV, JSONL or Parquet):
  W&B's ``_step``, ``_runtime``, ``_timestamp`` columns plus the logged keys.  The trainer's
  own ``train/global_step`` (or ``trainer/global_step``) is preferred over ``_step``
  when present, since ``_step`` counts ``wandb.log`` calls rather than optimizer steps.
"""
from __future__ import annotations

import re

from ._frame import Source

_SEP = " - "
_STEP_COLS = ("step", "_step", "trainer/global_step", "train/global_step", "global_step")


def is_panel_csv(columns) -> bool:
    """True for a panel export: a step column and ``<run> - <metric>`` columns."""
    cols = [str(c) for c in columns]
    has_step = any(c.strip().lower() in _STEP_COLS for c in cols)
    return has_step and any(_SEP in c for c in cols)


def is_history(columns) -> bool:
    cols = {str(c) for c in columns}
    return "_step" in cols and bool(cols & {"_runtime", "_timestamp"})


def panel_sources(df, path: str) -> list[Source]:
    """Split a panel export into one :class:`Source` per run."""
    cols = [str(c) for c in df.columns]
    step_col = next(c for c in cols if c.strip().lower() in _STEP_COLS)
    runs: dict[str, dict[str, str]] = {}
    ignored = []
    for c in cols:
        if c == step_col:
            continue
        if _SEP not in c or re.search(r"__(MIN|MAX)$", c):
            ignored.append(c)
            continue
        run, metric = c.rsplit(_SEP, 1)
        runs.setdefault(run.strip(), {})[c] = metric.strip()
    out = []
    for run, metrics in runs.items():
        sub = df[[step_col] + list(metrics)]
        sub = sub.rename(columns=metrics)
        labels = {m: f"<run> - {m}" for m in metrics.values()}
        labels[step_col] = step_col
        # each run has its own rows: W&B leaves blank cells where a run has no point
        sub = sub[sub[list(metrics.values())].notna().any(axis=1)]
        src = Source(sub, path, run=run, fixed={"step": step_col}, labels=labels)
        out.append(src)
    if out and ignored:
        out[0].ignored.extend(ignored)
    return out


def history_source(df, path: str, run: str | None) -> Source:
    """One run's API history; prefers the trainer's global step over ``_step``."""
    fixed = {}
    cols = [str(c) for c in df.columns]
    for c in ("train/global_step", "trainer/global_step"):
        if c in cols:
            s = df[c]
            if s.notna().sum() >= 0.9 * len(s):
                fixed["step"] = c
                break
    if "step" not in fixed:
        fixed["step"] = "_step"
    return Source(df, path, run=run, fixed=fixed)
