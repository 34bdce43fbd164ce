from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.factory import FakeClock
from vaultline.audit import (
    DENIED,
    DENY,
    OVERRIDE_SET,
    READ,
    WRITE,
    AuditEntry,
    AuditLog,
)
from vaultline.audit.event import GENESIS, ValueMac, line_hash
from vaultline.errors import AuditError
from vaultline.store import EmbeddedStore

SECRET = "postgres://app:Sup3r-s3cret-Canary@db/app"


def lines(log: AuditLog) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in log.path.read_bytes().splitlines()]


def test_record_appends_a_chained_versioned_line(log: AuditLog, clock: FakeClock,
                                                 store: EmbeddedStore) -> None:
    first = log.record(WRITE, env="prod", key="ConnectionStrings:Primary",
                       reference="local:app/prod/ConnectionStrings/Primary", value=SECRET,
                       detail={"version": 1})
    clock.advance(seconds=1)
    second = log.record(READ, env="prod", key="ConnectionStrings:Primary", value=SECRET,
                        actor="approle:ci")
    rows = lines(log)
    assert [r["seq"] for r in rows] == [1, 2]
    assert rows[0]["v"] == 2 and rows[0]["prev"] == GENESIS
    assert rows[1]["prev"] == rows[0]["hash"] == first.hash
    chain = ValueMac(store.derive_key("audit-chain"))
    assert rows[1]["hash"] == line_hash(rows[1], chain) == second.hash
    with pytest.raises(AuditError, match="master key"):
        line_hash(rows[1])  # a keyed line cannot be checked, or forged, without the key
    assert rows[0]["time"] == "2026-01-01T00:00:00.000000Z"
    assert rows[0]["actor"] == log.actor and "@" in log.actor
    assert rows[1]["actor"] == "approle:ci"
    assert rows[0]["detail"] == {"version": 1}
    assert log.verify().ok and log.verify().lines == 2


def test_log_file_is_created_0600(log: AuditLog) -> None:
    log.record(READ, key="A")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_value_never_written_and_equal_values_correlate(log: AuditLog) -> None:
    a = log.record(READ, env="dev", key="A", value=SECRET)
    b = log.record(READ, env="prod", key="B", value=SECRET.encode())
    c = log.record(READ, env="prod", key="C", value="something else")
    raw = log.path.read_bytes()
    assert SECRET.encode() not in raw
    assert a.value_hmac == b.value_hmac != c.value_hmac
    assert a.value_hmac is not None and len(a.value_hmac) == 64
    assert "Canary" not in repr(AuditEntry(READ, value=SECRET))


def test_value_hmac_is_keyed_per_store(tmp_path: Path, store: EmbeddedStore) -> None:
    other = AuditLog(tmp_path / "other.log", hmac_key=b"k" * 32, checkpoint=None)
    ours = AuditLog.for_store(store)
    assert other.record(READ, value=SECRET).value_hmac != ours.record(READ, value=SECRET).value_hmac
    assert AuditLog(tmp_path / "x.log", hmac_key=None, checkpoint=None).record(
        READ, value=SECRET).value_hmac is None


def test_detail_holding_the_value_is_refused(log: AuditLog) -> None:
    with pytest.raises(AuditError) as err:
        log.record(WRITE, key="A", value=SECRET, detail={"note": f"was {SECRET}"})
    assert SECRET not in str(err.value)
    assert not log.path.exists() or log.path.read_bytes() == b""


@pytest.mark.parametrize("action", ["Read", "read!", "", ".x"])
def test_malformed_action_is_refused(log: AuditLog, action: str) -> None:
    with pytest.raises(AuditError):
        log.record(action)


def test_unknown_outcome_is_refused(log: AuditLog) -> None:
    with pytest.raises(AuditError):
        log.record(READ, outcome="maybe")


def test_record_many_is_one_batch(log: AuditLog) -> None:
    log.record(WRITE, key="first")
    log.record_many(AuditEntry(READ, env="prod", key=f"K{i}", value=f"v{i}") for i in range(1000))
    log.record_many([])
    events = list(log.show())[1:]
    assert [e.seq for e in events] == list(range(2, 1002))
    assert [e.key for e in events] == [f"K{i}" for i in range(1000)]
    assert len({e.time for e in events}) == 1
    assert log.verify().ok and log.verify().lines == 1001



@pytest.mark.parametrize("bad", [
    AuditEntry("Read It", key="K"),
    AuditEntry("override.set\n", key="K"),
    AuditEntry(READ, key="K", outcome="maybe"),
    AuditEntry(READ, key="K", value="s3cret-value", detail={"note": "was s3cret-value"}),
], ids=["action", "action-line-break", "outcome", "value-in-detail"])
def test_one_bad_entry_in_a_batch_writes_nothing(log: AuditLog, bad: AuditEntry) -> None:
    log.record(WRITE, key="first")
    before = log.path.read_bytes()
    good = [AuditEntry(READ, env="prod", key=f"K{i}", value=f"v{i}") for i in range(3)]
    with pytest.raises(AuditError):
        log.record_many(iter([*good, bad, *good]))
    with pytest.raises(AuditError):
        log.record(bad.action, key=bad.key, outcome=bad.outcome, value=bad.value,
                   detail=bad.detail)
    assert log.path.read_bytes() == before
    log.record(READ, key="after")
    assert log.verify().ok and [e.key for e in log.show()] == ["first", "after"]

def test_reads_only_the_tail(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    log.record_many(AuditEntry(READ, key=f"K{i}") for i in range(5000))
    import os

    read_bytes: list[int] = []
    real = os.pread

    def counting(fd: int, n: int, offset: int) -> bytes:
        read_bytes.append(n)
        return real(fd, n, offset)

    monkeypatch.setattr(os, "pread", counting)
    log.record(READ, key="last")
    assert sum(read_bytes) < 20_000 < log.path.stat().st_size


def test_show_filters(log: AuditLog, clock: FakeClock) -> None:
    log.record(WRITE, env="prod", key="Db:Password", actor="ana@laptop")
    clock.advance(hours=2)
    log.record(READ, env="prod", key="Db:Password", actor="ci@runner")
    log.record(READ, env="dev", key="Api:Key", actor="ci@runner")
    log.record(OVERRIDE_SET, env="prod", key="Api:Key", actor="ana@laptop")
    log.record(DENY, env="prod", key="Db:Password", actor="eve@box", outcome=DENIED)

    def keys(**filters: object) -> list[tuple[str, str | None]]:
        return [(e.action, e.key) for e in log.show(**filters)]  # type: ignore[arg-type]

    assert len(keys()) == 5
    assert keys(actor="ci@runner") == [(READ, "Db:Password"), (READ, "Api:Key")]
    assert keys(actor="ana@*") == [(WRITE, "Db:Password"), (OVERRIDE_SET, "Api:Key")]
    assert keys(key="Db:*", action="read") == [(READ, "Db:Password")]
    assert keys(action="override") == [(OVERRIDE_SET, "Api:Key")]
    assert keys(env="dev") == [(READ, "Api:Key")]
    assert len(keys(since=clock.now)) == 4


def test_show_skips_unreadable_lines(log: AuditLog) -> None:
    log.record(READ, key="A")
    with log.path.open("ab") as handle:
        handle.write(b"garbage\n")
    errors: list[tuple[int, str]] = []
    assert [e.key for e in log.show(on_error=lambda n, why: errors.append((n, why)))] == ["A"]
    assert errors == [(2, "not JSON")]


def test_naive_clock_is_refused(tmp_path: Path) -> None:
    from datetime import datetime

    log = AuditLog(tmp_path / "a.log", hmac_key=None, checkpoint=None, clock=datetime.now)
    with pytest.raises(AuditError, match="timezone"):
        log.record(READ)


def test_detail_is_stored_sorted_and_verifies(log: AuditLog) -> None:
    event = log.record(OVERRIDE_SET, key="A", detail={"z": 1, "a": {"y": [1, "é"], "b": None}})
    raw = log.path.read_bytes()
    assert b'"detail":{"a":{"b":null,"y":[1,"\xc3\xa9"]},"z":1}' in raw
    assert list(event.detail or {}) == ["a", "z"]
    assert log.verify().ok


def test_unserializable_detail_is_refused(log: AuditLog) -> None:
    with pytest.raises(AuditError, match="not JSON-serializable"):
        log.record(WRITE, key="A", detail={"when": object()})


def test_restart_archives_and_starts_a_valid_chain(log: AuditLog, clock: FakeClock) -> None:
    for i in range(5):
        log.record(READ, key=f"K{i}")
    log.path.write_bytes(b"".join(log.path.read_bytes().splitlines(keepends=True)[:3]))
    assert not log.verify().ok
    archive = log.restart("INC-42: truncated by a cleanup script")
    assert archive.name == "audit.20260101T000000.000000Z.log"
    assert len(archive.read_bytes().splitlines()) == 3
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    log.record(READ, key="after")
    result = log.verify()
    assert result.ok and result.lines == 2
    first = next(iter(log.show()))
    assert first.action == "audit.restart" and first.detail is not None
    assert first.detail["previous_seq"] == 3 and first.detail["checkpoint_seq"] == 5
    assert next(f.summary for f in log.report().findings).startswith("log restarted: INC-42")
    with pytest.raises(AuditError):
        log.restart("  ")


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "unkeyed"])
@pytest.mark.parametrize("text", ["plain", "quo\"te", "back\\slash", "ünïcødé ☃", "ctl\x00\x1f\t\n",
                                  "\u2028line", "emoji 🎉", ""])
def test_encode_lines_is_byte_equal_to_canonical(text: str, keyed: bool) -> None:
    from vaultline.audit.event import canonical, encode_lines

    mac = ValueMac(b"k" * 32)
    chain = ValueMac(b"c" * 32) if keyed else None
    # (A detail that quoted the value would be refused: encode_lines checks each entry.)
    for detail, value in ((None, None), ({"b": text, "a": [1, None, True]}, f"value {text}")):
        entry = AuditEntry(READ, text or None, text, None, "ok", value, text or None, detail)
        (line,), seq, digest = encode_lines([entry], seq=6, prev="0" * 64,
                                            time="2026-11-24T00:00:00.000000Z",
                                            actor="me@host", mac=mac, chain=chain)
        body = {"v": 2 if keyed else 1, "seq": 7, "time": "2026-11-24T00:00:00.000000Z",
                "actor": text or "me@host", "action": "read", "env": text or None,
                "key": text, "reference": None, "outcome": "ok",
                "value_hmac": None if value is None else mac(value),
                "detail": detail and dict(sorted(detail.items())), "prev": "0" * 64}
        assert line == canonical(body)[:-1] + f',"hash":"{digest}"}}\n'.encode()
        assert seq == 7 and digest == line_hash(body, chain)


@pytest.mark.parametrize("key", [b"", b"k" * 32, b"\xff" * 64, b"long" * 40])
@pytest.mark.parametrize("value", ["", "postgres://app:s3cret@db/app", "ünï", b"\x00\xff"])
def test_value_mac_is_hmac_sha256(key: bytes, value: str | bytes) -> None:
    import hmac

    data = value.encode() if isinstance(value, str) else value
    mac = ValueMac(key)
    assert mac(value) == hmac.new(key, data, "sha256").hexdigest()
    assert mac(value) == mac(value)  # the keyed pads are copied, never consumed
    assert repr(mac) == "ValueMac(<key hidden>)"
