"""Files vaultline writes, attacked through the real CLI: names known in advance, symlinks
committed in a repository or left dangling, devices and FIFOs where a file was expected,
and a umask of 000."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.factory import fifo_reader, make_project, master_key_env

VAULTLINE = str(Path(sys.executable).with_name("vaultline"))
SECRET = "s3cr3t-Zq8v-written-files"


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "project"
    environ = {**os.environ, **master_key_env(), "NO_COLOR": "1", "HOME": str(tmp_path / "home")}
    make_project(root, {
        "vaultline.yaml": """
            version: 1
            app: nexus-engine
            environments: [dev, prod]
            providers:
              vault: {type: vault, url: "http://127.0.0.1:1", mount: kv}
            schema:
              ConnectionStrings:Primary: {secret: true, required: true}
        """,
        "env/dev/secrets.yaml": "ConnectionStrings:Primary: vault\n",
    }, environ=environ)
    done = subprocess.run([VAULTLINE, "secret", "put", "ConnectionStrings:Primary", "--env",
                           "prod"], cwd=root, env=environ, input=SECRET, text=True,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (root / "app.conf.j2").write_text("db={{ ConnectionStrings.Primary }}\n")
    return root, environ


def run(root: Path, environ: dict[str, str], *args: str, umask: int | None = None,
        timeout: float = 30) -> subprocess.CompletedProcess[str]:
    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)
    return subprocess.run([VAULTLINE, *args], cwd=root, env=environ, text=True,
                          capture_output=True, timeout=timeout, preexec_fn=set_umask)


def one_error_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("vaultline: error: ") and done.stderr.count("\n") == 1
    return done.stderr


@pytest.mark.parametrize("trap", ["file held open", "fifo"])
@pytest.mark.parametrize("command", ["render", "keys encrypt"])
def test_a_pre_created_temporary_name_is_never_opened(
        project: tuple[Path, dict[str, str]], tmp_path: Path, trap: str, command: str) -> None:
    """In a directory others can write, the temporary beside OUT must not be a name they
    could create first: a file they hold open reads the secret as it is written, a FIFO
    hangs the write. Here the name derived from the process id is taken before the write."""
    root, environ = project
    shared = tmp_path / "shared"
    shared.mkdir()
    out = shared / "app.conf"
    if command == "render":
        argv = ["render", "app.conf.j2", "-o", str(out), "--env", "prod"]
    else:
        subprocess.run([VAULTLINE, "keys", "create", "enc", "--purpose", "encryption"],
                       cwd=root, env=environ, check=True, capture_output=True, timeout=60)
        argv = ["keys", "encrypt", "enc", "--in", "app.conf.j2", "--out", str(out)]
    # The process's pid is only known inside it: plant the name there, then run the CLI.
    script = (
        "import os, sys\n"
        "from vaultline.cli import main\n"
        f"shared, trap = {str(shared)!r}, {trap!r}\n"
        "name = os.path.join(shared, f'.app.conf.{os.getpid()}.tmp')\n"
        "watcher = None\n"
        "if trap == 'fifo':\n"
        "    os.mkfifo(name)\n"
        "else:\n"
        "    open(name, 'w').close()\n"
        "    os.chmod(name, 0o666)\n"
        "    watcher = os.open(name, os.O_RDONLY)\n"
        f"code = main({argv!r})\n"
        "leaked = watcher is not None and os.read(watcher, 1 << 16)\n"
        "print('LEAKED' if leaked else 'CLEAN', code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=environ, text=True,
                          capture_output=True, timeout=30)
    assert done.stdout.split() == ["CLEAN", "0"], done.stdout + done.stderr
    if command == "render":
        assert out.read_text() == f"db={SECRET}\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_render_to_a_symlink_replaces_the_link_not_its_target(
        project: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, environ = project
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    (root / "out.conf").symlink_to(elsewhere)
    (root / "dangling.conf").symlink_to(tmp_path / "nowhere" / "created.conf")
    for name in ("out.conf", "dangling.conf"):
        done = run(root, environ, "render", "app.conf.j2", "-o", name, "--env", "prod")
        assert done.returncode == 0, done.stderr
        assert not (root / name).is_symlink() and (root / name).read_text() == f"db={SECRET}\n"
    assert elsewhere.read_text() == "keep me\n"
    assert not (tmp_path / "nowhere").exists()


def test_render_to_a_stream_writes_the_stream_and_leaves_no_file(
        project: tuple[Path, dict[str, str]]) -> None:
    """``-o /dev/stdout`` names a stream: replacing the link would leave the secret in a
    regular file (and, run as root, replace /dev/stdout itself)."""
    root, environ = project
    (root / "stdout").symlink_to("/proc/self/fd/1")
    done = run(root, environ, "render", "app.conf.j2", "-o", "stdout", "--env", "prod")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"db={SECRET}\n"
    assert (root / "stdout").is_symlink()


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(
        project: tuple[Path, dict[str, str]]) -> None:
    root, environ = project
    os.mkfifo(root / "env.example")  # committed where env-example writes by default
    done = run(root, environ, "env", "example", timeout=20)
    assert "env.example: cannot write: a FIFO with no reader" in one_error_line(done, 2)


def test_a_fifo_with_a_reader_gets_the_output(project: tuple[Path, dict[str, str]]) -> None:
    root, environ = project
    os.mkfifo(root / "pipe")
    with fifo_reader(root / "pipe") as received:
        done = run(root, environ, "render", "app.conf.j2", "-o", "pipe", "--env", "prod")
    assert done.returncode == 0, done.stderr
    assert b"".join(received) == f"db={SECRET}\n".encode()
    assert stat.S_ISFIFO(os.lstat(root / "pipe").st_mode)


@pytest.mark.parametrize("command", [
    ("env", "example"),
    ("env", "example", "-o", "names.env"),
    ("policy", "generate", "--env", "dev", "-o", "names.env"),
    ("inventory", ".", "-o", "names.env"),
    ("scan", "vaultline.yaml", "-o", "names.env"),
])
def test_outputs_never_write_through_a_committed_symlink(
        project: tuple[Path, dict[str, str]], tmp_path: Path, command: tuple[str, ...]) -> None:
    """A cloned repository chooses where its symlinks point (~/.bashrc, an authorized_keys
    file): a command writing its output there must replace the link, not the target."""
    root, environ = project
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("# mine\n")
    name = command[command.index("-o") + 1] if "-o" in command else "env.example"
    (root / name).symlink_to(victim)
    done = run(root, environ, *command)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    assert victim.read_text() == "# mine\n"
    assert not (root / name).is_symlink() and (root / name).stat().st_size > 0


def test_update_baseline_never_writes_through_a_committed_temporary(
        project: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, environ = project
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("# mine\n")
    (root / "leak.txt").write_text("aws_secret = AKIAIOSFODNN7EXAMPLQ\n")
    (root / ".vaultline-baseline.json.tmp").symlink_to(victim)
    done = run(root, environ, "scan", ".", "--baseline", ".vaultline-baseline.json",
               "--update-baseline")
    assert "Traceback" not in done.stderr
    assert victim.read_text() == "# mine\n"
    assert '"findings"' in (root / ".vaultline-baseline.json").read_text()


def test_init_never_writes_through_symlinks(tmp_path: Path) -> None:
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir(parents=True)
    victim.write_text("# mine\n")
    root = tmp_path / "clone"
    (root / "env" / "dev").mkdir(parents=True)
    (root / ".gitignore").symlink_to(victim)
    environ = {**os.environ, **master_key_env(), "HOME": str(tmp_path / "home")}
    done = run(root, environ, "init", "--app", "shop", "--envs", "dev")
    assert ".gitignore is a symbolic link; vaultline init does not write through it" in \
        one_error_line(done, 2)
    assert victim.read_text() == "# mine\n"

    root = tmp_path / "clone2"
    (root / "env" / "dev").mkdir(parents=True)
    outside = tmp_path / "outside.yaml"
    (root / "env" / "dev" / "values.yaml").symlink_to(outside)
    done = run(root, environ, "init", "--app", "shop", "--envs", "dev")
    assert "values.yaml is a symbolic link to nothing" in one_error_line(done, 2)
    assert not outside.exists()


@pytest.mark.parametrize(("special", "message"), [
    ("fifo", ".gitignore: not a regular file (a FIFO)"),
    ("/dev/zero", ".gitignore is a symbolic link"),
])
def test_init_reads_gitignore_bounded(tmp_path: Path, special: str, message: str) -> None:
    root = tmp_path / "clone"
    root.mkdir()
    if special == "fifo":
        os.mkfifo(root / ".gitignore")
    else:
        (root / ".gitignore").symlink_to(special)
    environ = {**os.environ, **master_key_env(), "HOME": str(tmp_path / "home")}
    done = run(root, environ, "init", "--app", "shop", "--envs", "dev", timeout=20)
    assert message in one_error_line(done, 2)


def test_every_written_file_is_private_under_umask_000(
        project: tuple[Path, dict[str, str]]) -> None:
    root, environ = project
    for args in (("render", "app.conf.j2", "-o", "app.conf", "--env", "prod"),
                 ("env", "example", "-o", "names.env"),
                 ("resolve", "--env", "prod", "--format", "compose", "--secrets-dir",
                  "new/cs")):
        done = run(root, environ, *args, umask=0)
        assert done.returncode == 0, done.stderr
    for path in (root / "app.conf", root / "names.env",
                 root / "new" / "cs" / "CONNECTIONSTRINGS__PRIMARY"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for directory in (root / "new", root / "new" / "cs"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for path in (root / ".vaultline").rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_a_stream_swapped_for_a_link_to_a_file_is_not_written_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone who can write the directory swaps the FIFO that was checked for a symlink to a
    file of the user's (~/.bashrc) before it is opened: the output must not land in it."""
    from vaultline import _files
    from vaultline.errors import ConfigError

    victim = tmp_path / "bashrc"
    victim.write_text("export PATH=/usr/bin\n")
    target = tmp_path / "out"
    os.mkfifo(target)
    real_lstat = os.lstat

    def swap_after_stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        result = real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]
        if path == target and stat.S_ISFIFO(result.st_mode):
            target.unlink()
            target.symlink_to(victim)
        return result

    monkeypatch.setattr(_files.os, "lstat", swap_after_stat)
    with pytest.raises(ConfigError, match="changed while being opened"):
        _files.write_output(target, b"secret-names\n")
    assert victim.read_text() == "export PATH=/usr/bin\n"


@pytest.mark.parametrize("where", ["project", "/dev/shm"])
@pytest.mark.parametrize("target", ["fifo", "terminal"])
def test_a_link_to_someone_elses_stream_is_replaced_not_written_through(
        project: tuple[Path, dict[str, str]], tmp_path: Path, target: str, where: str) -> None:
    """A link planted where the output goes, to a FIFO another user reads (or a terminal),
    would hand them the rendered secrets: it is replaced like any other link, under /dev too
    (anyone can write /dev/shm)."""
    root, environ = project
    if where == "/dev/shm" and not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm on this machine")
    folder = Path(tempfile.mkdtemp(dir="/dev/shm")) if where == "/dev/shm" else root
    out = folder / "out.conf"
    if target == "fifo":
        stream = tmp_path / "elsewhere.fifo"
        os.mkfifo(stream)
    else:
        primary, secondary = os.openpty()
        stream = Path(os.ttyname(secondary))
    out.symlink_to(stream)
    command = ("render", "app.conf.j2", "-o", str(out), "--env", "prod")
    try:
        if target == "fifo":
            with fifo_reader(stream) as received:
                done = run(root, environ, *command)
            assert received == []
        else:
            try:
                done = run(root, environ, *command)
                os.set_blocking(primary, False)
                with pytest.raises(BlockingIOError):
                    os.read(primary, 1024)  # nothing reached the terminal
            finally:
                os.close(primary)
                os.close(secondary)
        assert done.returncode == 0, done.stderr
        assert not out.is_symlink() and out.read_text() == f"db={SECRET}\n"
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    finally:
        if where == "/dev/shm":
            shutil.rmtree(folder)
