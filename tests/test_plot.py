"""Figures (scalelaw.plot): each renders on small inputs, draws what it says (log axes, bands,
the extrapolation region, the asymptote, the target point, holdout points, final losses),
writes identical bytes for identical input, and leaves matplotlib's global state alone."""
from __future__ import annotations

import subprocess
import sys
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle

import scalelaw as sl
from scalelaw import allocate, plot
from scalelaw.errors import ScalelawError
from scalelaw.laws import get_law
from scalelaw.plot import _base
from scalelaw.schedules import parse_schedule

TRUE = {"E": 1.8, "A": 400.0, "B": 1800.0, "alpha": 0.34, "beta": 0.36}
K = 6.0


def chinchilla_loss(N, D, t=TRUE):
    return t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]


def runs(seed=0):
    """30 runs: 6 model sizes x 5 tokens-per-parameter ratios, 0.5% noise."""
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(5e7, 5e9, 6), 5)
    D = N * np.tile(np.geomspace(5, 160, 5), 6)
    loss = chinchilla_loss(N, D) * np.exp(rng.normal(0, 0.005, N.size))
    return pd.DataFrame({"params": N, "tokens": D, "flops": K * N * D, "loss": loss})


@pytest.fixture(scope="module")
def frame():
    return runs()


@pytest.fixture(scope="module")
def res(frame):
    return sl.fit(frame, "chinchilla", bootstrap=16, seed=0)


@pytest.fixture(scope="module")
def res_holdout(frame):
    return sl.fit(frame, "chinchilla", holdout="flops > 1e21")


W = 50
TRAIN = {"const": f"constant:peak=1e-3,steps=1000,warmup={W}",
         "cos": f"cosine:peak=1e-3,final=1e-4,steps=1000,warmup={W}"}
UNSEEN = f"wsd:peak=1e-3,final=1e-4,steps=1000,warmup={W},cooldown=0.3"


@pytest.fixture(scope="module")
def lr_logs():
    """Per-step logs of two schedules from the momentum law, 0.2% noise on every 25th step."""
    rng = np.random.default_rng(0)
    law = get_law("momentum")
    p = np.array([2.0, 0.8, 0.5, 0.5])
    frames = []
    for name, spec in TRAIN.items():
        s = parse_schedule(spec)
        steps = np.arange(s.total + 1)
        f = pd.DataFrame({"run": name, "step": steps, "lr": s(steps), "loss": np.nan})
        obs = (steps % 25 == 0) & (steps >= W)
        d = law.prepare(f.assign(y=np.where(obs, 1.0, np.nan)), target="y")
        f.loc[obs, "loss"] = law.evaluate(d.x, p) * (1 + 0.002 * rng.standard_normal(d.n))
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def lr_res(lr_logs):
    return sl.fit_lr(lr_logs, "momentum", warmup=W)


def constant_lines(ax, y):
    """Lines of ``ax`` whose y is ``y`` all along."""
    out = []
    for ln in ax.get_lines():
        yd = np.asarray(ln.get_ydata(), float)
        if len(yd) >= 2 and np.allclose(yd, y, rtol=1e-12, atol=0):
            out.append(ln)
    return out


# -- the forecast -------------------------------------------------------------------------
def test_forecast_draws_bands_extrapolation_asymptote_and_target(res, frame):
    fig = plot.forecast(res, frame, target=1e23)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    # the asymptote: a line at E, all along
    assert constant_lines(ax, res.params["E"])
    # two bands (prediction and confidence), the prediction band enclosing the confidence band
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) >= 2
    y_of = [np.asarray(b.get_paths()[0].vertices)[:, 1] for b in bands]
    widths = sorted((y.max() - y.min()) for y in y_of)
    assert widths[-1] > widths[0] > 0
    # the extrapolation region starts where the fitted compute ends
    spans = [p for p in ax.patches if isinstance(p, Rectangle)]
    c_max = float(frame["flops"].max())
    assert any(np.isclose(p.get_x(), c_max, rtol=1e-9) for p in spans)
    assert ax.get_xlim()[1] > 1e23 > c_max
    # the target point: on the compute-optimal frontier, at the law's prediction
    t = allocate.compute_optimal(res.params, [1e23]).iloc[0]
    mean = float(res.predict(N=[t["N_opt"]], D=[t["D_opt"]])["mean"].iloc[0])
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "D"]
    assert len(marks) == 1
    assert marks[0].get_xdata()[0] == pytest.approx(1e23)
    assert marks[0].get_ydata()[0] == pytest.approx(mean, rel=1e-9)
    # the runs, coloured by model size: one point per run
    pts = [c for c in ax.collections if c.get_offsets().shape[0] == len(frame)]
    assert pts and len(np.unique(np.round(pts[0].get_array(), 3))) == 6
    assert "FLOPs" in ax.get_xlabel() and "nats/token" in ax.get_ylabel()
    assert "total parameters" in fig.axes[1].get_ylabel()     # the colour bar says which count


def test_forecast_against_N_and_D_and_a_one_variable_law(res, frame):
    fig = plot.forecast(res, frame, x="N", target={"N": 7e10, "D": 1.4e12})
    ax = fig.axes[0]
    mark = next(ln for ln in ax.get_lines() if ln.get_marker() == "D")
    assert mark.get_xdata()[0] == pytest.approx(7e10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # 14x beyond the fitted N: the point of a forecast
        mean = float(res.predict(N=[7e10], D=[1.4e12])["mean"].iloc[0])
    assert mark.get_ydata()[0] == pytest.approx(mean)
    assert any(np.isclose(p.get_x(), frame["params"].max()) for p in ax.patches)
    ax = plot.forecast(res, frame, x="D").axes[0]
    assert any(np.isclose(p.get_x(), frame["tokens"].max()) for p in ax.patches)
    one = sl.fit(frame.groupby("params", as_index=False)["loss"].min(), "powerlaw_const",
                 columns={"N": "params", "loss": "loss"})
    ax = plot.forecast(one, target=5e10).axes[0]
    assert ax.get_xscale() == "log" and constant_lines(ax, one.params["E"])
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2


def test_forecast_of_a_result_loaded_from_json(res, tmp_path):
    path = tmp_path / "fit.json"
    res.to_json(path)
    loaded = sl.FitResult.from_json(path)
    ax = plot.forecast(loaded, target=1e23).axes[0]    # no data: the curve, bands and box from the fit
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) >= 2
    assert constant_lines(ax, res.params["E"])
    with pytest.raises(ScalelawError, match="loaded from JSON"):
        plot.parity(loaded)


def test_forecast_refuses_what_it_cannot_draw(res, lr_res):
    with pytest.raises(ScalelawError, match="schedule_curves"):
        plot.forecast(lr_res)
    with pytest.raises(ScalelawError, match="can be drawn against C, N, D"):
        plot.forecast(res, x="step")
    with pytest.raises(ScalelawError, match="needs D"):
        plot.forecast(res, target={"N": 1e9})


def test_plot_fit_draws_the_forecast_and_saves(res, tmp_path):
    path = tmp_path / "fit.png"
    fig = plot.plot_fit(res, path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    ax = fig.axes[0]
    assert constant_lines(ax, res.params["E"]) and ax.get_xscale() == "log"
    assert [ln for ln in ax.get_lines() if ln.get_marker() == "D"]   # the next decade's forecast


def test_legends_cover_no_data(res, frame):
    """The legend is where nothing drawn is under it, or outside the axes."""
    for fig in (plot.forecast(res, frame, target=1e23), plot.forecast(res, x="N")):
        ax = fig.axes[0]
        leg = ax.get_legend() or fig.legends[0]
        fig.canvas.draw()
        bb = leg.get_window_extent(fig.canvas.get_renderer()).transformed(ax.transAxes.inverted())
        inside = bb.x0 >= 0 and bb.y0 >= 0 and bb.x1 <= 1 and bb.y1 <= 1
        if inside:
            pts, polys = _base._obstacles(ax, skip=(leg,))
            assert _base._overlap(bb, pts, polys, pad=0.0) == 0
        else:
            assert bb.y1 <= 0 or bb.x0 >= 1 or bb.x1 <= 0


# -- residuals and parity -------------------------------------------------------------------
def test_residuals_and_parity_mark_the_holdout(res_holdout, frame):
    hold = frame[frame["flops"] > 1e21]
    pred = res_holdout.predict(N=hold["params"], D=hold["tokens"])["mean"].to_numpy()
    ax = plot.residuals(res_holdout, hold).axes[0]
    assert ax.get_xscale() == "log"
    held = [c for c in ax.collections if c.get_offsets().shape[0] == len(hold)]
    assert len(held) == 1
    np.testing.assert_allclose(held[0].get_offsets()[:, 1], np.log(hold["loss"] / pred), rtol=1e-9)
    np.testing.assert_allclose(held[0].get_offsets()[:, 0], hold["flops"], rtol=1e-9)
    fitted = [c for c in ax.collections if c.get_offsets().shape[0] == res_holdout.n]
    np.testing.assert_allclose(fitted[0].get_offsets()[:, 1],
                               np.log(res_holdout.observed / res_holdout.fitted), rtol=1e-9)
    ax = plot.parity(res_holdout, hold).axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    held = [c for c in ax.collections if c.get_offsets().shape[0] == len(hold)]
    np.testing.assert_allclose(held[0].get_offsets(), np.column_stack([hold["loss"], pred]), rtol=1e-9)
    assert any("held out" in t.get_text() for t in ax.get_legend().get_texts())
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), line.get_ydata())     # predicted = observed


def test_residuals_of_an_lr_fit_by_step(lr_res):
    ax = plot.residuals(lr_res).axes[0]
    offs = np.vstack([c.get_offsets() for c in ax.collections if c.get_offsets().shape[0] > 2])
    assert len(offs) == lr_res.n and offs[:, 0].max() <= 1000
    assert plot.parity(lr_res).axes[0].get_xscale() == "log"


# -- LR schedules ---------------------------------------------------------------------------
def test_schedule_curves_predicted_observed_lr_panel_and_final_losses(lr_res, lr_logs):
    schedules = {**TRAIN, "wsd": UNSEEN}
    observed = {n: g[["step", "loss"]] for n, g in lr_logs.groupby("run")}
    fig = plot.schedule_curves(lr_res, schedules, observed)
    ax, ax_lr = fig.axes[:2]
    assert ax.get_shared_x_axes().joined(ax, ax_lr)
    # the LR panel: each schedule's LR, step by step
    s = parse_schedule(UNSEEN)
    lr_line = ax_lr.get_lines()[2]
    np.testing.assert_allclose(lr_line.get_ydata(), s(np.asarray(lr_line.get_xdata())), rtol=1e-12)
    # the bands and the predicted final losses
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 3
    final = lr_res.predict(UNSEEN, every=1000 // 400)["loss_pred"].iloc[-1]
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith(f"wsd: {final:.3f}") for t in texts), texts
    # the observed points
    dots = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata()) > 10]
    assert len(dots) == 2
    with pytest.raises(ScalelawError, match="not an LR-schedule law"):
        plot.schedule_curves(sl.fit(runs(), "chinchilla"), schedules)


# -- allocation -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def isoflop_runs():
    rng = np.random.default_rng(1)
    rows = []
    for C in np.geomspace(1e18, 1e20, 4):
        n_opt = allocate.compute_optimal(TRUE, [C])["N_opt"].iloc[0]
        for N in n_opt * np.geomspace(1 / 5, 5, 7):
            rows.append((N, C / (K * N), C, chinchilla_loss(N, C / (K * N)) * np.exp(rng.normal(0, 0.003))))
    return pd.DataFrame(rows, columns=["N", "D", "C", "loss"])


def test_frontier_and_isoflop_parabolas(res, isoflop_runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iso = allocate.isoflop(isoflop_runs)
        env = allocate.lower_envelope(isoflop_runs, drop_edge_sizes=False, per_decade=2)
    table = allocate.compute_optimal(res, np.geomspace(1e18, 1e23, 12))
    fig = plot.frontier(table, iso, env)
    ax_n, ax_d, ax_e = fig.axes[:3]
    assert ax_n.get_xscale() == ax_n.get_yscale() == "log"
    closed = ax_n.get_lines()[0]
    np.testing.assert_allclose(closed.get_ydata(), table.sort_values("C")["N_opt"], rtol=1e-12)
    assert [c for c in ax_n.collections if isinstance(c, PolyCollection)]        # its interval band
    used = iso.budgets[iso.budgets["used"]]
    assert any(len(ln.get_xdata()) == len(used) and np.allclose(ln.get_ydata(), used["D_star"])
               for ln in ax_d.get_lines())
    assert len(ax_e.get_yticks()) == 6                                           # a and b, three methods
    ax = plot.isoflop_parabolas(iso, isoflop_runs).axes[0]
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(stars) == len(iso.budgets)
    got = sorted((ln.get_xdata()[0], ln.get_ydata()[0]) for ln in stars)
    np.testing.assert_allclose(got, sorted(zip(iso.budgets["N_star"], iso.budgets["loss_star"])), rtol=1e-12)
    with pytest.raises(ScalelawError, match="lower envelope has no parabolas"):
        plot.isoflop_parabolas(env, isoflop_runs)


# -- the tokenization experiment ------------------------------------------------------------
def results_csv(h_inf=1.05, h_pi=1.9):
    rng = np.random.default_rng(2)
    rows = []
    for tok, gap in ((None, 0.01), ("lzw:vocab=64", 0.06)):
        for N in np.geomspace(3e3, 1e6, 6):
            rows.append({"run": f"{tok}-{N:.0f}", "tokenizer": tok, "N_nonembed": N,
                         "eval_loss_per_char": (h_inf + gap + 8 * N ** -0.3) * np.exp(rng.normal(0, 0.004)),
                         "entropy_rate": h_inf, "unigram_entropy": h_pi})
    return pd.DataFrame(rows)


def test_entropy_curves_with_the_entropies_and_fits():
    df = results_csv()
    ax = plot.entropy_curves(df).axes[0]
    assert constant_lines(ax, 1.05) and constant_lines(ax, 1.9)
    assert "nats/char" in ax.get_ylabel() and "non-embedding" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "untokenized (symbols)" and labels[1] == "tokenized: lzw:vocab=64"
    ax = plot.entropy_curves(df, fits=True).axes[0]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    assert all("E = " in t.get_text() for t in ax.get_legend().get_texts())
    two = pd.concat([df, results_csv(h_inf=0.8)])
    with pytest.raises(ScalelawError, match="one source at a time"):
        plot.entropy_curves(two)


# -- bootstrap pairs ------------------------------------------------------------------------
def test_pairs_corner_plot(res, frame):
    fig = plot.pairs(res, truth=TRUE)
    names = list(res.boot.columns)
    n = len(names)
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == n * (n + 1) // 2
    diag = visible[0]
    assert len(diag.patches) == 24                                   # the histogram's bars
    assert sum(len(b.get_offsets()) for a in visible for b in a.collections) == len(res.boot) * n * (n - 1) // 2
    with pytest.raises(ScalelawError, match="no bootstrap draws"):
        plot.pairs(sl.fit(frame, "chinchilla"))


# -- files and global state -----------------------------------------------------------------
def test_same_input_gives_the_same_bytes(res, frame, tmp_path):
    """Two figures drawn from the same input, each saved as PNG, SVG and PDF: equal bytes,
    and no dates or software versions in the files."""
    figs = [plot.forecast(res, frame, target=1e23) for _ in range(2)]
    small = [plot.parity(res) for _ in range(2)]
    for ext, (f1, f2) in (("png", figs), ("svg", figs), ("pdf", small)):
        a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
        plot.save(f1, a, dpi=60)
        plot.save(f2, b, dpi=60)
        data = a.read_bytes()
        assert len(data) > 5000 and data == b.read_bytes(), ext
        assert b"Date" not in data and b"Software" not in data and b"Matplotlib v" not in data
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]   # written atomically
    with pytest.raises(ScalelawError, match="png"):
        plot.save(figs[0], tmp_path / "fig.jpg")


def test_figures_leave_rcparams_alone(res, frame, lr_res):
    with matplotlib.rc_context({"font.size": 13.0, "axes.spines.top": True, "svg.hashsalt": None}):
        before = {k: v for k, v in matplotlib.rcParams.items()}     # a user's settings, unlike the style
        figs = [plot.forecast(res, frame), plot.parity(res), plot.residuals(res), plot.pairs(res),
                plot.schedule_curves(lr_res, {"cos": TRAIN["cos"]}), plot.entropy_curves(results_csv())]
        assert {k: v for k, v in matplotlib.rcParams.items()} == before
    # ... while the figures themselves took the style (9 pt labels, no top spine)
    ax = figs[0].axes[0]
    assert ax.xaxis.label.get_fontsize() == 9 and not ax.spines["top"].get_visible()


def test_no_pyplot_and_no_backend_change():
    """Importing and drawing select no backend and never import pyplot."""
    code = (
        "import sys, matplotlib; b = matplotlib.rcParams._get_backend_or_none(); "
        "import numpy as np, scalelaw as sl; from scalelaw import plot; "
        "N = np.geomspace(1e6, 1e9, 8); r = sl.fit({'N': N, 'loss': 2 + 50 * N ** -0.3}, 'powerlaw_const'); "
        "plot.forecast(r, target=1e10); "
        "assert 'matplotlib.pyplot' not in sys.modules; "
        "assert matplotlib.rcParams._get_backend_or_none() == b, matplotlib.rcParams._get_backend_or_none()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
