"""The tamper-evident audit log: ``.vaultline/audit.log``, one keyed-chain JSON line per event.

    log = AuditLog.for_store(store)
    log.record(READ, env="prod", key="ConnectionStrings:Primary",
               reference="local:nexus-engine/prod/ConnectionStrings/Primary", value=secret)
    log.record_many([AuditEntry(READ, env="prod", key=k, value=v) for k, v in resolved])
    with log.recording(WRITE, key=k, reference=f"local:{path}", value=v) as detail:
        detail["version"] = store.put(path, v)      # intent line before, outcome after
    log.verify()   # VerifyResult: ok, lines, bad_line, reason, crash_tail, ...

The threat model (what is detected locally, what needs an anchor) is in
docs/design/threat-model.md.
"""

import importlib
from typing import TYPE_CHECKING, Any

from vaultline.audit.checkpoint import Checkpoint, StoreCheckpoint, Tip
from vaultline.audit.event import (
    ACTIONS,
    AUDIT_BREAK,
    AUDIT_RESTART,
    DELETE,
    DENIED,
    DENY,
    DESTROY,
    FAILED,
    INTENT,
    KEY_CREATE,
    KEY_DECRYPT,
    KEY_DESTROY,
    KEY_ENCRYPT,
    KEY_PROMOTE,
    KEY_RETIRE,
    KEY_REWRAP,
    KEY_ROTATE,
    KEY_SIGN,
    OK,
    OUTCOMES,
    OVERRIDE_APPLY,
    OVERRIDE_APPROVE,
    OVERRIDE_EXPIRE,
    OVERRIDE_REQUEST,
    OVERRIDE_REVOKE,
    OVERRIDE_SET,
    READ,
    REVEAL,
    ROTATE,
    UNDELETE,
    WRITE,
    AuditEntry,
    AuditEvent,
)
from vaultline.audit.log import AuditLog, default_actor, in_user_namespace

if TYPE_CHECKING:
    from vaultline.audit.query import EventFilter, duration_or_none, parse_since
    from vaultline.audit.report import Finding, Report, ReportSettings
    from vaultline.audit.verify import VerifyResult

# Reading-back names load on first use: appending (every command) should not pay for them.
_LAZY = {
    "EventFilter": "vaultline.audit.query", "duration_or_none": "vaultline.audit.query",
    "parse_since": "vaultline.audit.query", "Finding": "vaultline.audit.report",
    "Report": "vaultline.audit.report", "ReportSettings": "vaultline.audit.report",
    "VerifyResult": "vaultline.audit.verify",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vaultline.audit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

__all__ = [
    "ACTIONS", "AUDIT_BREAK", "AUDIT_RESTART", "DELETE", "DENIED", "DENY", "DESTROY", "FAILED",
    "INTENT", "KEY_CREATE",
    "KEY_DECRYPT", "KEY_DESTROY", "KEY_ENCRYPT", "KEY_PROMOTE", "KEY_RETIRE", "KEY_REWRAP",
    "KEY_ROTATE", "KEY_SIGN", "OK", "OUTCOMES", "OVERRIDE_APPLY", "OVERRIDE_APPROVE",
    "OVERRIDE_EXPIRE", "OVERRIDE_REQUEST", "OVERRIDE_REVOKE", "OVERRIDE_SET", "READ", "REVEAL",
    "ROTATE", "UNDELETE", "WRITE",
    "AuditEntry", "AuditEvent", "AuditLog", "Checkpoint", "EventFilter", "Finding", "Report",
    "ReportSettings", "StoreCheckpoint", "Tip", "VerifyResult", "default_actor",
    "duration_or_none", "in_user_namespace", "parse_since",
]
