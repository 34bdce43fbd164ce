"""``environ=`` is the environment read, at every layer; ``os.environ`` only when none is given.

Each case sets ``os.environ`` to one answer and passes a mapping with another: the passed
one must win, and the ``os.environ`` one must not leak in when the mapping lacks the variable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import vaultline
from tests.factory import master_key_env, write
from vaultline.errors import ConfigError, ResolutionError
from vaultline.project.model import Project
from vaultline.resolve.resolver import Resolver
from vaultline.resolve.session import Session
from vaultline.store import EmbeddedStore

PROJECT = """
    app: shop
    environments: [prod]
"""


def store_with(directory: Path, value: str) -> dict[str, str]:
    """A store at ``directory`` holding ``value`` for Db:Password; its environment."""
    environ = {**master_key_env(), "VAULTLINE_STORE_DIR": str(directory)}
    store = EmbeddedStore.create(directory, environ=environ)[0]
    try:
        store.put("shop/prod/Db/Password", value.encode())
    finally:
        store.close()
    return environ


@pytest.fixture
def two_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    """A project, a store for os.environ ("from-os") and one for the passed mapping."""
    root = write(tmp_path / "project", {
        "vaultline.yaml": PROJECT,
        "env/prod/secrets.yaml": "Db:Password: local\nApi:Key: env:API_KEY\n",
    })
    for name, value in store_with(tmp_path / "os-store", "from-os").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("API_KEY", "os-key")
    passed = {**store_with(tmp_path / "passed-store", "passed"), "API_KEY": "passed-key"}
    return root, passed


def test_store_dir_comes_from_the_environ_passed(two_stores: tuple[Path, dict[str, str]],
                                                 tmp_path: Path) -> None:
    root, passed = two_stores
    assert Project.load(root, environ=passed).store_dir == tmp_path / "passed-store"
    assert Project.load(root).store_dir == tmp_path / "os-store"
    assert Project.load(root, environ={}).store_dir == root / ".vaultline"  # os.environ unread


def test_load_reads_only_the_environ_passed(two_stores: tuple[Path, dict[str, str]]) -> None:
    root, passed = two_stores
    bundle = vaultline.load("prod", root, environ=passed)
    assert (bundle["Db:Password"], bundle["Api:Key"]) == ("passed", "passed-key")
    bundle = vaultline.load("prod", root)
    assert (bundle["Db:Password"], bundle["Api:Key"]) == ("from-os", "os-key")


def test_a_session_and_a_resolver_default_to_the_projects_environ(
        two_stores: tuple[Path, dict[str, str]]) -> None:
    root, passed = two_stores
    project = Project.load(root, environ=passed)
    with Session(project, "prod") as session:
        assert session.resolve()["Db:Password"] == "passed"
    with Resolver(project, "prod") as resolver:
        assert resolver.resolve()["Api:Key"] == "passed-key"


def test_an_environ_without_the_variable_does_not_fall_back_to_os_environ(
        two_stores: tuple[Path, dict[str, str]]) -> None:
    root, passed = two_stores
    del passed["API_KEY"]
    with pytest.raises(ResolutionError, match="API_KEY is not set"):
        vaultline.load("prod", root, environ=passed)


@pytest.fixture
def several(tmp_path: Path) -> Path:
    return write(tmp_path, {
        "vaultline.yaml": "apps: {api: services/api, worker: services/worker}\n"
                          "environments: [prod]\n",
    })


def test_the_app_comes_from_the_environ_passed(several: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULTLINE_APP", "worker")
    assert Project.load(several, environ={"VAULTLINE_APP": "api"}).app == "api"
    assert Project.load(several).app == "worker"
    monkeypatch.setenv("VAULTLINE_APP", "nope")  # would be refused if it were read
    assert Project.load(several / "services/api", environ={}).app == "api"
    with pytest.raises(ConfigError, match="VAULTLINE_APP='nope'"):
        Project.load(several)


@pytest.mark.parametrize("with_store", [False, True])  # the pack cache reads through the store
def test_file_size_limits_come_from_the_environ_passed(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       with_store: bool) -> None:
    root = write(tmp_path, {"vaultline.yaml": PROJECT,
                            "env/prod/values.yaml": "Padding: " + "x" * 2000 + "\n"})
    if with_store:
        EmbeddedStore.create(root / ".vaultline", environ=master_key_env())[0].close()
    monkeypatch.setenv("VAULTLINE_MAX_FILE_SIZE", "1KiB")
    assert Project.load(root, environ={}).pack("prod").values["Padding"].value == "x" * 2000
    project = Project.load(root)  # vaultline.yaml is under 1 KiB, the pack is not
    with pytest.raises(ConfigError, match=r"values\.yaml: the file is larger than the limit of 1 KiB"):
        project.pack("prod")
    monkeypatch.delenv("VAULTLINE_MAX_FILE_SIZE")
    project = Project.load(root, environ={"VAULTLINE_MAX_FILE_SIZE": "1KiB"})
    with pytest.raises(ConfigError, match="larger than the limit of 1 KiB"):
        project.pack("prod")


def test_secret_file_limits_come_from_the_environ_passed(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path, {"vaultline.yaml": PROJECT,
                            "env/prod/secrets.yaml": "Tls:Key: file:key.pem\nTls:Cert: env:CERT\n",
                            "key.pem": "k" * 2000, "cert.pem": "c" * 2000})
    monkeypatch.setenv("VAULTLINE_MAX_SECRET_SIZE", "1KiB")
    environ = {"CERT_FILE": "cert.pem"}
    bundle = Resolver(Project.load(root, environ={}), "prod", environ=environ).resolve()
    assert (len(bundle["Tls:Key"]), len(bundle["Tls:Cert"])) == (2000, 2000)
    monkeypatch.delenv("VAULTLINE_MAX_SECRET_SIZE")
    with pytest.raises(ResolutionError) as info:
        Resolver(Project.load(root), "prod",
                 environ={**environ, "VAULTLINE_MAX_SECRET_SIZE": "1KiB"}).resolve()
    assert str(info.value).count("larger than the limit of 1 KiB") == 2


def test_hvac_is_not_handed_the_token_in_os_environ(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from vaultline.providers.base import ProviderContext
    from vaultline.providers.vault import VaultProvider

    monkeypatch.setenv("VAULT_TOKEN", "hvs.from-os-environ")
    monkeypatch.setenv("HOME", str(write(tmp_path / "home", {".vault-token": "hvs.from-home"})))
    context = ProviderContext(app="shop", env="prod", root=tmp_path, environ={})
    vault = VaultProvider("vault", {"url": "http://127.0.0.1:1", "auth": {
        "method": "approle", "role_id": "r", "secret_id_env": "SECRET_ID"}}, context)
    client = vault._client(vault.address)
    assert not client.token  # an AppRole login must not carry someone else's token
    assert not client.adapter._kwargs.get("cert")


@pytest.mark.parametrize("token_file", ["~/vault-token", None])  # None: ~/.vault-token
def test_a_token_file_under_home_is_under_the_environs_home(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            token_file: str | None) -> None:
    from vaultline.providers._vault_auth import AuthMethod

    files = {"vault-token": "hvs.passed-home\n", ".vault-token": "hvs.passed-home\n"}
    passed_home = write(tmp_path / "passed-home", files)
    monkeypatch.setenv("HOME", str(write(tmp_path / "os-home", {
        name: "hvs.os-home\n" for name in files})))
    options = {"method": "token"} | ({"token_file": token_file} if token_file else {})
    auth = AuthMethod.parse(options, root=tmp_path, environ={"HOME": str(passed_home)}, where="v")
    assert auth.static_token() == "hvs.passed-home"
