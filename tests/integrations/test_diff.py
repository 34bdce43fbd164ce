"""``vaultline diff``: keys in one environment only, differing non-secret values, secrets
compared by keyed hash and never shown, in the table and in JSON; exit 1 on a difference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env
from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.resolve.diff import compare
from vaultline.store import EmbeddedStore

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
SAME_SECRET, STAGING_ONLY, PROD_ONLY = "shared-s3cret-value", "stag-s3cret-a", "prod-s3cret-b"


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    environ = {**os.environ, **master_key_env()}
    root = make_project(tmp_path, {
        "vaultline.yaml": """
            app: shop
            environments: [staging, prod]
            defaults: {Logging:Level: Information, Http:Timeout: 30}
        """,
        "env/staging/values.yaml": "Logging:Level: Debug\nFeature:Beta: true\n",
        "env/prod/values.yaml": "Http:Timeout: 30\n",
        "env/staging/secrets.yaml": "Db:Password: local\nApi:Key: local\n",
        "env/prod/secrets.yaml": "Db:Password: local\nApi:Key: local\nPay:Token: local\n",
    }, environ=environ)
    # The local provider's default naming: <app>/<env>/<Key as path>.
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        for env, path, value in [("staging", "Db/Password", SAME_SECRET),
                                 ("prod", "Db/Password", SAME_SECRET),
                                 ("staging", "Api/Key", STAGING_ONLY),
                                 ("prod", "Api/Key", PROD_ONLY), ("prod", "Pay/Token", PROD_ONLY)]:
            store.put(f"shop/{env}/{path}", value.encode())
    return root, environ


def test_compare_reports_each_kind_of_difference(project: tuple[Path, dict[str, str]]) -> None:
    root, environ = project
    result = compare(Project.load(root), "staging", "prod", environ=environ)
    rows = {k.key: (k.secret, k.status, k.a, k.b) for k in result.keys}
    assert rows == {
        "Api:Key": (True, "different", None, None),
        "Db:Password": (True, "same", None, None),
        "Feature:Beta": (False, "only-in-a", True, None),
        "Http:Timeout": (False, "same", 30, 30),
        "Logging:Level": (False, "different", "Debug", "Information"),
        "Pay:Token": (True, "only-in-b", None, None),
    }
    assert result.differs
    assert "s3cret" not in repr(result)
    with pytest.raises(ConfigError, match="two different environments"):
        compare(Project.load(root), "prod", "prod", environ=environ)


def test_cli_table_and_json_never_show_a_secret(project: tuple[Path, dict[str, str]]) -> None:
    root, environ = project

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([VAULTLINE, "env", "diff", "--env", "staging", "--env", "prod", *extra],
                              text=True, capture_output=True, cwd=root, env=environ, timeout=60)

    table = run()
    assert table.returncode == 1, table.stderr
    assert "s3cret" not in table.stdout + table.stderr
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
    assert "different (keyed hash)" in lines["Api:Key"]
    assert "equal (keyed hash)" in lines["Db:Password"]
    assert "missing in staging" in lines["Pay:Token"]
    assert "missing in prod" in lines["Feature:Beta"]
    assert "Http:Timeout" not in lines  # agreeing non-secret values only with --all
    assert "Http:Timeout" in run("--all").stdout
    data = json.loads(run("--format", "json").stdout)
    assert data["envs"] == ["staging", "prod"] and data["differs"] is True
    by_key = {k["key"]: k for k in data["keys"]}
    assert by_key["Api:Key"] == {"key": "Api:Key", "secret": True, "status": "different"}
    assert by_key["Logging:Level"]["staging"] == "Debug"
    assert "s3cret" not in json.dumps(data)


def test_equal_environments_exit_0_and_one_env_is_a_usage_error(
        project: tuple[Path, dict[str, str]]) -> None:
    root, environ = project
    (root / "env/staging/values.yaml").write_text("")
    (root / "env/prod/values.yaml").write_text("")
    (root / "env/staging/secrets.yaml").write_text("Db:Password: local\n")
    (root / "env/prod/secrets.yaml").write_text("Db:Password: local\n")
    same = subprocess.run([VAULTLINE, "env", "diff", "-e", "staging", "-e", "prod"], text=True,
                          capture_output=True, cwd=root, env=environ, timeout=60)
    assert same.returncode == 0, same.stdout + same.stderr
    one = subprocess.run([VAULTLINE, "env", "diff", "-e", "prod"], text=True, capture_output=True,
                         cwd=root, env=environ, timeout=60)
    assert one.returncode == 2
    assert one.stderr.startswith("vaultline: error: give exactly two environments")
