import pytest

from vaultline.errors import ConfigError
from vaultline.project.reference import Reference


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local", Reference("local")),
        ("vault:db.primary#password", Reference("vault", "db.primary", "password")),
        ("aws:nexus/prod/x@AWSPREVIOUS", Reference("aws", "nexus/prod/x", None, "AWSPREVIOUS")),
        ("vault:a/b#f@3", Reference("vault", "a/b", "f", "3")),
        ("vault#password", Reference("vault", None, "password")),
        ("local@2", Reference("local", None, None, "2")),
        ("env:HOME", Reference("env", "HOME")),
        ("file:/run/secrets/jwt_private_key", Reference("file", "/run/secrets/jwt_private_key")),
        ("local:user@host/x", Reference("local", "user@host/x")),
    ],
)
def test_parse_and_round_trip(text: str, expected: Reference) -> None:
    assert Reference.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ("vault:", "empty path"),
        ("vault:x#", "empty field"),
        ("vault:x@", "empty version"),
        ("1vault:x", "provider name"),
        ("vault/x", "provider name 'vault/x'"),
        ("vault\n:x", "provider name"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Reference.parse(text)
