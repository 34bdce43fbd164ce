"""Where a secret operation acts: ``KEY --env E`` (through the pack's reference) or a full
reference such as ``local:nexus-engine/prod/ConnectionStrings/Primary``, down to a provider and
a concrete path in it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from vaultline.errors import ConfigError
from vaultline.project import keypath
from vaultline.project.model import Project
from vaultline.project.reference import Reference
from vaultline.providers import registry
from vaultline.providers.base import Provider
from vaultline.providers.registry import BUILTIN_PROVIDERS


class Target(NamedTuple):
    provider: Provider
    path: str
    reference: Reference
    key: str | None = None  # the project key, when the target was given as KEY --env E

    def __str__(self) -> str:
        return f"{self.provider.name}:{self.path}"


def resolve_target(project: Project, target: str, env: str | None,
                   environ: Mapping[str, str] | None = None) -> Target:
    """The provider and path ``target`` names; the caller closes ``Target.provider``.

    ``env`` also sets the environment a full reference's provider works in (its prefix).
    """
    full = _full_reference(project, target)
    if full is None and env is not None:
        ref = _pack_reference(project, target, env)
        provider = registry.create(project.provider_config(ref.provider),
                                   project.provider_context(env, environ))
        return _checked(Target(provider, provider.locate(ref, target), ref, target))
    if full is None:
        _explain_bare(project, target)
    ref = full or Reference.parse(target)
    if ref.path is None:
        raise ConfigError(
            f"{target!r} has no path: pass KEY --env ENV, or a full reference like "
            "local:nexus-engine/prod/ConnectionStrings/Primary")
    provider = registry.create(project.provider_config(ref.provider),
                               project.provider_context(env or "-", environ))
    return _checked(Target(provider, ref.path, ref))


def _pack_reference(project: Project, key: str, env: str) -> Reference:
    entry = project.pack(env).secrets.get(key)
    if entry is not None:
        reference: Reference = entry.value
        return reference
    if key in project.schema and project.schema[key].secret:
        return Reference("local")
    raise ConfigError(f"{key!r} has no reference in env/{env}/secrets.yaml; add one (e.g. "
                      f"{key}: local) or pass a full reference like local:app/{env}/Key")


def _explain_bare(project: Project, target: str) -> None:
    """A target that is neither a reference to a known provider nor usable without --env."""
    try:
        ref = Reference.parse(target)
    except ConfigError:
        ref = None
    known = ref is not None and (ref.provider in project.providers
                                 or ref.provider in BUILTIN_PROVIDERS)
    if not known and keypath.validate(target) is None:
        raise ConfigError(f"{target!r} is a key, not a reference: pass --env ENV to act on its "
                          "secret in that environment, or give a full reference like "
                          "local:nexus-engine/prod/ConnectionStrings/Primary")


def _checked(where: Target) -> Target:
    """Refuse vaultline's own namespace before anything is read or written."""
    from vaultline.providers.local import LocalProvider

    if isinstance(where.provider, LocalProvider):  # it opens its store lazily: nothing to close
        from vaultline.store.records import check_not_reserved

        check_not_reserved(where.path)
    return where


def _full_reference(project: Project, target: str) -> Reference | None:
    """``target`` as a reference with a path to a known provider, or None (then it is a key)."""
    try:
        ref = Reference.parse(target)
    except ConfigError:
        return None
    known = ref.provider in project.providers or ref.provider in BUILTIN_PROVIDERS
    return ref if known and ref.path is not None else None
