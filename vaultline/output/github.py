"""GitHub Actions: mask every secret, then export the bundle through ``$GITHUB_ENV``.

``vaultline resolve --env E --format github`` prints one ``::add-mask::`` workflow command per
string the runner must hide — each secret value, each line of a multi-line one, each field of a
JSON secret, and every encoded form ``vaultline.redact`` masks (base64, URL, JSON escapes) —
and only after all of them appends the variables to the file ``$GITHUB_ENV`` names, as
``NAME<<DELIMITER`` blocks whose random delimiter occurs nowhere in the value. ``--outputs``
writes the same blocks to ``$GITHUB_OUTPUT``. Values never reach stdout.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from vaultline._files import PRIVATE_FILE
from vaultline._limits import parse_json
from vaultline.errors import ConfigError
from vaultline.output.formats import env_pairs
from vaultline.redact._forms import MIN_VALUE_CHARS, encoded_forms
from vaultline.resolve.bundle import Bundle, to_text


def _escape_data(text: str) -> str:
    # The runner unescapes a workflow command's data: %25 -> %, %0D -> CR, %0A -> LF.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield to_text(value)


def _json_fields(value: Any) -> Iterator[str]:
    """The leaves of a JSON secret, whether it arrived parsed or as JSON text."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            value = parse_json(value)
        except ValueError:
            return
    if isinstance(value, dict | list):
        yield from _leaves(value)


_RUNNER_LINE_BREAK = re.compile(r"\r\n?|\n")


def mask_strings(bundle: Bundle) -> list[str]:
    """Every string to ``::add-mask::`` for the bundle's secrets, sorted, longest first."""
    texts: set[str] = set()
    for resolved in bundle.resolved_values():
        if not resolved.secret:
            continue
        texts.add(to_text(resolved.value))
        texts.update(_json_fields(resolved.value))
    masks: set[str] = set()
    for text in texts:
        for form in encoded_forms(text):
            decoded = form.decode("utf-8", "surrogateescape")
            if "\n" not in decoded and "\r" not in decoded:
                masks.add(decoded)
        # The runner masks line by line: a multi-line value needs each of its lines, split
        # where the runner splits its log (CR, LF, CRLF; not U+2028 or U+0085, which
        # str.splitlines also breaks at, leaving the runner's line itself unmasked).
        for line in _RUNNER_LINE_BREAK.split(text):
            if len(line.strip()) >= MIN_VALUE_CHARS:
                masks.add(line)
    return sorted(masks, key=lambda m: (-len(m), m))


def _delimiter(values: list[str]) -> str:
    while True:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        if not any(delimiter in v for v in values):
            return delimiter


def heredoc_blocks(pairs: list[tuple[str, str]]) -> str:
    """``NAME<<D`` / value / ``D`` per variable, as the runner reads ``$GITHUB_ENV``."""
    delimiter = _delimiter([v for _, v in pairs])
    return "".join(f"{name}<<{delimiter}\n{value}\n{delimiter}\n" for name, value in pairs)


def _target(environ: Mapping[str, str], variable: str) -> Path:
    path = environ.get(variable)
    if not path:
        raise ConfigError(f"${variable} is not set: --format github runs inside a GitHub "
                          "Actions step (elsewhere use --format shell or dotenv)")
    return Path(path)


def export(bundle: Bundle, out: TextIO, *, prefix: str = "", outputs: bool = False,
           environ: Mapping[str, str] | None = None) -> int:
    """Mask, then append to ``$GITHUB_ENV`` (and ``$GITHUB_OUTPUT``); returns the count."""
    environ = os.environ if environ is None else environ
    pairs = [(name, text) for name, text, _ in env_pairs(bundle, True, prefix)]
    for name, text in pairs:
        if text.endswith("\r"):
            # A Windows runner reads the CR before the closing line's LF as part of the newline.
            raise ConfigError(f"{name}: its value ends with a carriage return, which "
                              "$GITHUB_ENV cannot carry; use 'vaultline run --files' in the step")
    targets = [_target(environ, "GITHUB_ENV")]
    if outputs:
        targets.append(_target(environ, "GITHUB_OUTPUT"))
    for mask in mask_strings(bundle):
        out.write(f"::add-mask::{_escape_data(mask)}\n")
    # The masks must be registered before any value exists anywhere the runner might print.
    out.flush()
    blocks = heredoc_blocks(pairs).encode("utf-8")
    for target in targets:
        # The runner creates these files; one vaultline creates holds the values, so 0600.
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        with os.fdopen(fd, "ab") as handle:
            handle.write(blocks)
    return len(pairs)
