"""LR-schedule laws: exact LD evaluation, Jacobians, basis, data preparation, bad input."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalelaw.errors import ScalelawError
from scalelaw.laws import get_law
from scalelaw.laws.lr import MultiPowerLaw, Run, ld_naive, ld_terms
from scalelaw.schedules import cosine, parse_schedule, rewarmup, wsd

MPL_25M = np.array([3.0405, 0.5247, 0.5079, 363.79, 2.0656, 0.5828, 0.6414])


def _design(law, eta, steps, label="r", warmup=None):
    from scalelaw.schedules import detect_warmup
    r = Run(label, np.asarray(eta, float), np.asarray(steps), np.arange(len(steps)),
            warmup=detect_warmup(eta) if warmup is None else warmup)
    return law.design([r])


@pytest.mark.parametrize("sched", [
    cosine(1e-3, 300, 1e-4, warmup=30),
    wsd(1e-3, 300, 1e-4, warmup=20, cooldown=0.3, shape="sqrt"),
    rewarmup(1e-3, 300, 1e-4, warmup=20, at=120, rewarm=40),
])
@pytest.mark.parametrize("precision,rtol", [("double", 1e-10), ("single", 1e-5)])
def test_fast_ld_equals_naive_sum(sched, precision, rtol):
    eta = sched.lrs()
    steps = np.array([1, 5, 29, 30, 31, 77, 150, 151, 220, 299, 300])
    C, beta, gamma = 2.0, 0.6, 0.5
    naive = np.array([ld_naive(eta, t, C, beta, gamma) for t in steps])
    law = MultiPowerLaw(precision=precision)
    d = _design(law, eta, steps)
    fast = law.ld(d.x, C, beta, gamma)
    total_change = np.abs(np.diff(eta)).sum()
    atol = 1e-15 if precision == "double" else 1e-7 * total_change  # documented f32 bound
    assert np.allclose(fast, naive, rtol=rtol, atol=atol)
    # only LR changes contribute: a constant stretch adds nothing
    P = np.cumsum(eta)
    dd = np.zeros_like(eta)
    dd[1:] = eta[:-1] - eta[1:]
    k = np.flatnonzero(dd)
    assert np.allclose(ld_terms(P[steps], dd[k], eta[k], P[k - 1], C, beta, gamma), naive,
                       rtol=1e-10, atol=1e-14)


def test_paper_convention_sums_after_warmup_only():
    s = cosine(1e-3, 200, 1e-4, warmup=50)
    eta = s.lrs()
    steps = np.array([60, 120, 200])
    law = MultiPowerLaw(convention="paper", precision="double")
    d = _design(law, eta, steps)
    naive = np.array([ld_naive(eta, t, 1.5, 0.5, 0.5, k0=51) for t in steps])
    assert np.allclose(law.ld(d.x, 1.5, 0.5, 0.5), naive, rtol=1e-10)
    # S1 + S_W with S_W = ½·η_max·W, steps counted after warmup
    expect = eta[51:121].sum() + 0.5 * 1e-3 * 50
    assert d.x["S1"][1] == pytest.approx(expect)


@pytest.mark.parametrize("name", ["momentum", "s1power", "multipower", "momentum_fitlam", "momentum_n"])
def test_jacobian_matches_finite_differences(name):
    s = wsd(3e-4, 3000, 3e-5, warmup=200, cooldown=0.3, shape="cosine")
    eta = s.lrs()
    steps = np.arange(300, 3001, 100)
    if name == "momentum_fitlam":
        law, p = get_law("momentum", fit_lambda=True), np.array([3.0, 0.5, 0.6, 0.4, 0.995])
    elif name == "momentum_n":
        law = get_law("momentum_n")
        p = np.array([2.0, 0.5, 0.6, 50.0, 0.3, 0.4, 0.1])
        frame = pd.DataFrame({"step": np.r_[np.arange(3001), np.arange(3001)],
                              "lr": np.r_[eta, eta], "run": np.repeat(["a", "b"], 3001),
                              "N": np.repeat([1e7, 1e8], 3001)})
        frame = frame[frame.step % 100 == 0]
        d = law.prepare(frame, target=None)
    else:
        law = get_law(name, precision="double") if name == "multipower" else get_law(name)
        p = {"momentum": np.array([3.0, 0.5, 0.6, 0.4]), "s1power": np.array([3.0, 0.5, 0.6]),
             "multipower": MPL_25M}[name]
    if name != "momentum_n":
        d = _design(law, eta, steps)
    J = law.jacobian(d.x, p)
    assert J.shape == (d.n, len(p))
    for i in range(len(p)):
        h = 1e-6 * max(abs(p[i]), 1e-3)
        e = np.zeros_like(p)
        e[i] = h
        fd = (law.evaluate(d.x, p + e) - law.evaluate(d.x, p - e)) / (2 * h)
        assert np.allclose(J[:, i], fd, rtol=2e-4, atol=1e-7 * np.abs(fd).max() + 1e-12), law.param_names[i]
    # batched parameters and the variable-projection basis agree with evaluate
    P = np.stack([p, p * 1.01])
    assert law.evaluate(d.x, P).shape == (2, d.n)
    if law.has_basis():
        B = law.basis(d.x, P)
        lin = [law.param_names.index(q) for q in law.linear_params]
        assert np.allclose(np.einsum("gnm,gm->gn", B, P[:, lin]), law.evaluate(d.x, P), rtol=1e-10)


def test_published_multipower_parameters_reproduce_published_error(benchdata):
    """The released-code convention with the published 25M parameters must give the
    published average relative error (0.00110) on the six test curves."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "bench_lr", Path(__file__).resolve().parents[1] / "bench" / "bench_lr.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    W = bench.W
    specs = {name: bench.SPECS[name] for name in bench.TEST}
    law = MultiPowerLaw()
    errs = []
    bench = benchdata("mpl_25m")
    for name, spec in specs.items():
        df = pd.read_csv(bench / f"{name}.csv")
        s = parse_schedule(spec)
        d = _design(law, s.lrs(max(s.total, df.step.max())), df.step.to_numpy(), name, W)
        pred = law.evaluate(d.x, MPL_25M)
        errs.append(np.mean(np.abs(pred - df.loss) / df.loss))
    assert np.mean(errs) == pytest.approx(0.00110, abs=0.00002)


# -- data preparation and bad input ------------------------------------------------------------

def _frame(steps, lr, loss, run=None):
    d = {"step": steps, "lr": lr, "y": loss}
    if run is not None:
        d["run"] = run
    return pd.DataFrame(d)


def test_prepare_interpolates_and_records_fill_rule():
    law = get_law("momentum", warmup=100)
    f = _frame([200, 300, 400], [1e-3, 5e-4, 1e-4], [3.0, 2.9, 2.8])
    d = law.prepare(f)
    run = d.x["_runs"][0]
    assert run.eta[250] == pytest.approx(7.5e-4)          # linear between logged steps
    assert run.eta[50] == pytest.approx(1e-3 * 50 / 99)   # linear warmup from 0 over W
    assert run.eta[150] == pytest.approx(1e-3)
    assert "warmup=100" in d.info["lr_fill"]["0"]
    d2 = get_law("momentum").prepare(f)
    assert d2.x["_runs"][0].eta[100] == pytest.approx(5e-4)  # no rule: 0 -> first LR
    assert "no warmup given" in d2.info["lr_fill"]["0"]
    d3 = get_law("momentum", schedule="constant:peak=2e-3,steps=400").prepare(f)
    assert d3.x["_runs"][0].eta[150] == pytest.approx(2e-3)
    assert "schedule" in d3.info["lr_fill"]["0"]


def test_prepare_keeps_lr_only_rows_and_groups_by_run():
    law = get_law("multipower")
    f = _frame([0, 10, 20, 30, 0, 10, 20], [0, 1e-3, 1e-3, 5e-4, 0, 1e-3, 1e-3],
               [np.nan, 3.0, np.nan, 2.9, np.nan, 3.1, 3.0], run=list("aaaabbb"))
    d = law.prepare(f)
    assert d.n == 4 and list(d.groups) == ["a", "a", "b", "b"]
    assert np.allclose(d.y, [3.0, 2.9, 3.1, 3.0])


@pytest.mark.parametrize("steps,lr,msg", [
    ([10, 20, 20], [1e-3] * 3, "repeated"),
    ([10, 30, 20], [1e-3] * 3, "comes after"),
    ([10, 20, 30], [1e-3, 0.0, 1e-3], "lr must be positive"),
    ([10, 20, 30], [1e-3, -1e-3, 1e-3], "lr must be positive"),
])
def test_bad_steps_and_lr(steps, lr, msg):
    with pytest.raises(ScalelawError, match=msg):
        get_law("momentum").prepare(_frame(steps, lr, [3.0, 2.9, 2.8]))


def test_missing_lr_column_names_the_columns():
    with pytest.raises(ScalelawError) as e:
        get_law("multipower").prepare(pd.DataFrame({"step": [1, 2], "y": [3.0, 2.9], "foo": [1, 2]}))
    assert "step, y, foo" in str(e.value)


def test_config_round_trip():
    for name, cfg in [("momentum", {"lam": 0.99, "fit_lambda": True, "warmup": 10}),
                      ("multipower", {"convention": "paper", "precision": "double"}),
                      ("s1power", {"warmup": 5}), ("momentum_n", {"lam": 0.995})]:
        law = get_law(name, **cfg)
        again = get_law(name, **law.config())
        assert again.config() == law.config() and again.param_names == law.param_names


def test_ld_is_zero_before_the_first_lr_change():
    """Steps that all come before the first LR decrease: LD = 0 (no block to evaluate)."""
    assert np.array_equal(ld_terms(np.array([0.1, 0.2]), np.array([0.5]), np.array([0.5]),
                                   np.array([1.0]), 1.0, 0.5, 0.5, jac=True)[1], np.zeros((2, 3)))
    law = MultiPowerLaw(precision="double")
    eta = np.r_[np.full(1000, 1e-3), np.full(1000, 3e-4)]
    d = _design(law, eta, np.array([100, 500, 900]))
    assert np.array_equal(law.ld(d.x, 2.0, 0.5, 0.5), np.zeros(3))
