"""The core commands end to end, through real subprocesses, as a user runs them."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nexus-engine"
PRIMARY = "postgres://app:s3cret-canary@db/app"


class Cli:
    def __init__(self, root: Path, home: Path):
        self.root = root
        self.env = {**os.environ, "HOME": str(home), "NO_COLOR": "1"}
        self.env.pop("VAULTLINE_MASTER_KEY", None)
        self.env.pop("XDG_CONFIG_HOME", None)

    def __call__(self, *args: str, stdin: str | None = None,
                 extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([VAULTLINE, *args], cwd=self.root, input=stdin, text=True,
                              capture_output=True, env={**self.env, **(extra_env or {})},
                              timeout=60)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    root = tmp_path / "nexus"
    shutil.copytree(EXAMPLE, root)
    run = Cli(root, tmp_path / "home")
    result = run("init")
    assert result.returncode == 0, result.stderr
    assert "master key:" in result.stdout and str(tmp_path / "home") in result.stdout
    return run


def put_all(cli: Cli, env: str = "prod") -> None:
    assert cli("secret", "put", f"local:nexus-engine/{env}/ConnectionStrings/Primary", stdin=PRIMARY).returncode == 0
    assert cli("secret", "put", "AI:OpenAI:ApiKey", "--env", env, stdin="sk-canary-key\n").returncode == 0
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    assert cli("secret", "put", "Jwt:SigningKey", "--env", env, stdin=pem).returncode == 0


def test_issue_walkthrough(cli: Cli) -> None:
    put_all(cli)
    table = cli("resolve", "--env", "prod")
    assert table.returncode == 0, table.stderr
    assert "s3cret-canary" not in table.stdout and "sk-canary" not in table.stdout
    line = next(row for row in table.stdout.splitlines() if row.startswith("ConnectionStrings:Primary"))
    assert "********" in line and "secrets" in line and "local" in line

    revealed = cli("resolve", "--env", "prod", "--format", "json", "--reveal")
    bundle = json.loads(revealed.stdout)
    assert bundle["ConnectionStrings"]["Primary"] == PRIMARY
    assert bundle["AI"]["OpenAI"]["ApiKey"] == "sk-canary-key"
    assert bundle["Logging"]["LogLevel"]["Default"] == "Warning"
    assert bundle["Http"]["TimeoutSeconds"] == 30

    explained = cli("env", "explain", "Logging:LogLevel:Default", "--env", "prod", "--format", "json")
    candidates = json.loads(explained.stdout)["candidates"]
    assert [(c["status"], c["layer"], c["value"]) for c in candidates] == [
        ("winner", "env-pack", "Warning"), ("shadowed", "defaults", "Information")]
    secret = cli("env", "explain", "ConnectionStrings:Primary", "--env", "prod")
    assert secret.returncode == 0 and "s3cret" not in secret.stdout and "winner" in secret.stdout

    refs = json.loads(cli("secret", "refs", "--env", "prod", "--format", "json").stdout)
    assert {r["key"]: r["path"] for r in refs}["ConnectionStrings:Primary"] == \
        "nexus-engine/prod/ConnectionStrings/Primary"

    env_lines = cli("resolve", "--env", "prod", "--format", "env", "--reveal").stdout.splitlines()
    assert f"CONNECTIONSTRINGS__PRIMARY={PRIMARY}" in env_lines


def test_missing_secrets_print_nothing_and_list_every_key(cli: Cli) -> None:
    result = cli("resolve", "--env", "dev", "--format", "json", "--reveal")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("vaultline: error: 3 keys could not be resolved")
    for key in ("ConnectionStrings:Primary", "AI:OpenAI:ApiKey", "Jwt:SigningKey"):
        assert key in result.stderr
    assert "Traceback" not in result.stderr


def test_store_commands(cli: Cli) -> None:
    ref = "local:nexus-engine/dev/Api/Key"
    assert cli("secret", "put", ref, stdin="one").stdout.strip() == f"{ref}: version 1"
    assert cli("secret", "put", ref, "--cas", "1", stdin="two").returncode == 0
    conflict = cli("secret", "put", ref, "--cas", "1", stdin="three")
    assert conflict.returncode == 1 and "check-and-set failed" in conflict.stderr
    assert cli("secret", "get", ref).stdout == "two\n"
    assert cli("secret", "get", ref, "--version", "1").stdout == "one\n"
    assert json.loads(cli("secret", "ls", "nexus-engine/dev", "--format", "json").stdout) == ["nexus-engine/dev/Api/Key"]
    assert cli("secret", "rm", ref).returncode == 0
    assert cli("secret", "get", ref).returncode == 1
    assert cli("secret", "undelete", ref).returncode == 0
    assert cli("secret", "get", ref).stdout == "two\n"
    assert cli("secret", "rm", ref, "--versions", "1", "--destroy").returncode == 0
    states = json.loads(cli("secret", "versions", ref, "--format", "json").stdout)
    assert [(s["version"], s["destroyed"]) for s in states] == [(1, True), (2, False)]


def test_values_never_come_from_argv(cli: Cli) -> None:
    empty = cli("secret", "put", "local:a/b", stdin="")
    assert empty.returncode == 2 and "no value given: pipe it on stdin" in empty.stderr
    extra = cli("secret", "put", "local:a/b", "the-value", stdin="x")
    assert extra.returncode == 2


def test_from_file(cli: Cli) -> None:
    secret_file = cli.root / "value.txt"
    secret_file.write_text("file-value\n")
    assert cli("secret", "put", "local:a/b", "--from-file", str(secret_file)).returncode == 0
    assert cli("secret", "get", "local:a/b").stdout == "file-value\n"


def test_wrong_master_key_is_one_line_exit_2(cli: Cli) -> None:
    put_all(cli)
    wrong = base64.b64encode(os.urandom(32)).decode()
    result = cli("resolve", "--env", "prod", extra_env={"VAULTLINE_MASTER_KEY": wrong})
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "does not open the store" in result.stderr


def test_bad_config_is_one_line_with_file_and_line(cli: Cli) -> None:
    (cli.root / "env/prod/secrets.yaml").write_text("ConnectionStrings:Primary: hashicorp:x\n")
    result = cli("resolve", "--env", "prod")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "vaultline: error: env/prod/secrets.yaml:1: 'ConnectionStrings:Primary': unknown provider "
        "'hashicorp'; configure it under 'providers' in vaultline.yaml or use one of local, env, "
        "file, dotenv")


def test_unknown_env_and_usage_errors(cli: Cli) -> None:
    assert cli("resolve", "--env", "nope").returncode == 2
    assert cli("resolve").returncode == 2
    assert cli("resolve", "--env", "prod", "--format", "xml").returncode == 2


@pytest.mark.parametrize("command", ["init", "secret put", "secret get", "secret ls",
                                     "secret versions", "secret rm", "secret undelete",
                                     "secret refs", "resolve", "env explain", "env diff",
                                     "env example", "shell completion", "shell direnv"])
def test_help_has_an_example(command: str, tmp_path: Path) -> None:
    result = subprocess.run([VAULTLINE, *command.split(), "--help"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0
    assert "Example" in result.stdout and "vaultline " in result.stdout


def test_init_twice_changes_nothing(cli: Cli) -> None:
    before = (cli.root / ".gitignore").read_text()
    again = cli("init")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert (cli.root / ".gitignore").read_text() == before


def test_main_returns_the_exit_code_a_gate_asks_for(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """main() returns a gate's exit 1 (the command's ctx.exit) instead of raising SystemExit."""
    from vaultline.cli._app import main

    monkeypatch.setenv("HOME", cli.env["HOME"])
    monkeypatch.delenv("VAULTLINE_MASTER_KEY", raising=False)
    broad = tmp_path / "broad.hcl"
    broad.write_text('path "secret/*" {\n  capabilities = ["read"]\n}\n')
    root = str(cli.root)
    assert main(["check", "--env", "prod", "-C", root]) == 1  # its secrets are not stored yet
    assert main(["env", "diff", "--env", "dev", "--env", "prod", "-C", root]) == 1
    assert main(["policy", "lint", str(broad)]) == 1
    assert main(["inventory", str(broad.parent), "--check"]) == 0
    assert main(["secret", "refs", "--env", "prod", "-C", root]) == 0
