from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaultline.errors import CommandNotExecutableError, CommandNotFoundError, ConfigError
from vaultline.runtime.runner import run

SECRET = "hunter2-secret"
SECRETS = {"API_TOKEN": SECRET}
PY = sys.executable

# The runner in its own process, for stdin and signals. A new session keeps it out of a
# terminal's foreground group, where SIGINT is left to the terminal rather than forwarded.
RUNNER = """
import json, sys
from pathlib import Path
from vaultline.runtime.runner import run
opts = json.loads(sys.argv[1])
files = Path(opts["files"]) if opts.get("files") else None
sys.exit(run(opts["argv"], env=opts["env"], secrets=opts["secrets"],
             mask=opts.get("mask", True), files_dir=files))
"""


def start_runner(
    child: str, *, files: Path | None = None, mask: bool = True, stdin: int | None = None
) -> subprocess.Popen[bytes]:
    opts = {
        "argv": [PY, "-c", child],
        "env": {} if files else SECRETS,
        "secrets": SECRETS,
        "mask": mask,
        "files": str(files) if files else None,
    }
    return subprocess.Popen(
        [PY, "-c", RUNNER, json.dumps(opts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        stdin=stdin,
    )


def read_line(stream: object, timeout: float = 5.0) -> bytes:
    fd = stream.fileno()  # type: ignore[attr-defined]
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no complete line within {timeout}s, got {line!r}")
        chunk = os.read(fd, 1)
        if not chunk:
            break
        line += chunk
    return line


# -- exit status ----------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [True, False])
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import sys; sys.exit(0)", 0),
        ("import sys; sys.exit(7)", 7),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 128 + 9),
        ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 128 + 15),
    ],
)
def test_exit_status_passes_through(code: str, expected: int, mask: bool) -> None:
    assert run([PY, "-c", code], env={}, secrets=SECRETS, mask=mask) == expected


def test_missing_command() -> None:
    with pytest.raises(CommandNotFoundError) as info:
        run(["vaultline-no-such-command"], env=SECRETS, secrets=SECRETS)
    assert info.value.exit_code == 127
    assert "\n" not in str(info.value)
    assert SECRET not in str(info.value)


def test_command_not_executable(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(CommandNotExecutableError) as info:
        run([str(script)], env={}, secrets=SECRETS)
    assert info.value.exit_code == 126


def test_no_command() -> None:
    with pytest.raises(ConfigError):
        run([], env={}, secrets={})


# -- environment and masking ----------------------------------------------------------------


def test_env_and_masked_output(capfd: pytest.CaptureFixture[str]) -> None:
    child = (
        "import os, sys, base64;"
        "t = os.environ['API_TOKEN'];"
        "print('out', t, os.environ['PLAIN'], os.environ['FROM_CALLER']);"
        "print('b64', base64.b64encode(t.encode()).decode(), file=sys.stderr)"
    )
    os.environ["FROM_CALLER"] = "inherited"
    try:
        code = run([PY, "-c", child], env={**SECRETS, "PLAIN": "visible"}, secrets=SECRETS)
    finally:
        del os.environ["FROM_CALLER"]
    out, err = capfd.readouterr()
    assert code == 0
    assert out == "out ******** visible inherited\n"
    assert err == "b64 ********\n"


def test_without_masking_output_is_inherited(capfd: pytest.CaptureFixture[str]) -> None:
    run([PY, "-c", "import os; print(os.environ['API_TOKEN'])"], env=SECRETS, secrets=SECRETS,
        mask=False)  # fmt: skip
    assert capfd.readouterr().out == SECRET + "\n"


def test_large_output_split_across_reads(capfd: pytest.CaptureFixture[str]) -> None:
    child = (
        "import os, sys; t = os.environ['API_TOKEN'];"
        "sys.stdout.write(('x' * 997 + t) * 2000)"
    )
    run([PY, "-c", child], env=SECRETS, secrets=SECRETS)
    out = capfd.readouterr().out
    assert SECRET not in out
    assert out == ("x" * 997 + "********") * 2000


def test_stdin_is_the_callers() -> None:
    proc = start_runner(
        "import sys; data = sys.stdin.read(); print(len(data), data.upper())",
        stdin=subprocess.PIPE,
    )
    out, _ = proc.communicate(b"hello " + SECRET.encode(), timeout=20)
    assert proc.returncode == 0
    assert out == f"{6 + len(SECRET)} HELLO {SECRET.upper()}\n".encode()


@pytest.mark.parametrize(("written", "shown"), [
    ("partial hun", b"partial hun"),  # could start the secret, or a word: shown
    ("partial hunter", b"partial ********"),  # the secret being written: masked
])
def test_held_back_prefix_is_flushed_within_50ms(written: str, shown: bytes) -> None:
    # What could start the secret is held back, but not until the child exits.
    child = (
        "import sys, time;"
        f"sys.stdout.write({written!r}); sys.stdout.flush();"
        "time.sleep(3); print('2-secret done')"
    )
    proc = start_runner(child)
    try:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        got = b""
        deadline = time.monotonic() + 2.0  # well before the child's 3 s sleep ends
        while not got.endswith(shown[-3:]) and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                got += os.read(fd, 100)
        assert got == shown
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_background_grandchild_does_not_keep_the_runner_waiting() -> None:
    started = time.monotonic()
    code = run(["sh", "-c", "sleep 5 & echo started"], env={}, secrets=SECRETS)
    assert code == 0
    assert time.monotonic() - started < 4


# -- signals --------------------------------------------------------------------------------

TRAP = (
    "import signal, sys, time;"
    "signal.signal(signal.SIG{name}, lambda *a: (print('got {name}', flush=True), sys.exit(5)));"
    "print('ready', flush=True); time.sleep(20)"
)


@pytest.mark.parametrize("name", ["INT", "TERM"])
def test_signals_are_forwarded(name: str) -> None:
    proc = start_runner(TRAP.format(name=name))
    assert read_line(proc.stdout) == b"ready\n"
    proc.send_signal(getattr(signal, f"SIG{name}"))
    assert read_line(proc.stdout) == f"got {name}\n".encode()
    assert proc.wait(timeout=10) == 5


def test_child_killed_by_forwarded_sigterm() -> None:
    proc = start_runner("import time; print('ready', flush=True); time.sleep(20)")
    assert read_line(proc.stdout) == b"ready\n"
    proc.terminate()
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM


# -- secrets as files -----------------------------------------------------------------------

FILES_CHILD = """
import json, os, stat, sys, time
path = os.environ["API_TOKEN_FILE"]
print(json.dumps({
    "path": path,
    "mode": stat.S_IMODE(os.stat(path).st_mode),
    "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
    "value": open(path).read() == os.environ.get("EXPECT"),
    "unset": "API_TOKEN" not in os.environ,
}), flush=True)
ACTION
"""


def files_child(action: str) -> str:
    return FILES_CHILD.replace("ACTION", action)


def test_files_are_0600_and_removed_after_exit(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code = run(
        [PY, "-c", files_child("sys.exit(3)")],
        env={"EXPECT": SECRET},
        secrets=SECRETS,
        files_dir=tmp_path,
    )
    report = json.loads(capfd.readouterr().out)
    assert code == 3
    assert report == {
        "path": report["path"],
        "mode": 0o600,
        "dir_mode": 0o700,
        "value": True,
        "unset": True,
    }
    assert Path(report["path"]).parent.parent == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_files_removed_after_child_is_killed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code = run(
        [PY, "-c", files_child("os.kill(os.getpid(), 9)")],
        env={"EXPECT": SECRET},
        secrets=SECRETS,
        files_dir=tmp_path,
    )
    assert code == 128 + 9
    assert json.loads(capfd.readouterr().out)["mode"] == 0o600
    assert list(tmp_path.iterdir()) == []


# Every signal whose default action ends vaultline is forwarded, so none leaves the files
# (or leases) behind: Ctrl-\\ (SIGQUIT) on a terminal, `kill -USR1` meant for the service.
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                                    signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM])
def test_files_removed_after_runner_is_signalled(tmp_path: Path, signum: int) -> None:
    proc = start_runner(files_child("time.sleep(20)"), files=tmp_path)
    report = json.loads(read_line(proc.stdout))
    assert Path(report["path"]).exists()
    proc.send_signal(signum)
    assert proc.wait(timeout=10) == 128 + signum
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o000, 0o077, 0o777])
def test_file_modes_ignore_umask(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                 umask: int) -> None:
    # Under 0777, mkdtemp's directory would be 000: unusable for anyone but root.
    old = os.umask(umask)
    try:
        run([PY, "-c", files_child("")], env={}, secrets=SECRETS, files_dir=tmp_path)
    finally:
        os.umask(old)
    report = json.loads(capfd.readouterr().out)
    assert (report["mode"], report["dir_mode"]) == (0o600, 0o700)


@pytest.mark.parametrize(("env", "says"), [
    ({"API_TOKEN": "a\0b"}, "variable API_TOKEN: its value holds a NUL byte"),
    ({"API_TOKEN": "x" * 200_000}, "variable API_TOKEN: its value is 200000 bytes"),
    ({"API_TOKEN": "a\ud800b"}, "variable API_TOKEN: its value is not text"),
    # Each within the limit of one variable, together past the system's (ARG_MAX).
    ({f"V{i}": "x" * 100_000 for i in range(os.sysconf("SC_ARG_MAX") // 100_000 + 1)},
     "larger than the system allows"),
])
def test_an_environment_exec_cannot_carry_is_one_clear_error(env: dict[str, str],
                                                               says: str) -> None:
    with pytest.raises(ConfigError) as info:
        run([PY, "-c", ""], env=env, secrets={})
    assert says in str(info.value) and "--files" in str(info.value)
    assert "xxxxxxxx" not in str(info.value) and info.value.exit_code == 2


def test_unusable_secret_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        run([PY, "-c", ""], env={}, secrets={"A/B": SECRET}, files_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_masker_that_cannot_be_built_takes_the_started_child_down(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import vaultline.runtime.runner as runner

    started: list[subprocess.Popen[bytes]] = []
    real_start = runner._start

    def recording_start(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(real_start(*args, **kwargs))  # type: ignore[arg-type]
        return started[-1]

    def broken_masker(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no masker")

    monkeypatch.setattr(runner, "_start", recording_start)
    monkeypatch.setattr(runner.Masker, "staged", broken_masker)
    with pytest.raises(RuntimeError):
        run(["sleep", "30"], env={}, secrets={"A": "s3cret-value"})
    assert len(started) == 1 and started[0].returncode == -signal.SIGKILL


# -- the masker is built while the child runs ------------------------------------------------


class _HeldMasker:
    """Stands in for ``Masker.staged``: blocks until released, then stages the real one."""

    def __init__(self) -> None:
        import threading

        from vaultline.redact.masker import Masker

        self.staged = Masker.staged
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.started.set()
        assert self.release.wait(60), "the test never released the masker build"
        return self.staged(*args, **kwargs)  # type: ignore[arg-type]


def test_a_child_that_prints_nothing_does_not_wait_for_the_masker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import vaultline.runtime.runner as runner

    held = _HeldMasker()
    monkeypatch.setattr(runner.Masker, "staged", held)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(
        run([PY, "-c", "import sys; sys.exit(3)"], env=SECRETS, secrets=SECRETS)))
    thread.start()
    try:
        thread.join(30)
        assert not thread.is_alive() and codes == [3]  # exited while the build was held
        assert held.started.is_set()  # the build had begun alongside the child
    finally:
        held.release.set()
        thread.join(60)


def test_the_first_byte_waits_for_the_masker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    import vaultline.runtime.runner as runner

    printed = tmp_path / "printed"
    os.mkfifo(printed)

    class AfterTheChildPrinted(_HeldMasker):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with printed.open() as fifo:  # the child says when its secret is in the pipe
                assert fifo.read() == "printed"
            self.release.set()
            return super().__call__(*args, **kwargs)

    monkeypatch.setattr(runner.Masker, "staged", AfterTheChildPrinted())
    child = ("import os, sys; print('token', os.environ['API_TOKEN'], flush=True); "
             f"open({str(printed)!r}, 'w').write('printed')")
    assert run([PY, "-c", child], env=SECRETS, secrets=SECRETS) == 0
    assert capfd.readouterr().out == "token ********\n"


def test_a_cold_masker_masks_output_at_once_and_is_compiled_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """No compiled masker cached: the first output goes through the quick (Aho–Corasick)
    masker while Hyperscan compiles, then through the compiled one, which is cached."""
    import threading

    from vaultline.redact.cache import MaskerCache
    from vaultline.redact.masker import Staged

    go = tmp_path / "go"
    os.mkfifo(go)
    used: list[str] = []
    quick_built = threading.Event()
    real_quick, real_compiled = Staged.quick, Staged.compiled

    def quick(self: Staged) -> object:
        masker = real_quick(self)
        used.append(masker.backend)
        quick_built.set()
        return masker

    def compiled(self: Staged) -> object:
        assert quick_built.wait(30), "the first output did not get the quick masker"
        masker = real_compiled(self)
        used.append(masker.backend)
        return masker

    monkeypatch.setattr(Staged, "quick", quick)
    monkeypatch.setattr(Staged, "compiled", compiled)
    cache = MaskerCache(tmp_path / "cache", os.urandom(32), "prod")
    child = ("import os, sys; t = os.environ['API_TOKEN']; print('first', t, flush=True); "
             f"open({str(go)!r}).read(); print('second', t, flush=True)")

    def release_the_child_once_compiled() -> None:
        while not list((tmp_path / "cache").glob("masker-*")):
            quick_built.wait(0.05)  # the compile saves the cache as it finishes
        with go.open("w") as fifo:
            fifo.write("go")

    releaser = threading.Thread(target=release_the_child_once_compiled, daemon=True)
    releaser.start()
    assert run([PY, "-c", child], env=SECRETS, secrets=SECRETS, masker_cache=cache) == 0
    releaser.join(30)
    assert capfd.readouterr().out == "first ********\nsecond ********\n"
    assert used == ["ahocorasick", "hyperscan"]


def test_a_signal_the_process_may_not_catch_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """valgrind keeps a real-time signal for itself (signal() says EINVAL): the others are
    still forwarded, and `run` starts its child instead of failing with 'Invalid argument'."""
    import signal as signals

    from vaultline import _signals

    reserved = _signals.ENDING[-1]
    real = signals.signal
    installed: list[int] = []

    def refusing(signum: int, handler: object) -> object:
        if signum == reserved:
            raise OSError(22, "Invalid argument")
        installed.append(signum)
        return real(signum, handler)  # type: ignore[arg-type]

    monkeypatch.setattr(_signals.signal, "signal", refusing)
    previous = _signals.install(lambda signum, frame: None)
    try:
        assert reserved not in previous and signals.SIGTERM in previous
        assert set(installed) == set(_signals.ENDING) - {reserved}
    finally:
        for signum, handler in previous.items():
            real(signum, handler)
