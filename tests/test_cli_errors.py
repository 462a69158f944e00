"""User errors that used to be internal errors, bounds on work, and the docs' CLI contract
(issue 10: items 7, 8, 11, 12, the "Bounds on work" bullet and the "Done when" mismatches)."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from scalelaw.cli import main

from cli_helpers import SCHEDULE, one_line, run, write_runs

#: the ``scalelaw`` command in a subprocess
CLI = [sys.executable, "-c", "from scalelaw.cli import entry; entry()"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    write_runs(d / "runs.csv", rng)
    assert main(["fit", str(d / "runs.csv"), "--law", "chinchilla", "--json", str(d / "fit.json")]) == 0
    return d


# -- 7. one-line user errors instead of internal errors --------------------------------------
def test_a_plot_with_a_text_extension_is_refused_before_the_fit(inputs, tmp_path, capsys):
    code, out, err = run(capsys, "fit", inputs / "runs.csv", "--law", "chinchilla", "--plot", tmp_path / "out.txt")
    assert code == 2
    assert "'.txt' is not an image format" in one_line(err) and ".png" in err
    assert out == ""                                  # nothing was fitted


def test_schedule_plot_to_a_csv_is_a_user_error(tmp_path, capsys):
    code, out, err = run(capsys, "schedule", SCHEDULE, "--plot", tmp_path / "lr.csv")
    assert code == 2 and "not an image format" in one_line(err)
    assert not (tmp_path / "lr.csv").exists()


@pytest.mark.parametrize("n_jobs", ["0", "-2", "-7"])
def test_bad_n_jobs_is_refused_in_cli_words(inputs, capsys, n_jobs):
    code, out, err = run(capsys, "fit", inputs / "runs.csv", "--law", "chinchilla", "--bootstrap", "4", "--n-jobs", n_jobs)
    assert code == 2
    line = one_line(err)
    assert f"--n-jobs {n_jobs}" in line and "-1 for one per core" in line
    assert "None" not in line and "n_jobs =" not in line       # no Python spelling
    assert out == ""


def test_n_jobs_minus_one_is_all_cores(inputs, capsys):
    code, out, err = run(capsys, "fit", inputs / "runs.csv", "--law", "chinchilla", "--bootstrap", "4", "--n-jobs", "-1")
    assert code == 0, err
    assert "bootstrap, 4 resamples" in out


@pytest.mark.parametrize("n", ["1000000000", "99999999999999999999", "-5", "1"])
def test_absurd_bootstrap_counts_are_refused_up_front(inputs, capsys, n):
    t0 = time.perf_counter()
    code, out, err = run(capsys, "fit", inputs / "runs.csv", "--law", "chinchilla", "--bootstrap", n)
    assert code == 2
    line = one_line(err)
    assert f"--bootstrap {n}" in line
    assert out == "" and time.perf_counter() - t0 < 5


def test_a_bootstrap_that_would_not_fit_in_memory_is_refused():
    from scalelaw.cli._common import check_bootstrap_memory
    from scalelaw.errors import ScalelawError
    with pytest.raises(ScalelawError, match=r"--bootstrap 1000000 on 1000000 points needs about .* GiB"):
        check_bootstrap_memory(1_000_000, 1_000_000)
    check_bootstrap_memory(1000, 100)                 # 1.6 MB: fine


def test_a_long_bootstrap_prints_its_estimated_time(inputs, capsys, monkeypatch):
    from scalelaw.cli import _progress
    monkeypatch.setattr(_progress, "ESTIMATE_ABOVE_S", 0.0)   # every bootstrap counts as long
    monkeypatch.setattr(_progress, "ESTIMATE_AFTER_S", 0.0)
    code, out, err = run(capsys, "fit", inputs / "runs.csv", "--law", "chinchilla", "--bootstrap", "40")
    assert code == 0, err
    line = next(ln for ln in err.splitlines() if ln.startswith("bootstrap:"))
    assert "40 resamples, about" in line and " s " in line
    code, out, err = run(capsys, "fit", inputs / "runs.csv", "--law", "chinchilla", "--bootstrap", "40", "--quiet")
    assert code == 0 and "bootstrap:" not in err


def test_a_non_numeric_parameter_in_a_fit_json_is_a_user_error(inputs, tmp_path, capsys):
    d = json.loads((inputs / "fit.json").read_text())
    d["params"]["E"] = "abc"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    code, out, err = run(capsys, "predict", bad, "--at", "N=1e9", "D=1e10")
    assert code == 2
    assert "parameter E is 'abc', not a number" in one_line(err)


def test_a_closed_pipe_ends_quietly(tmp_path):
    many = tmp_path / "many"
    many.mkdir()
    for i in range(300):
        (many / f"run{i:03d}.csv").write_text("step,loss\n" + "".join(f"{s},{3 - s / 100}\n" for s in range(1, 6)))
    import shlex
    p = subprocess.run(f"{shlex.join(CLI)} inspect {many} | head -2", shell=True,
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert len(p.stdout.splitlines()) == 2
    assert p.stderr == "", p.stderr                   # no traceback, no 'internal error'


def test_broken_pipe_in_process_exits_141_without_a_message(capsys, monkeypatch):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            raise OSError("no descriptor")
    monkeypatch.setattr(sys, "stdout", Closed())
    code = main(["schedule", SCHEDULE])
    monkeypatch.undo()
    out, err = capsys.readouterr()
    assert code == 141 and err == ""


# -- 8. Ctrl-C during a parallel bootstrap ------------------------------------------------------
def test_ctrl_c_stops_a_parallel_bootstrap_at_once_and_writes_nothing(inputs, tmp_path):
    out_json = tmp_path / "fit.json"
    p = subprocess.Popen([*CLI, "fit", str(inputs / "runs.csv"), "--law",
                          "chinchilla", "--bootstrap", "1000000", "--n-jobs", "2", "--json", str(out_json)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        import select
        ready, _, _ = select.select([p.stderr], [], [], 60)
        line = p.stderr.readline() if ready else ""   # the time estimate: the workers are running
        assert line.startswith("bootstrap: 1000000 resamples, about"), line
        t0 = time.perf_counter()
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
        elapsed = time.perf_counter() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    rest = p.stderr.read()
    assert p.returncode == 130, rest
    assert elapsed < 2.0, elapsed
    assert "Traceback" not in rest and not out_json.exists()
    assert sorted(os.listdir(tmp_path)) == []


# -- 11. a degenerate envelope / IsoFLOP exponent ---------------------------------------------
def _one_size_envelope():
    rows = []
    for N in (1e8, 3e8, 1e9):
        for C in np.geomspace(1e18, 1e20, 30):
            rows.append({"N": N, "C": C, "loss": 3 - 0.1 * np.log10(C) + (0 if N == 3e8 else 0.05)})
    return pd.DataFrame(rows)


def test_an_envelope_won_by_one_model_size_is_refused(tmp_path, capsys):
    from scalelaw.allocate import lower_envelope
    from scalelaw.errors import ScalelawError
    with pytest.raises(ScalelawError, match=r"same model size \(N\* = 3e\+08\) in all \d+ budgets"):
        lower_envelope(_one_size_envelope())
    path = tmp_path / "env.csv"
    _one_size_envelope().to_csv(path, index=False)
    code, out, err = run(capsys, "allocate", "--envelope", path, "--compute", "1e24")
    assert code == 2
    assert "cannot be estimated" in one_line(err)
    assert "tokens/param" not in out                  # no extrapolation printed


def test_an_envelope_on_two_sizes_warns(capsys):
    import warnings

    from scalelaw.allocate import lower_envelope
    from scalelaw.errors import ScalelawWarning
    rows = []
    for N in (1e8, 2e8, 4e8, 8e8):
        for C in np.geomspace(1e18, 1e20, 30):
            best = 2e8 if C < 1e19 else 4e8
            rows.append({"N": N, "C": C, "loss": 3 - 0.1 * np.log10(C) + (0 if N == best else 0.05)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = lower_envelope(pd.DataFrame(rows))
    msgs = [str(w.message) for w in caught if issubclass(w.category, ScalelawWarning)]
    assert any("only 2 distinct model sizes" in m for m in msgs), msgs
    assert any("only 2 distinct model sizes" in n for n in res.notes)


# -- 12. predict refuses JSON that is not a fit -------------------------------------------------
def test_predict_refuses_allocate_json(inputs, tmp_path, capsys):
    alloc = tmp_path / "alloc.json"
    assert run(capsys, "allocate", inputs / "fit.json", "--compute", "1e22", "--json", alloc)[0] == 0
    code, out, err = run(capsys, "predict", alloc, "--at", "N=1e9", "D=1e10")
    assert code == 2
    line = one_line(err)
    assert "is a compute-optimal allocation" in line and "not a fit" in line and "scalelaw fit --json" in line
    assert out == ""


def test_predict_and_plan_refuse_other_json(inputs, tmp_path, capsys):
    iso = tmp_path / "iso.csv"
    from scalelaw.cli.demo import isoflop_runs
    isoflop_runs().to_csv(iso, index=False)
    iso_json = tmp_path / "iso.json"
    assert run(capsys, "allocate", "--isoflop", iso, "--json", iso_json)[0] == 0
    report = tmp_path / "report.json"
    code, out, err = run(capsys, "inspect", iso, "--json")
    report.write_text(json.dumps({"rows_read": 3, "dropped": {}, "source": "x"}))
    for path, what in ((iso_json, "IsoFLOP/envelope allocation"), (report, "log report")):
        for argv in (("predict", path, "--at", "N=1e9", "D=1e10"), ("plan", path, "--steps", "100", "--peak", "1e-3")):
            code, out, err = run(capsys, *argv)
            assert code == 2 and what in one_line(err), err
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    code, out, err = run(capsys, "predict", empty, "--at", "N=1e9")
    assert code == 2 and "no \"params\" object" in one_line(err)


# -- the docs' contract ---------------------------------------------------------------------
def test_predict_names_only_flags_it_has(inputs, tmp_path, capsys):
    grid = tmp_path / "g.csv"
    grid.write_text("tokens\n1e10\n")
    code, out, err = run(capsys, "predict", inputs / "fit.json", "--grid", grid)
    assert code == 2
    line = one_line(err)
    assert "no column for N" in line and "--x" not in line and "columns=" not in line
    assert "rename the grid's column" in line


def test_allocate_where_filters_runs_and_unknown_options_show_the_command_usage(tmp_path, capsys):
    from scalelaw.cli.demo import isoflop_runs
    runs = isoflop_runs().assign(condition="main")
    junk = runs.assign(condition="other", loss=runs["loss"] * 5)
    path = tmp_path / "mixed.csv"
    pd.concat([runs, junk]).to_csv(path, index=False)
    code, out, err = run(capsys, "allocate", "--isoflop", path, "--where", "condition == 'main'")
    assert code == 0, err
    assert "(where condition == 'main': 40 rows)" in out
    a = float(out.split("a = ")[1].split()[0])
    assert a == pytest.approx(0.36 / 0.70, abs=0.05)
    code, out, err = run(capsys, "allocate", "--isoflop", path, "--no-such-option")
    assert code == 2 and "usage: scalelaw allocate" in err and "unrecognized arguments: --no-such-option" in err


def test_inspect_help_lists_every_smoother(capsys):
    assert main(["inspect", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "ema" in text and "median" in text and "lowess" in text


USER_ERRORS = [
    ["fit", "missing.csv", "--law", "chinchilla"],
    ["fit", "runs.csv"],
    ["fit", "runs.csv", "--law", "chinchilla", "--json", "nofolder/x.json"],
    ["predict", "missing.json", "--at", "N=1"],
    ["predict", "runs.csv", "--at", "N=1"],
    ["allocate", "--isoflop", "runs.csv", "--budget-rtol", "x"],
    ["schedule", "nosuch:peak=1"],
    ["schedule", SCHEDULE, "--every", "0"],
    ["plan", "fit.json", "--steps", "10", "--peak", "1e-3"],
    ["inspect", "missing.csv"],
    ["demo", "--bootstrap", "-3"],
    ["fit", "runs.csv", "--law", "chinchilla", "--max-points", "50"],
]


@pytest.mark.parametrize("argv", USER_ERRORS, ids=[" ".join(a[:3]) for a in USER_ERRORS])
def test_every_user_fixable_problem_exits_2_with_one_line(inputs, monkeypatch, capsys, argv):
    monkeypatch.chdir(inputs)
    code, out, err = run(capsys, *argv)
    assert code == 2
    one_line(err)


def test_error_text_spells_each_command_its_own_flags():
    from scalelaw.cli import build_parser
    from scalelaw.cli._common import error_text
    from scalelaw.errors import ScalelawError
    parsers = build_parser()._scalelaw_commands
    err = ScalelawError("log.csv: no loss values; name the loss column", option="loss")
    assert error_text(err, "fit", parsers["fit"]) == "log.csv: no loss values; name the loss column (--loss COL)"
    # the option's word elsewhere in a message is just a word: no flag put into a column list
    xs = ScalelawError("no column for N; the table has: x, D, loss; name the column", option="x")
    assert error_text(xs, "fit", parsers["fit"]) == ("no column for N; the table has: x, D, loss; "
                                                    "name the column (--x COL)")
    where = ScalelawError("cannot parse where 'N >>> 3': invalid syntax", option="where")
    assert error_text(where, "fit", parsers["fit"]) == "cannot parse --where 'N >>> 3': invalid syntax"
    assert str(where) == "cannot parse where 'N >>> 3': invalid syntax"
    text = error_text(err, "inspect", parsers["inspect"])
    assert text.endswith("(--column loss=SOURCE)") and "--loss" not in text
    x = ScalelawError("no column for N; name the column", option="x")
    assert error_text(x, "fit", parsers["fit"]).endswith("(--x COL)")
    assert "--x" not in error_text(x, "allocate", parsers["allocate"])
    assert "Python" not in error_text(x) and "columns=" not in error_text(x, "fit", parsers["fit"])
