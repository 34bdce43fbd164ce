"""What a scan reads of one file or blob: its text as UTF-8 bytes, whatever its encoding or size.

- Text that starts with a UTF-16 or UTF-32 byte-order mark (Windows tools, .NET configs) is
  decoded and scanned as UTF-8: its lines and characters are the file's; its NUL bytes do not
  make it binary. Without such a mark, a NUL byte in the first 8 KB still does.
- Text larger than the window (``--max-file-size``) is scanned a window at a time, each with
  :data:`OVERLAP` bytes of the text before and after it, so that a match that starts in the
  window is seen whole, with the lines around it: the longest a detector can report is a
  multi-line rule's span past its keyword's line (8 KB). Each finding is kept by the one
  window it starts in, with its line and column in the whole text. Memory stays about two
  windows, however large the file.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from vaultline.scan.walk import looks_binary

if TYPE_CHECKING:
    from vaultline.scan.finding import Finding
    from vaultline.scan.runner import BlobScanner

OVERLAP = 64 * 1024
# A window is never smaller: each is scanned with 2 x OVERLAP bytes around it.
MIN_WINDOW = 4 * OVERLAP
READ_BYTES = 1024 * 1024
UTF8 = "utf-8"
# UTF-32 first: its little-endian mark starts with UTF-16's.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Every byte but UTF-8's continuation bytes (0x80-0xBF): deleting them leaves one per character.
_NOT_CONTINUATION = bytes(range(0x80)) + bytes(range(0xC0, 0x100))

Read = Callable[[int], bytes]


def encoding_of(head: bytes) -> str | None:
    """The codec the text starting with ``head`` is in (UTF-8 unless it has a UTF-16/32 byte-order
    mark), or None for a binary: a NUL in the first 8 KB, or, after a mark, 8 KB that do not
    decode or decode to a NUL."""
    for mark, codec in _MARKS:
        if head.startswith(mark):
            try:
                text = codecs.getincrementaldecoder(codec)().decode(head[len(mark) : 8192])
            except UnicodeDecodeError:
                return None
            return None if "\0" in text else codec
    return None if looks_binary(head) else UTF8


def utf8_pieces(first: bytes, read: Read, codec: str) -> Iterator[bytes]:
    """The text as UTF-8: ``first``, then what ``read`` returns until it returns nothing,
    decoded from ``codec`` (without its byte-order mark) as it comes."""
    if codec == UTF8:
        piece = first
        while piece:
            yield piece
            piece = read(READ_BYTES)
        return
    decoder = codecs.getincrementaldecoder(codec)("replace")
    piece = first[len(next(mark for mark, name in _MARKS if name == codec)) :]
    while piece:
        yield decoder.decode(piece).encode()
        piece = read(READ_BYTES)
    yield decoder.decode(b"", final=True).encode()


def scan_text(
    scanner: BlobScanner, pieces: Iterator[bytes], path: str, *, window: int,
    commit: str | None = None,
) -> list[Finding]:
    """``scanner.scan`` of the text ``pieces`` make up, holding about two windows of it at once."""
    window = max(window, MIN_WINDOW)
    overlap = max(OVERLAP, getattr(scanner, "longest_match", 0))
    buf = bytearray()
    buf_start = 0  # where buf[0] is in the text: OVERLAP bytes before the window, or 0
    lines_before = 0  # line feeds in the text before buf_start
    column_before = 0  # characters between the last of them and buf_start
    core_start = 0
    more = True
    found: list[Finding] = []
    while True:
        while more and buf_start + len(buf) < core_start + window + overlap:
            piece = next(pieces, None)
            if piece is None:
                more = False
            else:
                buf += piece
        end = buf_start + len(buf)
        if not more and core_start == 0:  # all of it in one window
            return scanner.scan(bytes(buf), path, commit=commit)
        if not more and end <= core_start + window:
            core_end = end
        else:  # the window ends after its last line feed, or mid-line in a longer line
            limit = core_start + window
            newline = buf.rfind(b"\n", core_start - buf_start, limit - buf_start)
            core_end = buf_start + newline + 1 if newline >= 0 else limit
        data = bytes(buf[: min(end, core_end + overlap) - buf_start])
        for finding in scanner.scan(data, path, commit=commit):
            at = buf_start + finding.offset
            if core_start <= at < core_end:
                column = finding.column + (column_before if finding.line == 1 else 0)
                found.append(replace(finding, line=lines_before + finding.line, column=column,
                                     offset=at))
        if core_end >= end:
            return found
        core_start = core_end
        drop = max(0, core_start - overlap - buf_start)
        dropped = bytes(buf[:drop])
        newlines = dropped.count(b"\n")
        if newlines:
            lines_before += newlines
            column_before = _characters(dropped[dropped.rfind(b"\n") + 1 :])
        else:
            column_before += _characters(dropped)
        del buf[:drop]
        buf_start += drop


def _characters(data: bytes) -> int:
    """How many characters UTF-8 ``data`` holds (its bytes that start one)."""
    return len(data) - len(data.translate(None, _NOT_CONTINUATION))
