"""Property-based robustness: truncated, corrupted and random-column files given to every
reader raise ScalelawError (with a one-line message) or read cleanly -- nothing else."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalelaw.errors import ScalelawError
from scalelaw.io import read_log

from test_io_formats import MEGATRON, NANOGPT, write_mlflow_file_store, write_trainer_state
from test_io_tensorboard import scalar_event, tensor_event, write_events

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_SEEDS: dict = {}


def seeds() -> dict:
    """One valid file of every kind, written once: name -> (path, format or None)."""
    if _SEEDS:
        return _SEEDS
    d = tempfile.mkdtemp(prefix="scalelaw-io-seeds-")
    df = pd.DataFrame({"step": np.arange(20), "train/loss": np.linspace(4, 2, 20),
                       "learning_rate": np.full(20, 1e-3), "eval_loss": [np.nan, 3.0] * 10})
    df.to_csv(os.path.join(d, "plain.csv"), index=False)
    df.to_csv(os.path.join(d, "plain.tsv"), sep="\t", index=False)
    df.to_json(os.path.join(d, "plain.jsonl"), orient="records", lines=True)
    df.to_parquet(os.path.join(d, "plain.parquet"))
    pd.DataFrame({"Step": [0, 10, 20], "a - train/loss": [3, 2, 1], "a - train/loss__MIN": [3, 2, 1],
                  "b - train/loss": [4, 3, 2]}).to_csv(os.path.join(d, "wandb.csv"), index=False)
    hf = write_trainer_state(os.path.join(d, "hf"))
    tb = write_events(os.path.join(d, "tb"), [scalar_event(s, "loss", 3.0 - s / 50) for s in range(40)]
                      + [tensor_event(s, "eval/loss", 2.0, first=(s == 0)) for s in range(0, 40, 10)])
    ml = write_mlflow_file_store(d, {"r1": ("run", {"loss": [(1, 2.0, 0), (2, 1.5, 1)]})})
    mlm = os.path.join(ml, "0", "r1", "metrics", "loss")
    db = os.path.join(d, "mlflow.db")
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE metrics (key TEXT, value FLOAT, timestamp INT, run_uuid TEXT, step INT, is_nan BOOL)")
    con.executemany("INSERT INTO metrics VALUES (?,?,?,?,?,?)", [("loss", 3.0 - s / 10, s, "u", s, 0) for s in range(30)])
    con.commit()
    con.close()
    with open(os.path.join(d, "nanogpt.log"), "w") as f:
        f.write(NANOGPT + MEGATRON)
    os.makedirs(os.path.join(d, "lightning", "version_0"))
    with open(os.path.join(d, "lightning", "version_0", "metrics.csv"), "w") as f:
        f.write("epoch,step,train_loss_step,val_loss,lr-Adam\n0,0,3.0,,0.1\n0,0,,3.1,\n0,1,2.9,,0.1\n")
    _SEEDS.update({
        "csv": (os.path.join(d, "plain.csv"), None), "tsv": (os.path.join(d, "plain.tsv"), None),
        "jsonl": (os.path.join(d, "plain.jsonl"), None), "parquet": (os.path.join(d, "plain.parquet"), None),
        "wandb": (os.path.join(d, "wandb.csv"), "wandb-csv"), "hf": (hf, "hf"), "tb": (tb, "tensorboard"),
        "mlflow-metric": (mlm, None), "sqlite": (db, "mlflow-sqlite"),
        "text": (os.path.join(d, "nanogpt.log"), "text"),
        "lightning": (os.path.join(d, "lightning", "version_0", "metrics.csv"), "lightning"),
    })
    return _SEEDS


def check(path, fmt):
    """read_log either succeeds with the tidy frame or raises a one-line ScalelawError."""
    for f in (fmt, None) if fmt else (None,):
        try:
            df = read_log(path, format=f)
        except ScalelawError as e:
            msg = str(e)
            assert msg and "\n" not in msg and "Traceback" not in msg
            continue
        assert list(df.columns[:6]) == ["run", "step", "tokens", "lr", "loss", "split"]
        assert df["step"].dtype == np.int64
        assert len(df) > 0
        g = df.groupby(["run", "split"], observed=True)["step"]
        assert g.apply(lambda s: bool((np.diff(s.to_numpy()) > 0).all())).all()
        m = df[["tokens", "lr", "loss"]].to_numpy()
        assert not np.isinf(m).any()
        assert np.isfinite(m).any(axis=1).all()


KINDS = sorted(["csv", "tsv", "jsonl", "parquet", "wandb", "hf", "tb", "mlflow-metric", "sqlite",
                "text", "lightning"])


def _mutated(tmp, kind, data: bytes, name: str) -> str:
    src = seeds()[kind][0] if kind in seeds() else None
    out = os.path.join(tmp, kind)
    os.makedirs(out, exist_ok=True)
    if kind == "mlflow-metric":
        # mutate one metric file inside a copy of the whole store
        root = src.split(os.sep + "mlruns" + os.sep)[0]
        dst = os.path.join(out, "store")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(os.path.join(root, "mlruns"), os.path.join(dst, "mlruns"))
        p = os.path.join(dst, "mlruns", "0", "r1", "metrics", "loss")
        with open(p, "wb") as f:
            f.write(data)
        return os.path.join(dst, "mlruns")
    p = os.path.join(out, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


@SETTINGS
@given(kind=st.sampled_from(KINDS), frac=st.floats(0, 1))
def test_truncated_files(tmp_path, kind, frac):
    src, fmt = seeds()[kind]
    data = open(src, "rb").read()
    path = _mutated(str(tmp_path), kind, data[: int(len(data) * frac)], os.path.basename(src))
    check(path, fmt)


@SETTINGS
@given(kind=st.sampled_from(KINDS), edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=8)),
                                                   min_size=1, max_size=4))
def test_corrupted_files(tmp_path, kind, edits):
    src, fmt = seeds()[kind]
    data = bytearray(open(src, "rb").read())
    for where, junk in edits:
        i = int(where * max(len(data) - 1, 0))
        data[i:i + len(junk)] = junk
    path = _mutated(str(tmp_path), kind, bytes(data), os.path.basename(src))
    check(path, fmt)


@SETTINGS
@given(kind=st.sampled_from(KINDS + ["plain.json"]), data=st.binary(max_size=300))
def test_garbage_files(tmp_path, kind, data):
    name = kind if kind == "plain.json" else os.path.basename(seeds()[kind][0])
    fmt = None if kind == "plain.json" else seeds()[kind][1]
    path = _mutated(str(tmp_path), kind if kind != "plain.json" else "json", data, name)
    check(path, fmt)


NAMES = ["step", "_step", "Step", "iter", "global_step", "loss", "train/loss", "val/loss", "eval_loss",
         "lm loss", "lr", "learning_rate", "tokens", "run", "split", "epoch", "x", "y", "", "loss.1"]
CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12),
                  st.sampled_from(["", "nan", "inf", "-inf", "abc", "train", "val", "1e-3", "N/A"]))


@SETTINGS
@given(cols=st.lists(st.sampled_from(NAMES), min_size=1, max_size=5),
       rows=st.lists(st.lists(CELLS, min_size=5, max_size=5), max_size=12),
       ext=st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_random_columns(tmp_path, cols, rows, ext):
    df = pd.DataFrame([r[: len(cols)] for r in rows], columns=range(len(cols)))
    df.columns = cols
    p = tmp_path / f"rand{ext}"
    if ext == ".jsonl":
        with open(p, "w") as f:
            for r in rows:
                f.write(json.dumps({c: v for c, v in zip(cols, r)}, allow_nan=True) + "\n")
    else:
        df.to_csv(p, sep="\t" if ext == ".tsv" else ",", index=False)
    check(p, None)


def test_seeds_read_cleanly():
    # the unmutated seeds are valid: the properties above really exercise the readers
    for kind, (path, fmt) in seeds().items():
        if kind == "mlflow-metric":
            path = path.split(os.sep + "0" + os.sep)[0]
        df = read_log(path, format=fmt)
        assert len(df) > 0, kind


@pytest.mark.parametrize("fmt", ["hf", "tensorboard", "mlflow-sqlite", "wandb-csv", "lightning", "text", "table"])
def test_wrong_forced_format_is_a_clean_error(fmt):
    path = seeds()["csv"][0] if fmt != "table" else seeds()["tb"][0]
    if fmt in ("lightning", "text"):
        path = seeds()["tb"][0]
    with pytest.raises(ScalelawError):
        read_log(path, format=fmt)
