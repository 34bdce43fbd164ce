"""A password pasted into secrets.yaml in place of a reference is never quoted back, even
when it looks nothing like a token: an ordinary password is a bare word to the parser, as a
provider name is, and CI logs keep every error line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))

# Passwords the scanner's detectors and the entropy test do not recognise as values.
ORDINARY = ["hunter2", "Tr0ub4dor&3", "correct horse battery staple", "P@ssw0rd!",
            "Passw0rd#2024", "sup3r$ecr3t", "abc123!@#", "hvs.CAESIJlU9dkXa",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "Zq8vmunich1986"]


def resolve_with(tmp_path: Path, reference: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **master_key_env(), "NO_COLOR": "1"}
    make_project(tmp_path, {"env/prod/secrets.yaml":
                            f"ConnectionStrings:Primary: {json.dumps(reference)}\n"},
                 environ=environ)
    return subprocess.run([VAULTLINE, "resolve", "--env", "prod"], cwd=tmp_path, env=environ,
                          text=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("password", ORDINARY)
def test_an_ordinary_password_is_never_quoted(tmp_path: Path, password: str) -> None:
    done = resolve_with(tmp_path, password)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        "vaultline: error: env/prod/secrets.yaml:1: 'ConnectionStrings:Primary': ")
    assert "not shown" in done.stderr
    for start in range(len(password) - 4):
        assert password[start:start + 5] not in done.stderr, done.stderr


def test_a_near_miss_is_named_by_the_provider_it_is_close_to(tmp_path: Path) -> None:
    done = resolve_with(tmp_path, "lcoal")
    assert done.returncode == 2
    assert "unknown provider (did you mean 'local'?)" in done.stderr
    assert "lcoal" not in done.stderr


@pytest.mark.parametrize(("reference", "message"), [
    ("hashicorp:db#pw", "unknown provider 'hashicorp'"),
    ("vault:", "reference 'vault:': empty path after ':'"),
])
def test_a_reference_with_a_path_is_still_quoted(tmp_path: Path, reference: str,
                                                 message: str) -> None:
    done = resolve_with(tmp_path, reference)
    assert done.returncode == 2 and message in done.stderr, done.stderr
