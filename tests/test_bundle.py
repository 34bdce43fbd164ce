"""The bundle as users hold it: flat and nested access, masking reprs, and every output format."""

from __future__ import annotations

import json

import pytest
import yaml

from vaultline.errors import ConfigError
from vaultline.output.formats import render
from vaultline.resolve.bundle import MASK, Bundle, Layer, Provenance, ResolvedValue

SECRET = "postgres://app:s3cret$x@db/app"


def value(key: str, val: object, secret: bool = False) -> ResolvedValue:
    layer = Layer.SECRETS if secret else Layer.PACK
    return ResolvedValue(key, val, secret, Provenance(layer, "test"))


@pytest.fixture
def bundle() -> Bundle:
    values = [
        value("ConnectionStrings:Primary", SECRET, secret=True),
        value("ConnectionStrings:Timeout", 30),
        value("Features:Beta", True),
        value("Hosts", ["a", "b"]),
    ]
    return Bundle("prod", {v.key: v for v in values})


def test_flat_and_nested_access(bundle: Bundle) -> None:
    assert bundle["ConnectionStrings:Primary"] == SECRET
    assert bundle["ConnectionStrings"]["Primary"] == SECRET
    assert "ConnectionStrings" in bundle and "Nope" not in bundle
    assert list(bundle) == ["ConnectionStrings:Primary", "ConnectionStrings:Timeout",
                            "Features:Beta", "Hosts"]
    assert bundle.nested()["ConnectionStrings"] == {"Primary": SECRET, "Timeout": 30}
    with pytest.raises(KeyError):
        bundle["Missing"]


def test_reprs_mask_secrets(bundle: Bundle) -> None:
    for text in (repr(bundle), str(bundle), repr(bundle["ConnectionStrings"]),
                 repr(bundle.resolved("ConnectionStrings:Primary")),
                 repr(bundle.explain("ConnectionStrings:Primary"))):
        assert "s3cret" not in text
    assert MASK in repr(bundle)
    assert "30" in repr(bundle)


def test_secret_values_for_redaction(bundle: Bundle) -> None:
    assert bundle.secret_values() == [SECRET]


def test_bundle_is_read_only(bundle: Bundle) -> None:
    with pytest.raises(TypeError):
        bundle["Hosts"] = []  # type: ignore[index]


@pytest.mark.parametrize("reveal", [False, True])
def test_json_formats(bundle: Bundle, reveal: bool) -> None:
    shown = SECRET if reveal else MASK
    nested = json.loads(render(bundle, "json", reveal=reveal))
    assert nested["ConnectionStrings"] == {"Primary": shown, "Timeout": 30}
    flat = json.loads(render(bundle, "flat-json", reveal=reveal))
    assert flat["ConnectionStrings:Primary"] == shown and flat["Hosts"] == ["a", "b"]
    assert yaml.safe_load(render(bundle, "yaml", reveal=reveal)) == nested


def test_env_and_dotenv_formats(bundle: Bundle) -> None:
    env = render(bundle, "env", reveal=True, prefix="APP_").splitlines()
    assert "APP_CONNECTIONSTRINGS__PRIMARY='postgres://app:s3cret$x@db/app'" in env
    assert "APP_FEATURES__BETA=true" in env
    assert "APP_HOSTS='[\"a\",\"b\"]'" in env
    dotenv = render(bundle, "dotenv", reveal=True).splitlines()
    assert "CONNECTIONSTRINGS__PRIMARY='postgres://app:s3cret$x@db/app'" in dotenv
    masked = render(bundle, "env")
    assert "s3cret" not in masked and f"CONNECTIONSTRINGS__PRIMARY='{MASK}'" in masked


def test_dotenv_output_round_trips_through_python_dotenv(bundle: Bundle, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dotenv import dotenv_values

    path = tmp_path / ".env"
    tricky = value("Multi:Line", "it's\n\"two\" lines\\", secret=True)
    with_tricky = Bundle("prod", {**{r.key: r for r in bundle.resolved_values()},
                                  tricky.key: tricky})
    path.write_text(render(with_tricky, "dotenv", reveal=True))
    parsed = dotenv_values(path)
    assert parsed["CONNECTIONSTRINGS__PRIMARY"] == SECRET
    assert parsed["MULTI__LINE"] == "it's\n\"two\" lines\\"


def test_k8s_secret_requires_reveal(bundle: Bundle) -> None:
    with pytest.raises(ConfigError, match="--reveal"):
        render(bundle, "k8s-secret")
    doc = yaml.safe_load(render(bundle, "k8s-secret", reveal=True))
    assert doc["kind"] == "Secret"
    import base64

    assert base64.b64decode(doc["data"]["CONNECTIONSTRINGS__PRIMARY"]).decode() == SECRET


def test_secret_values_include_shadowed_secrets() -> None:
    stored = ResolvedValue("Db:Password", "stored-secret-value", True,
                           Provenance(Layer.SECRETS, "local", "local", "app/prod/Db/Password"))
    override = ResolvedValue("Db:Password", "override-value", True,
                             Provenance(Layer.OVERRIDE, "override abc"))
    default = ResolvedValue("Level", "Warning", False, Provenance(Layer.DEFAULTS, "vaultline.yaml:3"))
    bundle = Bundle("prod", {"Db:Password": override, "Level": default},
                    {"Db:Password": [stored]})
    assert sorted(bundle.secret_values()) == ["override-value", "stored-secret-value"]


def test_environment_refuses_two_keys_of_one_variable() -> None:
    # A default committed as 'Db__Url' beside the secret 'Db:Url' would replace its value.
    rows = [ResolvedValue("Db:Url", "postgres://real", True, Provenance(Layer.SECRETS, "t")),
            ResolvedValue("Db__Url", "postgres://planted", False, Provenance(Layer.PACK, "t"))]
    clash = Bundle("prod", {r.key: r for r in rows})
    with pytest.raises(ConfigError, match=r"^'Db:Url' and 'Db__Url' are both the variable "
                                          r"APP_DB__URL") as info:
        clash.environment("APP_")
    assert "postgres://" not in str(info.value)
    assert Bundle("prod", {"Db:Url": rows[0]}).environment() == {"DB__URL": "postgres://real"}
