"""`run --watch`: the decision logic on a fake schedule, and real children reloaded."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_core_cli import Cli, put_all
from tests.cli.test_core_cli import cli as cli
from vaultline.errors import ConfigError, ProviderError
from vaultline.runtime.watch import OnChange, Snapshot, Watch, changed_keys

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))


def snap(**values: str) -> Snapshot:
    env = {k.upper(): v for k, v in values.items()}
    return Snapshot(env, dict(env), list(values.values()), dict(values))


class FakeProvider:
    """Returns the queued snapshots in turn; an exception in the queue is raised."""

    def __init__(self, *results: Snapshot | Exception):
        self.results: Iterator[Snapshot | Exception] = iter(results)
        self.calls = 0

    def __call__(self) -> Snapshot:
        self.calls += 1
        result = next(self.results)
        if isinstance(result, Exception):
            raise result
        return result


def watch_with(provider: FakeProvider, current: Snapshot) -> tuple[Watch, list[str], list[list[str]]]:
    warnings: list[str] = []
    audited: list[list[str]] = []
    watch = Watch(current, provider, interval=10, warn=warnings.append, audit=audited.append)
    return watch, warnings, audited


def test_no_change_no_reload() -> None:
    provider = FakeProvider(*(snap(a="one", b="two") for _ in range(5)))
    watch, warnings, audited = watch_with(provider, snap(a="one", b="two"))
    reloads = [watch.tick() for _ in range(5)]
    assert reloads == [(None, 10)] * 5 and provider.calls == 5
    assert audited == [] and warnings == []


def test_change_reported_once_with_key_names_only() -> None:
    provider = FakeProvider(snap(a="one"), snap(a="new-secret-value"), snap(a="new-secret-value"))
    watch, _, audited = watch_with(provider, snap(a="one"))
    assert watch.tick() == (None, 10)
    new, delay = watch.tick()
    assert new is not None and new.values == {"a": "new-secret-value"} and delay == 10
    assert audited == []  # audited once the child has it
    watch.applied(new)
    assert watch.tick() == (None, 10)  # the new bundle is now current
    assert audited == [["a"]]


def test_a_failed_reload_keeps_the_last_good_bundle_and_backs_off() -> None:
    current, new = snap(a="old-secret-value"), snap(a="new-secret-value")
    provider = FakeProvider(new, new, new, new)
    watch, warnings, audited = watch_with(provider, current)
    first, _ = watch.tick()
    assert first is not None
    # The child could not be given the new values (say a template no longer renders).
    assert watch.failed("reload failed: template line 3") == 20
    assert watch.current is current and audited == []
    again, _ = watch.tick()  # still a change against what the child runs on: tried again
    assert again is not None and watch.failed("reload failed: template line 3") == 40
    assert warnings == ["reload failed: template line 3"]  # once per streak
    retry, _ = watch.tick()
    assert retry is not None
    watch.applied(retry)
    assert watch.current is retry and audited == [["a"]] and watch.failures == 0
    assert warnings[-1] == "re-resolving works again"
    assert watch.tick() == (None, 10)


def test_backoff_on_failing_provider_keeps_current_and_warns_once() -> None:
    down = ProviderError("connection refused", key="a")
    provider = FakeProvider(down, down, down, down, down, down, down, snap(a="one"), snap(a="two"))
    current = snap(a="one")
    watch, warnings, audited = watch_with(provider, current)
    delays = [watch.tick() for _ in range(7)]
    assert [d for _, d in delays] == [20, 40, 80, 160, 320, 320, 320]
    assert all(new is None for new, _ in delays) and watch.current is current
    assert len(warnings) == 1 and "retries with backoff" in warnings[0]
    assert watch.tick() == (None, 10)  # back to the interval once it works
    assert warnings[-1] == "re-resolving works again"
    new, _ = watch.tick()
    assert new is not None and audited == []
    watch.applied(new)
    assert audited == [["a"]]


def test_an_expiring_override_wakes_the_watch_early() -> None:
    expiring = Snapshot({}, {}, [], {"a": "override"}, wake_in=3.0)
    provider = FakeProvider(expiring, snap(a="stored"))
    watch, _, audited = watch_with(provider, expiring)
    assert watch.first_delay() == pytest.approx(3.05)
    assert watch.tick() == (None, pytest.approx(3.05))
    new, delay = watch.tick()  # the override is gone: the stored value comes back
    assert new is not None and delay == 10
    watch.applied(new)
    assert audited == [["a"]]


def test_changed_keys_added_removed_changed() -> None:
    assert changed_keys(snap(a="1", b="2", c="3"), snap(a="1", b="x", d="4")) == ["b", "c", "d"]


def test_on_change_parse() -> None:
    assert OnChange.parse("restart").restart
    assert OnChange.parse("signal:HUP").signal == signal.SIGHUP
    assert str(OnChange.parse("signal:usr1")) == "signal:USR1"
    with pytest.raises(ConfigError):
        OnChange.parse("signal:NOPE")


# -- real children ---------------------------------------------------------------------------

STARTS = """
import hashlib, os, signal, sys, time
def show(*_):
    v = open(os.environ['CONNECTIONSTRINGS__PRIMARY_FILE']).read() if len(sys.argv) > 1 \\
        else os.environ['CONNECTIONSTRINGS__PRIMARY']
    print(sys.argv[-1] if len(sys.argv) > 1 else 'start', hashlib.sha256(v.encode()).hexdigest()[:12], flush=True)
signal.signal(signal.SIGHUP, show)
show()
time.sleep(60)
"""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def start_watched(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([VAULTLINE, "run", "--env", "prod", *args], cwd=cli.root,
                            env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return proc.stdout.readline().strip()


INTERVAL = 0.5


def test_restart_on_change_only(cli: Cli) -> None:
    put_all(cli)
    proc = start_watched(cli, "--watch", str(INTERVAL), "--grace", "2s", "--",
                         sys.executable, "-c", STARTS)
    try:
        first = read_line(proc, 30)
        assert first == f"start {digest('postgres://app:s3cret-canary@db/app')}"
        # Several intervals with nothing changed: no restart.
        assert read_line(proc, 4 * INTERVAL) == ""
        new = "postgres://app:rotated-value-42@db/app"
        assert cli("secret", "put", "local:nexus-engine/prod/ConnectionStrings/Primary",
                   stdin=new).returncode == 0
        started = time.monotonic()
        # Within two intervals (plus a process start on shared cores).
        assert read_line(proc, 2 * INTERVAL + 10) == f"start {digest(new)}"
        assert time.monotonic() - started < 2 * INTERVAL + 10
        assert read_line(proc, 4 * INTERVAL) == ""  # one restart, not one per tick
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert "rotated-value" not in err and "s3cret" not in err
    events = json.loads(cli("audit", "show", "--action", "run.reload", "--format",
                            "json").stdout)
    assert len(events) == 1 and events[0]["detail"]["keys"] == ["ConnectionStrings:Primary"]
    assert "rotated" not in json.dumps(events)


def test_a_new_value_no_environment_can_carry_leaves_the_child_running(cli: Cli) -> None:
    put_all(cli)
    proc = start_watched(cli, "--watch", str(INTERVAL), "--grace", "2s", "--",
                         sys.executable, "-c", STARTS)
    try:
        assert read_line(proc, 30) == f"start {digest('postgres://app:s3cret-canary@db/app')}"
        assert cli("secret", "put", "local:nexus-engine/prod/ConnectionStrings/Primary",
                   stdin="postgres://app:nul\0here@db/app").returncode == 0
        assert read_line(proc, 4 * INTERVAL + 5) == ""  # not restarted, not ended
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert "'ConnectionStrings:Primary': its value holds a NUL byte" in err
    assert "the command keeps its current values" in err
    assert "nul" not in err.replace("NUL", "")


def test_signal_mode_rewrites_files_before_signalling(cli: Cli, tmp_path: Path) -> None:
    put_all(cli)
    proc = start_watched(cli, "--files", str(tmp_path / "files"), "--watch", str(INTERVAL),
                         "--on-change", "signal:HUP", "--", sys.executable, "-c", STARTS,
                         "reloaded")
    try:
        assert read_line(proc, 30) == f"reloaded {digest('postgres://app:s3cret-canary@db/app')}"
        new = "postgres://app:rotated-by-signal@db/app"
        assert cli("secret", "put", "local:nexus-engine/prod/ConnectionStrings/Primary",
                   stdin=new).returncode == 0
        # The handler reads the file when the signal arrives: it must already hold the new value.
        assert read_line(proc, 2 * INTERVAL + 10) == f"reloaded {digest(new)}"
        assert proc.poll() is None  # signalled, not restarted
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_signal_mode_needs_files(cli: Cli) -> None:
    put_all(cli)
    result = cli("run", "--env", "prod", "--watch", "1s", "--on-change", "signal:HUP", "--", "true")
    assert result.returncode == 2 and "--files" in result.stderr


def test_masker_follows_new_values_and_keeps_old_ones() -> None:
    from vaultline.redact.masker import Masker

    old = Masker(["old-secret-value"])
    stream = old.stream()
    out = stream.feed(b"a old-secret-value b new-sec")  # "new-sec" is not a secret yet
    stream.follow(Masker(["old-secret-value", "new-secret-value-longer"]))
    out += stream.feed(b"ret-value-longer c old-secret-value d new-secret-value-longer\n")
    out += stream.flush()
    assert b"old-secret" not in out and b"new-secret-value-longer" not in out
    assert out.endswith(b"c ******** d ********\n")


WAITS_FOR_RELOADS = """
import signal, sys
signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # the reload's signal
signal.alarm(20)  # a retry that never comes fails the test instead of hanging it
with open(sys.argv[1]) as reloads:
    assert reloads.readline() == 'tried\\n'  # the first reload has failed
    print('old-secret-value', 'new-secret-value', flush=True)
    assert reloads.readline() == 'tried\\n'  # the retry
"""


def test_a_failed_reload_is_retried_and_new_values_stay_masked(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A reload whose template fails leaves the child on its bundle, masks the new values
    (they exist, and may be printed), and is tried again: the change is not lost."""
    import os

    from vaultline.runtime import runner

    fifo = tmp_path / "reloads"
    os.mkfifo(fifo)
    current = Snapshot({"A": "old-secret-value"}, {"A": "old-secret-value"},
                       ["old-secret-value"], {"a": "old-secret-value"})
    new = Snapshot({"A": "new-secret-value"}, {"A": "new-secret-value"},
                   ["new-secret-value"], {"a": "new-secret-value"})
    provider = FakeProvider(*[new] * 50)
    warnings: list[str] = []
    audited: list[tuple[list[str], int]] = []
    attempts: list[Snapshot] = []
    writer: list[object] = []

    def rerender(snapshot: Snapshot) -> None:
        attempts.append(snapshot)
        if not writer:
            writer.append(open(fifo, "w"))  # noqa: SIM115 - held open across reloads
        stream = writer[0]
        assert watch.current is current  # not taken for current before the child has it
        stream.write("tried\n")  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]
        if len(attempts) == 1:
            raise ConfigError("app.json.j2 line 3: 'Db' is undefined")

    watch = Watch(current, provider, interval=0.02, warn=warnings.append,
                  audit=lambda keys: audited.append((keys, len(attempts))))
    try:
        code = runner.run([sys.executable, "-c", WAITS_FOR_RELOADS, str(fifo)], env={},
                          secrets=current.secrets, watch=watch, on_reload=rerender,
                          on_change=OnChange.parse("signal:USR1"))
    finally:
        for stream in writer:
            stream.close()  # type: ignore[attr-defined]
    out = capfd.readouterr().out
    assert code == 0 and out == "******** ********\n"
    assert len(attempts) >= 2 and "reload failed" in warnings[0] and "'Db'" in warnings[0]
    assert audited[0] == (["a"], 2)  # audited when applied, not when it failed
    assert watch.current is new
