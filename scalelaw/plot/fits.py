"""Plot a scaling-law fit: observed vs the law along its first variable, and the residuals."""
from __future__ import annotations

import numpy as np


def plot_fit(result, path=None, ax=None):
    """Data, fitted values and the fitted curve with its band (first variable on the x axis,
    one curve per distinct value of a second variable when there is one).  Saves atomically
    to ``path`` when given; returns the figure."""
    import matplotlib
    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    prob = getattr(result, "_problem", None)
    if prob is None or not isinstance(prob.design.x, dict):
        from ..errors import ScalelawError
        raise ScalelawError("plot needs a result fitted in this session (not loaded from JSON)")
    x = prob.design.x
    law = result.law
    v0 = law.variables[0]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [2, 1]})
    xs = np.asarray(x[v0])
    a1.scatter(xs, prob.y, s=12, color="k", alpha=0.6, label="observed", zorder=3)
    if len(law.variables) == 1:
        grid = np.geomspace(xs.min(), xs.max(), 200)
        with np.errstate(all="ignore"):
            pr = result.predict(pd.DataFrame({v0: grid}))
        a1.plot(grid, pr["mean"], color="C0", label="fit")
        a1.fill_between(grid, pr["mean_ci_lower"], pr["mean_ci_upper"], color="C0", alpha=0.25, label="curve band")
        a1.fill_between(grid, pr["obs_ci_lower"], pr["obs_ci_upper"], color="C0", alpha=0.1, label="new-run band")
    else:
        a1.scatter(xs, result.fitted, s=12, marker="x", color="C1", label="fitted", zorder=4)
    a1.set_xscale("log")
    a1.set_xlabel(v0)
    a1.set_ylabel(law.target)
    a1.set_title(f"{law.name}: {law.formula}", fontsize=9)
    a1.legend(fontsize=8)
    a2.scatter(result.fitted, result.residuals, s=10, color="k", alpha=0.6)
    a2.axhline(0, color="C0")
    a2.set_xlabel("fitted " + law.target)
    a2.set_ylabel("residual (" + result.settings.space + ")")
    fig.tight_layout()
    if path is not None:
        from .._atomic import atomic_path
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format=str(path).rsplit(".", 1)[-1] if "." in str(path) else "png")
        plt.close(fig)
    return fig
