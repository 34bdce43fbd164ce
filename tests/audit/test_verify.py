"""Every kind of tampering is detected, at the right line, for the right reason."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from vaultline.audit import READ, WRITE, AuditLog
from vaultline.audit.checkpoint import META_NAME
from vaultline.audit.event import canonical
from vaultline.errors import AuditDamageWarning
from vaultline.store import EmbeddedStore


def fill(log: AuditLog, n: int = 8) -> None:
    for i in range(1, n + 1):
        log.record(READ if i % 2 else WRITE, env="prod", key=f"K{i}", value=f"value-{i}")


def rewrite(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    path.write_bytes(b"".join(change(path.read_bytes().splitlines(keepends=True))))


def edit(line: bytes, **fields: object) -> bytes:
    data = json.loads(line)
    data.update(fields)
    return json.dumps(data, separators=(",", ":")).encode() + b"\n"


def unkeyed_hash(body: dict[str, object]) -> str:
    """The best an attacker without the master key can do: the unkeyed hash of a line."""
    return hashlib.sha256(canonical(body)).hexdigest()


def forged(after: bytes, seq: int) -> bytes:
    """A line an attacker without the master key can write: chained to ``after``."""
    prev = json.loads(after)
    body = {**prev, "seq": seq, "prev": prev["hash"], "key": "Forged", "actor": "eve@box"}
    body["hash"] = unkeyed_hash(body)
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def test_intact_log_verifies(log: AuditLog) -> None:
    fill(log)
    result = log.verify()
    assert result.ok and result.lines == 8 and result.bad_line is None
    assert str(result).startswith("ok: 8 lines")


def test_empty_log_verifies(log: AuditLog) -> None:
    assert log.verify().ok and log.verify().lines == 0


CASES: list[tuple[str, Callable[[list[bytes]], list[bytes]], int, str]] = [
    ("edit a field", lambda ls: [*ls[:2], edit(ls[2], actor="someone@else"), *ls[3:]],
     3, "forged or edited"),
    ("edit the outcome", lambda ls: [*ls[:4], edit(ls[4], outcome="denied"), *ls[5:]],
     5, "forged or edited"),
    ("delete a line", lambda ls: [*ls[:3], *ls[4:]], 4, "deleted"),
    ("delete the first line", lambda ls: ls[1:], 1, "deleted"),
    ("delete two lines", lambda ls: [*ls[:2], *ls[4:]], 3, "deleted: 2 line(s)"),
    ("insert a copied line", lambda ls: [*ls[:5], ls[2], *ls[5:]], 6, "inserted: a copy of line 3"),
    ("insert a forged line", lambda ls: [*ls[:4], forged(ls[3], 5), *ls[4:]], 5,
     "forged or edited"),
    ("insert a forged first line", lambda ls: [forged(ls[0], 1).replace(
        json.loads(ls[0])["hash"].encode(), b"0" * 64), *ls], 1, "forged or edited"),
    ("reorder two lines", lambda ls: [*ls[:3], ls[4], ls[3], *ls[5:]], 4, "reordered"),
    ("move a line later", lambda ls: [ls[0], *ls[2:6], ls[1], *ls[6:]], 2, "reordered"),
    ("not JSON", lambda ls: [*ls[:6], b"{oops\n", *ls[7:]], 7, "not JSON"),
    ("nested too deeply", lambda ls: [*ls[:6], b"[" * 100_000 + b"\n", *ls[7:]], 7,
     "JSON nested deeper than 100 levels"),
    ("unknown version", lambda ls: [*ls[:1], edit(ls[1], v=9), *ls[2:]], 2, "unknown version 9"),
    ("missing field", lambda ls: [*ls[:1], ls[1].replace(b'"actor"', b'"akter"'), *ls[2:]],
     2, "malformed: missing field 'actor'"),
    ("cut mid-line", lambda ls: [*ls[:7], ls[7][:20]], 8, "incomplete line"),
    ("truncate the tail", lambda ls: ls[:5], 6, "truncated: the checkpoint records 8 lines"),
    ("truncate everything", lambda ls: [], 1, "truncated"),
]


@pytest.mark.parametrize(("change", "line", "reason"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_tampering_is_detected_at_its_line(
    log: AuditLog, change: Callable[[list[bytes]], list[bytes]], line: int, reason: str
) -> None:
    fill(log)
    rewrite(log.path, change)
    result = log.verify()
    assert not result.ok
    assert result.bad_line == line, str(result)
    assert result.reason is not None and result.reason.startswith(reason), result.reason
    assert str(result).startswith(f"line {line}: ")


def test_insert_a_copied_line_at_its_own_place_names_the_copy(log: AuditLog) -> None:
    fill(log)
    rewrite(log.path, lambda ls: [*ls[:5], ls[4], *ls[5:]])
    result = log.verify()
    # line 5 and line 6 claim seq 5; the rest of the chain follows one of them.
    assert result.bad_line == 5 and "not part of the chain" in str(result.reason)


def test_rewriting_the_whole_chain_without_the_key_fails_at_its_first_line(log: AuditLog) -> None:
    fill(log)
    rows = [json.loads(r) for r in log.path.read_bytes().splitlines()]
    rows[2]["actor"] = "someone@else"
    prev = rows[1]["hash"]
    for row in rows[2:]:  # recompute every hash after the edit, as a careful attacker would
        row["prev"] = prev
        row["hash"] = prev = unkeyed_hash(row)
    log.path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    result = log.verify()
    assert (result.bad_line, result.ok) == (3, False)
    assert "without the master key" in str(result.reason)


def test_appending_a_forged_tail_is_detected_by_itself(log: AuditLog) -> None:
    fill(log)
    rewrite(log.path, lambda ls: [*ls, forged(ls[-1], 9)])
    result = log.verify()
    assert result.bad_line == 9 and "forged or edited" in str(result.reason)


def test_editing_the_checkpoint_is_detected(log: AuditLog, store: EmbeddedStore) -> None:
    fill(log)
    data = json.loads(store.meta_get(META_NAME) or "")
    data["seq"] = 5  # pretend the log ended earlier, to hide a truncation
    store.meta_set(META_NAME, json.dumps(data))
    result = log.verify()
    assert not result.ok and result.bad_line is None
    assert str(result).startswith("checkpoint: ") and "MAC" in str(result.reason)


def test_removing_the_checkpoint_is_detected(log: AuditLog, store: EmbeddedStore) -> None:
    fill(log)
    store._db.execute("DELETE FROM meta WHERE name = ?", (META_NAME,))
    result = log.verify()
    assert not result.ok and "missing from the store" in str(result.reason)


def test_checkpoint_with_another_master_key_fails(
    log: AuditLog, store: EmbeddedStore, tmp_path: Path
) -> None:
    fill(log)
    keyless = AuditLog(log.path, hmac_key=None, checkpoint=None)
    assert "needs the store's master key" in str(keyless.verify().reason)
    from vaultline.audit import StoreCheckpoint

    forged_cp = AuditLog(log.path, hmac_key=None,
                         checkpoint=StoreCheckpoint(store, hashlib.sha256(b"guess").digest()),
                         chain_key=store.derive_key("audit-chain"))
    assert "MAC" in str(forged_cp.verify().reason)


# -- a writer that finds damage records it instead of hiding it -------------------------


def test_append_after_truncation_keeps_the_break_visible(log: AuditLog) -> None:
    fill(log)
    rewrite(log.path, lambda ls: ls[:5])
    with pytest.warns(AuditDamageWarning, match="recorded as audit.break at seq 6"):
        log.record(READ, key="after")
    result = log.verify()
    assert result.bad_line == 6 and not result.ok
    assert "already broken" in str(result.reason) and "checkpoint is at seq 8" in str(result.reason)
    rows = [json.loads(r) for r in log.path.read_bytes().splitlines()]
    assert [r["action"] for r in rows[5:]] == ["audit.break", READ]


def test_append_after_edited_checkpoint_keeps_the_break_visible(
    log: AuditLog, store: EmbeddedStore
) -> None:
    fill(log)
    store.meta_set(META_NAME, store.meta_get(META_NAME).replace('"seq":8', '"seq":3'))  # type: ignore[union-attr]
    with pytest.warns(AuditDamageWarning, match="MAC"):
        event = log.record(READ, key="after")
    assert event.seq == 10
    result = log.verify()
    assert result.bad_line == 9 and "MAC" in str(result.reason)


def test_append_after_a_cut_line_starts_a_fresh_line(log: AuditLog) -> None:
    fill(log)
    rewrite(log.path, lambda ls: [*ls[:7], ls[7][:30]])
    with pytest.warns(AuditDamageWarning, match="partial"):
        log.record(READ, key="after")
    raw = log.path.read_bytes().splitlines()
    assert len(raw) == 10 and json.loads(raw[9])["key"] == "after"
    result = log.verify()
    assert result.bad_line == 8 and result.reason == "not JSON"
