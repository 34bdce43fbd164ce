"""Audit figures: the tamper table's verdicts, kill -9 of writers, and the read path's cost.

- every case of tests/audit/test_tamper.py, checked locally and against an anchor;
- 100 writers killed with SIGKILL at random points (tests/audit/test_crash.py), counting
  acknowledged writes that were lost or left without their audit line;
- ``vaultline.load`` of 10,000 secrets with this tree against the tree before the keyed
  chain (the merge base with ``main``), each in its own process, in alternating rounds.

    python bench/hardening.py audit
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRETS = 10_000
ROUNDS = 3

# Run in a fresh process against one tree: builds a 10,000-secret project, prints the best
# of five vaultline.load() times in milliseconds.
_LOAD = """
import os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {bench!r})
from _util import master_key, write
os.environ["VAULTLINE_MASTER_KEY"] = master_key()
import vaultline
from vaultline.store import EmbeddedStore
with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp)
    write(root, {{"vaultline.yaml": "app: bench\\nenvironments: [prod]\\n",
                 "env/prod/secrets.yaml": "".join(
                     f"Service{{i // 100}}:Secret{{i % 100}}: local\\n" for i in range({n}))}})
    store, _ = EmbeddedStore.create(root / ".vaultline")
    for i in range({n}):
        store.put(f"bench/prod/Service{{i // 100}}/Secret{{i % 100}}", os.urandom(16).hex().encode())
    store.close()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        assert len(vaultline.load("prod", root)) == {n}
        best = min(best, time.perf_counter() - start)
print(f"{{best * 1000:.1f}}")
"""


def _tamper() -> Iterator[str]:
    from tests.audit.test_tamper import CASES, build_history
    from vaultline.audit import AuditLog
    from vaultline.store import EmbeddedStore

    local = anchored = 0
    for _, tamper, _ in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            history = build_history(Path(tmp))
            tamper(history)
            with EmbeddedStore.open(history.directory, environ=history.environ) as store:
                log = AuditLog.for_store(store)
                local += not log.verify().ok
                anchored += not log.verify(anchor=history.anchor).ok
    yield f"tamper cases detected locally: {local} of {len(CASES)}"
    yield f"tamper cases detected (anchored): {anchored} of {len(CASES)}"


def _kills() -> Iterator[str]:
    from tests.audit.test_crash import kill_runs
    from tests.factory import master_key_env
    from vaultline.store import EmbeddedStore

    environ = master_key_env()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / ".vaultline"
        EmbeddedStore.create(directory, environ=environ)[0].close()
        counts = kill_runs(directory, environ, runs=100, seed=2026)
    yield (f"kill -9 runs leaving a crash tail {counts['crash_tails']}, writes interrupted "
           f"after commit (audited by their intent) {counts['interrupted']}")
    yield (f"kills {counts['kills']}, acknowledged writes {counts['acknowledged']}, "
           f"lost {counts['lost']}, unaudited {counts['unaudited']}")


def _load_ms(tree: Path) -> float:
    code = _LOAD.format(bench=str(ROOT / "bench"), n=SECRETS)
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(tree),
                          "PATH": "/usr/bin:/bin", "HOME": str(tree)},
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def _load() -> Iterator[str]:
    base = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp)
        archive = subprocess.run(["git", "archive", base, "vaultline"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        old: list[float] = []
        new: list[float] = []
        for _ in range(ROUNDS):  # alternating, so a burst of machine load hits both sides
            old.append(_load_ms(before))
            new.append(_load_ms(ROOT))
    yield (f"vaultline.load() of {SECRETS} secrets, best of {ROUNDS} rounds x 5: before the "
           f"keyed chain ({base[:8]}) {min(old):.1f} ms (rounds {', '.join(f'{t:.0f}' for t in old)}), "
           f"now {min(new):.1f} ms (rounds {', '.join(f'{t:.0f}' for t in new)})")
    yield f"load time now/before: {min(new) / min(old):.2f}"


def figures() -> Iterator[str]:
    sys.path.insert(0, str(ROOT))
    yield from _tamper()
    yield from _kills()
    yield from _load()
