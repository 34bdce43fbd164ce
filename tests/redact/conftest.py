from __future__ import annotations

import pytest

# Every masking test runs against every matcher: they must give identical output.
BACKENDS = ["hyperscan", "ahocorasick", "python"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
