from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from vaultline.redact import RedactingFilter

SECRET = "hunter2-secret"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter([SECRET]))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def test_secret_in_message(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    logger.info(f"token is {SECRET}")
    assert out.getvalue() == "token is ********\n"


def test_secret_in_args(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    logger.info("token is %s (%d)", SECRET, 3)
    logger.info("%(tok)s", {"tok": SECRET})
    assert out.getvalue() == "token is ******** (3)\n********\n"


def test_message_without_secret_keeps_its_args(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    records: list[logging.LogRecord] = []

    def keep(record: logging.LogRecord) -> bool:
        records.append(record)
        return True

    logger.addFilter(keep)
    logger.info("value %s", "public")
    assert out.getvalue() == "value public\n"
    assert records[0].args == ("public",)
    logger.removeFilter(keep)


def test_traceback_and_stack(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    try:
        raise ValueError(f"bad value {SECRET}")
    except ValueError:
        logger.exception("failed")
    logger.info("here", stack_info=True)
    text = out.getvalue()
    assert SECRET not in text
    assert "ValueError: bad value ********" in text
    assert "Stack (most recent call last)" in text


def test_broken_format_string(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    logger.info("%d items", SECRET)
    assert SECRET not in out.getvalue()
    assert "********" in out.getvalue()


def test_from_bundle() -> None:
    class Bundle:
        def secret_values(self) -> list[str]:
            return [SECRET]

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "v=%s", (SECRET,), None)
    assert RedactingFilter.from_bundle(Bundle()).filter(record)
    assert record.getMessage() == "v=********"


def test_repr_forms_in_arguments_and_tracebacks(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    quoted = "it's-" + SECRET + "\\path"
    handler = logger.handlers[0]
    handler.filters = [RedactingFilter([quoted])]
    logger.info("config %r", {"k": quoted})
    logger.info("as repr %r", quoted)
    try:
        {}[quoted]
    except KeyError:
        logger.exception("lookup failed")
    assert SECRET not in out.getvalue()
    assert out.getvalue().count("********") == 3


def test_extra_fields(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    handler = logger.handlers[0]
    handler.setFormatter(logging.Formatter("%(message)s %(token)s %(ctx)s %(pin)s %(n)d"))
    logger.info("call", extra={"token": SECRET, "ctx": {"auth": f"Bearer {SECRET}"},
                               "pin": _Shows(SECRET), "n": 5})
    assert out.getvalue() == "call ******** {'auth': 'Bearer ********'} ******** 5\n"


class _Shows:
    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text
