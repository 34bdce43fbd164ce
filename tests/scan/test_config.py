"""Team rules and allowlists: ``.vaultline-scan.yaml`` or ``scan:`` in vaultline.yaml, with
FILE:LINE errors for every mistake, through the library and the real CLI."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.scan.conftest import secret
from vaultline.errors import ConfigError, ScanError
from vaultline.scan import config

_RNG = random.Random(3)
TEAM_TOKEN = "acme_svc_" + "".join(_RNG.choice(string.ascii_letters) for _ in range(32))

RULES = """\
rules:
  - id: acme-service-token
    description: ACME internal service token
    regex: 'acme_svc_[A-Za-z]{32}'
    keywords: [acme_svc_]
    entropy: 3.0
    severity: low
disable: [generic-secret]
allowlist:
  paths: ['^vendor/']
  values: ['^ghp_TESTONLY']
"""


def test_team_rule_disable_and_allowlists(tmp_path: Path) -> None:
    (tmp_path / config.FILE_NAME).write_text(RULES)
    cfg = config.find(tmp_path)
    scanner = cfg.scanner()
    text = f'token = "{TEAM_TOKEN}"\npassword = "Xk9mQ2vLp7wR4zT1abc"\n'
    found = scanner.scan(text.encode(), "app.py")
    assert [(f.rule_id, f.severity) for f in found] == [("acme-service-token", "low")]
    pat = secret("github-pat")
    vendored = scanner.scan(f"x = '{pat}'\n".encode(), "vendor/lib.py")
    assert vendored and cfg.apply(vendored) == []
    assert cfg.apply(scanner.scan(f"x = '{pat}'\n".encode(), "src/lib.py"))


def test_scan_section_of_vaultline_yaml(tmp_path: Path) -> None:
    indented = "".join("  " + line + "\n" for line in RULES.splitlines())
    (tmp_path / "vaultline.yaml").write_text(f"version: 1\napp: x\nscan:\n{indented}")
    assert [r.rule_id for r in config.find(tmp_path).rules] == ["acme-service-token"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("rules:\n  - id: x1\n    regex: '('\n    keywords: [x]\n", 3, "invalid regex"),
        ("rules:\n  - id: github-pat\n    regex: 'x'\n    keywords: [x]\n", 2, "already taken"),
        ("rules:\n  - id: acme\n    regex: 'acme_[a-z]+'\n", 2, "keywords are required"),
        ("rules:\n  - id: acme\n    regex: 'a'\n    keywords: [a]\n    colour: red\n", 5,
         "unknown field 'colour'"),
        ("rules:\n  - id: acme\n    regex: 'a'\n    keywords: [a]\n    entropy: 12\n", 5,
         "entropy"),
        ("rules:\n  - id: acme\n    regex: 'a'\n    keywords: [a]\n    severity: urgent\n", 5,
         "severity"),
        ("\n\ndisable: [github-patt]\n", 3, "did you mean 'github-pat'"),
        ("allowlist:\n  paths: ['[']\n", 2, "invalid regex"),
        ("allowlist:\n  files: [x]\n", 2, "unknown field 'files'"),
        ("rulez: []\n", 1, "unknown field 'rulez'"),
    ],
)
def test_invalid_configuration_names_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / config.FILE_NAME
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        config.find(tmp_path)
    assert str(raised.value).startswith(f"{path}:{line}: ") and message in str(raised.value)


def test_cli_uses_the_file_and_reports_errors_in_one_line(
    tmp_path: Path, cli: Callable[..., CompletedProcess[str]]
) -> None:
    (tmp_path / config.FILE_NAME).write_text(RULES)
    (tmp_path / "svc.py").write_text(f'token = "{TEAM_TOKEN}"\n')
    found = cli("scan", ".", "--no-hygiene", cwd=tmp_path)
    assert found.returncode == 1 and "acme-service-token" in found.stdout
    (tmp_path / config.FILE_NAME).write_text("rules:\n  - id: acme\n    regex: '('\n    keywords: [a]\n")
    broken = cli("scan", ".", cwd=tmp_path)
    assert broken.returncode == 2
    assert broken.stderr.startswith("vaultline: error: ") and ".vaultline-scan.yaml:3:" in broken.stderr
    assert broken.stderr.count("\n") == 1 and "Traceback" not in broken.stderr


def test_a_path_allowlist_does_not_cover_a_name_with_a_line_break(tmp_path: Path) -> None:
    (tmp_path / config.FILE_NAME).write_text("allowlist:\n  paths: ['\\.snap$', '^vendor/']\n")
    cfg = config.find(tmp_path)
    line = f"x = '{secret('github-pat')}'\n".encode()
    scanner = cfg.scanner()
    assert cfg.apply(scanner.scan(line, "ui/app.snap")) == []
    assert cfg.apply(scanner.scan(line, "vendor/lib.py")) == []
    for path in ("ui/prod.snap\n", "vendor/x\n/lib.py", "ui/prod.snap\r"):
        assert [f.path for f in cfg.apply(scanner.scan(line, path))] == [path]


def test_a_team_rule_that_backtracks_is_stopped_with_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    (tmp_path / config.FILE_NAME).write_text(
        "rules:\n  - id: slow-rule\n    regex: '(a+)+$'\n    keywords: [aaaa]\n")
    monkeypatch.setenv("VAULTLINE_SCAN_RULE_TIMEOUT", "0.2")
    scanner = config.find(tmp_path).scanner()
    handler = signal.getsignal(signal.SIGALRM)
    # 2**40 ways to split the run of a's before the '!' that makes every one fail.
    with pytest.raises(ScanError) as raised:
        scanner.scan(b"x = '" + b"a" * 40 + b"!'\n", "src/app.py")
    assert raised.value.exit_code == 2
    assert str(raised.value).startswith(f"{tmp_path / config.FILE_NAME}: rule 'slow-rule' ran "
                                        "for more than 0.2 s on src/app.py and was stopped")
    assert signal.getsignal(signal.SIGALRM) is handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    # Text the rule does not backtrack over, and the built-in rules, scan as before.
    token = secret("github-pat")
    found = scanner.scan(f"x = 'aaaa'\nTOKEN = '{token}'\n".encode(), "src/app.py")
    assert [f.rule_id for f in found] == ["github-pat"]


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "inf"])
def test_the_rule_time_limit_must_be_a_number_of_seconds(
        monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("VAULTLINE_SCAN_RULE_TIMEOUT", raw)
    with pytest.raises(ConfigError, match="VAULTLINE_SCAN_RULE_TIMEOUT"):
        config.ScanConfig().scanner()
