"""The short commands import only what they use: ``scalelaw --help`` no numerical library,
a table fit, predict, allocate and allocate --isoflop neither statsmodels, matplotlib nor scipy.stats (each
takes longer to import than the command's own work; bench/bench_cli.py times them)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from scalelaw.cli import COMMANDS, build_parser


def _modules_after(code: str, cwd) -> set:
    """The modules loaded in a fresh interpreter after running ``code`` (a CLI call)."""
    script = ("import json, sys\nfrom scalelaw.cli import main\n" + code +
              "\nprint(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _loaded(mods: set, name: str) -> bool:
    return name in mods or any(m.startswith(name + ".") for m in mods)


def test_help_imports_no_numerical_library(tmp_path):
    mods = _modules_after("rc = main(['--help'])\nassert rc == 0", tmp_path)
    assert "scalelaw.cli.fit" in mods            # the commands are listed ...
    for lib in ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "torch"):
        assert not _loaded(mods, lib), lib        # ... without their libraries


def test_table_fit_predict_allocate_skip_statsmodels_matplotlib_scipy_stats(tmp_path):
    rng = np.random.default_rng(3)
    N = np.repeat(np.geomspace(1e7, 3e9, 6), 4)
    D = N * np.tile([5.0, 10.0, 20.0, 40.0], 6)
    loss = (1.8 + 400 * N ** -0.34 + 2000 * D ** -0.37) * np.exp(rng.normal(0, 0.005, N.size))
    with open(tmp_path / "runs.csv", "w") as f:
        f.write("N,D,loss\n" + "".join(f"{n:.17g},{d:.17g},{y:.17g}\n" for n, d, y in zip(N, D, loss)))
    from scalelaw.cli.demo import isoflop_runs
    isoflop_runs().to_csv(tmp_path / "iso.csv", index=False)
    code = ("import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['fit', 'runs.csv', '--law', 'chinchilla', '--json', 'fit.json']) == 0\n"
            "    assert main(['predict', 'fit.json', '--at', 'N=7e10', 'D=1.4e12']) == 0\n"
            "    assert main(['allocate', 'fit.json', '--compute', '1e21', '1e23']) == 0\n"
            "    assert main(['allocate', '--isoflop', 'iso.csv']) == 0\n")
    mods = _modules_after(code, tmp_path)
    fit = json.loads((tmp_path / "fit.json").read_text())
    assert fit["law"] == "chinchilla" and all(np.isfinite(v) for v in fit["params"].values())
    assert "scalelaw.fitting.engine" in mods and "pandas" in mods   # it did fit
    for lib in ("statsmodels", "matplotlib", "scipy.stats", "torch"):
        assert not _loaded(mods, lib), lib


@pytest.mark.parametrize("name", COMMANDS)
def test_a_run_builds_the_same_options_as_the_full_parser(name):
    """main builds only the options of the command it runs: the same as in the full parser."""
    full = build_parser()._scalelaw_commands[name].format_help()
    assert build_parser(name)._scalelaw_commands[name].format_help() == full
    assert build_parser("").format_help() == build_parser().format_help()
