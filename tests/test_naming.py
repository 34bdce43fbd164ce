import pytest

from vaultline.errors import ConfigError
from vaultline.providers.naming import TRANSFORMS, NamingConvention

LOCAL = NamingConvention()
AWS = NamingConvention("{app}/{env}/{key}", "/", "lower-camel")
AZURE = NamingConvention("{app}--{env}--{key}", "--", "lower-kebab")
ENV = NamingConvention("{key}", "__", "upper")
FILE = NamingConvention("/run/secrets/{key}", "_", "snake")


@pytest.mark.parametrize(
    ("convention", "key", "expected"),
    [
        # The exact names the platform's conventions give.
        (LOCAL, "ConnectionStrings:Primary", "nexus-engine/prod/ConnectionStrings/Primary"),
        (AWS, "ConnectionStrings:Primary", "nexus-engine/prod/connectionStrings/primary"),
        (AZURE, "ConnectionStrings:Primary", "nexus-engine--prod--connectionstrings--primary"),
        (AWS, "AI:OpenAI:ApiKey", "nexus-engine/prod/ai/openai/apiKey"),
        (AWS, "Db:APIKey:UserID", "nexus-engine/prod/db/apiKey/userid"),
        (AZURE, "AI:Azure-OpenAI:Api-Key", "nexus-engine--prod--ai--azure-openai--api-key"),
        (ENV, "ConnectionStrings:Primary", "CONNECTIONSTRINGS__PRIMARY"),
        (FILE, "Jwt:PrivateKey", "/run/secrets/jwt_private_key"),
    ],
)
def test_conventions(convention: NamingConvention, key: str, expected: str) -> None:
    assert convention.name(key, app="nexus-engine", env="prod") == expected


def test_overrides_from_config() -> None:
    custom = LOCAL.with_overrides({"template": "{env}.{key}", "separator": ".",
                                   "transform": "lower"}, where="provider 'x'")
    assert custom.name("Db:Main", app="a", env="prod") == "prod.db.main"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"transform": "shout"}, "unknown naming transform 'shout'"),
        ({"template": "{app}/{region}"}, "may only use"),
        ({"prefix": "x"}, "unknown naming field"),
    ],
)
def test_bad_overrides(config: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LOCAL.with_overrides(config, where="provider 'x'")


@pytest.mark.parametrize("template", ["{app}/{env}/{key}", "{key}", "{env}-{key}-{app}",
                                      "{key}/{key}", "{{x}}/{app}/{key}", "pre-{key}-{{key}}"])
@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_namer_fills_the_template_like_format(template: str, transform: str) -> None:
    convention = NamingConvention(template, "--", transform)
    for key in ("ConnectionStrings:Primary", "AI:OpenAI:APIKey", "Solo"):
        joined = "--".join(TRANSFORMS[transform](s) for s in key.split(":"))
        expected = template.format(app="nexus", env="prod", key=joined)
        assert convention.name(key, app="nexus", env="prod") == expected
