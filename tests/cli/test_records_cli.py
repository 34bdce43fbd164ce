"""vaultline's own records through the real CLI: no path command reaches them, key material is
never printed, a forged override never applies; store commands audit themselves."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli

FORGED = json.dumps({"id": "deadbeef", "env": "prod", "key": "ConnectionStrings:Primary",
                     "value": "postgres://forged", "secret": True,
                     "created": "2026-01-01T00:00:00+00:00",
                     "expires": "9999-12-31T00:00:00+00:00", "actor": "mallory",
                     "state": "active"})

TRICKS = ["_VAULTLINE/overrides/prod/deadbeef",
          "./_vaultline/overrides/prod/deadbeef", "a/../_vaultline/overrides/prod/deadbeef",
          "%5Fvaultline/overrides/prod/deadbeef", "_vaultline/overrides/prod/deadbeef/",
          "/_vaultline/keys/jwt"]


def _refused(result: object) -> bool:
    assert isinstance(result, subprocess.CompletedProcess)
    return (result.returncode == 2 and result.stderr.count("\n") == 1
            and "vaultline keeps its own records" in result.stderr)


def test_no_path_command_reaches_internal_records(cli: Cli) -> None:
    put_all(cli)
    assert cli("keys", "create", "jwt", "--purpose", "signing").returncode == 0
    ref = "local:_vaultline/overrides/prod/deadbeef"
    for args, stdin in ((("secret", "put", ref), FORGED), (("secret", "get", ref), None),
                        (("secret", "versions", ref), None), (("secret", "rm", ref), None),
                        (("secret", "rm", ref, "--destroy"), None), (("secret", "undelete", ref), None),
                        (("secret", "rollback", ref, "--to", "1"), None), (("secret", "ls", "_vaultline"), None)):
        assert _refused(cli(*args, stdin=stdin)), args
    for path in TRICKS:  # every spelling of the namespace, for the forging write and a read
        assert _refused(cli("secret", "put", f"local:{path}", stdin=FORGED)), path
        assert _refused(cli("secret", "get", f"local:{path}")), path
    revealed = json.loads(cli("resolve", "--env", "prod", "--format", "json", "--reveal").stdout)
    assert revealed["ConnectionStrings"]["Primary"] != "postgres://forged"
    assert json.loads(cli("override", "ls", "--env", "prod", "--all", "--format",
                          "json").stdout) == []


def test_key_material_is_never_printed(cli: Cli) -> None:
    from vaultline.store import EmbeddedStore

    assert cli("keys", "create", "jwt", "--purpose", "signing").returncode == 0
    assert cli("keys", "create", "hooks", "--purpose", "hmac").returncode == 0
    with EmbeddedStore.open(cli.root / ".vaultline", environ=cli.env) as store:
        materials = [version["ref"]["material"]
                     for name in ("jwt", "hooks")
                     for version in json.loads(store.records("keys").get(name)[0])["versions"]]
    assert len(materials) == 2 and all(len(m) >= 40 for m in materials)
    outputs = [cli("secret", "get", "local:_vaultline/keys/jwt"), cli("secret", "get", "local:_vaultline/keys/hooks"),
               cli("secret", "ls", "--format", "json"), cli("keys", "list", "--format", "json"),
               cli("keys", "list", "jwt", "--format", "json"),
               cli("keys", "list", "hooks", "--format", "json"),
               cli("keys", "status", "--format", "json"), cli("keys", "jwks", "jwt")]
    assert [r.returncode for r in outputs] == [2, 2, 0, 0, 0, 0, 0, 0]
    assert json.loads(outputs[2].stdout) == []
    text = "".join(r.stdout + r.stderr for r in outputs)
    assert not [m for m in materials if m in text or m[:24] in text]


def test_a_key_without_env_says_env_is_needed(cli: Cli) -> None:
    result = cli("secret", "put", "Jwt:SigningKey", stdin="x")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "vaultline: error: 'Jwt:SigningKey' is a key, not a reference: pass --env ENV to act "
        "on its secret in that environment, or give a full reference like "
        "local:nexus-engine/prod/ConnectionStrings/Primary")
    assert "unknown provider" not in cli("secret", "get", "AI:OpenAI:ApiKey").stderr


def test_rollback_and_every_store_command_audited(cli: Cli) -> None:
    ref = "local:nexus-engine/dev/Api/Key"
    assert cli("secret", "put", ref, stdin="one").returncode == 0
    assert cli("secret", "put", ref, stdin="two").returncode == 0
    rolled = cli("secret", "rollback", ref, "--to", "1")
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.strip() == f"{ref}: rolled back to version 1 (current: 3)"
    assert cli("secret", "get", ref).stdout == "one\n"
    assert cli("secret", "rm", ref).returncode == 0
    assert cli("secret", "undelete", ref).returncode == 0
    events = [json.loads(line) for line in
              (cli.root / ".vaultline" / "audit.log").read_text().splitlines()]
    assert [(e["action"], e["outcome"]) for e in events
            if e["reference"] == ref and e["outcome"] != "intent"] == [
        ("write", "ok"), ("write", "ok"), ("write", "ok"), ("reveal", "ok"),
        ("delete", "ok"), ("undelete", "ok")]
    assert "one" not in json.dumps(events) and "two" not in json.dumps(events)


def test_put_through_a_field_reference_patches_that_field(cli: Cli, tmp_path: Path) -> None:
    (cli.root / "env/dev/secrets.yaml").write_text(
        "ConnectionStrings:Primary: local:db/dev#password\n")
    assert cli("secret", "put", "local:db/dev", stdin='{"user": "app", "password": "old"}').returncode == 0
    patched = cli("secret", "put", "ConnectionStrings:Primary", "--env", "dev", stdin="newpw")
    assert patched.returncode == 0, patched.stderr
    assert json.loads(cli("secret", "get", "local:db/dev").stdout) == {"user": "app", "password": "newpw"}
    assert cli("secret", "get", "ConnectionStrings:Primary", "--env", "dev").stdout == "newpw\n"
    assert cli("secret", "put", "local:text/dev", stdin="plain text").returncode == 0
    (cli.root / "env/dev/secrets.yaml").write_text(
        "ConnectionStrings:Primary: local:text/dev#password\n")
    refused = cli("secret", "put", "ConnectionStrings:Primary", "--env", "dev", stdin="x")
    assert refused.returncode == 1 and "not a JSON object" in refused.stderr
    assert cli("secret", "get", "local:text/dev").stdout == "plain text\n"
