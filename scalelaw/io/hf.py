"""Hugging Face ``trainer_state.json`` (written by ``transformers.Trainer`` at every
checkpoint and at the end of training).

``log_history`` holds one dict per logging call: train rows (``loss``, ``learning_rate``,
``grad_norm``, ``epoch``, ``step``, optionally ``num_input_tokens_seen``), eval rows
(``eval_loss``, ``eval_runtime``, ...) and one final summary row (``train_runtime``,
``train_loss`` = the *mean* training loss, ``total_flos``) that is not a point of the
curve and is skipped.  ``total_flos`` (the trainer's FLOP estimate, ~6·N·tokens for a
decoder) becomes the run-level ``C``.
"""
from __future__ import annotations

import json

from ..errors import ScalelawError
from ._frame import Source

_SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second")


def looks_like(obj) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("log_history"), list)


def load(path: str):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8", errors="replace"))
    except (ValueError, RecursionError) as e:
        raise ScalelawError(f"{path} is not valid JSON ({str(e)[:120]}); give an intact "
                            f"trainer_state.json") from e


def source(path: str, run: str, state=None) -> Source:
    import pandas as pd

    state = load(path) if state is None else state
    if not looks_like(state):
        raise ScalelawError(f"{path} has no log_history list; is it a Hugging Face trainer_state.json?")
    rows = []
    dropped = 0
    for r in state["log_history"]:
        if not isinstance(r, dict):
            dropped += 1
            continue
        if any(k in r for k in _SUMMARY_KEYS):
            continue
        rows.append({str(k): (v if isinstance(v, (int, float)) and not isinstance(v, bool) else None)
                     for k, v in r.items()})
    df = pd.DataFrame(rows)
    if "step" not in df.columns:
        df["step"] = pd.Series([None] * len(df), dtype="float64")
    meta = {}
    flos = state.get("total_flos")
    if isinstance(flos, (int, float)) and not isinstance(flos, bool) and flos > 0:
        meta["C"] = (float(flos), "total_flos")
    warnings = [f"{path}: {dropped} log_history entries were not objects"] if dropped else []
    return Source(df, path, run=run, fixed={"step": "step"}, meta=meta, warnings=warnings,
                  dropped={"nonfinite": dropped})
