"""The documentation site (mkdocs.yml, docs/): the CLI reference is generated from the
argument parser and covers every command and option; every page is in the nav; every
registered law has a page showing the code's formula; the examples of the guide and law
pages run as written (they assert their own results); the site builds with warnings as
errors."""
from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _gen_cli():
    spec = importlib.util.spec_from_file_location("gen_cli", DOCS / "gen_cli.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _sections(text: str) -> dict[str, str]:
    """``## scalelaw NAME`` sections of the generated page."""
    parts = re.split(r"^## scalelaw (\S+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def _nav_pages(nav) -> list[str]:
    out = []
    for item in nav:
        for value in (item.values() if isinstance(item, dict) else [item]):
            out += _nav_pages(value) if isinstance(value, list) else [value]
    return out


def _config():
    yaml = pytest.importorskip("yaml")

    class Loader(yaml.SafeLoader):   # mkdocs.yml may hold !!python/name tags; none needed here
        pass
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)


def test_cli_reference_covers_every_command_and_option():
    from scalelaw.cli import COMMANDS, build_parser
    gen = _gen_cli()
    text = gen.render()
    sections = _sections(text)
    assert list(sections) == list(COMMANDS)
    parser = build_parser()
    subs = gen.commands(parser)
    assert set(subs) == set(COMMANDS)
    for name in COMMANDS:
        body = sections[name]
        sub = subs[name]
        assert f"usage: scalelaw {name}" in body, name
        assert f"[`{name}`](#scalelaw-{name})" in text          # in the table of commands
        cells = re.findall(r"^\| `([^`]+)` \|", body, flags=re.M)   # the argument column
        for action in sub._actions:
            if action.help == argparse.SUPPRESS:
                continue
            if action.option_strings:
                for opt in action.option_strings:   # every spelling of every option
                    assert any(re.search(rf"(^|, ){re.escape(opt)}( |,|$)", c) for c in cells), (name, opt)
            else:
                metavar = action.metavar or action.dest
                assert any(str(metavar) in c for c in cells), (name, metavar)
            if action.choices and not isinstance(action, argparse._SubParsersAction):
                for choice in action.choices:
                    assert f"`{choice}`" in body, (name, action.dest, choice)


def test_cli_reference_is_generated_not_committed():
    """cli.md exists only in the built site: the hook writes it, and no hand-written copy
    lies in docs/ to go stale."""
    config = _config()
    assert not (DOCS / "cli.md").exists()
    assert "docs/gen_cli.py" in config["hooks"]
    assert "cli.md" in _nav_pages(config["nav"])
    gen = _gen_cli()
    text = gen.render()
    assert text.startswith("# Command line") and gen.PAGE == "cli.md"
    # help text is escaped for Markdown: no stray emphasis or table breaks from '*' and '|'
    assert r"K\*N\*D" in text


def test_every_page_is_in_the_nav():
    config = _config()
    pages = set(_nav_pages(config["nav"]))
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert on_disk | {"cli.md"} == pages


def test_every_law_has_a_page_with_its_formula():
    from scalelaw.laws import REGISTRY, get_law
    index = (DOCS / "laws" / "index.md").read_text()
    for name in REGISTRY:
        page = DOCS / "laws" / f"{'bnsl' if name.startswith('bnsl') else name}.md"
        text = page.read_text()
        assert get_law(name).formula in text, (name, "formula as the code has it")
        assert f"`{name}`" in index, name
    assert (DOCS / "laws" / "formula.md").is_file()


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


EXAMPLE_PAGES = sorted(p.relative_to(DOCS).as_posix() for d in ("guide", "laws")
                       for p in (DOCS / d).glob("*.md") if _python_blocks(p))


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_page_examples_run(page, monkeypatch, tmp_path):
    """A page's Python blocks, in order in one namespace, from the repository root (they
    read data/examples/), with figures on Agg."""
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))
    env = {"__name__": "docs_example"}
    for i, block in enumerate(_python_blocks(DOCS / page)):
        exec(compile(block, f"docs/{page}[{i}]", "exec"), env)


def test_pages_with_examples_found():
    assert {"guide/fit.md", "guide/schedules.md", "guide/figures.md", "laws/chinchilla.md",
            "laws/multipower.md"} <= set(EXAMPLE_PAGES)


@pytest.mark.skipif(shutil.which("mkdocs") is None and importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs not installed (pip install -e '.[docs]')")
def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cli = (site / "cli" / "index.html").read_text()
    from scalelaw.cli import COMMANDS
    for name in COMMANDS:
        assert f'id="scalelaw-{name}"' in cli
    api = (site / "api" / "fitting" / "index.html").read_text()
    assert 'id="scalelaw.fitting.fit"' in api and ":func:" not in api
