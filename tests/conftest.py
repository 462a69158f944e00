from pathlib import Path

import pytest

#: the public benchmark data, read-only, beside the checkout (never copied into the project)
BENCHDATA = Path(__file__).resolve().parents[1].parent / "shared" / "benchdata"


def benchdata_path(*parts: str) -> Path:
    """``BENCHDATA / parts``; skips the calling test, naming the missing path, when absent.

    The one place the tests look for the benchmark data: call it where the data is
    needed (through the ``benchdata`` fixture), so the rest of a test still runs without it.
    """
    path = BENCHDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"benchmark data not found: {path}")
    return path


@pytest.fixture
def benchdata():
    """The skip helper as a fixture: ``benchdata("mpl_25m")`` -> Path, or the test skips."""
    return benchdata_path
