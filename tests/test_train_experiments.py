"""The shipped experiments (data/): specs meet the issue's design, shipped outputs are read
by scalelaw as they are, and the --quick variants run (slow)."""
import json
import os
from pathlib import Path

import pandas as pd
import pytest

import scalelaw
from scalelaw.cli import main
from scalelaw.synthetic import parse_source
from scalelaw.train.sweep import load_sweep

DATA = Path(__file__).resolve().parents[1] / "data"


def test_size_sweep_spec_design():
    sw = load_sweep(DATA / "size_sweep.toml")
    cfgs = [r.config for r in sw.runs]
    sizes = {c.n_layer * (12 * c.n_embd ** 2 + 13 * c.n_embd) + 2 * c.n_embd for c in cfgs}   # N_nonembed
    assert len(sizes) >= 6 and max(sizes) / min(sizes) >= 30
    src = {c.source for c in cfgs}
    assert len(src) == 1 and parse_source(src.pop()).k >= 2 and "switching" in cfgs[0].source
    assert {c.tokenizer for c in cfgs} == {None, "lzw:vocab=64"}
    assert len({c.seed for c in cfgs}) >= 2
    quick = load_sweep(DATA / "size_sweep.toml", quick=True)
    assert 0 < len(quick.runs) < len(sw.runs)


def test_schedule_spec_design():
    sw = load_sweep(DATA / "schedules.toml")
    specs = {r.labels["schedule"] for r in sw.runs}
    assert len({(c.n_layer, c.n_embd) for c in (r.config for r in sw.runs)}) == 1
    assert len(specs) >= 4
    kinds = " ".join(specs)
    assert "constant:" in kinds and "cosine:" in kinds and "split=8-1-1" in kinds
    assert any(s.startswith("wsd:") and "cooldown=0.2" in s and "shape=linear" in s for s in specs)
    assert all(r.config.log_every == 1 for r in sw.runs)


@pytest.mark.parametrize("name", ["size_sweep", "schedules"])
def test_shipped_outputs_read_by_scalelaw(name, capsys):
    folder = DATA / name
    if not (folder / "results.csv").exists():
        pytest.skip(f"data/{name} has not been generated")
    res = pd.read_csv(folder / "results.csv")
    assert len(res) == len(load_sweep(DATA / f"{name}.toml").runs)
    assert (res["eval_loss_per_char"] >= res["entropy_rate"] - 0.02).all()
    logs = sorted((folder / "logs").iterdir())
    assert len(logs) == len(res)
    df = scalelaw.read_log(logs[0])
    assert set(df["split"]) == {"train", "val"}
    if name == "size_sweep":
        assert main(["fit", str(folder / "results.csv"), "--law", "powerlaw_const", "--where", "vocab == 2"]) == 0
        fits = json.loads((folder / "fits.json").read_text())
        for fam in fits["families"].values():
            lo, hi = fam["E_95_bootstrap"]
            assert lo <= fam["E"] <= hi
    else:
        assert main(["fit", *map(str, logs[:2]), "--law", "multipower", "--where", "step >= 400"]) == 0
    capsys.readouterr()


@pytest.mark.slow
def test_quick_variants_run_and_show_the_trap(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "size"
    assert main(["sweep", str(DATA / "size_sweep.toml"), "--out", str(out), "--quick", "--quiet",
                 "--workers", str(min(2, os.cpu_count() or 1)), "--threads", "1"]) == 0
    r = pd.read_csv(out / "results.csv")
    Hpi = r["unigram_entropy"].iloc[0]
    sym, tok = r[r["tokenizer"] == "none"], r[r["tokenizer"] != "none"]
    smallest = sym.sort_values("N").iloc[0]
    assert abs(smallest["eval_loss_per_char"] - Hpi) < 0.03          # the unigram trap
    assert (tok["eval_loss_per_char"] < Hpi - 0.03).all()              # tokens escape it
    out2 = tmp_path / "sched"
    assert main(["sweep", str(DATA / "schedules.toml"), "--out", str(out2), "--quick", "--quiet",
                 "--workers", str(min(2, os.cpu_count() or 1)), "--threads", "1"]) == 0
    s = pd.read_csv(out2 / "results.csv")
    assert len(s) == 4 and (s["steps"] == 300).all()
