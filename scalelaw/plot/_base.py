"""What every figure shares: the style, a figure without pyplot, deterministic saving, axis
labels with units, readable log ticks, and legends placed where they cover no data.

matplotlib is imported inside the functions (importing it takes most of a second), and
never through pyplot: figures are :class:`matplotlib.figure.Figure` objects with an Agg
canvas, so no global backend is selected and no figure is registered anywhere.
"""
from __future__ import annotations

import contextlib
import functools
import os
import warnings

import numpy as np

from ..errors import ScalelawError, ScalelawWarning

#: the style sheet shipped with the package (``matplotlib.style.context(STYLE)``)
STYLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scalelaw.mplstyle")

#: file formats :func:`save` writes, and the metadata each writer must leave out so that the
#: same figure gives the same bytes (no dates, no software versions)
FORMATS = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
}

#: colours of the parts every figure shares
COLORS = {"fit": "#D55E00", "target": "#000000", "asymptote": "0.35", "extrapolation": "0.55",
          "holdout": "#D55E00", "data": "#0072B2"}


@contextlib.contextmanager
def styled():
    """The scalelaw style for the duration of the block (``rcParams`` restored after)."""
    import matplotlib.style
    with matplotlib.style.context(STYLE):
        yield


def styled_figure(fn):
    """Decorator: run a figure function inside :func:`styled` (every artist it creates
    takes the style; the global ``rcParams`` are untouched afterwards)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with styled():
            return fn(*args, **kwargs)
    return wrapper


@contextlib.contextmanager
def quiet_extrapolation():
    """Predictions far outside the fitted range are what a forecast figure shows (shaded):
    their warning is not repeated while drawing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalelawWarning)
        with np.errstate(all="ignore"):
            yield


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=None, **subplots):
    """A :class:`~matplotlib.figure.Figure` with an Agg canvas and constrained layout, and
    its axes (a single Axes for 1x1, else the array ``subplots`` returns)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, **subplots)
    return fig, axes


def axes_or_new(ax, *, figsize=None):
    """``(fig, ax)``: the given Axes and its figure, or a new figure with one Axes."""
    if ax is not None:
        return ax.figure, ax
    return new_figure(figsize=figsize)


def save(fig, path, *, format: str | None = None, dpi: float | None = None):
    """Write ``fig`` to ``path`` atomically (a temporary file renamed over ``path``) and
    deterministically: PNG, PDF or SVG (from the extension, or ``format``) with no dates or
    software versions in the metadata and a fixed SVG id salt, so the same figure gives the
    same bytes.  ``dpi`` defaults to the style's 200 (raster output only).  Returns ``path``.
    """
    from .._atomic import atomic_path
    path = os.fspath(path)
    fmt = (format or os.path.splitext(path)[1].lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ScalelawError(f"cannot write a figure as {fmt or 'a file without an extension'!r}: "
                            f"use one of {', '.join('.' + f for f in FORMATS)}")
    with styled(), atomic_path(path, suffix="." + fmt) as tmp:
        fig.savefig(tmp, format=fmt, metadata=dict(FORMATS[fmt]),
                    **({"dpi": dpi} if dpi is not None else {}))
    return path


# --------------------------------------------------------------------------- labels and units
def loss_unit(column: str | None) -> str:
    """nats per character for a column that says so (``eval_loss_per_char``), else per token."""
    c = (column or "").lower()
    return "nats/char" if ("char" in c or "bpc" in c) else "nats/token"


def loss_label(column: str | None = None, what: str = "loss") -> str:
    return f"{what} ({loss_unit(column)})"


def param_count(column: str | None, law_name: str | None = None) -> str:
    """Which parameter count a column holds, in words: what its name says, else the law's
    convention (Chinchilla: all parameters; Kaplan: non-embedding)."""
    c = (column or "").lower().replace("-", "_")
    if "nonembed" in c or "non_embed" in c or "nonemb" in c:
        return "non-embedding parameters"
    if "total" in c:
        return "total parameters"
    if law_name == "chinchilla":
        return "total parameters"
    if law_name == "kaplan":
        return "non-embedding parameters"
    return "parameters"


def var_label(var: str, source: str | None = None, flops_per_token: float = 6.0,
              law_name: str | None = None) -> str:
    """Axis label with the unit of a canonical variable (``source``, the column it came
    from, says e.g. which parameter count N is)."""
    if var == "C":
        return f"training compute C = {flops_per_token:g}ND (FLOPs)"
    if var == "N":
        return f"model size N ({param_count(source, law_name)})"
    if var in ("D", "tokens"):
        return "training data D (tokens)"
    if var == "step":
        return "training step"
    return f"{var} ({source})" if source and source != var else var


def fmt_num(v: float, digits: int = 3) -> str:
    """``3.5e+10`` -> ``3.5e10``: compact numbers for legends."""
    s = f"{v:.{digits}g}"
    if "e" in s:
        m, e = s.split("e")
        s = f"{m}e{int(e)}"
    return s


def truncated_viridis():
    """viridis without its palest yellow (invisible on white): for ordered groups (model sizes)."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap
    return ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.85, 256)), name="viridis_85")


# --------------------------------------------------------------------------- ticks
def log_ticks(ax, axis: str = "x"):
    """Readable ticks on a log axis: decades as 10^k when the axis spans several, else plain
    numbers at 1-2-5 (or 1..9) steps, so a loss axis from 1.8 to 5 reads 2, 3, 4, 5."""
    from matplotlib import ticker
    a = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    if not (lo > 0 and hi > lo):
        return
    span = np.log10(hi / lo)
    if span >= 2.5:
        a.set_major_locator(ticker.LogLocator(base=10))
        a.set_major_formatter(ticker.LogFormatterSciNotation())
        return
    subs = (1.0, 2.0, 5.0) if span >= 1.0 else (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0) if span >= 0.6 \
        else (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0) if span >= 0.2 \
        else tuple(np.round(np.arange(1.0, 10.0, 0.2), 1))
    a.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    a.set_minor_locator(ticker.LogLocator(base=10, subs=tuple(np.arange(1.0, 10.0, 0.5) if span < 0.6
                                                                else np.arange(1.0, 10.0))))
    a.set_minor_formatter(ticker.NullFormatter())
    mid = np.sqrt(lo * hi)
    if 1e-3 <= mid <= 1e4:
        a.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        a.set_major_formatter(ticker.FuncFormatter(_sci))


def _sci(v, _pos=None):
    if v <= 0:
        return ""
    e = int(np.floor(np.log10(v) + 1e-9))
    m = v / 10 ** e
    return f"$10^{{{e}}}$" if abs(m - 1) < 1e-6 else f"${m:g}\\times10^{{{e}}}$"


# --------------------------------------------------------------------------- legends
_CANDIDATES = ("upper right", "lower left", "upper left", "lower right", "upper center",
               "lower center", "center right", "center left")


def _renderer(fig):
    canvas = fig.canvas
    if hasattr(canvas, "get_renderer"):
        return canvas.get_renderer()
    return fig._get_renderer()   # pragma: no cover - non-Agg canvases


def settle(fig):
    """Run the layout and draw once (without output), so that positions read afterwards are
    final: an Agg canvas draws, a bare Figure (a canvas that cannot) draws without rendering."""
    if hasattr(fig.canvas, "get_renderer"):
        fig.canvas.draw()
    else:
        fig.draw_without_rendering()


def _obstacles(ax, skip=()):
    """What a legend must not cover, in axes coordinates: points (markers and densely sampled
    lines) and filled polygons (bands)."""
    from matplotlib.collections import LineCollection, PathCollection, PolyCollection
    from matplotlib.lines import Line2D
    to_axes = ax.transAxes.inverted()
    points, polys = [], []
    titles = [ax.title] + [getattr(ax, a) for a in ("_left_title", "_right_title") if hasattr(ax, a)]

    def dense(xy):
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy) < 2:
            return xy
        seg = np.hypot(*np.diff(xy, axis=0).T)
        n = np.clip(np.ceil(seg / 0.01).astype(int), 1, 200)
        parts = [np.linspace(xy[i], xy[i + 1], n[i], endpoint=False) for i in range(len(xy) - 1)]
        return np.vstack(parts + [xy[-1:]])

    for art in ax.get_children():
        if art in skip or not art.get_visible():
            continue
        if isinstance(art, Line2D):
            xy = to_axes.transform(art.get_transform().transform(art.get_xydata()))
            if art.get_linestyle() in ("None", "none", "", " "):
                points.append(xy)
            else:
                points.append(dense(xy))
        elif isinstance(art, LineCollection):
            tr = art.get_transform()
            for seg in art.get_segments():
                points.append(dense(to_axes.transform(tr.transform(np.asarray(seg)))))
        elif isinstance(art, PathCollection):
            off = art.get_offsets()
            if len(off):
                points.append(to_axes.transform(art.get_offset_transform().transform(off)))
        elif isinstance(art, PolyCollection):
            tr = art.get_transform()
            for p in art.get_paths():
                polys.append(to_axes.transform(tr.transform(p.vertices)))
        elif hasattr(art, "get_text") and hasattr(art, "get_window_extent") and art.get_text() \
                and art not in titles:
            bb = art.get_window_extent(_renderer(ax.figure)).transformed(ax.transAxes.inverted())
            points.append(np.array([[bb.x0, bb.y0], [bb.x1, bb.y1], [bb.x0, bb.y1], [bb.x1, bb.y0],
                                    [(bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2]]))
    pts = np.vstack(points) if points else np.empty((0, 2))
    inside = np.all((pts > -0.01) & (pts < 1.01), axis=1)
    return pts[inside], polys


def _overlap(bb, pts, polys, pad=0.02):
    from matplotlib.path import Path
    x0, y0, x1, y1 = bb.x0 - pad, bb.y0 - pad, bb.x1 + pad, bb.y1 + pad
    n = int(np.sum((pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)))
    if polys:
        gx, gy = np.meshgrid(np.linspace(x0, x1, 12), np.linspace(y0, y1, 8))
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        covered = np.zeros(len(grid), bool)
        for v in polys:
            covered |= Path(v).contains_points(grid)
        n += int(covered.sum())
    return n


def place_legend(ax, handles=None, labels=None, *, outside: str = "below", headroom: float = 0.45, **kw):
    """A legend where it covers no data point, line, band or annotation of ``ax``: the first
    of the usual places inside the axes that is clear (checked against what is drawn, not
    guessed); else the upper places again with the y axis raised by up to ``headroom`` (a
    fraction of its height) to make room above the data; else outside the axes
    (``outside``: ``"below"`` the x label or ``"right"``).  Returns the legend."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    fig = ax.figure
    settle(fig)   # legend and data positions in axes coordinates, after the layout
    renderer = _renderer(fig)

    def first_clear(locs):
        pts, polys = _obstacles(ax)
        for loc in locs:
            leg = ax.legend(handles, labels, loc=loc, **kw)
            bb = leg.get_window_extent(renderer).transformed(ax.transAxes.inverted())
            fits = bb.x0 >= -0.005 and bb.y0 >= -0.005 and bb.x1 <= 1.005 and bb.y1 <= 1.005
            if fits and _overlap(bb, pts, polys) == 0:
                return leg
            leg.remove()
        return None

    leg = first_clear(_CANDIDATES)
    if leg is not None:
        return leg
    lo, hi = ax.get_ylim()
    log = ax.get_yscale() == "log"
    for f in np.linspace(0.1, headroom, 4) if headroom > 0 else ():
        top = hi * (hi / lo) ** f if log else hi + f * (hi - lo)
        ax.set_ylim(lo, top)
        leg = first_clear(("upper right", "upper left", "upper center"))
        if leg is not None:
            return leg
    ax.set_ylim(lo, hi)
    if outside == "right":
        return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                         **kw)
    main = [a for a in fig.axes if not hasattr(a, "_colorbar") and a.get_visible()]
    if main == [ax] and fig.get_layout_engine() is not None:   # our own figure: under all of it
        return fig.legend(handles, labels, loc="outside lower center",
                          ncol=2 if len(handles) > 3 else len(handles), **kw)
    bottom = 0.0
    for lab in (ax.xaxis.label, *ax.get_xticklabels()):
        if lab.get_visible() and lab.get_text():
            bottom = min(bottom, lab.get_window_extent(renderer).transformed(ax.transAxes.inverted()).y0)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, bottom - 0.03),
                     ncol=2 if len(handles) > 3 else len(handles), borderaxespad=0, **kw)


# --------------------------------------------------------------------------- data helpers
def fitted_design(result):
    """The fitted points of a result fitted in this session (``x`` dict of canonical arrays,
    ``y`` observed values), or None for a result loaded from JSON."""
    prob = getattr(result, "_problem", None)
    if prob is None or not isinstance(getattr(prob.design, "x", None), dict):
        return None
    return prob.design


def level_text(alpha: float) -> str:
    return f"{100 * (1 - alpha):g}%"
