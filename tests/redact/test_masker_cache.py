"""The encrypted masker cache: a hit masks exactly like a fresh build, any change misses,
and nothing on disk shows a secret."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from vaultline.redact import _matchers
from vaultline.redact.cache import MaskerCache
from vaultline.redact.masker import Masker

SECRETS = ["correct-horse-battery-staple", "s3cr3t-token-0123456789", "line one\nline two long"]
TEXT = ("x correct-horse-battery-staple y " + base64.b64encode(b"s3cr3t-token-0123456789").decode()
        + " line two long\n").encode()


def test_hit_masks_like_a_fresh_build(tmp_path: Path) -> None:
    cache = MaskerCache(tmp_path / "cache", os.urandom(32), "prod")
    fresh = Masker(SECRETS).mask_bytes(TEXT)
    first = Masker(SECRETS, cache=cache)
    [slot] = (tmp_path / "cache").iterdir()
    assert stat.S_IMODE(slot.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    data = slot.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in data and b"s3cr3t" not in data and b"horse" not in data
    digest = cache.digest(SECRETS, "x")
    assert cache.load(digest) is None  # bound to the exact version string too
    second = Masker(SECRETS, cache=cache)
    assert first.mask_bytes(TEXT) == second.mask_bytes(TEXT) == fresh
    assert b"horse" not in fresh
    stream = second.stream()
    assert stream.feed(TEXT[:5]) + stream.feed(TEXT[5:]) + stream.flush() == fresh


def test_changed_value_misses_and_wrong_key_misses(tmp_path: Path) -> None:
    key = os.urandom(32)
    cache = MaskerCache(tmp_path, key, "prod")
    Masker(SECRETS, cache=cache)
    changed = [*SECRETS[:-1], "a-brand-new-value-here"]
    masked = Masker(changed, cache=cache).mask_bytes(b"see a-brand-new-value-here")
    assert masked == b"see ********"
    other = MaskerCache(tmp_path, os.urandom(32), "prod")
    assert other.load(other.digest(changed, "0")) is None


def test_damaged_cache_is_a_miss(tmp_path: Path) -> None:
    cache = MaskerCache(tmp_path, os.urandom(32), "prod")
    Masker(SECRETS, cache=cache)
    [slot] = tmp_path.iterdir()
    slot.write_bytes(slot.read_bytes()[:-3] + b"xyz")
    assert Masker(SECRETS, cache=cache).mask_bytes(TEXT) == Masker(SECRETS).mask_bytes(TEXT)


def test_staged_masks_at_once_then_compiles_and_caches(tmp_path: Path) -> None:
    cache = MaskerCache(tmp_path / "cache", os.urandom(32), "prod")
    fresh = Masker(SECRETS).mask_bytes(TEXT)
    staged = Masker.staged(SECRETS, cache)
    assert staged.ready is None
    quick = staged.quick()
    assert quick.backend == "ahocorasick" and quick.mask_bytes(TEXT) == fresh
    assert not (tmp_path / "cache").exists()  # nothing cached before the compile
    faster = staged.compiled()
    assert faster.backend == "hyperscan" and faster.mask_bytes(TEXT) == fresh
    again = Masker.staged(SECRETS, cache)  # the next run: from the cache
    assert again.ready is not None and again.ready.backend == "hyperscan"
    assert again.quick() is again.ready and again.ready.mask_bytes(TEXT) == fresh


def _loads_within(cache: MaskerCache, seconds: float = 20) -> bool:
    """Whether a cache lookup returns (a miss) instead of blocking or filling memory."""
    import threading

    done = threading.Event()

    def look() -> None:
        cache.load(cache.digest(SECRETS, "0"))
        done.set()

    threading.Thread(target=look, daemon=True).start()
    return done.wait(seconds)


def test_a_fifo_device_or_huge_file_in_the_slot_is_a_miss(tmp_path: Path) -> None:
    # Whoever can write the cache directory cannot hang `run` (a FIFO nobody writes), feed it
    # /dev/zero or make it allocate a sparse file's size: such a slot is not read at all.
    from vaultline._limits import limit

    cache = MaskerCache(tmp_path, os.urandom(32), "prod")
    Masker(SECRETS, cache=cache)
    [slot] = tmp_path.iterdir()
    slot.unlink()
    os.mkfifo(slot)
    assert _loads_within(cache)
    slot.unlink()
    slot.symlink_to("/dev/zero")
    assert _loads_within(cache)
    slot.unlink()
    with slot.open("wb") as handle:
        handle.truncate(limit("masker-cache") + 1)  # sparse: no disk used
    assert _loads_within(cache)
    assert Masker(SECRETS, cache=cache).mask_bytes(TEXT) == Masker(SECRETS).mask_bytes(TEXT)


def test_many_patterns_compile_in_parts_that_mask_and_cache_as_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SPLIT_ABOVE, Hyperscan gets several databases compiled in parallel (one would
    take seconds for tens of thousands of secrets): together they find what one finds, the
    stream still masks a value split across chunks, and the cache keeps every part."""
    monkeypatch.setattr(_matchers, "SPLIT_ABOVE", 32)
    monkeypatch.setattr(_matchers, "PART_PATTERNS", 16)
    values = [f"tok-{i:03d}-" + os.urandom(8).hex() for i in range(40)]
    text = "\n".join(f"{v} and {base64.b64encode(v.encode()).decode()}" for v in values[::3])
    data = f"start {text} end\n".encode()
    expected = Masker(values, backend="python").mask_bytes(data)
    assert expected.count(b"********") == 2 * len(values[::3])
    cache = MaskerCache(tmp_path, os.urandom(32), "prod")
    built = Masker(values, backend="hyperscan", cache=cache)
    assert len(built._matcher._dbs) >= 10
    assert len(Masker(values[:3], backend="hyperscan")._matcher._dbs) == 1  # up to 32: one
    loaded = Masker(values, backend="hyperscan", cache=cache)
    assert len(loaded._matcher._dbs) == len(built._matcher._dbs)
    for masker in (built, loaded):
        assert masker.mask_bytes(data) == expected
        stream = masker.stream()
        assert b"".join([*(stream.feed(data[i:i + 7]) for i in range(0, len(data), 7)),
                         stream.flush()]) == expected


# Values that reach every kind of form: plain, ~ (form encoding), URL characters, quotes and
# backslashes (JSON, repr), non-ASCII, several lines.
FORM_SAMPLES = ["plain-generated_0123", "tilde~secret_value1", "p@ss!w0rd*(x)'<&>/$;=,é+ k~%:?#",
                "pa'ss\"wo\\rd-\u00e9-\n-tail", "-----BEGIN KEY-----\nMC4CAQAwBQYDK2VwBCIE\n"]
#: The forms of FORM_SAMPLES under each cache FORMAT: a cached masker built with other forms
#: must miss, so changing the forms means a new FORMAT (and a new line here).
FORMS_BY_FORMAT = {
    b"vaultline-masker-5": "60560b72fc6aa93ff1c3dd0148732e42b20d55a59f7e0875379f518168f9a2f5",
    b"vaultline-masker-6": "29e23a001bcd20b7752a768943de2f11fd419b4dce0868e9b5948acfab80e97c",
}


def test_changed_forms_come_with_a_new_cache_format() -> None:
    import hashlib

    from vaultline.redact import cache
    from vaultline.redact._forms import encoded_forms

    forms = sorted(set().union(*map(encoded_forms, FORM_SAMPLES)))
    digest = hashlib.sha256(b"\0".join(forms)).hexdigest()
    assert FORMS_BY_FORMAT.get(cache.FORMAT) == digest, (
        "the encoded forms changed: bump cache.FORMAT so maskers cached with the old ones miss")
