"""``--format compose``: secrets written one per 0600 file in a 0700 directory, whatever the
umask, and a ``secrets:`` block compose reads (yaml.safe_load, names and files as its schema
wants them)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import yaml

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.cli.test_runtime_cli import CANARY
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
