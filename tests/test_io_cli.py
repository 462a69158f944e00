"""`scalelaw inspect`."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from scalelaw.cli import main


def test_inspect_text_and_json(tmp_path, capsys):
    p = tmp_path / "run7.csv"
    pd.DataFrame({"global_step": [0, 10, 20, 10, 20, 30], "train/loss": [4.0, 3.0, 2.5, 3.1, 2.6, np.nan],
                  "lr": [1e-3] * 6, "_runtime": [1, 2, 3, 4, 5, 6]}).to_csv(p, index=False)
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr().out
    assert "format   table" in out
    assert "step        <- global_step" in out and "loss:train  <- train/loss" in out
    assert "run7: steps 0..30, train 4" in out
    assert "superseded by a resumed segment" in out and "_runtime" in out
    assert main(["inspect", str(p), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["format"] == "table" and rep["dropped"]["resumed"] == 1
    assert rep["dropped"]["duplicate_step"] == 1
    assert rep["runs"]["run7"] == {"rows": 4, "splits": {"train": 4}, "step_min": 0, "step_max": 30}
    assert rep["columns"]["lr"] == ["lr"]


def test_inspect_options_and_mapping(tmp_path, capsys):
    p = tmp_path / "r.csv"
    pd.DataFrame({"it": range(10), "obj": np.linspace(3, 2, 10)}).to_csv(p, index=False)
    assert main(["inspect", str(p), "--column", "step=it", "--column", "loss=obj", "--warmup", "2",
                 "--max-points", "3", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["columns"] == {"step": ["it"], "loss:train": ["obj"]}
    assert rep["dropped"]["min_step"] == 2 and rep["dropped"]["downsampled"] == 5
    assert rep["runs"]["r"]["step_min"] == 2 and rep["runs"]["r"]["step_max"] == 9


def test_inspect_user_errors_exit_2_with_one_line(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scalelaw inspect: error: file not found") and err.count("\n") == 1
    p = tmp_path / "r.csv"
    p.write_text("step,loss\n1,2\n")
    assert main(["inspect", str(p), "--column", "loss"]) == 2
    assert "CANON=SOURCE" in capsys.readouterr().err
    assert main(["inspect", str(p), "--smooth", "boxcar"]) == 2
    assert "bad smoothing" in capsys.readouterr().err
    (tmp_path / "g.bin").write_bytes(b"\x00\x01\x02garbage")
    assert main(["inspect", str(tmp_path / "g.bin")]) == 2
    assert "error" in capsys.readouterr().err


def test_inspect_help_lists_every_smoothing_kind(capsys):
    assert main(["inspect", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "ema[:alpha]" in out and "median[:window]" in out and "lowess[:frac]" in out
    assert "--split" in out and "--N" in out and "'-': standard input" in out
