"""read_log on every supported format; fixtures are written by the tests themselves."""
from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

from scalelaw.errors import ScalelawError
from scalelaw.io import detect_format, read_log, read_table


def rep(df):
    return df.attrs["scalelaw"]


# ---------------------------------------------------------------------------------------
# plain tables


def test_plain_csv_keeps_lr_only_rows(tmp_path):
    p = tmp_path / "cosine_run.csv"
    p.write_text("step,lr,loss\n0,0.0,\n1,1e-4,\n2,2e-4,3.5\n3,3e-4,\n4,2.5e-4,3.1\n,,\n")
    df = read_log(p)
    assert list(df.columns) == ["run", "step", "tokens", "lr", "loss", "split"]
    assert df["run"].unique().tolist() == ["cosine_run"]
    assert df["step"].tolist() == [0, 1, 2, 3, 4]
    assert df["step"].dtype == np.int64
    np.testing.assert_allclose(df["lr"], [0, 1e-4, 2e-4, 3e-4, 2.5e-4])
    assert df["loss"].isna().tolist() == [True, True, False, True, False]
    assert (df["split"] == "train").all()
    r = rep(df)
    assert r["format"] == "table"
    assert r["columns"] == {"step": ["step"], "lr": ["lr"], "loss:train": ["loss"]}
    assert r["dropped"]["nonfinite"] == 1   # the all-empty row only
    assert r["rows_read"] == 6 and r["rows"] == 5


@pytest.mark.parametrize("names", [
    ("_step", "train/loss", "train/learning_rate", "num_input_tokens_seen"),
    ("iter", "lm loss", "learning-rate", "tokens"),
    ("global_step", "train_loss", "Learning_Rate", "total_tokens"),
    ("Step", "LOSS", "LR", "Tokens"),
])
def test_synonyms_case_insensitive(tmp_path, names):
    s, lo, lr, tok = names
    pd.DataFrame({s: [10, 20, 30], lo: [3.0, 2.5, 2.0], lr: [1e-3, 8e-4, 5e-4],
                  tok: [1e4, 2e4, 3e4]}).to_csv(tmp_path / "r.csv", index=False)
    df = read_log(tmp_path / "r.csv")
    assert df["step"].tolist() == [10, 20, 30]
    assert df["loss"].tolist() == [3.0, 2.5, 2.0]
    assert df["lr"].tolist() == [1e-3, 8e-4, 5e-4]
    assert df["tokens"].tolist() == [1e4, 2e4, 3e4]
    assert rep(df)["columns"]["loss:train"] == [lo]


def test_val_loss_columns_become_val_rows(tmp_path):
    pd.DataFrame({"step": [1, 2, 3, 4], "train/loss": [4.0, 3.0, 2.5, 2.2],
                  "val/loss": [np.nan, 3.3, np.nan, 2.6], "lr": [1, 1, 0.5, 0.25]}
                 ).to_csv(tmp_path / "x.csv", index=False)
    df = read_log(tmp_path / "x.csv")
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert tr["step"].tolist() == [1, 2, 3, 4]
    assert va["step"].tolist() == [2, 4]
    assert va["loss"].tolist() == [3.3, 2.6]
    assert va["lr"].tolist() == [1.0, 0.25]  # lr at that step travels with the val point
    assert rep(df)["columns"]["loss:val"] == ["val/loss"]


def test_explicit_mapping_wins(tmp_path):
    pd.DataFrame({"step": [1, 2], "it": [100, 200], "loss": [9.0, 9.0], "my_obj": [2.0, 1.5]}
                 ).to_csv(tmp_path / "m.csv", index=False)
    df = read_log(tmp_path / "m.csv", columns={"step": "it", "loss": "my_obj"})
    assert df["step"].tolist() == [100, 200]
    assert df["loss"].tolist() == [2.0, 1.5]
    r = rep(df)
    assert r["columns"]["step"] == ["it"] and r["columns"]["loss:train"] == ["my_obj"]
    with pytest.raises(ScalelawError, match="not in the table"):
        read_log(tmp_path / "m.csv", columns={"loss": "nope"})
    with pytest.raises(ScalelawError, match="unknown canonical"):
        read_log(tmp_path / "m.csv", columns={"perplexity": "loss"})


def test_tsv_parquet_jsonl_give_the_same_frame(tmp_path):
    src = pd.DataFrame({"step": [0, 5, 10], "loss": [3.0, 2.0, 1.5], "lr": [1e-3, 1e-3, 5e-4]})
    src.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    src.to_parquet(tmp_path / "a.parquet")
    src.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    frames = [read_log(tmp_path / f"a.{e}") for e in ("tsv", "parquet", "jsonl")]
    for f in frames:
        assert f["step"].tolist() == [0, 5, 10]
        assert f["loss"].tolist() == [3.0, 2.0, 1.5]
        assert f["run"].tolist() == ["a"] * 3


def test_run_column_gives_several_runs(tmp_path):
    pd.DataFrame({"run": ["a", "b", "a", "b"], "step": [1, 1, 2, 2], "loss": [3, 4, 2, 3]}
                 ).to_csv(tmp_path / "runs.csv", index=False)
    df = read_log(tmp_path / "runs.csv")
    assert df.groupby("run", observed=True)["loss"].apply(list).to_dict() == {"a": [3, 2], "b": [4, 3]}
    assert set(rep(df)["runs"]) == {"a", "b"}


def test_split_column(tmp_path):
    pd.DataFrame({"step": [1, 1, 2, 2], "split": ["train", "validation", "train", "eval"],
                  "loss": [3.0, 3.5, 2.0, 2.4]}).to_csv(tmp_path / "s.csv", index=False)
    df = read_log(tmp_path / "s.csv")
    assert df[df.split == "val"]["loss"].tolist() == [3.5, 2.4]
    assert df[df.split == "train"]["loss"].tolist() == [3.0, 2.0]


def test_run_level_n_d_c(tmp_path):
    pd.DataFrame({"step": [1, 2], "loss": [3.0, 2.0], "params": [1.2e8, 1.2e8],
                  "flops": [1e18, 1e18]}).to_csv(tmp_path / "m.csv", index=False)
    df = read_log(tmp_path / "m.csv")
    assert df["N"].tolist() == [1.2e8, 1.2e8] and df["C"].tolist() == [1e18, 1e18]
    assert rep(df)["runs"]["m"]["N"] == 1.2e8


# ---------------------------------------------------------------------------------------
# cleaning


def test_cleaning_resume_duplicates_nonfinite(tmp_path):
    # run crashes after step 5, resumes from the step-3 checkpoint; step 7 logged twice
    steps = [1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 7]
    loss = [5.0, 4.0, 3.0, 2.9, 2.8, 3.01, 2.91, 2.81, np.inf, 2.6, 2.55]
    pd.DataFrame({"step": steps, "loss": loss}).to_csv(tmp_path / "r.csv", index=False)
    df = read_log(tmp_path / "r.csv")
    assert df["step"].tolist() == [1, 2, 3, 4, 5, 7]   # step 6 had only an inf
    assert df["loss"].tolist()[:5] == [5.0, 4.0, 3.01, 2.91, 2.81]  # later segment wins
    assert df["loss"].tolist()[-1] == 2.55                          # last duplicate wins
    d = rep(df)["dropped"]
    assert d["resumed"] == 2          # the old steps 4 and 5
    assert d["duplicate_step"] == 2   # old step 3 merged into the new one, step 7 twice
    assert d["nonfinite"] == 1        # step 6: inf and nothing else
    assert rep(df)["inf_values"] == 1


def test_unsorted_unique_steps_are_sorted_not_resumed(tmp_path):
    # no step is logged twice, so a backwards jump is just file order, not a restart
    pd.DataFrame({"step": [30, 10, 20, 40], "loss": [3, 1, 2, 4]}).to_csv(tmp_path / "u.csv", index=False)
    df = read_log(tmp_path / "u.csv")
    assert df["step"].tolist() == [10, 20, 30, 40] and df["loss"].tolist() == [1, 2, 3, 4]
    assert rep(df)["dropped"]["resumed"] == 0


def test_interleaved_runs_are_not_resumes(tmp_path):
    pd.DataFrame({"run": ["a", "b", "a", "b"], "step": [1, 5, 2, 6], "loss": [1, 2, 3, 4]}
                 ).to_csv(tmp_path / "r.csv", index=False)
    df = read_log(tmp_path / "r.csv")
    assert df["step"].tolist() == [1, 2, 5, 6]
    assert rep(df)["dropped"]["resumed"] == 0


def test_warmup_downsample_smoothing(tmp_path):
    n = 101
    pd.DataFrame({"step": np.arange(n), "loss": np.linspace(5, 3, n) + np.where(np.arange(n) % 2, 0.1, -0.1),
                  "lr": np.full(n, 1e-3)}).to_csv(tmp_path / "r.csv", index=False)
    df = read_log(tmp_path / "r.csv", min_step=10)
    assert df["step"].iloc[0] == 10 and len(df) == 91 and rep(df)["dropped"]["min_step"] == 10
    df = read_log(tmp_path / "r.csv", max_points=11)
    assert df["step"].tolist() == list(range(0, 101, 10))
    assert rep(df)["dropped"]["downsampled"] == 90
    df = read_log(tmp_path / "r.csv", smooth="median:3")
    np.testing.assert_allclose(df["loss_raw"], np.linspace(5, 3, n) + np.where(np.arange(n) % 2, 0.1, -0.1))
    y = df["loss_raw"].to_numpy()
    expect = [np.median(y[max(i - 1, 0):i + 2]) for i in range(n)]
    np.testing.assert_allclose(df["loss"], expect)
    df = read_log(tmp_path / "r.csv", smooth="ema:0.5")
    y = df["loss_raw"].to_numpy()
    s, w, out = 0.0, 0.0, []
    for v in y:
        s, w = 0.5 * s + 0.5 * v, 0.5 * w + 0.5
        out.append(s / w)
    np.testing.assert_allclose(df["loss"], out)
    with pytest.raises(ScalelawError, match="smoothing"):
        read_log(tmp_path / "r.csv", smooth="gauss")


def test_noninteger_steps_and_empty_files_are_errors(tmp_path):
    (tmp_path / "f.csv").write_text("step,loss\n0.5,1\n1.5,2\n")
    with pytest.raises(ScalelawError, match="whole numbers"):
        read_log(tmp_path / "f.csv")
    (tmp_path / "e.csv").write_text("step,loss\n")
    with pytest.raises(ScalelawError, match="no data points"):
        read_log(tmp_path / "e.csv")
    (tmp_path / "n.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ScalelawError, match="no loss, lr or tokens"):
        read_log(tmp_path / "n.csv")
    with pytest.raises(ScalelawError, match="not found"):
        read_log(tmp_path / "missing.csv")


def test_read_table_unchanged_semantics(tmp_path):
    (tmp_path / "t.csv").write_text("N;D;loss\n1e6;2e7;3.1\n")
    df = read_table(tmp_path / "t.csv")
    assert df.columns.tolist() == ["N", "D", "loss"] and df["loss"].iloc[0] == 3.1


# ---------------------------------------------------------------------------------------
# W&B


def test_wandb_panel_export(tmp_path):
    p = tmp_path / "wandb_export_2024.csv"
    pd.DataFrame({
        "Step": [0, 100, 200, 300],
        "lr-sweep-1 - train/loss": [4.0, 3.0, 2.5, np.nan],
        "lr-sweep-1 - train/loss__MIN": [3.9, 2.9, 2.4, np.nan],
        "lr-sweep-1 - train/loss__MAX": [4.1, 3.1, 2.6, np.nan],
        "lr-sweep-2 - train/loss": [4.2, 3.3, 2.8, 2.5],
        "lr-sweep-2 - train/loss__MIN": [4.2, 3.3, 2.8, 2.5],
        "lr-sweep-2 - train/loss__MAX": [4.2, 3.3, 2.8, 2.5],
    }).to_csv(p, index=False)
    assert detect_format(p) == "wandb-csv"
    df = read_log(p)
    g = df.groupby("run", observed=True)
    assert g["step"].apply(list).to_dict() == {"lr-sweep-1": [0, 100, 200], "lr-sweep-2": [0, 100, 200, 300]}
    assert g["loss"].apply(list).to_dict()["lr-sweep-2"] == [4.2, 3.3, 2.8, 2.5]
    r = rep(df)
    assert r["format"] == "wandb-csv"
    assert r["columns"]["loss:train"] == ["<run> - train/loss"]
    assert len([c for c in r["ignored"] if c.endswith(("__MIN", "__MAX"))]) == 4


def test_wandb_api_history(tmp_path):
    p = tmp_path / "history.jsonl"
    rows = [{"_step": i, "_runtime": 1.5 * i, "_timestamp": 1.7e9 + i, "train/loss": 4 - 0.1 * i,
             "train/learning_rate": 1e-3, "train/global_step": 10 * i} for i in range(5)]
    rows.append({"_step": 5, "_runtime": 8.0, "_timestamp": 1.7e9 + 5, "eval/loss": 3.7,
                 "train/global_step": 40})
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert detect_format(p) == "wandb-history"
    df = read_log(p, run="sweep-7")
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert tr["step"].tolist() == [0, 10, 20, 30, 40]   # the trainer's step, not _step
    np.testing.assert_allclose(tr["loss"], [4.0, 3.9, 3.8, 3.7, 3.6])
    assert va["step"].tolist() == [40] and va["loss"].tolist() == [3.7]
    assert rep(df)["columns"]["step"] == ["train/global_step"]
    assert "_runtime" in rep(df)["ignored"]


# ---------------------------------------------------------------------------------------
# Hugging Face


def write_trainer_state(d, n_train=5, with_eval=True, tokens=True):
    hist = []
    for i in range(1, n_train + 1):
        row = {"epoch": i / n_train, "grad_norm": 1.0, "learning_rate": 1e-3 * (1 - i / (n_train + 1)),
               "loss": 4.0 / i, "step": 10 * i}
        if tokens:
            row["num_input_tokens_seen"] = 20480 * i
        hist.append(row)
        if with_eval and i % 2 == 0:
            hist.append({"epoch": i / n_train, "eval_loss": 4.2 / i, "eval_runtime": 3.1,
                         "eval_samples_per_second": 100.0, "step": 10 * i})
    hist.append({"epoch": 1.0, "step": 10 * n_train, "total_flos": 3.5e15, "train_loss": 2.0,
                 "train_runtime": 100.0, "train_samples_per_second": 5.0, "train_steps_per_second": 0.5})
    state = {"best_metric": None, "epoch": 1.0, "global_step": 10 * n_train, "log_history": hist,
             "max_steps": 10 * n_train, "total_flos": 3.5e15, "trial_name": None}
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "trainer_state.json")
    with open(p, "w") as f:
        json.dump(state, f, indent=2)
    return p


def test_hf_trainer_state(tmp_path):
    p = write_trainer_state(tmp_path / "gpt2-small")
    assert detect_format(p) == "hf"
    df = read_log(p)
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert tr["step"].tolist() == [10, 20, 30, 40, 50]
    np.testing.assert_allclose(tr["loss"], [4.0, 2.0, 4 / 3, 1.0, 0.8])   # summary row skipped
    np.testing.assert_allclose(tr["tokens"], [20480 * i for i in range(1, 6)])
    np.testing.assert_allclose(tr["lr"], [1e-3 * (1 - i / 6) for i in range(1, 6)])
    np.testing.assert_allclose(va["loss"], [2.1, 1.05])
    assert va["step"].tolist() == [20, 40]
    assert (df["C"] == 3.5e15).all()
    r = rep(df)
    assert df["run"].iloc[0] == "gpt2-small"
    assert r["columns"]["loss:val"] == ["eval_loss"] and r["columns"]["C"] == ["total_flos"]


def test_hf_checkpoint_dir_run_name(tmp_path):
    p = write_trainer_state(tmp_path / "my-run" / "checkpoint-500", with_eval=False)
    assert read_log(p)["run"].iloc[0] == "my-run"


# ---------------------------------------------------------------------------------------
# MLflow


def write_mlflow_file_store(root, runs):
    """runs: {run_id: (name, {key: [(ts, value, step), ...]})}"""
    exp = os.path.join(root, "mlruns", "0")
    os.makedirs(exp, exist_ok=True)
    with open(os.path.join(exp, "meta.yaml"), "w") as f:
        f.write("artifact_location: file:///tmp\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n")
    for rid, (name, metrics) in runs.items():
        rd = os.path.join(exp, rid)
        os.makedirs(os.path.join(rd, "tags"), exist_ok=True)
        os.makedirs(os.path.join(rd, "params"), exist_ok=True)
        with open(os.path.join(rd, "meta.yaml"), "w") as f:
            f.write(f"run_id: {rid}\nrun_name: {name}\nstatus: 3\n")
        with open(os.path.join(rd, "tags", "mlflow.runName"), "w") as f:
            f.write(name)
        for key, pts in metrics.items():
            fp = os.path.join(rd, "metrics", *key.split("/"))
            os.makedirs(os.path.dirname(fp), exist_ok=True)
            with open(fp, "w") as f:
                for ts, v, s in pts:
                    f.write(f"{ts} {v} {s}\n")
    return os.path.join(root, "mlruns")


def test_mlflow_file_store(tmp_path):
    root = write_mlflow_file_store(tmp_path, {
        "a1b2": ("baseline", {"train/loss": [(1000 + s, 4.0 - 0.1 * s, s) for s in range(5)],
                              "lr": [(1000 + s, 1e-3, s) for s in range(0, 5, 2)],
                              "val_loss": [(2000, 3.9, 4)]}),
        "c3d4": ("bigger", {"train/loss": [(1000, 3.5, 0), (1001, 3.0, 1), (1002, 3.2, 0), (1003, 2.9, 1)]}),
    })
    assert detect_format(root) == "mlflow"
    df = read_log(root)
    a = df[(df.run == "baseline") & (df.split == "train")]
    assert a["step"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(a["loss"], [4.0, 3.9, 3.8, 3.7, 3.6])
    assert a["lr"].isna().tolist() == [False, True, False, True, False]
    assert df[(df.run == "baseline") & (df.split == "val")]["loss"].tolist() == [3.9]
    b = df[df.run == "bigger"]
    assert b["loss"].tolist() == [3.2, 2.9]          # the resumed segment wins
    assert rep(df)["dropped"]["resumed"] == 1 and rep(df)["dropped"]["duplicate_step"] == 1
    # a single run directory and an experiment directory read the same run
    one = read_log(os.path.join(root, "0", "a1b2"))
    assert one["run"].unique().tolist() == ["baseline"] and len(one) == 6


def test_mlflow_sqlite_store(tmp_path):
    p = str(tmp_path / "mlflow.db")
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name VARCHAR(250), status VARCHAR(9))")
    con.execute("CREATE TABLE metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, run_uuid VARCHAR(32), "
                "step BIGINT DEFAULT 0, is_nan BOOLEAN DEFAULT 0, PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan))")
    con.execute("INSERT INTO runs VALUES ('r1', 'sqlite-run', 'FINISHED')")
    rows = [("loss", 3.0 - 0.5 * s, 100 + s, "r1", s, 0) for s in range(4)]
    rows += [("learning_rate", 1e-3, 100 + s, "r1", s, 0) for s in range(4)]
    rows += [("eval_loss", 0.0, 200, "r1", 3, 1)]  # logged NaN
    con.executemany("INSERT INTO metrics VALUES (?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    assert detect_format(p) == "mlflow-sqlite"
    df = read_log(p)
    assert df["run"].unique().tolist() == ["sqlite-run"]
    assert df["step"].tolist() == [0, 1, 2, 3]
    assert df["loss"].tolist() == [3.0, 2.5, 2.0, 1.5]
    assert (df["split"] == "train").all()   # the only eval point is NaN


# ---------------------------------------------------------------------------------------
# Lightning and text logs


def test_lightning_metrics_csv(tmp_path):
    d = tmp_path / "lightning_logs" / "version_3"
    d.mkdir(parents=True)
    (d / "metrics.csv").write_text(
        "epoch,lr-AdamW,step,train_loss_epoch,train_loss_step,val_loss\n"
        "0,0.001,0,,4.0,\n"
        "0,0.001,49,,3.0,\n"
        "0,,49,,,3.2\n"
        "0,,49,3.5,,\n"
        "1,0.0005,99,,2.5,\n"
        "1,,99,,,2.7\n")
    p = d / "metrics.csv"
    assert detect_format(p) == "lightning"
    df = read_log(p)
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert tr["step"].tolist() == [0, 49, 99]
    assert tr["loss"].tolist() == [4.0, 3.0, 2.5]
    assert tr["lr"].tolist() == [0.001, 0.001, 0.0005]
    assert va["step"].tolist() == [49, 99] and va["loss"].tolist() == [3.2, 2.7]
    assert df["run"].iloc[0] == "lightning_logs/version_3"
    r = rep(df)
    assert r["columns"]["lr"] == ["lr-AdamW"] and "train_loss_epoch" in r["ignored"]


NANOGPT = """\
tokens per iteration will be: 491,520
step 0: train loss 10.9876, val loss 10.9901
iter 0: loss 10.9852, time 35000.12ms, mfu -100.00%
iter 10: loss 9.5311, time 480.40ms, mfu 31.02%
iter 20: loss 8.1040, time 480.95ms, mfu 31.01%
step 20: train loss 8.0021, val loss 8.0513
saving checkpoint to out
"""

MEGATRON = """\
 iteration      100/  500000 | consumed samples:        51200 | elapsed time per iteration (ms): 1234.5 | learning rate: 3.000E-04 | global batch size:   512 | lm loss: 2.310000E+00 | loss scale: 1.0 | grad norm: 1.234 | number of skipped iterations:   0 |
 iteration      200/  500000 | consumed samples:       102400 | elapsed time per iteration (ms): 1230.1 | learning rate: 2.900E-04 | global batch size:   512 | lm loss: 2.210000E+00 | loss scale: 1.0 | grad norm: 1.100 | number of skipped iterations:   0 |
------------------------------------------------------------------------------------------------
 validation loss at iteration 200 | lm loss value: 2.250000E+00 | lm loss PPL: 9.487736E+00 |
------------------------------------------------------------------------------------------------
"""

LITGPT = """\
Epoch 1 | iter 10 step 5 | loss train: 4.512, val: n/a | iter time: 120.11 ms (step) remaining time: 0:10:00
Epoch 1 | iter 20 step 10 | loss train: 4.102, val: 4.250 | iter time: 119.95 ms (step) remaining time: 0:09:58
"""


def test_text_logs(tmp_path):
    (tmp_path / "train.log").write_text(NANOGPT)
    df = read_log(tmp_path / "train.log")
    assert rep(df)["format"] == "text"
    tr, va = df[df.split == "train"], df[df.split == "val"]
    # 'step N: train loss' (eval estimate) and 'iter N: loss' at the same step merge; last wins
    assert tr["step"].tolist() == [0, 10, 20]
    assert tr["loss"].tolist() == [10.9852, 9.5311, 8.0021]
    assert va["loss"].tolist() == [10.9901, 8.0513]

    (tmp_path / "megatron.log").write_text(MEGATRON)
    df = read_log(tmp_path / "megatron.log")
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert tr["step"].tolist() == [100, 200] and tr["loss"].tolist() == [2.31, 2.21]
    assert tr["lr"].tolist() == [3e-4, 2.9e-4]
    assert va["step"].tolist() == [200] and va["loss"].tolist() == [2.25]
    assert rep(df)["columns"]["lr"] == ["learning rate"]

    (tmp_path / "litgpt.txt").write_text(LITGPT)
    df = read_log(tmp_path / "litgpt.txt")
    assert df[df.split == "train"]["loss"].tolist() == [4.512, 4.102]
    assert df[df.split == "train"]["step"].tolist() == [10, 20]   # the first 'iter N'
    assert df[df.split == "val"]["loss"].tolist() == [4.25]


# ---------------------------------------------------------------------------------------
# directories and DataFrames


def test_directory_of_runs(tmp_path):
    pd.DataFrame({"step": [1, 2], "loss": [3.0, 2.0]}).to_csv(tmp_path / "small.csv", index=False)
    pd.DataFrame({"step": [1, 2, 3], "loss": [2.5, 1.8, 1.6]}).to_csv(tmp_path / "large.csv", index=False)
    write_trainer_state(tmp_path / "hf-run")
    write_trainer_state(tmp_path / "hf-run" / "checkpoint-20", n_train=2)  # covered by the top-level state
    (tmp_path / "notes.md").write_text("# not a log\n")
    df = read_log(tmp_path)
    r = rep(df)
    assert r["format"] == "dir" and set(r["formats"]) == {"table", "hf"}
    assert sorted(r["runs"]) == ["hf-run", "large", "small"]
    assert r["runs"]["large"]["step_max"] == 3 and r["runs"]["hf-run"]["splits"] == {"train": 5, "val": 2}


def test_dataframe_input():
    df = read_log(pd.DataFrame({"iteration": [3, 1, 2], "train_loss": [1.0, 3.0, 2.0]}), run="mem")
    assert df["step"].tolist() == [1, 2, 3] and df["loss"].tolist() == [3.0, 2.0, 1.0]
    assert df["run"].iloc[0] == "mem"


def test_forced_format_and_unknown_format(tmp_path):
    (tmp_path / "r.dat").write_text("iter 5: loss 2.0\niter 6: loss 1.9\n")
    assert read_log(tmp_path / "r.dat", format="nanogpt")["loss"].tolist() == [2.0, 1.9]
    with pytest.raises(ScalelawError, match="unknown log format"):
        read_log(tmp_path / "r.dat", format="excel")


def test_directory_keeps_same_named_logs_in_different_folders_apart(tmp_path):
    from scalelaw import read_log
    for name, base in (("a", 2.0), ("b", 3.0)):
        d = tmp_path / "runs" / name
        d.mkdir(parents=True)
        (d / "train.log").write_text(f"iter 100: loss {base + 0.31}\niter 200: loss {base + 0.2}\n")
    df = read_log(tmp_path / "runs")
    assert sorted(df["run"].astype(str).unique()) == ["a/train", "b/train"]
    assert len(df) == 4


@pytest.mark.parametrize("text", ['\ufeff"step","lr","val loss, nats"\r\n1,2,3\r\n',
                                  "step;lr;loss\n1;2;3\n", "step\tlr\tloss\n1\t2\t3\n",
                                  "step,lr,step\n1,2,3\n",
                                  "\n_step,_runtime,loss\n1,2,3\n",
                                  "   \n_step,_runtime,loss\n1,2,3\n",
                                  '"_st\nep",_step,_runtime\n1,2,3\n'])
def test_header_sniff_matches_pandas(tmp_path, text):
    """Format detection reads column names from the header bytes it already has; they must
    be pandas' names (up to pandas' renaming of duplicates)."""
    import pandas as pd
    from scalelaw.io.logs import _columns
    from scalelaw.io.table import sniff_sep
    p = tmp_path / "log.csv"
    p.write_bytes(text.encode("utf-8"))
    head = p.read_bytes()
    ours = _columns(str(p), ".csv", head)
    theirs = list(pd.read_csv(p, sep=sniff_sep(str(p)), nrows=0).columns)
    assert [c.split(".")[0] for c in theirs] == ours


def test_header_with_bare_carriage_returns_is_read(tmp_path):
    """CR line ends with a stray LF later: detection falls back to pandas, no crash."""
    from scalelaw.io import detect_format, read_log
    p = tmp_path / "mixed.csv"
    p.write_bytes(b"step,lr,loss\r1,0.001,3.0\r2,0.001,2.9\n")
    assert detect_format(p) == "table"
    assert len(read_log(p)) == 2
