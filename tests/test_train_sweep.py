"""Sweeps: TOML spec checks before any training, resume after SIGKILL, finished runs
skipped, results.csv read by scalelaw fit, --quick."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from scalelaw.cli import main  # noqa: E402
from scalelaw.errors import ScalelawError  # noqa: E402
from scalelaw.train.sweep import RESULT_COLUMNS, load_sweep  # noqa: E402

SPEC = """
name = "tiny"
[grid]
models = [{n_layer = 1, n_head = 1, n_embd = 8}, {n_layer = 1, n_head = 2, n_embd = 16},
          {n_layer = 2, n_head = 2, n_embd = 16}, {n_layer = 2, n_head = 2, n_embd = 24}]
sources = ["switching:p=0.9,q=0.9,k=1"]
tokenizers = ["none"]
schedules = ["cosine:peak=1e-2,final=1e-3,warmup=5"]
seeds = [0]
tokens = [STEPS_TOKENS]
[train]
batch_size = 8
context = 32
eval_every = 10
eval_sequences = 8
ckpt_every = 5
[quick.grid]
models = [{n_layer = 1, n_head = 1, n_embd = 8}]
tokens = [2560]
"""


def _spec(tmp_path, steps=60, text=SPEC, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text.replace("STEPS_TOKENS", str(steps * 8 * 32)))
    return p


def _results(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_sweep_killed_resumed_skips_finished_and_feeds_fit(tmp_path, capsys):
    spec = _spec(tmp_path, steps=80)
    out = tmp_path / "out"
    code = ("import sys, torch; torch.set_num_threads(1)\n"
            "from scalelaw.cli import main\n"
            f"sys.exit(main(['sweep', {str(spec)!r}, '--out', {str(out)!r}, '--workers', '1', '--threads', '1', '--quiet']))")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    runs = out / "runs"
    deadline = time.time() + 90
    try:   # kill once one run is finished and the next has a checkpoint
        while time.time() < deadline:
            if runs.is_dir():
                done = [d for d in runs.iterdir() if (d / "result.json").exists()]
                part = [d for d in runs.iterdir() if (d / "ckpt.pt").exists() and not (d / "result.json").exists()]
                if done and part:
                    break
            time.sleep(0.01)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait()
    assert p.returncode == -signal.SIGKILL
    done = sorted(d.name for d in runs.iterdir() if (d / "result.json").exists())
    assert 1 <= len(done) < 4, "the sweep finished before it was killed"
    stamp = {d: os.path.getmtime(runs / d / "result.json") for d in done}
    torch.set_num_threads(1)
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--threads", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"4 runs, {len(done)} finished (skipped), 1 to resume, {3 - len(done)} to start" in text
    assert "4/4 runs finished" in text
    assert all(os.path.getmtime(runs / d / "result.json") == stamp[d] for d in done)
    rows = _results(out / "results.csv")
    assert [r["run"] for r in rows] == json.loads((out / "sweep.json").read_text())["runs"]
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert all(r["N"] == r["N_nonembed"] and r["loss"] == r["eval_loss_per_char"] for r in rows)
    assert [int(r["N_nonembed"]) for r in rows] == [888, 3312, 6592, 14496]
    # the resumed run gives the same curve as one trained without interruption
    resumed = [d.name for d in runs.iterdir() if d.name not in done][0]
    cfg = json.loads((runs / resumed / "config.json").read_text())["config"]
    from scalelaw.train.trainer import train
    train(cfg, tmp_path / "ref", name=resumed)

    def strip(path):
        with open(path) as f:
            return [{k: v for k, v in r.items() if k != "wall_time"} for r in csv.DictReader(f)]
    assert strip(out / "logs" / f"{resumed}.csv") == strip(tmp_path / "ref" / f"{resumed}.csv")
    # a second rerun trains nothing
    assert main(["sweep", str(spec), "--out", str(out), "--quiet"]) == 0
    assert "4 runs, 4 finished (skipped), 0 to resume, 0 to start" in capsys.readouterr().out
    # results.csv feeds scalelaw fit: by synonyms, and with the column named
    assert main(["fit", str(out / "results.csv"), "--law", "powerlaw_const"]) == 0
    assert "N <- N, loss <- loss" in capsys.readouterr().out
    assert main(["fit", str(out / "results.csv"), "--law", "powerlaw_const", "--x", "N_nonembed"]) == 0
    assert "N_nonembed <- N_nonembed, loss <- loss" in capsys.readouterr().out
    assert main(["inspect", str(out / "logs")]) == 0


def test_quick_variant_and_check(tmp_path, capsys):
    spec = _spec(tmp_path)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "q"), "--quick", "--check"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "L1H1E8_switching-p0.9-q0.9-k1_chars_cosine_s0_D2560" and "1 runs" in listed[-1]
    assert not (tmp_path / "q").exists()
    assert main(["sweep", str(spec), "--out", str(tmp_path / "q"), "--quick", "--quiet", "--workers", "1", "--threads", "1"]) == 0
    rows = _results(tmp_path / "q" / "results.csv")
    assert len(rows) == 1 and rows[0]["steps"] == "10"
    capsys.readouterr()
    # the full variant refuses the quick variant's folder
    assert main(["sweep", str(spec), "--out", str(tmp_path / "q")]) == 2
    assert "holds the runs of another sweep ('tiny', quick)" in capsys.readouterr().err


BAD = [
    ("[grid]\n", "colour = 1\n[grid]\n",
     "unknown key 'colour' in the sweep spec; allowed: name, description, grid, train, quick"),
    ("[train]\n", "[train]\nlearning_rate = 1\n", "unknown key 'learning_rate' in [train]; allowed: tokenizer_chars,"),
    ("seeds = [0]", "seeds = [0]\nsizes = [1]", "unknown key 'sizes' in [grid]; allowed: models, sources"),
    ("{n_layer = 1, n_head = 1, n_embd = 8}", "{n_layer = 1, n_head = 1, n_embd = 8, d_ff = 3}",
     "unknown key 'd_ff' in a grid.models entry; allowed: n_layer, n_head, n_embd, tied, name"),
    ("n_head = 2, n_embd = 24", "n_head = 5, n_embd = 24", "n_embd=24 is not divisible by n_head=5"),
    ("switching:p=0.9,q=0.9,k=1", "switching:p=1.9,q=0.9,k=1", "bad source spec"),
    ("sources = [\"switching:p=0.9,q=0.9,k=1\"]", "sources = []", "grid.sources must be a non-empty list"),
    ("tokenizers = [\"none\"]", "tokenizers = [\"lzw:vocab=1x\"]", "1x"),
    ("tokenizers = [\"none\"]", "tokenizers = [\"bpf:vocab=64\"]", "'bpf'"),
    ("cosine:peak=1e-2,final=1e-3,warmup=5", "cosine:peak=1e-2,finale=1e-3", "bad schedule spec"),
    ("tokenizers = [\"none\"]", "tokenizers = [\"lzw:vocab=64\"]\n", None),   # vocab below, in [train]
    ("name = \"tiny\"", "name = \"tiny\"\n[train2]", "unknown key 'train2'"),
    ("name = \"tiny\"", "name = ", "is not valid TOML"),
]


@pytest.mark.parametrize("old,new,msg", BAD)
def test_bad_specs_exit_2_with_one_line_before_training(tmp_path, capsys, old, new, msg):
    text = SPEC.replace(old, new, 1)
    if msg is None:   # a model vocabulary smaller than the tokenizer's
        text = text.replace("[train]\n", "[train]\nvocab = 32\n")
        msg = "train.vocab=32 is smaller than the vocabulary of 'lzw:vocab=64'"
    assert text != SPEC
    spec = _spec(tmp_path, text=text)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("scalelaw sweep: error: ")
    assert msg in err
    assert not out.exists()


def test_bad_output_folders_and_nothing_lost(tmp_path, capsys):
    spec = _spec(tmp_path, steps=10)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["sweep", str(spec), "--out", str(other)]) == 2
    assert "is not empty and holds no sweep" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "mine"
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--quiet", "--workers", "1", "--threads", "1"]) == 0
    before = _results(out / "results.csv")
    renamed = _spec(tmp_path, steps=10, text=SPEC.replace('name = "tiny"', 'name = "other"'), name="o.toml")
    assert main(["sweep", str(renamed), "--out", str(out)]) == 2
    assert "holds the runs of another sweep ('tiny', full); this one is 'other'" in capsys.readouterr().err
    changed = _spec(tmp_path, steps=10, text=SPEC.replace("batch_size = 8", "batch_size = 4"), name="c.toml")
    assert main(["sweep", str(changed), "--out", str(out)]) == 2
    assert "was made with another configuration (batch_size differ)" in capsys.readouterr().err
    assert _results(out / "results.csv") == before
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["sweep", str(spec), "--out", str(out), "--executor", "slurm"]) == 2
    assert "--executor slurm needs --partition" in capsys.readouterr().err


def test_load_sweep_grid_expansion(tmp_path):
    text = SPEC.replace('tokenizers = ["none"]', 'tokenizers = ["none", {name = "lzw", spec = "lzw:vocab=16"}]')
    text = text.replace("seeds = [0]", "seeds = [0, 1]")
    sw = load_sweep(_spec(tmp_path, text=text))
    assert len(sw.runs) == 4 * 2 * 2
    names = {r.name for r in sw.runs}
    assert "L2H2E24_switching-p0.9-q0.9-k1_lzw_cosine_s1_D15360" in names
    r = next(r for r in sw.runs if r.name.endswith("lzw_cosine_s1_D15360"))
    assert r.config.tokenizer == "lzw:vocab=16" and r.config.seed == 1 and r.config.tokens == 15360
    with pytest.raises(ScalelawError, match="no \\[quick\\] section"):
        load_sweep(_spec(tmp_path, text=SPEC.split("[quick.grid]")[0], name="nq.toml"), quick=True)
