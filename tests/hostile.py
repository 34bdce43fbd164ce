"""Hostile files through the real CLI, each bounded in time and memory.

A case lays out a project (alias bombs, oversize packs, devices, FIFOs...) and runs one
command in a subprocess started by a small wrapper that reports its child's peak RSS
(``resource.getrusage(RUSAGE_CHILDREN)``), so each measurement is that command's alone.
tests/test_hostile_input.py asserts every case; bench/hardening_input.py prints the worst.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from tests.factory import make_project, master_key_env

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
TIME_LIMIT = 5.0  # seconds a hostile case may take
RSS_LIMIT_KIB = 300 * 1024

# The child's peak RSS in KiB (Linux reports ru_maxrss in KiB) and CPU seconds, printed last
# on stderr. CPU time is what a case costs; wall time also counts a loaded machine's queue.
WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(use.ru_maxrss, use.ru_utime + use.ru_stime, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def laughs(levels: int = 9, width: int = 9, *, mapping: bool = False, indent: str = "") -> str:
    """A billion-laughs document: ``width ** levels`` nodes from a few hundred bytes."""
    lines = [f"{indent}l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        refs = ", ".join(f"k{j}: *l{i - 1}" if mapping else f"*l{i - 1}" for j in range(width))
        lines.append(f"{indent}l{i}: &l{i} {{{refs}}}" if mapping
                     else f"{indent}l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


class Case(NamedTuple):
    name: str
    setup: Callable[[Path], None]  # writes the hostile part into the project
    argv: tuple[str, ...]
    code: int
    message: str  # must appear in stderr
    stdin: str | None = None


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda root: (root / name).write_text(text)


def _fifo(name: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / name).unlink(missing_ok=True)
        os.mkfifo(root / name)
    return make


def _link(name: str, target: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / name).unlink(missing_ok=True)
        (root / name).symlink_to(target)
    return make


def _big(name: str, size: int, line: str = "K{i}: value\n") -> Callable[[Path], None]:
    def make(root: Path) -> None:
        with (root / name).open("w") as handle:
            written, i = 0, 0
            while written < size:
                chunk = line.format(i=i)
                handle.write(chunk)
                written += len(chunk)
                i += 1
    return make


def _secret_ref(reference: str) -> Callable[[Path], None]:
    return _write("env/prod/secrets.yaml", f"ConnectionStrings:Primary: {json.dumps(reference)}\n")


def _token(header: bytes, payload: bytes = b'{"sub":"a"}') -> str:
    """A compact JWS with these header and payload bytes and a signature of nothing."""
    return ".".join(base64.urlsafe_b64encode(part).decode().rstrip("=")
                    for part in (header, payload, b"signature"))


def _both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for step in steps:
            step(root)
    return make


_RESOLVE = ("resolve", "--env", "prod")
_ALIASES = "aliases (*name) expand the document by more than"
_TOO_BIG = "larger than the limit of 16 MiB; raise the limit with VAULTLINE_MAX_FILE_SIZE"
_NO_DEVICES = "not a regular file"
_TOO_DEEP = "nested deeper than 100 levels"
_DEEP = "[" * 100_000  # a RecursionError in json.loads, at any stack depth
CASES: list[Case] = [
    Case("alias bomb in values.yaml", _write("env/prod/values.yaml", laughs()), _RESOLVE, 2,
         _ALIASES),
    Case("alias bomb in secrets.yaml", _write("env/prod/secrets.yaml", laughs()), _RESOLVE, 2,
         _ALIASES),
    Case("mapping alias bomb in defaults",
         _write("vaultline.yaml", "app: x\nenvironments: [prod]\ndefaults:\n"
                + laughs(mapping=True, indent="  ")), _RESOLVE, 2, _ALIASES),
    Case("alias bomb in a manifest", _write("k8s.yaml", laughs()), ("inventory", "k8s.yaml"),
         0, ""),
    # Unclosed template openers, a long blank run: the square of the file's length to a regex
    # that looks for a closer from every opener (50,000 `{{`: half a minute); one pass: ms.
    *(Case(f"unclosed {opener} in a manifest",
           _write("k8s.yaml", "kind: Secret\n" + opener * 50_000), ("inventory", "k8s.yaml"), 0, "")
      for opener in ("{{", "{%", "{#")),
    Case("unclosed ${ on one line of a manifest",
         _write("k8s.yaml", "kind: Secret\n# {{ x }}\na: " + "${" * 100_000),
         ("inventory", "k8s.yaml"), 0, ""),
    Case("long blank run in a broken manifest's name",
         _write("k8s.yaml", "kind: Secret\nmetadata:\n  name: a" + " " * 100_000 + "x\n  bad: [\n"),
         ("inventory", "k8s.yaml"), 0, ""),
    Case("nesting bomb in values.yaml", _write("env/prod/values.yaml", "a: " + "[" * 200_000),
         _RESOLVE, 2, "env/prod/values.yaml:1: invalid YAML: "),
    Case("deep nesting in values.yaml", _write("env/prod/values.yaml", "a: " + "[" * 150),
         _RESOLVE, 2, "env/prod/values.yaml:1: invalid YAML: nested deeper than 100 levels"),
    Case("complex key in values.yaml", _write("env/prod/values.yaml", "? [a, b]\n: 1\n"),
         _RESOLVE, 2, "env/prod/values.yaml:1: invalid YAML: a mapping key must be a plain"),
    Case("oversize values.yaml", _big("env/prod/values.yaml", 17 * 1024 * 1024), _RESOLVE, 2,
         _TOO_BIG),
    Case("oversize vaultline.yaml", _big("vaultline.yaml", 17 * 1024 * 1024, "# {i}\n"),
         _RESOLVE, 2, _TOO_BIG),
    Case("values.yaml is a FIFO", _fifo("env/prod/values.yaml"), _RESOLVE, 2,
         "not a regular file (a FIFO)"),
    Case("values.yaml links to /dev/zero", _link("env/prod/values.yaml", "/dev/zero"),
         _RESOLVE, 2, "not a regular file (a device)"),
    Case("file:/dev/zero", _secret_ref("file:/dev/zero"), _RESOLVE, 1, _NO_DEVICES),
    Case("file:/dev/urandom", _secret_ref("file:/dev/urandom"), _RESOLVE, 1, _NO_DEVICES),
    Case("file: on a FIFO", _both(_fifo("pipe"), _secret_ref("file:pipe")), _RESOLVE, 1,
         "not a regular file (a FIFO)"),
    Case("file: over the secret limit",
         _both(_big("big.txt", 2 * 1024 * 1024), _secret_ref("file:big.txt")), _RESOLVE, 1,
         "larger than the limit of 1 MiB; raise the limit with VAULTLINE_MAX_SECRET_SIZE"),
    Case("file: with a NUL byte", _secret_ref("file:a\0b"), _RESOLVE, 1,
         "a file path cannot contain a NUL byte"),
    Case("secret put --from-file /dev/zero", lambda root: None,
         ("secret", "put", "local:nexus-engine/prod/X", "--from-file", "/dev/zero"), 2, _NO_DEVICES),
    Case("secret put --from-file /dev/urandom", lambda root: None,
         ("secret", "put", "local:nexus-engine/prod/X", "--from-file", "/dev/urandom"), 2, _NO_DEVICES),
    Case("secret put --from-file a FIFO", _fifo("pipe"),
         ("secret", "put", "local:nexus-engine/prod/X", "--from-file", "pipe"), 2, "(a FIFO)"),
    Case("secret put --from-file over the limit", _big("big.txt", 500 * 1024 * 1024 // 100),
         ("secret", "put", "local:nexus-engine/prod/X", "--from-file", "big.txt"), 2,
         "larger than the limit of 1 MiB"),
    Case("secret put a huge value on stdin", lambda root: None, ("secret", "put", "local:nexus-engine/prod/X"),
         2, "the value on stdin is larger than the limit of 1 MiB", "x" * (3 * 1024 * 1024)),
    Case("keys decrypt /dev/zero", lambda root: None, ("keys", "decrypt", "enc", "--in", "/dev/zero"), 1,
         "not a vaultline encrypted blob (bad magic bytes)"),
    Case("keys decrypt /dev/urandom", lambda root: None, ("keys", "decrypt", "enc", "--in", "/dev/urandom"),
         1, "not a vaultline encrypted blob"),
    Case("policy lint on a FIFO", _fifo("p.hcl"), ("policy", "lint", "p.hcl"), 2,
         "not a regular file (a FIFO)"),
    Case("env.example is a FIFO", _fifo("env.example"), ("check", "--env", "prod"), 2,
         "env.example: not a regular file (a FIFO)"),
    Case("scan baseline is a FIFO", _fifo("b.json"), ("scan", "vaultline.yaml", "--baseline",
                                                      "b.json"), 2, "(a FIFO)"),
    Case("scan baseline nested 100,000 deep", _write("b.json", _DEEP),
         ("scan", "vaultline.yaml", "--baseline", "b.json"), 2,
         f"b.json: cannot read the baseline ({_TOO_DEEP}); fix or delete it"),
    Case("detect-secrets baseline nested 100,000 deep", _write("ds.json", '{"results":' + _DEEP),
         ("scan", "vaultline.yaml", "--import-baseline", "ds.json"), 2,
         f"ds.json: not a detect-secrets baseline ({_TOO_DEEP})"),
    Case("file: secret nested 100,000 deep, with #field",
         _both(_write("deep.json", '{"user": "u", "a": ' + _DEEP), _secret_ref("file:deep.json#user")),
         _RESOLVE, 1, "ConnectionStrings:Primary: file:deep.json#user: cannot select field 'user': "
         "the secret is JSON nested deeper than 100 levels"),
    Case("keys verify a header nested 100,000 deep", _write("jwt", _token(_DEEP.encode())),
         ("keys", "verify", "sig", "--in", "jwt"), 1, "not a JWT: the header is not base64url JSON"),
    Case("keys sign claims nested 100,000 deep", _write("claims.json", _DEEP),
         ("keys", "sign", "sig", "--in", "claims.json"), 2, f"the claims JSON is {_TOO_DEEP}"),
    Case("keys sign claims from /dev/zero", lambda root: None,
         ("keys", "sign", "sig", "--in", "/dev/zero"), 2, "not a regular file (a device)"),
    Case("keys verify an endless token on stdin", lambda root: None, ("keys", "verify", "sig"), 2,
         "the token is larger than the limit of 16 MiB", "x" * (17 * 1024 * 1024)),
]


class Outcome(NamedTuple):
    code: int
    stderr: str
    seconds: float  # wall
    cpu_seconds: float
    peak_kib: int
    stdout: bytes = b""


# The ring each `keys` command's cases use: name, purpose.
_RINGS = {"decrypt": ("enc", "encryption"), "sign": ("sig", "signing"),
          "verify": ("sig", "signing")}


def prepare(root: Path, case: Case | None = None) -> dict[str, str]:
    """A project with a store (and the ring a ``keys`` case uses); the environment to run in."""
    environ = {**os.environ, **master_key_env(), "NO_COLOR": "1", "HOME": str(root / "home")}
    make_project(root, environ=environ)
    if case is not None and case.argv[0] == "keys" and case.argv[1] in _RINGS:
        name, purpose = _RINGS[case.argv[1]]
        subprocess.run([VAULTLINE, "keys", "create", name, "--purpose", purpose],
                       cwd=root, env=environ, check=True, capture_output=True)
    return environ


def measured(argv: tuple[str, ...] | list[str], root: Path, environ: dict[str, str], *,
             stdin: str | None = None, timeout: float = 60) -> Outcome:
    """``vaultline ARGV`` in ``root``, with its own peak RSS and CPU time (never another
    child's of this process: ``RUSAGE_CHILDREN`` of the test process is the largest of all)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, VAULTLINE, *argv], cwd=root,
                          env=environ, input=(stdin or "").encode(), capture_output=True,
                          timeout=timeout)
    seconds = time.perf_counter() - start
    *lines, usage = done.stderr.decode("utf-8", "replace").rstrip("\n").split("\n")
    peak, cpu = usage.split()
    return Outcome(done.returncode, "\n".join(lines), seconds, float(cpu), int(peak),
                   done.stdout)


def run_case(case: Case, root: Path, environ: dict[str, str]) -> Outcome:
    case.setup(root)
    return measured(case.argv, root, environ, stdin=case.stdin)
