"""Every kind of problem `vaultline check` reports, one project per case."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from tests.factory import make_project
from vaultline.check.gate import Finding, run_checks
from vaultline.check.validate import check_format
from vaultline.findings import Severity
from vaultline.output import envexample
from vaultline.project.model import Project
from vaultline.resolve.session import Session
from vaultline.store import EmbeddedStore


def pem(key: object) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
                             serialization.NoEncryption()).decode()


def certificate(days: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nexus")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=400))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("pem-private-key", pem(ed25519.Ed25519PrivateKey.generate()), []),
        ("pem-private-key", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", [Severity.ERROR]),
        ("pem-certificate", certificate(365), []),
        ("pem-certificate", certificate(10), [Severity.WARNING]),
        ("pem-certificate", certificate(-3), [Severity.ERROR]),
        ("pem-certificate", "hello", [Severity.ERROR]),
        ("jwt-key", pem(ec.generate_private_key(ec.SECP256R1())), []),
        ("jwt-key", pem(rsa.generate_private_key(65537, 1024)), [Severity.ERROR]),
        ("jwt-key", "x" * 32, []),
        ("jwt-key", "short-hmac", [Severity.ERROR]),
        ("url", "https://issuer.example/", []),
        ("url", "issuer.example", [Severity.ERROR]),
        ("postgres-url", "postgresql://app:pw@db:5432/app", []),
        ("postgres-url", "mysql://app:pw@db/app", [Severity.ERROR]),
        ("regex:sk-[a-z0-9]{8}", "sk-abcd1234", []),
        ("regex:sk-[a-z0-9]{8}", "pk-abcd1234", [Severity.ERROR]),
        ("nonsense", "zzz-value", [Severity.ERROR]),
    ],
)
def test_formats(fmt: str, value: str, expected: list[str]) -> None:
    problems = check_format(fmt, value)
    assert [p.severity for p in problems] == expected
    for problem in problems:
        assert value not in problem.message


def test_a_format_regex_that_backtracks_is_a_problem_not_a_hang(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from vaultline.check import validate

    monkeypatch.setattr(validate, "FORMAT_REGEX_TIMEOUT", 0.2)
    value = "a" * 40 + "!"  # 2**40 ways for (a+)+ to split the a's before the '!' fails
    problems = check_format("regex:(a+)+$", value)
    assert [p.severity for p in problems] == [Severity.ERROR]
    assert "format regex ran for more than 0.2 s on the value and was stopped" in problems[0].message
    assert value not in problems[0].message


@pytest.fixture
def root(tmp_path: Path, master_key: dict[str, str]) -> Path:
    make_project(tmp_path, {
        "vaultline.yaml": """
            app: nexus-engine
            environments:
              dev: {}
              prod: {protected: true, max_override_ttl: 4h}
            schema:
              ConnectionStrings:Primary: {secret: true, required: true, format: postgres-url}
              Jwt:SigningKey: {secret: true, format: jwt-key}
              Jwt:Issuer: {required: true, format: url}
            providers:
              dotfile: {type: dotenv, path: missing.env}
        """,
        "env/prod/values.yaml": "Jwt:Issuer: https://issuer/\n",
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: local\nJwt:SigningKey: local\n",
        ".gitignore": ".vaultline/\n.env\n.env.*\n",
    }, environ=master_key)
    store = EmbeddedStore.open(tmp_path / ".vaultline")
    store.put("nexus-engine/prod/ConnectionStrings/Primary", b"postgres://app:pw@db/app")
    store.put("nexus-engine/prod/Jwt/SigningKey", pem(ed25519.Ed25519PrivateKey.generate()).encode())
    store.close()
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / envexample.FILE_NAME).write_text(envexample.render(Project.load(tmp_path)))
    return tmp_path


def checked(root: Path) -> list[Finding]:
    with Session(Project.load(root), "prod") as session:
        return list(run_checks(session, "prod"))


def findings(root: Path) -> list[tuple[str, str, str]]:
    return [(f.check, f.severity, f.key) for f in checked(root)]


def test_clean_project_passes(root: Path) -> None:
    assert findings(root) == []


def test_unresolvable_and_bad_format(root: Path) -> None:
    store = EmbeddedStore.open(root / ".vaultline")
    store.put("nexus-engine/prod/ConnectionStrings/Primary", b"mysql://nope")
    store.delete("nexus-engine/prod/Jwt/SigningKey")
    store.close()
    assert findings(root) == [("format postgres-url", Severity.ERROR, "ConnectionStrings:Primary"),
                              ("resolvable", Severity.ERROR, "Jwt:SigningKey")]


def test_unreachable_provider(root: Path) -> None:
    (root / "env/prod/secrets.yaml").write_text(
        "ConnectionStrings:Primary: local\nJwt:SigningKey: local\nSmtp:Password: dotfile:SMTP\n")
    (root / envexample.FILE_NAME).write_text(envexample.render(Project.load(root)))
    assert ("provider", Severity.ERROR, "dotfile") in findings(root)


def test_override_outside_policy(root: Path) -> None:
    import json

    now = dt.datetime.now(dt.UTC)
    record = {"id": "abcd1234", "env": "prod", "key": "Jwt:Issuer", "value": "https://x/",
              "secret": False, "created": now.isoformat(),
              "expires": (now + dt.timedelta(hours=9)).isoformat(), "actor": "mallory",
              "reason": "", "approved_by": "", "ticket": "", "state": "active"}
    store = EmbeddedStore.open(root / ".vaultline")  # written behind the CLI's back
    store.records("overrides").put("prod/abcd1234", json.dumps(record).encode())
    store.records("overrides").put("prod/0bad", b"{truncated")
    store.close()
    assert findings(root) == [("override", Severity.ERROR, "Jwt:Issuer"), ("override", Severity.ERROR, "Jwt:Issuer"),
                              ("override", Severity.ERROR, "prod")]


def test_gitignore_and_tracked_env(root: Path) -> None:
    (root / ".gitignore").write_text("node_modules/\n")
    (root / ".env").write_text("A=1\n")
    subprocess.run(["git", "-C", str(root), "add", ".env"], check=True)
    result = findings(root)
    assert ("gitignore", Severity.ERROR, ".env") in result
    assert ("gitignore", Severity.ERROR, ".env*") in result
    assert ("gitignore", Severity.ERROR, ".vaultline/") in result


def test_the_gitignore_check_runs_nothing_the_repository_configures(root: Path) -> None:
    (root / ".gitignore").write_text("node_modules/\n")
    (root / ".env").write_text("A=1\n")
    subprocess.run(["git", "-C", str(root), "add", ".env"], check=True)
    marker, program = root / ".git" / "marker", root / ".git" / "program"
    program.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    program.chmod(0o755)
    for key in ("core.fsmonitor", "core.hooksPath", "core.pager", "diff.external"):
        subprocess.run(["git", "-C", str(root), "config", key, str(program)], check=True)
    result = findings(root)
    assert not marker.exists()
    assert ("gitignore", Severity.ERROR, ".env") in result  # git still answered


def test_a_git_that_makes_no_progress_is_a_finding_not_a_hang(root: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    index = root / ".git" / "index"
    subprocess.run(["git", "-C", str(root), "add", ".gitignore"], check=True)
    index.unlink()
    os.mkfifo(index)  # no writer: git's open() of it never returns
    monkeypatch.setenv("VAULTLINE_GIT_TIMEOUT", "1")
    problems = [f for f in checked(root) if f.check == "gitignore"]
    assert [(f.severity, f.key) for f in problems] == [(Severity.ERROR, ".gitignore")]
    assert "not checked: git ls-files wrote nothing for 1 s" in problems[0].problem


def test_env_example_out_of_sync(root: Path) -> None:
    path = root / envexample.FILE_NAME
    path.write_text(path.read_text().replace("JWT__ISSUER=\n", "") + "LEGACY_TOKEN=\n")
    assert findings(root) == [("env.example", Severity.ERROR, "JWT__ISSUER"),
                              ("env.example", Severity.ERROR, "LEGACY_TOKEN")]
    path.unlink()
    assert findings(root) == [("env.example", Severity.ERROR, "env.example")]


def test_rotation_overdue_and_due(root: Path) -> None:
    from vaultline.keys import KeyManager

    with (root / "vaultline.yaml").open("a") as handle:
        handle.write("rotation:\n  signing:\n    prod: 90d\n  hmac:\n    default: {every: 30d, overdue_after: 5d}\n")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    with KeyManager.from_project(Project.load(root), audit=False, clock=lambda: past) as keys:
        keys.create("api-tokens", purpose="signing", alg="EdDSA", env="prod")
        keys.create("other-env", purpose="signing", alg="EdDSA", env="dev")
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(days=32)
    with KeyManager.from_project(Project.load(root), audit=False, clock=lambda: recent) as keys:
        keys.create("webhooks", purpose="hmac", alg="HS256")
    assert findings(root) == [("rotation", Severity.ERROR, "api-tokens"), ("rotation", Severity.WARNING, "webhooks")]


GITHUB_TOKEN = "ghp_R8aK2mQ9xL4vT7nB3cZ6wY1pF5sD0hJgE2uW"
STRIPE_KEY = "sk_live_51HxQ2eLkR9vT3mN8pW4yZ7aB"


@pytest.mark.parametrize(("file", "text", "key", "line"), [
    ("env/prod/values.yaml", f"Jwt:Issuer: https://issuer/\nGithub:Token: {GITHUB_TOKEN}\n",
     "Github:Token", 2),
    ("env/prod/values.yaml", f"Jwt:Issuer: https://issuer/\nPayments:\n  Stripe: {STRIPE_KEY}\n",
     "Payments:Stripe", 3),
    ("vaultline.yaml", None, "Github:Token", 10),
])
def test_committed_credentials(root: Path, file: str, text: str | None, key: str,
                               line: int) -> None:
    path = root / file
    if text is None:  # in defaults of vaultline.yaml
        text = path.read_text().replace("providers:", f"defaults:\n  Github:Token: {GITHUB_TOKEN}"
                                        "\nproviders:")
    path.write_text(text)
    (root / envexample.FILE_NAME).write_text(envexample.render(Project.load(root)))
    with Session(Project.load(root), "prod") as session:
        found = [f for f in run_checks(session, "prod") if f.check == "committed secret"]
    assert [(f.severity, f.key) for f in found] == [(Severity.ERROR, key)]
    assert found[0].problem.startswith(f"{file}:{line}: looks like a credential (")
    assert GITHUB_TOKEN not in found[0].problem and STRIPE_KEY not in found[0].problem
    assert "ghp_" not in found[0].problem and "sk_live" not in found[0].problem


def test_other_environments_values_are_not_this_one_s(root: Path) -> None:
    (root / "env/dev").mkdir()
    (root / "env/dev/values.yaml").write_text(f"Github:Token: {GITHUB_TOKEN}\n")
    (root / envexample.FILE_NAME).write_text(envexample.render(Project.load(root)))
    assert findings(root) == []
