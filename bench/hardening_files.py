"""Files vaultline reads and writes, attacked: one line each, the count last.

    python bench/hardening.py files

The hostile reads of tests/test_read_files.py (parse cache files that are FIFOs or links to
/dev/zero, aliased text, ignore files, templates and baselines that are not files) run through
the real CLI with the child's peak RSS and CPU time measured. Then every command that writes
a file is pointed at a symlink committed to a file elsewhere: the file elsewhere must be left
as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import hostile, test_read_files  # noqa: E402 - the path is set up first

_WRITERS = [
    ("env", "example"),
    ("render", "t.j2", "-o", "out.txt", "--env", "prod"),
    ("scan", "vaultline.yaml", "-o", "out.txt"),
    ("inventory", ".", "-o", "out.txt"),
]


def _reads() -> Iterator[str]:
    wrong: list[str] = []
    worst_rss = 0
    worst_cpu = 0.0
    for case in test_read_files.CASES:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "project"
            environ = hostile.prepare(root, case)
            (root / "master.key").write_text(environ["VAULTLINE_MASTER_KEY"])
            outcome = hostile.run_case(case, root, environ)
        if outcome.code != case.code or case.message not in outcome.stderr \
                or "Traceback" in outcome.stderr:
            wrong.append(case.name)
        worst_rss = max(worst_rss, outcome.peak_kib)
        worst_cpu = max(worst_cpu, outcome.cpu_seconds)
    yield (f"hostile reads: {len(test_read_files.CASES)} cases, worst peak RSS "
           f"{worst_rss / 1024:.0f} MiB, worst CPU {worst_cpu:.2f} s")
    yield f"hostile reads not ending in one clear line: {len(wrong)}"


def _writes() -> Iterator[str]:
    through = 0
    for command in _WRITERS:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "project"
            environ = hostile.prepare(root)
            subprocess.run([hostile.VAULTLINE, "secret", "put", "ConnectionStrings:Primary",
                            "--env", "prod"], cwd=root, env=environ, input=b"v4lue-xyz",
                           capture_output=True, check=True, timeout=60)
            (root / "t.j2").write_text("{{ ConnectionStrings.Primary }}\n")
            victim = Path(tmp) / "victim"
            victim.write_text("mine\n")
            name = command[command.index("-o") + 1] if "-o" in command else "env.example"
            os.symlink(victim, root / name)
            subprocess.run([hostile.VAULTLINE, *command], cwd=root, env=environ,
                           capture_output=True, timeout=60)
            through += victim.read_text() != "mine\n"
    yield f"writes through a committed symlink: {through} of {len(_WRITERS)} commands"


def figures() -> Iterator[str]:
    yield from _reads()
    yield from _writes()


if __name__ == "__main__":
    for line in figures():
        print(line, flush=True)
