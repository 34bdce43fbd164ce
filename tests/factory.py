"""Building throw-away projects for tests: files written exactly as a user would."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vaultline.store import EmbeddedStore


class FakeClock:
    """A clock tests move by hand: ``clock.advance(hours=2)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def master_key_env() -> dict[str, str]:
    return {"VAULTLINE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def make_project(root: Path, files: dict[str, str] | None = None, *,
                 environ: dict[str, str] | None = None) -> Path:
    """A project with a store; ``files`` override the default vaultline.yaml and packs."""
    base = {
        "vaultline.yaml": """
            version: 1
            app: nexus-engine
            environments: [dev, prod]
            defaults:
              Logging:Level: Information
            schema:
              ConnectionStrings:Primary: {secret: true, required: true}
        """,
        "env/prod/values.yaml": "Logging:Level: Warning\n",
        "env/prod/secrets.yaml": "ConnectionStrings:Primary: local\n",
    }
    base.update(files or {})
    write(root, base)
    if environ is not None:
        EmbeddedStore.create(root / ".vaultline", environ=environ)[0].close()
    return root


VAULTLINE = str(Path(sys.executable).with_name("vaultline"))


def vaultline(root: Path, environ: dict[str, str], *args: str, stdin: str | None = None,
              drop: tuple[str, ...] = ("VAULTLINE_",),
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real CLI in `root`: the process environment without the variables starting with
    `drop` (vaultline's own by default), plus `environ` and HOME=`root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(environ, HOME=str(root))
    return subprocess.run([VAULTLINE, *args], cwd=root, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def fifo_reader(fifo: Path) -> Iterator[list[bytes]]:
    """A reader on the FIFO `fifo` that is there before vaultline opens it, as with a shell's
    ``>(...)``: yields the list its chunks go to, complete once the block has ended."""
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(reader, True)
    keepalive = os.open(fifo, os.O_WRONLY)  # the reader sees EOF only when this closes
    received: list[bytes] = []

    def drain() -> None:
        while chunk := os.read(reader, 1 << 16):
            received.append(chunk)

    thread = threading.Thread(target=drain)
    thread.start()
    try:
        yield received
    finally:
        os.close(keepalive)
        thread.join(30)
        os.close(reader)
