"""Executors: local process pool (threads per worker), Ray local mode, submitit's local
executor; each serves a sweep and the fitting engine's bootstrap (pool=...)."""
import os

import numpy as np
import pandas as pd
import pytest

import scalelaw
from scalelaw.errors import ScalelawError
from scalelaw.train.executors import LocalExecutor, SerialExecutor, get_executor


def _probe(x):
    import torch
    return x * x, os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads(), os.getpid()


def _runs():
    rng = np.random.default_rng(3)
    N = np.geomspace(1e6, 1e9, 12)
    return pd.DataFrame({"N": N, "loss": (1.7 + 400 * N ** -0.33) * np.exp(rng.normal(0, 0.01, N.size))})


def _boot_equal(pool):
    ref = scalelaw.fit(_runs(), "powerlaw_const", bootstrap=24, seed=5, n_jobs=1)
    got = scalelaw.fit(_runs(), "powerlaw_const", bootstrap=24, seed=5, pool=pool)
    pd.testing.assert_frame_equal(ref.boot, got.boot)


def test_local_pool_threads_per_worker_and_order():
    pytest.importorskip("torch")
    ex = LocalExecutor(workers=2)
    assert ex.threads_per_worker == max(1, (os.cpu_count() or 1) // 2)
    out = ex.map(_probe, range(6))
    assert [o[0] for o in out] == [0, 1, 4, 9, 16, 25]
    assert all(o[1] == str(ex.threads_per_worker) and o[2] == ex.threads_per_worker for o in out)
    assert os.getpid() not in {o[3] for o in out}
    assert LocalExecutor(workers=3, threads_per_worker=1).threads_per_worker == 1


def test_local_and_serial_pools_serve_the_bootstrap():
    _boot_equal(LocalExecutor(workers=2))
    _boot_equal(SerialExecutor())


def test_missing_extras_and_unknown_executor(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(ScalelawError, match=r'pip install "scalelaw\[ray\]"'):
        get_executor("ray")
    with pytest.raises(ScalelawError, match=r'pip install "scalelaw\[slurm\]"'):
        get_executor("slurm", partition="p", folder="x")
    with pytest.raises(ScalelawError, match="unknown executor 'dask'; use one of local, ray, slurm"):
        get_executor("dask")


def _by_value(cloudpickle):
    """Ship this test module's functions by value: Ray and submitit workers cannot import it."""
    import sys
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def ray_executor():
    ray = pytest.importorskip("ray")
    from scalelaw.train.executors import RayExecutor
    _by_value(ray.cloudpickle)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ex = RayExecutor(num_cpus=2, include_dashboard=False)
    yield ex
    ex.close()


def test_ray_local_mode_map_and_bootstrap(ray_executor):
    out = ray_executor.map(_probe, range(4))
    assert [o[0] for o in out] == [0, 1, 4, 9]
    assert all(o[2] == 1 for o in out)          # one CPU per task -> one torch thread
    _boot_equal(ray_executor)


def test_ray_runs_a_sweep(ray_executor, tmp_path):
    pytest.importorskip("torch")
    from scalelaw.train.sweep import parse_sweep, run_sweep
    sw = parse_sweep({"name": "r", "grid": {
        "models": [{"n_layer": 1, "n_head": 1, "n_embd": 8}, {"n_layer": 1, "n_head": 2, "n_embd": 16}],
        "sources": ["switching:p=0.9,q=0.9,k=1"], "schedules": ["constant:peak=3e-3"], "seeds": [0],
        "tokens": [2560]}, "train": {"batch_size": 8, "context": 32, "eval_every": 5, "eval_sequences": 4}})
    res = run_sweep(sw, tmp_path / "out", ray_executor, status=False, echo=lambda s: None)
    assert res["finished"] == 2 and not res["failed"]
    assert len(list((tmp_path / "out" / "logs").iterdir())) == 2


def _submitit(tmp_path):
    pytest.importorskip("submitit")
    import cloudpickle
    from scalelaw.train.executors import SlurmExecutor
    _by_value(cloudpickle)
    return SlurmExecutor(tmp_path / "jobs", local=True, cpus_per_task=1)


def test_submitit_local_executor_map(tmp_path):
    ex = _submitit(tmp_path)
    out = ex.map(_probe, range(3))
    assert [o[0] for o in out] == [0, 1, 4] and all(o[2] == 1 for o in out)
    assert len({o[3] for o in out} | {os.getpid()}) == 4      # a process per job


@pytest.mark.slow
def test_submitit_local_executor_serves_the_bootstrap(tmp_path):
    _boot_equal(_submitit(tmp_path))     # 16 jobs, a process each (~20 s on 2 cores)


def test_leave_one_group_out_on_the_local_executor():
    """The leave-one-group-out refits run on a LocalExecutor and equal the serial ones."""
    import numpy as np
    import pandas as pd
    from cli_helpers import chinchilla_runs

    import scalelaw as sl
    from scalelaw.train.executors import LocalExecutor
    df = chinchilla_runs(np.random.default_rng(2))
    serial = sl.leave_one_group_out(df, "chinchilla", by="N")
    pooled = sl.leave_one_group_out(df, "chinchilla", by="N", pool=LocalExecutor(2, threads_per_worker=1))
    pd.testing.assert_frame_equal(serial, pooled)
