"""Every output format read back by its real consumer gives the exact value: python-dotenv,
bash (eval and source), yaml.safe_load; values a format cannot carry are refused by key."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from vaultline.errors import ConfigError
from vaultline.output.formats import render
from vaultline.resolve.bundle import Bundle, Layer, Provenance, ResolvedValue

TRICKY = [
    "plain",
    "it's ${HOME} and $HOME",  # the old dotenv bug: double quotes let ${HOME} expand
    "it's got a quote",
    'double "quoted" \\ backslash',
    "trailing backslash\\",
    "$(touch /tmp/pwned) `id` ${PATH:-x}",
    "line one\nline two\n",
    "ünïcödé ✓ 🔑",
    "  padded  ",
    "",
    "ends with '",
    "a\\'b",
    "semi;colon # hash = equals",
]


def bundle_of(*values: str, secret: bool = True) -> Bundle:
    rows = [ResolvedValue(f"K:V{i}", v, secret, Provenance(Layer.SECRETS, "test"))
            for i, v in enumerate(values)]
    return Bundle("prod", {r.key: r for r in rows})


def _bash(script: str, names: list[str], tmp_path: Path) -> dict[str, str]:
    """Run ``script`` in bash, then dump each named variable as NUL-separated raw bytes."""
    dump = "".join(f'printf "%s\\0" "${{{n}}}"\n' for n in names)
    out = subprocess.run(["bash", "--noprofile", "--norc", "-c", script + "\n" + dump],
                         capture_output=True, check=True, cwd=tmp_path,
                         env={"PATH": os.environ["PATH"], "HOME": "/home/nobody"}).stdout
    return dict(zip(names, out.decode().split("\0")[:-1], strict=True))


@pytest.mark.parametrize("value", TRICKY)
def test_shell_round_trips_through_bash_eval_and_source(value: str, tmp_path: Path) -> None:
    text = render(bundle_of(value), "shell", reveal=True)
    assert text.startswith("export K__V0=")
    (tmp_path / "vars.sh").write_text(text + "\n")
    assert _bash(f"eval {_sq(text)}", ["K__V0"], tmp_path) == {"K__V0": value}
    assert _bash(". ./vars.sh", ["K__V0"], tmp_path) == {"K__V0": value}
    assert not (Path("/tmp/pwned")).exists()


def _sq(text: str) -> str:
    import shlex

    return shlex.quote(text)


_ENV_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"),
                    max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(_ENV_TEXT, min_size=1, max_size=4))
def test_shell_round_trips_any_value(values: list[str], tmp_path: Path) -> None:
    text = render(bundle_of(*values), "shell", reveal=True)
    names = [f"K__V{i}" for i in range(len(values))]
    assert _bash(text, names, tmp_path) == dict(zip(names, values, strict=True))


@pytest.mark.parametrize("value", TRICKY)
def test_dotenv_gives_python_dotenv_the_exact_value(value: str, tmp_path: Path) -> None:
    try:
        text = render(bundle_of(value), "dotenv", reveal=True)
    except ConfigError as exc:
        # Refused by key, not value: '${' (python-dotenv expands it in any quoting), or a
        # '$' beside a quote or backslash (no quoting reads back the same in both consumers).
        assert "${" in value or ("$" in value and ("'" in value or "\\" in value))
        assert "'K:V0'" in str(exc) and value not in str(exc)
        return
    path = tmp_path / ".env"
    path.write_text(text + "\n")
    assert dotenv_values(path) == {"K__V0": value}
    assert dotenv_values(path, interpolate=False) == {"K__V0": value}


def test_env_example_descriptions_stay_comments(tmp_path: Path) -> None:
    import sys

    from tests.factory import write

    # A description committed with a line break in it, of each kind a reader splits lines at.
    write(tmp_path, {"vaultline.yaml": r"""
        app: demo
        environments: [prod]
        schema:
          Db:Url: {description: "db url\nLD_PRELOAD=/tmp/evil.so"}
          Http:Timeout: {description: "timeout\rPATH=/evil\r\nBASH_ENV=/evil"}
          Api:Key: {description: "key\u2028EDITOR=x\x85PAGER=y"}
        """})
    done = subprocess.run([str(Path(sys.executable).with_name("vaultline")), "env", "example"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "env.example"
    names = ["API__KEY", "DB__URL", "HTTP__TIMEOUT"]
    assert dotenv_values(path) == dict.fromkeys(names, "")
    lines = path.read_bytes().decode().split("\n")
    assert lines.pop() == ""
    assert [line for line in lines if not line.startswith("# ")] == [f"{n}=" for n in names]
    assert not any(len(line.splitlines()) > 1 for line in lines)
    seen = _bash("set -a; . ./env.example", ["LD_PRELOAD", "PATH", "BASH_ENV", *names], tmp_path)
    assert seen == {"LD_PRELOAD": "", "PATH": os.environ["PATH"], "BASH_ENV": "",
                    **dict.fromkeys(names, "")}


def compose_environment(env_file: Path, file_format: str | None = None) -> dict[str, str]:
    """What docker compose (the real binary, ``config``) reads from an ``env_file``."""
    import json
    import sys

    entry = f"{{path: {env_file.name}, format: {file_format}}}" if file_format else env_file.name
    (env_file.parent / "compose.yaml").write_text(
        f"services:\n  app:\n    image: busybox\n    env_file: [{entry}]\n")
    out = subprocess.run([str(Path(sys.executable).with_name("docker-compose")), "config",
                          "--format", "json"], cwd=env_file.parent, capture_output=True,
                         text=True, timeout=60, env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"})
    assert out.returncode == 0, out.stderr
    environment: dict[str, str] = json.loads(out.stdout)["services"]["app"]["environment"]
    # `config` writes the model back with compose's own escape of a literal '$' as '$$'.
    return {k: v.replace("$$", "$") for k, v in environment.items()}


def test_dotenv_gives_docker_compose_the_exact_values(tmp_path: Path) -> None:
    accepted = []
    for value in TRICKY:
        try:
            render(bundle_of(value), "dotenv", reveal=True)
        except ConfigError:
            continue
        accepted.append(value)
    assert len(accepted) >= 9
    path = tmp_path / "app.env"
    path.write_text(render(bundle_of(*accepted), "dotenv", reveal=True) + "\n")
    assert compose_environment(path) == {f"K__V{i}": v for i, v in enumerate(accepted)}


def test_dotenv_never_hands_over_an_expanded_home(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    for value in ("it's \\home\\", "pa$$word $HOME", "line\nbreak"):
        path.write_text(render(bundle_of(value), "dotenv", reveal=True))
        assert dotenv_values(path)["K__V0"] == value
    for value in ("it's ${HOME}", "${HOME}", "it's $HOME\\"):
        with pytest.raises(ConfigError, match=r"'K:V0'.*--format shell"):
            render(bundle_of(value), "dotenv", reveal=True)


@pytest.mark.parametrize("value", [v for v in TRICKY if "\n" not in v])
def test_docker_env_is_raw_and_read_back_as_docker_does(value: str) -> None:
    text = render(bundle_of(value), "docker-env", reveal=True)
    # docker/cli opts.ParseEnvFile: left-trim the line, split at the first '=', keep the rest.
    name, _, read = text.lstrip().partition("=")
    assert (name, read) == ("K__V0", value)


def test_docker_env_through_compose_raw_env_files(tmp_path: Path) -> None:
    # compose's `format: raw` reads an env file as `docker run --env-file` does.
    values = [v for v in TRICKY if "\n" not in v]
    path = tmp_path / "docker.env"
    path.write_text(render(bundle_of(*values), "docker-env", reveal=True) + "\n")
    assert compose_environment(path, "raw") == {f"K__V{i}": v for i, v in enumerate(values)}


def test_docker_env_refuses_multi_line_values_pointing_at_files() -> None:
    with pytest.raises(ConfigError, match=r"'K:V0'.*spans lines.*use --files"):
        render(bundle_of("a\nb"), "docker-env", reveal=True)


@pytest.mark.parametrize(("value", "why"), [
    ("a\nb", "spans lines"), ("pa$$word", "expands"), (" pad", "whitespace")])
def test_gitlab_dotenv_refuses_what_gitlab_would_change(value: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        render(bundle_of(value), "gitlab-dotenv", reveal=True)


def test_gitlab_dotenv_lines_parse_as_gitlab_does() -> None:
    import re

    values = ["plain", "it's \"quoted\"", "a=b=c", "ünï ✓"]
    text = render(bundle_of(*values), "gitlab-dotenv", reveal=True)
    # Ci::ParseDotenvArtifactService#scan_line!: /^(.*?)=(.*)$/ per line, both sides stripped.
    parsed = {}
    for line in text.splitlines():
        match = re.match(r"^(.*?)=(.*)$", line)
        assert match is not None
        parsed[match[1].strip()] = match[2].strip()
    assert parsed == {f"K__V{i}": v for i, v in enumerate(values)}


def test_formats_mask_without_reveal() -> None:
    for fmt in ("shell", "dotenv", "docker-env", "gitlab-dotenv"):
        assert "s3cret" not in render(bundle_of("s3cret"), fmt)


def test_nul_bytes_are_refused_by_key() -> None:
    with pytest.raises(ConfigError, match=r"'K:V0'.*NUL"):
        render(bundle_of("a\0b"), "shell", reveal=True)


def test_k8s_secret_takes_name_and_namespace() -> None:
    doc = yaml.safe_load(render(bundle_of("v'$x\n"), "k8s-secret", reveal=True, name="api",
                                namespace="shop"))
    assert doc["metadata"] == {"name": "api", "namespace": "shop"}
    assert base64.b64decode(doc["data"]["K__V0"]).decode() == "v'$x\n"
    default = yaml.safe_load(render(bundle_of("v"), "k8s-secret", reveal=True))
    assert default["metadata"] == {"name": "config-prod"}


@pytest.mark.parametrize(("options", "message"), [
    ({"name": "Api_Config"}, "not a Kubernetes name"),
    ({"namespace": "Shop"}, "not a Kubernetes namespace"),
    ({"name": "api\n"}, "not a Kubernetes name"),
    ({"namespace": "shop\n"}, "not a Kubernetes namespace"),
    ({"prefix": "my app "}, "cannot be a Secret data key"),
])
def test_k8s_secret_refuses_what_the_api_server_would(options: dict[str, str],
                                                      message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        render(bundle_of("v"), "k8s-secret", reveal=True, **options)
    # An environment named so that the default config-<env> is no Kubernetes name.
    upper = Bundle("Prod_EU", {r.key: r for r in bundle_of("v").resolved_values()})
    with pytest.raises(ConfigError, match=r"'config-Prod_EU'.*pass --name"):
        render(upper, "k8s-secret", reveal=True)


ENV_FORMATS = ("dotenv", "gitlab-dotenv", "env", "shell", "docker-env", "k8s-secret")


@pytest.mark.parametrize("fmt", ENV_FORMATS)
def test_a_name_starting_with_a_digit_is_refused_by_key(fmt: str, tmp_path: Path) -> None:
    digit = Bundle("prod", {"1Password:Token": ResolvedValue(
        "1Password:Token", "v", False, Provenance(Layer.PACK, "test"))})
    # bash would stop at `export 1PASSWORD__TOKEN=v` ("not a valid identifier").
    with pytest.raises(ConfigError, match=r"^'1Password:Token': its variable name "
                                          r"1PASSWORD__TOKEN starts with a digit"):
        render(digit, fmt, reveal=True)
    text = render(digit, fmt, reveal=True, prefix="APP_")
    assert "APP_1PASSWORD__TOKEN" in text
    if fmt == "shell":
        assert _bash(text, ["APP_1PASSWORD__TOKEN"], tmp_path) == {"APP_1PASSWORD__TOKEN": "v"}


@pytest.mark.parametrize("fmt", ENV_FORMATS)
def test_two_keys_of_one_variable_are_refused_naming_both(fmt: str, tmp_path: Path) -> None:
    # 'Db:Url' and 'Db__Url' (or 'db:url') are both DB__URL: the later line would win.
    rows = [ResolvedValue("Db:Url", "postgres://real", True, Provenance(Layer.SECRETS, "test")),
            ResolvedValue("Db__Url", "postgres://planted", False, Provenance(Layer.PACK, "t"))]
    with pytest.raises(ConfigError, match=r"^'Db:Url' and 'Db__Url' are both the variable "
                                          r"DB__URL"):
        render(Bundle("prod", {r.key: r for r in rows}), fmt, reveal=True)
    case = [rows[0], ResolvedValue("db:url", "x", False, Provenance(Layer.PACK, "t"))]
    with pytest.raises(ConfigError, match=r"'Db:Url' and 'db:url' are both the variable"):
        render(Bundle("prod", {r.key: r for r in case}), fmt, reveal=True)


@pytest.mark.parametrize("args", [
    ("resolve", "--env", "prod", "--format", "shell", "--reveal"),
    ("resolve", "--env", "prod", "--format", "dotenv", "--reveal"),
    ("resolve", "--env", "prod", "--format", "github"),
    ("resolve", "--env", "prod", "--format", "compose"),
    ("env", "example", "-o", "-"),
    ("run", "--env", "prod", "--", "printenv", "CONNECTIONSTRINGS__PRIMARY"),
])
def test_a_key_planted_on_a_secrets_variable_stops_every_output(cli: Cli, tmp_path: Path,
                                                                args: tuple[str, ...]) -> None:
    put_all(cli)
    config = cli.root / "vaultline.yaml"
    config.write_text(config.read_text().replace(
        "defaults:\n", "defaults:\n  ConnectionStrings__Primary: postgres://planted\n", 1))
    github_env = tmp_path / "github_env"
    done = cli(*args, extra_env={"GITHUB_ENV": str(github_env)})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("vaultline: error: 'ConnectionStrings:Primary' and "
                           "'ConnectionStrings__Primary' are both the variable "
                           "CONNECTIONSTRINGS__PRIMARY, so one would overwrite the other; rename "
                           "one of them\n")
    assert not github_env.exists() and not (cli.root / ".vaultline" / "compose").exists()
