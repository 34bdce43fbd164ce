"""The provider registry: the one list of provider types, independent of the project model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import vaultline.providers
from tests.factory import write
from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.providers import registry
from vaultline.providers.base import Fetched, Provider, ProviderContext
from vaultline.resolve.resolver import Resolver

PROVIDER_MODULES = sorted(f"vaultline.providers.{p.stem}"
                          for p in Path(vaultline.providers.__path__[0]).glob("*.py"))


def test_no_provider_module_imports_the_project_model() -> None:
    """The registry builds providers from a config and a context; the project asks the
    registry, never the other way round (a fresh interpreter: nothing imported before)."""
    script = textwrap.dedent(f"""
        import importlib, sys
        for name in {PROVIDER_MODULES!r}:
            importlib.import_module(name)
            assert "vaultline.project.model" not in sys.modules, name
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert len(PROVIDER_MODULES) > 10  # the glob found the package's modules


def test_the_registry_alone_imports_no_project_model() -> None:
    done = subprocess.run([sys.executable, "-c", "import json, sys, vaultline.providers.registry; "
                           "print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert "vaultline.providers.registry" in loaded
    assert "vaultline.project.model" not in loaded and "vaultline.resolve.session" not in loaded


class Memory(Provider):
    type = "memory"
    options = frozenset({"values"})

    def fetch(self, path: str, version: str | None = None) -> Fetched:
        return Fetched(str(self.config["values"][path]))


@pytest.fixture
def memory_type(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registry.PROVIDER_TYPES, "memory",
                        registry.ProviderType(f"{__name__}:Memory", None))
    yield


def test_a_type_added_to_the_registry_is_one_the_project_accepts(tmp_path: Path,
                                                                 memory_type: None) -> None:
    write(tmp_path, {
        "vaultline.yaml": """
            app: shop
            environments: [prod]
            providers:
              mem: {type: memory, values: {db: s3cret}}
        """,
        "env/prod/secrets.yaml": "Db:Password: mem:db\n",
    })
    with Resolver(Project.load(tmp_path, environ={}), "prod") as resolver:
        assert resolver.resolve()["Db:Password"] == "s3cret"
    (tmp_path / "vaultline.yaml").write_text(
        "app: shop\nenvironments: [prod]\nproviders:\n  mem:\n    type: memory\n    valeus: {}\n")
    with pytest.raises(ConfigError, match=r"vaultline.yaml:6: provider 'mem': unknown option "
                                          r"'valeus'; memory takes: naming, values"):
        Project.load(tmp_path, environ={})


def test_unknown_types_list_the_registry(tmp_path: Path) -> None:
    write(tmp_path, {"vaultline.yaml": "app: a\nenvironments: [dev]\nproviders:\n  v: {type: hashicorp}\n"})
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path, environ={})
    assert f"known: {', '.join(sorted(registry.PROVIDER_TYPES))}" in str(info.value)


def test_built_in_types_need_no_entry() -> None:
    assert registry.BUILTIN_PROVIDERS == ("local", "env", "file", "dotenv")
    assert all(registry.PROVIDER_TYPES[name].extra is None for name in registry.BUILTIN_PROVIDERS)


def test_the_context_comes_from_the_project(tmp_path: Path) -> None:
    write(tmp_path, {"vaultline.yaml": "app: shop\nenvironments: [prod]\n"})
    project = Project.load(tmp_path, environ={"A": "1"})
    context = project.provider_context("prod")
    assert context == ProviderContext(app="shop", env="prod", root=tmp_path,
                                      environ={"A": "1"}, store_dir=tmp_path / ".vaultline")
    assert project.provider_context("prod", {"B": "2"}).environ == {"B": "2"}
