"""Fit diagnostics (evaluations, convergence, parameters on a bound) and the bootstrap's
parallelism (serial by default, forkserver/spawn workers when asked, same draws)."""
import functools
import json
import multiprocessing
import multiprocessing.process
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.errors import ScalelawError
from scalelaw.fitting.engine import Problem
from scalelaw.fitting.results import FitResult
from scalelaw.fitting.uncertainty import n_processes
from scalelaw.laws import get_law

TRUTH = {"E": 1.8, "A": 400.0, "B": 1800.0, "alpha": 0.34, "beta": 0.36}


@pytest.fixture(scope="module")
def chinchilla_data():
    """Chinchilla-law losses on an 8 x 6 (N, tokens per parameter) grid, 0.3 % noise."""
    law = get_law("chinchilla")
    N = np.repeat(np.geomspace(1e7, 1e10, 8), 6)
    D = N * np.tile(np.geomspace(4, 200, 6), 8)
    p = np.array([TRUTH[k] for k in law.param_names])
    y = law.evaluate({"N": N, "D": D}, p) * np.exp(np.random.default_rng(11).normal(0, 0.003, len(N)))
    return pd.DataFrame({"N": N, "D": D, "loss": y})


@pytest.fixture(scope="module")
def capped(chinchilla_data):
    """alpha wants about 0.34; its bounds stop it at 0.25."""
    return sl.fit(chinchilla_data, "chinchilla", bounds={"alpha": (0.1, 0.25)})


def _bound_notes(res):
    return [n for n in res.notes if " bound " in n]


def _row(summary, name):
    return next(line for line in summary.splitlines() if line.startswith(name + " "))


def test_parameter_on_upper_bound_is_named_everywhere(capped, chinchilla_data):
    res = capped
    assert res.params["alpha"] == pytest.approx(0.25, abs=1e-9)
    assert res.convergence.at_bound == {"alpha": "upper"} == res.at_bound
    # notes: what, where, and what to do
    (note,) = _bound_notes(res)
    assert note.startswith("alpha = 0.25 is on its upper bound 0.25: the data want it higher")
    assert "widen the bound or fix it" in note
    # summary: the alpha row is marked, no other row is
    text = res.summary()
    assert _row(text, "alpha").endswith("on upper bound")
    for p in ("E", "A", "B", "beta"):
        assert "bound" not in _row(text, p)
    assert note in text
    # conf_int: the column on request; the plain two-column form stays as it was
    ci = res.conf_int(at_bound=True)
    assert list(ci.columns) == ["lower", "upper", "at_bound"]
    assert ci["at_bound"].to_dict() == {"E": "", "A": "", "B": "", "alpha": "upper", "beta": ""}
    lo, hi = res.conf_int().loc["alpha"]
    assert lo < 0.25 and hi == pytest.approx(0.25)   # cut at the bound, around the estimate
    # the SE is kept (documented: it treats alpha as interior) and flagged, not dropped
    assert 0 < res.stderr["alpha"] < 0.1
    # the other parameters compensate for the capped alpha: A falls well below the truth
    assert res.params["A"] < 0.5 * TRUTH["A"]


def test_bound_survives_json_round_trip(capped, tmp_path):
    path = tmp_path / "fit.json"
    capped.to_json(path)
    d = json.loads(path.read_text())
    assert d["at_bound"] == {"alpha": "upper"}
    assert d["convergence"]["at_bound"] == {"alpha": "upper"}
    assert d["convergence"]["converged"] is True and d["convergence"]["n_evaluations"] > 0
    assert any(n.startswith("alpha = 0.25 is on its upper bound") for n in d["notes"])
    back = FitResult.from_json(path)
    assert back.at_bound == {"alpha": "upper"}
    assert back.convergence.n_evaluations == capped.convergence.n_evaluations
    assert back.conf_int(at_bound=True).loc["alpha", "at_bound"] == "upper"
    assert _row(back.summary(), "alpha").endswith("on upper bound")
    assert _bound_notes(back) == _bound_notes(capped)
    # a file written before the diagnostics existed: the bound is found from params and bounds
    del d["convergence"], d["at_bound"]
    old = FitResult.from_json(json.dumps(d))
    assert old.convergence is None and old.at_bound == {"alpha": "upper"}
    bad = dict(d, convergence={"at_bound": {"alpha": "sideways"}})
    with pytest.raises(ScalelawError, match="at_bound"):
        FitResult.from_json(json.dumps(bad))


def test_lower_bound_side(chinchilla_data):
    res = sl.fit(chinchilla_data, "chinchilla", bounds={"alpha": (0.4, 0.6)})
    assert res.params["alpha"] == pytest.approx(0.4, abs=1e-9)
    assert res.at_bound == {"alpha": "lower"}
    assert _bound_notes(res)[0].startswith("alpha = 0.4 is on its lower bound 0.4: the data want it lower")
    assert res.conf_int(at_bound=True).loc["alpha", "at_bound"] == "lower"


def test_unconstrained_fit_reports_no_bound_and_converged(chinchilla_data, capped):
    res = sl.fit(chinchilla_data, "chinchilla")
    info = res.convergence
    assert abs(res.params["alpha"] - TRUTH["alpha"]) < 0.03    # interior, near the truth
    assert info.at_bound == {} and res.at_bound == {}
    assert info.converged and info.n_evaluations > 0 and info.n_starts == 4 and info.n_grid > 0
    assert info.grad_norm < 1e-6
    assert not _bound_notes(res) and not any("converge" in n for n in res.notes)
    assert "bound" not in res.summary()
    assert set(res.conf_int(at_bound=True)["at_bound"]) == {""}
    # the bounded fit costs evaluations too, and is a worse optimum than the free one
    assert capped.convergence.n_evaluations > 0 and capped.objective > res.objective
    # fewer starts, fewer evaluations
    one = sl.fit(chinchilla_data, "chinchilla", n_polish=1)
    assert one.convergence.n_starts == 1
    assert 0 < one.convergence.n_evaluations < info.n_evaluations


def test_iteration_limit_is_reported(chinchilla_data, monkeypatch):
    monkeypatch.setattr(Problem, "solve", functools.partialmethod(Problem.solve, maxiter=2))
    res = sl.fit(chinchilla_data, "chinchilla")
    info = res.convergence
    assert not info.converged
    assert "limit" in info.message.lower() or "exceed" in info.message.lower(), info.message
    (note,) = [n for n in res.notes if "did not converge" in n]
    assert info.message in note
    assert note in res.summary()
    assert json.loads(res.to_json())["convergence"]["converged"] is False


def test_all_fixed_and_direct_problem(chinchilla_data):
    every = sl.fit(chinchilla_data, "chinchilla", fix=TRUTH)
    assert every.convergence.n_starts == 0 and every.convergence.converged and every.at_bound == {}
    res = sl.fit(chinchilla_data, "chinchilla")
    pr = res._problem
    assert pr.last_info is res.convergence
    p, f = pr.solve(n_polish=1)
    assert f == pytest.approx(res.objective, rel=1e-6) and pr.last_info.n_starts == 1


# --- the bootstrap: serial unless asked ------------------------------------------------

def _small():
    x = np.geomspace(1e6, 1e10, 25)
    y = (2.0 + 300 * x ** -0.3) * np.exp(np.random.default_rng(7).normal(0, 0.01, len(x)))
    return {"N": x, "loss": y}


@pytest.fixture
def started(monkeypatch):
    """Records the start method of every child process started (and still starts it)."""
    seen = []
    orig = multiprocessing.process.BaseProcess.start

    def start(self):
        seen.append(getattr(self, "_start_method", None) or multiprocessing.get_start_method())
        return orig(self)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start)
    return seen


def test_default_bootstrap_starts_no_process(started):
    # 200 resamples: the old default started a process per core from 200
    res = sl.fit(_small(), "powerlaw_const", bootstrap=200, seed=1)
    assert res.boot.shape == (200, 3) and res.boot.std().gt(0).all()
    res.bootstrap(20, seed=2, n_jobs=1)
    res.bootstrap(20, seed=2, n_jobs=None)
    assert started == [] and multiprocessing.active_children() == []


def test_n_jobs_2_gives_the_serial_draws_on_forkserver_workers(started):
    a = sl.fit(_small(), "powerlaw_const", bootstrap=40, seed=3)
    assert started == []
    b = sl.fit(_small(), "powerlaw_const", bootstrap=40, seed=3, n_jobs=2)
    # workers start on demand (this process refits chunks while the first one starts)
    assert 1 <= len(started) <= 2 and set(started) <= {"forkserver", "spawn"}
    assert np.array_equal(a.boot.to_numpy(), b.boot.to_numpy())
    assert multiprocessing.active_children() == []
    # another seed, other draws (the comparison above can fail)
    c = sl.fit(_small(), "powerlaw_const", bootstrap=40, seed=4)
    assert not np.array_equal(a.boot.to_numpy(), c.boot.to_numpy())


def test_pool_object_map_interface(started):
    class Pool:   # emcee/schwimmbad style: only map(fn, iterable)
        calls = 0

        def map(self, fn, iterable):
            Pool.calls += 1
            return [fn(t) for t in iterable]

    a = sl.fit(_small(), "powerlaw_const", bootstrap=20, seed=5)
    b = sl.fit(_small(), "powerlaw_const", bootstrap=20, seed=5, pool=Pool(), n_jobs=2)
    assert Pool.calls == 1 and started == []   # the pool does the work; n_jobs is ignored
    assert np.array_equal(a.boot.to_numpy(), b.boot.to_numpy())


def test_n_jobs_convention():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert n_processes(None) == 1 and n_processes(1) == 1 and n_processes(3) == 3
    assert n_processes(-1) == cores and n_processes(-2) == max(1, cores - 1)
    assert n_processes(-1000) == 1
    for bad in (0, 1.5, "2", True):
        with pytest.raises(ScalelawError, match="n_jobs"):
            n_processes(bad)
    with pytest.raises(ScalelawError, match="n_jobs = 0"):
        sl.fit(_small(), "powerlaw_const", bootstrap=5, n_jobs=0)


@pytest.mark.slow
@pytest.mark.parametrize("when", ["running", "starting"])
def test_ctrl_c_stops_a_parallel_bootstrap_and_writes_nothing(tmp_path, when):
    """Ctrl-C while the workers refit, or while the forkserver still imports the engine
    (this process then refits chunks itself): out in well under a second or two, one
    traceback, no process left, nothing written."""
    out = tmp_path / "fit.json"
    warm = "res.bootstrap(4, n_jobs=2)" if when == "running" else "pass"
    script = textwrap.dedent(f"""
        import numpy as np, scalelaw as sl
        if __name__ == "__main__":
            x = np.geomspace(1e6, 1e10, 25)
            y = (2.0 + 300 * x ** -0.3) * np.exp(np.random.default_rng(7).normal(0, 0.01, 25))
            res = sl.fit({{"N": x, "loss": y}}, "powerlaw_const")
            {warm}                                # running: the worker machinery is up
            print("go", flush=True)
            res.bootstrap(200000, n_jobs=2)       # minutes of work
            res.to_json({str(out)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "go"
        time.sleep(1.5 if when == "running" else 0.4)
        assert proc.poll() is None
        t = time.perf_counter()
        os.killpg(proc.pid, signal.SIGINT)            # what Ctrl-C in a terminal does
        proc.wait(timeout=20)
        took = time.perf_counter() - t
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert err.count("KeyboardInterrupt") <= 2        # the parent's traceback only, not one per worker
    assert took < 3.0, took
    assert not out.exists()
    for _ in range(50):                               # the forkserver and workers go too
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("processes of the interrupted bootstrap are still running")


def test_degenerate_fits_are_said_out_loud():
    """A table mixing two conditions (R² < 0 for a law that cannot fit it) and a parameter
    the data cannot move get one-line notes in the summary and the JSON."""
    import json

    import scalelaw as sl
    rng = np.random.default_rng(3)
    C = np.geomspace(1e18, 1e21, 24)
    # loss rises with compute: no power law with a positive exponent fits better than a constant
    loss = 2.0 + 0.05 * np.log10(C / 1e18) + 0.01 * rng.standard_normal(C.size)
    res = sl.fit({"C": C, "loss": loss}, "powerlaw_const", columns={"C": "C"})
    assert any("R2" in n and "< 0" in n for n in res.notes), res.notes
    # the amplitude driven to ~1e-300 (a log-scale parameter cannot reach 0) is on its bound
    assert res.at_bound.get("A") == "lower" and any(n.startswith("A = ") and "lower bound" in n
                                                    for n in res.notes), res.notes
    assert "fits worse than a constant" in res.summary()
    assert any("fits worse than a constant" in n for n in json.loads(res.to_json())["notes"])
    # a fit to data that follow the law has no such note
    good = 1.7 + 300 * C ** -0.1 * np.exp(0.002 * rng.standard_normal(C.size))
    ok = sl.fit({"C": C, "loss": good}, "powerlaw_const", columns={"C": "C"})
    assert not any("worse than a constant" in n or "not identified" in n for n in ok.notes), ok.notes


def test_zero_degrees_of_freedom_is_refused():
    """As many points as free parameters: refused (docs/fitting.md), with the remedy."""
    import scalelaw as sl
    from scalelaw.errors import ScalelawError
    N = np.array([1e7, 1e8, 1e9])
    with pytest.raises(ScalelawError, match="3 data point.*3 free parameters.*no degrees of freedom"):
        sl.fit({"N": N, "loss": 2.0 + 50 * N ** -0.3}, "powerlaw_const", columns={"N": "N"})
    res = sl.fit({"N": N, "loss": 2.0 + 50 * N ** -0.3}, "powerlaw_const", columns={"N": "N"},
                 fix={"E": 2.0})
    assert res.dof == 1

