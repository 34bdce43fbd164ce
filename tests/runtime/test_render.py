"""`vaultline render` and `run --render`: a sandboxed template, strict names, 0600 output."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from vaultline.errors import ConfigError
from vaultline.output.render import render_text

CANARY = "postgres://app:s3cret-canary@db/app"
VALUES = {"Db": {"Password": "hunter2-secret"}, "bundle": {"Db:Password": "hunter2-secret"}}


@pytest.mark.parametrize("escape", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ Db.Password.__class__ }}",
    "{{ Db.Password|attr('__class__') }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ Db.Password.format.__self__ }}",
    "{% include '/etc/passwd' %}",
    "{% import '/etc/passwd' as p %}",
    "{% extends '/etc/passwd' %}",
])
def test_sandbox_escapes_are_refused(escape: str) -> None:
    with pytest.raises(ConfigError) as info:
        render_text(f"ok\n{escape}\n", VALUES, "app.conf.j2")
    message = str(info.value)
    assert message.startswith("app.conf.j2:2: ")
    assert "hunter2" not in message and "root:" not in message


def test_missing_key_names_the_template_line() -> None:
    with pytest.raises(ConfigError) as info:
        render_text("a={{ Db.Password }}\n\nb={{ Db.Pasword }}\n", VALUES, "t.j2")
    assert str(info.value).startswith("t.j2:3: ") and "Pasword" in str(info.value)
    with pytest.raises(ConfigError, match=r"^t\.j2:1: 'Nope' is undefined"):
        render_text("{{ Nope }}", VALUES, "t.j2")
    with pytest.raises(ConfigError, match=r"^t\.j2:2: template syntax"):
        render_text("x\n{% if %}\n", VALUES, "t.j2")


@pytest.mark.parametrize("lookup", [
    "{{ bundle[Db.Password] }}",
    "{{ Db[Db.Password] }}",
    "{{ Db|attr(Db.Password) }}",
    "{{ [Db]|selectattr(Db.Password)|list }}",
    "{{ [1]|map(Db.Password)|list }}",
    "{% set ns = namespace() %}{{ ns[Db.Password] }}",
])
def test_a_lookup_by_a_secret_value_never_quotes_it(lookup: str) -> None:
    """A template can look something up by a value; Jinja's error then names what it
    looked for: the message quotes only what the template spells."""
    with pytest.raises(ConfigError) as info:
        render_text(f"x\n{lookup}\n", VALUES, "t.j2", ["hunter2-secret"])
    message = str(info.value)
    assert message.startswith("t.j2:2: ") and "hunter2" not in message
    assert "(a name the template computed)" in message


@pytest.mark.parametrize("lookup", [
    "{{ bundle[Db.Password|reverse] }}",
    "{{ bundle[Db.Password|upper] }}",
    "{{ Db[Db.Password[1:]] }}",
    "{{ Db|attr(Db.Password|join(' ')) }}",
    "{{ Db[Db.Password|list] }}",
    "{{ Db[Db.Pin|int + 1] }}",
    "{{ Db.Password|attr('_' ~ Db.Password|reverse) }}",
    "{{ [Db]|map(attribute=Db.Password|reverse)|join }}",
    "{{ [1]|select(Db.Password|reverse)|list }}",
    "{{ [1]|map(Db.Password|reverse)|list }}",
    "{{ 'x'|urlize(extra_schemes=[Db.Password|reverse]) }}",
])
def test_a_lookup_by_a_computed_value_never_quotes_it(lookup: str) -> None:
    """Masking hides a value, not what a template computes from it (reversed, upper-cased,
    a slice, a number plus one): an error quotes only names the template spells."""
    values = {"Db": {"Password": "hunter2-secret", "Pin": "4711"},
              "bundle": {"Db:Password": "hunter2-secret", "Db:Pin": "4711"}}
    with pytest.raises(ConfigError) as info:
        render_text(f"x\n{lookup}\n", values, "t.j2", ["hunter2-secret", "4711"])
    message = str(info.value)
    assert message.startswith("t.j2:2: "), message
    for computed in ("hunter", "retnuh", "unter2", "h u n", "'h', 'u'", "4712"):
        assert computed not in message.lower(), message
    assert "(a name the template computed)" in message


def test_an_error_still_quotes_the_names_the_template_spells() -> None:
    with pytest.raises(ConfigError, match=r"^t\.j2:1: dict object has no attribute 'Pasword'"):
        render_text("{{ Db.Pasword }}", VALUES, "t.j2")
    with pytest.raises(ConfigError, match=r"^t\.j2:1: dict object has no attribute 'No:Such'"):
        render_text("{{ bundle['No:Such'] }}", VALUES, "t.j2")
    with pytest.raises(ConfigError, match=r"^t\.j2:1: No filter named 'nope'"):
        render_text("{{ [1]|map('nope')|list }}", VALUES, "t.j2")


@pytest.mark.parametrize(("text", "error"), [
    ("{{ Db.Password|truncate(-1) }}", "AssertionError"),
    ("{{ Db.Password|xmlattr }}", "AttributeError"),
    ("{{ Db.Password|dictsort }}", "AttributeError"),
    ("{{ 10**5000 }}", "ValueError"),  # a constant Jinja would fold while compiling
])
def test_any_failure_names_its_line(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as info:
        render_text(f"x\n{text}\n", VALUES, "t.j2", ["hunter2-secret"])
    assert str(info.value) == f"t.j2:2: template failed: {error}"


def test_render_cli_masks_a_secret_the_template_looked_up(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    template = tmp_path / "leak.j2"
    template.write_text("{{ bundle[ConnectionStrings.Primary] }}\n")
    for command in (("render", str(template), "-o", str(tmp_path / "out"), "--env", "prod"),
                    ("run", "--env", "prod", "--render", f"{template}:{tmp_path / 'out'}",
                     "--", "true")):
        done = cli(*command)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(f"vaultline: error: {template}:1: ")
        assert "s3cret" not in done.stderr and "(a name the template computed)" in done.stderr
    assert not (tmp_path / "out").exists()


def test_flat_and_nested_names() -> None:
    assert render_text('{{ Db.Password }} {{ bundle["Db:Password"] }}\n', VALUES, "t") == \
        "hunter2-secret hunter2-secret\n"


def test_render_cli_writes_0600_atomically(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    template = tmp_path / "app.env.j2"
    template.write_text('DB="{{ ConnectionStrings.Primary }}"\nKEY={{ bundle["AI:OpenAI:ApiKey"] }}\n')
    out = tmp_path / "out" / "app.env"
    out.parent.mkdir()
    out.write_text("old")
    os.chmod(out, 0o644)
    result = cli("render", str(template), "-o", str(out), "--env", "prod")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == f'DB="{CANARY}"\nKEY=sk-canary-key\n'
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.parent.iterdir()) == ["app.env"]  # no temp file left
    assert CANARY not in result.stdout + result.stderr


def test_render_cli_error_is_one_line_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    template = tmp_path / "bad.j2"
    template.write_text("x={{ ConnectionStrings.Primary }}\ny={{ ''.__class__ }}\n")
    out = tmp_path / "out.env"
    result = cli("render", str(template), "-o", str(out), "--env", "prod")
    assert result.returncode == 2
    assert result.stderr.startswith(f"vaultline: error: {template}:2: ")
    assert result.stderr.count("\n") == 1 and "s3cret" not in result.stderr
    assert not out.exists()


def test_run_render_before_start(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    template = tmp_path / "t.j2"
    template.write_text("{{ ConnectionStrings.Primary }}")
    out = tmp_path / "rendered"
    script = "import sys; print(open(sys.argv[1]).read() == sys.argv[2])"
    result = cli("run", "--env", "prod", "--render", f"{template}:{out}", "--", sys.executable,
                 "-c", script, str(out), CANARY)
    assert result.stdout.strip() == "True", result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_file_var_names_the_path_variable(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    files = tmp_path / "files"
    script = ("import os; p = os.environ['DBCONF'];"
              "print('CONNECTIONSTRINGS__PRIMARY_FILE' in os.environ, open(p).read() == os.environ['X'],"
              " os.path.dirname(p).startswith(os.environ['D']))")
    result = cli("run", "--env", "prod", "--files", str(files), "--file-var",
                 "ConnectionStrings:Primary=DBCONF", "--", sys.executable, "-c", script,
                 extra_env={"X": CANARY, "D": str(files)})
    assert result.stdout.split() == ["False", "True", "True"], result.stderr
    no_dir = cli("run", "--env", "prod", "--file-var", "ConnectionStrings:Primary=DBCONF", "--",
                 "true")
    assert no_dir.returncode == 2 and "--files" in no_dir.stderr
    not_secret = cli("run", "--env", "prod", "--files", str(files), "--file-var",
                     "No:Such=X", "--", "true")
    assert not_secret.returncode == 2 and "not a secret" in not_secret.stderr
