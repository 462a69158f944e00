"""Readers: logs and run tables of every format into one tidy frame.

* :func:`read_log` -- a training log (CSV/TSV/Parquet/JSONL, W&B, Hugging Face
  ``trainer_state.json``, TensorBoard, MLflow, Lightning, trainer text logs, or a directory of
  runs) -> tidy frame ``run, step, tokens, lr, loss, split`` with a report in
  ``df.attrs["scalelaw"]``.
* :func:`read_table` -- a table of runs (one row per run), units stated in the file
  converted (noted in ``df.attrs["scalelaw"]["notes"]``).
* :func:`detect_format` -- which reader :func:`read_log` would use.
* :func:`read_curves` -- logs reduced to loss curves ``run, step, lr, loss`` (the view of
  the LR-schedule laws).
"""
from .curves import read_curves
from .detect import FORMATS, RunTableError, detect_format
from .pipeline import UNITS, read_log
from .smoothing import smooth_loss
from .table import read_table

__all__ = ["read_log", "read_curves", "read_table", "detect_format", "smooth_loss",
           "RunTableError", "FORMATS", "UNITS"]
