"""Publishing a rotated value to each kind of store as one atomic, fenced write.

- the embedded store and OpenBao/Vault KV v2: a check-and-set write on the version read at
  plan time (``cas``): a write since then makes the publish fail, not overwrite;
- AWS Secrets Manager: the value is staged ``AWSPENDING`` under the rotation id (the
  ``ClientRequestToken``), then ``AWSCURRENT`` is moved to it with ``RemoveFromVersionId`` set
  to the version current at plan time: AWS refuses the move if that version lost the stage;
- stores without check-and-set (Azure Key Vault): read, compare and write under a lock held
  in the embedded store, so two vaultline rotations cannot interleave.

Retiring the replaced version drops its ``previous`` stage: the embedded store and KV v2
soft-delete it, AWS removes ``AWSPREVIOUS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from vaultline.errors import ProviderError, RotationError, SecretNotFoundError, VersionConflictError
from vaultline.providers.base import Provider
from vaultline.store import EmbeddedStore


class PublishConflict(RotationError):
    """Someone else wrote the secret since the rotation read it: nothing was published."""


def current(provider: Provider, path: str) -> tuple[str | None, str | None]:
    """The current value (as text; a KV map as JSON) and its version; (None, None) if none."""
    try:
        fetched = provider.fetch(path)
    except ProviderError as exc:
        if exc.missing:
            return None, None
        raise
    value = fetched.value
    if not isinstance(value, str):
        value = value["value"] if list(value) == ["value"] else json.dumps(
            value, separators=(",", ":"))
    return str(value), fetched.version


def publish(provider: Provider, path: str, value: str, *, base: str | None, token: str,
            store: EmbeddedStore) -> str:
    """Make ``value`` current if ``base`` still is; the new version. Raises PublishConflict."""
    if provider.type in ("local", "vault"):
        try:
            return provider.put(path, value, cas=int(base or 0))
        except VersionConflictError:
            raise PublishConflict(f"{provider.name}:{path} was written since the rotation "
                                  "read it; nothing was published") from None
    if provider.type == "aws-secretsmanager":
        from vaultline.providers.aws import CURRENT, PENDING, AwsSecretsManagerProvider

        assert isinstance(provider, AwsSecretsManagerProvider)
        version = provider.put_pending(path, value, token)
        if base is None:  # created by this rotation: already AWSCURRENT
            return version
        try:
            provider.move_stage(path, CURRENT, to=version, away_from=base)
        except ProviderError as exc:
            if "not found in version" in exc.reason or "InvalidParameter" in exc.reason:
                raise PublishConflict(f"{provider.name}:{path}: AWSCURRENT moved since the "
                                      "rotation read it; nothing was published") from None
            raise
        # A leftover AWSPENDING is what blocks later rotations elsewhere: leave none behind.
        if PENDING in provider.stages(path).get(version, []):
            provider.move_stage(path, PENDING, to=None, away_from=version)
        return version
    with store_lock(store, f"{provider.name}/{path}", token):
        _, now = current(provider, path)
        if now != base:
            raise PublishConflict(f"{provider.name}:{path} was written since the rotation read "
                                  "it; nothing was published")
        return provider.put(path, value)


def discard_pending(provider: Provider, path: str, token: str) -> None:
    """An aborted rotation leaves no AWSPENDING version behind (other stores staged nothing)."""
    if provider.type != "aws-secretsmanager":
        return
    from vaultline.providers.aws import PENDING, AwsSecretsManagerProvider

    assert isinstance(provider, AwsSecretsManagerProvider)
    try:
        staged = provider.stages(path).get(token, [])
    except ProviderError:
        return  # no secret: nothing was staged
    if PENDING in staged:
        provider.move_stage(path, PENDING, to=None, away_from=token)


def drop_previous(provider: Provider, path: str, version: str | None) -> list[int]:
    """The replaced version stops resolving as ``@previous``; the embedded store's versions
    this deleted (the audit names them)."""
    if version is None:
        return []
    if provider.type == "local":
        from vaultline.providers.local import LocalProvider

        assert isinstance(provider, LocalProvider)
        try:
            return provider.store.delete(path.strip("/"), [int(version)])
        except SecretNotFoundError:
            return []
    if provider.type == "vault":
        from vaultline.providers.vault import VaultProvider

        assert isinstance(provider, VaultProvider)
        provider.delete_versions(path, [int(version)])
    elif provider.type == "aws-secretsmanager":
        from vaultline.providers.aws import PREVIOUS, AwsSecretsManagerProvider

        assert isinstance(provider, AwsSecretsManagerProvider)
        if PREVIOUS in provider.stages(path).get(version, []):
            provider.move_stage(path, PREVIOUS, to=None, away_from=version)
    # Other stores keep their versions; the credential behind it is what retire ends.
    return []


@contextmanager
def store_lock(store: EmbeddedStore, name: str, holder: str) -> Iterator[None]:
    """A lock record in the embedded store, taken and released by check-and-set writes."""
    locks = store.records("locks")
    try:
        value, version = locks.get(name)
        owner = json.loads(value).get("holder")
    except SecretNotFoundError:
        version, owner = 0, None
    if owner not in (None, holder):
        raise RotationError(f"{name} is locked by rotation {owner}; resume or abort it first")
    try:
        version = locks.put(name, json.dumps({"holder": holder}).encode(), cas=version)
    except VersionConflictError:
        raise RotationError(f"{name} is being written by another rotation; try again") from None
    try:
        yield
    finally:
        locks.put(name, json.dumps({"holder": None}).encode(), cas=version)
