"""The exit-code contract over every command: 0 ok, 1 findings or runtime failure, 2 usage.

One table of bad-input cases through the real CLI in subprocesses, asserting the exit code
and the first line of stderr. The click tree is enumerated, so every command (and any command
added later) also gets a generic row — an unknown option must be exit 2 with one
``vaultline: error:`` line — and the hand-written rows must name every command known here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import click
import pytest

from tests.factory import make_project, master_key_env
from vaultline.cli._app import cli

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))


class Row(NamedTuple):
    argv: tuple[str, ...]
    code: int
    first_line: str  # a regex searched in the first line of stderr
    stdin: str = ""


def commands() -> list[str]:
    """Every leaf command of the click tree, as ``"keys create"``."""
    ctx = click.Context(cli)

    def walk(group: click.Group, prefix: tuple[str, ...]) -> Iterator[str]:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                yield from walk(command, (*prefix, name))
            elif command is not None and not command.hidden:
                yield " ".join((*prefix, name))

    return list(walk(cli, ()))


NOT_A_DB = "vaultline: error: .*the embedded store is damaged"
ROWS: list[Row] = [
    Row(("nosuch",), 2, r"^vaultline: error: No such command 'nosuch'"),
    # resolution
    Row(("resolve",), 2, r"^vaultline: error: Missing option '-e' / '--env'"),
    Row(("resolve", "--env", "nope"), 2, r"^vaultline: error: unknown environment 'nope'"),
    Row(("resolve", "--env", "prod", "--prefix", "1="), 2,
        r"Invalid value for '--prefix': prefix '1=' cannot start an environment variable"),
    Row(("resolve", "--env", "dev"), 1,
        r"^vaultline: error: 1 key could not be resolved; nothing was output \(store missing "
        r"secrets with 'vaultline secret put"),
    Row(("env", "explain", "Nope", "--env", "prod"), 2, r"^vaultline: error: 'Nope' has no value"),
    Row(("secret", "refs", "--env", "prod", "--format", "external-secret"), 1,
        r"^vaultline: error: no ExternalSecret to write for environment 'prod': its 1 secret"),
    Row(("check", "--env", "nope"), 2, r"^vaultline: error: unknown environment 'nope'"),
    Row(("env", "example", "-o", "/nonexistent/dir/env.example"), 2,
        r"Invalid value for '--output' / '-o': directory '/nonexistent/dir' does not exist"),
    Row(("drift", "--env", "nope"), 2, r"^vaultline: error: "),
    # the store
    Row(("secret", "put", "Jwt:SigningKey"), 2,
        r"^vaultline: error: 'Jwt:SigningKey' is a key, not a reference: pass --env ENV", "v"),
    Row(("secret", "put", "local:nexus-engine/prod/X", "--from-file", "/dev/zero"), 2,
        r"^vaultline: error: /dev/zero: not a regular file \(a device\)"),
    Row(("secret", "get", "local:nexus-engine/prod/Nope"), 1, r"^vaultline: error: .*Nope"),
    Row(("secret", "ls", "--provider", "nope"), 2, r"^vaultline: error: unknown provider 'nope'"),
    Row(("secret", "versions", "local:nexus-engine/prod/Nope"), 1, r"^vaultline: error: .*Nope"),
    Row(("secret", "rm", "local:nexus-engine/prod/Nope"), 1, r"^vaultline: error: .*Nope"),
    Row(("secret", "undelete", "local:nexus-engine/prod/Nope"), 1, r"^vaultline: error: .*Nope"),
    Row(("init", "-C", "fresh", "--app", "demo", "--envs", "a b"), 2,
        r"^vaultline: error: .*vaultline.yaml:\d+: invalid environment name 'a b'"),
    # overrides
    Row(("override", "set", "Logging:Level", "--env", "prod", "--ttl", "99999999y",
         "--reason", "r"), 2, r"Invalid value for '--ttl': duration out of range", "x"),
    Row(("override", "ls", "--env", "nope"), 2, r"^vaultline: error: unknown environment"),
    Row(("override", "revoke", "nope", "--env", "prod"), 2,
        r"^vaultline: error: no override 'nope' in prod"),
    # run and redact
    Row(("run", "--env", "prod", "--files", "/dev/null/dir", "--", "true"), 2,
        r"Invalid value for '--files': cannot create /dev/null/dir: /dev/null is not a directory"),
    Row(("run", "--env", "prod", "--prefix", "1=", "--", "true"), 2,
        r"Invalid value for '--prefix'"),
    Row(("run", "--env", "prod", "--", "/nonexistent/cmd"), 127, r"command not found"),
    Row(("redact",), 2, r"^vaultline: error: Missing option '-e' / '--env'"),
    # scanning and inventory
    Row(("scan", "--since", "v1"), 2, r"^vaultline: error: --since only applies to --history"),
    Row(("scan", "--history", "--since", "nosuchref"), 2,
        r"^vaultline: error: --since 'nosuchref': no such commit, branch or tag"),
    Row(("scan", ".", "--baseline", "bad-baseline.json"), 2,
        r"^vaultline: error: bad-baseline.json: finding 1 is not an object"),
    Row(("scan", ".", "-o", "/nonexistent/dir/report.json"), 2,
        r"directory '/nonexistent/dir' does not exist"),
    Row(("inventory", "/nonexistent"), 2, r"^vaultline: error: /nonexistent: no such file"),
    Row(("inventory", ".", "-o", "/nonexistent/dir/inv.md"), 2,
        r"directory '/nonexistent/dir' does not exist"),
    Row(("policy", "lint", "/nonexistent.hcl"), 2, r"^vaultline: error: "),
    Row(("policy", "lint", "broad.hcl"), 1, r""),
    Row(("policy", "generate", "--env", "prod", "--role", "runtime"), 2, r"^vaultline: error: "),
    # keys
    Row(("keys", "create", "x", "--purpose", "signing", "--alg", "HS256"), 2,
        r"^vaultline: error: algorithm 'HS256' does not fit purpose 'signing'"),
    Row(("keys", "create", "bad name/x", "--purpose", "signing"), 2,
        r"^vaultline: error: invalid key ring name 'bad name/x'"),
    Row(("keys", "create", "k", "--backend", "kms", "--purpose", "signing", "--alg", "EdDSA"),
        2, r"^vaultline: error: the kms backend has no key spec for EdDSA"),
    Row(("keys", "jwks", "hm"), 2, r"^vaultline: error: key ring 'hm' is a hmac ring"),
    Row(("keys", "list", "nope"), 1, r"^vaultline: error: no key ring 'nope'"),
    Row(("keys", "stage", "nope"), 1, r"^vaultline: error: no key ring 'nope'"),
    Row(("keys", "promote", "sig"), 1, r"^vaultline: error: key ring 'sig' has no staged"),
    Row(("keys", "rotate", "nope"), 1, r"^vaultline: error: no key ring 'nope'"),
    Row(("keys", "retire", "sig", "--version", "1"), 1,
        r"^vaultline: error: version 1 is the primary of 'sig'"),
    Row(("keys", "destroy", "sig", "--version", "1"), 2, r"^vaultline: error: .*--yes"),
    Row(("keys", "status", "--env", "nope"), 2, r"^vaultline: error: "),
    Row(("keys", "sign", "nope"), 1, r"^vaultline: error: no key ring 'nope'", "{}"),
    Row(("keys", "sign", "sig"), 2, r"^vaultline: error: ", "not json"),
    Row(("keys", "verify", "sig"), 1, r"accept it with --audience AUD", "<token with aud>"),
    Row(("keys", "verify", "sig"), 2, r"^vaultline: error: no token given"),
    Row(("keys", "encrypt", "enc", "--out", "/nonexistent/dir/x.vlt"), 2,
        r"directory '/nonexistent/dir' does not exist", "data"),
    Row(("keys", "decrypt", "enc"), 1, r"^vaultline: error: not a vaultline encrypted blob", "garbage"),
    Row(("keys", "rewrap", "enc"), 1, r"^vaultline: error: not a vaultline encrypted blob", "garbage"),
    # audit
    Row(("audit", "show", "--since", "yesterday"), 2,
        r"^vaultline: error: --since 'yesterday' is neither a duration"),
    Row(("audit", "report", "--check"), 1, r""),
    Row(("audit", "verify", "--anchor", "/nonexistent"), 2, r"^vaultline: error: "),
    Row(("audit", "restart"), 2, r"^vaultline: error: Missing option '--reason'"),
    Row(("audit", "anchor", "--to", "nope:x"), 2, r"^vaultline: error: unknown provider 'nope'"),
    # overrides: the two-person rule
    Row(("override", "request", "Nope:Key", "--env", "prod", "--ttl", "1h", "--reason", "r",
         "--ticket", "T-1"), 2, r"^vaultline: error: Nope:Key is not a key of prod", "x"),
    Row(("override", "approve", "nope", "--env", "prod"), 2,
        r"^vaultline: error: no override 'nope' in prod"),
    Row(("secret", "rollback", "local:nexus-engine/prod/Nope", "--to", "1"), 1,
        r"^vaultline: error: no secret at nexus-engine/prod/Nope"),
    # integrations and templates
    Row(("shell", "completion", "tcsh"), 2, r"'tcsh' is not one of 'bash', 'zsh', 'fish'"),
    Row(("shell", "direnv", "--env", "nope"), 2, r"^vaultline: error: unknown environment 'nope'"),
    Row(("env", "diff", "--env", "prod"), 2, r"^vaultline: error: give exactly two environments"),
    Row(("render", "/nonexistent.tmpl", "-o", "out", "--env", "prod"), 2,
        r"Invalid value for 'TEMPLATE': File '/nonexistent.tmpl' does not exist"),
    # rotation
    Row(("rotate", "plan", "Nope:Key", "--env", "prod"), 2,
        r"^vaultline: error: 'Nope:Key' has no entry under 'rotate:'"),
    Row(("rotate", "run", "Nope:Key", "--env", "prod"), 2,
        r"^vaultline: error: 'Nope:Key' has no entry under 'rotate:'"),
    Row(("rotate", "verify", "Nope:Key", "--env", "prod"), 2,
        r"^vaultline: error: 'Nope:Key' has no entry under 'rotate:'"),
    Row(("rotate", "status", "--env", "nope"), 2, r"^vaultline: error: unknown environment"),
    Row(("rotate", "abort", "nope", "--env", "prod"), 1, r"^vaultline: error: no rotation 'nope'"),
    Row(("rotate", "resume", "nope", "--env", "prod"), 1, r"^vaultline: error: no rotation 'nope'"),
    Row(("rotate", "retire", "Nope:Key", "--env", "prod"), 1,
        r"^vaultline: error: Nope:Key has nothing to retire in prod"),
    Row(("rotate", "promote", "Nope:Key", "--from", "dev", "--to", "prod"), 1,
        r"^vaultline: error: Nope:Key has no finished rotation in dev"),
    Row(("rotate", "runbook", "--env", "nope"), 2, r"^vaultline: error: unknown environment 'nope'"),
    # old names of moved commands: the same codes and first error line (the warning skipped)
    Row(("put", "Jwt:SigningKey"), 2,
        r"^vaultline: error: 'Jwt:SigningKey' is a key, not a reference: pass --env ENV", "v"),
    Row(("sign", "nope"), 1, r"^vaultline: error: no key ring 'nope'", "{}"),
    Row(("runbook", "--env", "nope"), 2, r"^vaultline: error: unknown environment 'nope'"),
]


def test_init_with_a_bad_name_leaves_nothing(project: tuple[Path, dict[str, str]]) -> None:
    root, _ = project
    done = _run(project, Row(("init", "-C", "fresh2", "--app", "demo", "--envs", "a b"), 2, ""))
    assert done.returncode == 2 and not (root / "fresh2" / "vaultline.yaml").exists()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One project for every row: rows are bad input, so none of them changes it."""
    root = tmp_path_factory.mktemp("exit-codes")
    environ = {**os.environ, **master_key_env(), "NO_COLOR": "1", "HOME": str(root / "home")}
    make_project(root, {
        "env/dev/secrets.yaml": "ConnectionStrings:Primary: local\n",
        "bad-baseline.json": '{"version": 1, "findings": [1]}\n',
        "broad.hcl": 'path "secret/*" {\n  capabilities = ["read"]\n}\n',
    }, environ=environ)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([VAULTLINE, "secret", "put", "local:nexus-engine/prod/ConnectionStrings/Primary"],
                   cwd=root, env=environ, input="postgres://db", text=True, check=True,
                   capture_output=True)
    for argv in (["keys", "create", "sig", "--purpose", "signing"],
                 ["keys", "create", "hm", "--purpose", "hmac"],
                 ["keys", "create", "enc", "--purpose", "encryption"],
                 ["secret", "get", "local:nexus-engine/prod/Nope"]):  # a failed reveal: a report finding
        subprocess.run([VAULTLINE, *argv], cwd=root, env=environ, capture_output=True)
    token = subprocess.run([VAULTLINE, "keys", "sign", "sig"], cwd=root, env=environ, text=True,
                           input=json.dumps({"sub": "a", "aud": "api"}), capture_output=True)
    assert token.returncode == 0, token.stderr
    environ["TOKEN_WITH_AUD"] = token.stdout.strip()
    return root, environ


def _run(project: tuple[Path, dict[str, str]], row: Row) -> subprocess.CompletedProcess[str]:
    root, environ = project
    stdin = environ["TOKEN_WITH_AUD"] if row.stdin == "<token with aud>" else row.stdin
    return subprocess.run([VAULTLINE, *row.argv], cwd=root, env=environ, input=stdin,
                          text=True, capture_output=True, timeout=60)


def _first_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if not line.startswith("vaultline: warn")]
    return lines[0] if lines else ""


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r.argv) for r in ROWS])
def test_bad_input_row(project: tuple[Path, dict[str, str]], row: Row) -> None:
    done = _run(project, row)
    assert "Traceback" not in done.stderr
    assert done.returncode == row.code, done.stderr
    assert re.search(row.first_line, _first_line(done)), done.stderr
    if row.code == 2:
        assert _first_line(done).startswith("vaultline: error: ")


@pytest.mark.parametrize("command", commands())
def test_every_command_refuses_an_unknown_option(project: tuple[Path, dict[str, str]],
                                                 command: str) -> None:
    done = _run(project, Row((*command.split(), "--no-such-option"), 2, ""))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("vaultline: error: ")
    if command != "run":  # run passes unknown options on to its command; --env is missing
        assert "No such option '--no-such-option'" in done.stderr


def test_every_command_has_a_row() -> None:
    covered = {" ".join(row.argv[:2]) for row in ROWS} | {row.argv[0] for row in ROWS}
    assert [c for c in commands() if c not in covered] == []


@pytest.mark.parametrize("argv", [
    ("resolve", "--env", "prod"),
    ("resolve", "--env", "prod", "--format", "json"),
    ("secret", "refs", "--env", "prod"),
    ("audit", "show"),
    ("redact", "--env", "prod"),
    ("keys", "jwks", "sig"),
])
def test_a_closed_pipe_ends_quietly(project: tuple[Path, dict[str, str]], tmp_path: Path,
                                    argv: tuple[str, ...]) -> None:
    """`vaultline audit show | head -1`: the reader left; exit 0 and nothing on stderr."""
    root, environ = project
    feed = tmp_path / "in.txt"
    feed.write_text("postgres://db line\n" * 50_000)
    with feed.open("rb") as stdin:
        proc = subprocess.Popen([VAULTLINE, *argv], cwd=root, env=environ, stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # before the command writes: every write meets a closed pipe
        _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err.decode()) == (0, "")
