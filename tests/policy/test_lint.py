from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import hvac
import pytest

from tests.servers import BaoServer
from vaultline.policy.lint import lint_files, lint_text
from vaultline.policy.model import parse_policy

SEED_004 = """# vault configuration
path "logos/pxl-core/*" {
  capabilities = ["read"]
}

# Runtime secrets
path "logos/pxl-core/runtime/*" {
  capabilities = ["read"]
}

# Build secrets
path "logos/pxl-core/build/*" {
  capabilities = ["read"]
}
"""


def ids(findings: list) -> list[tuple[str, int | None]]:  # type: ignore[type-arg]
    return [(f.rule, f.line) for f in findings if f.severity != "info"]


def test_seed_004_wildcard_is_explained() -> None:
    findings = lint_text(SEED_004, "pxl-core.hcl")
    (finding,) = [f for f in findings if f.severity == "error"]
    assert (finding.rule, finding.line, finding.path) == ("POL003", 2, "logos/pxl-core/*")
    assert "logos/pxl-core/runtime/*' (line 7)" in finding.message
    assert "logos/pxl-core/build/*' (line 12)" in finding.message
    assert "own policy" in finding.fix


def block(path: str, *caps: str) -> str:
    quoted = ", ".join(f'"{c}"' for c in caps)
    return f'path "{path}" {{\n  capabilities = [{quoted}]\n}}\n'


@pytest.mark.parametrize(
    ("hcl", "role", "expected"),
    [
        (block("secret/data/app/prod/db", "read"), None, []),
        (block("secret/*", "read"), None, [("POL001", 1)]),
        (block("secret/data/*", "read", "list"), None, [("POL001", 1)]),
        (block("*", "read"), None, [("POL001", 1)]),
        (block("secret/data/+/config", "read"), None, [("POL001", 1)]),
        (block("secret/data/app/*", "read") + block("secret/data/app/prod/x", "read")
         + block("secret/data/app/dev/x", "read"), None,
         [("POL002", 1), ("POL003", 1)]),
        (block("secret/data/app/prod/*", "read") + block("secret/data/app/dev/*", "read"),
         None, []),
        (block("sys/mounts", "read", "sudo"), None, [("POL004", 1)]),
        (block("secret/data/app/prod/*", "read", "update"), "runtime", [("POL005", 1)]),
        (block("secret/data/app/prod/*", "read", "update"), "ci", []),
        (block("kv/data/runtime/app", "create"), None, [("POL005", 1)]),
        (block("secret/data/app/prod/x", "read") + block("secret/data/app/prod/x", "deny"),
         None, [("POL006", 4)]),
        (block("secret/data/app/prod/*", "deny") + block("secret/data/app/prod/x", "read"),
         None, [("POL006", 1)]),
        # a narrower deny carving out of a glob grant is the intended pattern
        (block("secret/data/app/prod/*", "read") + block("secret/data/app/prod/admin", "deny"),
         None, []),
    ],
)
def test_rules(hcl: str, role: str | None, expected: list[tuple[str, int]]) -> None:
    assert ids(lint_text(hcl, "policy.hcl", role)) == expected


@pytest.mark.parametrize(
    ("name", "text", "role"),
    [
        ("app-runtime.hcl", "", "runtime"),
        ("payments-svc.hcl", "", "runtime"),
        ("ci-deploy.hcl", "", "ci"),
        ("github_release.hcl", "", "ci"),
        ("admin.hcl", "", "admin"),
        ("policy.hcl", "# vaultline: role=runtime\n", "runtime"),
        ("app.hcl", "# vaultline: role=ci\n", "ci"),  # the marker beats the file name
        ("policy.hcl", "", None),
    ],
)
def test_role_detection(name: str, text: str, role: str | None) -> None:
    assert parse_policy(text + block("a/data/b", "read"), name).role == role


def test_legacy_policy_shorthand_and_duplicate_path_lines() -> None:
    hcl = 'path "kv/data/a" {\n  policy = "write"\n}\npath "kv/data/a" {\n  policy = "read"\n}\n'
    policy = parse_policy(hcl, "x.hcl")
    assert [(r.line, r.capabilities) for r in policy.rules] == [
        (1, ("create", "read", "update", "delete", "list")),
        (4, ("read", "list")),
    ]


def test_deny_shadowing_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.hcl").write_text(block("kv/data/app/prod/*", "deny"))
    (tmp_path / "b.hcl").write_text(block("kv/data/app/prod/db", "read"))
    findings = lint_files([tmp_path / "a.hcl", tmp_path / "b.hcl"])
    assert [(f.rule, Path(f.file).name) for f in findings] == [("POL006", "a.hcl")]
    assert "b.hcl:1" in findings[0].message


def test_invalid_hcl_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "bad.hcl").write_text('path "x" {\n  capabilities = [\n')
    (tmp_path / "ok.hcl").write_text(block("kv/*", "read"))
    findings = lint_files([tmp_path / "bad.hcl", tmp_path / "ok.hcl"])
    assert [f.rule for f in findings] == ["POL000", "POL001"]


def vaultline(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from vaultline.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


def test_cli_json_and_exit_code(tmp_path: Path) -> None:
    seed = tmp_path / "pxl-core.hcl"
    seed.write_text(SEED_004)
    result = vaultline("policy", "lint", str(seed), "--format", "json")
    assert result.returncode == 1, result.stderr
    rules = [(f["rule"], f["line"]) for f in json.loads(result.stdout)["findings"]]
    assert ("POL003", 2) in rules


def test_cli_table_clean_policy_exits_zero(tmp_path: Path) -> None:
    clean = tmp_path / "app-runtime.hcl"
    clean.write_text(block("kv/data/app/prod/db", "read"))
    result = vaultline("policy", "lint", str(clean))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no findings" in result.stdout


def test_cli_role_flag_overrides_file_name(tmp_path: Path) -> None:
    ci = tmp_path / "ci-deploy.hcl"
    ci.write_text(block("kv/data/app/prod/db", "read", "update"))
    assert vaultline("policy", "lint", str(ci)).returncode == 0
    result = vaultline("policy", "lint", str(ci), "--role", "runtime")
    assert result.returncode == 1 and "POL005" in result.stdout


# Policies OpenBao reads differently from python-hcl2: Go's escapes (\\x2a, \\052 are '*'),
# and a block's further labels, which Vault ignores (python-hcl2 nests the body under them).
SELF = 'path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}\n'


@pytest.mark.parametrize(("rules", "granted", "expected"), [
    ('path "kv/\\x2a" {\n  capabilities = ["read"]\n}\n', "read", [("POL001", 1)]),
    ('path "kv/data/\\052" {\n  capabilities = ["read"]\n}\n', "read", [("POL001", 1)]),
    ('path "kv/data/\\u002a" {\n  capabilities = ["read"]\n}\n', "read", [("POL001", 1)]),
    ('path "kv/data/*" "x" {\n  capabilities = ["read"]\n}\n', "read", [("POL001", 1)]),
    ('path "kv/data/{app}/prod/db" "x" "y" {{\n  capabilities = ["update"]\n}}\n', "update",
     [("POL005", 1)]),
])
def test_lint_reads_paths_as_openbao_does(openbao: BaoServer, rules: str, granted: str,
                                          expected: list[tuple[str, int]]) -> None:
    app = f"lint-{secrets.token_hex(4)}"
    root = hvac.Client(url=openbao.url, token=openbao.token)
    root.secrets.kv.v2.create_or_update_secret(f"{app}/prod/db", {"v": "1"}, mount_point="kv")
    text = rules.format(app=app) if "{app}" in rules else rules
    root.sys.create_or_update_policy(name=app, policy=SELF + text)
    token = root.auth.token.create(policies=[app], no_default_policy=True)["auth"]["client_token"]
    kv = hvac.Client(url=openbao.url, token=token).secrets.kv.v2
    if granted == "read":  # OpenBao grants what the lint must see
        assert kv.read_secret_version(f"{app}/prod/db", mount_point="kv",
                                      raise_on_deleted_version=True)["data"]["data"] == {"v": "1"}
    else:
        kv.create_or_update_secret(f"{app}/prod/db", {"v": "2"}, mount_point="kv")
    findings = lint_text(text, "app-runtime.hcl")
    assert [(f.rule, f.line) for f in findings if f.severity == "error"] == expected
