"""Turn what a reader found (wide frames with the source's own column names, or per-key
series) into scalelaw's tidy log frame, and keep count of every row dropped.

Readers produce :class:`Source` objects; :func:`tidy` maps their columns to canonical names,
splits train/val losses into rows, handles resumed runs and duplicate steps, and returns the
pieces that :func:`scalelaw.io.pipeline.read_log` assembles.  Nothing here reads files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import ScalelawError
from ._sniff import NotALogError, RunTableError
from .columns import SYNONYMS, normalize, resolve, show

#: the tidy columns, in order
TIDY = ("run", "step", "tokens", "lr", "loss", "split")
#: per-row measured values (a row with none of them finite is dropped)
MEASURED = ("tokens", "lr", "loss")
#: run-level quantities carried as constant columns when a source has them
RUN_LEVEL = ("N", "D", "C")
SPLITS = ("train", "val")
#: keys of ``report["dropped"]``, in the order they are applied
DROP_KEYS = ("no_step", "nonfinite", "resumed", "duplicate_step", "split", "min_step", "downsampled")

# ---------------------------------------------------------------------------------------
# column classification

_VAL_WORDS = ("val", "valid", "validation", "eval", "evaluation", "test", "dev")
_TRAIN_WORDS = ("train", "training", "")
# normalized loss names, most preferred first (normalize() drops space _ - . but keeps /)
_TRAIN_LOSS = ("loss", "train/loss", "trainloss", "lmloss", "trainingloss", "train/lmloss",
               "losstrain", "trainlossstep", "lossstep", "train/lossstep", "trainlossepoch",
               "train/lossepoch", "lossepoch", "batchloss", "epochloss")
_VAL_LOSS = ("evalloss", "valloss", "val/loss", "eval/loss", "validationloss",
             "validation/loss", "valid/loss", "validloss", "lossval", "lmlossvalue",
             "vallmloss", "val/lmloss", "eval/lmloss", "testloss", "test/loss", "devloss",
             "vallossepoch", "val/lossepoch", "vallossstep", "evaluationlossvsiterations")
# W&B-style per-dataset eval losses: eval/<set>/loss, val/<set>/loss
_VAL_SET_LOSS = re.compile(r"^(eval|evaluation|val|valid|validation|test|dev)/[^/]+/(loss|lm[ _]?loss)$", re.I)
_LR_EXTRA = re.compile(r"^(lr[-_ ]\w+|lr/\w+|optimizer/lr.*|learning_rate/.*|train/lr|(epoch|batch)_(lr|learning_rate))$", re.I)
_STEP_PREFERRED = ("train/global_step", "trainer/global_step", "global_step")


def loss_split(name: str) -> str | None:
    """``'train'``/``'val'`` if ``name`` looks like a loss column, else ``None``."""
    n = normalize(name)
    if n in _TRAIN_LOSS:
        return "train"
    if n in _VAL_LOSS or _VAL_SET_LOSS.match(str(name).strip()):
        return "val"
    return None


def _loss_rank(name: str) -> int:
    n = normalize(name)
    for table in (_TRAIN_LOSS, _VAL_LOSS):
        if n in table:
            return table.index(n)
    return 50 if _VAL_SET_LOSS.match(str(name).strip()) else 99


def norm_split(values) -> np.ndarray:
    """Map split labels to codes 0 (train) / 1 (val); unknown labels raise."""
    import pandas as pd

    s = pd.Series(values).astype(str).str.strip().str.lower()
    codes = np.full(len(s), -1, dtype=np.int8)
    codes[s.isin(_TRAIN_WORDS + ("nan", "none")).to_numpy()] = 0
    codes[s.isin(_VAL_WORDS + ("validate",)).to_numpy()] = 1
    bad = s[codes < 0].unique()
    if len(bad):
        raise ScalelawError(f"unknown split label(s) {', '.join(map(repr, bad[:5]))}; "
                            f"use train or val")
    return codes


# ---------------------------------------------------------------------------------------
# data structures


@dataclass
class Source:
    """What a reader found in one place.

    ``wide``: a DataFrame with the source's own column names, in file (time) order.
    ``run``: run name, or ``None`` to take it from a run column / the default.
    ``split``: force every loss column of this source to that split (e.g. a Keras
    ``validation/`` event directory).  ``fixed``: canonical -> source column the reader
    already knows (e.g. the W&B ``Step`` column); ``labels``: canonical -> label shown in the
    report instead of the column name.  ``meta``: run-level N/D/C found outside the table.
    ``dropped``: rows the reader already dropped (keys of :data:`DROP_KEYS`).
    ``notes``: what the reader understood that the report should say (units converted, what
    a parameter-count line counted, ...); ``warnings``: problems it worked around.
    """

    wide: object
    path: str
    run: str | None = None
    split: str | None = None
    fixed: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    ignored: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    decimal: str = "."


@dataclass
class Part:
    """Clean rows of one (run, split): numpy arrays, step int64 ascending and unique."""

    run: str
    split: int
    step: np.ndarray
    tokens: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    meta: dict


# ---------------------------------------------------------------------------------------
# resume / duplicate handling


def resume_order(step: np.ndarray):
    """Row order for steps in file order that are not strictly increasing.

    If some step is logged more than once, a backwards jump is a restart from a checkpoint:
    rows superseded by a later segment are dropped (:func:`keep_mask_resume`) and the rest
    keep file order (already non-decreasing).  If every step is unique, a backwards jump
    cannot be told from a file written out of order, so the rows are just sorted.
    Returns ``(index array, number of rows superseded)``.
    """
    order = np.argsort(step, kind="stable")
    s = step[order]
    if len(s) < 2 or (s[1:] != s[:-1]).all():
        return order, 0
    keep = keep_mask_resume(step)
    return np.flatnonzero(keep), int((~keep).sum())


def keep_mask_resume(step: np.ndarray) -> np.ndarray:
    """Rows (in file order) not superseded by a restart: a row is superseded when a later
    row has a strictly smaller step (the run was resumed from an earlier checkpoint, so the
    later segment wins).  The kept steps are non-decreasing."""
    n = len(step)
    if n < 2:
        return np.ones(n, dtype=bool)
    later_min = np.empty(n, dtype=step.dtype)
    later_min[-1] = np.iinfo(step.dtype).max if step.dtype.kind == "i" else np.inf
    later_min[:-1] = np.minimum.accumulate(step[::-1])[::-1][1:]
    return step <= later_min


def clean_series(step: np.ndarray, values: np.ndarray):
    """One key's points in file order -> (steps ascending unique, values, n_resumed, n_dup);
    of points at the same step the last one wins."""
    n_res = 0
    if len(step) > 1 and not (step[1:] > step[:-1]).all():
        idx, n_res = resume_order(step)
        step, values = step[idx], values[idx]
    if len(step) > 1:
        last = np.ones(len(step), dtype=bool)
        last[:-1] = step[1:] != step[:-1]
        n_dup = int((~last).sum())
        if n_dup:
            step, values = step[last], values[last]
    else:
        n_dup = 0
    return step, values, n_res, n_dup


def join_series(series: Mapping[str, tuple]) -> tuple:
    """Outer-join per-key series ``{key: (steps, values)}`` (each in file order) on step.

    Returns ``(wide DataFrame with 'step' + one column per key, dropped counts)``.
    """
    import pandas as pd

    dropped = {"resumed": 0, "duplicate_step": 0}
    cleaned = {}
    for key, (s, v) in series.items():
        s = np.asarray(s, dtype=np.int64)
        v = np.asarray(v, dtype=np.float64)
        s, v, r, d = clean_series(s, v)
        dropped["resumed"] += r
        dropped["duplicate_step"] += d
        cleaned[key] = (s, v)
    if not cleaned:
        return pd.DataFrame({"step": np.zeros(0, np.int64)}), dropped
    allsteps = [s for s, _ in cleaned.values()]
    first = allsteps[0]
    if all(len(s) == len(first) and (s is first or np.array_equal(s, first)) for s in allsteps):
        steps = first
        cols = {k: v for k, (_, v) in cleaned.items()}
    else:
        steps = np.unique(np.concatenate(allsteps))
        cols = {}
        for k, (s, v) in cleaned.items():
            col = np.full(len(steps), np.nan)
            col[np.searchsorted(steps, s)] = v
            cols[k] = col
    return pd.DataFrame({"step": steps, **cols}), dropped


# ---------------------------------------------------------------------------------------
# mapping


def map_columns(columns, mapping: Mapping[str, str] | None, fixed: Mapping[str, str]):
    """Decide which source column feeds each canonical name.

    Returns ``(found, losses, ignored)``: ``found`` canonical -> column for step, tokens,
    lr, run, split, N, D, C; ``losses`` list of ``(split, column)``; ``ignored`` the rest.
    """
    columns = [str(c) for c in columns]
    user = dict(mapping or {})
    user_losses = []
    for key in ("loss", "val_loss", "train_loss", "loss:train", "loss:val", "loss[train]", "loss[val]"):
        if key in user:
            col = user.pop(key)
            sp = "val" if "val" in key else "train"
            hit = resolve(columns, [key], {key: col})[key]
            user_losses.append((sp, hit))
    unknown = set(user) - set(("step", "tokens", "lr", "run", "split") + RUN_LEVEL)
    if unknown:
        raise ScalelawError(f"unknown canonical name(s) in the column mapping: "
                            f"{', '.join(sorted(unknown))}; use step, tokens, lr, loss, val_loss, "
                            f"run, split, N, D, C")
    found = dict(fixed)
    found.update(resolve(columns, list(user), user))
    taken = set(found.values()) | {c for _, c in user_losses}
    free = [c for c in columns if c not in taken]

    if "step" not in found:
        pref = [c for c in free if normalize(c) in _STEP_PREFERRED]
        if pref:
            found["step"] = pref[0]
        else:
            found.update(resolve(free, ["step"], required=()))
    taken = set(found.values()) | {c for _, c in user_losses}
    free = [c for c in columns if c not in taken]
    for canon in ("lr", "tokens", "run", "split"):
        if canon in found:
            continue
        found.update(resolve(free, [canon], required=()))
        if canon == "lr" and "lr" not in found:
            extra = [c for c in free if _LR_EXTRA.match(c.strip())]
            if len(extra) == 1:
                found["lr"] = extra[0]
            elif len(extra) > 1:
                raise ScalelawError(f"several learning-rate columns ({', '.join(extra)}); "
                                    f"map the one to use explicitly")
        taken = set(found.values()) | {c for _, c in user_losses}
        free = [c for c in columns if c not in taken]

    losses = list(user_losses)
    if not losses:
        for sp in SPLITS:
            cands = [c for c in free if loss_split(c) == sp]
            if cands:
                best = min(_loss_rank(c) for c in cands)
                top = [c for c in cands if _loss_rank(c) == best]
                if len(top) > 1:
                    raise ScalelawError(f"several {sp} loss columns ({', '.join(top)}); map the "
                                        f"one to use explicitly")
                losses.append((sp, top[0]))
        if not losses:
            # fall back to the shared synonym list (e.g. 'y', 'final_loss')
            hit = resolve(free, ["loss"], required=())
            if hit:
                losses.append(("train", hit["loss"]))
    taken = set(found.values()) | {c for _, c in losses}
    free = [c for c in columns if c not in taken]
    for canon in RUN_LEVEL:
        if canon in found:
            continue
        # only exact, unambiguous names for run-level quantities inside a log
        strict = {"N": ("n", "params", "nparams", "numparams", "modelparams", "nonembeddingparams",
                        "parametercount", "paramcount", "numparameters", "nparameters"),
                  "D": ("d", "trainingtokens", "traintokens", "datasettokens"),
                  "C": ("c", "flops", "totalflops", "totalflos", "trainflops", "trainingflops")}[canon]
        hits = [c for c in free if normalize(c) in strict]
        if len(hits) == 1:
            found[canon] = hits[0]
            free.remove(hits[0])
    ignored = [c for c in free]
    return found, losses, ignored


# ---------------------------------------------------------------------------------------
# tables of runs


def run_table(df) -> dict | None:
    """``{canonical: column}`` (N, D, C, loss, run) when ``df`` is a table of runs -- one
    row per run with model size, data or compute and a loss -- rather than a per-step log;
    ``None`` for a log.

    A table of runs has no step column (or a run column whose every value is distinct), a
    loss, and an N or C column that varies between rows (or a D column that is not a
    per-step token count)."""
    cols = [str(c) for c in df.columns]
    if not cols or len(df) == 0:
        return None
    found = resolve(cols, ["step", "run", "N", "D", "C", "loss"], required=(), ambiguous=())
    one_per_run = "run" in found and len(df) > 1 and bool(df[found["run"]].is_unique)
    if "step" in found and not one_per_run:
        return None
    if "loss" not in found:
        hits = [c for c in cols if loss_split(c)]
        if not hits:
            return None
        found["loss"] = hits[0]
    token_names = {normalize(s) for s in SYNONYMS["tokens"]}
    size = {}
    for canon in ("N", "C", "D"):
        if canon not in found:
            continue
        if canon == "D" and normalize(found["D"]) in token_names and not size:
            continue
        v = _num(df[found[canon]], found[canon])
        v = v[np.isfinite(v)]
        if len(v) and (len(np.unique(v)) > 1 or len(df) == 1 or one_per_run):
            size[canon] = found[canon]
    if not size:
        return None
    out = {**size, "loss": found["loss"]}
    if "run" in found:
        out["run"] = found["run"]
    return out


def run_table_error(path: str, mapping: dict, n_rows: int, notes=()) -> RunTableError:
    """The error for a table of runs given as a log; its ``report`` is what ``inspect``
    prints: ``source, format ('table of runs'), rows, columns, notes``."""
    shown = ", ".join(f"{k} <- {v}" for k, v in mapping.items())
    report = {"source": path, "format": "table of runs", "rows": int(n_rows),
              "columns": {k: [v] for k, v in mapping.items()},
              "notes": list(notes) + [f"a table of runs ({n_rows} rows, one per run: {shown}), "
                                      f"not a training log: fit it as it is"]}
    return RunTableError(f"{path}: a table of runs ({n_rows} rows: {shown}; no step column), "
                         f"not a training log; fit it as it is (read_table reads it)", report)


# ---------------------------------------------------------------------------------------
# wide frame -> parts


def _num(series, name: str | None = None, src: "Source | None" = None,
         count: "Counter | None" = None) -> np.ndarray:
    """A column as float64.  Text cells that are numbers with a unit (``3.1 nats``, ``70M``
    in a count column) are read by :func:`scalelaw.io.units.parse_cells` (noted in
    ``count``); other text that is not a number becomes NaN."""
    import pandas as pd

    if series.dtype.kind in "fiub":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if name is not None:
        from .units import parse_cells

        x, note = parse_cells(series, name, src.decimal if src is not None else ".")
        if x is not None:
            if count is not None:
                msg = f"{src.path}: {note}" if src is not None else note
                if msg not in count.notes:
                    count.notes.append(msg)
            return x
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


class Counter:
    """Accumulates the report while sources are processed."""

    def __init__(self):
        self.dropped = {k: 0 for k in DROP_KEYS}
        self.rows_read = 0
        self.inf_values = 0
        self.columns: dict[str, list[str]] = {}
        self.ignored: list[str] = []
        self.warnings: list[str] = []
        self.notes: list[str] = []

    def merge(self, other: "Counter") -> None:
        """Add what ``other`` counted (one file of a directory, read on its own)."""
        for k, v in other.dropped.items():
            self.dropped[k] += v
        self.rows_read += other.rows_read
        self.inf_values += other.inf_values
        for canon, labels in other.columns.items():
            for lab in labels:
                self.map(canon, lab)
        self.ignored += [c for c in other.ignored if c not in self.ignored]
        self.warnings += other.warnings
        self.notes += other.notes

    def map(self, canon: str, label: str) -> None:
        lst = self.columns.setdefault(canon, [])
        if label not in lst:
            lst.append(label)

    def drop(self, key: str, n: int) -> None:
        self.dropped[key] += int(n)


def source_parts(src: Source, mapping, default_run: str, count: Counter) -> list[Part]:
    """Canonicalize one :class:`Source` into clean per-(run, split) parts."""
    import pandas as pd

    df = src.wide
    n = len(df)
    count.rows_read += n
    for k, v in src.dropped.items():
        count.drop(k, v)
    count.warnings.extend(src.warnings)
    count.notes.extend(n for n in src.notes if n not in count.notes)
    found, losses, ignored = map_columns(df.columns, mapping, src.fixed)
    if n and ("step" not in found or "run" in found):
        # no step column, or a run column: maybe one row per run, not a log
        runs = run_table(df)
        if runs:
            raise run_table_error(src.path, runs, n, src.notes)
    for c in list(ignored) + list(src.ignored):
        lab = src.labels.get(c, c)
        if lab not in count.ignored:
            count.ignored.append(lab)
    lab = lambda c: src.labels.get(c, c)  # noqa: E731
    for canon in ("step", "tokens", "lr"):
        if canon in found:
            count.map(canon, lab(found[canon]))
    for sp, c in losses:
        count.map(f"loss:{sp}" if src.split is None else f"loss:{src.split}", lab(c))
    for canon in ("run", "split") + RUN_LEVEL:
        if canon in found:
            count.map(canon, lab(found[canon]))
    for canon, v in src.meta.items():
        count.map(canon, v[1])
    if n == 0:
        return []
    if not losses and "lr" not in found and "tokens" not in found:
        raise NotALogError(f"{src.path}: found no loss, lr or tokens column among "
                            f"{show(df.columns, 12)}; map the columns explicitly")

    if "step" in found:
        step = _num(df[found["step"]], found["step"], src, count)
    else:
        step = np.arange(n, dtype=np.float64)
        count.map("step", "<row number>")
        count.warnings.append(f"{src.path}: no step column; using the row number as the step")
    zeros = None

    def col(canon):
        nonlocal zeros
        if canon in found:
            return _num(df[found[canon]], found[canon], src, count)
        if zeros is None:
            zeros = np.full(n, np.nan)
        return zeros

    tokens, lr = col("tokens"), col("lr")
    # run-level quantities: constant per run
    meta_cols = {c: _num(df[found[c]], found[c], src, count) for c in RUN_LEVEL if c in found}

    if "run" in found:
        run_codes, run_names = pd.factorize(df[found["run"]].astype(str), sort=False)
        run_names = [str(r) for r in run_names]
    else:
        run_codes, run_names = None, [src.run or default_run]

    def noinf(arr):
        bad = np.isinf(arr)
        nb = int(bad.sum())
        if nb:
            count.inf_values += nb
            arr = np.where(bad, np.nan, arr)
        return arr

    tokens, lr = noinf(tokens), noinf(lr)
    fin_tl = np.isfinite(tokens) | np.isfinite(lr)
    # rows per split: (split code, loss array, row mask)
    pieces = []
    if "split" in found:
        codes = norm_split(df[found["split"]].to_numpy())
        loss = noinf(_num(df[losses[0][1]], losses[0][1], src, count)) if losses else np.full(n, np.nan)
        any_finite = fin_tl | np.isfinite(loss)
        for sp in (0, 1):
            pieces.append((sp, loss, (codes == sp) & any_finite))
    else:
        forced = None if src.split is None else SPLITS.index(src.split)
        by = {sp: noinf(_num(df[c], c, src, count)) for sp, c in losses}
        if forced is not None and len(by) > 1:
            raise ScalelawError(f"{src.path}: several loss columns in a {src.split} source; "
                                f"map the one to use explicitly")
        if forced is not None and by:
            by = {SPLITS[forced]: next(iter(by.values()))}
        tr, va = by.get("train"), by.get("val")
        fin_tr = fin_tl if tr is None else (fin_tl | np.isfinite(tr))
        if tr is None:
            tr = np.full(n, np.nan)
        if va is not None:
            fin_va = np.isfinite(va)
            pieces.append((0, tr, fin_tr))       # val-only rows go to val, not dropped
            pieces.append((1, va, fin_va))
            any_finite = fin_tr | fin_va
        else:
            pieces.append((0 if forced is None else forced, tr, fin_tr))
            any_finite = fin_tr
    nfin = int(any_finite.sum())
    count.drop("nonfinite", n - nfin)

    parts = []
    nostep = ~np.isfinite(step)
    for sp, loss, mask in pieces:
        lr_, tok_, m = lr, tokens, mask
        ns = m & nostep
        if ns.any():
            count.drop("no_step", int(ns.sum()))
            m = m & ~nostep
        all_rows = bool(m.all())
        if run_codes is None:
            groups = [(0, None if all_rows else np.flatnonzero(m))]
        else:   # rows of every run from one stable sort (not one full scan per run)
            sel = np.flatnonzero(m & (run_codes >= 0))   # code -1: no run label
            order = sel[np.argsort(run_codes[sel], kind="stable")]
            bounds = np.r_[0, np.cumsum(np.bincount(run_codes[sel], minlength=len(run_names)))]
            groups = [(code, order[bounds[code]:bounds[code + 1]]) for code in range(len(run_names))]
        for code, idx in groups:
            take = (lambda a: a) if idx is None else (lambda a, idx=idx: a[idx])
            st = take(step)
            if len(st) == 0:
                continue
            name = run_names[code]
            meta = {}
            for c, arr in meta_cols.items():
                v = take(arr)
                v = v[np.isfinite(v)]
                if len(v):
                    meta[c] = float(v[-1])
            for c, (v, _label) in src.meta.items():
                meta.setdefault(c, v)
            parts.append(_clean_part(name, sp, st, take(tok_), take(lr_), take(loss), meta, count,
                                     src.path))
    return [p for p in parts if len(p.step)]


def _clean_part(run, split, step, tokens, lr, loss, meta, count: Counter, path) -> Part:
    """Resume handling, duplicate merging and integer steps for one (run, split)."""
    import pandas as pd

    if len(step) > 1 and not (np.diff(step) > 0).all():
        idx, nres = resume_order(step)
        count.drop("resumed", nres)
        step, tokens, lr, loss = step[idx], tokens[idx], lr[idx], loss[idx]
        if len(step) > 1 and (step[1:] == step[:-1]).any():
            # same step logged on several rows: merge, the last finite value of each wins
            g = pd.DataFrame({"tokens": tokens, "lr": lr, "loss": loss}).groupby(step, sort=True).last()
            count.drop("duplicate_step", len(step) - len(g))
            step = g.index.to_numpy(dtype=np.float64)
            tokens, lr, loss = (g[c].to_numpy(dtype=np.float64) for c in ("tokens", "lr", "loss"))
    if len(step) and (np.abs(step[[0, -1]]) > 2.0 ** 62).any():
        raise ScalelawError(f"{path}: step {step[np.argmax(np.abs(step))]:.3g} is out of range; "
                            f"is the step column right? map it explicitly")
    istep = step.astype(np.int64)
    if len(step) and not np.array_equal(istep, step):
        raise ScalelawError(f"{path}: steps are not whole numbers (e.g. {step[istep != step][0]}); "
                            f"map the step column explicitly")
    return Part(run, split, istep, np.ascontiguousarray(tokens), np.ascontiguousarray(lr),
                np.ascontiguousarray(loss), meta)
