"""pydantic-settings models filled from a resolved bundle."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from tests.factory import make_project
from vaultline.resolve.bundle import Bundle, Layer, Provenance, ResolvedValue
from vaultline.settings_source import VaultlineSettingsSource
from vaultline.store import EmbeddedStore


class ConnectionStrings(BaseModel):
    primary: SecretStr


class OpenAI(BaseModel):
    api_key: SecretStr = Field(alias="ApiKey")


class AI(BaseModel):
    open_ai: OpenAI


def settings_for(source_kwargs: dict[str, object]) -> type[BaseSettings]:
    class Settings(BaseSettings):
        connection_strings: ConnectionStrings
        ai: AI
        http_timeout_seconds: int = 5
        log_level: str = "Info"

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, VaultlineSettingsSource(settings_cls, **source_kwargs))  # type: ignore[arg-type]

    return Settings


def bundle_of(values: dict[str, object]) -> Bundle:
    return Bundle("prod", {k: ResolvedValue(k, v, k.startswith(("Conn", "AI")),
                                            Provenance(Layer.SECRETS, "t"))
                           for k, v in values.items()})


def test_nested_models_from_a_bundle() -> None:
    bundle = bundle_of({"ConnectionStrings:Primary": "postgres://x", "AI:OpenAI:ApiKey": "sk-1",
                        "Http_TimeoutSeconds": 30, "Unrelated": "x"})
    settings = settings_for({"bundle": bundle})()
    assert settings.connection_strings.primary.get_secret_value() == "postgres://x"  # type: ignore[attr-defined]
    assert settings.ai.open_ai.api_key.get_secret_value() == "sk-1"  # type: ignore[attr-defined]
    assert settings.http_timeout_seconds == 30  # type: ignore[attr-defined]
    assert settings.log_level == "Info"  # type: ignore[attr-defined]
    assert "postgres" not in repr(settings)


def test_resolves_a_project(tmp_path: Path, master_key: dict[str, str]) -> None:
    make_project(tmp_path, {
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: local\nAI:OpenAI:ApiKey: local\n",
    }, environ=master_key)
    store = EmbeddedStore.open(tmp_path / ".vaultline")
    store.put("nexus-engine/prod/ConnectionStrings/Primary", b"postgres://db")
    store.put("nexus-engine/prod/AI/OpenAI/ApiKey", b"sk-live")
    store.close()
    settings = settings_for({"env": "prod", "project_dir": tmp_path})()
    assert settings.ai.open_ai.api_key.get_secret_value() == "sk-live"  # type: ignore[attr-defined]
