"""Monorepos: a shared project file included below each service's own, key by key in every
layer; ``explain`` names the file a value came from; the project is found walking up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factory import master_key_env, write
from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.store import EmbeddedStore

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))

SHARED = {
    "shared/vaultline.yaml": """
        environments: [dev, prod]
        defaults:
          Logging:Level: Information
          Http:Timeout: 30
        schema:
          Db:Password: {secret: true, required: true}
          Region: {default: eu-west-1}
    """,
    "shared/env/prod/values.yaml": "Logging:Level: Warning\nHttp:Timeout: 10\n",
    "shared/env/prod/secrets.yaml": "Db:Password: local:shared/prod/db-password\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write(tmp_path, {
        **SHARED,
        "services/api/vaultline.yaml": """
            include: ../../shared/vaultline.yaml
            app: api
            defaults:
              Http:Timeout: 5
        """,
        "services/api/env/prod/values.yaml": "Logging:Level: Debug\n",
        "services/worker/vaultline.yaml": """
            include: [../../shared]
            app: worker
        """,
    })


def test_each_layer_shares_below_the_service(repo: Path) -> None:
    api = Project.load(repo / "services/api")
    assert api.app == "api" and list(api.environments) == ["dev", "prod"]
    assert api.included_files == [(repo / "shared/vaultline.yaml").resolve()]
    assert api.schema["Db:Password"].secret
    assert api.defaults["Http:Timeout"].value == 5  # own default over the shared one
    assert api.defaults["Region"].value == "eu-west-1"
    pack = api.pack("prod")
    assert pack.values["Logging:Level"].value == "Debug"  # own pack over the shared pack
    assert pack.values["Http:Timeout"].value == 10 and pack.values["Http:Timeout"].file.endswith(
        "shared/env/prod/values.yaml")
    assert str(pack.secrets["Db:Password"].value) == "local:shared/prod/db-password"
    worker = Project.load(repo / "services/worker")
    assert worker.pack("prod").values["Logging:Level"].value == "Warning"


def test_explain_names_the_file_each_value_came_from(repo: Path) -> None:
    environ = {**os.environ, **master_key_env()}
    for service in ("api", "worker"):
        EmbeddedStore.create(repo / "services" / service / ".vaultline", environ=environ)[0].close()
    subprocess.run([VAULTLINE, "secret", "put", "local:shared/prod/db-password"], input="pw-shared",
                   text=True, check=True, cwd=repo / "services/api", env=environ,
                   capture_output=True)
    nested = repo / "services/api/src/deep"
    nested.mkdir(parents=True)

    def explain(key: str) -> list[dict[str, str]]:
        result = subprocess.run([VAULTLINE, "env", "explain", key, "--env", "prod", "--format", "json"],
                                text=True, capture_output=True, cwd=nested, env=environ)
        assert result.returncode == 0, result.stderr
        candidates: list[dict[str, str]] = json.loads(result.stdout)["candidates"]
        return candidates

    timeout = explain("Http:Timeout")
    assert [(c["layer"], c["source"].rsplit(":", 1)[0]) for c in timeout] == [
        ("env-pack", str(repo / "shared/env/prod/values.yaml")),
        ("defaults", str(repo / "services/api/vaultline.yaml")),
    ]
    level = explain("Logging:Level")
    assert level[0]["source"].startswith(str(repo / "services/api/env/prod/values.yaml"))
    region = explain("Region")
    assert region[0]["source"].startswith(str(repo / "shared/vaultline.yaml"))


@pytest.mark.parametrize(("files", "message"), [
    ({"a/vaultline.yaml": "include: ../b\napp: a\n", "b/vaultline.yaml": "include: ../a\n"},
     "leads back to a file that includes it"),
    ({"a/vaultline.yaml": "include: ../nope.yaml\napp: a\nenvironments: [dev]\n"},
     "include '../nope.yaml': no such file"),
    ({"a/vaultline.yaml": "include: ../b\napp: a\n", "b/vaultline.yaml": "app: b\n"},
     "section 'app' belongs in each app's own vaultline.yaml"),
    ({"a/vaultline.yaml": "include: [1]\napp: a\n"}, "'include' must be a path or a list"),
])
def test_bad_includes_name_the_file_and_line(tmp_path: Path, files: dict[str, str],
                                             message: str) -> None:
    write(tmp_path, files)
    with pytest.raises(ConfigError, match=message) as info:
        Project.load(tmp_path / "a")
    assert "vaultline.yaml:" in str(info.value)


def test_direnv_watches_the_shared_files_too(repo: Path) -> None:
    from vaultline.output.direnv import watched_files

    api = Project.load(repo / "services/api")
    shared = (repo / "shared").resolve()
    assert [str(p) for p in watched_files(api, "prod")] == [
        "vaultline.yaml", f"{shared}/vaultline.yaml", f"{shared}/env/prod/values.yaml",
        f"{shared}/env/prod/secrets.yaml", "env/prod/values.yaml", "env/prod/secrets.yaml"]


@pytest.fixture
def several(tmp_path: Path) -> Path:
    return write(tmp_path, {
        "vaultline.yaml": """
            apps: {api: services/api, worker: services/worker}
            environments: [prod]
            defaults: {Logging:Level: Information}
        """,
        "env/prod/values.yaml": "Logging:Level: Warning\nRegion: eu\n",
        "services/api/env/prod/values.yaml": "Logging:Level: Debug\n",
        "services/worker/env/prod/values.yaml": "Queue:Name: jobs\n",
    })


def test_one_file_declares_several_apps(several: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = several / "services/api/src/handlers"
    deep.mkdir(parents=True)
    api = Project.load(deep)  # walks up to the one vaultline.yaml
    assert (api.app, api.root, api.app_dir) == ("api", several, several / "services/api")
    values = api.pack("prod").values
    assert values["Logging:Level"].value == "Debug" and values["Region"].value == "eu"
    from vaultline.output.direnv import watched_files

    assert [str(p) for p in watched_files(api, "prod")] == [
        f"{several}/vaultline.yaml", f"{several}/env/prod/values.yaml",
        f"{several}/env/prod/secrets.yaml", "env/prod/values.yaml", "env/prod/secrets.yaml"]
    worker = Project.load(several / "services/worker")
    assert worker.app == "worker" and worker.pack("prod").values["Logging:Level"].value == "Warning"
    with pytest.raises(ConfigError, match=r"declares several apps \(api, worker\)"):
        Project.load(several)
    monkeypatch.setenv("VAULTLINE_APP", "worker")
    assert Project.load(several).app == "worker"
    monkeypatch.setenv("VAULTLINE_APP", "nope")
    with pytest.raises(ConfigError, match="VAULTLINE_APP='nope' is not among"):
        Project.load(several)


def test_apps_and_app_together_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {"vaultline.yaml": "app: a\napps: {b: b}\nenvironments: [dev]\n"})
    with pytest.raises(ConfigError, match=r"vaultline.yaml:2: give either 'app'"):
        Project.load(tmp_path)
