"""``--format compose``: secrets written one per 0600 file in a 0700 directory, whatever the
umask, and a ``secrets:`` block compose reads (yaml.safe_load, names and files as its schema
wants them)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.cli.test_runtime_cli import CANARY
from vaultline.errors import ConfigError
from vaultline.output.compose import write_secrets
from vaultline.resolve.bundle import Bundle, Layer, Provenance, ResolvedValue

# compose-spec: a top-level secret's name is an identifier, its 'file' a path string.
_COMPOSE_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_hold_the_exact_value_0600_under_any_umask(tmp_path: Path) -> None:
    value = "multi\nline 'quoted' $HOME ✓\n"
    rows = [ResolvedValue("Jwt:Key", value, True, Provenance(Layer.SECRETS, "t")),
            ResolvedValue("Logging:Level", "Warning", False, Provenance(Layer.PACK, "t"))]
    old = os.umask(0)
    try:
        snippet = write_secrets(Bundle("prod", {r.key: r for r in rows}), tmp_path / "s")
    finally:
        os.umask(old)
    doc = yaml.safe_load(snippet)
    assert list(doc) == ["secrets"] and list(doc["secrets"]) == ["jwt__key"]
    assert all(_COMPOSE_NAME.match(n) for n in doc["secrets"])
    path = Path(doc["secrets"]["jwt__key"]["file"])
    assert path.is_absolute() and path.read_text() == value
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    # A second run replaces the file atomically and leaves no temporary behind.
    write_secrets(Bundle("prod", {r.key: r for r in rows}), tmp_path / "s")
    assert sorted(p.name for p in path.parent.iterdir()) == ["JWT__KEY"]


def test_docker_compose_accepts_the_block(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    rows = [ResolvedValue("Jwt:Key", "k", True, Provenance(Layer.SECRETS, "t")),
            ResolvedValue("Db:Password", "p", True, Provenance(Layer.SECRETS, "t"))]
    snippet = write_secrets(Bundle("prod", {r.key: r for r in rows}), tmp_path / "s")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    secrets: [jwt__key, db__password]\n"
        + snippet + "\n")
    out = subprocess.run([str(Path(sys.executable).with_name("docker-compose")), "config",
                          "--format", "json"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr  # compose's schema and its secret references
    model = json.loads(out.stdout)
    assert {s["source"] for s in model["services"]["app"]["secrets"]} == {"jwt__key",
                                                                          "db__password"}
    assert Path(model["secrets"]["jwt__key"]["file"]).read_text() == "k"


def test_cli_prints_the_block_and_no_value(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    out = tmp_path / "compose-secrets"
    result = cli("resolve", "--env", "prod", "--format", "compose", "--secrets-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout
    secrets = yaml.safe_load(result.stdout)["secrets"]
    assert Path(secrets["connectionstrings__primary"]["file"]).read_text() == CANARY
    assert "logging__loglevel__default" not in secrets
    default = cli("resolve", "--env", "prod", "--format", "compose")
    assert default.returncode == 0, default.stderr
    written = Path(yaml.safe_load(default.stdout)["secrets"]["connectionstrings__primary"]["file"])
    assert written.parent == cli.root / ".vaultline" / "compose"


def _secret_bundle() -> Bundle:
    row = ResolvedValue("Jwt:Key", "k-s3cret", True, Provenance(Layer.SECRETS, "t"))
    return Bundle("prod", {row.key: row})


@pytest.mark.parametrize(("mode", "says"), [
    (0o755, "is open to group or others (mode 0755): run chmod 700"),
    (0o1777, "is open to group or others (mode 1777): run chmod 700"),  # /tmp by mistake
])
def test_an_existing_directory_open_to_others_is_refused_not_chmodded(tmp_path: Path, mode: int,
                                                                      says: str) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    with pytest.raises(ConfigError, match=re.escape(says)):
        write_secrets(_secret_bundle(), shared)
    assert stat.S_IMODE(shared.stat().st_mode) == mode  # never closed to everyone else
    assert list(shared.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away takes root")
def test_another_users_directory_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(ConfigError, match=r"belongs to another user \(uid 65534\)"):
        write_secrets(_secret_bundle(), theirs)
    assert list(theirs.iterdir()) == []


def test_the_cli_refusal_is_one_line_exit_2(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    done = cli("resolve", "--env", "prod", "--format", "compose", "--secrets-dir", str(shared))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"vaultline: error: the secrets directory {shared} is open to group "
                           f"or others (mode 0755): run chmod 700 {shared}, or name a new "
                           "directory (vaultline creates it 0700)\n")
