"""Plain-text training logs of nanoGPT-, litgpt- and Megatron-style trainers.

Each line with a step number (``iter 100``, ``step 100``, ``iteration 100/ 5000``) and
``name value`` / ``name: value`` / ``name=value`` pairs becomes a point; pairs are split on
``|`` and ``,``.  Recognized names (case-insensitive): train loss ``loss``, ``lm loss``,
``train loss``, ``loss train``; val loss ``val loss``, ``eval loss``, ``validation loss``,
the ``val`` after ``loss train: x,`` (litgpt), and any loss on a Megatron
``validation loss at iteration N`` line; lr ``lr``, ``learning rate``; tokens
``tokens``, ``tokens seen``, ``consumed tokens``.  Other numbers (time, mfu, grad norm) are
ignored and listed in the report.  Examples::

    iter 100: loss 2.3100, time 12.34ms, mfu 30.00%                      (nanoGPT)
    step 500: train loss 2.2000, val loss 2.3000                         (nanoGPT eval)
    Epoch 1 | iter 100 step 50 | loss train: 2.310, val: n/a | ...        (litgpt)
     iteration      100/  500000 | ... | learning rate: 3.000E-04 | ... | lm loss: 2.310000E+00 |
     validation loss at iteration 1000 | lm loss value: 2.300000E+00 | ...   (Megatron)
"""
from __future__ import annotations

import re

from ._frame import Source
from .columns import normalize

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf"
_STEP = re.compile(r"\b(?:iter|iters|iteration|step|global[_ ]step)\s*[:=#]?\s*(\d+)\b", re.I)
_PAIR = re.compile(r"([A-Za-z][A-Za-z _/\-]*?)\s*[:=]?\s*(" + _NUM + r")(?![\w.])", re.I)
_VAL_LINE = re.compile(r"\b(validation|valid|eval|evaluation)\b[^|]*\b(at\s+)?(iter|iteration|step)", re.I)

_TRAIN = {"loss", "lmloss", "trainloss", "losstrain", "trainingloss"}
_VAL = {"valloss", "evalloss", "validationloss", "lossval", "val", "lmlossvalue", "validloss"}
_LR = {"lr", "learningrate"}
_TOK = {"tokens", "tokensseen", "consumedtokens", "numtokens", "totaltokens"}


def _key(name: str) -> str:
    return normalize(name).replace("/", "")


def sniff(head: str) -> bool:
    """True if ``head`` (the start of a file) has a trainer log line."""
    for line in head.splitlines()[:200]:
        if _STEP.search(line) and re.search(r"loss|learning|lr\b", line, re.I):
            return True
    return False


def source(path: str, run: str) -> Source:
    import numpy as np
    import pandas as pd

    steps, tr, va, lrs, toks = [], [], [], [], []
    ignored: dict[str, None] = {}
    seen: dict[str, str] = {}
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            m = _STEP.search(line)
            if not m:
                continue
            val_line = bool(_VAL_LINE.search(line))
            rec = {}
            for seg in re.split(r"[|,]", line):
                seg = _STEP.sub(" ", seg)
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
            tr.append(rec.get("train", np.nan))
            va.append(rec.get("val", np.nan))
            lrs.append(rec.get("lr", np.nan))
            toks.append(rec.get("tokens", np.nan))
    df = pd.DataFrame({"step": np.asarray(steps, dtype=np.float64), "loss": tr, "val_loss": va,
                       "lr": lrs, "tokens": toks})
    labels = {"loss": seen.get("train", "loss"), "val_loss": seen.get("val", "val loss"),
              "lr": seen.get("lr", "lr"), "tokens": seen.get("tokens", "tokens"),
              "step": "iter/step N"}
    keep = ["step"] + [c for c, s in (("loss", "train"), ("val_loss", "val"), ("lr", "lr"),
                                      ("tokens", "tokens")) if s in seen]
    df = df[keep]
    return Source(df, path, run=run,
                  fixed={"step": "step", **{c: c for c in ("lr", "tokens") if c in keep}},
                  labels=labels, ignored=list(ignored)[:20])
