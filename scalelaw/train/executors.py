"""Where sweep runs (and bootstrap refits) execute: objects with ``map(fn, iterable)``.

``map`` returns the results in the order of ``iterable`` (a list), as the built-in ``map``
and ``concurrent.futures`` do, so the fitting engine's bootstrap accepts any of them
(``scalelaw.fit(..., bootstrap=10000, pool=executor)``).  ``fn`` and the items must be
picklable (module-level functions).  No torch import here.

* :class:`SerialExecutor`: in this process, one item after another.
* :class:`LocalExecutor`: a process pool on this machine (``workers`` processes, spawn
  context).  Each worker limits its thread pools (torch, BLAS, OpenMP) to
  ``threads_per_worker`` = cores // workers, so workers do not oversubscribe the cores.
* :class:`RayExecutor`: Ray tasks (``address`` of a running cluster, or a local Ray), each
  task reserving ``cpus_per_task`` CPUs and using that many threads.  ``pip install "ray"``
  (``scalelaw[ray]``).
* :class:`SlurmExecutor`: SLURM job arrays through submitit (``partition``,
  ``cpus_per_task``, ``timeout_min``); ``local=True`` runs the same jobs as local processes
  (submitit's LocalExecutor, for tests).  ``pip install "submitit"`` (``scalelaw[slurm]``).
"""
from __future__ import annotations

import os

from ..errors import ScalelawError

__all__ = ["SerialExecutor", "LocalExecutor", "RayExecutor", "SlurmExecutor", "get_executor",
           "EXECUTORS", "limit_threads"]

EXECUTORS = ("local", "ray", "slurm")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def limit_threads(n: int) -> None:
    """Limit this process's compute threads to ``n`` (torch if loaded, and the BLAS/OpenMP
    pools of libraries loaded later, through the usual environment variables)."""
    n = max(1, int(n))
    for v in _THREAD_VARS:
        os.environ[v] = str(n)
    import sys
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    os.environ["SCALELAW_THREADS"] = str(n)


def _worker_init() -> None:
    """Pool workers die with their parent (Linux): a killed sweep leaves no orphan run."""
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _call_with_threads(args):
    fn, item, n = args
    limit_threads(n)
    return fn(item)


class SerialExecutor:
    """Run every item here, in order."""

    name = "serial"

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def map(self, fn, iterable):
        if self.threads:
            limit_threads(self.threads)
        return [fn(x) for x in iterable]

    def close(self):
        pass


class LocalExecutor:
    """A pool of ``workers`` processes on this machine (default: one per core)."""

    name = "local"

    def __init__(self, workers: int | None = None, threads_per_worker: int | None = None):
        cores = os.cpu_count() or 1
        self.workers = max(1, int(workers or cores))
        self.threads_per_worker = int(threads_per_worker or max(1, cores // self.workers))

    def map(self, fn, iterable):
        items = list(iterable)
        if self.workers == 1 or len(items) <= 1:
            return SerialExecutor(self.threads_per_worker).map(fn, items)
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        # spawn: a forked child of a process that already runs torch/OpenMP threads can hang
        ctx = mp.get_context("spawn")
        env = {v: os.environ.get(v) for v in _THREAD_VARS}
        for v in _THREAD_VARS:   # the children's BLAS pools start small
            os.environ[v] = str(self.threads_per_worker)
        try:
            with ProcessPoolExecutor(max_workers=min(self.workers, len(items)), mp_context=ctx,
                                     initializer=_worker_init) as ex:
                return list(ex.map(_call_with_threads, [(fn, x, self.threads_per_worker) for x in items]))
        finally:
            for v, old in env.items():
                if old is None:
                    os.environ.pop(v, None)
                else:
                    os.environ[v] = old

    def close(self):
        pass


class RayExecutor:
    """Ray tasks on a cluster (``address="auto"`` or ``"ray://host:10001"``) or on a local
    Ray started here (``address=None``; ``num_cpus`` caps it)."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_task: int = 1, num_cpus: int | None = None,
                 **init_kwargs):
        try:
            import ray
        except ImportError:
            raise ScalelawError('the ray executor needs Ray; install it with pip install "scalelaw[ray]" '
                                '(or pip install ray)') from None
        self._ray = ray
        self.cpus_per_task = max(1, int(cpus_per_task))
        if not ray.is_initialized():
            kw = {"ignore_reinit_error": True, "log_to_driver": True, **init_kwargs}
            if address:
                kw["address"] = address
            elif num_cpus:
                kw["num_cpus"] = int(num_cpus)
            ray.init(**kw)

    def map(self, fn, iterable):
        ray = self._ray
        task = ray.remote(num_cpus=self.cpus_per_task)(_call_with_threads)
        refs = [task.remote((fn, x, self.cpus_per_task)) for x in iterable]
        return ray.get(refs)

    def close(self):
        self._ray.shutdown()


class SlurmExecutor:
    """SLURM job arrays via submitit: one job per item, logs under ``folder``."""

    name = "slurm"

    def __init__(self, folder, partition: str | None = None, cpus_per_task: int = 1,
                 timeout_min: int = 60, local: bool = False, **slurm_kwargs):
        try:
            import submitit
        except ImportError:
            raise ScalelawError('the slurm executor needs submitit; install it with pip install '
                                '"scalelaw[slurm]" (or pip install submitit)') from None
        self.cpus_per_task = max(1, int(cpus_per_task))
        if local:
            ex = submitit.LocalExecutor(folder=os.fspath(folder))
            ex.update_parameters(timeout_min=int(timeout_min))
        else:
            if not partition:
                raise ScalelawError("the slurm executor needs a partition")
            ex = submitit.AutoExecutor(folder=os.fspath(folder), cluster="slurm")
            ex.update_parameters(slurm_partition=partition, cpus_per_task=self.cpus_per_task,
                                 timeout_min=int(timeout_min), nodes=1, tasks_per_node=1,
                                 **slurm_kwargs)
        self._ex = ex

    def map(self, fn, iterable):
        items = [(fn, x, self.cpus_per_task) for x in iterable]
        if not items:
            return []
        jobs = self._ex.map_array(_call_with_threads, items)
        return [j.result() for j in jobs]

    def close(self):
        pass


def get_executor(kind: str = "local", *, workers: int | None = None, address: str | None = None,
                 partition: str | None = None, folder=None, cpus_per_task: int | None = None,
                 timeout_min: int = 60, threads: int | None = None):
    """An executor by name: ``local`` (``workers``, ``threads`` per worker), ``ray`` (``address``, ``workers`` caps a
    local Ray), ``slurm`` (``partition``, job files under ``folder``)."""
    if kind == "local":
        return LocalExecutor(workers, threads)
    if kind == "serial":
        return SerialExecutor()
    if kind == "ray":
        return RayExecutor(address, cpus_per_task=cpus_per_task or 1, num_cpus=workers)
    if kind == "slurm":
        if folder is None:
            raise ScalelawError("the slurm executor needs a folder for its job files")
        return SlurmExecutor(folder, partition, cpus_per_task=cpus_per_task or 1, timeout_min=timeout_min)
    raise ScalelawError(f"unknown executor {kind!r}; use one of {', '.join(EXECUTORS)}")
