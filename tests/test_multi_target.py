"""Several targets in one call: fit(data, law, targets=[...], share=(...)) and the CLI's
--y A B / --y 'loss_*' --share alpha,beta (scalelaw.fitting.multi, scalelaw.laws.joint)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.cli import main
from scalelaw.errors import ScalelawError
from scalelaw.fitting.multi import MultiFit
from scalelaw.synthetic.runs import simulate_runs

SHARED = {"alpha": 0.34, "beta": 0.30}
TRUTH = {"loss_c4": {"E": 1.8, "A": 400.0, "B": 1200.0, **SHARED},
         "loss_paloma": {"E": 2.3, "A": 250.0, "B": 900.0, **SHARED},
         "loss_wiki": {"E": 2.0, "A": 600.0, "B": 1500.0, **SHARED}}


def _table(sd=0.01, seed=0, targets=TRUTH):
    """One row per run (N, D), one loss column per evaluation set, each drawn from
    Chinchilla at its own E, A, B and the common exponents."""
    N = np.geomspace(1e7, 1e10, 7)
    D = np.geomspace(1e8, 1e11, 7)
    design = pd.DataFrame([(n, d) for n in N for d in D], columns=["N", "D"])
    out = design.copy()
    for j, (t, p) in enumerate(targets.items()):
        out[t] = simulate_runs("chinchilla", p, design, eval_sd=sd, seed=seed + j)["loss"].to_numpy()
    return out


@pytest.fixture(scope="module")
def table():
    return _table()


@pytest.fixture(scope="module")
def joint(table):
    return sl.fit(table, "chinchilla", targets="loss_*", share=("alpha", "beta"))


def test_without_sharing_each_target_is_its_ordinary_fit(table):
    multi = sl.fit(table, "chinchilla", targets=["loss_paloma", "loss_c4"])
    assert multi.targets == ["loss_paloma", "loss_c4"] and multi.joint is None
    for t in multi.targets:
        alone = sl.fit(table, "chinchilla", columns={"loss": t})
        np.testing.assert_allclose(multi[t].params.to_numpy(), alone.params.to_numpy(), rtol=1e-12, atol=0)
        np.testing.assert_allclose(multi[t].cov.to_numpy(), alone.cov.to_numpy(), rtol=1e-10)
        assert multi[t].objective == pytest.approx(alone.objective, rel=1e-12)
        p = multi.predict(N=[1e9], D=[2e10])
        q = alone.predict(N=[1e9], D=[2e10])
        assert p.loc[p["target"] == t, "mean"].item() == pytest.approx(q["mean"].item(), rel=1e-12)
    f = multi.frame
    assert list(f.columns[:6]) == ["target", "param", "estimate", "stderr", "lower", "upper"]
    assert len(f) == 2 * 5 and not f["shared"].any()
    assert ((f["lower"] <= f["estimate"]) & (f["estimate"] <= f["upper"])).all()


def test_shared_exponents_recovered_with_narrower_intervals(table, joint):
    assert joint.share == ("alpha", "beta")
    assert joint.targets == ["loss_c4", "loss_paloma", "loss_wiki"]
    r = {t: joint[t] for t in joint}
    # the shared exponents are one estimate, seen by every target
    for p in ("alpha", "beta"):
        vals = {r[t].params[p] for t in r}
        assert len(vals) == 1
        est, se = vals.pop(), r["loss_c4"].stderr[p]
        assert abs(est - SHARED[p]) < 3 * se and abs(est / SHARED[p] - 1) < 0.1
    for t, truth in TRUTH.items():
        assert abs(r[t].params["E"] / truth["E"] - 1) < 0.05
    # each target alone, for comparison: the joint intervals of the exponents are narrower
    for t in TRUTH:
        alone = sl.fit(table, "chinchilla", columns={"loss": t})
        for p in ("alpha", "beta"):
            w_joint = np.diff(r[t].conf_int().loc[p].to_numpy())[0]
            w_alone = np.diff(alone.conf_int().loc[p].to_numpy())[0]
            assert w_joint < 0.9 * w_alone, (t, p, w_joint, w_alone)
    f = joint.frame
    assert set(f.loc[f["shared"], "param"]) == {"alpha", "beta"}
    a = joint.asymptotes()
    assert list(a["param"]) == ["E"] * 3
    for _, row in a.iterrows():   # the irreducible loss E of each evaluation set, with its interval
        res = joint[row["target"]]
        assert row["estimate"] == res.params["E"]
        assert abs(row["estimate"] / TRUTH[row["target"]]["E"] - 1) < 0.05
        assert [row["lower"], row["upper"]] == res.conf_int().loc["E"].tolist()


def test_joint_fit_is_the_optimum_of_its_targets(table, joint):
    """With the shared exponents held at the joint estimate, each target's own fit gives the
    joint's per-target parameters and the objectives add up to the joint objective; and the
    joint objective is no lower than the separate fits' sum (sharing is a constraint)."""
    fixed = {p: joint["loss_c4"].params[p] for p in ("alpha", "beta")}
    total = 0.0
    for t in joint:
        given = sl.fit(table, "chinchilla", columns={"loss": t}, fix=fixed)
        np.testing.assert_allclose(given.params.to_numpy(), joint[t].params.to_numpy(), rtol=2e-4)
        assert joint[t].objective == pytest.approx(given.objective, rel=1e-5)
        total += given.objective
    assert joint.joint.objective == pytest.approx(total, rel=1e-5)
    separate = sum(sl.fit(table, "chinchilla", columns={"loss": t}).objective for t in joint)
    assert joint.joint.objective >= separate * (1 - 1e-9)


def test_joint_bootstrap_and_json_round_trip(table, tmp_path):
    multi = sl.fit(table, "chinchilla", targets=["loss_c4", "loss_paloma"], share="alpha,beta",
                   bootstrap=40, seed=3)
    b1, b2 = multi["loss_c4"].boot, multi["loss_paloma"].boot
    assert len(b1) == len(b2) == 40
    np.testing.assert_array_equal(b1["alpha"].to_numpy(), b2["alpha"].to_numpy())   # one draw each
    assert not np.allclose(b1["E"].to_numpy(), b2["E"].to_numpy())
    assert "whole rows" in multi["loss_c4"].summary()
    path = tmp_path / "multi.json"
    multi.to_json(path)
    back = MultiFit.from_json(path)
    pd.testing.assert_frame_equal(back.frame, multi.frame)
    pd.testing.assert_frame_equal(back.predict(N=[3e9], D=[6e10]), multi.predict(N=[3e9], D=[6e10]))
    assert back.joint.law.share == ("alpha", "beta")
    d = json.loads(path.read_text())
    assert d["targets"] == ["loss_c4", "loss_paloma"] and set(d["results"]) == set(d["targets"])
    with pytest.raises(ScalelawError, match="several targets"):
        sl.FitResult.from_json(path)


def test_bad_targets_are_one_line_errors(table):
    bad = table.assign(name="run-a", half=[str(v) if i else "oops" for i, v in enumerate(table["loss_c4"])])
    with pytest.raises(ScalelawError, match="'name' is not numeric"):
        sl.fit(bad, "chinchilla", targets=["loss_c4", "name"])
    with pytest.raises(ScalelawError, match="'half' is not numeric.*'oops'"):
        sl.fit(bad, "chinchilla", targets=["half"])
    with pytest.raises(ScalelawError, match="'loss_x' is not in the table"):
        sl.fit(table, "chinchilla", targets=["loss_c4", "loss_x"])
    with pytest.raises(ScalelawError, match="no column matches the target pattern 'acc_\\*'"):
        sl.fit(table, "chinchilla", targets="acc_*")
    with pytest.raises(ScalelawError, match="'D' is a variable of the fit"):
        sl.fit(table, "chinchilla", targets=["loss_c4", "D"])
    with pytest.raises(ScalelawError, match="cannot share gamma"):
        sl.fit(table, "chinchilla", targets="loss_*", share="gamma")
    with pytest.raises(ScalelawError, match="only target"):
        sl.fit(table, "chinchilla", targets="loss_c4", share="alpha")


def test_cli_glob_share_json_predict(table, tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    table.to_csv(csv, index=False)
    out = tmp_path / "fit.json"
    rc = main(["fit", str(csv), "--law", "chinchilla", "--y", "loss_*", "--share", "alpha,beta",
               "--json", str(out), "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "asymptote per target" in text and text.count("target loss_") == 3
    d = json.loads(out.read_text())
    assert d["share"] == ["alpha", "beta"] and d["targets"] == list(TRUTH)
    rc = main(["predict", str(out), "--at", "N=1e9", "D=2e10", "--out", str(tmp_path / "p.csv")])
    assert rc == 0
    pred = pd.read_csv(tmp_path / "p.csv")
    assert list(pred["target"]) == list(TRUTH)
    assert (pred["mean_ci_lower"] < pred["mean"]).all() and (pred["mean"] < pred["mean_ci_upper"]).all()
    capsys.readouterr()
    rc = main(["allocate", str(out), "--compute", "1e22"])
    err = capsys.readouterr().err
    assert rc == 2 and "several targets" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    rc = main(["report", str(out), "--out", str(tmp_path / "report")])
    err = capsys.readouterr().err
    assert rc == 2 and "several targets" in err and len(err.strip().splitlines()) == 1


def test_cli_two_columns_without_sharing(table, tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    table.to_csv(csv, index=False)
    rc = main(["fit", str(csv), "--law", "chinchilla", "--y", "loss_c4", "loss_wiki", "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0 and "each target fitted on its own" in text
    assert "target loss_c4" in text and "target loss_wiki" in text and "target loss_paloma" not in text


@pytest.mark.parametrize("argv, message", [
    (["--y", "loss_c4", "name"], "'name' is not numeric"),
    (["--y", "loss_c4", "missing"], "'missing' is not in the table"),
    (["--y", "acc_*"], "no column matches the target pattern"),
    (["--y", "loss_c4", "--share", "alpha"], "--share ties parameters across several targets"),
    (["--y", "loss_*", "--share", "gamma"], "cannot share gamma"),
])
def test_cli_bad_targets_exit_2(table, tmp_path, capsys, argv, message):
    csv = tmp_path / "runs.csv"
    table.assign(name="run-a").to_csv(csv, index=False)
    rc = main(["fit", str(csv), "--law", "chinchilla", "--quiet"] + argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_docs_example_runs(capsys):
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "multitarget.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "import" in b]
    assert blocks
    exec(compile(blocks[0], "docs/multitarget.md", "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out
    assert "asymptote per target" in out and "loss_paloma" in out


def test_joint_holdout_scored_per_target(table):
    multi = sl.fit(table, "chinchilla", targets=["loss_c4", "loss_wiki"], share=("alpha", "beta"),
                   where="N < 2e9", holdout="N >= 2e9")
    held = table[table["N"] >= 2e9]
    for t in multi:
        h = multi[t].holdout
        pred = multi[t].predict(held[["N", "D"]])["mean"].to_numpy()
        assert h["n"] == len(held)
        assert h["rmse"] == pytest.approx(np.sqrt(np.mean((pred - held[t].to_numpy()) ** 2)), rel=1e-9)
        assert multi[t].n == int((table["N"] < 2e9).sum())
    assert multi.joint.holdout["n"] == 2 * len(held)


def test_a_targets_bootstrap_resamples_the_joint_fit(table):
    multi = sl.fit(table, "chinchilla", targets=["loss_c4", "loss_wiki"], share=("alpha", "beta"))
    draws = multi["loss_wiki"].bootstrap(20, seed=1)
    assert len(draws) == 20 and multi["loss_c4"].boot is not None
    np.testing.assert_array_equal(multi["loss_c4"].boot["beta"].to_numpy(), draws["beta"].to_numpy())
    assert len(multi.joint.boot) == 20


def test_sharing_test_flags_exponents_that_differ(joint):
    assert joint.joint.design_info["share_test"]["p"] > 0.01        # one alpha, one beta: no flag
    assert not any("fits worse than the noise explains" in n for n in joint.joint.notes)
    differ = {"loss_a": TRUTH["loss_c4"], "loss_b": {**TRUTH["loss_paloma"], "alpha": 0.22}}
    multi = sl.fit(_table(targets=differ), "chinchilla", targets="loss_*", share=("alpha", "beta"))
    test = multi.joint.design_info["share_test"]
    assert test["p"] < 1e-3 and test["q"] == 2
    assert any("fits worse than the noise explains" in n for n in multi.joint.notes)
    assert "the targets may differ in the shared parameters" in multi.summary()


# -- issue 12 item 1: per-target names, may_be_constant, text in target columns, messages ------
TWO = ["loss_c4", "loss_paloma"]


@pytest.mark.parametrize("share", [None, ("alpha", "beta")])
def test_per_target_fix_and_bounds_names(table, share):
    multi = sl.fit(table, "chinchilla", targets=TWO, share=share,
                   fix={"E[loss_c4]": 1.7}, bounds={"E[loss_paloma]": (2.4, 3.0)})
    c4, pal = multi["loss_c4"], multi["loss_paloma"]
    assert c4.params["E"] == 1.7 and "E" not in c4.free
    assert pal.params["E"] == pytest.approx(2.4, abs=1e-6)       # truth 2.3: on its lower bound
    f = multi.frame.set_index(["target", "param"])
    assert f.loc[("loss_c4", "E"), "fixed"] and not f.loc[("loss_paloma", "E"), "fixed"]
    if share is None:   # each is exactly the ordinary fit with the option under its base name
        alone = sl.fit(table, "chinchilla", columns={"loss": "loss_c4"}, fix={"E": 1.7})
        np.testing.assert_allclose(c4.params.to_numpy(), alone.params.to_numpy(), rtol=1e-12)
        alone = sl.fit(table, "chinchilla", columns={"loss": "loss_paloma"}, bounds={"E": (2.4, 3.0)})
        np.testing.assert_allclose(pal.params.to_numpy(), alone.params.to_numpy(), rtol=1e-12)
        # a per-target name wins over the base name, for that target only
        both = sl.fit(table, "chinchilla", targets=TWO, fix={"E[loss_c4]": 1.7, "E": 2.1})
        assert both["loss_c4"].params["E"] == 1.7 and both["loss_paloma"].params["E"] == 2.1
    else:
        assert c4.params["alpha"] == pal.params["alpha"]


def test_per_target_names_refused_in_one_line(table):
    with pytest.raises(ScalelawError, match=r"'E\[loss_x\]': 'loss_x' is not one of the targets"):
        sl.fit(table, "chinchilla", targets=TWO, fix={"E[loss_x]": 1.0})
    with pytest.raises(ScalelawError, match=r"'G\[loss_c4\]': chinchilla has parameters"):
        sl.fit(table, "chinchilla", targets=TWO, share="alpha", bounds={"G[loss_c4]": (0, 1)})
    with pytest.raises(ScalelawError, match="alpha is shared by all the targets; give it as 'alpha'"):
        sl.fit(table, "chinchilla", targets=TWO, share="alpha", fix={"alpha[loss_c4]": 0.3})


def test_cli_fix_per_target(table, tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    table.to_csv(csv, index=False)
    out = tmp_path / "fit.json"
    rc = main(["fit", str(csv), "--law", "chinchilla", "--y", "loss_c4", "loss_paloma", "--share", "alpha,beta",
               "--fix", "E[loss_c4]=1.8", "--json", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    d = json.loads(out.read_text())
    m = MultiFit.from_json(d)
    assert m["loss_c4"].params["E"] == 1.8 and m["loss_paloma"].params["E"] != 1.8


def test_joint_law_keeps_the_base_laws_constant_variables():
    from scalelaw.fitting.data import check_fittable
    from scalelaw.laws import get_law
    from scalelaw.laws.joint import INDEX, JointLaw
    law = JointLaw(get_law("data_constrained"), ["loss_a", "loss_b"], ("alpha", "beta"))
    assert law.may_be_constant == ("U",)
    n = 12
    frame = pd.DataFrame({"N": np.tile(np.geomspace(1e7, 1e9, 6), 2), "D": np.geomspace(1e9, 1e11, n),
                          "U": 4e9, INDEX: np.repeat([0.0, 1.0], 6), "y": np.linspace(2.0, 3.0, n)})
    check_fittable(law, frame, n_free=len(law.param_names) - 4, space="log")   # one pool: accepted


def _one_pool(seed=0):
    """Runs repeating one pool of U = 4e9 unique tokens (1 to 64 epochs), two evaluation
    sets from data_constrained with the same exponents and R*_D."""
    from scalelaw.laws import get_law
    law = get_law("data_constrained")
    dc = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353, "R_D_star": 15.4, "R_N_star": 5.3}
    rng = np.random.default_rng(seed)
    N, ep = np.meshgrid(np.geomspace(5e7, 2e9, 5), (1, 2, 4, 8, 16, 32, 64))
    f = pd.DataFrame({"N": N.ravel(), "U": 4e9, "D": 4e9 * ep.ravel()})
    for name, p in (("loss_a", dc), ("loss_b", {**dc, "E": 2.2, "A": 300.0})):
        f[name] = law(N=f.N, D=f.D, U=f.U, **p) * np.exp(0.003 * rng.standard_normal(len(f)))
    return f, dc


@pytest.mark.slow
def test_data_constrained_on_one_pool_shares_R_D_star():
    f, dc = _one_pool()
    multi = sl.fit(f, "data_constrained", targets="loss_*", share="alpha,beta,R_D_star", fix={"R_N_star": 5.3})
    for t in multi:
        ci = multi[t].conf_int()
        assert ci.loc["R_D_star", "lower"] < dc["R_D_star"] < ci.loc["R_D_star", "upper"]
    assert multi["loss_a"].params["R_D_star"] == multi["loss_b"].params["R_D_star"]


def test_numeric_column_is_the_one_rule():
    from scalelaw.fitting.data import numeric_column
    ok = pd.DataFrame({"y": [2.5, "3.0", "", None, "nan", np.nan, " inf "]}, dtype=object)
    v = numeric_column(ok, "y").to_numpy()
    assert v[0] == 2.5 and v[1] == 3.0 and np.isnan(v[2:6]).all() and v[6] == np.inf
    for bad, shown in (("na", "'na'"), ("null", "'null'"), ("n/a", "'n/a'"), ("run-7", "'run-7'"), (True, "True")):
        frame = pd.DataFrame({"y": [2.5, 2.4, bad]}, dtype=object)
        with pytest.raises(ScalelawError, match=f"target column 'y' is not numeric .*{shown}.* row 2") as e:
            numeric_column(frame, "y", "target column", option="y")
        assert e.value.option == "y"
    with pytest.raises(ScalelawError, match="'y' is not numeric"):
        numeric_column(pd.DataFrame({"y": [True, False]}), "y")
    with pytest.raises(ScalelawError, match="'y' has no numbers"):
        numeric_column(pd.DataFrame({"y": [np.nan, ""]}, dtype=object), "y", empty_ok=False)


def test_text_in_a_target_column_is_refused_single_and_several(table):
    bad = table.assign(loss_txt=table["loss_c4"].astype(object).where(table.index != 3, "null"))
    with pytest.raises(ScalelawError, match="loss column 'loss_txt' is not numeric.*'null' in row 3"):
        sl.fit(bad, "chinchilla", columns={"loss": "loss_txt"})
    with pytest.raises(ScalelawError, match="target column 'loss_txt' is not numeric.*'null' in row 3"):
        sl.fit(bad, "chinchilla", targets=["loss_c4", "loss_txt"])
    # an empty cell or NaN is still dropped for that target and counted
    gap = table.assign(loss_c4=table["loss_c4"].astype(object).where(table.index != 3, ""))
    res = sl.fit(gap, "chinchilla", columns={"loss": "loss_c4"})
    assert res.n == len(table) - 1 and any("dropped 1 row" in n for n in res.notes)


def test_cli_text_target_column_exits_2(table, tmp_path, capsys):
    csv = tmp_path / "txt.csv"
    t = table.assign(loss_txt=table["loss_c4"].astype(object).where(table.index != 5, "oops"),
                     name=[f"run-{i}" for i in range(len(table))], loss_empty=np.nan)
    t.to_csv(csv, index=False)
    for y, message in (("loss_txt", "loss column 'loss_txt' is not numeric (1 value(s) such as 'oops' in row 5)"),
                       ("name", "loss column 'name' is not numeric"),
                       ("loss_empty", "loss column 'loss_empty' has no numbers")):
        rc = main(["fit", str(csv), "--law", "chinchilla", "--y", y, "--quiet"])
        err = capsys.readouterr().err
        assert rc == 2 and message in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    rc = main(["fit", str(csv), "--law", "chinchilla", "--y", "loss_c4", "loss_empty", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "target column 'loss_empty' has no numbers" in err, err


def test_cli_loss_with_several_targets_names_the_flag(table, tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    table.to_csv(csv, index=False)
    rc = main(["fit", str(csv), "--law", "chinchilla", "--y", "loss_*", "--loss", "loss_c4", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "--loss 'loss_c4'" in err, err
    assert "targets=" not in err and "columns=" not in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ScalelawError) as e:
        sl.fit(table, "chinchilla", targets="loss_*", columns={"loss": "loss_c4"})
    assert e.value.option == "loss" and "loss 'loss_c4'" in str(e.value)


def test_docs_example_of_refused_text_is_refused(table, tmp_path, capsys):
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "multitarget.md").read_text(encoding="utf-8")
    example = re.search(r"text such as `\"([^\"]+)\"`", text).group(1)
    csv = tmp_path / "runs.csv"
    table.assign(loss_x=table["loss_c4"].astype(object).where(table.index != 0, example)).to_csv(csv, index=False)
    rc = main(["fit", str(csv), "--law", "chinchilla", "--y", "loss_c4", "loss_x", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "'loss_x' is not numeric" in err and repr(example) in err, err


def test_joint_expansion_lets_a_per_target_name_win():
    from scalelaw.fitting.multi import _expand
    from scalelaw.laws.joint import JointLaw
    law = JointLaw("chinchilla", TWO, ("alpha", "beta"))
    for given in ({"E[loss_c4]": 1.7, "E": 2.1}, {"E": 2.1, "E[loss_c4]": 1.7}):
        assert _expand(law, given, "fix") == {"E[loss_c4]": 1.7, "E[loss_paloma]": 2.1}
