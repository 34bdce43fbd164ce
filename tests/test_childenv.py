"""What a `run` child inherits: never the master key, provider credentials only when named."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.factory import write
from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.runtime.childenv import child_environment, credential_names

PY = sys.executable
DUMP_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
CREDENTIALS = {
    "VAULT_TOKEN": "hvs.canary-vault-token-0001",
    "BAO_TOKEN": "s.canary-bao-token-0002",
    "VAULT_SECRET_ID": "canary-secret-id-0003",
    "AWS_SECRET_ACCESS_KEY": "canary/aws/secret/access/key/0004",
    "AWS_SESSION_TOKEN": "canary-aws-session-token-0005",
    "AZURE_CLIENT_SECRET": "canary~azure~client~secret~0006",
}


@pytest.mark.parametrize(("name", "dropped"), [
    ("VAULTLINE_MASTER_KEY", True), ("VAULTLINE_KEY_FILE", True),
    ("VAULTLINE_SOME_FUTURE_TOKEN", True), ("VAULT_TOKEN", True), ("BAO_TOKEN", True),
    ("VAULT_ROLE_ID", True), ("VAULT_SECRET_ID", True), ("AWS_ACCESS_KEY_ID", True),
    ("AWS_SECRET_ACCESS_KEY", True), ("AWS_SESSION_TOKEN", True), ("AZURE_CLIENT_SECRET", True),
    ("AWS_CONTAINER_AUTHORIZATION_TOKEN", True), ("IDENTITY_HEADER", True), ("MSI_SECRET", True),
    ("IDENTITY_ENDPOINT", False),
    ("VAULTLINE_ENV", False), ("VAULTLINE_PROJECT_DIR", False), ("PATH", False),
    ("AWS_REGION", False), ("VAULT_ADDR", False), ("HOME", False),
])
def test_credentials_are_not_inherited(name: str, dropped: bool) -> None:
    child = child_environment({name: "x"}, credential_names(None))
    assert (name not in child.inherited) is dropped
    assert child.passed == {}


def test_passed_on_by_name_and_listed_for_masking() -> None:
    child = child_environment({"VAULT_TOKEN": "t", "AWS_SESSION_TOKEN": "s"},
                              credential_names(None), ["VAULT_TOKEN", "UNSET_VAR"])
    assert child.inherited == {"VAULT_TOKEN": "t"}
    assert child.passed == {"VAULT_TOKEN": "t"}


@pytest.mark.parametrize("name", ["VAULTLINE_MASTER_KEY", "VAULTLINE_KEY_FILE"])
def test_master_key_is_never_passed(name: str) -> None:
    with pytest.raises(ConfigError, match="never passed"):
        child_environment({name: "k"}, credential_names(None), [name])


def test_configured_credential_variables_are_credentials(tmp_path: Path) -> None:
    write(tmp_path, {"vaultline.yaml": """
        version: 1
        app: a
        environments: [dev]
        providers:
          bao: {type: vault, url: "http://127.0.0.1:1", auth: {method: approle,
                role_id_env: MY_ROLE, secret_id_env: MY_SECRET_ID}}
    """})
    names = credential_names(Project.load(tmp_path))
    assert {"MY_ROLE", "MY_SECRET_ID", "VAULT_TOKEN"} <= names


def test_pass_env_must_be_a_list_of_names(tmp_path: Path) -> None:
    write(tmp_path, {"vaultline.yaml": """
        version: 1
        app: a
        environments: {prod: {pass_env: VAULT_TOKEN}}
    """})
    with pytest.raises(ConfigError, match=r"vaultline.yaml:3: environment 'prod': pass_env"):
        Project.load(tmp_path)


def test_run_child_gets_no_credentials(cli: Cli) -> None:
    put_all(cli)
    result = cli("run", "--env", "prod", "--no-mask", "--", PY, "-c", DUMP_ENV,
                 extra_env=CREDENTIALS)
    assert result.returncode == 0, result.stderr
    child = json.loads(result.stdout)
    assert "CONNECTIONSTRINGS__PRIMARY" in child
    assert not set(CREDENTIALS) & set(child)
    assert not any(v in result.stdout for v in CREDENTIALS.values())


def test_run_with_the_master_key_in_the_environment(cli: Cli) -> None:
    put_all(cli)
    key_file = next((cli.root.parent / "home").rglob("*.key"))
    key = {"VAULTLINE_MASTER_KEY": key_file.read_text().strip()}
    for given in (key, {"VAULTLINE_KEY_FILE": str(key_file)}):
        result = cli("run", "--env", "prod", "--no-mask", "--", PY, "-c", DUMP_ENV,
                     extra_env=given)
        assert result.returncode == 0, result.stderr
        assert not set(given) & set(json.loads(result.stdout))
    refused = cli("run", "--env", "prod", "--pass-env", "VAULTLINE_MASTER_KEY", "--", PY, "-c",
                  "print(1)", extra_env=key)
    assert refused.returncode == 2
    assert refused.stderr.startswith("vaultline: error: VAULTLINE_MASTER_KEY is never passed")
    assert key["VAULTLINE_MASTER_KEY"] not in refused.stdout + refused.stderr


def test_pass_env_option_and_config_hand_on_masked(cli: Cli) -> None:
    put_all(cli)
    project = cli.root / "vaultline.yaml"
    text = project.read_text()
    old = "prod: {protected: true, max_override_ttl: 4h}"
    assert old in text
    project.write_text(text.replace(old, old[:-1] + ", pass_env: [AWS_SESSION_TOKEN]}"))
    show = ("import os; print(os.environ.get('VAULT_TOKEN'), os.environ.get('AWS_SESSION_TOKEN'),"
            " os.environ.get('BAO_TOKEN'))")
    result = cli("run", "--env", "prod", "--pass-env", "VAULT_TOKEN", "--", PY, "-c", show,
                 extra_env=CREDENTIALS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["********", "********", "None"]
    raw = cli("run", "--env", "prod", "--no-mask", "--pass-env", "VAULT_TOKEN", "--", PY, "-c",
              show, extra_env=CREDENTIALS)
    assert raw.stdout.split() == [CREDENTIALS["VAULT_TOKEN"], CREDENTIALS["AWS_SESSION_TOKEN"],
                                  "None"]


def test_runner_scrubs_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vaultline.runtime.runner import run

    monkeypatch.setenv("VAULTLINE_MASTER_KEY", "k" * 44)
    monkeypatch.setenv("VAULT_TOKEN", "hvs.library-caller-token")
    out = tmp_path / "env.json"
    code = run([PY, "-c", f"import json, os; open({str(out)!r}, 'w').write(json.dumps(dict(os.environ)))"],
               env={"APP_SECRET": "s-value", "VAULTLINE_MASTER_KEY": "from-the-bundle"},
               secrets={"APP_SECRET": "s-value"}, mask=False)
    assert code == 0
    child = json.loads(out.read_text())
    assert child["APP_SECRET"] == "s-value"
    assert "VAULTLINE_MASTER_KEY" not in child and "VAULT_TOKEN" not in child
