"""Readers: logs and run tables of every format into one tidy frame.

* :func:`read_log` -- a training log (CSV/TSV/Parquet/JSONL, W&B, Hugging Face
  ``trainer_state.json``, TensorBoard, MLflow, Lightning, trainer text logs, or a directory of
  runs) -> tidy frame ``run, step, tokens, lr, loss, split`` with a report in
  ``df.attrs["scalelaw"]``.
* :func:`read_table` -- a table of runs (one row per run) as it is in the file.
* :func:`detect_format` -- which reader :func:`read_log` would use.
* :func:`read_curves` -- logs reduced to loss curves ``run, step, lr, loss`` (the view of
  the LR-schedule laws).
"""
from .logs import FORMATS, UNITS, detect_format, read_log
from .curves import read_curves
from .table import read_table

__all__ = ["read_log", "read_curves", "read_table", "detect_format", "FORMATS", "UNITS"]
