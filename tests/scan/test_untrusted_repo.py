"""Scanning a repository someone else prepared: its own git configuration runs nothing.

Each case sets, in the scanned repository's ``.git/config``, settings that make git run a
program; the program would create a marker file. Every scan that runs git must leave no
marker and still find the planted AWS keys (the settings are overridden, git still works).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.scan.conftest import Repo, run_vaultline, secret

SCANS = (("scan", "--no-hygiene"), ("scan",), ("scan", "--staged"), ("scan", "--history"))
HOOKS = ("pre-commit", "post-commit", "post-checkout", "post-merge", "post-index-change",
         "reference-transaction", "pre-auto-gc", "fsmonitor-watchman", "post-rewrite")


class Hostile:
    """A repository with a committed key, a staged key, and a program that leaves a marker."""

    def __init__(self, repo: Repo, tmp_path: Path):
        self.repo = repo
        self.marker = tmp_path / "marker"
        self.bin = tmp_path / "bin"  # put first on PATH: what a remote helper lookup finds
        self.bin.mkdir()
        self.program = self.executable(tmp_path / "program")
        repo.write("config.env", f"AWS_ACCESS_KEY_ID={secret('aws-access-key-id', 1)}\n")
        repo.write("notes.txt", "nothing here\n")
        repo.commit("config")
        repo.write("deploy.env", f"AWS_ACCESS_KEY_ID={secret('aws-access-key-id', 2)}\n")
        repo.git("add", "deploy.env")

    def executable(self, path: Path) -> str:
        path.write_text(f"#!/bin/sh\ntouch '{self.marker}'\nexit 1\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return str(path)

    def config(self, key: str, value: str) -> None:
        self.repo.git("config", key, value)

    def drop_blob(self, path: str) -> None:
        """Make the committed blob of ``path`` missing, as in a partial clone."""
        oid = self.repo.git("rev-parse", f"HEAD:{path}")
        (self.repo.root / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
        self.config("core.repositoryFormatVersion", "1")
        self.config("extensions.partialClone", "origin")
        self.config("remote.origin.promisor", "true")

    def scan(self, *args: str) -> tuple[int, str, str]:
        env = {"PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}"}
        done = run_vaultline(*args, "--format", "json", cwd=self.repo.root, env=env)
        return done.returncode, done.stdout, done.stderr


def fsmonitor(h: Hostile) -> None:
    h.config("core.fsmonitor", h.program)  # read on every index load


def hooks(h: Hostile) -> None:
    directory = h.repo.root / ".git" / "evil-hooks"
    directory.mkdir()
    for name in HOOKS:
        h.executable(directory / name)
    h.config("core.hooksPath", str(directory))


def filters_and_diff_drivers(h: Hostile) -> None:
    (h.repo.root / ".gitattributes").write_text("* filter=evil diff=evil\n")
    for key in ("filter.evil.clean", "filter.evil.smudge", "filter.evil.process",
                "diff.evil.textconv", "diff.evil.command", "diff.external"):
        h.config(key, h.program)


def interactive_programs(h: Hostile) -> None:
    for key in ("core.pager", "pager.log", "pager.diff", "core.editor", "sequence.editor",
                "core.askPass", "gpg.program"):
        h.config(key, h.program)
    h.config("credential.helper", f"!{h.program}")


def signed_commits(h: Hostile) -> None:
    """``log.showSignature`` makes ``git log`` run the signature program on a signed commit."""
    header, _, message = h.repo.git("cat-file", "commit", "HEAD").partition("\n\n")
    signature = "gpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----"
    path = h.repo.root / ".git" / "signed-commit"
    path.write_text(f"{header}\n{signature}\n\n{message}\n")
    signed = h.repo.git("hash-object", "-t", "commit", "-w", str(path))
    h.repo.git("update-ref", "refs/heads/main", signed)  # HEAD, signed
    h.config("log.showSignature", "true")
    for key in ("gpg.program", "gpg.openpgp.program", "gpg.ssh.program", "gpg.x509.program"):
        h.config(key, h.program)


def lazy_fetch_ext_url(h: Hostile) -> None:
    h.drop_blob("notes.txt")
    h.config("remote.origin.url", f"ext::{h.program}")
    h.config("protocol.ext.allow", "always")


def lazy_fetch_ssh_command(h: Hostile) -> None:
    h.drop_blob("notes.txt")
    h.config("remote.origin.url", "ssh://git.example.invalid/repo.git")
    h.config("core.sshCommand", h.program)
    h.config("protocol.allow", "always")


def lazy_fetch_remote_helper(h: Hostile) -> None:
    h.drop_blob("notes.txt")
    h.executable(h.bin / "git-remote-evil")
    h.config("remote.origin.url", "anything")
    h.config("remote.origin.vcs", "evil")
    h.config("protocol.evil.allow", "always")


CASES: list[Callable[[Hostile], None]] = [
    fsmonitor, hooks, filters_and_diff_drivers, interactive_programs, signed_commits,
    lazy_fetch_ext_url, lazy_fetch_ssh_command, lazy_fetch_remote_helper,
]


@pytest.mark.parametrize("scan", SCANS, ids=" ".join)
@pytest.mark.parametrize("configure", CASES, ids=lambda c: c.__name__)
def test_the_repository_configuration_runs_nothing(repo: Repo, tmp_path: Path,
                                                   configure: Callable[[Hostile], None],
                                                   scan: tuple[str, ...]) -> None:
    hostile = Hostile(repo, tmp_path)
    configure(hostile)
    code, out, err = hostile.scan(*scan)
    assert not hostile.marker.exists(), f"{configure.__name__} ran a program: {err}"
    assert code == 1, err
    rules = [f["rule_id"] for f in json.loads(out)["findings"]]
    # The tree holds both keys; the index adds the staged one; history holds the committed one.
    assert rules.count("aws-access-key-id") == (1 if scan[1:2] in (("--staged",), ("--history",)) else 2), rules


def test_a_blob_a_partial_clone_lacks_is_counted_not_fetched(repo: Repo, tmp_path: Path) -> None:
    hostile = Hostile(repo, tmp_path)
    lazy_fetch_ext_url(hostile)
    code, out, err = hostile.scan("scan", "--history")
    assert code == 1 and not hostile.marker.exists()
    assert json.loads(out)["stats"]["blobs_missing"] == 1
    assert "1 blob(s) not in the repository (a partial clone), not scanned" in err


def test_git_gets_no_credentials_prompts_or_transports(repo: Repo, tmp_path: Path) -> None:
    hostile = Hostile(repo, tmp_path)
    dump = tmp_path / "git-environment"
    wrapper = hostile.bin / "git"
    wrapper.write_text(f"#!/bin/sh\nenv -0 > '{dump}'\nexec '{shutil.which('git')}' \"$@\"\n")
    wrapper.chmod(0o755)
    credentials = {"VAULTLINE_MASTER_KEY": "canary-master-key", "VAULT_TOKEN": "hvs.canary",
                   "AWS_SECRET_ACCESS_KEY": "canary/aws/secret", "AZURE_CLIENT_SECRET": "canary~az"}
    env = {**credentials, "PATH": f"{hostile.bin}{os.pathsep}{os.environ['PATH']}"}
    done = run_vaultline("scan", "--staged", cwd=repo.root, env=env)
    assert done.returncode == 1, done.stderr
    seen = dict(entry.split("=", 1) for entry in dump.read_text().split("\0") if entry)
    assert set(credentials) & set(seen) == set()
    assert seen["GIT_ALLOW_PROTOCOL"] == "" and seen["GIT_TERMINAL_PROMPT"] == "0"
    assert seen["GIT_ASKPASS"] == ""


@pytest.mark.parametrize(("replace", "scans"), [
    ("config", SCANS),
    ("index", (("scan",), ("scan", "--staged"))),
    ("object", (("scan", "--history"),)),
])
def test_a_fifo_in_the_git_directory_stops_git_with_an_error(repo: Repo, tmp_path: Path,
                                                             replace: str,
                                                             scans: tuple[tuple[str, ...], ...]) -> None:
    Hostile(repo, tmp_path)
    git_dir = repo.root / ".git"
    target = git_dir / replace
    if replace == "object":
        oid = repo.git("rev-parse", "HEAD:config.env")
        target = git_dir / "objects" / oid[:2] / oid[2:]
    target.unlink()
    os.mkfifo(target)  # no writer: git's open() of it never returns
    for scan in scans:
        done = run_vaultline(*scan, cwd=repo.root, env={"VAULTLINE_GIT_TIMEOUT": "1"}, timeout=60)
        assert done.returncode == 2, (scan, done.stderr)
        message = done.stderr.strip().splitlines()
        assert len(message) == 1 and "wrote nothing for 1 s" in message[0], (scan, message)
        assert "VAULTLINE_GIT_TIMEOUT" in message[0]


@pytest.mark.parametrize(("make", "kind"), [
    (os.mkfifo, "a FIFO"),
    (lambda path: path.symlink_to(os.devnull), "a device"),
])
def test_a_path_that_is_a_fifo_or_device_is_an_error(tmp_path: Path, make: Callable[[Path], None],
                                                     kind: str) -> None:
    path = tmp_path / "stream"
    make(path)
    done = run_vaultline("scan", str(path), cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"vaultline: error: {path} is {kind}; give files and directories"


def test_a_bad_timeout_is_a_usage_error(repo: Repo, tmp_path: Path) -> None:
    Hostile(repo, tmp_path)
    done = run_vaultline("scan", "--staged", cwd=repo.root, env={"VAULTLINE_GIT_TIMEOUT": "soon"})
    assert done.returncode == 2
    assert "VAULTLINE_GIT_TIMEOUT: give a number of seconds above 0, not 'soon'" in done.stderr
