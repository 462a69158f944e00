"""The trainer: convergence to the entropy rate, the log read by scalelaw, determinism,
resume after SIGKILL bit for bit, schedules filled from the budget, the CLI."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import scalelaw  # noqa: E402
from scalelaw.cli import main  # noqa: E402
from scalelaw.errors import ScalelawError  # noqa: E402
from scalelaw.train.config import TrainConfig, fill_schedule_steps, resolve_steps  # noqa: E402
from scalelaw.train.trainer import train  # noqa: E402

TINY = dict(source="switching:p=0.9,q=0.9,k=1", n_layer=2, n_head=2, n_embd=16, context=32,
            batch_size=8, schedule="cosine:peak=3e-3,final=3e-4,warmup=10", eval_every=20,
            eval_sequences=16, ckpt_every=10)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _rows(path):
    import csv
    with open(path) as f:
        return [{k: v for k, v in r.items() if k != "wall_time"} for r in csv.DictReader(f)]


def test_two_layer_run_reaches_entropy_rate_per_char(tmp_path):
    cfg = TrainConfig(**{**TINY, "context": 64, "batch_size": 16, "n_embd": 32, "eval_every": 50,
                         "eval_sequences": 64}, tokens=16 * 64 * 200)
    res = train(cfg, tmp_path / "r")
    H, Hpi = res["entropy_rate"], res["unigram_entropy"]
    assert abs(H - 0.3251) < 1e-4 and abs(Hpi - 0.6931) < 1e-4      # REFERENCE §7, p = q = 0.9
    assert res["eval_loss_per_char"] <= 1.05 * H
    assert res["eval_loss_per_char"] >= H - 0.02                     # cannot beat the entropy rate
    assert res["steps"] == 200 and res["tokens"] == 200 * 16 * 64 == res["chars"]
    assert res["N_nonembed"] == 2 * (12 * 32 * 32 + 13 * 32) + 64
    assert res["device"] == "cpu" and res["loss_impl"] == "dense"
    # the log as scalelaw reads it: train loss every step, val loss every 50 steps and at the end
    df = scalelaw.read_log(tmp_path / "r" / "r.csv")
    val = df[df["split"] == "val"]
    assert list(val["step"]) == [0, 50, 100, 150, 200]
    tr = df[df["split"] == "train"]
    assert tr["loss"].notna().sum() == 200 and tr["step"].max() == 200   # last row: lr and eval only
    assert val["loss"].iloc[-1] == pytest.approx(res["eval_loss_per_token"], rel=1e-12)
    assert df["lr"].iloc[0] == 0.0 and df["lr"].max() == pytest.approx(3e-3)
    cfgj = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfgj["resolved"]["schedule"].endswith("steps=200")


def test_log_read_by_inspect_and_lr_fit(tmp_path, capsys):
    cfg = TrainConfig(**TINY, steps=60, log_format="jsonl")
    train(cfg, tmp_path / "j", name="jr")
    log = tmp_path / "j" / "jr.jsonl"
    assert main(["inspect", str(log), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["columns"]["loss:val"] == ["eval_loss"] and rep["columns"]["loss:train"] == ["train_loss"]
    assert rep["runs"]["jr"]["splits"] == {"train": 61, "val": 4}   # + the final lr-only row
    assert main(["fit", str(log), "--law", "s1power", "--split", "train"]) == 0


def test_seeded_runs_identical_and_seed_matters(tmp_path):
    a = train(TrainConfig(**TINY, steps=30), tmp_path / "a", name="x")
    b = train(TrainConfig(**TINY, steps=30), tmp_path / "b", name="x")
    c = train(TrainConfig(**TINY, steps=30, seed=1), tmp_path / "c", name="x")
    assert _rows(tmp_path / "a" / "x.csv") == _rows(tmp_path / "b" / "x.csv")
    assert a["eval_loss_per_char"] == b["eval_loss_per_char"] != c["eval_loss_per_char"]


_KILL_SCRIPT = """
import sys, torch
torch.set_num_threads(1)
from scalelaw.train.trainer import train
from scalelaw.train.config import TrainConfig
cfg = TrainConfig(**{cfg!r})
train(cfg, sys.argv[1], name="r")
"""


def test_sigkill_and_resume_is_bit_identical(tmp_path):
    cfg = dict(TINY, steps=400, ckpt_every=7)
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT.format(cfg=cfg))
    killed = tmp_path / "killed"
    p = subprocess.Popen([sys.executable, str(script), str(killed)])
    log = killed / "r.csv"
    deadline = time.time() + 60
    try:
        while time.time() < deadline:    # kill once a few checkpoints have been written
            if log.exists() and len(log.read_bytes().splitlines()) > 40:
                break
            time.sleep(0.005)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait()
    assert p.returncode == -signal.SIGKILL
    assert not (killed / "result.json").exists(), "the run finished before it was killed"
    ck = torch.load(killed / "ckpt.pt", weights_only=True)
    assert 0 < ck["step"] < 400
    rows_at_kill = len(log.read_bytes().splitlines()) - 1
    res = train(TrainConfig(**cfg), killed, name="r")           # resume in this process
    assert res["finished"] and not res.get("skipped")
    ref = train(TrainConfig(**cfg), tmp_path / "ref", name="r")
    assert _rows(killed / "r.csv") == _rows(tmp_path / "ref" / "r.csv")
    assert len(_rows(killed / "r.csv")) == 401
    assert rows_at_kill >= ck["step"]          # rows written after the checkpoint were cut back
    m1 = torch.load(killed / "ckpt.pt", weights_only=True)["model"]
    m2 = torch.load(tmp_path / "ref" / "ckpt.pt", weights_only=True)["model"]
    assert all(torch.equal(m1[k], m2[k]) for k in m1)
    assert res["eval_loss_per_char"] == ref["eval_loss_per_char"]
    # the read_log view has no duplicated or resumed rows
    df = scalelaw.read_log(killed / "r.csv")
    assert df.attrs["scalelaw"]["dropped"]["resumed"] == 0 and df.attrs["scalelaw"]["dropped"]["duplicate_step"] == 0


def test_stop_and_resume_in_process_and_finished_is_skipped(tmp_path):
    cfg = TrainConfig(**TINY, steps=40)
    part = train(cfg, tmp_path / "r", stop_after=17)
    assert part == {"name": "r", "finished": False, "step": 17}
    full = train(cfg, tmp_path / "r")
    ref = train(cfg, tmp_path / "ref", name="r")
    assert full["eval_loss_per_char"] == ref["eval_loss_per_char"]
    assert _rows(tmp_path / "r" / "r.csv") == _rows(tmp_path / "ref" / "r.csv")
    again = train(cfg, tmp_path / "r")
    assert again["skipped"] and again["eval_loss_per_char"] == full["eval_loss_per_char"]
    with pytest.raises(ScalelawError, match=r"holds another run \(seed=0, this one 3\)"):
        train(TrainConfig(**TINY, steps=40, seed=3), tmp_path / "r")


def test_tokenized_run_per_char_accounting(tmp_path):
    cfg = TrainConfig(**{**TINY, "source": "switching:p=0.8,q=0.8,k=2"}, tokenizer="lzw:vocab=32",
                      tokenizer_chars=50_000, steps=30)
    res = train(cfg, tmp_path / "t")
    assert res["vocab"] == res["tokenizer_vocab"] == 32
    cpt = res["eval_chars_per_token"]
    assert 1.5 < cpt < 6
    assert res["chars"] > res["tokens"]                     # tokens cover several characters
    assert res["eval_loss_per_char"] == pytest.approx(res["eval_loss_per_token"] / cpt, rel=1e-9)
    with pytest.raises(ScalelawError, match="vocab=16 is smaller than the tokenizer's 32"):
        train(TrainConfig(**{**TINY, "source": "switching:p=0.8,q=0.8,k=2"}, tokenizer="lzw:vocab=32",
                          tokenizer_chars=50_000, steps=30, vocab=16), tmp_path / "t2")


def test_chunked_loss_used_above_threshold_and_recorded(tmp_path):
    common = dict(TINY, steps=12, eval_every=6)
    a = train(TrainConfig(**common, vocab=40, chunked_loss_min_vocab=32), tmp_path / "a", name="x")
    b = train(TrainConfig(**common, vocab=40, chunked_loss="off"), tmp_path / "b", name="x")
    assert a["loss_impl"] == "chunked" and b["loss_impl"] == "dense"
    ra, rb = _rows(tmp_path / "a" / "x.csv"), _rows(tmp_path / "b" / "x.csv")
    la = np.array([float(r["train_loss"]) for r in ra[:-1]])
    lb = np.array([float(r["train_loss"]) for r in rb[:-1]])
    np.testing.assert_allclose(la, lb, rtol=1e-5)


def test_schedule_steps_filled_from_budget():
    assert fill_schedule_steps("cosine:peak=1e-3,warmup=10", 500) == "cosine:peak=1e-3,warmup=10,steps=500"
    assert fill_schedule_steps("constant:peak=1e-3,steps=100+linear:peak=1e-3,final=0", 500) \
        == "constant:peak=1e-3,steps=100+linear:peak=1e-3,final=0,steps=400"
    assert fill_schedule_steps("wsd:peak=1,steps=9", 9) == "wsd:peak=1,steps=9"
    with pytest.raises(ScalelawError, match="at most one part"):
        fill_schedule_steps("constant:peak=1+constant:peak=2", 10)
    steps, spec, sched = resolve_steps(TrainConfig(tokens=10_000, batch_size=4, context=25,
                                                   schedule="wsd:peak=1e-3,cooldown=0.2"))
    assert steps == 100 and sched.total == 100 and len(sched.lrs()) == 101
    with pytest.raises(ScalelawError, match="lasts 50 steps but the run has 100"):
        resolve_steps(TrainConfig(steps=100, schedule="cosine:peak=1e-3,steps=50"))
    with pytest.raises(ScalelawError, match="bad schedule spec"):
        resolve_steps(TrainConfig(steps=100, schedule="cosnie:peak=1e-3"))
    with pytest.raises(ScalelawError, match="has no steps="):
        resolve_steps(TrainConfig(schedule="cosine:peak=1e-3"))
    with pytest.raises(ScalelawError, match="unknown training option 'lr'; allowed: source"):
        TrainConfig.from_dict({"lr": 1e-3})


def test_cli_train_and_bad_input(tmp_path, capsys):
    args = ["train", "--source", "switching:p=0.9,q=0.9,k=1", "--n-layer", "1", "--n-head", "1",
            "--n-embd", "8", "--context", "16", "--batch-size", "4", "--tokens", "1e3",
            "--schedule", "constant:peak=1e-3", "--eval-every", "8", "--eval-sequences", "4",
            "--out", str(tmp_path / "c")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "nats/char" in out and "H_inf 0.3251" in out and "16 steps" in out
    assert main(args) == 0 and "already finished" in capsys.readouterr().out
    bad = {"--n-embd": ("10", "not divisible by n_head"), "--source": ("switchin:p=1", "bad source spec"),
           "--tokenizer": ("lzw:size=x", "tokenizer"), "--schedule": ("cosine:peek=1", "bad schedule spec")}
    for flag, (val, msg) in bad.items():
        a = list(args)
        if flag in a:
            a[a.index(flag) + 1] = val
        else:
            a += [flag, val]
        a[a.index("--out") + 1] = str(tmp_path / "bad")
        if flag == "--n-embd":
            a[a.index("--n-head") + 1] = "4"
        assert main(a) == 2, flag
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1
    assert not (tmp_path / "bad" / "ckpt.pt").exists()


def test_missing_torch_message(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "from scalelaw.cli import main\n"
            f"sys.exit(main(['train', '--steps', '5', '--out', {str(tmp_path / 'x')!r}]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip() == ("scalelaw train: error: training needs PyTorch, which is not installed; "
                                "run: pip install torch==2.13.0")
