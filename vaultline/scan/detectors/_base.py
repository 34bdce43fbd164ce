"""What a detector is: a rule id, compiled regexes, prefilter keywords and an optional validator.

Modelled on detect-secrets' plugins: a family module declares a tuple ``DETECTORS`` of
:class:`Detector` and nothing else. The engine never runs a detector's regexes on a whole
file; it runs them only on the lines where one of the detector's keywords (or anchors)
was found by the prefilter, which is what makes scanning fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from vaultline.findings import Severity

Validator = Callable[[bytes], bool]


@dataclass(frozen=True)
class RawMatch:
    """Where a detector matched: the secret's byte span, where the match began (for allow
    comments), and for keyword rules the assigned name and whether the value was quoted
    (an unquoted value in code is an expression)."""

    start: int
    end: int
    match_start: int
    name: bytes = b""
    quoted: bool = True


# A finder replaces regex windows for detectors whose keyword hits are dense (the generic
# rule): given the data and the sorted keyword end offsets, it yields matches directly.
Finder = Callable[[bytes, list[int]], Iterable[RawMatch]]


@dataclass(frozen=True)
class Detector:
    """One rule.

    ``patterns`` are compiled byte regexes; the secret is the named group ``secret`` when
    present, else group 1, else the whole match. ``keywords`` are case-insensitive literals
    and ``anchors`` case-sensitive regexes (Hyperscan- and ``re``-compatible) that the
    prefilter looks for; a detector needs at least one of them. ``multiline`` lets the
    regex look past the end of the keyword's line (PEM blocks, JSON documents).
    """

    rule_id: str
    description: str
    patterns: tuple[re.Pattern[bytes], ...]
    keywords: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    validator: Validator | None = None
    # Shannon entropy (bits per char) below which a match is a placeholder, not a secret.
    min_entropy: float = 0.0
    multiline: bool = False
    # Provider rules outrank the generic detector when both match the same secret.
    priority: int = 10
    tags: tuple[str, ...] = field(default_factory=tuple)
    finder: Finder | None = None
    # The value has no provider shape of its own (a password after a keyword, a flag or a
    # header): the free-form filters (expressions, identifiers, hashes) judge it.
    free_form: bool = False
    # HIGH for usable credentials; LOW for ones that need something more to use
    # (an encrypted private key needs its passphrase).
    severity: Severity = Severity.HIGH
    # The file a team's rule came from (``.vaultline-scan.yaml``); its regexes run under a
    # time limit, as Python backtracks on some (``(a+)+$``) for longer than any CI job lasts.
    source: str | None = None

    def raw_match(self, match: re.Match[bytes]) -> RawMatch:
        groups = match.re.groupindex
        # A bare command-line value is as literal as a quoted one: the line itself is
        # usually inside a string in code.
        bare = "bare" in groups and match.start("bare") >= 0
        if bare:
            start, end = match.span("bare")
        elif "secret" in groups:
            start, end = match.span("secret")
        elif match.re.groups:
            start, end = match.span(1)
        else:
            start, end = match.span()
        name = match.group("name") if "name" in groups else b""
        quoted = bare or (match.group("q") is not None if "q" in groups else True)
        return RawMatch(start, end, match.start(), name or b"", quoted)


def rule(
    rule_id: str,
    description: str,
    *regexes: str,
    keywords: tuple[str, ...] | list[str] = (),
    anchors: tuple[str, ...] | list[str] = (),
    validator: Validator | None = None,
    min_entropy: float = 0.0,
    multiline: bool = False,
    ignorecase: bool = False,
    priority: int = 10,
    free_form: bool = False,
    severity: Severity = Severity.HIGH,
    source: str | None = None,
) -> Detector:
    """Build a :class:`Detector` from regex source strings (compiled once, as bytes)."""
    flags = re.IGNORECASE if ignorecase else 0
    if multiline:
        flags |= re.DOTALL
    if not keywords and not anchors:
        raise ValueError(f"{rule_id}: a detector needs keywords or anchors for the prefilter")
    return Detector(
        rule_id=rule_id,
        description=description,
        patterns=tuple(re.compile(r.encode(), flags) for r in regexes),
        keywords=tuple(keywords),
        anchors=tuple(anchors),
        validator=validator,
        min_entropy=min_entropy,
        multiline=multiline,
        priority=priority,
        free_form=free_form,
        severity=severity,
        source=source,
    )


# Characters that end a token: anything not usable inside a key, so `\b`-like boundaries
# also work next to `-`, `_` and `.`.
END = r"(?![A-Za-z0-9_-])"
START = r"(?<![A-Za-z0-9_-])"


def named(
    rule_id: str,
    description: str,
    names: tuple[str, ...],
    value: str,
    *,
    min_entropy: float = 3.0,
) -> Detector:
    """A token with no prefix of its own (bare hex, a UUID, plain alphanumerics), recognised
    by the provider's name in the variable, key or argument it is assigned to."""
    alternatives = "|".join(re.escape(n) for n in names)
    return rule(
        rule_id,
        description,
        rf"(?i)(?P<name>(?:{alternatives})[\w.-]{{0,30}}?)[\"'\]]?[ \t]*(?:=|:|=>|:=|,)[ \t]*[\"'`]?"
        rf"(?P<secret>{value})" + END,
        keywords=names,
        min_entropy=min_entropy,
    )
