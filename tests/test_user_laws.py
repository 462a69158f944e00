"""A user's own subclass of a built-in law, of each kind, goes the whole way: fit, predict,
bootstrap, save, reload, through the Python API and the CLI (named as 'module:Class')."""
import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.cli import main
from scalelaw.fitting import FitResult, fit_lr
from scalelaw.schedules import parse_schedule

MODULE = textwrap.dedent('''
    from scalelaw.laws.lr import S1PowerLaw
    from scalelaw.laws.scaling import Chinchilla


    class MyChinchilla(Chinchilla):
        """The Chinchilla form under the user's own name, with narrower exponent bounds."""
        name = "my_chinchilla"

        def default_bounds(self):
            b = super().default_bounds()
            b["alpha"] = (0.05, 1.5)
            return b


    class MyS1(S1PowerLaw):
        """The no-annealing LR-schedule baseline under the user's own name."""
        name = "my_s1"
''')

TRUE_CHIN = {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}
TRUE_S1 = np.array([2.0, 0.8, 0.5])


@pytest.fixture()
def mylaws(tmp_path, monkeypatch):
    (tmp_path / "mylaws_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mylaws_mod", None)
    import mylaws_mod
    return mylaws_mod


def _table(seed=0):
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(1e7, 1e9, 6), 5)
    D = N * np.tile(np.geomspace(5, 80, 5), 6)
    p = TRUE_CHIN
    L = p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]
    return pd.DataFrame({"N": N, "D": D, "loss": L * np.exp(0.003 * rng.standard_normal(len(N)))})


SPECS = {"const": "constant:peak=1e-3,steps=2000,warmup=100",
         "cos": "cosine:peak=1e-3,final=1e-4,steps=2000,warmup=100"}


def _logs(law, seed=0, specs=SPECS, params=TRUE_S1):
    """Per-step logs of ``law`` with ``params`` under ``specs``: a loss every 20 steps from
    step 100, with 0.2% noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for name, spec in specs.items():
        s = parse_schedule(spec)
        steps = np.arange(s.total + 1)
        f = pd.DataFrame({"run": name, "step": steps, "lr": s(steps), "loss": np.nan})
        obs = (steps % 20 == 0) & (steps >= 100)
        d = law.prepare(f.assign(y=np.where(obs, 1.0, np.nan)), target="y")
        f.loc[obs, "loss"] = law.evaluate(d.x, params) * (1 + 0.002 * rng.standard_normal(d.n))
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def test_user_scaling_law_python(mylaws, tmp_path):
    law = mylaws.MyChinchilla()
    res = sl.fit(_table(), law, bootstrap=30, seed=1)
    assert type(res.law) is mylaws.MyChinchilla and res.law.bounds["alpha"] == (0.05, 1.5)
    assert res.params["alpha"] == pytest.approx(TRUE_CHIN["alpha"], rel=0.1)
    assert res.boot is not None and len(res.boot) == 30
    pred = res.predict(N=[7e9], D=[1.4e11])
    truth = 1.8 + 400 / 7e9 ** 0.34 + 2000 / 1.4e11 ** 0.36
    assert pred["mean"].iloc[0] == pytest.approx(truth, rel=0.01)
    assert pred["mean_ci_lower"].iloc[0] < pred["mean"].iloc[0] < pred["mean_ci_upper"].iloc[0]
    path = tmp_path / "fit.json"
    res.to_json(path)
    assert json.loads(path.read_text())["law_class"] == "mylaws_mod:MyChinchilla"
    back = FitResult.from_json(path)
    assert type(back.law) is mylaws.MyChinchilla
    np.testing.assert_allclose(back.predict(N=[7e9], D=[1.4e11])["mean"], pred["mean"], rtol=1e-12)


def test_user_lr_law_python(mylaws, tmp_path):
    law = mylaws.MyS1(warmup=100)
    df = _logs(law)
    for res in (fit_lr(df, law, bootstrap=10), sl.fit(df, law, columns={"loss": "loss"}, bootstrap=10)):
        assert type(res.law) is mylaws.MyS1
        np.testing.assert_allclose(res.params.to_numpy(), TRUE_S1, rtol=0.1)
        curve = res.predict("wsd:peak=1e-3,final=1e-4,steps=2000,warmup=100,cooldown=0.2")
        assert list(curve.columns[:2]) == ["step", "lr"] and curve["step"].iloc[-1] == 2000
        truth = _true_curve(law, curve)
        assert np.max(np.abs(curve["loss_pred"] / truth - 1)) < 0.003
        assert res.boot is not None and len(res.boot) == 10
    res.to_json(tmp_path / "s1.json")
    back = FitResult.from_json(tmp_path / "s1.json")
    assert type(back.law) is mylaws.MyS1 and back.law.warmup == 100
    again = back.predict("wsd:peak=1e-3,final=1e-4,steps=2000,warmup=100,cooldown=0.2")
    np.testing.assert_allclose(again["loss_pred"], curve["loss_pred"], rtol=1e-12)


def _true_curve(law, curve):
    d, _ = law.curve_design("wsd:peak=1e-3,final=1e-4,steps=2000,warmup=100,cooldown=0.2",
                            steps=curve["step"].to_numpy())
    return law.evaluate(d.x, TRUE_S1)


def test_user_laws_through_the_cli(mylaws, tmp_path, capsys):
    table = tmp_path / "runs.csv"
    _table().to_csv(table, index=False)
    out = tmp_path / "chin.json"
    assert main(["fit", str(table), "--law", "mylaws_mod:MyChinchilla", "--bootstrap", "20",
                 "--json", str(out)]) == 0
    assert "my_chinchilla" in capsys.readouterr().out
    assert main(["predict", str(out), "--at", "N=7e9", "D=1.4e11"]) == 0
    printed = capsys.readouterr().out
    truth = 1.8 + 400 / 7e9 ** 0.34 + 2000 / 1.4e11 ** 0.36
    mean = float(printed.strip().splitlines()[-1].split()[2])
    assert mean == pytest.approx(truth, rel=0.01)

    logs = []
    for run, g in _logs(mylaws.MyS1(warmup=100)).groupby("run"):
        p = tmp_path / f"{run}.csv"
        g.drop(columns="run").to_csv(p, index=False)
        logs.append(str(p))
    out2 = tmp_path / "s1.json"
    assert main(["fit", *logs, "--law", "mylaws_mod:MyS1", "--warmup", "100", "--bootstrap", "10",
                 "--json", str(out2)]) == 0
    capsys.readouterr()
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out2), "--schedule",
                 "wsd:peak=1e-3,final=1e-4,steps=2000,warmup=100,cooldown=0.2", "--out", str(pred)]) == 0
    curve = pd.read_csv(pred)
    truth = _true_curve(mylaws.MyS1(warmup=100), curve)
    assert np.max(np.abs(curve["loss_pred"] / truth - 1)) < 0.003


def test_review_cases_for_user_laws(mylaws, tmp_path):
    """A bare curve law without conventions fits through fit_lr; a registered law reloads from
    JSON by its name; sl.fit on logs bootstraps blocks by default and takes 'point'."""
    from scalelaw.laws import register
    from scalelaw.laws.curves import CurveLaw

    class Plain(mylaws.MyS1):
        conventions = auto_conventions = ()
    law = Plain(warmup=100)
    df = _logs(law)
    res = fit_lr(df, law)
    np.testing.assert_allclose(res.params.to_numpy(), TRUE_S1, rtol=0.1)
    assert issubclass(Plain, CurveLaw)
    register("reg_s1", mylaws.MyS1)
    reg = fit_lr(df, sl.get_law("reg_s1", warmup=100))
    back = FitResult.from_json(reg.to_json())
    assert type(back.law) is mylaws.MyS1
    blocks = sl.fit(df, law, columns={"loss": "loss"}, bootstrap=3)
    assert blocks.boot_groups.startswith("blocks of")
    points = sl.fit(df, law, columns={"loss": "loss"}, bootstrap=3, groups="point")
    assert points.boot_groups is None and len(points.boot) == 3


def test_anchored_parameter_on_its_bound_is_said(tmp_path):
    """The multi-power law's anchored B held at a bound gets a note."""
    from scalelaw.laws import get_law
    law = get_law("multipower", warmup=100)
    specs = {"const": "constant:peak=1e-3,steps=2000,warmup=100",
             "step": "constant:peak=1e-3,steps=1000,warmup=100+constant:peak=3e-4,steps=1000"}
    df = _logs(law, specs=specs, params=np.array([2.0, 0.8, 0.5, 300.0, 2.0, 0.5, 0.6]))
    res = fit_lr(df, law, bounds={"B": (0, 100)})
    assert res.params["B"] == pytest.approx(100)
    assert any(n.startswith("B = 100 (anchored) is on its upper bound") for n in res.notes), res.notes
