"""The engine's BLAS limit reaches every BLAS the fit uses, scipy's bundled OpenBLAS included
(L-BFGS-B calls it): a controller scanned before scipy.linalg was loaded never saw it, and
every fit ran 1.5-2x slower with a busy second core."""
import json
import subprocess
import sys


def test_single_threaded_blas_limits_scipys_blas_in_a_fresh_process():
    code = """
import json
import numpy as np
from scalelaw._blas import single_threaded_blas
from threadpoolctl import threadpool_info
with single_threaded_blas():
    import scipy.optimize  # what the polish imports lazily, inside the limit
    inside = [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
print(json.dumps(inside))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    inside = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(inside) >= 1 and all(n == 1 for _, n in inside), inside   # every BLAS at one thread
