"""Limits in the loaders and readers: YAML structure, file sizes, devices, value caps."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.factory import make_project, master_key_env, write
from tests.hostile import laughs
from vaultline import _limits
from vaultline.duration import parse_duration
from vaultline.errors import (
    ConfigError,
    ProviderError,
    ResolutionError,
    StoreError,
)
from vaultline.project._yaml import load_file, parse
from vaultline.project.model import Project
from vaultline.providers.base import ProviderContext
from vaultline.providers.file import read_secret_file
from vaultline.providers.local import LocalProvider
from vaultline.store import EmbeddedStore


@pytest.mark.parametrize(("text", "message"), [
    (laughs(), "aliases (*name) expand the document by more than 10000 nodes"),
    (laughs(mapping=True), "aliases (*name) expand the document"),
    ("a: &r [*r]\n", "an alias refers to itself"),
    ("a: " + "[" * 150 + "]" * 150, "nested deeper than 100 levels"),
    ("? [a]\n: 1\n", "a mapping key must be a plain value, not a list or mapping"),
    ("x: 1\n? {a: 1}\n: 2\n", "a mapping key must be a plain value"),
    ("a: 1\na: 2\n", "duplicate key 'a'"),
])
def test_yaml_structure_limits(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    started = time.process_time()
    with pytest.raises(ConfigError, match="invalid YAML") as info:
        load_file(path, display="f.yaml")
    assert message in str(info.value) and str(info.value).startswith("f.yaml:")
    assert time.process_time() - started < 1.0


def _nested(depth: int) -> str:
    return "[" * (depth - 1) + '{"a": ' + "1" + "}" + "]" * (depth - 1)


@pytest.mark.parametrize(("text", "parsed"), [
    ("1", True), ("[]", True), (_nested(100), True), ("[" * 101 + "]" * 101, False),
    (_nested(101), False), ("[" * 900 + "]" * 900, False),  # json.loads would take it
    ("[" * 100_000, False),  # a RecursionError in json.loads
])
def test_parse_json_holds_json_to_the_yaml_depth(text: str, parsed: bool) -> None:
    for data in (text, text.encode()):
        if parsed:
            assert _limits.parse_json(data) is not None
        else:
            with pytest.raises(_limits.ParseLimitError, match=r"^nested deeper than 100 levels$"):
                _limits.parse_json(data)


def test_parse_json_failures_are_value_errors_that_quote_nothing() -> None:
    for text in ('{"secret": "hunter2"', '["hunter2"', b'\xff"hunter2"'):
        with pytest.raises(ValueError) as info:
            _limits.parse_json(text)
        assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("text", ['{"exp": 1e400}', '[-1e999]', '[NaN]', '{"a": Infinity}',
                                  b'[-Infinity]'])
def test_parse_json_refuses_what_json_cannot_carry(text: str | bytes) -> None:
    # Python's json reads these; written out again they are not JSON (`Infinity`).
    with pytest.raises(ValueError, match=r"not a JSON number|past the range of a float"):
        _limits.parse_json(text)
    assert _limits.parse_json('[1e308, -2.5, 10000000000000000000000]') == [1e308, -2.5, 10**22]


def test_only_text_with_an_alias_is_walked_for_expansion() -> None:
    from vaultline.project._yaml import check_depth

    assert check_depth("a: &x 1\nb: 2\n") is False  # an anchor alone expands nothing
    assert check_depth("a: &x 1\nb: *x\n") is True
    assert check_depth("a: '*x'\nb: \"&y *y\"\n# *z\n") is False  # text, not aliases


def test_an_alias_bomb_after_many_plain_manifests_is_still_refused() -> None:
    from vaultline.inventory.loader import read_documents

    plain = "".join(f"---\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(200))
    docs = read_documents(plain + "---\n" + laughs(), "k8s.yaml")
    assert [d.parse_error for d in docs if d.parse_error] != []
    assert any("aliases (*name) expand the document" in (d.parse_error or "") for d in docs)


def test_a_few_anchors_and_merges_still_work() -> None:
    doc = parse("base: &b {x: 1, y: [1, 2]}\nprod: {<<: *b, y: [3]}\nalso: *b\n")
    assert doc["prod"] == {"x": 1, "y": [3]} and doc["also"] == {"x": 1, "y": [1, 2]}


def test_complex_key_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text("a: 1\nb: 2\n? [a]\n: 1\n")
    with pytest.raises(ConfigError) as info:
        load_file(path, display="v.yaml")
    assert info.value.line == 3


@pytest.mark.parametrize("text", ["n: !!float abc\n", "n: !!bool maybe\n"])
def test_unbuildable_scalar_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"v\.yaml: invalid YAML value"):
        load_file(path, display="v.yaml")


def test_a_timestamp_is_its_text_even_when_no_date(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text("when: 2024-13-45\nday: 2024-01-01\n")
    assert load_file(path) == {"when": "2024-13-45", "day": "2024-01-01"}


def test_file_size_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v.yaml"
    path.write_text("a: " + "x" * 5000 + "\n")
    monkeypatch.setenv("VAULTLINE_MAX_FILE_SIZE", "4KiB")
    with pytest.raises(ConfigError, match="larger than the limit of 4 KiB; raise the limit "
                                          "with VAULTLINE_MAX_FILE_SIZE"):
        load_file(path, display="v.yaml")
    monkeypatch.setenv("VAULTLINE_MAX_FILE_SIZE", "8k")
    assert load_file(path)["a"] == "x" * 5000
    monkeypatch.setenv("VAULTLINE_MAX_FILE_SIZE", "lots")
    with pytest.raises(ConfigError, match="VAULTLINE_MAX_FILE_SIZE: not a size"):
        load_file(path)


@pytest.mark.parametrize(("text", "size"), [("65536", 65536), ("512KiB", 512 * 1024),
                                            ("16 MiB", 16 << 20), ("1g", 1 << 30)])
def test_parse_size(text: str, size: int) -> None:
    assert _limits.parse_size(text) == size


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_secret_files_refuse_devices(special: str) -> None:
    with pytest.raises(ProviderError, match=r"not a regular file \(a device\)"):
        read_secret_file(Path(special), provider="file")


def test_secret_files_refuse_fifos_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # no writer: a blocking open would never return
    with pytest.raises(ProviderError, match=r"not a regular file \(a FIFO\)"):
        read_secret_file(fifo, provider="file")


def test_secret_files_are_capped_and_nul_paths_refused(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    with pytest.raises(ProviderError, match="larger than the limit of 1 MiB"):
        read_secret_file(big, provider="file")
    with pytest.raises(ProviderError, match="NUL byte"):
        read_secret_file(Path("a\0b"), provider="file")


def test_local_store_caps_values(tmp_path: Path) -> None:
    environ = master_key_env()
    EmbeddedStore.create(tmp_path / ".vaultline", environ=environ)[0].close()
    context = ProviderContext("app", "prod", tmp_path, {**environ,
                                                        "VAULTLINE_MAX_SECRET_SIZE": "1KiB"},
                              tmp_path / ".vaultline")
    local = LocalProvider("local", {}, context)
    try:
        with pytest.raises(ConfigError, match=r"local:a/b: the value \(1025 bytes\) is larger "
                                              "than the limit of 1 KiB"):
            local.put("a/b", "x" * 1025)
        assert local.put("a/b", "x" * 1024) == "1"
    finally:
        local.close()


def test_aws_and_azure_caps_are_the_services() -> None:
    from vaultline.providers.aws import AwsSecretsManagerProvider
    from vaultline.providers.azure import AzureKeyVaultProvider

    assert AwsSecretsManagerProvider.max_value_bytes == 65536
    assert AzureKeyVaultProvider.max_value_bytes == 25 * 1024


def test_aws_refuses_a_value_over_64_kib_before_calling(moto_server: Any,
                                                        tmp_path: Path) -> None:
    from vaultline.providers.aws import AwsSecretsManagerProvider

    context = ProviderContext("app", "prod", tmp_path, {})
    aws = AwsSecretsManagerProvider("aws", {"region": "us-east-1",
                                            "endpoint_url": moto_server.endpoint_url}, context)
    with pytest.raises(ConfigError, match="larger than the limit of 64 KiB, which "
                                          "aws-secretsmanager enforces"):
        aws.put("app/prod/big", "é" * 40_000)  # 80,000 bytes in UTF-8
    aws.put("app/prod/fits", "x" * 65536)
    assert aws.fetch("app/prod/fits").value == "x" * 65536


@pytest.mark.parametrize(("value", "message"), [
    ("99999999y", "duration out of range"), ("9" * 30 + "s", "not a duration"),
    ([1], "not a duration: a list"), (float("inf"), "out of range"), (True, "not a duration"),
])
def test_durations_are_bounded(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


PROJECT_ERRORS = [
    ("environments: [{a: b}]\n", 2, "'environments' lists names, not mappings"),
    ("environments: [dev]\nproviders:\n  x:\n    type: {a: 1}\n", 5,
     "provider 'x': unknown type {'a': 1}"),
    ("environments:\n  dev:\n    max_stale: [1]\n", 4, "dev.max_stale: not a duration"),
    ("environments: [dev]\nschema:\n  A:\n    format: urll\n", 5,
     "schema entry 'A': unknown format 'urll'; use one of"),
    ("environments: [dev]\nschema:\n  A:\n    format: 'regex:[a'\n", 5,
     "format regex is invalid"),
    ("environments: [dev]\nproviders:\n  v:\n    type: vault\n    urll: http://x\n", 6,
     "provider 'v': unknown option 'urll'; vault takes:"),
]


@pytest.mark.parametrize(("body", "line", "message"), PROJECT_ERRORS)
def test_wrong_types_are_found_at_load_with_their_line(tmp_path: Path, body: str, line: int,
                                                       message: str) -> None:
    write(tmp_path, {"vaultline.yaml": "app: demo\n" + body})
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path, search=False)
    assert (info.value.line == line and info.value.file == "vaultline.yaml") or \
        str(info.value).startswith(f"{info.value.file}:{line}:")
    assert message in str(info.value)


def _store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    environ = master_key_env()
    created, _ = EmbeddedStore.create(tmp_path / "s", environ=environ)
    created.put("a", b"1")
    created.close()
    return tmp_path / "s", environ


@pytest.mark.parametrize(("sql", "message"), [
    ("DELETE FROM meta WHERE name = 'key_check'", "its key_check row is missing"),
    ("DELETE FROM meta WHERE name = 'store_id'", "its store_id row is missing"),
    ("UPDATE meta SET value = 'zz' WHERE name = 'store_id'", "row is garbled"),
    ("UPDATE meta SET value = '!!' WHERE name = 'key_check'", "row is garbled"),
])
def test_damaged_meta_rows_say_how_to_recover(tmp_path: Path, sql: str, message: str) -> None:
    directory, environ = _store(tmp_path)
    with sqlite3.connect(directory / "store.db") as db:
        db.execute(sql)
    with pytest.raises(StoreError, match="the embedded store is damaged") as info:
        EmbeddedStore.open(directory, environ=environ)
    assert message in str(info.value) and "restore store.db from a backup" in str(info.value)


def test_a_garbage_store_db_says_it_is_damaged(tmp_path: Path) -> None:
    directory, environ = _store(tmp_path)
    (directory / "store.db").write_bytes(os.urandom(4096))
    with pytest.raises(StoreError, match=r"damaged .*file is not a database"):
        EmbeddedStore.open(directory, environ=environ)


def test_put_is_suggested_only_for_missing_secrets(tmp_path: Path) -> None:
    from vaultline.resolve.resolver import Resolver

    environ = master_key_env()
    make_project(tmp_path, {"env/prod/secrets.yaml": "ConnectionStrings:Primary: local\n"},
                 environ=environ)
    project = Project.load(tmp_path)
    with pytest.raises(ResolutionError, match="vaultline secret put"):
        Resolver(project, "prod", environ=environ).resolve()
    write(tmp_path, {"env/prod/secrets.yaml": "ConnectionStrings:Primary: env:NOPE_UNSET_VAR\n"})
    with pytest.raises(ResolutionError) as info:
        Resolver(Project.load(tmp_path), "prod", environ=environ).resolve()
    assert "vaultline secret put" not in str(info.value) and "NOPE_UNSET_VAR" in str(info.value)


def test_short_wrapped_keys_and_blobs_are_integrity_errors(tmp_path: Path) -> None:
    from vaultline.audit import AuditLog
    from vaultline.errors import IntegrityError
    from vaultline.keys import KeyManager
    from vaultline.keys.envelope import MAGIC, pack_header

    store, _ = EmbeddedStore.create(tmp_path / "k", environ=master_key_env())
    with store:
        ring = KeyManager(store, audit=AuditLog.for_store(store)).create(
            "p", purpose="encryption")
        for wrapped in (b"", b"1234567", b"x" * 20):
            with pytest.raises(IntegrityError):
                ring.decrypt(pack_header(MAGIC, "p", ring.primary.kid, wrapped) + b"z" * 40)
        with pytest.raises(IntegrityError):
            ring.decrypt(b"VLE")


def test_policy_lint_is_near_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pairwise rules compare a glob only with rules sharing its literal head."""
    from vaultline.policy import model, rules
    from vaultline.policy.lint import lint_policies

    calls = 0
    real = model.covers

    def counting(broad: Any, narrow: Any) -> bool:
        nonlocal calls
        calls += 1
        return real(broad, narrow)

    monkeypatch.setattr(rules, "covers", counting)
    n = 3000
    policy = model.Policy("p.hcl", None, None, [
        model.PathRule("p.hcl", i + 1, f"secret/data/app{i}/prod/*", ("read",)) for i in range(n)
    ] + [model.PathRule("p.hcl", n + 1, "secret/data/*", ("deny",))])
    started = time.process_time()
    findings = lint_policies([policy])
    assert calls < 4 * n  # quadratic was n * n = 9,000,000
    assert sum(f.rule == "POL006" for f in findings) == n
    assert time.process_time() - started < 10


def test_lone_surrogates_are_refused_in_references_and_values(tmp_path: Path) -> None:
    from vaultline.project.reference import Reference

    with pytest.raises(ConfigError, match="lone surrogate"):
        Reference.parse("local:app/prod/A\ud800")
    assert Reference.parse("local:app/prod/Clé").path == "app/prod/Clé"
    environ = master_key_env()
    EmbeddedStore.create(tmp_path / ".vaultline", environ=environ)[0].close()
    local = LocalProvider("local", {}, ProviderContext("app", "prod", tmp_path, environ,
                                                       tmp_path / ".vaultline"))
    try:
        with pytest.raises(ConfigError, match="not valid Unicode"):
            local.put("a", "v\udc80")
    finally:
        local.close()
