"""Uncertainty: asymptotic covariance (sandwich) and the bootstrap.

Sandwich covariance of an M-estimator, cov = A⁻¹·B·A⁻¹ with
A = E[ψ′]·Σ wᵢ gᵢgᵢᵀ and B = n/(n−k)·Σ (wᵢψ(rᵢ))² gᵢgᵢᵀ, gᵢ = ∂rᵢ/∂θ.
For squared error (ψ′ = 1) this is the heteroskedasticity-robust (HC1) covariance; for
Huber with a small δ, E[ψ′] = P(|r| ≤ δ) is estimated as δ·f̂(0)·2 with a kernel estimate
of the residual density at 0 (bandwidth: Silverman's rule on a MAD scale) when δ is below
the bandwidth, which gives the least-absolute-deviation limit 1/(4 f(0)²)·(JᵀJ)⁻¹ as δ → 0
instead of a covariance that blows up with the handful of residuals inside ±δ.

The bootstrap refits on resampled data.  Resampling is done with multinomial counts used
as weights (points, or whole groups such as all runs of one model size), so the prepared
design is never copied; or, for the wild (cluster) bootstrap, every point stays and its
residual is multiplied by one random weight per cluster (:func:`wild_observations`).
Each refit starts from the full-data optimum and from the best point of a coarse grid, so
a resample whose optimum lies in another basin finds it.  For laws not marked ``costly``
(and without an anchor stage) the resamples of a chunk are refitted together, vectorised
over resamples (:mod:`scalelaw.fitting._batched`: the same objective and bounds; 1,000
Chinchilla resamples in about 0.3 s of CPU against 10 s one at a time), with the
per-resample polish as the fall-back for any resample that does not converge.
Parallelism: serial (in this process) unless asked.  ``pool`` is any object with a
``map(fn, iterable)`` method (emcee/schwimmbad-style, or a Ray/submitit executor);
``n_jobs`` (joblib's convention, :func:`n_processes`) starts that many worker processes by
the ``forkserver`` start method (``spawn`` where there is none), not ``fork``, so a
bootstrap called from a threaded program cannot deadlock on a lock copied mid-use.
Workers import the law's module by name: a law class must be importable (defined at the
top of a module, or of a script guarded by ``if __name__ == "__main__":``).  The draws do
not depend on how the work is split: they equal the serial ones for a given seed.
Ctrl-C during a parallel bootstrap terminates the workers at once and raises
KeyboardInterrupt; nothing is returned or stored.
"""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from ..errors import ScalelawError
from .engine import Problem, single_threaded_blas
from .objective import dof as residual_dof


def sandwich_cov(problem: Problem, p: np.ndarray) -> np.ndarray:
    """Covariance of the free parameters (natural scale) at the optimum ``p``."""
    obj = problem.obj
    pred = problem.predict(p)
    r, drdf = obj.residual(pred, problem.y)
    J = problem.jacobian(p)[:, problem.free_mask] * drdf[:, None]      # d r / d theta
    w = problem.w
    n, k = J.shape
    dof = max(residual_dof(n, k + len(problem.anchored)), 1)   # anchored ones were estimated too
    if obj.loss == "l2" and not obj.overpredict:
        s2 = np.sum(w * r * r) / dof
        A = (J * w[:, None]).T @ J
        return s2 * _inv(A)
    psi = obj.psi(r)
    Bm = (J * (w * psi)[:, None] ** 2).T @ J * (n / dof)
    A = (J * w[:, None]).T @ J * mean_psi_prime(obj, r, w)
    Ai = _inv(A)
    return Ai @ Bm @ Ai


def mean_psi_prime(obj, r, w) -> float:
    """Weighted estimate of E[ψ′(r)], smoothed for a small Huber δ (see module doc)."""
    if obj.loss == "l2":
        return float(np.average(obj.psi_prime(r), weights=w))
    a = np.abs(r)
    med = np.median(r)
    scale = 1.4826 * np.median(np.abs(r - med))
    if not scale > 0:
        scale = np.sqrt(np.mean(r * r)) or 1.0
    h = 1.06 * scale * len(r) ** -0.2
    if obj.delta >= h:
        val = float(np.average((a <= obj.delta).astype(float), weights=w))
    else:
        dens0 = np.average((a <= h).astype(float), weights=w) / (2 * h)
        val = float(2 * obj.delta * dens0)
    if obj.overpredict:
        val *= 1 + obj.overpredict / 2
    return max(val, 1e-12)


def _inv(A):
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(A)


def resample_weights(n_boot: int, n: int, groups=None, seed=0) -> np.ndarray:
    """(n_boot, n) multinomial counts: points resampled, or whole groups when ``groups``
    labels the observations."""
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    labels, inv = np.unique(np.asarray(groups), return_inverse=True)
    g = len(labels)
    counts = rng.multinomial(g, np.full(g, 1.0 / g), size=n_boot).astype(float)
    return counts[:, inv]


def block_labels(groups, residuals, length: int | None = None):
    """Labels of non-overlapping blocks of consecutive rows within each group (rows in
    design order, e.g. the logged steps of each run), for a block bootstrap of serially
    correlated residuals.  Returns ``(labels, length)``.

    ``length`` defaults to the integrated autocorrelation time of the residuals,
    ``1 + 2·Σ_k ρ_k`` over lags up to the first non-positive pooled autocorrelation ρ_k
    (pooled over groups, each centred on its mean; non-finite residuals left out), capped
    at a third of the longest group.  A group shorter than a block is one block.  For
    independent residuals the length is 1: the plain point bootstrap."""
    r = np.asarray(residuals, dtype=float)
    if len(r) == 0:
        raise ScalelawError("no residuals to form bootstrap blocks from")
    g = np.zeros(len(r), dtype=int) if groups is None else np.unique(np.asarray(groups).astype(str),
                                                                     return_inverse=True)[1]
    members = [np.flatnonzero(g == k) for k in np.unique(g)]
    cap = max(1, max(len(m) for m in members) // 3)
    if length is None:
        series = [e - e.mean() for e in (r[m][np.isfinite(r[m])] for m in members) if len(e) > 2]
        den = sum(float(e @ e) for e in series)
        tau = 1.0
        if den > 0:
            for k in range(1, cap):
                rho = sum(float(e[:-k] @ e[k:]) for e in series if len(e) > k) / den
                if rho <= 0:
                    break
                tau += 2 * rho
        length = round(tau)
    length = int(np.clip(length, 1, cap))
    labels = np.empty(len(r), dtype=object)
    for k, m in enumerate(members):
        labels[m] = [f"{k}:{i // length}" for i in range(len(m))]
    return labels, length


#: Webb's six-point weights: mean 0, variance 1, six values (±√(1/2), ±1, ±√(3/2))
WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def wild_weights(n_boot: int, n_clusters: int, seed=0, kind: str | None = None) -> np.ndarray:
    """(n_boot, n_clusters) wild-bootstrap weights, mean 0 and variance 1.

    ``kind``: ``"rademacher"`` (±1), ``"webb"`` (Webb's six-point weights) or None:
    Rademacher from 12 clusters on, Webb below (2¹² = 4096 sign patterns is more than the
    usual number of draws; with fewer clusters sign flips repeat and the six-point weights
    give 6^G patterns).  Sign flips are preferred where they suffice because a Huber fit
    with a small δ behaves like least absolute deviations, whose spread depends on the
    density of the errors at zero: ±e keeps the symmetrized residual distribution, while
    the six-point weights raise that density by E[1/|v|] ≈ 1.08 and narrow the draws by
    about 7%.  (For squared error both are exact in the second moment.)"""
    if kind is None:
        kind = "rademacher" if n_clusters >= 12 else "webb"
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n_boot, n_clusters))
    if kind == "webb":
        return rng.choice(WEBB, size=(n_boot, n_clusters))
    raise ScalelawError(f"wild bootstrap weights {kind!r}: use 'rademacher' or 'webb'")


def wild_observations(problem: Problem, p_hat, n_boot: int, clusters=None, seed=0,
                      kind: str | None = None) -> np.ndarray:
    """(n_boot, n) replaced observations of a wild (cluster) bootstrap, natural scale.

    On the fit scale (log of the loss for a log-space fit, else the loss itself) each
    observation becomes ŷᵢ* = ŷᵢ + eᵢ·v_c: the fitted value plus its residual
    eᵢ = yᵢ − ŷᵢ times the weight v_c of its cluster c (:func:`wild_weights`), the same for
    every point of a cluster (``clusters``: labels; None: one cluster per point).  Points
    never leave the design (every step of a per-step log stays in), and a cluster's
    residuals are scaled by √(G/(G − k)) (G clusters, k free and anchored parameters; HC1's
    √(n/(n − k)) for one point per cluster) for the degrees of freedom the fit absorbed at
    the level the weights act on.  Rows with a zero base weight keep their observation.

    Measured (tests/test_bootstrap_wild.py, 60 points of E + A·N^−α, 3 parameters): for
    squared error the draws' SD is within about 5% of the Monte-Carlo SD of the estimate;
    for Huber with δ = 1e-3 on 2% noise (least-absolute-deviation-like) it runs 13-30%
    narrow (the fit passes through about k points, whose near-zero residuals the draws never
    move; the shortfall shrinks as about 1/(1 + 1.25·√(k/n)): 0.95-0.97 of the Monte-Carlo
    SD at 1,000 points); with noise shared by 15 clusters of 4, one weight per cluster
    gives 0.65-0.88 of it, one weight per point 0.45."""
    y = np.asarray(problem.y, dtype=float)
    fitted = problem.predict(np.asarray(p_hat, dtype=float))
    log = problem.obj.space == "log"
    with np.errstate(divide="ignore", invalid="ignore"):
        fy, ff = (np.log(y), np.log(fitted)) if log else (y, fitted)
    e = fy - ff
    if not np.all(np.isfinite(e[problem.w > 0])):
        raise ScalelawError("wild bootstrap: the fit has non-finite residuals (a non-positive "
                            "prediction or observation in a log-space fit)")
    e = np.where(np.isfinite(e), e, 0.0)
    if clusters is None:
        inv = np.arange(len(y))
    else:
        inv = np.unique(np.asarray(clusters).astype(str), return_inverse=True)[1]
    k = int(problem.free_mask.sum()) + len(problem.anchored)
    used = problem.w > 0
    g_used = len(np.unique(inv[used]))
    e = e * np.sqrt(g_used / max(g_used - k, 1))
    v = wild_weights(n_boot, int(inv.max()) + 1, seed, kind)[:, inv]
    out = ff[None, :] + e[None, :] * v
    if log:
        out = np.exp(out)
    return np.where(problem.w[None, :] > 0, out, y[None, :])


def _coarse_grid(problem: Problem, max_points: int = 100):
    need, axes, _ = problem.grid()
    if not axes:
        return {}
    per = max(2, int(np.floor(max_points ** (1.0 / len(axes)))))
    out = {}
    for name, a in zip(need, axes):
        if len(a) > per:
            a = a[np.linspace(0, len(a) - 1, per).round().astype(int)]
        out[name] = a
    return out


def _refit_chunk(args):
    """Refit one chunk of resamples (top-level so that process pools can pickle it).

    ``rows``: the chunk's multinomial counts (weights times the base weights), or with
    ``plan["wild"]`` its replaced observations y* (natural scale).  ``plan["batched"]``:
    the coarse grid's points and predictions where :mod:`._batched` refits the chunk at
    once (else None: one :class:`Problem` and polish per resample)."""
    law, design, obj, base_w, fixed, bounds, p0, rows, grid, plan = args
    wild = plan["wild"]

    def one(i):
        if wild:
            pr = Problem(law, replace(design, y=rows[i]), obj, weights=base_w, fixed=fixed, bounds=bounds)
        else:
            pr = Problem(law, design, obj, weights=base_w * rows[i], fixed=fixed, bounds=bounds)
        return _polish_resample(pr, p0, grid)

    with single_threaded_blas():
        if plan["batched"] is not None:
            from . import _batched
            pr = Problem(law, design, obj, weights=base_w, fixed=fixed, bounds=bounds)
            W = np.broadcast_to(base_w, rows.shape) if wild else base_w * rows
            return _batched.refit(pr, p0, W, rows if wild else pr.y, *plan["batched"], fallback=one)
        out = np.empty((len(rows), len(p0)))
        for i in range(len(rows)):
            out[i] = one(i)
    return out


def _polish_resample(pr: Problem, p0, grid) -> np.ndarray:
    """The per-resample refit: polish from the full-data optimum ``p0``, and from the coarse
    grid's best point when that lies in another basin."""
    lbfgs = not getattr(pr.law, "costly", False)   # costly laws: Levenberg-Marquardt only
    best, fbest = pr.polish(p0, ftol=1e-12, restarts=1, thorough=False, lbfgs=lbfgs)
    cands, vals = pr.search(grid, n_best=1)
    # another basin: polish the coarse grid's best point when it scores close to
    # (within 5% of) the warm-started optimum and lies elsewhere
    if len(cands) and vals[0] < 1.05 * fbest and not np.allclose(
            pr.to_u(cands[0]), pr.to_u(best), rtol=0.05, atol=0.05):
        q, fq = pr.polish(cands[0], ftol=1e-12, restarts=1, thorough=False, lbfgs=lbfgs)
        if fq < fbest:
            best = q
    return best


def n_processes(n_jobs) -> int:
    """Worker processes for ``n_jobs``, joblib's convention: None or 1 → 1 (serial, in this
    process, the default); k > 1 → k processes; -1 → one per core this process may use;
    -k → all but k − 1 of them (at least 1).  0 and non-integers are refused."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)):
        raise ScalelawError(f"n_jobs = {n_jobs!r}: give None or 1 (serial), a number of processes, "
                            "or -1 for all cores")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ScalelawError("n_jobs = 0: give None or 1 (serial), a number of processes, or -1 for all cores")
    if n_jobs > 0:
        return n_jobs
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores + 1 + n_jobs)


def bootstrap(problem: Problem, p_hat: np.ndarray, n_boot: int = 1000, groups=None, seed=0,
              pool=None, n_jobs: int | None = None, progress=None, wild: bool = False,
              weights: str | None = None, batched: bool | None = None) -> np.ndarray:
    """Bootstrap parameter draws, shape (n_boot, k) on the natural scale.

    Resampling: multinomial counts of points, or of whole groups when ``groups`` labels the
    observations (:func:`resample_weights`).  With ``wild=True`` a wild (cluster) bootstrap
    instead (:func:`wild_observations`): every point stays in the design and its residual
    on the fit scale is multiplied by one random weight per cluster (``groups``: the
    cluster labels, e.g. blocks of consecutive steps from :func:`block_labels` or whole
    runs; None: each point its own cluster); ``weights`` names them (``"rademacher"``,
    ``"webb"``; None: :func:`wild_weights`' choice).

    Refits: for laws not marked ``costly`` and without an anchor stage, all resamples of a
    chunk at once (:mod:`scalelaw.fitting._batched`; ``batched=False`` forces the
    per-resample polish, for comparison); else one polish per resample.

    Serial by default.  ``pool``: any object with ``map(fn, iterable)`` (gets 16 chunks of
    resamples; ``n_jobs`` is then ignored).  ``n_jobs``: worker processes
    (:func:`n_processes`: None or 1 serial, k > 1 that many, -1 all cores), started with
    the ``forkserver`` (else ``spawn``) method, in chunks that shrink towards the end
    (:func:`_guided_chunks`, so that no process idles while another finishes a large
    one).  The draws are the
    same whichever way they are computed.  ``progress``: called as ``progress(done, n_boot)``
    as resamples finish, after chunks of 1, 2, 4, ... resamples up to 1% of them (serially;
    10% when batched) or 1/8 of a process's share (processes); not with ``pool``.  For a
    progress bar."""
    from . import _batched
    if wild:
        rows = wild_observations(problem, p_hat, n_boot, groups, seed, weights)
    else:
        rows = resample_weights(n_boot, problem.n, groups, seed)
    grid = _coarse_grid(problem)
    use_batched = _batched.applies(problem) if batched is None else bool(batched) and _batched.applies(problem)
    plan = {"wild": bool(wild), "batched": _batched.grid_points(problem, grid) if use_batched else None}
    procs = 1 if pool is not None else min(n_processes(n_jobs), n_boot)
    n_chunks = 16 if pool is not None else 1 if procs == 1 else _guided_chunks(n_boot, procs)
    if progress is not None and pool is None:   # small first chunks: early reports
        share = (10 if use_batched else 100) if procs == 1 else 8 * procs
        n_chunks = _progress_chunks(n_boot, max(1, n_boot // share))
    chunks = [c for c in (np.split(rows, n_chunks) if isinstance(n_chunks, list)
                          else np.array_split(rows, n_chunks)) if len(c)]
    tasks = [(problem.law, problem.design, problem.obj, problem.w, problem.user_fixed, problem.bounds,
              p_hat, c, grid, plan) for c in chunks]
    done = [0]

    def finished(part):
        done[0] += len(part)
        if progress is not None:
            progress(done[0], n_boot)
        return part

    if procs > 1 and not _main_importable():
        import warnings

        from ..errors import ScalelawWarning
        warnings.warn("the main program is not a file that worker processes can import (read "
                      "from stdin?): the bootstrap runs serially", ScalelawWarning, stacklevel=3)
        procs = 1
    if pool is not None:
        parts = list(pool.map(_refit_chunk, tasks))
    elif procs == 1:
        parts = [finished(_refit_chunk(t)) for t in tasks]
    else:   # the law, data and start go to each worker once; tasks carry only the counts
        shared = tasks[0][:7] + tasks[0][8:]
        parts = _map_processes(_refit_shared, [t[7] for t in tasks], procs, on_part=finished,
                               shared=shared, local=lambda c: _refit_chunk(shared[:7] + (c,) + shared[7:]))
    return np.concatenate(parts, axis=0)


_SHARED: tuple | None = None   # a worker's (law, design, obj, w, fixed, bounds, p0, grid, plan)


def _worker_start(shared):
    """Worker initializer: keep the payload common to all chunks; Ctrl-C is the parent's."""
    global _SHARED
    _SHARED = shared
    _ignore_sigint()
    _warm_allocator()


def _warm_allocator():
    """Free one 24 MB block, as the parent's full fit does with its grid blocks.  glibc's
    malloc then raises its mmap threshold to 24 MB and its trim threshold to 48 MB; in a
    fresh process (forkserver, spawn) they stay at 128 KB, and each resample's arrays are
    mapped and faulted in anew: 150 Chinchilla resamples took 1.57 s of CPU in a fresh
    worker against 1.48 s in the parent or a forked child, and 1.48 s after this.  Other
    allocators ignore it."""
    block = np.empty(24 << 17)
    del block


def _refit_shared(counts):
    """:func:`_refit_chunk` for one chunk's counts against the worker's payload."""
    return _refit_chunk(_SHARED[:7] + (counts,) + _SHARED[7:])


def _guided_chunks(n: int, procs: int) -> list:
    """Split points for ``n`` resamples on ``procs`` processes: each chunk a ``1/(2·procs)``
    share of what is left (guided self-scheduling), at least ``n/(16·procs)``; the large
    chunks go first, the small ones balance the end (and are the ones this process refits
    itself while the workers start)."""
    cuts, at, least = [], 0, max(1, n // (16 * procs))
    while True:
        at += max(least, -(-(n - at) // (2 * procs)))
        if at >= n:
            return cuts
        cuts.append(at)


def _progress_chunks(n: int, cap: int) -> list:
    """Split points for chunks of 1, 2, 4, ... resamples, then ``cap`` each: the first
    reports come at once (a time estimate), the rest cost little overhead."""
    cuts, at, size = [], 0, 1
    while at + size < n:
        at += size
        cuts.append(at)
        size = min(2 * size, cap)
    return cuts


def process_context():
    """The multiprocessing context for worker processes: ``forkserver`` where the platform
    has it (Linux, macOS), else ``spawn`` (Windows); never ``fork``, which copies the
    parent's threads' locks in whatever state they are."""
    import multiprocessing as mp
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":   # the server imports the engine once; workers fork from it
        ctx.set_forkserver_preload([__name__])
    return ctx


def _ignore_sigint():
    """Workers leave Ctrl-C to the parent, which terminates them (no tracebacks from each)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _main_importable() -> bool:
    """Whether workers can import the parent's main module: forkserver and spawn workers
    run a main *file* again (under ``__mp_main__``); one that does not exist (``python -``
    reading stdin) kills every worker at start.  No file (``python -c``, notebooks) is fine."""
    import sys
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path is None or os.path.exists(path)


def _map_processes(fn, tasks, procs: int, on_part=None, shared=None, local=None) -> list:
    """``[fn(t) for t in tasks]`` on ``procs`` worker processes, in order (``on_part`` gets
    each result as it is collected); each worker starts with ``_SHARED = shared``.  On any
    exception in the parent (Ctrl-C included) or a worker, the workers are terminated at
    once.

    Starting the workers takes a fresh forkserver about 0.8 s (it imports the engine,
    measured on the 2-core dev machine; 0.1 s once it runs).  While it does, this process
    computes tasks from the end of the list itself with ``local(t)`` (the same result as
    ``fn(t)``), so the start-up is not lost time."""
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    ctx = process_context()
    _start_server(ctx)
    ex = ProcessPoolExecutor(max_workers=min(procs, len(tasks)), mp_context=ctx,
                             initializer=_worker_start, initargs=(shared,))
    n = len(tasks)
    parts: list = [None] * n
    futures: dict = {}
    lock = threading.Lock()
    share = [0, n]        # the workers get tasks [share[0], share[1]); this process the rest
    launched = threading.Event()
    failed: list = []

    def submit_all():     # the first submit starts the workers and blocks until they exist
        try:
            while True:
                with lock:
                    i = share[0]
                    if i >= share[1]:
                        return
                    share[0] += 1
                futures[i] = ex.submit(fn, tasks[i])
                launched.set()
        except BaseException as e:   # shut down under it (Ctrl-C in the parent), or broken
            failed.append(e)
        finally:
            launched.set()

    feeder = threading.Thread(target=submit_all, name="scalelaw-bootstrap-submit", daemon=True)
    try:
        feeder.start()
        if local is not None and not launched.wait(0.05):   # the workers are still starting
            while not launched.is_set():
                with lock:
                    j = share[1] - 1
                    if j < share[0]:
                        break
                    share[1] = j
                parts[j] = local(tasks[j])
                if on_part is not None:
                    on_part(parts[j])
        while feeder.is_alive():
            feeder.join(0.1)
        if failed:
            raise failed[0]
        for i in range(share[1]):
            while True:   # short waits: the parent stays responsive to Ctrl-C
                try:
                    parts[i] = futures[i].result(timeout=0.1)
                    if on_part is not None:
                        on_part(parts[i])
                    break
                except FutureTimeout:
                    continue
    except BaseException as e:
        with lock:                     # no more submissions
            share[1] = min(share[1], share[0])
        try:                           # a worker being started: let it appear, then stop it
            while feeder.is_alive():
                feeder.join(0.1)
        except KeyboardInterrupt:
            pass
        _terminate_workers(ex)         # before shutdown, which forgets the processes
        ex.shutdown(wait=False, cancel_futures=True)
        if isinstance(e, BrokenProcessPool):
            raise ScalelawError("a bootstrap worker process stopped unexpectedly (it could not start, "
                                "ran out of memory or was killed); run the bootstrap serially or "
                                "with fewer processes") from None
        raise
    ex.shutdown(wait=True)
    return parts


def _start_server(ctx) -> None:
    """Start the forkserver (if that is the method) with Ctrl-C ignored, which the server
    process inherits: a Ctrl-C while it imports the engine then prints no traceback of its
    own (the parent's is enough).  The parent ignores Ctrl-C only while the server process
    is created (a few milliseconds), and only from the main thread."""
    import signal
    import threading
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver
    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, old)


def _terminate_workers(ex) -> None:
    """Stop an executor's worker processes now (``terminate_workers`` from Python 3.14)."""
    stop = getattr(ex, "terminate_workers", None)
    if stop is not None:
        stop()
        return
    for proc in list((getattr(ex, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()
