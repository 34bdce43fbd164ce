"""Anchors: the chain head published somewhere the machine holding the log cannot rewrite.

No check on one machine can tell a log, checkpoint and store rolled back *together* to an
older copy from the real thing. An anchor can: ``vaultline audit anchor --to vault:ops/audit``
writes the head (store id, seq, hash, time, MAC) to another provider — OpenBao/Vault KV
(with check-and-set, so two anchorers never overwrite each other blindly), AWS Secrets
Manager, or ``file:/some/other/disk/anchor.json`` — and ``audit verify --anchor`` fails when
the log no longer reaches that head. An anchor is never moved backwards: publishing a head
older than the one there already fails, which is itself a rollback alarm.

The MAC (a key derived from the master key) stops someone who can write the anchor's
location but lacks the key from planting a head that would pass.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from vaultline._files import private_dir, write_private
from vaultline._limits import parse_json
from vaultline.errors import (
    AuditError,
    ConfigError,
    ProviderError,
    SecretNotFoundError,
    VaultlineError,
    VaultlineWarning,
    VersionConflictError,
)

if TYPE_CHECKING:
    from vaultline.audit.checkpoint import Tip
    from vaultline.project.model import Project
    from vaultline.providers.base import Provider
    from vaultline.store.embedded import EmbeddedStore

ANCHOR_VERSION = 1
_FILE = "file:"


class Anchor(NamedTuple):
    store_id: str
    seq: int
    hash: str
    time: str
    mac: str

    def to_dict(self) -> dict[str, Any]:
        return {"v": ANCHOR_VERSION, "store": self.store_id, "seq": self.seq,
                "hash": self.hash, "time": self.time, "mac": self.mac}


def _mac(store: EmbeddedStore, store_id: str, seq: int, digest: str, time: str) -> str:
    message = f"vaultline-audit-anchor/v{ANCHOR_VERSION}\n{store_id}\n{seq}\n{digest}\n{time}"
    return hmac.new(store.derive_key("audit-anchor"), message.encode(),
                    hashlib.sha256).hexdigest()


def make_anchor(store: EmbeddedStore, tip: Tip, time: str) -> Anchor:
    return Anchor(store.store_id, tip.seq, tip.hash, time,
                  _mac(store, store.store_id, tip.seq, tip.hash, time))


def parse_anchor(store: EmbeddedStore, data: Any, where: str) -> Anchor:
    """An anchor read back from ``where``, checked: its MAC and that it is this store's."""
    try:
        if isinstance(data, str):
            data = parse_json(data)
        if data.get("v") != ANCHOR_VERSION:
            raise AuditError(f"the anchor at {where} has version {data.get('v')!r}; this "
                             f"vaultline reads version {ANCHOR_VERSION}")
        anchor = Anchor(str(data["store"]), int(data["seq"]), str(data["hash"]),
                        str(data["time"]), str(data["mac"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise AuditError(f"the anchor at {where} is not a vaultline audit anchor") from None
    if anchor.store_id != store.store_id:
        raise AuditError(f"the anchor at {where} belongs to another store "
                         f"({anchor.store_id}); anchor each store at its own path")
    expected = _mac(store, anchor.store_id, anchor.seq, anchor.hash, anchor.time)
    if not hmac.compare_digest(anchor.mac, expected):
        raise AuditError(f"the anchor at {where} does not match its MAC (it was written "
                         "without this store's master key)")
    return anchor


class AnchorTarget:
    """Where an anchor is kept: ``file:PATH`` or ``PROVIDER:PATH`` of the project."""

    def __init__(self, project: Project, target: str, *,
                 environ: Mapping[str, str] | None = None) -> None:
        """A provider target is reached with ``environ`` (default: the project's)."""
        self.text = target
        self._file: Path | None = None
        self._provider: Provider | None = None
        if target.startswith(_FILE):
            self._file = Path(target[len(_FILE):]).expanduser()
            if not target[len(_FILE):]:
                raise ConfigError("an anchor file needs a path: --to file:/path/anchor.json")
            return
        from vaultline.project.reference import Reference
        from vaultline.providers import registry

        ref = Reference.parse(target)
        if ref.path is None:
            raise ConfigError(f"anchor target {target!r} has no path: use PROVIDER:PATH, "
                              "e.g. vault:ops/audit-anchor or file:/mnt/other/anchor.json")
        config = project.provider_config(ref.provider)
        if config.type == "local" and (project.root / config.options.get(
                "path", project.store_dir)).resolve() == project.store_dir.resolve():
            # The anchor is what an attacker who rolls back .vaultline/ cannot roll back too.
            raise ConfigError(f"anchor target {target!r} is the embedded store the anchor "
                              "protects; anchor outside this machine, e.g. "
                              "vault:ops/audit-anchor or file:/mnt/other/anchor.json")
        self._path = ref.path
        self._provider = registry.create(config, project.provider_context("-", environ))

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()

    def read(self) -> tuple[Any, int]:
        """The stored anchor (``None`` if there is none yet) and its version for CAS."""
        if self._file is not None:
            from vaultline._limits import read_bounded

            # Bounded and non-blocking: a FIFO or a link to /dev/zero there must not hang
            # every command that audits (automatic anchors read it after each append).
            try:
                data = read_bounded(self._file, what="the anchor file", error=lambda why:
                                    AuditError(f"cannot read the anchor {self._file}: {why}"))
            except FileNotFoundError:
                return None, 0
            except OSError as exc:
                raise AuditError(f"cannot read the anchor {self._file}: {exc.strerror}") \
                    from None
            return data.decode("utf-8", "replace"), 0
        assert self._provider is not None
        try:
            fetched = self._provider.fetch(self._path)
        except SecretNotFoundError:
            return None, 0
        except ProviderError as exc:  # how the providers say "not found"
            if exc.missing or exc.reason.startswith("nothing at"):
                return None, 0
            raise
        version = fetched.version or ""
        return fetched.value, int(version) if version.isdigit() else 0

    def write(self, anchor: Anchor, version: int) -> None:
        text = json.dumps(anchor.to_dict(), separators=(",", ":"))
        if self._file is not None:
            private_dir(self._file.parent)
            write_private(self._file, (text + "\n").encode(), durable=True)
            return
        assert self._provider is not None
        cas = version if self._provider.type == "vault" else None
        self._provider.put(self._path, text, cas=cas)


def publish(store: EmbeddedStore, tip: Tip, time: str, target: AnchorTarget) -> Anchor:
    """Write ``tip`` as the anchor at ``target``; refuses to move an anchor backwards."""
    anchor = make_anchor(store, tip, time)
    for _ in range(3):  # a concurrent anchorer: read again, then write over theirs
        current, version = target.read()
        if current is not None:
            there = parse_anchor(store, current, target.text)
            if there.seq > tip.seq:
                raise AuditError(
                    f"the anchor at {target.text} records seq {there.seq} ({there.time}), "
                    f"beyond this log's seq {tip.seq}: the log was rolled back; run "
                    f"'vaultline audit verify --anchor {target.text}'")
        try:
            target.write(anchor, version)
        except VersionConflictError:
            continue
        return anchor
    raise AuditError(f"the anchor at {target.text} kept changing while writing it; retry")


def fetch(store: EmbeddedStore, target: AnchorTarget) -> Anchor:
    current, _ = target.read()
    if current is None:
        raise AuditError(f"no anchor at {target.text}; write one with "
                         f"'vaultline audit anchor --to {target.text}'")
    return parse_anchor(store, current, target.text)


def auto_anchor(project: Project, store: EmbeddedStore, to: str, every: int, *,
                environ: Mapping[str, str] | None = None) -> Callable[[int, Tip], None]:
    """An ``AuditLog.after_append`` hook publishing the head each time the log passes a
    multiple of ``every`` events. A failure warns: the command's own work went through."""
    from vaultline.audit.event import format_time

    def hook(before: int, head: Tip) -> None:
        if head.seq // every == before // every or head.damaged is not None:
            return
        try:
            target = AnchorTarget(project, to, environ=environ)
            try:
                publish(store, head, format_time(datetime.now(UTC)), target)
            finally:
                target.close()
        except VaultlineError as exc:
            warnings.warn(f"could not anchor the audit log at {to}: {exc}", VaultlineWarning,
                          stacklevel=2)

    return hook
