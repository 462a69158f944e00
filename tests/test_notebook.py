"""The example notebook runs top to bottom (its code cells, in order)."""
import json
import warnings
from pathlib import Path

import matplotlib

NB = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_runs(capsys):
    matplotlib.use("Agg")
    nb = json.loads(NB.read_text())
    env = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                exec(compile(src, f"{NB.name}", "exec"), env)
    assert abs(env["res"].params["E"] - env["TRUE"]["E"]) < 0.05
    assert "intervals: bootstrap" in capsys.readouterr().out
