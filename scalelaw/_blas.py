"""BLAS thread limit shared by the engine and the costly laws (a ground-floor helper)."""
from __future__ import annotations

_CONTROLLER = None


def single_threaded_blas():
    """A context manager limiting BLAS to one thread.

    The engine's linear algebra is on tiny matrices, where OpenBLAS's thread start-up and
    spinning cost far more than the work (measured 8x slower with a busy second core).  The
    library scan is done once per process (it took 3 ms, a third of a bootstrap resample of
    the multi-power law, which enters this ~80 times).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        # scipy bundles its own OpenBLAS, loaded with scipy.linalg: load it before the scan,
        # or the controller never sees it.  (scipy.optimize is imported lazily since issue 12;
        # L-BFGS-B then ran on an unlimited scipy OpenBLAS and every fit took 1.5-2x longer.)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
