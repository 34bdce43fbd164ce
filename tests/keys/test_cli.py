"""The keys CLI through real subprocesses: output, exit codes, never key material."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factory import fifo_reader
from vaultline import KeyManager, Project
from vaultline.store import EmbeddedStore

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
PROJECT = """\
version: 1
app: nexus-engine
environments: [dev, prod]
rotation:
  grace: 1d
  jwt:
    prod: {every: 1d, grace: 1d}
"""


def run(root: Path, environ: dict[str, str], *args: str, stdin: bytes = b"",
        extra: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTLINE_")}
    env.update(environ)
    env.update(extra or {})
    env["HOME"] = str(root)
    return subprocess.run([VAULTLINE, *args], cwd=root, env=env, input=stdin,
                          capture_output=True, timeout=timeout)


@pytest.fixture
def project(store: EmbeddedStore) -> Path:
    root = store.directory.parent
    (root / "vaultline.yaml").write_text(PROJECT)
    return root


def test_sign_verify_and_exit_codes(project: Path, environ: dict[str, str]) -> None:
    created = run(project, environ, "keys", "create", "api", "--purpose", "signing", "--alg",
                  "ES256", "--class", "jwt", "--env", "prod")
    assert created.returncode == 0, created.stderr
    assert b"version 1, kid" in created.stdout
    signed = run(project, environ, "keys", "sign", "api", "--ttl", "15m",
                 stdin=b'{"sub": "svc-a", "aud": "api"}')
    assert signed.returncode == 0, signed.stderr
    token = signed.stdout.strip()
    verified = run(project, environ, "keys", "verify", "api", "--audience", "api", stdin=token)
    assert verified.returncode == 0, verified.stderr
    claims = json.loads(verified.stdout)
    assert claims["sub"] == "svc-a" and claims["exp"] - claims["iat"] == 900

    bad = run(project, environ, "keys", "verify", "api", "--audience", "api", stdin=token[:-4] + b"AAAA")
    assert bad.returncode == 1 and bad.stderr.startswith(b"vaultline: error: token rejected")
    wrong_aud = run(project, environ, "keys", "verify", "api", "--audience", "web", stdin=token)
    assert wrong_aud.returncode == 1 and b"audience" in wrong_aud.stderr
    not_json = run(project, environ, "keys", "sign", "api", stdin=b"{nope")
    assert not_json.returncode == 2 and b"not JSON" in not_json.stderr
    endless = run(project, environ, "keys", "sign", "api", stdin=b'{"sub": "a", "exp": 1e400}')
    assert endless.returncode == 2 and b"past the range of a float" in endless.stderr
    assert endless.stdout == b""

    jwks = run(project, environ, "keys", "jwks", "api")
    assert jwks.returncode == 0
    keys = json.loads(jwks.stdout)["keys"]
    assert len(keys) == 1 and "d" not in keys[0]

    status = run(project, environ, "keys", "status", "--format", "json")
    assert json.loads(status.stdout)[0]["state"] == "ok"
    listed = run(project, environ, "keys", "list", "api", "--format", "json")
    assert "material" not in listed.stdout.decode() and "ref" not in listed.stdout.decode()
    audit = run(project, environ, "audit", "show", "--format", "json")
    if audit.returncode == 0:  # the audit CLI is another part's; check what it recorded
        assert b"key.create" in audit.stdout and b"key.sign" in audit.stdout


def test_encrypt_decrypt_rewrap_files_and_exit_codes(project: Path,
                                                     environ: dict[str, str]) -> None:
    assert run(project, environ, "keys", "create", "payloads", "--purpose",
               "encryption").returncode == 0
    data = os.urandom(300_000)
    (project / "plain.bin").write_bytes(data)
    enc = run(project, environ, "keys", "encrypt", "payloads", "--context", "tenant=t1",
              "--in", "plain.bin", "--out", "sealed.vlt")
    assert enc.returncode == 0, enc.stderr
    assert stat.S_IMODE((project / "sealed.vlt").stat().st_mode) == 0o600
    dec = run(project, environ, "keys", "decrypt", "payloads", "--context", "tenant=t1",
              stdin=(project / "sealed.vlt").read_bytes())
    assert dec.returncode == 0 and dec.stdout == data

    wrong = run(project, environ, "keys", "decrypt", "payloads", "--context", "tenant=t2",
                "--in", "sealed.vlt", "--out", "out.bin")
    assert wrong.returncode == 1 and b"failed authentication" in wrong.stderr
    assert not (project / "out.bin").exists()
    assert not list(project.glob(".out.bin.*"))  # no partial plaintext left behind

    assert run(project, environ, "keys", "rotate", "payloads").returncode == 0
    moved = run(project, environ, "keys", "rewrap", "payloads", "--in", "sealed.vlt", "--out", "new.vlt")
    assert moved.returncode == 0, moved.stderr
    assert run(project, environ, "keys", "retire", "payloads").returncode == 0
    old = run(project, environ, "keys", "decrypt", "payloads", "--context", "tenant=t1", "--in",
              "sealed.vlt")
    assert old.returncode == 1 and b"retired" in old.stderr
    new = run(project, environ, "keys", "decrypt", "payloads", "--context", "tenant=t1", "--in",
              "new.vlt", "--out", "back.bin")
    assert new.returncode == 0 and (project / "back.bin").read_bytes() == data
    destroyed = run(project, environ, "keys", "destroy", "payloads", "--version", "1")
    assert destroyed.returncode == 2 and b"--yes" in destroyed.stderr
    assert run(project, environ, "keys", "destroy", "payloads", "--version", "1",
               "--yes").returncode == 0


def test_rotate_due_twice_rotates_once_and_config_errors(project: Path,
                                                        environ: dict[str, str]) -> None:
    assert run(project, environ, "keys", "create", "jwt-prod", "--purpose", "signing",
               "--class", "jwt", "--env", "prod").returncode == 0
    first = run(project, environ, "keys", "rotate", "--due")
    assert first.returncode == 0 and first.stdout.strip() == b"nothing is due"
    both = run(project, environ, "keys", "rotate", "jwt-prod", "--due")
    assert both.returncode == 2
    # A ring created two days ago under a daily period is due; the version the first run
    # makes is seconds old, so the second run finds nothing (no waiting on the real clock).
    from datetime import UTC, datetime, timedelta

    from vaultline.keys import KeyManager
    from vaultline.project.model import Project

    created = datetime.now(UTC) - timedelta(days=2)
    with KeyManager.from_project(Project.load(project), clock=lambda: created,
                                 environ=environ) as manager:
        manager.create("jwt-old", purpose="signing", key_class="jwt", env="prod")
    once = run(project, environ, "keys", "rotate", "--due")
    again = run(project, environ, "keys", "rotate", "--due")
    assert once.stdout.startswith(b"rotated jwt-old: version 2"), once.stderr
    assert again.stdout.strip() == b"nothing is due"
    (project / "vaultline.yaml").write_text(PROJECT.replace("every: 1d", "every: later"))
    bad = run(project, environ, "keys", "status")
    assert bad.returncode == 2 and b"vaultline.yaml:7: rotation.jwt.prod.every" in bad.stderr


def test_out_to_a_device_writes_to_it_and_never_replaces_it(project: Path,
                                                            environ: dict[str, str]) -> None:
    assert run(project, environ, "keys", "create", "p", "--purpose", "encryption").returncode == 0
    fifo = project / "pipe"
    os.mkfifo(fifo)
    with fifo_reader(fifo) as received:
        done = run(project, environ, "keys", "encrypt", "p", "--out", str(fifo), stdin=b"data")
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode) and b"".join(received)[:4] == b"VLS\x01"


@pytest.mark.parametrize("verb", ["encrypt", "decrypt", "rewrap"])
def test_out_to_a_fifo_nobody_reads_is_an_error_not_a_hang(
        project: Path, environ: dict[str, str], verb: str) -> None:
    assert run(project, environ, "keys", "create", "p", "--purpose", "encryption").returncode == 0
    sealed = run(project, environ, "keys", "encrypt", "p", stdin=b"data").stdout
    os.mkfifo(project / "pipe")
    done = run(project, environ, "keys", verb, "p", "--out", "pipe",
               stdin=b"data" if verb == "encrypt" else sealed, timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode().splitlines() == [
        "vaultline: error: pipe: cannot write: a FIFO with no reader"]


def test_a_grace_that_is_not_a_duration_is_a_usage_error(project: Path,
                                                         environ: dict[str, str]) -> None:
    run(project, environ, "keys", "create", "hooks", "--purpose", "hmac", "--alg", "HS256")
    for command in (("keys", "rotate", "hooks"), ("keys", "promote", "hooks")):
        result = run(project, environ, *command, "--grace", "soon")
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(b"vaultline: error: --grace: not a duration: 'soon'")
        assert b"Traceback" not in result.stderr


def in_this_tree(root: Path, environ: dict[str, str], *args: str,
                 stdin: bytes = b"", extra: dict[str, str] | None = None,
                 ) -> subprocess.CompletedProcess[bytes]:
    """``vaultline ARGS`` run from this source tree (not an installed console script)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTLINE_")}
    env.update(environ, **(extra or {}), HOME=str(root),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    code = "import sys; from vaultline.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=root, env=env, input=stdin,
                          capture_output=True, timeout=60)


@pytest.mark.parametrize("command", ["decrypt", "rewrap"])
def test_a_blob_larger_than_the_file_limit_is_refused_before_it_fills_memory(
        project: Path, environ: dict[str, str], command: str) -> None:
    created = in_this_tree(project, environ, "keys", "create", "payloads", "--purpose",
                           "encryption")
    assert created.returncode == 0, created.stderr
    limit = {"VAULTLINE_MAX_FILE_SIZE": "64KiB"}
    huge = b"VLE\x01" + bytes(1024 * 1024)  # a blob header, then more than the limit
    result = in_this_tree(project, environ, "keys", command, "payloads", "--out", "out",
                          stdin=huge, extra=limit)
    assert result.returncode == 2, result.stderr
    assert b"the encrypted blob is larger than the limit of 64 KiB" in result.stderr
    assert not (project / "out").exists()
    # a blob within the limit is read as before
    with KeyManager.from_project(Project.load(project, environ=environ)) as keys:
        blob = bytes(keys.ring("payloads").encrypt(b"plain"))
    within = in_this_tree(project, environ, "keys", "decrypt", "payloads", stdin=blob,
                          extra=limit)
    assert (within.returncode, within.stdout) == (0, b"plain"), within.stderr
