"""The report (scalelaw.report, `scalelaw report`): every section, self-contained HTML,
hostile names escaped, provenance, determinism, the Markdown twin, progress on a terminal.
The page's schedule explorer is driven in a real browser in test_report_browser.py."""
from __future__ import annotations

import hashlib
import html.parser
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalelaw as sl
from scalelaw.cli import main
from scalelaw.report import Report, ReportFit, explorer_model, explorer_steps, write_report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
HOSTILE = "<script>alert(1)</script>"
HOSTILE_LOSS = '<img src=x onerror="alert(2)">'


class Tags(html.parser.HTMLParser):
    """Every start tag of a page with its attributes, and the text of its script elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append([dict(attrs), ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self.scripts[-1][1] += data


def parse(text):
    p = Tags()
    p.feed(text)
    return p


def chinchilla_runs(seed=0, n_sizes=6):
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(5e7, 5e9, n_sizes), 5)
    D = N * np.tile(np.geomspace(5, 160, 5), n_sizes)
    L = (1.8 + 400 / N ** 0.34 + 1800 / D ** 0.36) * np.exp(rng.normal(0, 0.005, N.size))
    return pd.DataFrame({"params": N, "tokens": D, "loss": L})


@pytest.fixture(scope="module")
def example_logs():
    return sl.read_curves([EXAMPLES / f"{n}.csv" for n in ("constant", "cosine", "wsd")])


@pytest.fixture(scope="module")
def lr_fit(example_logs):
    return sl.fit_lr(example_logs[example_logs["run"] != "wsd"], "momentum", warmup=100)


def sections(text):
    return re.findall(r"<h2>(.*?)</h2>", text)


# -- a report with every section ------------------------------------------------------------
def test_a_chinchilla_report_has_every_section_and_real_numbers(tmp_path):
    runs = chinchilla_runs()
    res = sl.fit(runs, "chinchilla", holdout="params > 3e9", bootstrap=20, seed=0)
    csv = tmp_path / "runs.csv"
    runs.to_csv(csv, index=False)
    out = write_report([ReportFit(res, name="chin", data=runs, budgets=[1e22, 1e24])], tmp_path / "rep",
                       inputs=[str(csv)], command="scalelaw report test")
    text = Path(out["html"]).read_text(encoding="utf-8")
    assert sections(text) == ["chin (chinchilla)", "Provenance"]
    for heading in ("Forecast", "Holdout", "Leave one group out (by params)", "Compute-optimal allocation",
                    "Notes", "Summary"):
        assert f"<h3>{heading}</h3>" in text, heading
    # the parameter table holds the fit's estimates and its bootstrap interval
    ci = res.conf_int()
    for p in ("E", "alpha", "beta"):
        row = re.search(rf"<td class=\"text\">{p}</td><td>([^<]+)</td><td>[^<]+</td><td>([^<]+)</td><td>([^<]+)</td>",
                        text)
        assert row, p
        est, lo, hi = (float(v) for v in row.groups())
        assert est == pytest.approx(res.params[p], rel=1e-4)
        assert lo == pytest.approx(ci.loc[p, "lower"], rel=1e-4) and hi == pytest.approx(ci.loc[p, "upper"], rel=1e-4)
    assert "bootstrap percentile intervals (20 resamples" in text
    # holdout scores as the fit computed them
    rmse = re.search(r'<td class="text">RMSE</td><td class="text">([^<]+)</td>', text)
    assert float(rmse.group(1)) == pytest.approx(res.holdout["rmse"], rel=1e-3)
    # leave-one-group-out: the mean RMSE equals a direct call
    logo = sl.leave_one_group_out(runs, "chinchilla", by="params")
    shown = re.search(r"<td class=\"text\">mean</td><td>—</td><td>([^<]+)</td>", text)
    assert float(shown.group(1)) == pytest.approx(logo.attrs["mean"]["rmse"], rel=1e-3)
    # the allocation at 1e24 FLOPs is the closed form's
    alloc = sl.allocate.compute_optimal(res, [1e24]).iloc[0]
    assert f"{alloc['N_opt']:.4g}".replace("e+", "e") in text
    # provenance: version, the input's SHA-256, the command, no date
    assert hashlib.sha256(csv.read_bytes()).hexdigest() in text
    assert "scalelaw report test" in text and f"scalelaw {sl.__version__}" in text
    assert not re.search(r"20\d\d-\d\d-\d\d", text)
    # the figures are embedded and written for the Markdown twin, which links them
    md = Path(out["md"]).read_text(encoding="utf-8")
    links = re.findall(r"\]\((figures/[^)]+\.png)\)", md)
    assert len(links) == len(out["figures"]) == text.count("<img ") >= 5
    for link in links:
        assert (tmp_path / "rep" / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_page_loads_nothing_from_anywhere(tmp_path, lr_fit, example_logs):
    out = write_report([ReportFit(lr_fit, data=example_logs), ReportFit(sl.fit(chinchilla_runs(), "chinchilla"))],
                       tmp_path / "rep")
    text = Path(out["html"]).read_text(encoding="utf-8")
    page = parse(text)
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "img-src data:" in csp[0]
    for tag, attrs in page.tags:
        for key in ("src", "href", "data", "action", "srcset", "poster"):
            v = attrs.get(key)
            if v is not None:
                assert v.startswith(("data:", "#")), (tag, key, v[:60])
        assert tag not in ("link",) or attrs.get("href", "").startswith("data:")
    assert not re.search(r"https?://", re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", text).replace(
        "http://www.w3.org/2000/svg", ""))
    # one script (the explorer), and one JSON model per LR-schedule fit
    code = [s for a, s in page.scripts if a.get("type") != "application/json"]
    assert len(code) == 1 and "scalelawExplorer" in code[0]
    assert sum(a.get("type") == "application/json" for a, _ in page.scripts) == 1


# -- hostile names --------------------------------------------------------------------------
def test_hostile_column_and_run_names_are_escaped(tmp_path, example_logs):
    rng = np.random.default_rng(3)
    N = np.geomspace(1e3, 1e6, 12)
    runs = pd.DataFrame({HOSTILE: N, HOSTILE_LOSS: 1.5 + 30 * N ** -0.4 * np.exp(rng.normal(0, 0.003, N.size)),
                         "run": [HOSTILE] * 12})
    res = sl.fit(runs, "powerlaw_const", columns={"N": HOSTILE, "loss": HOSTILE_LOSS})
    logs = example_logs.assign(run=example_logs["run"].map({"constant": HOSTILE, "cosine": HOSTILE_LOSS,
                                                            "wsd": "wsd"}))
    lr = sl.fit_lr(logs[logs["run"] != "wsd"], "multipower", warmup=100)
    assert any(HOSTILE in n for n in lr.notes)          # the run names reach the notes and tables
    rep = Report(HOSTILE, intro=HOSTILE_LOSS)
    rep.section(HOSTILE).text(HOSTILE).table(pd.DataFrame({HOSTILE: [HOSTILE_LOSS]}), caption=HOSTILE)
    rep.add_fit(ReportFit(res, name=HOSTILE, data=runs, logo_by=HOSTILE))
    rep.add_fit(ReportFit(lr, name=HOSTILE_LOSS, data=logs, source=HOSTILE))
    out = rep.write(tmp_path / "rep", inputs=[(HOSTILE, str(EXAMPLES / "wsd.csv"))], command=HOSTILE)
    text = Path(out["html"]).read_text(encoding="utf-8")
    assert HOSTILE not in text and HOSTILE_LOSS not in text          # only escaped, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text            # shown as text, many times
    page = parse(text)
    tags = {t for t, _ in page.tags}
    assert "img" in tags and tags <= {"html", "head", "meta", "link", "title", "style", "body", "h1", "p", "nav",
                                      "strong", "ol", "li", "a", "section", "h2", "h3", "div", "table", "caption",
                                      "thead", "tr", "th", "tbody", "td", "figure", "img", "figcaption", "ul", "pre",
                                      "script", "label", "input", "output", "select", "option", "code", "svg",
                                      "footer"}
    assert not any(k.startswith("on") for _, a in page.tags for k in a)
    code = [s for a, s in page.scripts if a.get("type") != "application/json"]
    assert len(code) == 1 and "alert(" not in code[0]
    for a, s in page.scripts:     # the explorer's JSON: no markup, the hostile names as data only
        if a.get("type") == "application/json":
            assert "<" not in s and ">" not in s
    md = Path(out["md"]).read_text(encoding="utf-8")
    prose = re.sub(r"\n```text\n.*?\n```\n", "\n", md, flags=re.S)   # code blocks are shown literally
    assert prose.count("```") == 0 and HOSTILE in md                   # (the summaries, as text)
    assert "<script" not in prose and "<img" not in prose and "&lt;script&gt;" in prose


# -- determinism, progress, the schedule explorer's model -----------------------------------
def test_the_same_inputs_give_the_same_bytes_and_timestamp_adds_a_date(tmp_path, lr_fit, example_logs):
    def make(folder, **kw):
        return Path(write_report([ReportFit(lr_fit, data=example_logs)], folder, **kw)["html"]).read_bytes()

    a, b = make(tmp_path / "a"), make(tmp_path / "b")
    assert a == b
    assert (tmp_path / "a" / "report.md").read_bytes() == (tmp_path / "b" / "report.md").read_bytes()
    c = make(tmp_path / "c", timestamp=True).decode()
    assert re.search(r"Written 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 \(UTC\)", c)


def test_progress_hook_counts_every_figure_and_refit(tmp_path):
    runs = chinchilla_runs()
    rep = Report()
    rep.add_fit(ReportFit(sl.fit(runs, "chinchilla"), data=runs))
    work = [b[0] for s in rep.sections for b in s.blocks if b[0] in ("figure", "lazy")]
    assert work.count("lazy") == 2                    # leave-one-group-out refits, allocation
    calls = []
    rep.write(tmp_path / "r", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, len(work)) for i in range(1, len(work) + 1)]


def test_explorer_model_defaults_come_from_the_fit(lr_fit):
    m = explorer_model(lr_fit)
    d = m["defaults"]
    assert d["peak"] == pytest.approx(1e-3) and d["warmup"] == 100 and d["steps"] == 3000
    assert m["law"] == "momentum" and m["warmup"] == 100 and m["fit_lambda"] is True
    assert m["params"]["lam"] == pytest.approx(lr_fit.params["lam"])
    assert explorer_steps(3000)[-1] == 3000 and len(explorer_steps(3000)) == 375
    assert list(explorer_steps(7, 400)) == list(range(1, 8))
    with pytest.raises(sl.ScalelawError, match="cooldown"):
        explorer_model(lr_fit, {"cooldown": 0.99})         # overlaps the warmup: no WSD schedule
    with pytest.raises(sl.ScalelawError, match="unknown explorer setting"):
        explorer_model(lr_fit, {"lr": 1.0})


def test_a_law_the_page_cannot_compute_gets_a_note_not_a_wrong_curve(tmp_path, example_logs):
    from scalelaw.laws.momentum import MomentumLaw

    class Shifted(MomentumLaw):          # a user's subclass: its curve is not the page's momentum law
        name = "shifted_momentum"

        def evaluate(self, x, p):
            return super().evaluate(x, p) + 0.01

    res = sl.fit_lr(example_logs[example_logs["run"] != "wsd"], Shifted(warmup=100))
    text = Path(write_report([ReportFit(res)], tmp_path / "r")["html"]).read_text()
    assert "data-scalelaw-explorer" not in text and "No schedule explorer" in text
    assert "shifted_momentum" in text


# -- the command ----------------------------------------------------------------------------
@pytest.fixture
def fit_files(tmp_path, example_logs, capsys):
    runs = chinchilla_runs()
    runs_csv = tmp_path / "runs.csv"
    runs.to_csv(runs_csv, index=False)
    assert main(["fit", str(runs_csv), "--law", "chinchilla", "--json", str(tmp_path / "chin.json")]) == 0
    logs = [str(EXAMPLES / f"{n}.csv") for n in ("constant", "cosine")]
    assert main(["fit", *logs, "--law", "multipower", "--warmup", "100", "--json", str(tmp_path / "mpl.json")]) == 0
    capsys.readouterr()
    return tmp_path, runs_csv, logs


def test_report_command_gives_each_data_file_to_the_fits_it_serves(fit_files, capsys):
    tmp, runs_csv, logs = fit_files
    argv = ["report", str(tmp / "chin.json"), str(tmp / "mpl.json"), "--data", str(runs_csv), *logs,
            str(EXAMPLES / "wsd.csv"), "--out", str(tmp / "rep"), "--compute", "1e23"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""                                 # no progress bar off a terminal
    assert f"wrote {tmp / 'rep' / 'report.html'}" in out and "self-contained" in out
    text = (tmp / "rep" / "report.html").read_text()
    assert sections(text) == ["chin (chinchilla)", "mpl (multipower)", "Provenance"]
    assert "Leave one group out (by params)" in text           # the runs reached the chinchilla fit
    assert "<td class=\"text\">wsd</td><td class=\"text\">no, predicted</td>" in text   # the logs the LR fit
    assert text.count("<div class=\"explorer\" data-scalelaw-explorer") == 1
    for p in (runs_csv, *logs, tmp / "chin.json"):
        assert hashlib.sha256(Path(p).read_bytes()).hexdigest() in text
    assert "scalelaw report " in text and "--compute 1e23" in text


def test_report_command_refuses_what_it_cannot_use(fit_files, capsys, tmp_path):
    tmp, runs_csv, logs = fit_files
    junk = tmp / "junk.csv"
    junk.write_text("a,b\n1,2\n")
    for argv, words in (
            (["report", str(tmp / "chin.json"), "--data", str(junk), "--out", str(tmp / "r")], "fits none of the fits"),
            (["report", str(runs_csv), "--out", str(tmp / "r")], "is not valid JSON"),
            (["report", str(tmp / "nope.json"), "--out", str(tmp / "r")], "file not found"),
            (["report", str(tmp / "chin.json"), "--out", str(tmp / "chin.json")], "not a folder"),
            (["report", str(tmp / "chin.json"), "--target", "-3", "--out", str(tmp / "r")], "--target -3")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and words in err, (argv, err)
    assert main(["report", str(tmp / "chin.json")]) == 2                       # --out is required
    assert "--out" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_report_shows_a_progress_bar_on_a_terminal_unless_quiet(fit_files, monkeypatch, capsys):
    tmp, runs_csv, _ = fit_files
    for quiet, expect in ((False, True), (True, False)):
        term = Terminal()
        monkeypatch.setattr("sys.stderr", term)
        argv = ["report", str(tmp / "chin.json"), "--data", str(runs_csv), "--out", str(tmp / f"r{quiet}")]
        assert main(argv + (["--quiet"] if quiet else [])) == 0
        shown = term.getvalue()
        assert (("report" in shown and "step" in shown) if expect else shown == ""), shown
    capsys.readouterr()


def test_report_help_is_the_commands(capsys):
    assert main(["report", "--help"]) == 0
    text = capsys.readouterr().out
    assert "FIT.json" in text and "--data" in text and "--timestamp" in text and "explorer" in text
