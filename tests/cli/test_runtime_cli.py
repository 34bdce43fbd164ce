"""`run`, `redact`, `override` and `check` through real subprocesses, and the canary test:
a known secret value run through every command of the runtime issue never shows up anywhere
outside the encrypted store."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import hostile
from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from tests.runtime.test_pty import VAULTLINE

CANARY = "postgres://app:s3cret-canary@db/app"  # what put_all stores as the primary
PY = sys.executable


def test_run_injects_and_masks(cli: Cli) -> None:
    put_all(cli)
    script = ("import os, sys, base64, json;"
              "v = os.environ['CONNECTIONSTRINGS__PRIMARY'];"
              "print('plain', v); print('b64', base64.b64encode(v.encode()).decode());"
              "print('json', json.dumps({'v': v}));"
              "print('level', os.environ['LOGGING__LOGLEVEL__DEFAULT']);"
              "sys.stderr.write('err ' + v + '\\n'); sys.exit(7)")
    result = cli("run", "--env", "prod", "--", PY, "-c", script)
    assert result.returncode == 7
    assert "s3cret" not in result.stdout + result.stderr
    assert "plain ********" in result.stdout and "level Warning" in result.stdout
    assert "err ********" in result.stderr
    unmasked = cli("run", "--env", "prod", "--no-mask", "--prefix", "APP_", "--", PY, "-c",
                   "import os; print(os.environ['APP_CONNECTIONSTRINGS__PRIMARY'])")
    assert unmasked.stdout.strip() == CANARY


def test_run_files_mode(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    files = tmp_path / "secrets"
    files.mkdir()
    script = ("import os, stat; p = os.environ['CONNECTIONSTRINGS__PRIMARY_FILE'];"
              "print('set' if 'CONNECTIONSTRINGS__PRIMARY' in os.environ else 'unset');"
              "print(oct(stat.S_IMODE(os.stat(p).st_mode)));"
              "print(open(p).read() == os.environ['EXPECTED'])")
    result = cli("run", "--env", "prod", "--files", str(files), "--", PY, "-c", script,
                 extra_env={"EXPECTED": CANARY})
    assert result.stdout.split() == ["unset", "0o600", "True"], result.stderr
    assert list(files.iterdir()) == []  # removed when the child exited


def test_a_large_secret_is_masked_not_an_internal_error(cli: Cli, tmp_path: Path) -> None:
    """A 200 KB value (a certificate bundle) is over what one Hyperscan literal can be."""
    put_all(cli)
    bundle = "".join(f"-----CERT {i:05d}-----{secrets.token_urlsafe(300)}\n" for i in range(500))
    assert len(bundle) > 200_000
    assert cli("secret", "put", "AI:OpenAI:ApiKey", "--env", "prod", stdin=bundle).returncode == 0
    result = cli("run", "--env", "prod", "--files", str(tmp_path / "files"), "--", PY, "-c",
                 "import os; print('start', open(os.environ['AI__OPENAI__APIKEY_FILE']).read(), "
                 "'end')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["start", "********", "end"]


PAUSING_IN_A_LARGE_SECRET = r"""
import os, sys
value = open(os.environ['AI__OPENAI__APIKEY_FILE'], 'rb').read()
out = sys.stdout.buffer
out.write(b'start ' + value[:200])  # less than a line: nothing of it is masked yet
out.flush()
open(sys.argv[1]).close()  # waits until the test has seen what was written before the pause
out.write(value[200:] + b' end\n')
"""


def test_a_pause_in_the_middle_of_a_large_secret_shows_none_of_it(cli: Cli,
                                                                  tmp_path: Path) -> None:
    # A loaded machine can stop the child in the middle of writing a certificate bundle for
    # longer than output is held back: the part written so far must be masked then.
    put_all(cli)
    bundle = "".join(f"-----CERT {i:05d}-----{secrets.token_urlsafe(300)}\n" for i in range(500))
    assert cli("secret", "put", "AI:OpenAI:ApiKey", "--env", "prod", stdin=bundle).returncode == 0
    go = tmp_path / "go"
    os.mkfifo(go)
    proc = subprocess.Popen([VAULTLINE, "run", "--env", "prod", "--files", str(tmp_path / "f"),
                             "--", PY, "-c", PAUSING_IN_A_LARGE_SECRET, str(go)],
                            cwd=cli.root, env=cli.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    seen = bytearray()
    try:
        fd, deadline = proc.stdout.fileno(), time.monotonic() + 30
        # The flush at the pause is one write, shown or masked.
        while (len(seen) < len(b"start ********")
               and select.select([fd], [], [], max(deadline - time.monotonic(), 0))[0]):
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
        assert bytes(seen) == b"start ********"
        os.close(os.open(go, os.O_WRONLY))
        out, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(OSError):  # a child still waiting goes on, to a closed pipe
            os.close(os.open(go, os.O_WRONLY | os.O_NONBLOCK))
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out == b" end\n"


def test_a_value_no_environment_can_carry_is_one_error_naming_its_key(cli: Cli,
                                                                      tmp_path: Path) -> None:
    put_all(cli)
    assert cli("secret", "put", "AI:OpenAI:ApiKey", "--env", "prod",
               stdin="sk-canary\0tail").returncode == 0
    result = cli("run", "--env", "prod", "--", PY, "-c", "print('started')")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "vaultline: error: 'AI:OpenAI:ApiKey': its value holds a NUL byte, which no "
        "environment variable can carry; hand it over as a file: vaultline run --files DIR")
    assert "canary" not in result.stderr and "internal error" not in result.stderr
    # In a file it is carried exactly.
    files = cli("run", "--env", "prod", "--files", str(tmp_path / "files"), "--", PY, "-c",
                "import os; print(open(os.environ['AI__OPENAI__APIKEY_FILE']).read() == "
                "'sk-canary\\0tail')")
    assert files.returncode == 0 and files.stdout.split() == ["True"], files.stderr
    # A setting goes to the environment even with --files.
    values = cli.root / "env" / "prod" / "values.yaml"
    values.write_text(values.read_text() + 'Api:Banner: "a\\0b"\n')
    setting = cli("run", "--env", "prod", "--files", str(tmp_path / "files"), "--", PY, "-c", "")
    assert setting.returncode == 2
    assert setting.stderr.splitlines()[-1].startswith("vaultline: error: 'Api:Banner': its "
                                                      "value holds a NUL byte"), setting.stderr


def test_run_passes_sigterm_and_exit_status(cli: Cli) -> None:
    put_all(cli)
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("vaultline")), "run", "--env", "prod",
         "--", PY, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
        cwd=cli.root, env=cli.env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 128 + signal.SIGTERM


def test_missing_command(cli: Cli) -> None:
    put_all(cli)
    result = cli("run", "--env", "prod", "--", "no-such-command-vaultline")
    assert result.returncode == 127 and result.stderr.count("\n") == 1


def test_redact_pipes(cli: Cli) -> None:
    put_all(cli)
    result = cli("redact", "--env", "prod", stdin=f"connecting to {CANARY} now\nok\n")
    assert result.stdout == "connecting to ******** now\nok\n"


def test_redact_memory_and_time_stay_linear_on_a_flood_of_colour_codes(cli: Cli) -> None:
    # "p" may start the canary, and every colour code after it was held with it: 4 MB of
    # them took 420 MB of RSS, 16 MB 1.6 GB.
    put_all(cli)
    runs = []
    for megabytes in (4, 16):
        flood = "p" + "\x1b[m" * (megabytes * 1024 * 1024 // 3)
        outcome = hostile.measured(("redact", "--env", "prod"), cli.root, cli.env, stdin=flood,
                                   timeout=120)
        assert outcome.code == 0, outcome.stderr
        assert outcome.stdout == flood.encode()
        runs.append(outcome)
    small, large = runs
    assert large.peak_kib < small.peak_kib + 20 * 1024 < hostile.RSS_LIMIT_KIB
    assert large.cpu_seconds < 4 * small.cpu_seconds  # start-up included: linear is below


def test_override_cli_and_policy(cli: Cli) -> None:
    put_all(cli)
    refused = cli("override", "set", "Logging:LogLevel:Default", "--env", "prod", "--ttl", "1h",
                  "--reason", "r", "--approved-by", "alice", "--ticket", "T", stdin="Debug")
    assert refused.returncode == 2
    assert refused.stderr.startswith("vaultline: error: prod is protected: an override needs a "
                                     "second person. Request it with 'vaultline override request")
    incomplete = cli("override", "request", "Logging:LogLevel:Default", "--env", "prod",
                     "--ttl", "1h", stdin="Debug")
    assert incomplete.returncode == 2
    assert incomplete.stderr.strip() == ("vaultline: error: prod is protected: an override "
                                         "needs --reason, --ticket")
    too_long = cli("override", "request", "Logging:LogLevel:Default", "--env", "prod",
                   "--ttl", "5h", "--reason", "r", "--ticket", "T", stdin="Debug")
    assert too_long.returncode == 2 and "max_override_ttl of 4h" in too_long.stderr
    asked = cli("override", "request", "ConnectionStrings:Primary", "--env", "prod", "--ttl",
                "2h", "--reason", "failover", "--ticket", "INC-1",
                stdin="postgres://replica-canary@db2/app")
    assert asked.returncode == 0, asked.stderr
    override_id = asked.stdout.split()[1].rstrip(":")
    listed = json.loads(cli("override", "ls", "--env", "prod", "--format", "json").stdout)
    assert [(o["id"], o["state"]) for o in listed] == [(override_id, "pending")]
    assert "value" not in listed[0]
    # The requester cannot approve, whatever $USER/$LOGNAME say.
    for spoof in ({}, {"USER": "bob", "LOGNAME": "bob", "USERNAME": "bob"}):
        own = cli("override", "approve", override_id, "--env", "prod", extra_env=spoof)
        assert own.returncode == 2 and "a different identity must approve it" in own.stderr
    explained = cli("env", "explain", "ConnectionStrings:Primary", "--env", "prod", "--format", "json")
    assert [c["layer"] for c in json.loads(explained.stdout)["candidates"]] == ["secrets"]
    assert cli("override", "revoke", override_id, "--env", "prod").returncode == 0
    staging = cli("override", "set", "Logging:LogLevel:Default", "--env", "dev", "--ttl",
                  "9999h", stdin="Debug")
    assert staging.returncode == 2 and "default maximum of 1d" in staging.stderr
    preload = cli("override", "set", "LD_PRELOAD", "--env", "dev", "--ttl", "1h",
                  stdin="/tmp/evil.so")
    assert preload.returncode == 2 and "LD_PRELOAD is not a key of dev" in preload.stderr
    revealed = json.loads(cli("resolve", "--env", "prod", "--format", "json", "--reveal").stdout)
    assert revealed["ConnectionStrings"]["Primary"] == CANARY


def test_check_gate(cli: Cli) -> None:
    subprocess.run(["git", "init", "-q", str(cli.root)], check=True)
    failing = cli("check", "--env", "prod", "--format", "json")
    assert failing.returncode == 1
    report = json.loads(failing.stdout)
    assert report["ok"] is False
    assert {f["check"] for f in report["findings"]} == {"resolvable"}
    put_all(cli)
    passing = cli("check", "--env", "prod")
    assert passing.returncode == 0, passing.stdout
    assert passing.stdout.strip() == "prod: all checks passed"


def test_canary_never_leaks(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    outputs: list[str] = []

    def run(*args: str, stdin: str | None = None) -> None:
        result = cli(*args, stdin=stdin)
        outputs.extend([result.stdout, result.stderr])

    run("resolve", "--env", "prod")
    run("resolve", "--env", "prod", "--format", "json")
    run("resolve", "--env", "prod", "--format", "env")
    run("env", "explain", "ConnectionStrings:Primary", "--env", "prod")
    run("secret", "refs", "--env", "prod")
    run("run", "--env", "prod", "--", PY, "-c",
        "import os; print(os.environ['CONNECTIONSTRINGS__PRIMARY'])")
    run("run", "--env", "prod", "--files", str(tmp_path), "--", PY, "-c",
        "import os; print(open(os.environ['CONNECTIONSTRINGS__PRIMARY_FILE']).read())")
    run("redact", "--env", "prod", stdin=CANARY)
    run("override", "request", "ConnectionStrings:Primary", "--env", "prod", "--ttl", "1h",
        "--reason", "r", "--ticket", "T", stdin=CANARY)
    run("override", "ls", "--env", "prod", "--all", "--format", "json")
    run("check", "--env", "prod", "--format", "json")
    run("audit", "show", "--format", "json")
    run("audit", "report", "--format", "json")
    run("audit", "verify")
    run("secret", "versions", "ConnectionStrings:Primary", "--env", "prod")
    time.sleep(0.1)
    for text in outputs:
        assert "s3cret-canary" not in text
    # Files: everything in the project (the encrypted store included) and in the temp dir.
    for base in (cli.root, tmp_path):
        for path in base.rglob("*"):
            if path.is_file():
                assert b"s3cret-canary" not in path.read_bytes(), path
    audit_lines = (cli.root / ".vaultline" / "audit.log").read_text().splitlines()
    assert len(audit_lines) > 10
    assert all(json.loads(line)["v"] == 2 for line in audit_lines)
