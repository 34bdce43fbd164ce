from __future__ import annotations

import base64
import json
import sys
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultline.redact import Masker, StreamMasker
from vaultline.redact._matchers import Backend

M = b"********"
SECRET = "s3cr3t/valu+e=?&\"x"


def masked(secrets: list[str], data: bytes, backend: Backend) -> bytes:
    return Masker(secrets, backend=backend).mask_bytes(data)


def streamed(masker: Masker, data: bytes, cuts: list[int]) -> bytes:
    stream = masker.stream()
    pieces, last = [], 0
    for cut in [*sorted(cuts), len(data)]:
        pieces.append(stream.feed(data[last:cut]))
        last = cut
    pieces.append(stream.flush())
    return b"".join(pieces)


@pytest.mark.parametrize(
    ("secrets", "data", "expected"),
    [
        (["hunter22"], b"password=hunter22;", b"password=" + M + b";"),
        (["hunter22"], b"hunter22hunter22", M + M),
        (["pass", "password"], b"my password", b"my " + M),
        (["pass", "password"], b"my pass word", b"my " + M + b" word"),
        # overlapping values: one mask for the union, neither is half shown
        (["abcd", "cdef"], b"xabcdefx", b"x" + M + b"x"),
        (["aa"], b"aaaaa", M),
        (["x", ""], b"x marks the spot", b"x marks the spot"),
        (["xy"], b"xyz", M + b"z"),
        (["p\u00e4ss"], "a p\u00e4ss b".encode(), b"a " + M + b" b"),
    ],
)
def test_mask_bytes(secrets: list[str], data: bytes, expected: bytes, backend: Backend) -> None:
    assert masked(secrets, data, backend) == expected


def test_custom_mask(backend: Backend) -> None:
    assert Masker(["hunter22"], "[redacted]", backend=backend).mask_str("a hunter22") == (
        "a [redacted]"
    )


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        base64.b64encode(SECRET.encode()).decode(),
        base64.b64encode(SECRET.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
        quote(SECRET),
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        json.dumps(SECRET)[1:-1],
    ],
)
def test_encoded_forms_are_masked(form: str, backend: Backend) -> None:
    assert Masker([SECRET], backend=backend).mask_str(f"<{form}>") == "<********>"


@pytest.mark.parametrize("prefix_len", range(6))
@pytest.mark.parametrize("suffix", [b"", b"!", b"!?", b"!?#"])
def test_base64_inside_a_longer_base64_stream(
    prefix_len: int, suffix: bytes, backend: Backend
) -> None:
    # Whatever the alignment, the characters that come from the value alone are masked.
    value = "correct-horse-battery"
    stream = base64.b64encode(b"P" * prefix_len + value.encode() + suffix)
    out = Masker([value], backend=backend).mask_bytes(stream)
    assert M in out
    left = out.split(M)
    # At most the 3 characters that mix in neighbouring bytes survive on each side.
    assert len(left[0]) <= (4 * prefix_len) // 3 + 1
    assert len(left[-1]) <= (4 * len(suffix)) // 3 + 4


def test_json_escaped_value(backend: Backend) -> None:
    value = 'line1\nline2\t"quoted"\\'
    document = json.dumps({"password": value}).encode()
    assert Masker([value], backend=backend).mask_bytes(document) == b'{"password": "' + M + b'"}'


@pytest.mark.parametrize("short", ["", "a", "\u00e4"])
def test_short_values_are_never_masked(short: str, backend: Backend) -> None:
    masker = Masker([short], backend=backend)
    assert masker.backend == "none"
    assert masker.mask_str("a\u00e4a a") == "a\u00e4a a"


def test_repr_shows_no_secret(backend: Backend) -> None:
    masker = Masker(["hunter22"], backend=backend)
    stream = masker.stream()
    stream.feed(b"hunter")
    for text in (repr(masker), repr(stream)):
        assert "hunter" not in text


def test_from_bundle() -> None:
    class Bundle:
        def secret_values(self) -> list[str]:
            return ["hunter22"]

    assert Masker.from_bundle(Bundle()).mask_str("hunter22") == "********"


def test_forced_backend_names(backend: Backend) -> None:
    assert Masker(["hunter22"], backend=backend).backend == backend


def test_auto_falls_back_without_hyperscan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # import raises ImportError
    assert Masker(["hunter22"]).backend == "python"


# -- streaming ----------------------------------------------------------------------------


def test_value_split_across_reads(backend: Backend) -> None:
    masker = Masker(["hunter22"], backend=backend)
    stream = masker.stream()
    assert stream.feed(b"pw: hun") == b"pw: "
    assert stream.pending == 3
    assert stream.feed(b"ter22 ok\n") == M + b" ok\n"
    assert stream.flush() == b""


def test_holds_back_only_a_possible_prefix(backend: Backend) -> None:
    stream = Masker(["hunter22"], backend=backend).stream()
    assert stream.feed(b"nothing to see\n") == b"nothing to see\n"
    assert stream.feed(b"almost hunte") == b"almost "
    assert stream.feed(b"d") == b"hunted"


def test_longest_match_across_reads(backend: Backend) -> None:
    stream = Masker(["pass", "password"], backend=backend).stream()
    out = stream.feed(b"a pass") + stream.feed(b"word b") + stream.flush()
    assert out == b"a " + M + b" b"


def test_feeding_after_a_forced_flush_masks_the_rest(backend: Backend) -> None:
    stream = Masker(["hunter22"], backend=backend).stream()
    assert stream.feed(b"hun") == b""
    assert stream.flush(pause=True) == b"hun"  # the runner's flush: too short to tell
    assert stream.feed(b"ter22 x") + stream.flush() == M + b" x"


def test_a_pause_in_the_middle_of_a_secret_masks_what_came_so_far(backend: Backend) -> None:
    # A child paused while writing a secret (a loaded machine, a slow pipe): the runner's
    # flush must not show the part written so far, and what follows joins the same mask.
    stream = Masker(["hunter22"], backend=backend).stream()
    assert stream.feed(b"key: hunt") == b"key: "
    assert stream.flush(pause=True) == M
    assert stream.feed(b"er") + stream.flush(pause=True) == b""
    assert stream.feed(b"22 x") + stream.flush() == b" x"


def test_a_pause_masks_a_prefix_only_from_four_bytes(backend: Backend) -> None:
    from vaultline.redact.masker import PAUSE_MASK_BYTES

    stream = Masker(["hunter22"], backend=backend).stream()
    shown = []
    for byte in b"hunted":  # typed one key at a time: each echo is a pause
        shown.append(stream.feed(bytes([byte])) + stream.flush(pause=True))
    assert shown == [b"h", b"u", b"n", M, b"", b"d"]
    assert PAUSE_MASK_BYTES == 4
    # At the end of the stream a prefix is text, as mask_bytes shows it.
    end = Masker(["hunter22"], backend=backend).stream()
    assert end.feed(b"hunte") + end.flush() == b"hunte"


def test_a_long_secret_paused_anywhere_is_one_mask(backend: Backend) -> None:
    # Pieces of a form over MAX_PATTERN_BYTES overlap: wherever the child pauses inside it,
    # the part so far is a secret's start long enough to mask.
    import secrets as random

    from vaultline.redact.masker import MAX_PATTERN_BYTES

    value = random.token_urlsafe(3 * MAX_PATTERN_BYTES)
    masker = Masker([value], backend=backend)
    data = ("begin " + value + " end").encode()
    for cut in [len("begin ") + n for n in (4, 100, MAX_PATTERN_BYTES - 17, MAX_PATTERN_BYTES,
                                            MAX_PATTERN_BYTES + 3, 2 * MAX_PATTERN_BYTES - 20,
                                            len(value) - 1)]:
        stream = masker.stream()
        out = stream.feed(data[:cut]) + stream.flush(pause=True)
        out += stream.feed(data[cut:]) + stream.flush()
        assert out == b"begin " + M + b" end", cut


alphabet = "ab+/=%\\\"\n\u00e9"
secret_st = st.text(alphabet=alphabet, min_size=0, max_size=12)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[str], bytes, list[int]]:
    secrets = draw(st.lists(secret_st, min_size=1, max_size=5))
    forms = ["xyz"] + [s for s in secrets if s]
    forms += [base64.b64encode(s.encode()).decode() for s in forms]
    forms += [json.dumps(s)[1:-1] for s in secrets if s]
    forms += [quote_plus(s) for s in secrets if s]
    pieces = draw(
        st.lists(
            st.one_of(st.text(alphabet=alphabet + "xyz ", max_size=8), st.sampled_from(forms)),
            max_size=20,
        )
    )
    data = "".join(pieces).encode()
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=8))
    return secrets, data, cuts


@pytest.mark.parametrize("backend", ["hyperscan", "python"])
@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenario())
def test_streamed_equals_whole_buffer_and_leaks_nothing(
    backend: Backend, case: tuple[list[str], bytes, list[int]]
) -> None:
    secrets, data, cuts = case
    masker = Masker(secrets, backend=backend)
    whole = masker.mask_bytes(data)
    assert streamed(masker, data, cuts) == whole
    for secret in secrets:
        if len(secret) >= 2:
            assert secret.encode() not in whole
            assert base64.b64encode(secret.encode()) not in whole


@settings(max_examples=100, derandomize=True, deadline=None)
@given(scenario())
def test_backends_agree(case: tuple[list[str], bytes, list[int]]) -> None:
    secrets, data, _ = case
    hyperscan = Masker(secrets, backend="hyperscan").mask_bytes(data)
    assert hyperscan == Masker(secrets, backend="python").mask_bytes(data)
    assert hyperscan == Masker(secrets, backend="ahocorasick").mask_bytes(data)


def test_stream_without_secrets_passes_through() -> None:
    stream: StreamMasker = Masker([]).stream()
    assert stream.feed(b"abc") == b"abc"
    assert stream.flush() == b""


def test_small_writes_cost_no_rescan_of_the_held_tail(backend: Backend,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # A PEM key is a 4 KiB secret whose alphabet is all of ordinary text: a child writing a
    # byte at a time (a progress bar, a terminal's echo) made every write look again at
    # every suffix of the last 4 KiB, so vaultline spent a CPU masking 1 KB/s.
    from bisect import bisect_left

    from vaultline.redact import masker as masker_module

    body = base64.b64encode(bytes(range(256)) * 12).decode()
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(
        body[i:i + 64] for i in range(0, len(body), 64)) + "\n-----END PRIVATE KEY-----\n"
    masker = Masker([pem, "short-secret-1"], backend=backend)
    lookups = 0

    def counting(*args: object, **kwargs: object) -> int:
        nonlocal lookups
        lookups += 1
        return bisect_left(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(masker_module, "bisect_left", counting)
    text = b"The quick brown fox jumps over the lazy dog; short-secret-1 " * 100
    stream = masker.stream()
    out = b"".join(stream.feed(text[i:i + 1]) for i in range(len(text))) + stream.flush()
    assert out == masker.mask_bytes(text) and b"short-secret-1" not in out
    assert lookups < 20 * len(text)  # it was thousands per byte


def test_a_value_longer_than_a_pattern_can_be_is_masked_whole(backend: Backend) -> None:
    """A certificate bundle or kubeconfig can be large; Hyperscan refuses a literal
    of more than 16,000 bytes (the masker build failed with an internal error), so a long
    form is masked as overlapping pieces, which merge into one mask."""
    import random

    rnd = random.Random(7)
    value = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789+/é€") for _ in range(40_000))
    masker = Masker([value], backend=backend)
    assert masker.max_len <= 4096  # what the stream holds back stays small too
    data = ("head " + value + " and again " + value + " tail").encode()
    assert masker.mask_bytes(data) == b"head " + M + b" and again " + M + b" tail"
    cuts = sorted(rnd.sample(range(1, len(data)), 40))
    assert streamed(masker, data, cuts) == b"head " + M + b" and again " + M + b" tail"
    assert masker.mask_str("x" + value[:-1]).startswith("x")  # a piece is no short pattern
