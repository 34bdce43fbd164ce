"""Masking output with terminal escape sequences: a secret coloured in pieces is masked, the
sequences survive, and the text is masked exactly as without them."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultline.redact import Masker
from vaultline.redact._matchers import Backend
from vaultline.redact.masker import StreamMasker
from vaultline.redact.terminal import TerminalMasker

SECRET = "postgres://app:s3cret-canary@db/app"
SEQUENCES = [b"\x1b[01;31m\x1b[K", b"\x1b[m\x1b[K", b"\x1b[0m", b"\x1b[38;5;208m", b"\x1b(B",
             b"\x1b]0;title\x07", b"\x1b]8;;https://example.org\x1b\\", b"\x1b[2K\r"]
_ANY = re.compile(rb"\x1b(?:\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|[\]PX^_][^\x07\x1b]*(?:\x07|"
                  rb"\x1b\\)|[\x20-\x2f]*[\x30-\x7e])")


def through(masker: Masker, data: bytes, cuts: list[int]) -> bytes:
    stream = TerminalMasker(masker)
    out, at = [], 0
    for cut in sorted(cuts):
        out.append(stream.feed(data[at:cut]))
        at = cut
    out.append(stream.feed(data[at:]))
    return b"".join(out) + stream.flush()


@pytest.mark.parametrize("shown", [
    # grep --color=always highlighting a match inside the value
    b"url=postgres://app:s3cret-\x1b[01;31m\x1b[Kcanary\x1b[m\x1b[K@db/app\n",
    # a colourer giving each character its own colour
    b"".join(b"\x1b[3%dm%c" % (i % 8, c) for i, c in enumerate(SECRET.encode())) + b"\x1b[0m\n",
    # a word diff: the changed part coloured
    b"- postgres://app:\x1b[31ms3cret\x1b[m-canary@db/app\n",
])
@pytest.mark.parametrize("cuts", [[], [3], [20, 21, 22], list(range(0, 200, 7))])
def test_a_secret_split_by_sequences_is_masked(shown: bytes, cuts: list[int],
                                               backend: Backend) -> None:
    out = through(Masker([SECRET], backend=backend), shown, cuts)
    assert b"********" in out
    text = _ANY.sub(b"", out)
    assert b"canary" not in text and b"s3cret" not in text, out
    # every sequence is still there, in order: colours set inside the value still take effect
    assert _ANY.findall(out) == _ANY.findall(shown)


def test_a_secret_inside_a_title_or_hyperlink_is_masked(backend: Backend) -> None:
    masker = Masker([SECRET], backend=backend)
    shown = b"\x1b]0;psql " + SECRET.encode() + b"\x07\x1b]8;;" + SECRET.encode() + b"\x1b\\x\n"
    out = through(masker, shown, [5, 40])
    assert SECRET.encode() not in out and out.count(b"********") == 2


def test_an_unfinished_sequence_is_held_and_flushed_masked(backend: Backend) -> None:
    masker = Masker([SECRET], backend=backend)
    stream = TerminalMasker(masker)
    assert stream.feed(b"ok \x1b[3") == b"ok "
    assert stream.pending == 3
    assert stream.feed(b"1mred\x1b[0m\n") == b"\x1b[31mred\x1b[0m\n"
    assert stream.feed(b"\x1b]0;" + SECRET.encode()) == b""
    assert SECRET.encode() not in stream.flush()


alphabet = "ab+/=%\\\"\n\u00e9"


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[str], bytes, list[int]]:
    secrets = draw(st.lists(st.text(alphabet=alphabet, min_size=2, max_size=12), min_size=1,
                            max_size=4))
    pieces = draw(st.lists(st.one_of(st.text(alphabet=alphabet + "xyz ", max_size=8)
                                     .map(str.encode), st.sampled_from(SEQUENCES),
                                     st.sampled_from([s.encode() for s in secrets])),
                           max_size=24))
    # sequences dropped into the middle of secrets too
    data = b"".join(pieces)
    inserts = draw(st.lists(st.tuples(st.integers(0, len(data)), st.sampled_from(SEQUENCES)),
                            max_size=4))
    for at, sequence in sorted(inserts, reverse=True):
        data = data[:at] + sequence + data[at:]
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=8))
    return secrets, data, cuts


@pytest.mark.parametrize("backend", ["hyperscan", "python"])
@settings(max_examples=200, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_the_text_is_masked_as_without_the_sequences(
        backend: Backend, case: tuple[list[str], bytes, list[int]]) -> None:
    secrets, data, cuts = case
    masker = Masker(secrets, backend=backend)
    out = through(masker, data, cuts)
    assert _ANY.sub(b"", out) == masker.mask_bytes(_ANY.sub(b"", data))
    # the sequences in order; a title or a hyperlink masked on its own
    assert _ANY.findall(out) == [masker.mask_bytes(s) if s[1:2] == b"]" else s
                                 for s in _ANY.findall(data)]


def test_text_without_sequences_is_masked_as_by_the_stream_masker(backend: Backend) -> None:
    masker = Masker([SECRET], backend=backend)
    data = (b"log line " + SECRET.encode() + b" done\n") * 50
    assert through(masker, data, list(range(0, len(data), 13))) == masker.mask_bytes(data)


def test_what_is_held_for_an_unfinished_sequence_is_bounded(backend: Backend) -> None:
    # A sequence that never ends (parameters or a title without end) is text past a bound:
    # held back, it would grow with every read and be copied on each.
    masker = Masker([SECRET], backend=backend)
    for start in (b"\x1b[", b"\x1b]0;", b"\x1b "):
        stream = TerminalMasker(masker)
        out = [stream.feed(start)]
        for _ in range(200):
            out.append(stream.feed(b"1" * 1000))
            assert stream.pending < 10_000
        assert b"".join(out) + stream.flush() == start + b"1" * 200_000


VALUE = "S3cr3t-value/with:chars"
SINGLE = sorted({s for sequences in SEQUENCES for s in _ANY.findall(sequences)})


@pytest.mark.parametrize("sequence", SINGLE)
def test_a_pause_inside_a_sequence_holds_it_and_masks_the_value(
        sequence: bytes, backend: Backend) -> None:
    # What a child shows that pauses longer than the pump waits (a timed flush) after the
    # sequence's first bytes: written out there, its rest would read as text and split the
    # value in two that neither matches. The text before it is shown when it is too short
    # to tell from ordinary text ("S3c"), masked when it is the value being written.
    masker = Masker([VALUE], backend=backend)
    shown_sequence = masker.mask_bytes(sequence) if sequence[1:2] == b"]" else sequence
    for before, shown_before, shown_after in [(b"S3c", b"S3c", b"********\n"),
                                              (b"S3cr3t-", b"********", b"\n")]:
        for cut in range(1, len(sequence)):
            stream = TerminalMasker(masker)
            shown = stream.feed(before + sequence[:cut]) + stream.flush(end=False)
            assert shown == shown_before
            rest = stream.feed(sequence[cut:] + VALUE[len(before):].encode() + b"\n")
            rest += stream.flush()
            assert rest == shown_sequence + shown_after, (before, cut, rest)


def test_an_unfinished_sequence_is_written_at_the_end_of_the_stream(backend: Backend) -> None:
    stream = TerminalMasker(Masker([VALUE], backend=backend))
    assert stream.feed(b"ok \x1b[3") + stream.flush(end=False) == b"ok "
    assert stream.pending == 3
    assert stream.flush() == b"\x1b[3" and stream.pending == 0


@pytest.mark.parametrize("backend", ["hyperscan", "python"])
def test_every_cut_masks_as_no_cut(backend: Backend) -> None:
    # Each sequence inside the value; a read may end anywhere, such as between the ESC and
    # the backslash of a hyperlink's closing ESC \.
    masker = Masker([VALUE], backend=backend)
    for sequence in SINGLE:
        data = b"a " + VALUE[:7].encode() + sequence + VALUE[7:].encode() + b" b\n"
        whole = through(masker, data, [])
        assert b"********" in whole and b"with:chars" not in whole
        for cut in range(len(data) + 1):
            assert through(masker, data, [cut]) == whole, (sequence, cut)


def test_sequences_held_behind_a_possible_start_are_bounded(backend: Backend) -> None:
    # "S" may start the value, so colour codes after it were held with it, all of them,
    # as long as no other text came: memory grew with the output (gigabytes from a
    # colour-code flood) and each read summed the list to tell what was pending.
    from vaultline.redact.terminal import MAX_HELD_SEQUENCES

    masker = Masker([VALUE], backend=backend)
    stream = TerminalMasker(masker)
    flood = b"\x1b[m" * 20_000
    out = [stream.feed(b"S")]
    for _ in range(100):
        out.append(stream.feed(flood))
        assert stream.pending <= MAX_HELD_SEQUENCES + len(flood) + 1
    out.append(stream.feed(b"3cr3t-" + flood + b"value/with:chars\n"))
    out.append(stream.flush())
    shown = b"".join(out)
    # Past the bound the "S" was written as at a pause; the rest of the value is masked.
    assert shown.count(b"\x1b[m") == 101 * 20_000
    assert _ANY.sub(b"", shown) == b"S********\n"


# The start of a sequence at the end of what was read (the test's own reading of ECMA-48).
_OPEN = re.compile(rb"\x1b(?:\[[\x30-\x3f]*[\x20-\x2f]*|[\]PX^_][^\x07\x1b]*\x1b?|[\x20-\x2f]*)\Z")


def _text_before(data: bytes) -> int:
    """How much text `data` holds, less an unfinished sequence at its end."""
    opened = _OPEN.search(data)
    return len(_ANY.sub(b"", data[: opened.start() if opened else len(data)]))


@pytest.mark.parametrize("backend", ["hyperscan", "python"])
@settings(max_examples=300, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), st.data())
def test_pauses_mask_the_text_as_pauses_in_the_text_alone(
        backend: Backend, case: tuple[list[str], bytes, list[int]], data: st.DataObject) -> None:
    """A pause (a timed flush) after any read, inside a sequence too, shows what the stream
    masker shows for the text alone paused at the same place; the sequences survive."""
    secrets, stream_bytes, cuts = case
    pauses = data.draw(st.lists(st.booleans(), min_size=len(cuts), max_size=len(cuts)))
    masker = Masker(secrets, backend=backend)
    stream, out, at = TerminalMasker(masker), [], 0
    text, alone, text_at = _ANY.sub(b"", stream_bytes), StreamMasker(masker), 0
    expected = []
    for cut, pause in sorted(zip(cuts, pauses, strict=True)):
        out.append(stream.feed(stream_bytes[at:cut]))
        at = cut
        if pause:
            out.append(stream.flush(end=False))
            paused_at = _text_before(stream_bytes[:cut])
            expected += (alone.feed(text[text_at:paused_at]), alone.flush(pause=True))
            text_at = paused_at
    out += (stream.feed(stream_bytes[at:]), stream.flush())
    expected += (alone.feed(text[text_at:]), alone.flush())
    shown = b"".join(out)
    assert _ANY.sub(b"", shown) == b"".join(expected)
    assert _ANY.findall(shown) == [masker.mask_bytes(s) if s[1:2] == b"]" else s
                                   for s in _ANY.findall(stream_bytes)]
