"""Leak figure: canary values in the embedded store, OpenBao and moto_server, every command
run (enumerated from the click app), every output, file, audit line and a `run` child's
/proc environ and cmdline searched. The procedure is the canary test's (tests/test_canary.py);
here it runs against servers of its own.

    python bench/hardening.py leaks
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from tests.servers import FAKE_AWS_ENV, bao_dev, moto
from tests.test_canary import make_project, sweep


def figures() -> Iterator[str]:
    os.environ.update(FAKE_AWS_ENV)
    with tempfile.TemporaryDirectory(prefix="vaultline-leaks-") as tmp:
        work = Path(tmp)
        with bao_dev(work / "openbao") as openbao, moto(work / "moto") as moto_server:
            project = make_project(work / "run" / "project", openbao, moto_server)
            result = sweep(project, openbao)
    for where, found in result.leaks:
        yield f"leak: {where}: {len(found)} canary form(s)"
    for argv, code, _ in result.broken:
        yield f"not exercised: vaultline {' '.join(argv)} exited {code}"
    yield f"canary channels tried {result.channels}, leaks found {len(result.leaks)}"
