"""Shapes of real training logs (issue 10, "Reading real logs"): each fixture is written
here from the description of what trainers print, never copied from a real file."""
from __future__ import annotations

import builtins
import io
import json
import os
import struct
import sys

import numpy as np
import pandas as pd
import pytest

from scalelaw.cli import main
from scalelaw.errors import ScalelawError
from scalelaw.io import RunTableError, detect_format, read_log, read_table
from scalelaw.io.columns import resolve


def rep(df):
    return df.attrs["scalelaw"]


# ---------------------------------------------------------------------------------------
# 13. Megatron: the launcher's command line is not a data row


def megatron_log(resumed=False):
    echo = ("+ torchrun --nproc_per_node 1 pretrain_gpt.py --num-layers 24 --hidden-size 1024 "
            "--seq-length 1024 --micro-batch-size 4 --global-batch-size 8 --lr 0.00015 "
            "--train-iters 1000 --lr-decay-iters 320000 --lr-decay-style cosine --min-lr 1.0e-5 "
            "--lr-warmup-fraction .01 --log-interval 100 --eval-interval 500 --eval-iters 10\n")
    multi = ("python pretrain_gpt.py \\\n    --lr 0.00015 \\\n    --train-iters 1000 \\\n"
             "    --eval-iters 10\n")
    args = ("------------------------ arguments ------------------------\n"
            "  lr .............................................. 0.00015\n"
            "  lr_decay_iters .................................. 320000\n"
            "  train_iters ..................................... 1000\n"
            "-------------------- end of arguments ---------------------\n"
            " > number of parameters on (tensor, pipeline) model parallel rank (0, 0): 354871296\n")
    lines = []
    for it in range(100, 1001, 100):
        lr = 1.5e-4 * (1 - it / 4000)
        lines.append(f" iteration {it:8d}/    1000 | consumed samples: {it * 8:10d} | elapsed time per "
                     f"iteration (ms): 812.3 | learning rate: {lr:.6E} | global batch size:     8 | "
                     f"lm loss: {8 - it / 250:.6E} | loss scale: 65536.0 | grad norm: 1.234 | "
                     f"number of skipped iterations:   0 | number of nan iterations:   0 |\n")
        if it % 500 == 0:
            lines.append("-" * 80 + "\n")
            lines.append(f" validation loss at iteration {it} | lm loss value: {8.1 - it / 250:.6E} | "
                         f"lm loss PPL: 1.0E+03 | \n")
            lines.append("-" * 80 + "\n")
    return echo + multi + args + "".join(lines)


def test_megatron_command_line_echo_is_not_a_row(tmp_path):
    p = tmp_path / "gpt345m.log"
    p.write_text(megatron_log())
    df = read_log(p)
    r = rep(df)
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert tr["step"].tolist() == list(range(100, 1001, 100))
    np.testing.assert_allclose(tr["lr"], [float(f"{1.5e-4 * (1 - s / 4000):.6E}") for s in range(100, 1001, 100)])
    np.testing.assert_allclose(tr["loss"], [8 - s / 250 for s in range(100, 1001, 100)])
    assert va["step"].tolist() == [500, 1000]
    # nothing taken for a resumed segment: the run was never resumed
    assert r["dropped"]["resumed"] == 0 and r["dropped"]["duplicate_step"] == 0
    assert any("command-line" in n for n in r["notes"])
    assert r["runs"]["gpt345m"]["N"] == 354871296


# ---------------------------------------------------------------------------------------
# 14. nanoGPT and build-nanogpt

BUILD_NANOGPT = """\
using device: cuda
total desired batch size: 524288
=> calculated gradient accumulation steps: 4
found 99 shards for split train
found 1 shards for split val
num decayed parameter tensors: 50, with 124,354,560 parameters
num non-decayed parameter tensors: 98, with 121,344 parameters
using fused AdamW: True
validation loss: 10.9499
HellaSwag accuracy: 2497/10042=0.2487
step     0 | loss: 10.955029 | lr 8.3916e-07 | norm: 15.4065 | dt: 78523.95ms | tok/sec: 6676.87
step     1 | loss: 10.891647 | lr 1.6783e-06 | norm: 14.5395 | dt: 336.26ms | tok/sec: 1559167.45
step     2 | loss: 10.812345 | lr 2.5175e-06 | norm: 13.1000 | dt: 336.26ms | tok/sec: 1559167.45
validation loss: 10.5000
HellaSwag accuracy: 2500/10042=0.2490
step     3 | loss: 10.700000 | lr 3.3566e-06 | norm: 12.0000 | dt: 336.26ms | tok/sec: 1559167.45
"""

LOG_TXT = "0 val 10.9499\n0 hella 0.2487\n0 train 10.955029\n1 train 10.891647\n" \
          "2 train 10.812345\n3 val 10.5000\n3 hella 0.2490\n3 train 10.700000\n"


def test_build_nanogpt_stdout_validation_lines_and_parameter_count(tmp_path):
    p = tmp_path / "gpt2.out"
    p.write_text(BUILD_NANOGPT)
    df = read_log(p)
    r = rep(df)
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert tr["step"].tolist() == [0, 1, 2, 3]
    assert tr["loss"].tolist() == [10.955029, 10.891647, 10.812345, 10.7]
    # evaluated before the step's update: the val loss belongs to the step line after it
    assert va["step"].tolist() == [0, 3] and va["loss"].tolist() == [10.9499, 10.5]
    assert any("without a step" in n and "next step line" in n for n in r["notes"])
    # decayed + non-decayed groups: every parameter, embeddings included
    assert df["N"].unique().tolist() == [124_354_560 + 121_344]
    assert any("embeddings included" in n for n in r["notes"])


def test_build_nanogpt_log_txt(tmp_path):
    p = tmp_path / "log.txt"
    p.write_text(LOG_TXT)
    assert detect_format(p) == "text"
    df = read_log(p)
    r = rep(df)
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert tr["step"].tolist() == [0, 1, 2, 3]
    assert tr["loss"].tolist() == [10.955029, 10.891647, 10.812345, 10.7]
    assert va["step"].tolist() == [0, 3] and va["loss"].tolist() == [10.9499, 10.5]
    assert "hella" in r["ignored"]
    assert any("hella (2)" in n for n in r["notes"])


@pytest.mark.parametrize("line, n, says", [
    ("number of parameters: 124.35M", 124.35e6, "position embeddings"),
    ("num decayed parameter tensors: 50, with 124,354,560 parameters", 124_354_560, "decayed parameter group only"),
    (" > number of parameters on (tensor, pipeline) model parallel rank (0, 0): 354871296\n"
     " > number of parameters on (tensor, pipeline) model parallel rank (1, 0): 354871296", 2 * 354871296, "ranks"),
    ("trainable params: 4,194,304 || all params: 6,742,609,920 || trainable%: 0.0622", 6_742_609_920, "all parameters"),
    ("Total parameters: 124,439,808", 124_439_808, "total parameters"),
    ("number of non-embedding parameters: 85.0M", 85e6, "non-embedding"),
])
def test_parameter_count_lines_set_N_and_say_what_they_count(tmp_path, line, n, says):
    p = tmp_path / "run.log"
    p.write_text(line + "\niter 0: loss 10.9, time 1.0ms\niter 10: loss 9.5, time 1.0ms\n")
    df = read_log(p)
    assert df["N"].iloc[0] == pytest.approx(n)
    note = [x for x in rep(df)["notes"] if "N = " in x]
    assert len(note) == 1 and says in note[0]


def test_giving_a_log_its_N_and_a_folder_becomes_a_table_of_runs(tmp_path, capsys):
    d = tmp_path / "runs"
    d.mkdir()
    for name, base in (("small", 3.5), ("large", 3.0)):
        (d / f"{name}.log").write_text("".join(f"iter {s}: loss {base + 1 / (1 + s):.4f}\n" for s in range(0, 500, 100)))
    df = read_log(d, N={"small": 124e6, "large": 350e6})
    table = df.sort_values("step").groupby("run", observed=True).tail(1).set_index("run")
    assert table.loc["small", "N"] == 124e6 and table.loc["large", "N"] == 350e6
    assert table.loc["large", "loss"] == pytest.approx(3.0 + 1 / 401, abs=1e-4)
    assert rep(df)["columns"]["N"] == ["given"]
    # a number for a single log, winning over the log's own count (noted)
    (tmp_path / "one.log").write_text("number of parameters: 10.00M\niter 1: loss 3.0\n")
    one = read_log(tmp_path / "one.log", N=12e6)
    assert one["N"].iloc[0] == 12e6 and any("as given" in n for n in rep(one)["notes"])
    with pytest.raises(ScalelawError, match="does not have"):
        read_log(d, N={"medium": 1e8})
    # the CLI helper
    assert main(["inspect", str(d), "--N", "small=124M", "--N", "large=0.35B", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"]["small"]["N"] == 124e6 and out["runs"]["large"]["N"] == 350e6
    assert main(["inspect", str(tmp_path / "one.log"), "--N", "1,234,567"]) == 0
    assert "N=1.235e+06" in capsys.readouterr().out
    assert main(["inspect", str(tmp_path / "one.log"), "--N", "lots"]) == 2
    assert "not a count" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# 15. TRL, W&B run tables, units in column names, standard input


def test_trl_num_tokens_is_tokens(tmp_path):
    state = {"log_history": [
        {"loss": 2.5, "learning_rate": 2e-5, "num_tokens": 40960.0, "mean_token_accuracy": 0.5, "epoch": 0.1, "step": 10},
        {"loss": 2.2, "learning_rate": 1e-5, "num_tokens": 81920.0, "mean_token_accuracy": 0.6, "epoch": 0.2, "step": 20}]}
    (tmp_path / "sft").mkdir()
    (tmp_path / "sft" / "trainer_state.json").write_text(json.dumps(state))
    df = read_log(tmp_path / "sft" / "trainer_state.json")
    assert df["tokens"].tolist() == [40960.0, 81920.0]
    assert rep(df)["columns"]["tokens"] == ["num_tokens"]


def test_wandb_run_table_columns(tmp_path):
    p = tmp_path / "wandb_export.csv"
    pd.DataFrame({"Name": ["s", "m", "l"], "State": ["finished"] * 3,
                  "parameter_count": [1.2e8, 3.5e8, 7.6e8],
                  "throughput/total_tokens": [2.4e9, 7e9, 1.5e10],
                  "eval/c4/loss": [3.4, 3.1, 2.9]}).to_csv(p, index=False)
    t = read_table(p)
    assert resolve(t.columns, ["N", "D", "loss", "run"]) == {
        "N": "parameter_count", "D": "throughput/total_tokens", "loss": "eval/c4/loss", "run": "Name"}
    with pytest.raises(RunTableError):
        read_log(p)
    # two eval sets are ambiguous, not a silent pick
    t2 = t.assign(**{"eval/pile/loss": [3.0, 2.8, 2.6]})
    with pytest.raises(ScalelawError, match="ambiguous"):
        resolve(t2.columns, ["loss"])
    # per step (W&B history): eval/<set>/loss is the val loss, throughput/total_tokens the tokens
    h = tmp_path / "history.csv"
    pd.DataFrame({"_step": [0, 1, 2], "_runtime": [1, 2, 3], "train/loss": [4.0, 3.0, 2.5],
                  "eval/c4/loss": [np.nan, 3.2, np.nan], "throughput/total_tokens": [0, 1e6, 2e6]}
                 ).to_csv(h, index=False)
    df = read_log(h)
    assert df[df.split == "val"]["loss"].tolist() == [3.2]
    assert df[df.split == "train"]["tokens"].tolist() == [0, 1e6, 2e6]


def test_units_in_column_names_are_converted_with_a_note(tmp_path):
    p = tmp_path / "sizes.csv"
    p.write_text("Model,Params (M),Tokens (B),Compute (PFLOP-days),train GFLOPs,loss\n"
                 "a,125,2.5,0.5,1.5e9,3.2\nb,350,7,2.0,6e9,2.9\n")
    t = read_table(p)
    np.testing.assert_allclose(t["Params"], [125e6, 350e6])
    np.testing.assert_allclose(t["Tokens"], [2.5e9, 7e9])
    np.testing.assert_allclose(t["Compute"], [0.5 * 8.64e19, 2.0 * 8.64e19])
    np.testing.assert_allclose(t["train"], [1.5e18, 6e18])
    notes = t.attrs["scalelaw"]["notes"]
    assert any("'Compute (PFLOP-days)'" in n and "8.64e+19" in n for n in notes)
    assert any("'Params (M)'" in n and "1e+06" in n for n in notes)
    assert resolve(t.columns, ["N", "D", "C"], required=())["N"] == "Params"
    # a rate is not an amount of compute; a plain FLOP column is left alone
    q = tmp_path / "rate.csv"
    q.write_text("N,throughput (TFLOP/s),Training FLOP,loss\n1e8,120,1e19,3.0\n2e8,130,2e19,2.8\n")
    t = read_table(q)
    assert list(t.columns) == ["N", "throughput (TFLOP/s)", "Training FLOP", "loss"]
    assert t["Training FLOP"].tolist() == [1e19, 2e19] and t.attrs["scalelaw"]["notes"] == []


def test_reading_standard_input(tmp_path, monkeypatch, capsys):
    data = b"step,lr,loss\n1,0.001,3.0\n2,0.001,2.8\n3,0.0005,2.7\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    df = read_log("-")
    assert df["loss"].tolist() == [3.0, 2.8, 2.7] and df["run"].iloc[0] == "stdin"
    assert rep(df)["source"] == "-" and rep(df)["format"] == "table"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"iter 5: loss 2.0\niter 6: loss 1.9\n")))
    assert main(["inspect", "-"]) == 0
    assert "stdin: steps 5..6, train 2" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# 16. a table of runs given as a log; 18 (io side): one split


def test_table_of_runs_is_not_read_as_one_run(tmp_path, capsys):
    p = tmp_path / "runs.csv"
    pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "D": [2e9, 4e9, 8e9, 1.6e10],
                  "condition": ["a", "a", "b", "b"], "loss": [3.3, 3.1, 2.9, 2.8]}).to_csv(p, index=False)
    with pytest.raises(RunTableError, match="a table of runs") as e:
        read_log(p)
    assert "\n" not in str(e.value)
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr().out
    assert "format   table of runs" in out and "rows     4 (one per run)" in out
    assert "N           <- N" in out and "steps" not in out
    assert main(["inspect", str(p), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["format"] == "table of runs" and r["columns"]["loss"] == ["loss"] and r["rows"] == 4
    # a log without a step column stays a log (row numbers as steps, with a warning)
    q = tmp_path / "curve.csv"
    pd.DataFrame({"lr": [1e-3] * 4, "loss": [3.0, 2.9, 2.8, 2.7], "tokens": [1e6, 2e6, 3e6, 4e6]}).to_csv(q, index=False)
    assert read_log(q)["step"].tolist() == [0, 1, 2, 3]


def test_read_log_keeps_one_split(tmp_path, capsys):
    p = tmp_path / "x.csv"
    pd.DataFrame({"step": [1, 2, 3, 4], "train/loss": [4.0, 3.0, 2.5, 2.2],
                  "val/loss": [np.nan, 3.3, np.nan, 2.6], "lr": [1, 1, 0.5, 0.25]}).to_csv(p, index=False)
    tr = read_log(p, split="train")
    assert (tr["split"] == "train").all() and tr["loss"].tolist() == [4.0, 3.0, 2.5, 2.2]
    va = read_log(p, split="val")
    assert va["step"].tolist() == [2, 4] and rep(va)["dropped"]["split"] == 4
    with pytest.raises(ScalelawError, match="no val rows"):
        read_log(tmp_path / "x.csv", columns={"loss": "train/loss"}, split="val")
    assert main(["inspect", str(p), "--split", "val"]) == 0
    assert "x: steps 2..4, val 2" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# 17. decimal commas, units in cells


def test_semicolon_csv_with_decimal_commas(tmp_path):
    import scalelaw as sl

    rng = np.random.default_rng(0)
    N = np.repeat([5e7, 1e8, 2e8, 4e8, 8e8], 3)
    D = np.tile([1e9, 4e9, 1.6e10], 5)
    loss = 1.8 + 400 * N ** -0.34 + 410 * D ** -0.28
    loss *= 1 + rng.normal(0, 0.002, len(N))
    lines = ["N;D;loss"] + [f"{int(n)};{int(d)};{str(round(v, 5)).replace('.', ',')}" for n, d, v in zip(N, D, loss)]
    p = tmp_path / "runs_de.csv"
    p.write_text("\n".join(lines) + "\n")
    t = read_table(p)
    np.testing.assert_allclose(t["loss"], np.round(loss, 5))
    assert any("decimal comma" in n for n in t.attrs["scalelaw"]["notes"])
    res = sl.fit(str(p), "chinchilla")
    assert res.params["E"] == pytest.approx(1.8, abs=0.15)
    # thousands written with dots as well
    q = tmp_path / "de2.csv"
    q.write_text("N;loss\n1.000.000;3,5\n2.000.000;3,25\n")
    assert read_table(q)["N"].tolist() == [1e6, 2e6] and read_table(q)["loss"].tolist() == [3.5, 3.25]


def test_numbers_with_units_in_cells(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("step,loss,lr\n1,3.1 nats,1e-3\n2,2.9 nats,1e-3\n3,n/a,1e-3\n4,2.7 nats,1e-3\n")
    df = read_log(p)
    assert df["loss"].tolist()[:2] == [3.1, 2.9] and np.isnan(df["loss"].iloc[2])
    assert df["loss"].iloc[3] == 2.7
    assert rep(df)["inf_values"] == 0
    assert any("'loss'" in n and "nats" in n for n in rep(df)["notes"])
    t = tmp_path / "runs.csv"
    t.write_text('model,params,loss\npythia-70m,70M,"3,1 bits"\npythia-1.4b,1.4B,2.1 bits\n')
    tab = read_table(t)
    assert tab["params"].tolist() == [7e7, 1.4e9]
    assert tab["model"].tolist() == ["pythia-70m", "pythia-1.4b"]   # labels stay text
    q = tmp_path / "counts.csv"
    q.write_text('params,loss\n"124,354,560",3.5 nats\n"354,871,296",3.1 nats\n')
    tab = read_table(q)
    assert tab["params"].tolist() == [124354560.0, 354871296.0]
    assert tab["loss"].tolist() == [3.5, 3.1]


# ---------------------------------------------------------------------------------------
# 19. a folder: one note per file that is not read, the rest read

LFS = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 123456\n"


def test_folder_notes_each_file_not_read_and_reads_the_rest(tmp_path, monkeypatch):
    d = tmp_path / "repo"
    (d / "runs").mkdir(parents=True)
    pd.DataFrame({"step": [1, 2, 3], "loss": [3.0, 2.5, 2.2]}).to_csv(d / "runs" / "good.csv", index=False)
    (d / "runs" / "big.csv").write_text(LFS)
    (d / "runs" / "events.out.tfevents.1700000000.host.1.0").write_text(LFS)
    (d / "runs" / "gone.log").symlink_to(d / "nowhere.log")
    (d / "runs" / "locked.log").write_text("iter 1: loss 3.0\n")
    (d / "runs" / "config.csv").write_text("name,value\nlr,1e-3\n")
    (d / "README.md").write_text("# runs\n")
    real_open = builtins.open
    locked = str(d / "runs" / "locked.log")

    def fake_open(file, *a, **k):        # the tests run as root, for whom chmod 000 is no lock
        if os.fspath(file) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_open(file, *a, **k)
    monkeypatch.setattr(builtins, "open", fake_open)
    df = read_log(d)
    r = rep(df)
    assert sorted(r["runs"]) == ["runs/good"] and df["loss"].tolist() == [3.0, 2.5, 2.2]
    w = r["warnings"]
    assert "runs/big.csv: Git LFS pointer: run git lfs pull" in w
    assert "runs/events.out.tfevents.1700000000.host.1.0: Git LFS pointer: run git lfs pull" in w
    assert "runs/locked.log: unreadable: Permission denied" in w
    assert "runs/gone.log: unreadable: No such file or directory" in w
    # files that are no logs are notes, not warnings
    notes = r["notes"]
    assert any(x.startswith("runs/config.csv: ") and "no loss, lr or tokens" in x for x in notes)
    assert any("README.md" in n and "not read" in n for n in notes)
    assert len(w) == 4


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_folder_notes_a_file_without_read_permission(tmp_path):
    pd.DataFrame({"step": [1, 2], "loss": [3.0, 2.5]}).to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "b.csv").write_text("step,loss\n1,2\n")
    os.chmod(tmp_path / "b.csv", 0)
    df = read_log(tmp_path)
    assert "b.csv: unreadable: Permission denied" in rep(df)["warnings"]


def test_single_lfs_pointer_is_one_line(tmp_path):
    for name in ("metrics.csv", "trainer_state.json", "events.out.tfevents.1.h.1.0", "train.log"):
        p = tmp_path / name
        p.write_text(LFS)
        with pytest.raises(ScalelawError) as e:
            read_log(p)
        assert str(e.value) == f"{p}: Git LFS pointer: run git lfs pull"
    with pytest.raises(ScalelawError, match="Git LFS pointer: run git lfs pull"):
        read_table(tmp_path / "metrics.csv")


# ---------------------------------------------------------------------------------------
# 20. binary content refused by its bytes, bounded memory


@pytest.mark.parametrize("name, fmt", [("big.csv", None), ("events.out.tfevents.x", None),
                                       ("big.log", None), ("trainer_state.json", None),
                                       ("big.csv", "table"), ("big.bin", "text"), ("x.jsonl", None),
                                       ("events.out.tfevents.y", "tensorboard")])
def test_large_zero_file_is_refused_by_its_first_bytes(tmp_path, name, fmt):
    p = tmp_path / name
    with open(p, "wb") as f:
        f.truncate(2 * 1024 ** 3)      # sparse: 2 GB of zero bytes on no disk
    with pytest.raises(ScalelawError) as e:
        read_log(p, format=fmt)
    msg = str(e.value)
    assert "\n" not in msg and ("NUL bytes" in msg or "not a TensorBoard event file" in msg)


def test_event_file_record_length_past_the_end_is_refused(tmp_path):
    from test_io_tensorboard import scalar_event, write_events

    f = write_events(tmp_path / "ok", [scalar_event(s, "loss", 3.0 - s / 10) for s in range(5)])
    data = open(f, "rb").read()
    bad = tmp_path / "events.out.tfevents.bad"
    # a record header claiming 2**40 bytes, its checksum not matching: damaged, not truncated
    bad.write_bytes(data + struct.pack("<Q", 2 ** 40) + b"\0\0\0\0" + b"\x01" * 40)
    with pytest.raises(ScalelawError, match="damaged"):
        read_log(bad)


def test_memory_stays_a_small_multiple_of_the_file(tmp_path):
    import tracemalloc

    from test_io_tensorboard import scalar_event, write_events

    # a valid first record followed by 8 MB of 0x09 bytes (every byte a record-start candidate)
    f = write_events(tmp_path / "ok", [scalar_event(0, "loss", 3.0)])
    junk = tmp_path / "events.out.tfevents.junk"
    junk.write_bytes(open(f, "rb").read() + b"\x09" * (8 << 20))
    size = os.path.getsize(junk)
    tracemalloc.start()
    with pytest.raises(ScalelawError):
        read_log(junk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * size, (peak, size)
    # a text log: values in typed arrays, not Python floats per line
    log = tmp_path / "big.log"
    with open(log, "w") as fh:
        for s in range(30_000):
            fh.write(f"iter {s}: loss {3 + 1 / (1 + s):.4f}, time 1.00ms\n")
    size = os.path.getsize(log)
    tracemalloc.start()
    df = read_log(log)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(df) == 30_000
    assert peak < 3 * size, (peak, size)


def test_other_trainer_text_shapes(tmp_path):
    """Colour codes, DeepSpeed's step=/lr=[x] and 'steps: N', JSON lines in a .txt."""
    p = tmp_path / "ds.log"
    p.write_text("\x1b[32mstep 100\x1b[0m | loss: 3.2\n"
                 "[2024-01-01 12:00:00,000] [INFO] [Rank 0] step=200, skipped=0, lr=[0.0003], mom=[(0.9, 0.95)]\n"
                 "steps: 300 loss: 3.0100 iter time (s): 0.500 samples/sec: 100.0\n"
                 "=> calculated gradient accumulation steps: 4\n")
    df = read_log(p)
    assert df["step"].tolist() == [100, 200, 300]
    assert df["loss"].iloc[[0, 2]].tolist() == [3.2, 3.01] and df["lr"].iloc[1] == 0.0003
    q = tmp_path / "metrics.txt"
    q.write_text('{"step": 1, "loss": 3.0, "lr": 0.001}\n{"step": 2, "loss": 2.8, "lr": 0.001}\n')
    assert detect_format(q) == "table" and read_log(q)["loss"].tolist() == [3.0, 2.8]


def test_config_print_outs_are_not_points(tmp_path):
    p = tmp_path / "train.log"
    p.write_text("total steps: 1000, warmup steps: 100, lr: 3e-4\n"
                 "  Total optimization steps = 5,000\nmax_steps: 1000 lr: 0.001\n"
                 "iter 10: loss 3.0\niter 20: loss 2.9\n")
    df = read_log(p)
    assert df["step"].tolist() == [10, 20] and df["lr"].isna().all()
