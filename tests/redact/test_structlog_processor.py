from __future__ import annotations

from typing import Any

import structlog
from structlog.testing import capture_logs

from vaultline.redact import RedactingProcessor

SECRET = "hunter2-secret"


def test_nested_values_are_masked() -> None:
    processor = RedactingProcessor([SECRET])
    event: dict[str, Any] = {
        "event": f"login with {SECRET}",
        "headers": {"authorization": f"Bearer {SECRET}", "n": 3},
        "history": [SECRET, ("x", SECRET), {SECRET: "as a key"}],
        "raw": SECRET.encode(),
        "count": 7,
    }
    out = processor(None, "info", event)
    assert out == {
        "event": "login with ********",
        "headers": {"authorization": "Bearer ********", "n": 3},
        "history": ["********", ("x", "********"), {"********": "as a key"}],
        "raw": b"********",
        "count": 7,
    }
    assert SECRET not in repr(processor)


def test_in_a_structlog_chain() -> None:
    class Bundle:
        def secret_values(self) -> list[str]:
            return [SECRET]

    structlog.configure(processors=[RedactingProcessor.from_bundle(Bundle())])
    try:
        with capture_logs(processors=[RedactingProcessor.from_bundle(Bundle())]) as logs:
            structlog.get_logger().info("connect", dsn=f"postgres://app:{SECRET}@db/app")
    finally:
        structlog.reset_defaults()
    assert logs == [
        {"event": "connect", "dsn": "postgres://app:********@db/app", "log_level": "info"}
    ]


def test_rendered_output() -> None:
    processor = RedactingProcessor([SECRET])
    renderer = structlog.processors.JSONRenderer()
    line = renderer(None, "info", processor(None, "info", {"event": "x", "token": SECRET}))
    assert SECRET not in str(line)


def test_non_string_values_are_masked() -> None:
    class Credentials:
        def __repr__(self) -> str:
            return f"Credentials(password={SECRET!r})"

    pin = 90817263
    processor = RedactingProcessor([SECRET, str(pin)])
    out = processor(None, "info", {"event": "x", "creds": Credentials(), "pin": pin,
                                   "error": ValueError(SECRET), "ok": True, "n": 3})
    assert out == {"event": "x", "creds": "Credentials(password='********')", "pin": "********",
                   "error": "********", "ok": True, "n": 3}
