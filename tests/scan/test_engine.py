"""The engine: allow comments, positions, overlaps, fixtures, bytes that are not UTF-8."""

from __future__ import annotations

import dataclasses

import pytest

from tests.scan.conftest import flagged, secret
from vaultline.scan.detectors import all_detectors
from vaultline.scan.engine import Scanner
from vaultline.scan.finding import fingerprint, mask

SCANNER = Scanner()


def test_allow_comment_on_the_same_line_suppresses() -> None:
    token = secret("github-pat")
    assert flagged(f'TOKEN = "{token}"  # vaultline:allow\n') == []
    assert flagged(f'TOKEN = "{token}"  // gitleaks:allow\n') == []
    assert flagged(f'TOKEN = "{token}"  # pragma: allowlist secret\n') == []


def test_allow_next_line_and_only_that_line() -> None:
    a, b = secret("github-pat", 1), secret("github-pat", 2)
    text = f'# vaultline:allow-next-line\nA = "{a}"\nB = "{b}"\n'
    findings = SCANNER.scan(text.encode(), "x.py")
    assert [(f.line, f.secret) for f in findings] == [(3, b)]


@pytest.mark.parametrize("brk", ["\r", "\u2028", "\u2029", "\x85"])
def test_an_allow_comment_covers_nothing_past_a_line_break_other_than_lf(brk: str) -> None:
    # Python, editors and a terminal's `git diff` end a line at a lone CR (the comment is then
    # overwritten on screen); YAML and JavaScript at U+2028.
    token = secret("github-pat")
    assert flagged(f'# vaultline:allow{brk}TOKEN = "{token}"{brk}') == ["github-pat"]
    assert flagged(f'TOKEN = "{token}"{brk}# vaultline:allow\n') == ["github-pat"]
    text = f'# vaultline:allow-next-line{brk}x = 1{brk}TOKEN = "{token}"\n'
    assert flagged(text) == ["github-pat"]
    assert flagged(f'# vaultline:allow-next-line{brk}TOKEN = "{token}"{brk}') == []
    assert flagged(f'TOKEN = "{token}"  # vaultline:allow{brk}x = 1{brk}') == []


def test_allow_comments_in_a_crlf_file() -> None:
    a, b = secret("github-pat", 1), secret("github-pat", 2)
    text = f'A = "{a}"  # vaultline:allow\r\n# vaultline:allow-next-line\r\nB = "{b}"\r\nB2 = "{b}"\r\n'
    assert [f.line for f in SCANNER.scan(text.encode(), "x.py")] == [4]


def test_allow_on_the_begin_line_of_a_pem_block() -> None:
    pem = secret("pem-rsa-private-key")
    assert flagged(pem.replace("-----\n", "----- vaultline:allow\n", 1) + "\n") == []
    assert flagged(pem + "\n") == ["pem-rsa-private-key"]


def test_line_and_column_are_one_based() -> None:
    token = secret("npm-access-token")
    findings = SCANNER.scan(f'a = 1\nb = 2\n  npm = "{token}"\n'.encode(), "x.py")
    assert [(f.line, f.column, f.secret) for f in findings] == [(3, 10, token)]


def test_column_counts_characters_not_bytes() -> None:
    token = secret("npm-access-token")
    findings = SCANNER.scan(f'# café ☃\nclé = "{token}"\n'.encode(), "x.py")
    assert [(f.line, f.column) for f in findings] == [(2, 8)]


def test_pem_in_json_with_escaped_newlines() -> None:
    pem = secret("pem-private-key").replace("\n", "\\n")
    assert flagged('{"private_key": "' + pem + '"}\n', "sa.json") == ["pem-private-key"]


def test_fixture_findings_are_kept_and_marked() -> None:
    findings = SCANNER.scan(f'K = "{secret("github-pat")}"\n'.encode(), "tests/test_api.py")
    assert [f.tags for f in findings] == [("test-fixture",)]


def test_invalid_utf8_around_a_secret_still_scans() -> None:
    data = b"\xff\xfe garbage " + secret("github-pat").encode() + b" \xc3\x28\n"
    assert [f.rule_id for f in SCANNER.scan(data, "blob.txt")] == ["github-pat"]


def test_many_keywords_one_long_line() -> None:
    line = ";".join(f"token_{i}=None" for i in range(5000)) + f';x="{secret("github-pat")}"\n'
    assert flagged(line, "big.env") == ["github-pat"]


def test_fingerprint_is_rule_path_and_secret_and_mask_keeps_four_chars() -> None:
    assert fingerprint("github-pat", "a.py", "abc") == fingerprint("github-pat", "a.py", "abc")
    assert fingerprint("github-pat", "a.py", "abc") != fingerprint("npm-access-token", "a.py", "abc")
    assert fingerprint("github-pat", "a.py", "abc") != fingerprint("github-pat", "b.py", "abc")
    token = secret("github-pat")
    assert mask(token).startswith("ghp_") and token[4:8] not in mask(token)
    finding = SCANNER.scan(token.encode(), "x")[0]
    assert token not in repr(finding) and token not in str(finding.to_dict())


def test_a_validator_that_raises_keeps_its_candidate_and_the_scan_goes_on() -> None:
    def broken(_secret: bytes) -> bool:
        raise RecursionError("maximum recursion depth exceeded")

    scanner = Scanner([dataclasses.replace(d, validator=broken) if d.rule_id == "jwt" else d
                       for d in all_detectors()])
    text = f'a = "{secret("jwt")}"\nb = "{secret("aws-access-key-id")}"\n'
    assert [f.rule_id for f in scanner.scan(text.encode(), "x.conf")] \
        == ["jwt", "aws-access-key-id"]
