"""Masking output that carries terminal escape sequences: a secret coloured in pieces.

``grep --color``, word diffs, test runners and log colourers put escape sequences (colours,
cursor moves, hyperlinks) inside a line, and so inside a secret printed on it:
``s3cret-\\x1b[01;31mcanary\\x1b[m``. The raw bytes hold no secret, yet the terminal, or a CI
log page, shows it whole. :class:`TerminalMasker` masks the text with the sequences taken
out and puts them back where they were; those that fell inside a masked value follow its
mask, so colours set or reset there still take effect. A string sequence (a window title,
a hyperlink's URL) is masked on its own as well.

What is held back stays bounded: the text by the longest pattern, an unfinished sequence by
:data:`MAX_SEQUENCE`, and the sequences that came while the text before them may be the
start of a value by :data:`MAX_HELD_SEQUENCES`; past that they are written out as at a
pause (the rest of a value is still masked).
"""

from __future__ import annotations

import re
from itertools import accumulate

from vaultline.redact.masker import Masker, StreamMasker

#: Longest string sequence (OSC, DCS ... up to BEL or ST) taken as one; longer is text, so
#: what is held back for an unfinished one stays bounded.
MAX_SEQUENCE = 4096
_MAX_PARAMETERS = 64  # bytes of a CSI's parameters, and of its intermediates
#: Bytes of complete sequences held behind text that may be a value's start: output that is
#: all colour codes after such a byte would otherwise be held, and grow, without end.
MAX_HELD_SEQUENCES = 64 * 1024
# ECMA-48: CSI (ESC [ parameters intermediates final), the string sequences (OSC, DCS, SOS,
# PM, APC: ESC ] P X ^ _ ... BEL or ESC \), and the other escapes (ESC intermediates final).
_SEQUENCE = re.compile(rb"\x1b(?:\[[\x30-\x3f]{0,%d}[\x20-\x2f]{0,%d}[\x40-\x7e]"
                       rb"|[\]PX^_][^\x07\x1b]{0,%d}(?:\x07|\x1b\\)"
                       # not [ ] P X ^ _: those open the sequences above
                       rb"|[\x20-\x2f]{0,%d}[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e])"
                       % (_MAX_PARAMETERS, _MAX_PARAMETERS, MAX_SEQUENCE, _MAX_PARAMETERS))
# The start of one of them that the next read may finish.
_UNFINISHED = re.compile(rb"\x1b(?:\[[\x30-\x3f]{0,%d}[\x20-\x2f]{0,%d}"
                         rb"|[\]PX^_][^\x07\x1b]{0,%d}\x1b?|[\x20-\x2f]{0,%d})\Z"
                         % (_MAX_PARAMETERS, _MAX_PARAMETERS, MAX_SEQUENCE, _MAX_PARAMETERS))
_SPLIT = re.compile(b"(" + _SEQUENCE.pattern + b")")
_STRING_STARTS = frozenset(b"]PX^_")
_STRING = re.compile(rb"\x1b[\]PX^_]")


class TerminalMasker:
    """A ``StreamMasker`` over the text of a stream, its escape sequences put back."""

    def __init__(self, masker: Masker):
        self._masker = masker
        self._inner = StreamMasker(masker)
        self._record: list[tuple[int, int, bool]] = []
        self._inner.record = self._record
        self._partial = b""  # an unfinished sequence at the end of the last read
        # Sequences at text offsets the inner masker has not emitted past yet, and their bytes.
        self._escapes: list[tuple[int, bytes]] = []
        self._escaped = 0

    def __repr__(self) -> str:
        return f"<TerminalMasker {self.pending} held>"

    def follow(self, masker: Masker) -> None:
        self._masker = masker
        self._inner.follow(masker)

    @property
    def pending(self) -> int:
        """Bytes fed but not yet emitted."""
        return self._inner.pending + len(self._partial) + self._escaped

    def feed(self, chunk: bytes) -> bytes:
        inner = self._inner
        if not self._partial and not self._escapes and b"\x1b" not in chunk:
            out = inner.feed(chunk)  # no sequence: the text is the stream
            self._record.clear()
            return out
        data = self._partial + chunk
        self._partial = b""
        clean = not self._escapes and not inner.pending  # nothing of earlier reads is held
        # One C-level split: text, sequence, text, ... (this runs for every coloured line).
        parts = _SPLIT.split(data)
        texts, sequences = parts[0::2], parts[1::2]
        rest = texts[-1]
        start = rest.rfind(b"\x1b")
        if start == len(rest) - 1:
            # The ESC may open the ST (ESC, backslash) that ends a string sequence.
            opened = rest.rfind(b"\x1b", 0, start)
            if opened >= 0 and _UNFINISHED.match(rest, opened):
                start = opened
        if start >= 0 and _UNFINISHED.match(rest, start):
            texts[-1], self._partial = rest[:start], rest[start:]
        offsets = accumulate(map(len, texts[:-1]), initial=inner._end)
        next(offsets)  # the base: the first sequence comes after the first text
        self._escapes += zip(offsets, sequences, strict=True)
        text = b"".join(texts)
        self._escaped += len(data) - len(text) - len(self._partial)
        before, source = inner._out, inner._held + text
        inner.feed(text)
        if clean and not self._record and not inner.pending and not _STRING.search(data):
            # Coloured text with no secret in it: the output is the input (the usual case).
            self._escapes.clear()
            self._escaped = 0
            return data[: len(data) - len(self._partial)]
        out = self._rebuild(before, source)
        if self._escaped > MAX_HELD_SEQUENCES:
            out += self.flush(end=False)
        return out

    def flush(self, *, end: bool = True) -> bytes:
        """Everything held back, at the end of the stream (`end`); else, when output must
        not wait any longer, all but an unfinished sequence: the terminal shows nothing of
        it yet either, and written out its rest would read as text, so a value around it
        would not be masked; the start of a secret is masked then (``StreamMasker.flush``)."""
        inner = self._inner
        before, source = inner._out, inner._held
        inner.flush(pause=not end)
        out = self._rebuild(before, source)
        if not end:
            return out
        partial, self._partial = self._partial, b""
        return out + self._masker.mask_bytes(partial)

    def _rebuild(self, before: int, source: bytes) -> bytes:
        """The stream from offset `before` up to where the inner masker has emitted: its
        text (`source` from `before`) with the masks it recorded and the sequences put back."""
        after = self._inner._out
        mask = self._masker._mask
        escapes = self._escapes
        pieces: list[bytes] = []
        pos, k = before, 0
        for start, end, new in self._record:
            while k < len(escapes) and escapes[k][0] <= start:  # before the value: in place
                at, sequence = escapes[k]
                pieces += (source[pos - before : at - before], self._shown(sequence))
                pos, k = at, k + 1
            pieces.append(source[pos - before : start - before])
            if new:
                pieces.append(mask)
            while k < len(escapes) and escapes[k][0] < end:  # inside it: after its mask
                pieces.append(self._shown(escapes[k][1]))
                k += 1
            pos = end
        self._record.clear()
        while k < len(escapes) and escapes[k][0] <= after:
            at, sequence = escapes[k]
            pieces += (source[pos - before : at - before], self._shown(sequence))
            pos, k = at, k + 1
        pieces.append(source[pos - before : after - before])
        if k == len(escapes):  # the usual case: every sequence is out
            escapes.clear()
            self._escaped = 0
        elif k:
            self._escaped -= sum(len(sequence) for _, sequence in escapes[:k])
            del escapes[:k]
        return b"".join(pieces)

    def _shown(self, sequence: bytes) -> bytes:
        # A title or a hyperlink may hold a secret whole; colours and cursor moves cannot.
        return self._masker.mask_bytes(sequence) if sequence[1] in _STRING_STARTS else sequence
