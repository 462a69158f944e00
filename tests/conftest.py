from pathlib import Path

import pytest

BENCHDATA = Path(__file__).resolve().parents[1].parent / "shared" / "benchdata"


@pytest.fixture
def benchdata():
    """The public benchmark data beside the checkout; tests using it skip when absent."""
    if not BENCHDATA.is_dir():
        pytest.skip("../shared/benchdata not present")
    return BENCHDATA
