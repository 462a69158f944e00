"""Plain-text training logs of nanoGPT-, build-nanogpt-, litgpt- and Megatron-style trainers.

Each line with a step number (``iter 100``, ``step 100``, ``iteration 100/ 5000``) and
``name value`` / ``name: value`` / ``name=value`` pairs becomes a point; pairs are split on
``|`` and ``,``.  Recognized names (case-insensitive): train loss ``loss``, ``lm loss``,
``train loss``, ``loss train``; val loss ``val loss``, ``eval loss``, ``validation loss``,
the ``val`` after ``loss train: x,`` (litgpt), and any loss on a Megatron
``validation loss at iteration N`` line; lr ``lr``, ``learning rate``; tokens
``tokens``, ``tokens seen``, ``consumed tokens``, ``num tokens``.  Other numbers (time,
mfu, grad norm) are ignored and listed in the report.  Examples::

    iter 100: loss 2.3100, time 12.34ms, mfu 30.00%                      (nanoGPT)
    step 500: train loss 2.2000, val loss 2.3000                         (nanoGPT eval)
    step   250 | loss: 3.520000 | lr 6.0000e-04 | norm: 0.31 | dt: ...   (build-nanogpt)
    validation loss: 3.4100                                              (build-nanogpt, no step)
    250 val 3.4100                                                       (build-nanogpt log.txt)
    Epoch 1 | iter 100 step 50 | loss train: 2.310, val: n/a | ...        (litgpt)
     iteration      100/  500000 | ... | learning rate: 3.000E-04 | ... | lm loss: 2.310000E+00 |
     validation loss at iteration 1000 | lm loss value: 2.300000E+00 | ...   (Megatron)

Also:

* ``<step> <key> <value>`` lines (build-nanogpt's ``log.txt``): ``train`` is the train loss,
  ``val`` the val loss; other keys (``hella``) are listed in the report, not read.
* A val-loss line without a step (build-nanogpt prints ``validation loss: x`` before the
  step's update) gets the step of the next step line when such lines come before the
  first step line, else the step of the line before it; the report says which.
* Parameter-count lines set the run's ``N`` and the report says what the line counted:
  ``num decayed parameter tensors: 50, with 124,354,560 parameters`` (+ the non-decayed
  line: their sum is every parameter, embeddings included), nanoGPT's ``number of
  parameters: 124.35M`` (all but the position embeddings), Megatron's per-rank ``number of
  parameters on (tensor, pipeline) model parallel rank (0, 0): N`` (summed over ranks),
  ``Total parameters: N``, ``trainable params: a || all params: b`` (b), ``non-embedding
  parameters: N``.
* Command lines echoed by launchers (``--lr 0.00015 --train-iters 1000``) are not data: a
  step word right after ``-`` or ``_`` is not a step, and a line with two or more
  ``--options`` is skipped.
* Terminal colour codes are stripped; DeepSpeed's ``step=100, ... lr=[0.0003]`` and
  ``steps: 100 loss: 3.2`` are read.
* Lines over 1 MiB are skipped (counted in a warning); values are kept in typed arrays, so
  memory stays a small multiple of the file's size.
"""
from __future__ import annotations

import re
from array import array

from ._frame import Source
from .columns import normalize

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf"
# a step word that is not part of a longer name or option (--train-iters, lr_decay_iters)
_STEP = re.compile(r"(?<![\w-])(?:iter|iters|iteration|step|global[_ ]step)\s*[:=#]?\s*(\d+)\b", re.I)
# DeepSpeed's "steps: 300 loss: 3.01 ...", only at the start of a line ("total steps: 1000,
# lr: 3e-4" in a config print-out is not a point)
_STEPS_LEAD = re.compile(r"^\s*steps\s*:\s*(\d+)\b", re.I)
# "name value", "name: value", "name=value", "name=[value]" (DeepSpeed's lr=[0.0003])
_PAIR = re.compile(r"([A-Za-z][A-Za-z _/\-]*?)\s*[:=]?\s*\[?\s*(" + _NUM + r")(?![\w.])", re.I)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_VAL_LINE = re.compile(r"\b(validation|valid|eval|evaluation)\b[^|]*\b(at\s+)?(iter|iteration|step)", re.I)
_FLAG = re.compile(r"(?:^|\s)--[A-Za-z][\w-]*")
# build-nanogpt log.txt: "250 val 3.41"
_LONG = re.compile(r"^\s*(\d+)\s+([A-Za-z][\w/.\-]*)\s*[:=]?\s+(" + _NUM + r")\s*$", re.I)
# a val loss on a line without a step: "validation loss: 3.41"
_STEPLESS_VAL = re.compile(r"^\W*(?:validation|valid|val|eval|evaluation)[ _]loss\s*[:=]?\s*(" + _NUM + r")(?![\w.])", re.I)

_TRAIN = {"loss", "lmloss", "trainloss", "losstrain", "trainingloss"}
_VAL = {"valloss", "evalloss", "validationloss", "lossval", "val", "lmlossvalue", "validloss"}
_LR = {"lr", "learningrate"}
_TOK = {"tokens", "tokensseen", "consumedtokens", "numtokens", "totaltokens"}
_LONG_TRAIN = _TRAIN | {"train", "training"}
_LONG_VAL = (_VAL - {"lmlossvalue"}) | {"valid", "validation", "eval"}

_MAX_LINE = 1 << 20

# parameter counts: (kind, regex); the number is group "n", an optional M/B/K suffix "u"
_COUNT = r"(?P<n>\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(?P<u>[KMBTkmbt](?![A-Za-z]))?"
_PARAM_LINES = [
    ("decayed", re.compile(r"num decayed parameter tensors:\s*\d+,\s*with\s+" + _COUNT + r"\s*param", re.I)),
    ("nondecayed", re.compile(r"num non-decayed parameter tensors:\s*\d+,\s*with\s+" + _COUNT + r"\s*param", re.I)),
    ("rank", re.compile(r"number of parameters on \(tensor, pipeline\) model parallel rank "
                        r"\((?P<t>\d+),\s*(?P<p>\d+)\)\s*:\s*" + _COUNT, re.I)),
    ("peft", re.compile(r"trainable params:\s*[\d,]+\s*\|\|\s*all params:\s*" + _COUNT, re.I)),
    ("nonembedding", re.compile(r"(?:number of |num |n_?|total )?non[- _]?embedding param(?:eter)?s?"
                                r"(?: count)?\s*[:=]\s*" + _COUNT, re.I)),
    ("nanogpt", re.compile(r"^\s*number of parameters:\s*(?P<n>\d+(?:\.\d+)?)(?P<u>M)\s*$", re.I)),
    ("total", re.compile(r"(?:total|all|model)\s+(?:number of\s+)?param(?:eter)?s?(?: count)?\s*[:=]\s*" + _COUNT, re.I)),
    ("generic", re.compile(r"(?:^|\W)(?:number of|num|n|#)[\s_]*(?:model[\s_]+)?param(?:eter)?s?(?: count)?\s*[:=]\s*" + _COUNT, re.I)),
    ("trainable", re.compile(r"(?:number of\s+)?trainable\s+param(?:eter)?s?\s*[:=]\s*" + _COUNT, re.I)),
]
_MEANING = {
    "decayed": "the weight-decayed parameter group only (weight matrices and embeddings; "
               "biases and norms not counted)",
    "sum": "every parameter, embeddings included (the sum of the decayed and non-decayed "
           "groups printed by the optimizer setup)",
    "rank": "the sum over the model-parallel ranks that printed a count (replicated "
            "parameters are counted once per rank); total parameters, embeddings included",
    "peft": "all parameters of the model (not only the trainable adapter)",
    "nonembedding": "non-embedding parameters, as the line states",
    "nanogpt": "nanoGPT's count: every parameter except the position embeddings (token "
               "embeddings counted, tied with the output layer); rounded to 0.01M",
    "total": "total parameters, as the line states (embeddings included)",
    "generic": "parameters as the line states (total unless the trainer says otherwise)",
    "trainable": "trainable parameters only (frozen ones not counted)",
}
_PRIORITY = ("nonembedding", "sum", "rank", "peft", "total", "nanogpt", "generic", "decayed", "trainable")


def _key(name: str) -> str:
    return normalize(name).replace("/", "")


def sniff(head: str) -> bool:
    """True if ``head`` (the start of a file) has a trainer log line."""
    long_lines = 0
    for line in head.splitlines()[:200]:
        if _STEP.search(line) and re.search(r"loss|learning|lr\b", line, re.I) and not _is_command(line):
            return True
        m = _LONG.match(line)
        if m and _key(m.group(2)) in (_LONG_TRAIN | _LONG_VAL | _LR):
            long_lines += 1
            if long_lines >= 2:
                return True
    return False


def _is_command(line: str) -> bool:
    return len(_FLAG.findall(line)) >= 2


def _count(m) -> float:
    v = float(m.group("n").replace(",", ""))
    u = (m.group("u") or "").upper()
    return v * {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[u]


def _param_line(line: str, found: dict) -> bool:
    low = line.lower()
    if "param" not in low:
        return False
    for kind, rx in _PARAM_LINES:
        m = rx.search(line)
        if m is None:
            continue
        v = _count(m)
        if kind == "rank":
            found.setdefault("rank", {})[(m.group("t"), m.group("p"))] = v
        else:
            found.setdefault(kind, []).append((v, line.strip()[:120]))
        return True
    return False


def _params_meta(found: dict, path: str):
    """The run's N and a note saying what the line counted, from the parameter lines."""
    if not found:
        return None, None
    cand = {}
    if "decayed" in found and "nondecayed" in found:
        cand["sum"] = (found["decayed"][-1][0] + found["nondecayed"][-1][0],
                       f"{found['decayed'][-1][1]!r} + {found['nondecayed'][-1][1]!r}")
    if "rank" in found:
        ranks = found["rank"]
        cand["rank"] = (float(sum(ranks.values())),
                        f"'number of parameters on (tensor, pipeline) model parallel rank' "
                        f"({len(ranks)} rank(s))")
    for kind in ("nonembedding", "peft", "total", "nanogpt", "generic", "decayed", "trainable"):
        if kind in found:
            cand[kind] = (found[kind][-1][0], repr(found[kind][-1][1]))
    for kind in _PRIORITY:
        if kind in cand:
            v, line = cand[kind]
            meaning = _MEANING[kind]
            note = f"{path}: N = {v:,.0f} from {line}: {meaning}"
            label = "parameter-count line" + (" (non-embedding)" if kind == "nonembedding" else "")
            return (v, label), note
    return None, None


def source(path: str, run: str) -> Source:
    import numpy as np
    import pandas as pd

    steps = array("q")
    tr, va, lrs, toks = array("d"), array("d"), array("d"), array("d")
    nan = float("nan")
    ignored: dict[str, None] = {}
    seen: dict[str, str] = {}
    long_extra: dict[str, int] = {}
    stepless: list[tuple[int, float]] = []     # (index of the next step row, val loss)
    params: dict = {}
    n_command = n_long_lines = 0
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        while True:
            line = f.readline(_MAX_LINE)
            if not line:
                break
            if len(line) >= _MAX_LINE and not line.endswith("\n"):
                n_long_lines += 1
                while True:
                    rest = f.readline(_MAX_LINE)
                    if not rest or rest.endswith("\n"):
                        break
                continue
            if "\x1b" in line:
                line = _ANSI.sub("", line)      # colours of rich/loguru-style loggers
            if "--" in line and _is_command(line):
                if any(ch.isdigit() for ch in line):
                    n_command += 1
                continue
            m = _STEP.search(line) or _STEPS_LEAD.match(line)
            if not m:
                lm = _LONG.match(line)
                if lm:
                    k = _key(lm.group(2))
                    slot = ("train" if k in _LONG_TRAIN else "val" if k in _LONG_VAL
                            else "lr" if k in _LR else "tokens" if k in _TOK else None)
                    try:
                        v = float(lm.group(3))
                    except ValueError:
                        continue
                    if slot is None:
                        long_extra[lm.group(2)] = long_extra.get(lm.group(2), 0) + 1
                        continue
                    steps.append(int(lm.group(1)))
                    for s, arr in (("train", tr), ("val", va), ("lr", lrs), ("tokens", toks)):
                        arr.append(v if s == slot else nan)
                    seen.setdefault(slot, f"<step> {lm.group(2)} <value>")
                    continue
                sv = _STEPLESS_VAL.match(line)
                if sv:
                    try:
                        stepless.append((len(steps), float(sv.group(1))))
                    except ValueError:
                        pass
                    continue
                _param_line(line, params)
                continue
            val_line = bool(_VAL_LINE.search(line))
            rec = {}
            for seg in re.split(r"[|,]", line):
                seg = _STEPS_LEAD.sub(" ", _STEP.sub(" ", seg))
                for name, value in _PAIR.findall(seg):
                    k = _key(name)
                    if k.startswith("epoch"):
                        continue
                    try:
                        v = float(value)
                    except ValueError:
                        continue
                    if k in _LR:
                        slot = "lr"
                    elif k in _TOK:
                        slot = "tokens"
                    elif k in _VAL or (val_line and k in _TRAIN):
                        slot = "val"
                    elif k in _TRAIN:
                        slot = "train"
                    else:
                        ignored[name.strip()] = None
                        continue
                    rec.setdefault(slot, v)
                    seen.setdefault(slot, name.strip())
            if not rec:
                continue
            steps.append(int(m.group(1)))
            tr.append(rec.get("train", nan))
            va.append(rec.get("val", nan))
            lrs.append(rec.get("lr", nan))
            toks.append(rec.get("tokens", nan))
    notes, warnings = [], []
    cols = {"step": np.frombuffer(steps, dtype=np.int64).astype(np.float64)}
    for name, arr in (("loss", tr), ("val_loss", va), ("lr", lrs), ("tokens", toks)):
        cols[name] = np.frombuffer(arr, dtype=np.float64)
    if stepless and len(steps):
        # each goes where it was in the file, with the step of its neighbouring step line
        pos = np.array([i for i, _ in stepless], dtype=np.int64)
        after = bool(pos[0] == 0)      # before the first step line: evaluated before that step
        src = np.clip(pos if after else pos - 1, 0, len(steps) - 1)
        vals = np.array([v for _, v in stepless])
        cols["step"] = np.insert(cols["step"], pos, cols["step"][src])
        for name in ("loss", "lr", "tokens"):
            cols[name] = np.insert(cols[name], pos, np.nan)
        cols["val_loss"] = np.insert(cols["val_loss"], pos, vals)
        seen.setdefault("val", "validation loss (no step)")
        notes.append(f"{path}: {len(pos)} val-loss line(s) without a step were given the step of "
                     f"the {'next' if after else 'previous'} step line (they come "
                     f"{'before' if after else 'after'} it in the log)")
    elif stepless:
        notes.append(f"{path}: {len(stepless)} val-loss line(s) without a step and no step "
                     f"line to place them: not read")
    if long_extra:
        notes.append(f"{path}: <step> <key> <value> lines of other keys not read: "
                     + ", ".join(f"{k} ({n})" for k, n in list(long_extra.items())[:10]))
        for k in long_extra:
            ignored[k] = None
    if n_command:
        notes.append(f"{path}: {n_command} command-line line(s) (--option value ...) skipped: "
                     f"echoed options are not data")
    if n_long_lines:
        warnings.append(f"{path}: {n_long_lines} line(s) over {_MAX_LINE // 1024} KiB skipped")
    meta = {}
    nmeta, note = _params_meta(params, path)
    if nmeta is not None:
        meta["N"] = nmeta
        notes.append(note)
    df = pd.DataFrame(cols, copy=False)
    labels = {"loss": seen.get("train", "loss"), "val_loss": seen.get("val", "val loss"),
              "lr": seen.get("lr", "lr"), "tokens": seen.get("tokens", "tokens"),
              "step": "iter/step N"}
    keep = ["step"] + [c for c, s in (("loss", "train"), ("val_loss", "val"), ("lr", "lr"),
                                      ("tokens", "tokens")) if s in seen]
    df = df[keep]
    return Source(df, path, run=run,
                  fixed={"step": "step", **{c: c for c in ("lr", "tokens") if c in keep}},
                  labels=labels, ignored=list(ignored)[:20], meta=meta, notes=notes,
                  warnings=warnings)
