"""The report in a real headless browser (Debian's chromium and chromium-driver, driven by
selenium): no console errors, every image loaded, and the schedule explorer's curve equal to
the Python prediction (``result.predict``) to 1e-6 relative after its sliders move.

Skips, saying why, only when the browser or selenium is absent (.ci/run installs them).
The helpers here are shared with test_demo.py.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import scalelaw as sl
from scalelaw.report import ReportFit, write_report
from scalelaw.schedules import parse_schedule

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
#: the explorer's numbers against Python's, relative
RTOL = 1e-6


def need_browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            pytest.skip(f"no headless browser: {path} is absent (apt-get install -y chromium chromium-driver; "
                        ".ci/run installs them)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")


@contextlib.contextmanager
def browser(profile: Path):
    """A headless Chromium (its profile in ``profile``), logging the page's console."""
    need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument("--window-size=1100,1400")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_report(driver, path):
    """Load ``path`` by file:// and wait until its explorer panels are built."""
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(Path(path).resolve().as_uri())
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && (!document.querySelector('[data-scalelaw-explorer]') "
        "|| (window.scalelawExplorer && window.scalelawExplorer.ready === true))"))


def console_errors(driver) -> list:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def images(driver) -> list:
    """``[complete, naturalWidth]`` of every image of the page (after scrolling through it, so
    that nothing lazy is left unloaded)."""
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    return driver.execute_script("return Array.from(document.images).map(i => [i.complete, i.naturalWidth])")


def move(driver, panel: int, role: str, value):
    """Set a control of explorer ``panel`` and dispatch the event a user's move fires."""
    driver.execute_script(
        "var c = document.querySelectorAll('[data-scalelaw-explorer]')[arguments[0]]"
        ".querySelector('[data-role=' + arguments[1] + ']');"
        "c.value = arguments[2]; c.dispatchEvent(new Event(c.tagName === 'SELECT' ? 'change' : 'input', "
        "{bubbles: true}));", panel, role, str(value))


def panel(driver, i: int) -> dict:
    return driver.execute_script(
        "var p = window.scalelawExplorer.panels[arguments[0]];"
        "return {state: p.state, curve: p.lastCurve, final: p.finalLoss, spec: p.spec, model: p.model,"
        " shown: p.root.querySelector('[data-out=loss]').textContent,"
        " warn: p.root.querySelector('[data-out=warn]').textContent,"
        " paths: p.root.querySelectorAll('svg path.curve').length};", i)


def double(res):
    """The same fit evaluated in double precision (the multi-power law's LD sum is single
    precision by default; the page computes in double)."""
    import copy
    out = copy.copy(res)
    if getattr(res.law, "precision", None) == "single":
        out.law = res.law.replace(precision="double")
    return out


def python_curve(res, spec, steps):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # extrapolation warnings: the explorer's range goes beyond
        return res.predict(parse_schedule(spec), steps=np.asarray(steps, dtype=np.int64))


def relative_error(js: dict, res) -> float:
    """Largest relative difference between the page's curve and ``res.predict`` at the same
    schedule and steps."""
    py = python_curve(res, js["spec"], js["curve"]["steps"])
    assert list(py["step"]) == list(js["curve"]["steps"])
    return float(np.max(np.abs(np.asarray(js["curve"]["loss"]) / py["loss_pred"].to_numpy() - 1)))


# -- a report with an explorer per LR-schedule law -----------------------------------------
@pytest.fixture(scope="module")
def lr_fits():
    logs = sl.read_curves([EXAMPLES / f"{n}.csv" for n in ("constant", "cosine", "wsd")])
    train = logs[logs["run"] != "wsd"]
    fits = {
        "momentum": sl.fit_lr(train, "momentum", warmup=100),                       # λ fitted
        "momentum-tissue": sl.fit_lr(train, "momentum", warmup=100, convention="tissue", lam=0.999),
        "s1power": sl.fit_lr(train, "s1power", warmup=100),
        "multipower": sl.fit_lr(train, "multipower", warmup=100),                    # single precision LD
        "multipower-paper": sl.fit_lr(train, "multipower", warmup=100, convention="paper"),
    }
    return logs, fits


@pytest.fixture(scope="module")
def report_page(lr_fits, tmp_path_factory):
    logs, fits = lr_fits
    folder = tmp_path_factory.mktemp("report")
    write_report([ReportFit(r, name=n, data=logs) for n, r in fits.items()], folder)
    return folder / "report.html", list(fits)


def test_the_report_opens_without_errors_and_every_image_loads(report_page, tmp_path):
    path, names = report_page
    with browser(tmp_path / "profile") as d:
        open_report(d, path)
        imgs = images(d)
        assert len(imgs) >= 2 * len(names) and all(ok and w > 0 for ok, w in imgs), imgs
        assert d.execute_script("return window.scalelawExplorer.panels.length") == len(names)
        assert console_errors(d) == []


def test_the_explorer_equals_python_after_the_sliders_move(report_page, lr_fits, tmp_path):
    path, names = report_page
    fits = lr_fits[1]
    worst = {}
    with browser(tmp_path / "profile") as d:
        open_report(d, path)
        for i, name in enumerate(names):
            res = fits[name]
            start = panel(d, i)
            # at the start settings the page shows Python's number
            assert start["spec"] == "wsd:peak=0.001,final=0.0001,steps=3000,warmup=100,cooldown=0.2,shape=linear"
            assert start["shown"] == f"{start['final']:.4f}"
            assert relative_error(start, double(res)) < RTOL
            for role, value in (("cooldown", "0.35"), ("shape", "cosine"), ("final", "-1.5"),
                                ("steps", str(np.log10(4100)))):
                move(d, i, role, value)
            js = panel(d, i)
            s = js["state"]
            assert (s["cooldown"], s["shape"], s["steps"]) == (0.35, "cosine", 4100)
            assert s["final"] == pytest.approx(1e-3 * 10 ** -1.5, rel=1e-12) and js["curve"]["steps"][-1] == 4100
            keys = dict(kv.split("=") for kv in js["spec"].split(":")[1].split(","))
            assert keys == {"peak": "0.001", "final": keys["final"], "steps": "4100", "warmup": "100",
                            "cooldown": "0.35", "shape": "cosine"}
            assert float(keys["final"]) == s["final"]               # the same double in the spec
            assert abs(js["final"] / start["final"] - 1) > 1e-3          # the move changed the prediction
            err = relative_error(js, double(res))
            assert err < RTOL, (name, err)
            assert relative_error(js, res) < RTOL                        # the fit as it is (single LD: < 1e-9)
            assert js["shown"] == f"{js['final']:.4f}" and js["paths"] == 1
            worst[name] = err
            # every cooldown shape, a cooldown in steps, no warmup, through the page's own function
            for extra in ({"shape": "exp", "cooldown": 0.5, "final": 2e-5}, {"shape": "sqrt", "cooldown": 700},
                          {"shape": "linear", "warmup": 0, "final": 0.0, "steps": 2501},
                          {"shape": "cosine", "cooldown": 0.0}):
                settings = {**start["state"], **extra}
                out = d.execute_script("var r = window.scalelawExplorer.predict(arguments[0], arguments[1]);"
                                       "return {spec: r.spec, curve: {steps: r.steps, loss: r.loss}, error: r.error};",
                                       js["model"], settings)
                assert out["error"] is None, out
                assert relative_error(out, double(res)) < RTOL, (name, extra)
        assert console_errors(d) == []
    print("explorer max relative error vs Python (double):", {k: f"{v:.1e}" for k, v in worst.items()})


def test_the_explorer_says_when_it_extrapolates_and_refuses_a_cooldown_into_the_warmup(report_page, tmp_path):
    path, _ = report_page
    with browser(tmp_path / "profile") as d:
        open_report(d, path)
        move(d, 0, "steps", str(np.log10(11000)))          # > 3x the longest fitted run (3000)
        js = panel(d, 0)
        assert js["state"]["steps"] == 11000 and "extrapolation" in js["warn"]
        out = d.execute_script("return window.scalelawExplorer.predict(arguments[0], arguments[1])",
                               js["model"], {**js["state"], "steps": 400, "cooldown": 0.9})
        assert "warmup" in out["error"]
        with pytest.raises(sl.ScalelawError, match="overlaps the warmup"):
            parse_schedule(out["spec"])                  # Python refuses the same schedule
        assert console_errors(d) == []
