"""vaultline.yaml and environment packs: what loads, and the exact error for what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factory import make_project, write
from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.project.reference import Reference

GOOD = """
version: 1
app: nexus-engine
environments:
  dev: {}
  prod: {protected: true, max_override_ttl: 4h}
defaults:
  Logging:
    Level: Information
schema:
  ConnectionStrings:
    Primary: {secret: true, required: true, format: postgres-url}
  Http:Timeout: {default: 30}
"""


def test_flat_and_nested_keys_mean_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_project(tmp_path, {
        "vaultline.yaml": GOOD,
        "env/prod/values.yaml": "Api:\n  BaseUrl: https://x\n'Api:Retries': 3\n",
        "env/prod/secrets.yaml": "ConnectionStrings:\n  Primary: vault#password\n",
    })
    (tmp_path / "vaultline.yaml").write_text(GOOD + "providers:\n  vault: {type: vault, url: http://x}\n")
    project = Project.load(tmp_path)
    assert project.app == "nexus-engine"
    assert project.environments["prod"].protected is True
    assert project.environments["prod"].max_override_ttl is not None
    assert project.environments["prod"].max_override_ttl.total_seconds() == 4 * 3600
    assert project.schema["ConnectionStrings:Primary"].secret is True
    assert {k: e.value for k, e in project.defaults.items()} == {
        "Logging:Level": "Information", "Http:Timeout": 30}
    pack = project.pack("prod")
    assert {k: e.value for k, e in pack.values.items()} == {"Api:BaseUrl": "https://x", "Api:Retries": 3}
    assert pack.values["Api:Retries"].where == "env/prod/values.yaml:3"
    assert pack.secrets["ConnectionStrings:Primary"].value == Reference("vault", None, "password")
    assert pack.secrets["ConnectionStrings:Primary"].where == "env/prod/secrets.yaml:2"


def test_project_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    make_project(tmp_path)
    (tmp_path / "src" / "deep").mkdir(parents=True)
    assert Project.load(tmp_path / "src" / "deep").root == tmp_path.resolve()


# (file, content, exact error) — the line numbers are part of the contract.
BAD_INPUTS = [
    ("vaultline.yaml", "app: x\nenvironments: [dev\n",
     "vaultline.yaml:3: invalid YAML: did not find expected ',' or ']'"),
    ("vaultline.yaml", "- a\n- b\n",
     "vaultline.yaml:1: must be a mapping with at least 'app' and 'environments'"),
    ("vaultline.yaml", "app: x\nenvironments: [dev]\nfrobnicate: 1\n",
     "vaultline.yaml:3: unknown section 'frobnicate'; known: app, apps, audit, defaults, environments, include, "
     "keys, overrides, policy, providers, rotate, rotation, scan, schema, store, version"),
    ("vaultline.yaml", "environments: [dev]\n",
     "vaultline.yaml:1: 'app' must be a non-empty string (e.g. app: nexus-engine)"),
    ("vaultline.yaml", "version: 7\napp: x\nenvironments: [dev]\n",
     "vaultline.yaml:1: unsupported version 7; this vaultline reads version 1"),
    ("vaultline.yaml", "app: x\nenvironments:\n  dev:\n    protectd: true\n",
     "vaultline.yaml:4: environment 'dev': unknown setting 'protectd'; known: allow_env_overrides, "
     "description, env_override_prefix, max_override_ttl, max_stale, pass_env, protected"),
    ("vaultline.yaml", "app: x\nenvironments:\n  dev: {max_override_ttl: soon}\n",
     "vaultline.yaml:3: dev.max_override_ttl: not a duration: 'soon' (use e.g. 30m, 2h, 90d, 1y, 1h30m)"),
    ("vaultline.yaml", "app: x\nenvironments: [dev]\nschema:\n  A:B: {secret: yes please}\n",
     "vaultline.yaml:4: schema entry 'A:B': secret must be true or false"),
    ("vaultline.yaml", "app: x\nenvironments: [dev]\nschema:\n  A:B: {secret: true, kind: x}\n",
     "vaultline.yaml:4: schema entry 'A:B': unknown field(s) kind; known: default, description, "
     "format, required, secret"),
    ("vaultline.yaml", "app: x\nenvironments: [dev]\nschema:\n  A: {secret: true}\ndefaults:\n  A: x\n",
     "vaultline.yaml:6: 'A' is a secret in the schema and cannot have a default; give it a "
     "reference in env/<env>/secrets.yaml"),
    ("vaultline.yaml", "app: x\nenvironments: [dev]\nproviders:\n  v: {type: hashicorp}\n",
     "vaultline.yaml:4: provider 'v': unknown type 'hashicorp'; known: aws-secretsmanager, "
     "azure-keyvault, dotenv, env, file, local, vault"),
    ("vaultline.yaml", "app: x\nenvironments: [dev]\ndefaults:\n  'A::B': 1\n",
     "vaultline.yaml:4: key 'A::B' has an empty segment"),
    # A key or environment name is checked whole: a trailing newline is no letter.
    ("vaultline.yaml", 'app: x\nenvironments: [dev]\ndefaults:\n  "A:B\\n": 1\n',
     "vaultline.yaml:4: key 'A:B\\n': segment 'B\\n' may hold only letters, digits, '_', '-' "
     "and '.'"),
    ("vaultline.yaml", 'app: x\nenvironments:\n  "dev\\n": {}\n',
     "vaultline.yaml:3: invalid environment name 'dev\\n'"),
    ("vaultline.yaml", "app: x\nenvironments: [dev]\ndefaults:\n  A: 1\n  A: 2\n",
     "vaultline.yaml:5: invalid YAML: duplicate key 'A'"),
    ("env/dev/values.yaml", "Db:\n  Password: hunter2\n",
     "env/dev/values.yaml:2: 'Db:Password' is a secret in the schema; values.yaml must not hold it "
     "— put a reference in secrets.yaml instead"),
    ("env/dev/values.yaml", "A:B: 1\nA:\n  B: 2\n",
     "env/dev/values.yaml:3: 'A:B' is given twice (also at line 1)"),
    ("env/dev/values.yaml", "[1, 2]\n",
     "env/dev/values.yaml:1: values must be a mapping of keys (flat 'A:B: v' or nested)"),
    ("env/dev/secrets.yaml", "Db:Password: [vault, local]\n",
     "env/dev/secrets.yaml:1: 'Db:Password': secrets.yaml holds references like "
     "'vault:db.primary#password', not list values"),
    ("env/dev/secrets.yaml", "Db:Password: hashicorp:db#pw\n",
     "env/dev/secrets.yaml:1: 'Db:Password': unknown provider 'hashicorp'; configure it under "
     "'providers' in vaultline.yaml or use one of local, env, file, dotenv"),
    ("env/dev/secrets.yaml", "A: local\nDb:Password: 'vault:'\n",
     "env/dev/secrets.yaml:2: reference 'vault:': empty path after ':'"),
    ("env/dev/secrets.yaml", "Db:Password: local\n  bad indent: x\n",
     "env/dev/secrets.yaml:2: invalid YAML: mapping values are not allowed in this context"),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_INPUTS)
def test_bad_input_gives_file_line_and_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    files = {
        "vaultline.yaml": "app: x\nenvironments: [dev]\nschema:\n  Db:Password: {secret: true}\n",
    }
    files[name] = content
    write(tmp_path, files)
    with pytest.raises(ConfigError) as caught:
        Project.load(tmp_path).pack("dev")
    assert str(caught.value) == expected
    assert caught.value.exit_code == 2


def test_unknown_environment(tmp_path: Path) -> None:
    make_project(tmp_path)
    with pytest.raises(ConfigError, match=r"unknown environment 'qa'; .* defines: dev, prod"):
        Project.load(tmp_path).pack("qa")


def test_missing_project(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no vaultline.yaml in .* run 'vaultline init'"):
        Project.load(tmp_path)
