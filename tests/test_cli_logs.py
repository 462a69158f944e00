"""Per-step logs on the command line (issue 10, items 18 and 21) and progress on long work:
predict --split and the fit's recorded split, fit --max-points, the progress hook."""
import io
import json

import numpy as np
import pandas as pd
import pytest

from scalelaw.cli import main

W = 100


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _log(path, n_steps=2000, every=20, seed=0, val_offset=0.15):
    """A cosine-schedule log with a train loss and a validation loss ``val_offset`` above it."""
    rng = np.random.default_rng(seed)
    steps = np.arange(0, n_steps + 1, every)
    lr = np.where(steps < W, 1e-3 * steps / W,
                  1e-3 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * steps / n_steps))))
    s1 = np.cumsum(lr) * every
    train = 2.0 + 0.8 * (s1 + 1e-3) ** -0.5 * (1 + 0.002 * rng.standard_normal(len(steps)))
    frame = pd.DataFrame({"step": steps, "lr": lr, "loss": train, "val_loss": train + val_offset})
    frame.to_csv(path, index=False)
    return frame


# -- 18. predict --split, and the split the fit used --------------------------------------------
def test_predict_compares_with_the_split_the_fit_used(tmp_path, capsys):
    log = _log(tmp_path / "log.csv")
    fit_json = tmp_path / "m.json"
    code, out, err = run(capsys, "fit", tmp_path / "log.csv", "--law", "s1power", "--warmup", W,
                         "--split", "train", "--json", fit_json)
    assert code == 0, err
    assert json.loads(fit_json.read_text())["data"]["split"] == "train"
    pred_csv = tmp_path / "p.csv"
    code, out, err = run(capsys, "predict", fit_json, "--log", tmp_path / "log.csv", "--out", pred_csv)
    assert code == 0, err
    assert "compared with the train loss" in out + err
    pred = pd.read_csv(pred_csv).merge(log, on="step", suffixes=("", "_log"))
    np.testing.assert_allclose(pred["loss"], pred["loss_log"])           # the train rows
    assert np.abs(pred["loss"] - pred["val_loss"]).min() > 0.1
    # --split val chooses the other one
    code, out, err = run(capsys, "predict", fit_json, "--log", tmp_path / "log.csv", "--split", "val",
                         "--out", pred_csv)
    assert code == 0, err
    pred = pd.read_csv(pred_csv).merge(log, on="step", suffixes=("", "_log"))
    np.testing.assert_allclose(pred["loss"], pred["val_loss"])


def test_a_fit_without_split_records_the_one_the_log_gave(tmp_path, capsys):
    _log(tmp_path / "log.csv")
    fit_json = tmp_path / "m.json"
    code, out, err = run(capsys, "fit", tmp_path / "log.csv", "--law", "s1power", "--warmup", W,
                         "--json", fit_json)
    assert code == 0, err
    assert json.loads(fit_json.read_text())["data"]["split"] == "val"


def test_predict_split_needs_a_log(tmp_path, capsys):
    _log(tmp_path / "log.csv")
    fit_json = tmp_path / "m.json"
    assert run(capsys, "fit", tmp_path / "log.csv", "--law", "s1power", "--warmup", W, "--json", fit_json)[0] == 0
    code, out, err = run(capsys, "predict", fit_json, "--schedule", "constant:peak=1e-3,steps=100",
                         "--split", "train")
    assert code == 2 and "--split chooses the loss of a --log" in err


def test_predict_falls_back_when_the_new_log_lacks_the_fitted_split(tmp_path, capsys):
    _log(tmp_path / "log.csv")
    fit_json = tmp_path / "m.json"
    assert run(capsys, "fit", tmp_path / "log.csv", "--law", "s1power", "--warmup", W, "--split", "val",
               "--json", fit_json)[0] == 0
    only_train = tmp_path / "new.csv"
    pd.read_csv(tmp_path / "log.csv").drop(columns="val_loss").to_csv(only_train, index=False)
    code, out, err = run(capsys, "predict", fit_json, "--log", only_train)
    assert code == 0, err
    assert "the fit used the val loss; " in err and "has none" in err
    assert pd.read_csv(io.StringIO(out))["loss"].notna().sum() > 50


# -- 21. fit --max-points --------------------------------------------------------------------
def test_fit_max_points_thins_each_run_and_records_it(tmp_path, capsys):
    _log(tmp_path / "a.csv", n_steps=4000, every=4, seed=1)
    _log(tmp_path / "b.csv", n_steps=3000, every=3, seed=2)
    full, thin = tmp_path / "full.json", tmp_path / "thin.json"
    # --noise off: every point of the full logs is fitted (the default would leave out the early
    # steps this synthetic curve's Riemann-sum S1 misfits, docs/perstep.md)
    assert run(capsys, "fit", tmp_path / "a.csv", tmp_path / "b.csv", "--law", "s1power", "--warmup", W,
               "--noise", "off", "--json", full)[0] == 0
    code, out, err = run(capsys, "fit", tmp_path / "a.csv", tmp_path / "b.csv", "--law", "s1power",
                         "--warmup", W, "--max-points", 60, "--json", thin)
    assert code == 0, err
    f, t = json.loads(full.read_text()), json.loads(thin.read_text())
    assert f["n"] > 1800 and 100 <= t["n"] <= 120       # at most 60 per run, warmup points left out
    assert t["data"]["max_points"] == 60 and t["data"]["points_thinned"] > 1800
    assert any("thinned to at most 60 per run" in n for n in t["notes"])
    assert "thinned to at most 60 per run" in out
    # the same curve, from a few points
    assert t["params"]["L0"] == pytest.approx(f["params"]["L0"], rel=0.01)


def test_thinning_keeps_the_first_and_last_point_of_each_run_evenly_spaced():
    from scalelaw.cli.fit import _thin
    df = pd.DataFrame({"run": ["a"] * 101 + ["b"] * 31, "step": list(range(101)) + list(range(31)),
                       "lr": 1e-3, "loss": np.r_[np.linspace(3, 2, 101), np.linspace(3, 2, 31)]})
    df.loc[[0, 1], "loss"] = np.nan                      # LR-only rows stay and are not counted
    out = _thin(df, 10)
    assert len(out) == len(df) and out["lr"].notna().all()
    kept_a = out[(out.run == "a") & out.loss.notna()].step.to_numpy()
    kept_b = out[(out.run == "b") & out.loss.notna()].step.to_numpy()
    assert kept_a[0] == 2 and kept_a[-1] == 100 and len(kept_a) == 10
    assert kept_b[0] == 0 and kept_b[-1] == 30 and len(kept_b) == 10
    assert np.ptp(np.diff(kept_a)) <= 1 and out.attrs["thinned"] == (99 - 10) + (31 - 10)


def test_max_points_for_a_scaling_law_on_logs_and_refused_for_tables(tmp_path, capsys):
    steps = np.arange(1, 2001)
    pd.DataFrame({"step": steps, "loss": 2 + 5 * steps ** -0.4}).to_csv(tmp_path / "log.csv", index=False)
    js = tmp_path / "p.json"
    code, out, err = run(capsys, "fit", tmp_path / "log.csv", "--law", "powerlaw_const", "--x", "step",
                         "--max-points", 100, "--json", js)
    assert code == 0, err
    d = json.loads(js.read_text())
    assert d["n"] == 100 and d["data"]["max_points"] == 100
    pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "loss": [3.0, 2.8, 2.7, 2.6]}).to_csv(tmp_path / "t.csv", index=False)
    code, out, err = run(capsys, "fit", tmp_path / "t.csv", "--law", "powerlaw_const", "--max-points", 2)
    assert code == 2 and "is a table of runs" in err


# -- progress -------------------------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_estimate_off_it_nothing_when_quiet(monkeypatch):
    from scalelaw.cli import _progress
    clock = iter(np.arange(0.0, 1000.0, 0.5))
    monkeypatch.setattr(_progress.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(_progress, "BAR_INTERVAL_S", 0.0)
    tty = Terminal()
    with _progress.Progress("bootstrap", 40, stream=tty) as p:
        for i in range(1, 41):
            p(i, 40)
    assert "bootstrap" in tty.getvalue() and "40/40" in tty.getvalue()
    plain = io.StringIO()
    with _progress.Progress("bootstrap", 40, stream=plain) as p:
        for i in range(1, 41):
            p(i, 40)
    lines = plain.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bootstrap: 40 resamples, about ")
    seconds = float(lines[0].split("about ")[1].split()[0])
    assert 15 <= seconds <= 25                           # 0.5 s a resample, 40 of them
    quiet = Terminal()
    with _progress.Progress("bootstrap", 40, stream=quiet, quiet=True) as p:
        for i in range(1, 41):
            p(i, 40)
    assert quiet.getvalue() == ""


def test_ticker_shows_elapsed_time_on_a_terminal_only(monkeypatch):
    import time

    from scalelaw.cli import _progress
    monkeypatch.setattr(_progress, "TICK_AFTER_S", 0.01)
    tty, plain = Terminal(), io.StringIO()
    with _progress.Ticker("fitting multipower", stream=tty):
        time.sleep(0.1)
    with _progress.Ticker("fitting multipower", stream=plain):
        time.sleep(0.1)
    assert "fitting multipower: 0 s elapsed" in tty.getvalue() and plain.getvalue() == ""


def test_bootstrap_progress_hook_reports_every_resample_and_keeps_the_draws():
    import scalelaw as sl
    rng = np.random.default_rng(0)
    N = np.geomspace(1e7, 1e10, 25)
    L = (1.7 + 250 * N ** -0.3) * np.exp(rng.normal(0, 0.003, 25))
    res = sl.fit({"N": N, "loss": L}, "powerlaw_const")
    plain = res.bootstrap(60, seed=3).to_numpy().copy()
    seen = []
    hooked = res.bootstrap(60, seed=3, progress=lambda done, total: seen.append((done, total))).to_numpy()
    np.testing.assert_array_equal(plain, hooked)
    assert seen[0] == (1, 60) and seen[-1] == (60, 60)
    assert all(b[0] > a[0] for a, b in zip(seen, seen[1:])) and len(seen) >= 6


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs a pseudo-terminal")
def test_the_cli_shows_a_bar_on_a_terminal_even_without_a_size(tmp_path):
    import os
    import pty
    import sys
    rng = np.random.default_rng(0)
    N = np.geomspace(1e7, 1e10, 25)
    pd.DataFrame({"N": N, "loss": (1.7 + 250 * N ** -0.3) * np.exp(rng.normal(0, 0.003, 25))}).to_csv(
        tmp_path / "runs.csv", index=False)
    pid, fd = pty.fork()          # the child's stdio is a pseudo-terminal of size 0 x 0
    if pid == 0:                  # pragma: no cover - the child
        os.execv(sys.executable, [sys.executable, "-c", "from scalelaw.cli import entry; entry()", "fit",
                                  str(tmp_path / "runs.csv"), "--law", "powerlaw_const", "--bootstrap", "200"])
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    _, status = os.waitpid(pid, 0)
    text = data.decode(errors="replace").replace("\r", "\n")
    assert os.waitstatus_to_exitcode(status) == 0, text
    bars = [ln for ln in text.splitlines() if ln.startswith("bootstrap:") and "resample" in ln]
    assert bars and "%|" in bars[-1]
