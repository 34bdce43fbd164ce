"""Size limits on what vaultline reads, one bounded way to read a file, and what a path that a
configuration file names may be.

Committed files (vaultline.yaml, environment packs, manifests, policies, baselines) and secret
files (``file:`` references, ``put --from-file``) come from people and tools vaultline does not
control. Every such read goes through :func:`read_bounded`: it refuses devices, FIFOs and
sockets before reading a byte (opened with O_NONBLOCK, so a FIFO with no writer cannot hang
it) and never reads more than the limit plus one byte, so ``/dev/zero`` or a 300 MB file costs
nothing. The limits are environment variables so a CI job can raise them without a code change
(``docs/reference/limits.md``).

JSON from outside (baselines, stored secrets with ``#field``, tokens, audit lines, server
answers) is parsed by :func:`parse_json`, which holds it to the nesting depth YAML is held to.

Work whose time depends on what a repository holds (a team's scan rule, a regex Python
backtracks on) runs under :func:`time_limit`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from vaultline.errors import ConfigError, VaultlineError

KIB = 1024
MIB = 1024 * KIB

# name -> (environment variable, default)
_LIMITS: dict[str, tuple[str, int]] = {
    "file": ("VAULTLINE_MAX_FILE_SIZE", 16 * MIB),  # YAML, JSON, HCL files vaultline parses
    "secret": ("VAULTLINE_MAX_SECRET_SIZE", 1 * MIB),  # file: references, --from-file, stdin
    "template": ("VAULTLINE_MAX_TEMPLATE_SIZE", 1 * MIB),  # render and run --render templates
    # run's compiled maskers (.vaultline/cache): far above those of a hundred thousand secrets
    "masker-cache": ("VAULTLINE_MAX_MASKER_CACHE_SIZE", 1024 * MIB),
}
# How many nodes YAML aliases (*name, << merges) may add to a document once expanded. A few
# anchors for shared settings add dozens; a billion-laughs document adds billions.
ALIAS_EXPANSION_LIMIT = 10_000
# And how much scalar text they may add: a long string aliased thousands of times is few
# nodes, but gigabytes once written out.
ALIAS_TEXT_LIMIT = 1 * MIB
# How deeply YAML and JSON documents may nest. Real ones nest a few levels; a few thousand
# '[' exhaust a parser's stack (libyaml's C stack, json's recursion limit).
MAX_DEPTH = 100
_SIZE = re.compile(r"^\s*(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)\s*$", re.I)
_UNIT = {"": 1, "b": 1, "k": KIB, "kb": KIB, "kib": KIB, "m": MIB, "mb": MIB, "mib": MIB,
         "g": 1024 * MIB, "gb": 1024 * MIB, "gib": 1024 * MIB}


def parse_size(text: str) -> int:
    """``"16MiB"``, ``"512k"``, ``"1048576"`` -> bytes; ValueError if it is not a size."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 65536, 512KiB, 16MiB)")
    return int(match.group(1)) * _UNIT[match.group(2).lower()]


def limit(name: str, environ: Mapping[str, str] | None = None) -> int:
    """The limit ``name`` in bytes: its environment variable if set, else the default."""
    variable, default = _LIMITS[name]
    raw = (os.environ if environ is None else environ).get(variable)
    if not raw:
        return default
    try:
        return parse_size(raw)
    except ValueError as exc:
        raise ConfigError(f"{variable}: {exc}") from None


def seconds_setting(variable: str, default: float,
                    environ: Mapping[str, str] | None = None) -> float:
    """The number of seconds the environment variable ``variable`` gives (above 0), else
    ``default``; a ConfigError naming the variable for anything else."""
    raw = (os.environ if environ is None else environ).get(variable)
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"{variable}: give a number of seconds above 0, not {raw!r}")
    return seconds


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def too_large(what: str, size_limit: int, variable: str | None = None) -> str:
    """The message for something over its limit, saying how to raise it when one can."""
    raise_it = f"; raise the limit with {variable}" if variable else ""
    return f"{what} is larger than the limit of {format_size(size_limit)}{raise_it}"


def read_bounded(path: Path, *, name: str = "file", what: str = "file",
                 error: Callable[[str], VaultlineError] | None = None,
                 environ: Mapping[str, str] | None = None, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file ``path``, at most limit ``name`` of them.

    Devices, FIFOs, sockets and directories are refused, as is a file over the limit; the
    error is built by ``error(reason)`` (a ConfigError naming the file by default). OSErrors
    other than the refusals propagate for the caller to word (ELOOP for a symlink at ``path``
    without ``follow_symlinks``).
    """
    size_limit = limit(name, environ)
    make = error or (lambda reason: ConfigError(reason, file=str(path)))
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags if follow_symlinks else flags | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise make(f"not a regular file ({file_kind(info.st_mode)}); give the path of a file")
        if info.st_size > size_limit:
            raise make(too_large(what, size_limit, _LIMITS[name][0]))
        chunks: list[bytes] = []
        remaining = size_limit + 1  # the file may grow between fstat and read
        while remaining > 0:
            chunk = os.read(fd, min(remaining, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        if remaining <= 0:
            raise make(too_large(what, size_limit, _LIMITS[name][0]))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_config(path: Path, shown: str, environ: Mapping[str, str] | None = None) -> bytes:
    """A configuration file's bytes within the size limit; every failure is a ConfigError
    naming the file as ``shown``."""
    try:
        return read_bounded(path, what="the file",
                            error=lambda reason: ConfigError(reason, file=shown), environ=environ)
    except FileNotFoundError:
        raise ConfigError("file not found", file=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=shown) from None


def read_stream_bounded(read: Callable[[int], bytes], *, name: str = "secret",
                        what: str = "input", environ: Mapping[str, str] | None = None) -> bytes:
    """Up to limit ``name`` bytes from a stream (stdin); a ConfigError if there is more."""
    size_limit = limit(name, environ)
    chunks: list[bytes] = []
    remaining = size_limit + 1
    while remaining > 0:
        chunk = read(min(remaining, MIB))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    if remaining <= 0:
        raise ConfigError(too_large(what, size_limit, _LIMITS[name][0]))
    return b"".join(chunks)


def path_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a path a configuration file names, or None."""
    if not isinstance(value, str) or not value.strip():
        return "must be a path (a non-empty string)"
    return nul_problem(value)


def nul_problem(text: str) -> str | None:
    """Why ``text`` (a path, or any option a path may be) cannot reach the OS, or None."""
    # Paths go to the OS as C strings: os and pathlib raise ValueError on a NUL byte.
    return "holds a NUL byte, which no file path can hold; remove it" if "\0" in text else None


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is, for a message: 'a FIFO', 'a device'…"""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


class ParseLimitError(ValueError):
    """JSON over a structural limit: nested deeper than MAX_DEPTH, or too large to build."""


def parse_json(data: str | bytes) -> Any:
    """``json.loads`` for JSON vaultline does not control, nested at most MAX_DEPTH levels.

    Every failure is a ValueError (ParseLimitError for the limits), so the caller's one
    ``except ValueError`` names its input. No message quotes the input. ``NaN``,
    ``Infinity`` and numbers past a float's range (``1e400``) are refused: they are not JSON,
    and whatever vaultline wrote from them (a token's claims, an output) would not be either.
    """
    try:
        document = json.loads(data, parse_constant=_not_json, parse_float=_finite)
    except RecursionError:
        raise ParseLimitError(f"nested deeper than {MAX_DEPTH} levels") from None
    except MemoryError:
        raise ParseLimitError("too large to parse in memory") from None
    # Fewer brackets than the limit cannot nest past it: small documents skip the walk.
    if isinstance(data, str):
        brackets = data.count("[") + data.count("{")
    else:
        brackets = data.count(b"[") + data.count(b"{")
    if brackets > MAX_DEPTH and _deeper_than(document, MAX_DEPTH):
        raise ParseLimitError(f"nested deeper than {MAX_DEPTH} levels")
    return document


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError("a number past the range of a float")
    return value


def _deeper_than(document: Any, depth: int) -> bool:
    # A loop, not recursion: the document may be just under what json's parser could take.
    stack: list[tuple[Any, int]] = [(document, 1)] if isinstance(document, dict | list) else []
    while stack:
        node, level = stack.pop()
        if level > depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return False


class TimeLimitExceeded(Exception):
    """Raised inside a :func:`time_limit` block when its time is up."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in the block once ``seconds`` of real time have passed.

    A SIGALRM timer: Python's ``re`` checks for signals while it backtracks, so even a regex
    that would run for years stops. Only where the timer exists and can be used (POSIX, the
    main thread, no other timer running); elsewhere the block runs unbounded.
    """
    usable = (hasattr(signal, "setitimer") and seconds > 0
              and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeLimitExceeded

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
