"""Each filter is a plain function of a Candidate; tested directly, as a table."""

from __future__ import annotations

import pytest

from tests.scan.conftest import secret
from vaultline.scan.detectors import by_rule_id
from vaultline.scan.filters import (
    Candidate,
    has_meta_name,
    is_expression,
    is_hash_or_uuid,
    is_identifier_like,
    is_known_example,
    is_lock_file,
    is_low_entropy,
    is_placeholder,
    is_reference_or_ciphertext,
    lacks_character_variety,
    shannon_entropy,
    tags_for_path,
)

GENERIC = by_rule_id()["generic-secret"]
GITHUB = by_rule_id()["github-pat"]


def c(value: str, *, name: str = "password", path: str = "app.env", quoted: bool = True,
      rule: str = "generic-secret") -> Candidate:
    return Candidate(by_rule_id()[rule], value, f"{name} = {value}", path, name, quoted)


@pytest.mark.parametrize(
    ("value", "dropped"),
    [
        ("changeme", True),
        ("CHANGE_ME_PLEASE", True),
        ("<your-token>", True),
        ("${DB_PASSWORD}", True),
        ("{{ .Values.password }}", True),
        ("xxxxxxxxxxxx", True),
        ("your_api_key_here", True),
        ("%(password)s", True),
        ("$DB_PASS", True),
        ("Xk9#mQ2vLp7$wR4z", False),
        ("q8Vn2LrT6wYp", False),
    ],
)
def test_is_placeholder(value: str, dropped: bool) -> None:
    assert is_placeholder(c(value)) is dropped


def test_long_random_bodies_are_not_placeholders_by_chance() -> None:
    pem = secret("pem-rsa-private-key")
    assert not is_placeholder(c(pem + "xxxTODOfake", rule="pem-rsa-private-key"))


@pytest.mark.parametrize(
    ("value", "dropped"),
    [("AKIA" + "IOSFODNN7" + "EXAMPLE", True), ("sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc", True),
     ("AKIA" + "QZ3XK7PLM2NW4RT6", False)],
)
def test_is_known_example(value: str, dropped: bool) -> None:
    assert is_known_example(c(value, rule="aws-access-key-id")) is dropped


@pytest.mark.parametrize(
    ("value", "name", "dropped"),
    [
        ("6f1c2b9e-0d4a-4c7e-9b3f-2a8d5e7c1f04", "request_id", True),
        ("6f1c2b9e-0d4a-4c7e-9b3f-2a8d5e7c1f04", "uuid_token", True),
        # Heroku and Snyk keys are UUIDs: behind a secret name the UUID is the key.
        ("6f1c2b9e-0d4a-4c7e-9b3f-2a8d5e7c1f04", "HEROKU_API_KEY", False),
        ("6f1c2b9e-0d4a-4c7e-9b3f-2a8d5e7c1f04", "token", False),
        ("9f" * 32, "checksum_secret", True),
        ("9f" * 32, "secret", False),  # `openssl rand -hex 32` is a fine secret
        ("sha256:" + "ab" * 32, "token", True),
        ("$2b$12$" + "x" * 53, "password", True),
    ],
)
def test_is_hash_or_uuid(value: str, name: str, dropped: bool) -> None:
    assert is_hash_or_uuid(c(value, name=name)) is dropped


def test_hash_filter_does_not_apply_to_provider_rules() -> None:
    assert not is_hash_or_uuid(c("9f" * 16, name="sha", rule="shopify-access-token"))


@pytest.mark.parametrize(
    ("value", "name", "path", "quoted", "dropped"),
    [
        ("os.environ", "password", "app.py", False, True),
        ("get_password()", "password", "app.py", False, True),
        ("render_k8s_secret", "k8s-secret", "formats.py", False, True),
        ("Xk9mQ2vLp7wR4z", "password", "app.py", False, True),  # unquoted in code: expression
        ("Xk9mQ2vLp7wR4z", "password", ".env", False, False),  # unquoted in .env: literal
        ("Xk9mQ2vLp7wR4z", "password_file", ".env", False, True),
        ("Xk9mQ2vLp7wR4z", "tokenType", "app.yaml", True, True),
        ("6f1c2b9e-0d4a-4c7e-9b3f-2a8d5e7c1f04", "SNYK_ORG_ID", ".env", False, True),
        ("dySkJLRwblzagFJF", "password", "run.sh", False, False),  # letters only, still random
        ("tywqrvbcnbbiskqsgsxvlptw", "client_secret", "main.rs", True, False),
        ("averylongpassphrase", "hint", "app.yaml", True, True),
        ("/run/secrets/db", "password", "app.yaml", True, True),
        ("my-app-token", "token", "app.yaml", True, True),
        ("Xk9mQ2vLp7wR4z", "password", "app.py", True, False),
        ("2016-09-08T21:47:36Z", "PasswordLastUsed", "iam.json", True, True),
        ("1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI", "NextContinuationToken", "s3.json",
         True, True),
    ],
)
def test_is_expression_or_meta_name(
    value: str, name: str, path: str, quoted: bool, dropped: bool
) -> None:
    candidate = c(value, name=name, path=path, quoted=quoted)
    assert (is_expression(candidate) or has_meta_name(candidate)) is dropped


@pytest.mark.parametrize(
    ("value", "dropped"),
    [("vault:kv/app/prod#password", True), ("AgB" + "x1Y2" * 30, True),
     ("ENC[AES256_GCM,data:abc]", True), ("Xk9#mQ2vLp7$wR4z", False)],
)
def test_is_reference_or_ciphertext(value: str, dropped: bool) -> None:
    assert is_reference_or_ciphertext(c(value)) is dropped


@pytest.mark.parametrize(
    ("value", "dropped"),
    [("abcdefghijkl", True), ("ABCDEFGHIJKL1", False), ("abc123", True), ("aB3!xY7@", False)],
)
def test_lacks_character_variety(value: str, dropped: bool) -> None:
    assert lacks_character_variety(c(value)) is dropped


def test_low_entropy_uses_the_detector_threshold() -> None:
    assert is_low_entropy(c("ghp_" + "ab" * 18, rule="github-pat"))
    assert not is_low_entropy(c(secret("github-pat"), rule="github-pat"))
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == 2.0


@pytest.mark.parametrize(
    ("path", "dropped"),
    [("package-lock.json", True), ("web/yarn.lock", True), ("go.sum", True), ("go.mod", False)],
)
def test_is_lock_file(path: str, dropped: bool) -> None:
    assert is_lock_file(c(secret("github-pat"), path=path, rule="github-pat")) is dropped


@pytest.mark.parametrize(
    ("path", "fixture"),
    [("tests/test_app.py", True), ("src/app_test.go", True), ("web/login.spec.ts", True),
     ("pkg/testdata/creds.json", True), ("src/app.py", False), ("contest/app.py", False)],
)
def test_findings_in_fixtures_are_marked_not_dropped(path: str, fixture: bool) -> None:
    assert (tags_for_path(path) == ("test-fixture",)) is fixture


@pytest.mark.parametrize(
    ("value", "dropped"),
    [
        ("NextPageToken", True),
        ("StreamingDistributionList.NextMarker", True),
        ("AWS_ACCESS_KEY_ID", True),
        ("MyTestDatabaseSecret", True),
        ("RSA_4096", True),
        ("AWSAccessKeyId", True),
        ("Xk9mQ2vLp7wR4z", False),
        ("hQ7!vR2#pL9@wX4$", False),
        ("2joRHs+B&7!3T40+28p!", False),
        # Random strings that split into short pieces are not names.
        ("SvBtx1SzaVukzAME", False),
        ("vrx1536IihjJNT", False),
        ("k3mlpqzrtv8wyxn", False),
    ],
)
def test_is_identifier_like(value: str, dropped: bool) -> None:
    assert is_identifier_like(c(value)) is dropped
