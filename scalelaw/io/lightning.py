"""PyTorch Lightning ``CSVLogger`` output (``<save_dir>/<name>/version_N/metrics.csv``).

Lightning writes one row per ``log`` call group, so one step usually has several rows (a
train row with ``train_loss_step`` and ``lr-AdamW``, a validation row with ``val_loss``, an
epoch row with ``train_loss_epoch``); scalelaw merges them per step (the last finite value
of each column wins).  ``<metric>_step`` is preferred over ``<metric>_epoch``; the
``LearningRateMonitor`` column ``lr-<Optimizer>`` is the lr.  The run name is the
``version_N`` directory's parent name plus the version (``name/version_0``).
"""
from __future__ import annotations

import os


def looks_like(columns, path: str) -> bool:
    cols = {str(c).strip().lower() for c in columns}
    return "step" in cols and "epoch" in cols and (
        os.path.basename(path) == "metrics.csv" or any(c.endswith(("_step", "_epoch")) for c in cols))


def run_name(path: str) -> str:
    d = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(d)
    if base.startswith("version_"):
        return f"{os.path.basename(os.path.dirname(d))}/{base}"
    return base or os.path.splitext(os.path.basename(path))[0]
