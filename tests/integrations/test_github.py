"""``--format github``: every secret masked before anything else, then $GITHUB_ENV read back
exactly as the Actions runner reads it."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import stat
from pathlib import Path

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.cli.test_runtime_cli import CANARY
from vaultline.errors import ConfigError
from vaultline.output.github import export, heredoc_blocks, mask_strings
from vaultline.resolve.bundle import Bundle, Layer, Provenance, ResolvedValue


def read_env_file(text: str, *, windows: bool = False) -> dict[str, str]:
    """A port of the runner's SetEnvFileCommand (FileCommandManager.cs): NAME=VALUE lines and
    NAME<<DELIMITER blocks, the value being the text between the two lines (newline "\\n", or
    also "\\r\\n" on Windows)."""
    def read_line(index: int) -> tuple[str | None, int, str | None]:
        if index >= len(text):
            return None, index, None
        lf = text.find("\n", index)
        if lf < 0:
            return text[index:], len(text), None
        crlf = text.find("\r\n", index) if windows else -1
        if 0 <= crlf < lf:
            return text[index:crlf], crlf + 2, "\r\n"
        return text[index:lf], lf + 1, "\n"

    result: dict[str, str] = {}
    line, index, _ = read_line(0)
    while line is not None:
        if line:
            equals, heredoc = line.find("="), line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                key, value = line.split("=", 1)
            elif heredoc >= 0:
                key, delimiter = line.split("<<", 1)
                assert key and delimiter
                start = end = index
                temp, index, newline = read_line(index)
                while temp != delimiter:
                    assert temp is not None, f"delimiter {delimiter} not found"
                    assert newline is not None, "EOF marker missing new line"
                    end = index - len(newline)
                    temp, index, newline = read_line(index)
                value = text[start:end] if end > start else ""
            else:
                raise AssertionError(f"invalid format {line!r}")
            result[key] = value
        line, index, _ = read_line(index)
    return result


def secret(key: str, value: object) -> ResolvedValue:
    return ResolvedValue(key, value, True, Provenance(Layer.SECRETS, "test"))


def plain(key: str, value: object) -> ResolvedValue:
    return ResolvedValue(key, value, False, Provenance(Layer.PACK, "test"))


PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOuGIb\n-----END PRIVATE KEY-----\n"
VALUES = [
    secret("Db:Url", "postgres://app:p%0Ass@db/app"),
    secret("Jwt:Key", PEM),
    secret("Api:Creds", {"user": "svc", "password": "hunter2-json-field", "n": [1234567]}),
    secret("Api:Raw", '{"token": "raw-json-token-value"}'),
    plain("Logging:Level", "Warning"),
    plain("Empty", ""),
]


@pytest.fixture
def bundle() -> Bundle:
    return Bundle("ci", {v.key: v for v in VALUES})


def test_masks_every_line_field_and_encoded_form(bundle: Bundle) -> None:
    masks = set(mask_strings(bundle))
    assert "postgres://app:p%0Ass@db/app" in masks
    assert base64.b64encode(b"postgres://app:p%0Ass@db/app").decode() in masks
    assert "postgres%3A%2F%2Fapp%3Ap%250Ass%40db%2Fapp" in masks  # URL-encoded
    assert "MC4CAQAwBQYDK2VwBCIEIOuGIb" in masks and "-----END PRIVATE KEY-----" in masks
    assert json.dumps(PEM)[1:-1] in masks  # the JSON-escaped one-line form
    assert {"hunter2-json-field", "raw-json-token-value", "1234567", "svc"} <= masks
    assert not any("\n" in m for m in masks)
    assert "Warning" not in masks


def _runner_masks(stdout: str) -> set[str]:
    """The values the runner registers: it reads stdout line by line (CR, LF or CRLF) and
    unescapes ``::add-mask::`` data (%0D, %0A, %25)."""
    return {line.removeprefix("::add-mask::").replace("%0D", "\r").replace("%0A", "\n")
            .replace("%25", "%") for line in re.split(r"\r\n|\r|\n", stdout) if line}


def _unmasked(line: str, masks: set[str]) -> str:
    """What the runner's masker leaves of a log line: every occurrence of every mask hidden."""
    hidden = [False] * len(line)
    for mask in masks:
        at = line.find(mask)
        while at >= 0:
            hidden[at:at + len(mask)] = [True] * len(mask)
            at = line.find(mask, at + 1)
    return "".join(c for c, h in zip(line, hidden, strict=True) if not h)


@pytest.mark.parametrize("value", [
    "a\u2028b\x85c\nsecond-line",  # breaks str.splitlines knows and the runner does not
    "p\x0cw\x1dd\r\nline\rtwo\n",
])
def test_each_line_the_runner_logs_is_masked_whole(value: str) -> None:
    out = io.StringIO()
    export(Bundle("ci", {"K": secret("K", value)}), out, environ={"GITHUB_ENV": "/dev/null"})
    masks = _runner_masks(out.getvalue())
    for line in re.split(r"\r\n|\r|\n", value):
        assert _unmasked(line, masks) == ""


def test_masks_come_first_then_github_env_reads_back_exactly(bundle: Bundle,
                                                             tmp_path: Path) -> None:
    env_file, out_file = tmp_path / "env", tmp_path / "output"
    env_file.write_text("EARLIER=kept\n")
    out = io.StringIO()
    count = export(bundle, out, outputs=True,
                   environ={"GITHUB_ENV": str(env_file), "GITHUB_OUTPUT": str(out_file)})
    assert count == len(VALUES)
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("::add-mask::") for line in lines)
    # '%' is escaped so the runner's unescaping gives back the value, not a newline.
    assert "::add-mask::postgres://app:p%250Ass@db/app" in lines
    expected = {"DB__URL": "postgres://app:p%0Ass@db/app", "JWT__KEY": PEM,
                "API__CREDS": json.dumps(VALUES[2].value, separators=(",", ":")),
                "API__RAW": '{"token": "raw-json-token-value"}', "LOGGING__LEVEL": "Warning",
                "EMPTY": ""}
    assert read_env_file(env_file.read_text()) == {"EARLIER": "kept", **expected}
    assert read_env_file(out_file.read_text()) == expected
    assert read_env_file(env_file.read_text(), windows=True)["JWT__KEY"] == PEM


def test_files_it_creates_are_0600_whatever_the_umask(bundle: Bundle, tmp_path: Path) -> None:
    env_file, out_file = tmp_path / "env", tmp_path / "output"
    old = os.umask(0)
    try:
        export(bundle, io.StringIO(), outputs=True,
               environ={"GITHUB_ENV": str(env_file), "GITHUB_OUTPUT": str(out_file)})
    finally:
        os.umask(old)
    assert [stat.S_IMODE(p.stat().st_mode) for p in (env_file, out_file)] == [0o600, 0o600]
    assert read_env_file(env_file.read_text())["JWT__KEY"] == PEM
    # The runner's own file is appended to as it is.
    env_file.chmod(0o644)
    export(bundle, io.StringIO(), environ={"GITHUB_ENV": str(env_file)})
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o644


def test_delimiter_never_occurs_in_a_value() -> None:
    hostile = "x\nghadelimiter_\nEOF\n"
    text = heredoc_blocks([("A", hostile), ("B", "NAME<<EOF")])
    delimiter = text.splitlines()[0].split("<<", 1)[1]
    assert delimiter.startswith("ghadelimiter_") and len(delimiter) > len("ghadelimiter_") + 16
    assert read_env_file(text) == {"A": hostile, "B": "NAME<<EOF"}


def test_refuses_outside_actions_and_a_trailing_carriage_return(bundle: Bundle) -> None:
    with pytest.raises(ConfigError, match=r"\$GITHUB_ENV is not set"):
        export(bundle, io.StringIO(), environ={})
    with pytest.raises(ConfigError, match=r"\$GITHUB_OUTPUT is not set"):
        export(bundle, io.StringIO(), outputs=True, environ={"GITHUB_ENV": "/dev/null"})
    cr = Bundle("ci", {"K": secret("K", "ends\r")})
    with pytest.raises(ConfigError, match="K: its value ends with a carriage return"):
        export(cr, io.StringIO(), environ={"GITHUB_ENV": "/dev/null"})


def test_cli_exports_through_github_env(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    env_file = tmp_path / "github_env"
    result = cli("resolve", "--env", "prod", "--format", "github",
                 extra_env={"GITHUB_ENV": str(env_file)})
    assert result.returncode == 0, result.stderr
    assert all(line.startswith("::add-mask::") for line in result.stdout.splitlines())
    assert f"::add-mask::{CANARY}" in result.stdout.splitlines()
    assert "exported" in result.stderr and "s3cret" not in result.stderr
    exported = read_env_file(env_file.read_text())
    assert exported["CONNECTIONSTRINGS__PRIMARY"] == CANARY
    assert exported["JWT__SIGNINGKEY"].startswith("-----BEGIN PRIVATE KEY-----\n")
    missing = cli("resolve", "--env", "prod", "--format", "github",
                  extra_env={"GITHUB_ENV": ""})
    assert missing.returncode == 2
    assert missing.stderr.startswith("vaultline: error: $GITHUB_ENV is not set")
