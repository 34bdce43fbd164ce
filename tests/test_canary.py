"""Canary values in the embedded store, OpenBao and moto_server never show up outside them.

Every command and subcommand of the click app runs (enumerated, so a new command is covered
without editing this file): a generic invocation built from its parameters, plus the
realistic invocations below. Then every stdout and stderr, every file under the project and
HOME, every audit line, and a ``run`` child's /proc/<pid>/environ and cmdline (and vaultline's
own cmdline) are searched for each canary in its plain, base64 and URL-encoded forms.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import click
import pytest

from tests.servers import BaoServer, MotoServer
from vaultline.cli._app import cli

pytestmark = pytest.mark.slow

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
PY = sys.executable
# Stored values: the child may see them (that is what `run` is for), nothing else may.
CANARY_LOCAL = "canary-local-7f3a9c1e5b2d"
CANARY_BAO = "canary-bao-2d8e4f6a0c4e"
CANARY_AWS = "canary-aws-9b1c3e5d7f6a"
CANARY_PEM_LINE = "MC4CAQAwBQYDK2VwBCIEICanaryPemLineQ2FuYXJ5UGVtTGluZQ"
PEM = f"-----BEGIN PRIVATE KEY-----\n{CANARY_PEM_LINE}\n-----END PRIVATE KEY-----\n"
# vaultline's own credentials: no child, output or file may see them.
MASTER_KEY = base64.b64encode(b"canary-master-key-32-bytes-long!").decode()
AWS_SECRET = "canary-aws-credential-5e7d9c1b3a"
STORED = (CANARY_LOCAL, CANARY_BAO, CANARY_AWS, CANARY_PEM_LINE)
CREDENTIALS = (MASTER_KEY, AWS_SECRET)


class Ran(NamedTuple):
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


def forms(value: str) -> set[str]:
    raw = value.encode()
    return {value, base64.b64encode(raw).decode().rstrip("="), quote(value, safe=""),
            repr(value)[1:-1]}


def hits(text: str, canaries: tuple[str, ...]) -> list[str]:
    return [c for c in canaries for f in forms(c) if f in text]


def command_paths() -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(cli)

    def walk(group: click.Group, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            path = (*prefix, name)
            if isinstance(command, click.Group):
                yield from walk(command, path)
            else:
                yield path, command

    return walk(cli, ())


def generic_argv(path: tuple[str, ...], command: click.Command) -> list[str]:
    """An invocation from the parameters alone: --env prod, JSON output, a canary key."""
    argv = list(path)
    for param in command.params:
        if isinstance(param, click.Option):
            if "--env" in param.opts:
                argv += ["--env", "prod"]
            elif "--format" in param.opts and isinstance(param.type, click.Choice) \
                    and "json" in param.type.choices:
                argv += ["--format", "json"]
        elif isinstance(param, click.Argument) and param.required:
            argv += ["--", PY, "-c", "print(1)"] if param.nargs == -1 else ["Canary:Local"]
    return argv


# Realistic invocations, in order (later ones may depend on earlier ones).
SCRIPTED: list[tuple[list[str], str | None]] = [
    (["secret", "refs", "--env", "prod"], None),
    (["resolve", "--env", "prod"], None),
    (["resolve", "--env", "prod", "--format", "json"], None),
    (["resolve", "--env", "prod", "--format", "env"], None),
    (["resolve", "--env", "prod", "--format", "dotenv"], None),
    (["resolve", "--env", "prod", "--format", "yaml"], None),
    (["env", "explain", "Canary:Bao", "--env", "prod"], None),
    (["env", "explain", "Canary:Aws", "--env", "prod", "--format", "json"], None),
    (["secret", "get", "Canary:Local", "--env", "prod"], None),
    (["secret", "get", "Canary:Bao", "--env", "prod"], None),
    (["secret", "get", "Canary:Aws", "--env", "prod"], None),
    (["secret", "ls", "--env", "prod"], None),
    (["secret", "ls", "--provider", "bao", "--env", "prod", "--format", "json"], None),
    (["secret", "versions", "Canary:Local", "--env", "prod", "--format", "json"], None),
    (["secret", "put", "Canary:Local", "--env", "prod", "--cas", "99"], CANARY_LOCAL),
    (["secret", "put", "Canary:Bao", "--env", "prod"], CANARY_BAO),
    (["secret", "put", "Canary:Aws", "--env", "prod"], CANARY_AWS),
    (["run", "--env", "prod", "--", PY, "-c", "import os; print(dict(os.environ))"], None),
    (["run", "--env", "prod", "--", PY, "-c",
      "import os, sys; v = os.environ['CANARY__LOCAL']; print(repr({'k': v}), v.upper() == v);"
      "raise KeyError(os.environ['CANARY__BAO'])"], None),
    (["run", "--env", "prod", "--pass-env", "AWS_SECRET_ACCESS_KEY", "--", PY, "-c",
      "import os; print(os.environ['AWS_SECRET_ACCESS_KEY'])"], None),
    (["run", "--env", "prod", "--", "sh", "-c", "echo $CANARY__PEM | base64"], None),
    (["redact", "--env", "prod"],
     f"{CANARY_LOCAL}\n{quote(CANARY_BAO, safe='').lower()}\n{CANARY_PEM_LINE}\n{CANARY_AWS!r}\n"),
    (["override", "set", "Canary:Local", "--env", "prod", "--ttl", "1h", "--reason", "r",
      "--approved-by", "someone-else", "--ticket", "T-1"], CANARY_AWS),
    (["override", "ls", "--env", "prod", "--all", "--format", "json"], None),
    (["check", "--env", "prod", "--format", "json"], None),
    (["check", "--env", "prod"], None),
    (["drift", "--env", "prod", "--format", "json"], None),
    (["drift", "--env", "prod", "--mirror", "local:canary/prod=bao:mirror"], None),
    (["policy", "generate", "--env", "prod", "--role", "runtime"], None),
    (["env", "example", "--output", "-"], None),
    (["keys", "create", "tokens", "--purpose", "signing", "--alg", "EdDSA"], None),
    (["keys", "create", "hooks", "--purpose", "hmac", "--alg", "HS256"], None),
    (["keys", "create", "payloads", "--purpose", "encryption"], None),
    (["keys", "list", "--format", "json"], None),
    (["keys", "jwks", "tokens"], None),
    (["keys", "sign", "tokens", "--ttl", "5m"], json.dumps({"sub": "svc-a"})),
    (["keys", "encrypt", "payloads"], CANARY_BAO),
    (["keys", "rotate", "hooks", "--format", "json"], None),
    (["keys", "status", "--format", "json"], None),
    (["scan", "."], None),
    (["scan", ".", "--format", "json"], None),
    (["inventory", "."], None),
    (["audit", "show", "--format", "json"], None),
    (["audit", "report", "--format", "json"], None),
    (["audit", "verify", "--format", "json"], None),
    (["secret", "rm", "Canary:Local", "--env", "prod"], None),
    (["secret", "undelete", "Canary:Local", "--env", "prod"], None),
    (["resolve", "--env", "prod", "--reveal", "--format", "json"], None),  # last: revealing
]
REVEALING = {("resolve", "--reveal"), ("secret", "get"), ("run", "--no-mask")}


class Sweep(NamedTuple):
    channels: int  # outputs, files, audit lines and /proc entries searched
    leaks: list[tuple[str, list[str]]]  # where, and which canaries were found there
    broken: list[tuple[tuple[str, ...], int, str]]  # scripted runs that failed unexpectedly


def make_project(root: Path, openbao: BaoServer, moto_server: MotoServer) -> Path:
    """A project whose secrets come from the embedded store, OpenBao and moto_server."""
    prefix = f"canary-{uuid.uuid4().hex[:8]}"  # OpenBao is shared by the whole session
    (root / "env" / "prod").mkdir(parents=True)
    (root.parent / "home").mkdir()
    (root / "vaultline.yaml").write_text(f"""\
version: 1
app: canary
environments:
  prod: {{max_override_ttl: 4h}}
schema:
  Canary:Local: {{secret: true}}
  Canary:Pem: {{secret: true}}
providers:
  bao: {{type: vault, url: "{openbao.url}", mount: kv, prefix: "{prefix}/{{env}}"}}
  aws: {{type: aws-secretsmanager, region: us-east-1, endpoint_url: "{moto_server.endpoint_url}"}}
""")
    (root / "env" / "prod" / "values.yaml").write_text("Logging:Level: Warning\n")
    (root / "env" / "prod" / "secrets.yaml").write_text(
        "Canary:Local: local\nCanary:Pem: local\nCanary:Bao: bao:canary\nCanary:Aws: aws\n")
    openbao.api("POST", f"kv/data/{prefix}/prod/canary", {"data": {"value": CANARY_BAO}})
    return root


def environment(root: Path, openbao: BaoServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VAULTLINE_", "AWS_", "VAULT_", "BAO_"))}
    env.update({"HOME": str(root.parent / "home"), "NO_COLOR": "1", "VAULTLINE_MASTER_KEY": MASTER_KEY,
                "VAULT_TOKEN": openbao.token, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_DEFAULT_REGION": "us-east-1"})
    env.pop("XDG_CONFIG_HOME", None)
    return env


def sweep(project: Path, openbao: BaoServer) -> Sweep:
    """Store the canaries, run every command, and search every channel for them."""
    env = environment(project, openbao)

    def vaultline(argv: list[str], stdin: str | None = None) -> Ran:
        done = subprocess.run([VAULTLINE, *argv], cwd=project, env=env, capture_output=True,
                              input=None if stdin is None else stdin.encode(), timeout=120)
        # latin-1: binary output (ciphertext) is searched byte for byte like text.
        return Ran(tuple(argv), done.returncode, done.stdout.decode("latin-1"),
                   done.stderr.decode("latin-1"))

    assert vaultline(["init"]).code == 0
    for argv, value in [(["secret", "put", "Canary:Local", "--env", "prod"], CANARY_LOCAL),
                        (["secret", "put", "Canary:Pem", "--env", "prod"], PEM),
                        (["secret", "put", "Canary:Aws", "--env", "prod"], CANARY_AWS)]:
        done = vaultline(argv, value)
        assert done.code == 0, done.stderr

    runs = [vaultline(argv, stdin) for argv, stdin in SCRIPTED]
    revealed = runs[-1]
    assert CANARY_BAO in revealed.stdout and CANARY_AWS in revealed.stdout  # the canaries work
    broken = [(ran.argv, ran.code, ran.stderr) for (argv, _), ran in zip(SCRIPTED, runs, strict=True)
              if ran.code != 0 and not _may_fail(argv)]
    # Then every command the script does not run (a command added later, say), built from its
    # parameters, with a canary on stdin for those that read it. They may delete and break
    # things, so they come last.
    paths = list(command_paths())
    assert len(paths) >= 40
    scripted = {tuple(argv[:2]) for argv, _ in SCRIPTED} | {(argv[0],) for argv, _ in SCRIPTED}
    generic = [generic_argv(path, command) for path, command in paths if path not in scripted]
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs += pool.map(lambda argv: vaultline(argv, CANARY_LOCAL), generic)

    leaks: list[tuple[str, list[str]]] = []
    for ran in runs:
        allowed_stored = any(all(word in ran.argv for word in words) for words in REVEALING)
        found = hits(ran.stdout + ran.stderr, CREDENTIALS if allowed_stored else STORED + CREDENTIALS)
        if found:
            leaks.append((" ".join(ran.argv), found))
    channels = 2 * len(runs)
    child, searched = child_leaks(project, env)
    leaks += child
    channels += searched
    files = [f for base in (project, project.parent / "home") for f in base.rglob("*") if f.is_file()]
    for file in files:
        found = hits(file.read_bytes().decode("latin-1"), STORED + CREDENTIALS)
        if found:
            leaks.append((str(file), found))
    audit = (project / ".vaultline" / "audit.log").read_text().splitlines()
    assert len(audit) > 50
    for number, line in enumerate(audit, 1):
        found = hits(line, STORED + CREDENTIALS)
        if found:
            leaks.append((f"audit line {number}", found))
    return Sweep(channels + len(files) + len(audit), leaks, broken)


def _may_fail(argv: list[str]) -> bool:
    """Scripted runs whose failure is the point (a stale --cas) or the check's verdict."""
    return "--cas" in argv or "--mirror" in argv or argv[0] in ("check", "drift") \
        or "KeyError" in argv[-1]


def test_no_canary_anywhere(tmp_path: Path, openbao: BaoServer, moto_server: MotoServer) -> None:
    project = make_project(tmp_path / "project", openbao, moto_server)
    result = sweep(project, openbao)
    assert result.channels > 200
    assert (result.leaks, result.broken) == ([], [])


def child_leaks(project: Path, env: dict[str, str]) -> tuple[list[tuple[str, list[str]]], int]:
    """A running `run` child's /proc environ and cmdline, and vaultline's own cmdline; the
    leaks and how many channels were searched."""
    leaks: list[tuple[str, list[str]]] = []
    searched = 0
    for extra in ([], ["--files", str(project.parent / "files")]):
        proc = subprocess.Popen(
            [VAULTLINE, "run", "--env", "prod", *extra, "--", PY, "-c",
             "import os, sys; print(os.getpid(), flush=True); sys.stdin.readline()"],
            cwd=project, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdin is not None
        child = int(proc.stdout.readline())
        proc_dir = Path(f"/proc/{child}")
        environ = (proc_dir / "environ").read_bytes().decode("latin-1")
        cmdline = (proc_dir / "cmdline").read_bytes().decode("latin-1")
        own = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode("latin-1")
        proc.stdin.write("\n")
        proc.stdin.close()
        assert proc.wait(60) == 0
        # With --files the stored values are in 0600 files, not in the environment.
        in_env = CREDENTIALS + (STORED if extra else ())
        assert "CANARY__LOCAL" in environ or "CANARY__LOCAL_FILE" in environ
        for where, text, canaries in (("child environ", environ, in_env),
                                      ("child cmdline", cmdline, STORED + CREDENTIALS),
                                      ("vaultline cmdline", own, STORED + CREDENTIALS)):
            searched += 1
            found = hits(text, canaries)
            if found:
                leaks.append((f"{where} {extra}", found))
    return leaks, searched
