"""`scalelaw demo --out DIR`: the main job on the trainer's shipped runs, its printed results
against the data, and its report in a real headless browser (no console errors, every image
loaded, the schedule explorer's curve equal to the Python prediction after a slider moves)."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.cli import main
from test_report_browser import RTOL, browser, console_errors, double, images, move, open_report, panel, \
    relative_error

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One run of `scalelaw demo --out DIR` as the README gives it (default settings)."""
    import contextlib
    import io
    folder = tmp_path_factory.mktemp("demo") / "out"
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["demo", "--out", str(folder)])
    seconds = time.perf_counter() - t0
    assert code == 0, err.getvalue()
    print(f"\nscalelaw demo --out DIR: {seconds:.1f} s")
    return folder, out.getvalue(), err.getvalue()


def test_demo_completes_and_says_where_the_report_is(demo):
    folder, out, err = demo
    assert f"report: {folder / 'report.html'}" in out
    for name in ("report.html", "report.md", "runs.csv", "isoflop.csv", "fit.json", "fit.png", "momentum.json",
                 "multipower.json", "size_symbols.json", "size_tokens.json"):
        assert (folder / name).stat().st_size > 100, name
    assert len(list((folder / "figures").glob("*.png"))) >= 15
    assert "Traceback" not in err


def test_demo_fits_the_shipped_runs_and_the_floor_is_the_entropy_rate(demo):
    folder, out, _ = demo
    runs = pd.read_csv(ROOT / "data" / "size_sweep" / "results.csv")
    H = float(runs["entropy_rate"].iloc[0])
    for name, tok in (("size_symbols", "none"), ("size_tokens", "lzw:vocab=64")):
        res = sl.FitResult.from_json(folder / f"{name}.json")
        assert res.law.name == "powerlaw_const" and res.n == int((runs["tokenizer"] == tok).sum())
        assert res.mapping["N"] == "N_nonembed" and res.mapping["loss"] == "eval_loss_per_char"
        ci = res.conf_int()
        assert ci.loc["E", "lower"] <= H <= ci.loc["E", "upper"] and abs(res.params["E"] - H) < 0.01, name
        assert f"{res.params['E']:.4f}" in out
    assert f"H_inf = {H:.4f}" in out


def test_demo_predicts_the_unseen_schedules_and_prints_the_errors(demo):
    folder, out, _ = demo
    rows = re.findall(r"^\s+(momentum|multipower)\s+(\w+)\s+(yes|unseen)\s+([\d.]+)%\s+([\d.]+) / ([\d.]+)$", out,
                      flags=re.M)
    assert len(rows) == 10
    logs = {p.stem.split("_chars_")[1].split("_s0")[0]: p for p in (ROOT / "data" / "schedules" / "logs").glob("*.csv")}
    for law, sched, seen, err, pred, obs in rows:
        res = sl.FitResult.from_json(folder / f"{law}.json")
        log = sl.read_curves(logs[sched])
        p = res.predict(log)
        p = p[(p["step"] >= 400) & p["loss"].notna()]
        mean = 100 * float(((p["loss_pred"] - p["loss"]) / p["loss"]).abs().mean())
        assert float(err) == pytest.approx(mean, abs=6e-4)                # the printed error is the data's
        assert float(obs) == pytest.approx(float(p["loss"].iloc[-1]), abs=6e-5)
        assert (seen == "yes") == (sched in ("constant", "cosine"))
        assert mean < 1.0                                                 # within 1% on average, seen or not


def test_demo_keeps_the_known_truth_allocation(demo):
    _, out, _ = demo
    rec = [ln.split() for ln in out.splitlines() if ln.strip().startswith(("E ", "A ", "B ", "alpha", "beta"))
           and ln.strip().endswith(("yes", "no"))]
    assert [r[0] for r in rec] == ["E", "A", "B", "alpha", "beta"]
    assert sum(r[-1] == "yes" for r in rec) >= 4
    a = float(re.search(r"IsoFLOP profiles .*: a = ([\d.]+)", out).group(1))
    assert a == pytest.approx(0.36 / 0.70, abs=0.03)


def test_demo_report_opens_in_a_browser_and_its_explorer_is_the_python_prediction(demo, tmp_path):
    folder, _, _ = demo
    fits = {n: sl.FitResult.from_json(folder / f"{n}.json") for n in ("momentum", "multipower")}
    with browser(tmp_path / "profile") as d:
        open_report(d, folder / "report.html")
        imgs = images(d)
        assert len(imgs) >= 15 and all(ok and w > 0 for ok, w in imgs), imgs
        assert d.execute_script("return window.scalelawExplorer.panels.length") == 2
        for i, law in enumerate(("momentum", "multipower")):
            start = panel(d, i)
            assert start["model"]["law"] == law
            # it starts at the unseen wsdsqrt run, whose log is drawn as points
            assert start["spec"] == "wsd:peak=0.01,final=0.0001,steps=2000,warmup=50,cooldown=0.2,shape=sqrt"
            assert d.execute_script("return document.querySelectorAll('[data-scalelaw-explorer]')[arguments[0]]"
                                    ".querySelectorAll('circle.observed').length", i) > 50
            move(d, i, "cooldown", "0.4")
            move(d, i, "shape", "linear")
            js = panel(d, i)
            assert js["state"]["cooldown"] == 0.4 and js["state"]["shape"] == "linear"
            assert abs(js["final"] / start["final"] - 1) > 1e-4
            err = relative_error(js, double(fits[law]))
            print(f"{law}: explorer vs Python (double) max relative error {err:.1e}; "
                  f"vs the fit's own precision {relative_error(js, fits[law]):.1e}")
            assert err < RTOL and relative_error(js, fits[law]) < RTOL
        assert console_errors(d) == []


def test_demo_without_its_data_is_one_line(tmp_path, capsys):
    assert main(["demo", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the demo's runs are not in" in err and "--data DIR" in err


def test_demo_report_md_names_what_it_shows(demo):
    folder, _, _ = demo
    md = (folder / "report.md").read_text(encoding="utf-8")
    for heading in ("## Loss against model size: the size sweep", "## LR schedules: fit two runs, predict three",
                    "## Allocation: synthetic runs of a known law", "## Provenance"):
        assert heading in md
    data = json.loads((folder / "fit.json").read_text())
    assert data["law"] == "chinchilla"
    for p in re.findall(r"\]\((figures/[^)]+)\)", md):
        assert (folder / p).is_file()
    assert np.isfinite(float(re.search(r"final loss of ([\d.]+)", md).group(1)))


def test_demo_without_out_writes_a_new_temporary_folder_and_prints_it(capsys):
    import shutil
    import tempfile
    assert main(["demo", "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    path = Path(re.search(r"^report: (\S+report\.html)", out, flags=re.M).group(1))
    try:
        assert path.is_file() and path.parent.name.startswith("scalelaw-demo-")
        assert path.parent.parent == Path(tempfile.gettempdir())
        assert "(no bootstrap)" in out or "0 bootstrap resamples" in out
    finally:
        shutil.rmtree(path.parent)
