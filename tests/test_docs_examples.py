"""The worked examples in docs/ run as written (they assert their own results)."""
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _blocks(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_architecture_has_a_worked_example():
    assert len(_blocks("architecture.md")) >= 1


@pytest.mark.parametrize("i", range(len(_blocks("architecture.md"))))
def test_architecture_example_runs(i, capsys):
    code = _blocks("architecture.md")[i]
    exec(compile(code, f"docs/architecture.md[{i}]", "exec"), {"__name__": "docs_example"})
    assert "exp_decay" in capsys.readouterr().out
