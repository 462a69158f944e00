"""Helpers shared by the CLI test files: run a command in-process, read a one-line error,
write a table of runs from a known Chinchilla law."""
import numpy as np
import pandas as pd

from scalelaw.cli import main

SCHEDULE = "cosine:peak=1e-3,final=1e-4,steps=50,warmup=5"


def run(capsys, *argv):
    """Exit status, stdout and stderr of ``scalelaw ARGV`` run in this process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err):
    """The single line of a user error (no traceback, no internal error)."""
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]


def chinchilla_runs(rng, sizes=4, noise=0.003):
    """``sizes`` model sizes x 4 token counts of 1.8 + 400/N^0.34 + 2000/D^0.36 (a frame)."""
    N = np.repeat(np.geomspace(1e7, 1e9, sizes), 4)
    D = N * np.tile([5.0, 10.0, 20.0, 40.0], sizes)
    loss = (1.8 + 400 / N ** 0.34 + 2000 / D ** 0.36) * np.exp(noise * rng.standard_normal(N.size))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def write_runs(path, rng):
    """40 runs (8 sizes x 5 token counts) of E + A/N^0.34 + B/D^0.36 with 0.4% noise."""
    N = np.repeat(np.geomspace(5e7, 5e9, 8), 5)
    D = N * np.tile(np.geomspace(5, 120, 5), 8)
    L = (1.8 + 400 / N ** 0.34 + 1800 / D ** 0.36) * np.exp(rng.normal(0, 0.004, len(N)))
    pd.DataFrame({"N": N, "D": D, "loss": L}).to_csv(path, index=False)
