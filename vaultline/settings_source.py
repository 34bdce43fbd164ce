"""A pydantic-settings source: fill ``BaseSettings`` models from a vaultline bundle.

    class Settings(BaseSettings):
        connection_strings: ConnectionStrings      # matches ConnectionStrings:*
        ai: AI

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                       dotenv_settings, file_secret_settings):
            return (init_settings, VaultlineSettingsSource(settings_cls, env="prod"),
                    env_settings)

Field names match bundle keys case-insensitively and ignoring ``_``/``-``, so
``connection_strings.primary`` finds ``ConnectionStrings:Primary``; aliases are honoured.
A secret that fails validation is not shown in the ``ValidationError``: not as ``input_value``,
not in ``.json()``.
Needs the ``pydantic`` extra: ``pip install 'vaultline[pydantic]'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vaultline.errors import MissingExtraError
from vaultline.project import keypath
from vaultline.resolve.bundle import Bundle

try:
    from pydantic import BaseModel
    from pydantic.fields import FieldInfo
    from pydantic_core import SchemaSerializer, core_schema
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("the pydantic-settings source", "pydantic") from exc


class MaskedSecret(str):
    """A secret on its way into a model. pydantic shows an invalid input's repr in its
    errors, and writes the input itself in ``ValidationError.json()``; this one's repr and
    JSON are the mask. Fields receive plain ``str`` (pydantic converts)."""

    __slots__ = ()
    # What pydantic-core serializes an object of a type it does not know with.
    __pydantic_serializer__ = SchemaSerializer(core_schema.any_schema(
        serialization=core_schema.plain_serializer_function_ser_schema(lambda _: "********")))

    def __repr__(self) -> str:
        return "'********'"


def _masked(value: Any) -> Any:
    """``value`` with each scalar in it (a list's items, a mapping's values) a MaskedSecret."""
    if isinstance(value, Mapping):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return MaskedSecret(value)
    return value


def _inputs(bundle: Bundle) -> dict[str, Any]:
    """The bundle as nested data, each secret scalar wrapped in :class:`MaskedSecret`."""
    flat: dict[str, Any] = {}
    for resolved in bundle.resolved_values():
        flat[resolved.key] = _masked(resolved.value) if resolved.secret else resolved.value
    return keypath.nest(flat)


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _match(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    by_norm = {_norm(k): k for k in data}
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        for candidate in (field.alias, name):
            key = by_norm.get(_norm(candidate)) if candidate else None
            if key is None:
                continue
            value = data[key]
            annotation = field.annotation
            if (isinstance(value, Mapping) and isinstance(annotation, type)
                    and issubclass(annotation, BaseModel)):
                value = _match(annotation, value)
            out[field.alias or name] = value
            break
    return out


class VaultlineSettingsSource(PydanticBaseSettingsSource):
    """Resolves the environment once (audited, overrides applied) and maps it onto the model."""

    def __init__(self, settings_cls: type[BaseSettings], *, env: str | None = None,
                 project_dir: str | Path = ".", bundle: Bundle | None = None):
        super().__init__(settings_cls)
        if bundle is None:
            if env is None:
                raise ValueError("VaultlineSettingsSource needs env=... or bundle=...")
            from vaultline.resolve.api import load

            bundle = load(env, project_dir)
        self.bundle = bundle
        self._values = _match(settings_cls, _inputs(bundle))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        key = field.alias or field_name
        return self._values.get(key), key, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"VaultlineSettingsSource(env={self.bundle.env!r})"
