"""The example notebook runs top to bottom (its code cells, in order) and shows the right
numbers: each cell's last expression is kept, as Jupyter would display it."""
import ast
import json
import warnings
from pathlib import Path

import matplotlib
import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_runs(capsys):
    matplotlib.use("Agg")
    nb = json.loads(NB.read_text())
    env, shown = {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                tree = ast.parse(src)
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                exec(compile(tree, NB.name, "exec"), env)
                if last is not None:
                    shown.append(eval(compile(ast.Expression(last.value), NB.name, "eval"), env))
    runs_head, _printed_summary, pred, table, fig, lrs = shown
    true, res = env["TRUE"], env["res"]
    assert abs(res.params["E"] - true["E"]) < 0.05
    assert "intervals: bootstrap" in capsys.readouterr().out
    assert len(runs_head) == 5
    # the 14x extrapolation lands within 2% of the true law (E's bootstrap SE is about 1% of
    # the loss there), inside its own band
    N, D = 7e10, 1.4e12
    truth = true["E"] + true["A"] / N ** true["alpha"] + true["B"] / D ** true["beta"]
    assert pred["mean"].iloc[0] == pytest.approx(truth, rel=0.02)
    assert pred["mean_ci_lower"].iloc[0] < pred["mean"].iloc[0] < pred["mean_ci_upper"].iloc[0]
    # compute-optimal: C = 6 N D, larger budgets give larger models, and the loss at the
    # optimum is the true law's optimal loss within the same 2%
    assert list(table["C"]) == [1e22, 1e23, 1e24]
    assert (6 * table["N_opt"] * table["D_opt"]).to_numpy() == pytest.approx(table["C"].to_numpy(), rel=1e-9)
    assert table["N_opt"].is_monotonic_increasing
    from scalelaw.allocate import compute_optimal
    best = compute_optimal(true, list(table["C"]))
    assert table["loss_opt"].to_numpy() == pytest.approx(best["loss_opt"].to_numpy(), rel=0.02)
    # the fit plot shows every run
    assert max(len(c.get_offsets()) for c in fig.axes[0].collections) == len(env["runs"])
    # the WSD schedule: 0 at step 0, the peak after the warmup, the final LR at the end
    assert lrs[0] == (0, 0.0) and lrs[1][1] == pytest.approx(3e-4) and lrs[-1][1] == pytest.approx(3e-5)
