"""`scalelaw fit / predict / demo` in-process: the contract and every bad-input message."""
import json

import numpy as np
import pandas as pd
import pytest

from scalelaw.cli import main


@pytest.fixture
def runs_csv(tmp_path):
    rng = np.random.default_rng(0)
    N = np.repeat(np.geomspace(5e7, 5e9, 8), 5)
    D = N * np.tile(np.geomspace(5, 120, 5), 8)
    L = (1.8 + 400 / N ** 0.34 + 1800 / D ** 0.36) * np.exp(rng.normal(0, 0.004, len(N)))
    df = pd.DataFrame({"Model Size": N, "Training FLOP": 6 * N * D, "eval_loss": L})
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_json_contract_and_predict(runs_csv, tmp_path, capsys):
    out_json = tmp_path / "fit.json"
    code, out, err = run(capsys, "fit", runs_csv, "--law", "chinchilla", "--bootstrap", "30",
                         "--holdout", "C > 1e20", "--json", out_json, "--n-jobs", "1")
    assert code == 0, err
    assert "D = C/(6*N)" in out                       # says it derived D
    assert "N <- Model Size" in out
    d = json.loads(out_json.read_text())
    assert {"law", "formula", "params", "stderr", "ci", "objective", "n", "metrics", "holdout"} <= set(d)
    assert set(d["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert all(len(v) == 2 and v[0] <= d["params"][k] <= v[1] for k, v in d["ci"].items())
    assert set(d["holdout"]) >= {"n", "rmse", "mape", "max_abs_err"}
    assert d["params"]["E"] == pytest.approx(1.8, abs=0.1)

    code, out, err = run(capsys, "predict", out_json, "--at", "N=7e10", "D=1.4e12")
    assert code == 0, err
    for col in ("mean", "mean_ci_lower", "mean_ci_upper", "obs_ci_lower", "obs_ci_upper"):
        assert col in out
    assert "outside the fitted range" in out + err

    grid = tmp_path / "grid.csv"
    pd.DataFrame({"params": [1e8, 1e9], "tokens": [2e9, 2e10]}).to_csv(grid, index=False)
    pred_csv = tmp_path / "pred.csv"
    code, out, err = run(capsys, "predict", out_json, "--grid", grid, "--out", pred_csv)
    assert code == 0, err
    pred = pd.read_csv(pred_csv)
    assert len(pred) == 2 and (pred["mean_ci_lower"] < pred["mean"]).all()
    truth = 1.8 + 400 / np.array([1e8, 1e9]) ** 0.34 + 1800 / np.array([2e9, 2e10]) ** 0.36
    np.testing.assert_allclose(pred["mean"], truth, rtol=0.02)


def test_fit_formula_where_fix_and_plot(runs_csv, tmp_path, capsys):
    png = tmp_path / "fit.png"
    code, out, err = run(capsys, "fit", runs_csv, "--formula", "E + A*N**-alpha + B*D**-beta",
                         "--where", "N >= 1e8", "--fix", "E=1.8", "--plot", png)
    assert code == 0, err
    assert "(fixed)" in out and "fitted on" in out
    assert png.stat().st_size > 10000 and png.read_bytes()[:4] == b"\x89PNG"


def test_fit_one_variable_law_picks_x_and_reports_it(runs_csv, capsys):
    code, out, err = run(capsys, "fit", runs_csv, "--law", "powerlaw_const", "--x", "Training FLOP")
    assert code == 0, err
    assert "E + A*C**-alpha" in out


def test_fit_leave_one_group_out(runs_csv, capsys):
    code, out, err = run(capsys, "fit", runs_csv, "--law", "chinchilla", "--cv", "Model Size")
    assert code == 0, err
    assert "cross-validation (leave one Model Size out)" in out and "mean: rmse" in out
    assert "calibrated from" in out   # the held-out errors calibrate the new-run band


BAD = [
    # (file content, extra args, expected message fragment)
    ("foo,bar\n1,2\n3,4\n", ["--law", "chinchilla"], "no column for N"),
    ("params,n_params,tokens,loss\n1e8,1e8,1e9,3\n2e8,2e8,1e9,2.9\n", ["--law", "chinchilla"],
     "ambiguous column for N: params, n_params"),
    ("N,D,loss\n1e8,1e9,3\n2e8,2e9,-1\n3e8,3e9,2.5\n4e8,4e9,2.4\n5e8,5e9,2.3\n6e8,6e9,2.2\n",
     ["--law", "chinchilla"], "non-positive loss"),
    ("N,D,loss\n1e8,1e9,3\n2e8,2e9,2.9\n", ["--law", "chinchilla"], "2 data point(s) for 5 free parameters"),
    ("N,D,loss\n1e8,1e9,3\n1e8,2e9,2.9\n1e8,3e9,2.8\n1e8,4e9,2.7\n1e8,5e9,2.6\n1e8,6e9,2.5\n",
     ["--law", "chinchilla"], "N has a single distinct value"),
    ("N,D,loss\n1e8,1e9,3\n2e8,2e9,2.9\n", ["--formula", "E + A*N**-alpha +"], "cannot parse formula"),
    ("N,D,loss\n1e8,1e9,3\n2e8,2e9,2.9\n", ["--formula", "E + __import__('os').getcwd()*N"], "not allowed"),
    ("N,D,loss\n1e8,1e9,3\n2e8,2e9,2.9\n", ["--law", "chinchilla", "--where", "N >>> 3"], "cannot parse --where"),
    ("N,D,loss\n1e8,1e9,3\n2e8,2e9,2.9\n", ["--law", "chinchilla", "--where", "Q > 3"], "unknown column 'Q'"),
    ("N,D,loss\n1e8,1e9,3\n2e8,2e9,2.9\n", ["--law", "nosuchlaw"], "unknown law 'nosuchlaw'"),
    ("N,D,loss\n1e8,1e9,3\n2e8,2e9,2.9\n", ["--law", "chinchilla", "--fix", "E"], "--fix expects P=V"),
    ("N,D,loss\n0,1e9,3\n2e8,2e9,2.9\n3e8,3e9,2.5\n4e8,4e9,2.4\n5e8,5e9,2.3\n6e8,6e9,2.2\n",
     ["--law", "chinchilla"], "non-positive value(s) in N"),
]


@pytest.mark.parametrize("content,args,msg", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_input_one_line_message(tmp_path, capsys, content, args, msg):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    out_json = tmp_path / "out.json"
    code, out, err = run(capsys, "fit", path, *args, "--json", out_json)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1, err
    assert msg in lines[0], lines[0]
    assert "Traceback" not in err
    assert not out_json.exists()                      # nothing half-written


def test_missing_column_message_lists_the_columns(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("foo,bar\n1,2\n3,4\n")
    code, out, err = run(capsys, "fit", path, "--law", "chinchilla")
    assert "the table has: foo, bar" in err


def test_nan_rows_dropped_and_counted_or_refused_with_strict(tmp_path, capsys):
    rng = np.random.default_rng(1)
    N = np.geomspace(1e7, 1e10, 20)
    L = (1.7 + 250 * N ** -0.3) * np.exp(rng.normal(0, 0.003, 20))
    L[[3, 7]] = np.nan
    N[5] = np.inf
    path = tmp_path / "nan.csv"
    pd.DataFrame({"N": N, "loss": L}).to_csv(path, index=False)
    code, out, err = run(capsys, "fit", path, "--law", "powerlaw_const")
    assert code == 0, err
    assert "dropped 3 row(s) with NaN/inf values" in out
    assert "n = 17" in out
    code, out, err = run(capsys, "fit", path, "--law", "powerlaw_const", "--strict")
    assert code == 2 and "3 row(s) with NaN/inf values" in err


def test_predict_bad_inputs(tmp_path, capsys, runs_csv):
    code, out, err = run(capsys, "predict", tmp_path / "missing.json", "--at", "N=1")
    assert code == 2 and "file not found" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out, err = run(capsys, "predict", bad, "--at", "N=1")
    assert code == 2 and "is not valid JSON (" in err and "scalelaw fit --json" in err
    fit_json = tmp_path / "fit.json"
    assert run(capsys, "fit", runs_csv, "--law", "chinchilla", "--json", fit_json)[0] == 0
    code, out, err = run(capsys, "predict", fit_json, "--at", "N=1e9")
    assert code == 2 and "no column for D" in err
    code, out, err = run(capsys, "predict", fit_json)
    assert code == 2 and "--at" in err


def test_missing_file_and_help(capsys):
    code, out, err = run(capsys, "fit", "/nonexistent/runs.csv", "--law", "chinchilla")
    assert code == 2 and "file not found" in err
    assert main(["--help"]) == 0
    assert "fit" in capsys.readouterr().out


def test_demo_recovers_truth(capsys):
    code, out, err = run(capsys, "demo", "--bootstrap", "40")
    assert code == 0, err
    rows = [ln.split() for ln in out.splitlines() if ln.strip().startswith(("E ", "alpha", "beta"))
            and ln.strip().endswith(("yes", "no"))]
    assert len(rows) == 3
    for r in rows:
        assert abs(float(r[2]) / float(r[1]) - 1) < 0.1


def test_binary_fit_json_and_missing_output_folder(tmp_path, capsys, runs_csv):
    junk = tmp_path / "junk.json"
    junk.write_bytes(bytes(range(128, 256)) * 3)
    code, out, err = run(capsys, "predict", junk, "--at", "N=1e9", "D=1e10")
    assert code == 2 and "is not a text JSON file" in err and "Traceback" not in err
    code, out, err = run(capsys, "fit", runs_csv, "--law", "chinchilla", "--json", tmp_path / "no" / "fit.json")
    assert code == 2 and "does not exist" in err
    assert out == ""                                  # refused before any work


def test_garbage_column_names_are_shown_printably(tmp_path, capsys):
    path = tmp_path / "g.csv"
    path.write_text("a\x01b," + "x" * 100 + "\n1,2\n")
    code, out, err = run(capsys, "fit", path, "--law", "chinchilla")
    assert code == 2
    assert "a?b" in err and "x" * 37 + "..." in err


def test_fit_from_training_logs_final_points(tmp_path, capsys):
    """A directory of per-run logs -> each run's last loss -> a law in N."""
    d = tmp_path / "logs"
    d.mkdir()
    Ns = [1e7, 3e7, 1e8, 3e8, 1e9, 3e9]
    for N in Ns:
        steps = np.arange(0, 1001, 100)
        tokens = steps * 1e6 + 1e6
        loss = 1.7 + 250 * N ** -0.3 + 1e3 * tokens ** -0.3
        pd.DataFrame({"step": steps, "loss": loss, "tokens": tokens, "N": N}).to_csv(
            d / f"run_{int(N)}.csv", index=False)
    out_json = tmp_path / "fit.json"
    code, out, err = run(capsys, "fit", d, "--final", "--law", "powerlaw_const", "--x", "N",
                         "--json", out_json)
    assert code == 0, err
    js = json.loads(out_json.read_text())
    assert js["n"] == len(Ns)
    assert js["params"]["alpha"] == pytest.approx(0.3, abs=1e-6)
    assert js["params"]["E"] == pytest.approx(1.7 + 1e3 * 1.001e9 ** -0.3, rel=1e-6)
    # these logs have one loss, read as training loss: --split train picks it, --split val
    # says there is none; without --final, --split is an LR-law option and is refused
    assert run(capsys, "fit", d, "--final", "--split", "train", "--law", "powerlaw_const",
               "--x", "N")[0] == 0
    code, out, err = run(capsys, "fit", d, "--final", "--split", "val", "--law", "powerlaw_const",
                         "--x", "N")
    assert code == 2 and "no val loss" in err
    code, out, err = run(capsys, "fit", d / "run_10000000.csv", "--split", "val", "--law",
                         "powerlaw_const")
    assert code == 2 and "--split apply to the LR-schedule laws" in err


def test_predict_refuses_non_positive_and_unknown_variables(tmp_path, capsys, runs_csv):
    fit_json = tmp_path / "fit.json"
    assert run(capsys, "fit", runs_csv, "--law", "chinchilla", "--json", fit_json)[0] == 0
    code, out, err = run(capsys, "predict", fit_json, "--at", "N=-1", "D=1e10")
    assert code == 2 and "non-positive value(s) in N" in err
    code, out, err = run(capsys, "predict", fit_json, "--at", "N=1e9", "D=1e10", "Q=3")
    assert code == 2 and "not a variable of chinchilla" in err
    code, out, err = run(capsys, "predict", fit_json, "--at", "params=1e9", "flops=6e19")
    assert code == 0 and "1e+10" in out            # D derived from C = 6ND
