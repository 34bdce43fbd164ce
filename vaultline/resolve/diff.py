"""Two environments side by side, without showing a secret.

Keys present in one environment only, non-secret values that differ, and every secret
compared by keyed hash: HMAC-SHA256 under a key drawn for this comparison alone, so the
comparison leaves nothing behind that could be matched against a guessed value later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from vaultline.errors import ConfigError
from vaultline.resolve.bundle import Bundle, to_text

if TYPE_CHECKING:  # `vaultline --help` imports this module: no YAML for that
    from vaultline.project.model import Project

SAME, DIFFERENT, ONLY_A, ONLY_B, UNRESOLVED = ("same", "different", "only-in-a", "only-in-b",
                                               "unresolved")


class KeyDiff(NamedTuple):
    key: str
    secret: bool
    status: str  # one of the constants above
    a: Any = None  # the non-secret values; always None for a secret
    b: Any = None

    @property
    def differs(self) -> bool:
        return self.status != SAME


class EnvDiff(NamedTuple):
    a: str
    b: str
    keys: list[KeyDiff]

    @property
    def differs(self) -> bool:
        return any(k.differs for k in self.keys)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else to_text(value)


def _side(project: Project, env: str,
          environ: Mapping[str, str] | None) -> tuple[Bundle, set[str]]:
    from vaultline.resolve.session import Session

    with Session(project, env, environ=environ) as session:
        bundle, failures = session.resolve_partial()
    return bundle, {f.key for f in failures if f.key}


def compare(project: Project, a: str, b: str, *,
            environ: Mapping[str, str] | None = None) -> EnvDiff:
    import hashlib  # here, not at the top: `vaultline --help` imports this module
    import hmac
    import secrets

    if a == b:
        raise ConfigError(f"compare two different environments (got {a!r} twice): "
                          "vaultline env diff --env staging --env prod")
    left, left_failed = _side(project, a, environ)
    right, right_failed = _side(project, b, environ)
    key = secrets.token_bytes(32)

    def digest(value: Any) -> bytes:
        return hmac.new(key, _canonical(value).encode("utf-8", "surrogatepass"),
                        hashlib.sha256).digest()

    rows: list[KeyDiff] = []
    for name in sorted({*left, *right, *left_failed, *right_failed}):
        in_a, in_b = name in left, name in right
        ra = left.resolved(name) if in_a else None
        rb = right.resolved(name) if in_b else None
        secret = bool((ra and ra.secret) or (rb and rb.secret)
                      or (name in project.schema and project.schema[name].secret))
        if name in left_failed or name in right_failed:
            status = UNRESOLVED
        elif not in_b:
            status = ONLY_A
        elif not in_a:
            status = ONLY_B
        else:
            assert ra is not None and rb is not None
            equal = (hmac.compare_digest(digest(ra.value), digest(rb.value)) if secret
                     else _canonical(ra.value) == _canonical(rb.value))
            status = SAME if equal else DIFFERENT
        shown_a = None if secret or ra is None else ra.value
        shown_b = None if secret or rb is None else rb.value
        rows.append(KeyDiff(name, secret, status, shown_a, shown_b))
    return EnvDiff(a, b, rows)
