"""Random tables into `scalelaw fit`: it either fits or says what is wrong in one line;
it never crashes (exit 1 is the internal-error path)."""
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalelaw.cli import main

NAMES = ["N", "params", "Model Size", "D", "tokens", "C", "flops", "loss", "eval_loss",
         "step", "lr", "learning_rate", "run", "foo", "x"]
VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                   st.sampled_from([0.0, -1.0, 1e9, 3.2, 1e-4, 2.5e10]),
                   st.sampled_from(["abc", ""]))


@st.composite
def tables(draw):
    cols = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    n = draw(st.integers(0, 12))
    data = {c: [draw(VALUES) for _ in range(n)] for c in cols}
    return pd.DataFrame(data)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(df=tables(), law=st.sampled_from(["chinchilla", "powerlaw_const", "momentum", "kaplan",
                                        "E + A*N**-alpha"]))
def test_fit_never_crashes(tmp_path_factory, df, law):
    path = tmp_path_factory.mktemp("fz") / "t.csv"
    df.to_csv(path, index=False)
    flag = "--formula" if "*" in law else "--law"
    with warnings.catch_warnings():   # a numpy warning leaking to the user counts as a crash
        warnings.simplefilter("error", RuntimeWarning)
        code = main(["fit", str(path), flag, law, "--n-jobs", "1"])
    assert code in (0, 2)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(x=st.lists(st.floats(1e6, 1e12), min_size=4, max_size=30, unique=True),
       noise=st.floats(0, 0.05), seed=st.integers(0, 1000))
def test_fit_on_valid_random_data_is_at_least_as_good_as_truth(x, noise, seed):
    import scalelaw as sl
    x = np.array(x)
    y = (1.5 + 40 * x ** -0.2) * np.exp(np.random.default_rng(seed).normal(0, noise, len(x)))
    if len(np.unique(x)) < 2:
        return
    res = sl.fit({"N": x, "loss": y}, "powerlaw_const")
    truth = res._problem.value(np.array([1.5, 40.0, 0.2]))
    assert res.objective <= truth * (1 + 1e-7) + 1e-15


KINDS = ["constant", "cosine", "linear", "wsd", "multistep", "invsqrt", "cyclic", "rewarmup",
         "warmup", "markov", "switching", "nosuch", ""]
KEYS = ["peak", "final", "steps", "warmup", "cooldown", "shape", "split", "cycles", "m", "k",
        "p", "q", "alpha", "seed", "vocab", "zz"]
VALS = ["0", "-1", "3e-4", "1e9", "0.2", "2", "linear", "exp", "8-1-1", "abc", "", "nan", "inf"]


@st.composite
def specs(draw):
    kind = draw(st.sampled_from(KINDS))
    pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALS)), max_size=5))
    body = ",".join(f"{k}={v}" for k, v in pairs)
    return f"{kind}:{body}" if draw(st.booleans()) else kind + body


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=specs(), cmd=st.sampled_from(["schedule", "source"]))
def test_spec_parsers_never_crash(tmp_path_factory, spec, cmd):
    out = tmp_path_factory.mktemp("sp") / "o.csv"
    args = [cmd, spec] + (["--out", str(out)] if cmd == "schedule" else ["--json"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert main(args) in (0, 2)


@st.composite
def lr_logs(draw):
    """Per-step logs: half of them valid (sorted distinct steps, positive LRs and losses,
    so that fits run on odd but legal data), half with bad values mixed in."""
    clean = draw(st.booleans())
    n = draw(st.integers(8 if clean else 1, 25))
    steps = draw(st.lists(st.integers(0, 3000), min_size=n, max_size=n, unique=clean))
    if clean or draw(st.booleans()):
        steps = sorted(steps)
    good_lr, good_loss = st.floats(1e-6, 1e-2), st.floats(0.5, 8.0)
    bad_lr = st.sampled_from([0.0, -1e-4, float("nan")])
    bad_loss = st.sampled_from([0.0, float("nan"), -1.0])
    lr = [draw(good_lr if clean else st.one_of(good_lr, bad_lr)) for _ in range(n)]
    loss = [draw(good_loss if clean else st.one_of(good_loss, bad_loss)) for _ in range(n)]
    run = [draw(st.sampled_from(["a", "b"])) for _ in range(n)]
    return pd.DataFrame({"step": steps, "lr": lr, "loss": loss, "run": run})


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(df=lr_logs(), law=st.sampled_from(["multipower", "momentum", "s1power"]),
       warmup=st.sampled_from([None, 0, 50, 5000]))
def test_lr_fit_never_crashes(tmp_path_factory, df, law, warmup):
    path = tmp_path_factory.mktemp("lz") / "log.csv"
    df.to_csv(path, index=False)
    args = ["fit", str(path), "--law", law, "--n-jobs", "1"]
    if warmup is not None:
        args += ["--warmup", str(warmup)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert main(args) in (0, 2)
