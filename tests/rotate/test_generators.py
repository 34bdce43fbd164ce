"""Generators: password:LEN[:CLASSES], token:BYTES, command:PROGRAM (key on stdout, never argv)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from vaultline.errors import ConfigError
from vaultline.rotate.generators import Generator, GeneratorError


@pytest.mark.parametrize("spec, length, classes", [
    ("password:32", 32, (string.ascii_lowercase, string.ascii_uppercase, string.digits)),
    ("password:16:a0", 16, (string.ascii_lowercase, string.digits)),
    ("password:20:aA0!", 20, (string.ascii_lowercase, string.ascii_uppercase, string.digits,
                              "-_.~+=^")),
])
def test_passwords_have_the_length_and_every_class(spec: str, length: int,
                                                   classes: tuple[str, ...]) -> None:
    generator = Generator.parse(spec)
    for _ in range(50):
        value = generator.generate(Path("."))
        assert len(value) == length
        assert all(any(c in cls for c in value) for cls in classes)
        assert all(any(c in cls for cls in classes) for c in value)


def test_tokens_are_random_and_url_safe() -> None:
    generator = Generator.parse("token:32")
    values = {generator.generate(Path(".")) for _ in range(20)}
    assert len(values) == 20
    assert all(len(v) >= 43 and set(v) <= set(string.ascii_letters + string.digits + "-_")
               for v in values)


@pytest.mark.parametrize("spec, message", [
    ("password:8", "from 12 to 1024"),
    ("password:32:x", "classes"),
    ("password:32:aa", "classes"),
    ("token:abc", "token:BYTES"),
    ("command:", "needs a command"),
    ("uuid", "password:LEN"),
])
def test_bad_specs_say_what_to_write(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Generator.parse(spec)


def test_command_output_is_the_key_and_its_stderr_never_surfaces(tmp_path: Path) -> None:
    script = tmp_path / "new-key"
    script.write_text("#!/bin/sh\necho 'issued sk-live-123456' >&2\necho sk-live-123456\n")
    script.chmod(0o755)
    assert Generator.parse("command:./new-key").generate(tmp_path) == "sk-live-123456"
    script.write_text("#!/bin/sh\necho 'sk-live-123456 rejected' >&2\nexit 3\n")
    with pytest.raises(GeneratorError) as caught:
        Generator.parse("command:./new-key").generate(tmp_path)
    assert "exited with 3" in str(caught.value) and "sk-live" not in str(caught.value)
    script.write_text("#!/bin/sh\nprintf 'a\\nb\\n'\n")
    with pytest.raises(GeneratorError, match="one line"):
        Generator.parse("command:./new-key").generate(tmp_path)


def test_the_command_does_not_get_the_master_key(tmp_path: Path) -> None:
    script = tmp_path / "new-key"
    script.write_text('#!/bin/sh\necho "key-${VAULTLINE_MASTER_KEY:-none}-${ISSUER_TOKEN}"\n')
    script.chmod(0o755)
    environ = {"PATH": "/usr/bin:/bin", "VAULTLINE_MASTER_KEY": "master-secret",
               "ISSUER_TOKEN": "issuer"}
    assert Generator.parse("command:./new-key").generate(tmp_path, environ) == "key-none-issuer"
