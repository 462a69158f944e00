"""The README's command-line examples run as written (issue 10: the IsoFLOP example failed
on the demo's runs.csv and the multi-power example named logs that did not exist)."""
import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest

from scalelaw.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _section_commands(title):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    return [ln.split(" #")[0].strip() for ln in block.splitlines() if ln.strip()]


def _run_block(lines, tmp_path, monkeypatch, capsys):
    """Each line as the shell would run it from ``tmp_path`` (``cd`` followed, /tmp/ mapped
    into ``tmp_path``, a pipe's reader dropped, bootstraps shortened)."""
    monkeypatch.chdir(tmp_path)
    ran = []
    for line in lines:
        line = line.split(" | ")[0].replace("/tmp/", f"{tmp_path}/")
        argv = shlex.split(line)
        if argv[0] == "cd":
            monkeypatch.chdir(argv[1])
            continue
        assert argv[0] == "scalelaw", line
        argv = ["20" if a == "1000" and argv[i - 1] == "--bootstrap" else a for i, a in enumerate(argv)]
        code = main(argv[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"{line}\n{err}"
        ran.append((line, out, err))
    return ran


def test_the_scaling_law_examples_run(tmp_path, monkeypatch, capsys):
    ran = _run_block(_section_commands("Fit a scaling law"), tmp_path, monkeypatch, capsys)
    iso = next(out for line, out, err in ran if "--isoflop" in line)
    a = float(iso.split("a = ")[1].split()[0])
    assert a == pytest.approx(0.36 / (0.34 + 0.36), abs=0.03)          # the demo's true exponent
    assert (tmp_path / "demo" / "fit.png").stat().st_size > 1000


def test_the_lr_schedule_examples_run_on_shipped_logs(tmp_path, monkeypatch, capsys):
    lines = _section_commands("Predict a learning-rate schedule")
    shutil.copytree(ROOT / "data" / "examples", tmp_path / "data" / "examples")
    ran = _run_block(lines, tmp_path, monkeypatch, capsys)
    assert any("--law multipower" in line for line, _, _ in ran)
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert {"step", "lr", "loss_pred", "loss"} <= set(pred.columns)
    rel = (pred["loss_pred"] / pred["loss"] - 1).abs()
    assert rel.max() < 0.02                         # the logged run is predicted within its noise


def test_the_example_logs_are_what_their_script_makes():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "data" / "examples" / "make_examples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, frame in mod.example_logs().items():
        expected = frame.to_csv(index=False, float_format="%.6g")
        assert (ROOT / "data" / "examples" / f"{name}.csv").read_text() == expected, name


def test_the_further_examples_run_on_the_demo_files(tmp_path, monkeypatch, capsys):
    """The README's issue-12 block: several targets, the metric chain, compare, costs, shapes,
    cubic IsoFLOP, suggest and plan --isoflop, on the files `scalelaw demo --out` writes."""
    import json

    from scalelaw.cli.demo import ACC, VARIANT_S_N, demo_runs, eval_runs, isoflop_runs, variant_runs
    demo = tmp_path / "demo"
    demo.mkdir()
    for name, frame in (("runs.csv", demo_runs()), ("isoflop.csv", isoflop_runs()),
                        ("evals.csv", eval_runs()), ("variant.csv", variant_runs())):
        frame.to_csv(demo / name, index=False)
    monkeypatch.chdir(demo)
    assert main(["fit", "runs.csv", "--law", "chinchilla", "--bootstrap", "50", "--json", "fit.json"]) == 0
    capsys.readouterr()
    lines = _section_commands("Several targets, metrics, variants and the next runs")
    ran = _run_block(lines, tmp_path, monkeypatch, capsys)

    def out_of(part):
        return next(out for line, out, err in ran if part in line)

    assert "asymptote per target" in out_of("--share") and "loss_code" in out_of("--share")
    mult = next(ln for ln in out_of("scalelaw compare").splitlines() if ln.startswith("*"))
    assert float(mult.split()[2]) == pytest.approx(VARIANT_S_N, rel=0.25)   # the true multiplier
    chain = json.loads((demo / "chain.json").read_text())
    assert json.dumps(chain).count("sigmoid_loss") >= 1
    pred = out_of("scalelaw predict chain.json").splitlines()
    row = pred[[i for i, ln in enumerate(pred) if "metric_mean" in ln][0] + 1].split()
    assert ACC["b"] < float(row[5]) < ACC["a"] + ACC["b"]              # accuracy inside its range
    assert "rank" in out_of("scalelaw suggest") and "N_prior" in out_of("--budgets")
    assert "cubic" in out_of("--profile cubic") and "n_layer" in out_of("--shapes")
