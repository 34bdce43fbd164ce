"""Masking secret values in buffers and in streams.

Every occurrence of every pattern (a value or one of its encoded forms, see ``_forms``) is
found; overlapping occurrences are merged and each merged run becomes one mask. So the
longest match wins, and a value overlapping another is never half shown.

The streaming masker emits everything that cannot be the start of a pattern at once and
holds back only the tail that could be (at most the longest pattern minus one byte). After
``flush()`` at end of stream its output equals ``Masker.mask_bytes`` of the whole input.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_left
from collections.abc import Callable, Iterable
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from vaultline.redact._forms import MIN_LINE_CHARS, encoded_forms
from vaultline.redact._matchers import (
    AhoCorasickMatcher,
    Backend,
    HyperscanMatcher,
    Matcher,
    Span,
    make_matcher,
)
from vaultline.redact.cache import MaskerCache

if TYPE_CHECKING:
    from vaultline.resolve.bundle import Bundle

DEFAULT_MASK = "********"
_HEAD = 8  # bytes of a held-tail candidate looked up before the whole of it


def _hyperscan_version() -> str:
    try:
        import hyperscan
    except ImportError:
        return "none"
    return str(getattr(hyperscan, "__version__", "?"))


# Hyperscan refuses a literal of more than 16,000 bytes, and the stream holds back up to the
# longest pattern: a longer form (a certificate bundle, a kubeconfig) is masked as pieces.
MAX_PATTERN_BYTES = 4096
# At a pause, fewer bytes of a secret than this may show (they may as well start ordinary
# text: a prompt, a word); this many or more are taken to be the secret being written.
PAUSE_MASK_BYTES = 4


def _patterns(secrets: Iterable[str]) -> list[bytes]:
    forms: set[bytes] = set()
    for value in secrets:
        forms |= encoded_forms(value)
    long = [form for form in forms if len(form) > MAX_PATTERN_BYTES]
    for form in long:
        forms.discard(form)
        forms.update(_pieces(form))
    # Sorted so that "is this tail a prefix of some pattern" is one bisect.
    return sorted(forms)


def _pieces(form: bytes) -> list[bytes]:
    """``form`` as overlapping pieces of about MAX_PATTERN_BYTES, cut between UTF-8
    characters: where the whole form occurs, its pieces occur and their masks merge into one,
    and no piece is short enough to match ordinary text."""
    def boundary(at: int) -> int:  # back to the start of a character
        while at > 0 and form[at] & 0xC0 == 0x80:
            at -= 1
        return at

    starts, at = [], 0
    while at + MAX_PATTERN_BYTES < len(form):
        starts.append(at)
        at = boundary(at + MAX_PATTERN_BYTES - 16)  # a little overlap: a cut never falls between
    starts.append(boundary(len(form) - MAX_PATTERN_BYTES))
    pieces = []
    for start in starts:
        end = min(len(form), start + MAX_PATTERN_BYTES)
        while end < len(form) and form[end] & 0xC0 == 0x80:
            end -= 1
        pieces.append(form[start:end])
    return pieces


class SecretSource(Protocol):
    """Anything that can list its secret values, such as a resolved ``Bundle``."""

    def secret_values(self) -> Iterable[str]: ...


def too_short(value: str) -> bool:
    """Whether masking `value` everywhere would also hide ordinary words or numbers."""
    return len(value) < 6 or (len(value) < MIN_LINE_CHARS and (value.isalpha() or value.isdigit()))


def short_secret_warnings(bundle: Bundle) -> list[str]:
    """One warning per secret too short to mask without hiding ordinary text (never its value)."""
    from vaultline.resolve.bundle import to_text

    return [f"{r.key}: the secret is short or a plain word or number, so masking it also "
            "hides ordinary text; if it is not a secret (a username), give it 'secret: false' "
            "under schema in vaultline.yaml"
            for r in bundle.resolved_values() if r.secret and too_short(to_text(r.value))]


class Masker:
    """Masks secret values and their base64, URL-encoded and JSON-escaped forms.

    ``backend``: ``"auto"`` (Hyperscan when importable, else pure Python), ``"hyperscan"``,
    ``"ahocorasick"`` or ``"python"``. All give identical output.
    """

    def __init__(
        self,
        secrets: Iterable[str],
        mask: str = DEFAULT_MASK,
        *,
        backend: Backend = "auto",
        cache: MaskerCache | None = None,
    ):
        self._mask = mask.encode("utf-8")
        self._matcher: Matcher | None = None
        digest = None
        if cache is not None and backend != "python":
            secrets = list(secrets)
            digest = cache.digest(secrets, _hyperscan_version())
            hit = cache.load(digest)
            if hit is not None:
                with contextlib.suppress(Exception):  # a database for another CPU: compile
                    self._patterns = hit[0]
                    self._matcher = HyperscanMatcher(hit[0], hit[1])
        if self._matcher is None:
            self._patterns = _patterns(secrets)
            if self._patterns:
                self._matcher = make_matcher(self._patterns, backend)
                if digest is not None and isinstance(self._matcher, HyperscanMatcher):
                    assert cache is not None
                    cache.save(digest, self._patterns, self._matcher.serialize())
        self._max_len = max((len(p) for p in self._patterns), default=0)

    @classmethod
    def staged(cls, secrets: Iterable[str], cache: MaskerCache | None,
               mask: str = DEFAULT_MASK) -> Staged:
        """The ways to a masker for `secrets`: see :class:`Staged`."""
        secrets = list(secrets)
        if cache is not None:
            hit = cache.load(cache.digest(secrets, _hyperscan_version()))
            if hit is not None:
                with contextlib.suppress(Exception):  # a database for another CPU: compile
                    return Staged(cls._assemble(hit[0], mask, HyperscanMatcher(hit[0], hit[1])))
        try:
            import ahocorasick  # noqa: F401 - only whether the quick build is possible
        except ImportError:
            return Staged(cls(secrets, mask, cache=cache))
        patterns = _patterns(secrets)

        def quick() -> Masker:
            return cls._assemble(patterns, mask, AhoCorasickMatcher(patterns) if patterns
                                 else None)

        def compiled() -> Masker:
            matcher = make_matcher(patterns, "auto") if patterns else None
            if cache is not None and isinstance(matcher, HyperscanMatcher):
                cache.save(cache.digest(secrets, _hyperscan_version()), patterns,
                           matcher.serialize())
            return cls._assemble(patterns, mask, matcher)

        return Staged(None, quick, compiled)

    @classmethod
    def _assemble(cls, patterns: list[bytes], mask: str, matcher: Matcher | None) -> Masker:
        masker = cls.__new__(cls)
        masker._mask = mask.encode("utf-8")
        masker._patterns = patterns
        masker._matcher = matcher
        masker._max_len = max((len(p) for p in patterns), default=0)
        return masker

    @cached_property
    def _alphabet(self) -> bytes:
        """Every byte some pattern holds: a held-back tail consists of these only."""
        absent = bytes(range(256)).translate(None, b"".join(self._patterns))
        return bytes(range(256)).translate(None, absent)

    @classmethod
    def from_bundle(
        cls, bundle: SecretSource, mask: str = DEFAULT_MASK, *, backend: Backend = "auto"
    ) -> Masker:
        return cls(bundle.secret_values(), mask, backend=backend)

    def __repr__(self) -> str:
        # Counts only: the patterns are the secrets.
        return f"<Masker {len(self._patterns)} patterns, backend={self.backend}>"

    @property
    def backend(self) -> str:
        return self._matcher.name if self._matcher else "none"

    @property
    def max_len(self) -> int:
        """Length in bytes of the longest pattern."""
        return self._max_len

    def mask_bytes(self, data: bytes) -> bytes:
        if self._matcher is None or len(data) < 2:
            return bytes(data)
        spans = self._matcher.scan(data)
        if not spans:
            return bytes(data)
        spans.sort()
        pieces: list[bytes] = []
        out = 0  # data[:out] is accounted for
        for start, end in spans:
            if end <= out:
                continue
            if start < out:  # overlaps the previous mask: extend it
                out = end
                continue
            pieces.append(data[out:start])
            pieces.append(self._mask)
            out = end
        pieces.append(data[out:])
        return b"".join(pieces)

    def mask_str(self, text: str) -> str:
        if self._matcher is None or len(text) < 2:
            return text
        # Patterns are whole UTF-8 sequences, so masking never splits a character.
        data = text.encode("utf-8", "surrogatepass")
        masked = self.mask_bytes(data)
        return text if masked == data else masked.decode("utf-8", "surrogatepass")

    def mask_object(self, value: Any) -> Any:
        """`value` with every secret masked: strings and bytes, inside containers (keys
        too), and any other object whose ``str`` or ``repr`` shows a secret, which is then
        replaced by its masked text. Objects that show none are returned as they are."""
        if isinstance(value, str):
            return self.mask_str(value)
        if isinstance(value, bytes | bytearray):
            return self.mask_bytes(bytes(value))
        if isinstance(value, dict):
            return {self.mask_object(k): self.mask_object(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_object(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.mask_object(v) for v in value)
        if isinstance(value, set | frozenset):
            return type(value)(self.mask_object(v) for v in value)
        if value is None or isinstance(value, bool) or self._matcher is None:
            return value
        for show in (str, repr):
            try:
                text = show(value)
            except Exception:
                continue
            masked = self.mask_str(text)
            if masked != text:
                return masked
        return value

    def stream(self) -> StreamMasker:
        return StreamMasker(self)

    def _held_len(self, tail: bytes, most: int) -> int:
        """Length of the longest suffix of `tail`, at most `most` bytes, that is a proper
        prefix of a pattern."""
        patterns = self._patterns
        n = len(tail)
        # Only the trailing run of pattern bytes can start one (log text ends a chunk with a
        # space or a newline more often than not): a C-level rstrip instead of a Python loop.
        run = n - len(tail.rstrip(self._alphabet))
        for i in range(n - min(run, self._max_len - 1, most), n):
            # A pattern starting with the suffix starts with its first bytes: looked up first,
            # so a long tail is not copied once per position (quadratic in a PEM key's length).
            head = tail[i : i + _HEAD]
            j = bisect_left(patterns, head)
            if j == len(patterns) or not patterns[j].startswith(head):
                continue
            suffix = tail[i:]
            if len(suffix) > _HEAD:
                j = bisect_left(patterns, suffix, j)
            # Patterns starting with `suffix` follow it in sorted order; the first may
            # be `suffix` itself, which is complete rather than a prefix.
            while j < len(patterns) and patterns[j].startswith(suffix):
                if len(patterns[j]) > len(suffix):
                    return n - i
                j += 1
        return 0


class Staged:
    """A masker to be: `ready` when it came from the cache, else two ways to build it.

    ``quick()`` builds an Aho–Corasick masker in linear time (it holds the GIL meanwhile);
    ``compiled()`` compiles the Hyperscan one, which scans several times faster, and caches
    it: seconds for tens of thousands of secrets, with the GIL released. Both mask the same
    bytes, so output can flow through the quick one until the compiled one is done.
    """

    def __init__(self, ready: Masker | None, quick: Callable[[], Masker] | None = None,
                 compiled: Callable[[], Masker] | None = None):
        self.ready = ready
        self._quick = quick
        self._compiled = compiled

    def quick(self) -> Masker:
        if self.ready is not None:
            return self.ready
        assert self._quick is not None
        return self._quick()

    def compiled(self) -> Masker:
        if self.ready is not None:
            return self.ready
        assert self._compiled is not None
        return self._compiled()


class StreamMasker:
    """Masks a byte stream chunk by chunk; a value split across chunks is still masked.

    ``feed`` returns what can be emitted now; ``flush`` emits what is held back (call it
    at end of stream, or when output must not wait any longer). Feeding may go on after a
    flush: a value that had started in flushed output is masked from where output resumed.
    """

    def __init__(self, masker: Masker):
        self._masker = masker
        self._keep = max(masker.max_len - 1, 0)
        self._context = b""  # last `_keep` bytes of the stream, for matches across chunks
        self._seam = 0  # how many of them may start a match that crosses into the next chunk
        self._end = 0  # absolute offset of the end of the stream so far
        self._out = 0  # absolute offset up to which output has been produced
        self._mask_end = -1  # absolute end of the last mask produced
        self._deferred: list[Span] = []  # matches that start inside the held tail
        # Unemitted bytes: `_held` from `_held_at`, then the chunk being fed from `_chunk_at`
        # (kept as a view so emitting text does not copy the chunk around).
        self._held = b""
        self._held_at = 0
        self._chunk: memoryview = memoryview(b"")
        self._chunk_at = 0
        #: When a list: each mask emitted is appended as (start, end, new) in stream offsets,
        #: ``new`` False where it only extends the mask before it (``TerminalMasker``).
        self.record: list[tuple[int, int, bool]] | None = None

    def __repr__(self) -> str:
        return f"<StreamMasker at {self._end} bytes, {self.pending} held>"

    def __enter__(self) -> StreamMasker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._held = self._context = b""

    def follow(self, masker: Masker) -> None:
        """Mask with `masker` from now on (it holds new values besides the old ones).

        What is held back stays held and is decided with the new patterns; matches already
        found stay masks."""
        self._masker = masker
        self._keep = max(masker.max_len - 1, self._keep)
        self._seam = len(self._context)  # a new pattern may start anywhere in it

    @property
    def pending(self) -> int:
        """Bytes fed but not yet emitted."""
        return self._end - self._out

    def feed(self, chunk: bytes) -> bytes:
        matcher = self._masker._matcher
        if matcher is None:
            self._end = self._out = self._end + len(chunk)
            return bytes(chunk)
        if not chunk:
            return b""
        start = self._end
        self._end += len(chunk)
        self._chunk, self._chunk_at = memoryview(chunk), start
        spans = self._deferred
        spans += matcher.scan(chunk, start)
        context = self._context
        if self._seam:
            # A match that crosses into this chunk starts in the tail that was a prefix of a
            # pattern: scan that and the chunk's start, not the whole chunk again.
            seam = context[-self._seam :] + chunk[: self._keep]
            spans += [s for s in matcher.scan(seam, start - self._seam) if s[0] < start < s[1]]
        if self._keep:
            self._context = (
                chunk[-self._keep :] if len(chunk) >= self._keep else (context + chunk)[-self._keep :]
            )
        # Such a suffix is a held one of the stream before this chunk (a prefix of a prefix)
        # plus the chunk: no longer than the last seam and the chunk together, so small
        # writes do not look at every suffix of a long secret's worth of tail again.
        self._seam = self._masker._held_len(self._context, self._seam + len(chunk))
        hold_from = self._end - self._seam
        pieces: list[bytes | memoryview] = []
        self._deferred = deferred = []
        if spans:
            spans.sort()
            # _commit, inlined: this loop runs for every match in the stream.
            out, mask_end, mask = self._out, self._mask_end, self._masker._mask
            record = self.record
            for span in spans:
                begin, end = span
                if begin >= hold_from:
                    # A longer pattern may still start before it; decide once more is known.
                    deferred.append(span)
                elif end > out:
                    if begin >= out:
                        if begin > out:
                            pieces.append(self._bytes(out, begin))
                        pieces.append(mask)
                        if record is not None:
                            record.append((begin, end, True))
                    elif mask_end != out:
                        pieces.append(mask)  # only after a forced flush, as in _commit
                        if record is not None:
                            record.append((out, end, True))
                    elif record is not None:
                        record.append((out, end, False))
                    out = mask_end = end
            self._out, self._mask_end = out, mask_end
        if self._out < hold_from:
            if not pieces and self._out == start and hold_from == self._end:
                self._out = self._end
                self._keep_unemitted()
                return chunk  # the common case: nothing to mask, nothing held
            pieces.append(self._bytes(self._out, hold_from))
            self._out = hold_from
        self._keep_unemitted()
        return b"".join(pieces)

    def flush(self, *, pause: bool = False) -> bytes:
        """Everything held back. At the end of the stream it is shown as :meth:`Masker.mask_bytes`
        would show it. At a `pause` (output must not wait any longer, but the stream goes on)
        held bytes that are the first :data:`PAUSE_MASK_BYTES` or more of a secret are masked:
        a child paused in the middle of writing a secret (a slow pipe, a loaded machine)
        must not have the part written so far shown."""
        pieces: list[bytes | memoryview] = []
        for span in sorted(self._deferred):
            self._commit(span, pieces)
        self._deferred = []
        if self._out < self._end:
            if pause and self._seam >= PAUSE_MASK_BYTES:
                # One mask with a match just committed: they are one secret being written.
                new = self._mask_end != self._out
                if new:
                    pieces.append(self._masker._mask)
                if self.record is not None:
                    self.record.append((self._out, self._end, new))
                self._out = self._mask_end = self._end
            else:
                pieces.append(self._bytes(self._out, self._end))
                self._out = self._end
        self._keep_unemitted()
        return b"".join(pieces)

    def _bytes(self, begin: int, end: int) -> bytes | memoryview:
        """Unemitted stream bytes between two absolute offsets."""
        at = self._chunk_at
        if begin >= at:
            return self._chunk[begin - at : end - at]
        first = self._held[begin - self._held_at : end - self._held_at]
        return first if end <= at else first + self._chunk[: end - at]

    def _keep_unemitted(self) -> None:
        self._held = bytes(self._bytes(self._out, self._end))
        self._held_at = self._out
        self._chunk, self._chunk_at = memoryview(b""), self._end

    def _commit(self, span: Span, pieces: list[bytes | memoryview]) -> None:
        start, end = span
        if end <= self._out:
            return
        if start < self._out:
            new = self._mask_end != self._out
            if new:
                # Only after a forced flush: the start of this match is already out.
                pieces.append(self._masker._mask)
            if self.record is not None:
                self.record.append((self._out, end, new))
        else:
            if start > self._out:
                pieces.append(self._bytes(self._out, start))
            pieces.append(self._masker._mask)
            if self.record is not None:
                self.record.append((start, end, True))
        self._out = self._mask_end = end
