"""``vaultline keys sign|verify|encrypt|decrypt|rewrap NAME``: use a key ring from the shell.

Input comes from stdin or ``--in``, output goes to stdout or ``--out`` (created 0600, written
to a temporary file and renamed only once everything authenticated). ``encrypt`` always writes
the streamed format, so inputs of any size work; ``decrypt`` and ``rewrap`` read both formats.
Every use is audited.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar, cast

import click

from vaultline._files import writing_output
from vaultline._limits import ParseLimitError, parse_json
from vaultline.cli._context import project_dir_option
from vaultline.cli._output import OutputFile
from vaultline.cli.keys import open_keys
from vaultline.errors import ConfigError, VerificationError

F = TypeVar("F", bound=Callable[..., Any])
_MAGIC_BYTES = 4


def _io_options(f: F) -> F:
    f = click.option("--out", "out_path", type=OutputFile(),
                     default=None, help="Write here (mode 0600) instead of stdout.")(f)
    return click.option("--in", "in_path", type=click.Path(dir_okay=False, exists=True,
                                                           path_type=Path),
                        default=None, help="Read this file instead of stdin.")(f)


def _context_option(f: F) -> F:
    return click.option("--context", "context", multiple=True, metavar="KEY=VALUE",
                        help="Encryption context (associated data); repeat for more pairs. "
                             "Decrypt with the same pairs.")(f)


def _parse_context(pairs: tuple[str, ...]) -> dict[str, str]:
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--context takes KEY=VALUE, not {pair!r}")
        context[key] = value
    return context


@contextlib.contextmanager
def _source(path: Path | None) -> Iterator[BinaryIO]:
    if path is None:
        yield cast(BinaryIO, sys.stdin.buffer)
        return
    with path.open("rb") as handle:
        yield cast(BinaryIO, handle)


@contextlib.contextmanager
def _sink(path: Path | None, *, binary: bool = False) -> Iterator[BinaryIO]:
    """stdout, or ``path`` written through ``writing_output``: a 0600 temporary beside it renamed
    into place on success, or the device or FIFO that is there."""
    if path is None:
        if binary and sys.stdout.isatty():
            raise ConfigError("refusing to write binary ciphertext to a terminal; redirect "
                              "stdout or use --out FILE")
        yield cast(BinaryIO, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with writing_output(path) as handle:
        yield handle


class _Prefixed:
    """A reader that returns ``head`` first, then the rest of ``rest`` (only ``read``)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def _read_text(path: Path | None, what: str) -> str:
    """Claims or a token: small, so read within the file size limit (``/dev/zero`` or an
    endless pipe is an error, not all of memory)."""
    from vaultline._limits import read_bounded, read_stream_bounded

    if path is None:
        data = read_stream_bounded(sys.stdin.buffer.read, name="file", what=f"the {what}")
    else:
        data = read_bounded(path, what=f"the {what}")
    text = data.decode("utf-8", "replace").strip()
    if not text:
        raise ConfigError(f"no {what} given: pipe it on stdin or use --in")
    return text


# -- JWT ---------------------------------------------------------------------------------------


@click.command()
@click.argument("name")
@click.option("--ttl", default=None, help="Set iat and exp: the token expires after this (15m).")
@click.option("--in", "in_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Read the claims from this file instead of stdin.")
@project_dir_option
def sign(name: str, ttl: str | None, in_path: Path | None, project_dir: Path | None) -> None:
    """Sign the claims JSON on stdin as a JWT with the ring's primary key.

    \b
    Example:
      echo '{"sub": "svc-a", "aud": "api"}' | vaultline keys sign api-tokens --ttl 15m
    """
    from vaultline.duration import parse_duration

    try:
        claims = parse_json(_read_text(in_path, "claims JSON"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the claims are not JSON: {exc.msg} (line {exc.lineno})") from None
    except ParseLimitError as exc:
        raise ConfigError(f"the claims JSON is {exc}") from None
    except ValueError as exc:  # NaN, Infinity, 1e400: Python reads them, JSON has none
        raise ConfigError(f"the claims are not JSON: {exc}") from None
    if not isinstance(claims, dict):
        raise ConfigError("the claims must be a JSON object, like {\"sub\": \"svc-a\"}")
    with open_keys(project_dir, audit_uses=True) as manager:
        if ttl is not None:
            try:
                lifetime = parse_duration(ttl)
            except ValueError as exc:
                raise ConfigError(f"--ttl: {exc}") from None
            now = int(manager.now().timestamp())
            claims.setdefault("iat", now)
            claims["exp"] = now + int(lifetime.total_seconds())
        click.echo(manager.ring(name).sign_jwt(claims))


@click.command()
@click.argument("name")
@click.option("--issuer", default=None, help="Require this iss.")
@click.option("--audience", multiple=True, help="Accept these aud values (repeatable).")
@click.option("--leeway", default="0s", show_default=True, help="Clock skew allowed for exp/nbf.")
@click.option("--require", "required", multiple=True, help="Claims that must be present.")
@click.option("--in", "in_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Read the token from this file instead of stdin.")
@project_dir_option
def verify(name: str, issuer: str | None, audience: tuple[str, ...], leeway: str,
           required: tuple[str, ...], in_path: Path | None, project_dir: Path | None) -> None:
    """Verify the JWT on stdin; print its claims as JSON, or exit 1 if it is invalid.

    \b
    Example:
      vaultline keys sign api-tokens < claims.json | vaultline keys verify api-tokens --audience api
    """
    from vaultline.duration import parse_duration

    token = _read_text(in_path, "token")
    try:
        skew = parse_duration(leeway).total_seconds()
    except ValueError as exc:
        raise ConfigError(f"--leeway: {exc}") from None
    with open_keys(project_dir, audit_uses=True) as manager:
        ring = manager.ring(name)
        try:
            claims = ring.verify_jwt(token, issuer=issuer, audience=list(audience) or None,
                                     leeway=skew, require=required)
        except VerificationError:
            manager.audit_use("key.verify", ring.record, outcome="failed")
            raise
        manager.audit_use("key.verify", ring.record)
    click.echo(json.dumps(claims, indent=2))


# -- envelope encryption ----------------------------------------------------------------------


@click.command()
@click.argument("name")
@_context_option
@_io_options
@project_dir_option
def encrypt(name: str, context: tuple[str, ...], in_path: Path | None, out_path: Path | None,
            project_dir: Path | None) -> None:
    """Encrypt stdin (or --in) under the ring's primary key, in streamed chunks.

    \b
    Examples:
      vaultline keys encrypt payloads --context tenant=t1 < report.pdf > report.pdf.vlt
      vaultline keys encrypt payloads --in backup.tar --out backup.tar.vlt
    """
    ctx = _parse_context(context)
    with open_keys(project_dir, audit_uses=True) as manager:
        ring = manager.ring(name)
        with _source(in_path) as src, _sink(out_path, binary=True) as dst:
            ring.encrypt_stream(src, dst, context=ctx)


def _open_any(path: Path | None, action: Callable[[bytes, BinaryIO], None]) -> None:
    """Run ``action(magic, source)``. A streamed file is read chunk by chunk; a blob is read
    whole, so at most the file size limit of it (VAULTLINE_MAX_FILE_SIZE): an endless or huge
    input fails before it fills memory."""
    from vaultline._limits import read_stream_bounded
    from vaultline.keys.envelope import MAGIC, STREAM_MAGIC, parse_header

    with _source(path) as src:
        head = src.read(_MAGIC_BYTES)
        if head not in (MAGIC, STREAM_MAGIC):
            parse_header(head)  # says what it is instead, before the rest is read
        source = cast(BinaryIO, _Prefixed(head, src))
        if head == MAGIC:
            source = io.BytesIO(read_stream_bounded(source.read, name="file",
                                                    what="the encrypted blob"))
        action(head, source)


@click.command()
@click.argument("name")
@_context_option
@_io_options
@project_dir_option
def decrypt(name: str, context: tuple[str, ...], in_path: Path | None, out_path: Path | None,
            project_dir: Path | None) -> None:
    """Decrypt a blob or streamed file from stdin (or --in); exit 1 if it does not authenticate.

    On stdout, chunks are written as they authenticate; with --out nothing is left behind
    unless the whole file did.

    \b
    Example:
      vaultline keys decrypt payloads --context tenant=t1 --in report.pdf.vlt --out report.pdf
    """
    from vaultline.keys.envelope import STREAM_MAGIC

    ctx = _parse_context(context)
    with open_keys(project_dir, audit_uses=True) as manager:
        ring = manager.ring(name)

        def run(head: bytes, src: BinaryIO) -> None:
            with _sink(out_path) as dst:
                if head == STREAM_MAGIC:
                    ring.decrypt_stream(src, dst, context=ctx)
                else:
                    dst.write(ring.decrypt(src.read(), context=ctx))

        _open_any(in_path, run)


@click.command()
@click.argument("name")
@_io_options
@project_dir_option
def rewrap(name: str, in_path: Path | None, out_path: Path | None,
           project_dir: Path | None) -> None:
    """Re-wrap the data key of a blob or streamed file under the primary; payload untouched.

    \b
    Example:
      vaultline keys rewrap payloads --in report.pdf.vlt --out report.pdf.vlt.new
    """
    from vaultline.keys.envelope import STREAM_MAGIC

    with open_keys(project_dir, audit_uses=True) as manager:
        ring = manager.ring(name)

        def run(head: bytes, src: BinaryIO) -> None:
            with _sink(out_path, binary=True) as dst:
                if head == STREAM_MAGIC:
                    ring.rewrap_stream(src, dst)
                else:
                    dst.write(ring.rewrap(src.read()))

        _open_any(in_path, run)


__all__ = ["decrypt", "encrypt", "rewrap", "sign", "verify"]
