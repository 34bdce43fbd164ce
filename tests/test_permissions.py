"""What vaultline creates is private whatever the umask; a loose key file or store is refused."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.factory import master_key_env
from vaultline._files import private_dir, write_private

PY = sys.executable


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_helpers_under_umask_000(tmp_path: Path, open_umask: None) -> None:
    deep = private_dir(tmp_path / "a" / "b" / "c")
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", deep)] == [0o700] * 3
    target = deep / "f.json"
    target.write_text("old")
    os.chmod(target, 0o666)
    write_private(target, b"new")
    assert mode(target) == 0o600 and target.read_bytes() == b"new"
    assert sorted(p.name for p in deep.iterdir()) == ["f.json"]  # no temporary left


@pytest.mark.parametrize("umask", [0o277, 0o377])
def test_the_store_is_0600_under_a_tight_umask(tmp_path: Path, umask: int) -> None:
    """Private is 0600, not less: a store created read-only for its owner takes no write."""
    from vaultline.store import EmbeddedStore

    old = os.umask(umask)
    try:
        store, _ = EmbeddedStore.create(tmp_path / "s", environ=master_key_env())
        store.close()
    finally:
        os.umask(old)
    assert mode(tmp_path / "s" / "store.db") == 0o600
    assert mode(tmp_path / "s") == 0o700


def test_everything_created_is_private_under_umask_000(tmp_path: Path, open_umask: None) -> None:
    root = tmp_path / "p"
    home = tmp_path / "home"
    root.mkdir(mode=0o755)
    home.mkdir(mode=0o755)
    (root / "vaultline.yaml").write_text(
        "version: 1\napp: a\nenvironments: {prod: {max_stale: 1h}}\n"
        "schema:\n  Db:Password: {secret: true}\n")
    (root / "env" / "prod").mkdir(parents=True)
    (root / "env" / "prod" / "values.yaml").write_text("Level: Warning\n")
    (root / "env" / "prod" / "secrets.yaml").write_text("Db:Password: local\n")
    cli = Cli(root, home)
    assert cli("init").returncode == 0
    assert cli("secret", "put", "Db:Password", "--env", "prod", stdin="pw-under-umask-000").returncode == 0
    files = tmp_path / "files" / "run"
    result = cli("run", "--env", "prod", "--files", str(files), "--", PY, "-c",
                 "import os, stat; d = os.path.dirname(os.environ['DB__PASSWORD_FILE']);"
                 "print(oct(stat.S_IMODE(os.stat(d).st_mode)))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0o700"]
    assert cli("resolve", "--env", "prod").returncode == 0
    created = [*(home / ".config").rglob("*"), home / ".config", *(root / ".vaultline").rglob("*"),
               root / ".vaultline", tmp_path / "files", files]
    assert any(p.suffix == ".key" for p in created)
    assert any(p.parent.name == "cache" for p in created)
    loose = {str(p): oct(mode(p)) for p in created
             if mode(p) != (0o700 if p.is_dir() else 0o600)}
    assert loose == {}


@pytest.mark.parametrize("umask", [0o277, 0o377, 0o777])
def test_init_under_a_hostile_umask_makes_a_project_its_owner_can_use(tmp_path: Path,
                                                                      umask: int) -> None:
    """The committed files follow the umask but stay readable and writable by their owner (as
    root the kernel would not show it: a non-root user could not write env/dev/ made 0500, nor
    read a vaultline.yaml made 0000); the secret ones stay private."""
    root, home = tmp_path / "p", tmp_path / "home"
    root.mkdir(mode=0o700)
    home.mkdir(mode=0o700)
    cli = Cli(root, home)
    old = os.umask(umask)
    try:
        made = cli("init", "--app", "shop", "--envs", "dev,prod")
        assert made.returncode == 0, made.stderr
        (root / "env" / "prod" / "secrets.yaml").write_text("Db:Password: local\n")
        assert cli("secret", "put", "Db:Password", "--env", "prod", stdin="pw-0277").returncode == 0
        shown = cli("resolve", "--env", "prod", "--format", "dotenv", "--reveal")
    finally:
        os.umask(old)
    assert shown.stdout == "DB__PASSWORD='pw-0277'\n", shown.stderr
    committed = [root / "vaultline.yaml", root / ".gitignore", root / "env", root / "env" / "dev",
                 *(root / "env").rglob("*.yaml")]
    assert {str(p.relative_to(root)): oct(mode(p)) for p in committed
            if mode(p) != (0o700 if p.is_dir() else 0o600)} == {}  # owner bits, none beyond
    private = [*(root / ".vaultline").rglob("*"), *(home / ".config").rglob("*")]
    assert any(p.suffix == ".key" for p in private)
    assert {str(p): oct(mode(p)) for p in private
            if mode(p) != (0o700 if p.is_dir() else 0o600)} == {}


def test_init_under_the_usual_umask_makes_committed_files_0644(tmp_path: Path) -> None:
    root, home = tmp_path / "p", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    old = os.umask(0o022)
    try:
        assert Cli(root, home)("init", "--app", "shop", "--envs", "dev").returncode == 0
    finally:
        os.umask(old)
    assert [mode(p) for p in (root / "vaultline.yaml", root / "env" / "dev",
                              root / "env" / "dev" / "values.yaml")] == [0o644, 0o755, 0o644]


def test_loose_key_file_is_refused(cli: Cli) -> None:
    put_all(cli)
    key_file = next((cli.root.parent / "home").rglob("*.key"))
    os.chmod(key_file, 0o644)
    result = cli("resolve", "--env", "prod")
    assert result.returncode == 2
    assert result.stderr == (f"vaultline: error: master key file {key_file} is accessible by "
                             "group or others (mode 0644); it is not used until you run: "
                             f"chmod 600 {key_file}\n")
    os.chmod(key_file, 0o600)
    assert cli("resolve", "--env", "prod").returncode == 0


def test_loose_store_is_refused(cli: Cli) -> None:
    put_all(cli)
    db = cli.root / ".vaultline" / "store.db"
    os.chmod(db, 0o640)
    result = cli("secret", "get", "AI:OpenAI:ApiKey", "--env", "prod")
    assert result.returncode == 2
    assert f"store {db} is accessible by group or others (mode 0640)" in result.stderr
    assert f"chmod 600 {db}" in result.stderr and result.stderr.count("\n") == 1
