"""The command tree's nouns, and the old top-level names of the commands that moved under one.

An old name runs the very command the new path runs (so no check can differ), is hidden from
``--help`` and completion, and adds exactly one warning line on stderr: stdout, exit code and
the error line stay what the new name gives, through a closed pipe and a closed stderr too.
"""

from __future__ import annotations

import json
import os
import subprocess

import click
import pytest
from click.shell_completion import BashComplete

from tests.cli.test_core_cli import VAULTLINE, Cli, put_all
from tests.cli.test_core_cli import cli as cli
from vaultline.cli._app import COMMANDS, MOVED
from vaultline.cli._app import cli as root


def _warning(old: str) -> str:
    noun, verb = MOVED[old]
    return (f"vaultline: warning: 'vaultline {old}' is now 'vaultline {noun} {verb}'; "
            "the old name goes away in the next release\n")


def test_the_moved_names_are_the_store_crypto_environment_and_shell_commands() -> None:
    assert {old: " ".join(new) for old, new in MOVED.items()} == {
        "put": "secret put", "get": "secret get", "ls": "secret ls",
        "versions": "secret versions", "rm": "secret rm", "undelete": "secret undelete",
        "rollback": "secret rollback", "refs": "secret refs",
        "sign": "keys sign", "verify": "keys verify", "encrypt": "keys encrypt",
        "decrypt": "keys decrypt", "rewrap": "keys rewrap", "runbook": "rotate runbook",
        "diff": "env diff", "explain": "env explain", "env-example": "env example",
        "completion": "shell completion", "direnv": "shell direnv"}


def test_an_old_name_never_shadows_a_command() -> None:
    assert set(MOVED).isdisjoint(COMMANDS)
    assert {noun for noun, _ in MOVED.values()} <= set(COMMANDS)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_name_runs_the_same_command_object(old: str) -> None:
    ctx = click.Context(root)
    noun, verb = MOVED[old]
    group = root.get_command(ctx, noun)
    assert isinstance(group, click.Group)
    new = group.get_command(ctx, verb)
    assert new is not None and root.get_command(ctx, old) is new
    # The old name skips the group: it must have no option or work of its own to skip.
    assert group.params == [] and group.callback is not None and group.callback() is None


def test_the_top_level_is_the_nouns_and_environment_verbs() -> None:
    assert root.list_commands(click.Context(root)) == [
        "audit", "check", "drift", "env", "init", "inventory", "keys", "override", "policy",
        "redact", "render", "resolve", "rotate", "run", "scan", "secret", "shell"]


def test_old_names_are_hidden_from_help_and_completion(cli: Cli) -> None:
    listed = cli("--help")
    assert listed.returncode == 0
    commands = listed.stdout.split("Commands:\n", 1)[1]
    names = {line.split()[0] for line in commands.splitlines() if line.startswith("  ")}
    assert "secret" in names and names.isdisjoint(MOVED)
    offered = {c.value for c in BashComplete(root, {}, "vaultline", "_VAULTLINE_COMPLETE")
               .get_completions([], "")}
    assert "secret" in offered and offered.isdisjoint(MOVED)


def test_completion_reaches_the_nested_verbs() -> None:
    def complete(args: list[str], incomplete: str) -> list[str]:
        completer = BashComplete(root, {}, "vaultline", "_VAULTLINE_COMPLETE")
        return [c.value for c in completer.get_completions(args, incomplete)]

    assert complete(["secret"], "") == ["get", "ls", "put", "refs", "rm", "rollback",
                                        "undelete", "versions"]
    assert complete(["keys"], "s") == ["sign", "stage", "status"]
    assert complete(["rotate"], "ru") == ["run", "runbook"]
    assert "--cas" in complete(["secret", "put"], "--c")


def test_completing_an_old_name_prints_no_warning(cli: Cli) -> None:
    done = cli(extra_env={"_VAULTLINE_COMPLETE": "bash_complete", "COMP_WORDS": "vaultline put --c",
                          "COMP_CWORD": "2"})
    assert done.returncode == 0 and done.stderr == ""
    assert "--cas" in done.stdout


def test_old_and_new_names_give_the_same_stdout_exit_code_and_error(cli: Cli) -> None:
    put_all(cli)
    cases = [
        (("ls", "nexus-engine/prod", "--format", "json"), None),
        (("versions", "ConnectionStrings:Primary", "--env", "prod", "--format", "json"), None),
        (("refs", "--env", "prod", "--format", "json"), None),
        (("get", "local:nexus-engine/prod/Nope"), None),  # a runtime failure: exit 1
        (("put", "Jwt:SigningKey"), "x"),  # a usage error: exit 2
        (("sign", "nope"), "{}"),
        (("runbook", "--env", "nope"), None),
        (("diff", "--env", "dev", "--env", "prod", "--format", "json"), None),
        (("explain", "ConnectionStrings:Primary", "--env", "prod", "--format", "json"), None),
        (("explain", "Nope", "--env", "prod"), None),
        (("env-example", "-o", "-"), None),
        (("completion", "bash"), None),
        (("completion", "tcsh"), None),
        (("direnv", "--env", "prod"), None),
    ]
    for args, stdin in cases:
        old, new = cli(*args, stdin=stdin), cli(*MOVED[args[0]], *args[1:], stdin=stdin)
        assert (old.returncode, old.stdout) == (new.returncode, new.stdout), args
        assert old.stderr == _warning(args[0]) + new.stderr, args
    assert json.loads(cli("ls", "nexus-engine/prod", "--format", "json").stdout) == [
        "nexus-engine/prod/AI/OpenAI/ApiKey", "nexus-engine/prod/ConnectionStrings/Primary",
        "nexus-engine/prod/Jwt/SigningKey"]


def test_an_old_get_is_the_same_audited_reveal(cli: Cli) -> None:
    put_all(cli)
    assert cli("get", "AI:OpenAI:ApiKey", "--env", "prod").stdout == "sk-canary-key\n"
    assert cli("secret", "get", "AI:OpenAI:ApiKey", "--env", "prod").stdout == "sk-canary-key\n"
    shown = json.loads(cli("audit", "show", "--format", "json").stdout)
    reveals = [e for e in shown if e.get("action") == "reveal" and e.get("key") == "AI:OpenAI:ApiKey"]
    assert len(reveals) == 2


def test_an_old_name_through_a_closed_pipe_ends_quietly(cli: Cli) -> None:
    put_all(cli)
    proc = subprocess.Popen([VAULTLINE, "refs", "--env", "prod"], cwd=cli.root, env=cli.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, _warning("refs"))


def test_an_old_name_with_stderr_closed_still_does_its_work(cli: Cli) -> None:
    put_all(cli)
    read, write = os.pipe()
    os.close(read)  # the warning meets a closed pipe
    try:
        done = subprocess.run([VAULTLINE, "ls", "nexus-engine/prod", "--format", "json"],
                              cwd=cli.root, env=cli.env, stdout=subprocess.PIPE, stderr=write,
                              text=True, timeout=60)
    finally:
        os.close(write)
    assert done.returncode == 0
    assert len(json.loads(done.stdout)) == 3


@pytest.mark.parametrize("group", ["secret", "keys", "rotate", "env", "shell"])
def test_a_noun_alone_prints_its_help_and_exits_2(cli: Cli, group: str) -> None:
    done = cli(group)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"Usage: vaultline {group} [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in done.stderr and "vaultline: error" not in done.stderr
