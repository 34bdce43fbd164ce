"""Secret versions where the provider keeps them: list, soft-delete, undelete, destroy, roll back.

The same commands (``versions``, ``rm``, ``rm --destroy``, ``undelete``, ``rollback``) work on
the embedded store and on Vault/OpenBao KV v2. A rollback writes the content of an earlier
version as a new version (as ``vault kv rollback`` does), with check-and-set against the
version it read, so a write in between is not lost. AWS Secrets Manager keeps versions by
staging label: its rollback moves ``AWSCURRENT`` back to the version labelled ``AWSPREVIOUS``
(or to a given version id); the other operations are not offered there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from vaultline.errors import ConfigError
from vaultline.providers.base import Provider
from vaultline.store import EmbeddedStore, VersionInfo

ACTIONS = ("delete", "undelete", "destroy")


class Versions(ABC):
    def __init__(self, provider: Provider):
        self.provider = provider

    @abstractmethod
    def rows(self, path: str) -> list[VersionInfo]: ...

    @abstractmethod
    def change(self, action: str, path: str, versions: Sequence[int] | None) -> list[int]:
        """Apply ``delete``/``undelete``/``destroy``; default the latest version."""

    @abstractmethod
    def rollback(self, path: str, to: str | None) -> tuple[str, str]:
        """``(version rolled back to, the version now current)``."""

    def _chosen(self, path: str, versions: Sequence[int] | None) -> list[int]:
        existing = [v.version for v in self.rows(path)]
        chosen = list(versions) if versions else existing[-1:]
        missing = sorted(set(chosen) - set(existing))
        if missing:
            raise ConfigError(f"{path} has no version {missing[0]}; 'vaultline secret versions' "
                              "lists them")
        return chosen

    def _target(self, path: str, to: str | None) -> tuple[int, int]:
        """``(target, current)``: ``to``, or the newest live version before the current one."""
        rows = self.rows(path)
        current = rows[-1].version
        if to is not None:
            if not to.isdigit() or int(to) not in {r.version for r in rows}:
                raise ConfigError(f"{path} has no version {to!r}; 'vaultline secret versions' lists "
                                  "them")
            target = next(r for r in rows if r.version == int(to))
            if not target.live:
                state = "destroyed (gone)" if target.destroyed else "deleted (undelete it first)"
                raise ConfigError(f"{path} version {to} is {state}")
            return target.version, current
        earlier = [r for r in rows if r.live and r.version < current]
        if not earlier:
            raise ConfigError(f"{path} has no earlier live version to roll back to")
        return earlier[-1].version, current


class _Local(Versions):
    @property
    def store(self) -> EmbeddedStore:
        store: EmbeddedStore = getattr(self.provider, "store")  # noqa: B009 - LocalProvider
        return store

    def rows(self, path: str) -> list[VersionInfo]:
        return self.store.versions(path)

    def change(self, action: str, path: str, versions: Sequence[int] | None) -> list[int]:
        method = {"delete": self.store.delete, "undelete": self.store.undelete,
                  "destroy": self.store.destroy}[action]
        return method(path, list(versions) if versions else None)

    def rollback(self, path: str, to: str | None) -> tuple[str, str]:
        target, current = self._target(path, to)
        old = self.store.get(path, target)
        new = self.store.put(path, old.text().encode("utf-8"), cas=current)
        return str(target), str(new)


class _Vault(Versions):
    def rows(self, path: str) -> list[VersionInfo]:
        _, rows = self.provider.version_rows(path)  # type: ignore[attr-defined]
        return [VersionInfo(path, v, created, deleted, destroyed)
                for v, created, deleted, destroyed in rows]

    def change(self, action: str, path: str, versions: Sequence[int] | None) -> list[int]:
        chosen = self._chosen(path, versions)
        self.provider.change_versions(action, path, chosen)  # type: ignore[attr-defined]
        return chosen

    def rollback(self, path: str, to: str | None) -> tuple[str, str]:
        import json

        target, current = self._target(path, to)
        fetched = self.provider.fetch(path, str(target))
        value = fetched.value if isinstance(fetched.value, str) else json.dumps(fetched.value)
        new = self.provider.put(path, value, cas=current)
        return str(target), new


def _by_label() -> ConfigError:
    return ConfigError("AWS Secrets Manager keeps versions by staging label (AWSCURRENT, "
                       "AWSPREVIOUS): 'vaultline secret rollback' moves AWSCURRENT back; delete and "
                       "restore whole secrets with the AWS CLI")


class _Aws(Versions):
    def rows(self, path: str) -> list[VersionInfo]:
        raise _by_label()

    def change(self, action: str, path: str, versions: Sequence[int] | None) -> list[int]:
        raise _by_label()

    def rollback(self, path: str, to: str | None) -> tuple[str, str]:
        call: Any = getattr(self.provider, "_call")  # noqa: B009 - retries and error mapping
        answer = call(path, "list_secret_version_ids", SecretId=path)
        stages = {v["VersionId"]: v.get("VersionStages", []) for v in answer.get("Versions", [])}
        current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
        target = to or next((v for v, s in stages.items() if "AWSPREVIOUS" in s), None)
        if current is None or target is None or target not in stages:
            raise ConfigError(f"{path}: no {'version ' + repr(to) if to else 'AWSPREVIOUS version'}"
                              " to roll back to")
        if target != current:
            call(path, "update_secret_version_stage", write=True, SecretId=path,
                 VersionStage="AWSCURRENT", MoveToVersionId=target, RemoveFromVersionId=current)
        return target, target


def versions_of(provider: Provider) -> Versions:
    """The version operations for ``provider``, or a ConfigError saying where they exist."""
    kinds: dict[str, type[Versions]] = {"local": _Local, "vault": _Vault,
                                        "aws-secretsmanager": _Aws}
    kind = kinds.get(provider.type)
    if kind is None:
        raise ConfigError(f"provider {provider.name!r} ({provider.type}) keeps no versions "
                          "vaultline can manage; versions, rm, undelete and rollback work on "
                          "local, vault and (rollback) aws-secretsmanager")
    return kind(provider)


__all__ = ["ACTIONS", "Versions", "versions_of"]
