"""Hostile input: fuzzed parsers, hostile files and the exit-code contract, one line each.

    python bench/hardening.py input
    VAULTLINE_FUZZ_CASES=2000 python bench/hardening.py input   # a quicker run

Every parser and loader gets 10,000 generated inputs (tests/fuzz.py); anything but a
VaultlineError escaping counts. The hostile files of tests/hostile.py run through the real CLI
with their time and the child's peak RSS measured. The exit-code table of
tests/cli/test_exit_codes.py runs through the real CLI and counts wrong exit codes or first
lines. Policy lint is timed on 3,000 rules (quadratic before: 50 s).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from _util import load_average  # noqa: E402 - the paths are set up first

from tests import fuzz, hostile  # noqa: E402


def _fuzz() -> Iterator[str]:
    cases = int(os.environ.get("VAULTLINE_FUZZ_CASES", "10000"))
    total = escaped = 0
    for name in fuzz.TARGETS:
        start = time.perf_counter()
        ran, escapes = fuzz.run(name, cases, derandomize=False)
        total += ran
        escaped += len(escapes)
        kinds = sorted({e.error.split(":")[0] for e in escapes})
        yield (f"fuzz {name}: {ran} cases in {time.perf_counter() - start:.0f} s, "
               f"uncaught {len(escapes)}{' (' + ', '.join(kinds) + ')' if kinds else ''}")
    yield f"fuzz: {total} cases over {len(fuzz.TARGETS)} parsers, uncaught exceptions {escaped}"


def _hostile() -> Iterator[str]:
    worst_time, worst_cpu, worst_rss, wrong = 0.0, 0.0, 0, []
    slowest = largest = ""
    for case in hostile.CASES:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "project"
            environ = hostile.prepare(root, case)
            outcome = hostile.run_case(case, root, environ)
        if outcome.code != case.code or case.message not in outcome.stderr \
                or "Traceback" in outcome.stderr:
            wrong.append(case.name)
        worst_time = max(worst_time, outcome.seconds)
        if outcome.cpu_seconds > worst_cpu:
            worst_cpu, slowest = outcome.cpu_seconds, case.name
        if outcome.peak_kib > worst_rss:
            worst_rss, largest = outcome.peak_kib, case.name
    yield (f"hostile files: worst CPU time {worst_cpu:.2f} s ({slowest}; limit "
           f"{hostile.TIME_LIMIT:.0f} s), worst wall {worst_time:.1f} s "
           f"(load average {load_average()}), "
           f"peak RSS {worst_rss / 1024:.0f} MB ({largest}; limit "
           f"{hostile.RSS_LIMIT_KIB // 1024} MB)")
    yield f"hostile files: {len(hostile.CASES)} cases, wrong outcome {len(wrong)}" + (
        f" ({', '.join(wrong)})" if wrong else "")


def _exit_codes() -> Iterator[str]:
    import subprocess

    from tests.cli import test_exit_codes as table

    factory = _Factory()  # kept alive: the project lives in its directory
    project = table.project.__wrapped__(factory)
    rows = [*table.ROWS,
            *(table.Row((*c.split(), "--no-such-option"), 2, r"^vaultline: error: ")
              for c in table.commands())]
    wrong: list[str] = []
    for row in rows:
        done: subprocess.CompletedProcess[str] = table._run(project, row)
        if done.returncode != row.code or "Traceback" in done.stderr \
                or not re.search(row.first_line, table._first_line(done)):
            wrong.append(" ".join(row.argv))
    yield f"exit codes: {len(rows)} cases over {len(table.commands())} commands, wrong " \
          f"{len(wrong)}" + (f" ({'; '.join(wrong)})" if wrong else "")


class _Factory:
    """The one method of pytest's TempPathFactory the table's fixture uses."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()

    def mktemp(self, name: str) -> Path:
        path = Path(self._tmp.name) / name
        path.mkdir()
        return path


def _policy_lint() -> Iterator[str]:
    from vaultline.policy.lint import lint_text

    n = 3000
    text = "".join(f'path "secret/data/app{i}/prod/*" {{\n  capabilities = ["read"]\n}}\n'
                   for i in range(n)) + 'path "secret/data/*" {\n  capabilities = ["deny"]\n}\n'
    start = time.process_time()
    findings = lint_text(text, "policies.hcl")
    seconds = time.process_time() - start
    yield f"policy lint: {n} rules, {len(findings)} findings in {seconds:.1f} s CPU " \
          "(quadratic before: 50 s)"


def figures() -> Iterator[str]:
    yield from _policy_lint()
    yield from _hostile()
    yield from _exit_codes()
    yield from _fuzz()


if __name__ == "__main__":
    for line in figures():
        print(line, flush=True)
