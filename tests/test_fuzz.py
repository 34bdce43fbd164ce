"""Every parser and loader, fuzzed with a small budget: only VaultlineError may escape.

The generators and targets are in tests/fuzz.py; bench/hardening_input.py runs the same
targets with 10,000+ cases each. Derandomized, so a run is reproducible.
"""

from __future__ import annotations

import pytest

from tests import fuzz

BUDGET = 150  # cases per parser in the suite; all of them take about 15 s


@pytest.mark.parametrize("name", list(fuzz.TARGETS))
def test_only_vaultline_errors_escape(name: str) -> None:
    cases, escapes = fuzz.run(name, BUDGET)
    assert cases >= BUDGET // 2  # hypothesis may stop early only on an exhausted strategy
    assert escapes == []
