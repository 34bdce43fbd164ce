"""Paths that vaultline.yaml names (includes, the store, app directories, provider, key and
anchor files): a path no file can have is refused at its line, through the real CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env, vaultline

PROJECT = "version: 1\napp: demo\nenvironments: [prod]\n"
NUL = "holds a NUL byte, which no file path can hold; remove it"
RESOLVE = ("resolve", "--env", "prod", "--format", "json")

# (vaultline.yaml, command, the one-line error)
REFUSED = [
    (PROJECT + 'include: "shared\\0/vaultline.yaml"\n', RESOLVE,
     f"vaultline.yaml:4: include 'shared\\x00/vaultline.yaml' {NUL}"),
    (PROJECT + 'include: [a.yaml, "b\\0"]\n', RESOLVE, f"vaultline.yaml:4: include 'b\\x00' {NUL}"),
    (PROJECT + 'store: {path: "state\\0"}\n', RESOLVE, f"vaultline.yaml:4: store.path {NUL}"),
    (PROJECT + "store:\n  path: [a]\n", RESOLVE,
     "vaultline.yaml:5: store.path must be a path (a non-empty string)"),
    ("version: 1\nenvironments: [prod]\napps:\n  demo: \"svc\\0\"\n", RESOLVE,
     f"vaultline.yaml:4: app 'demo': its directory {NUL}"),
    (PROJECT + 'providers:\n  d: {type: dotenv, path: "x\\0.env"}\n', RESOLVE,
     f"vaultline.yaml:5: provider 'd': option 'path' {NUL}"),
    (PROJECT + "providers:\n  v:\n    type: vault\n    url: http://127.0.0.1:1\n    auth:\n"
     '      method: token\n      token_file: "t\\0"\n', RESOLVE,
     f"vaultline.yaml:10: provider 'v': option 'auth.token_file' {NUL}"),
    (PROJECT + 'audit:\n  anchor: {to: "file:/tmp/a\\0b"}\n', RESOLVE,
     f"{{root}}/vaultline.yaml:5: audit.anchor.to {NUL}"),
    (PROJECT + 'keys:\n  backends:\n    transit: {token_file: "t\\0"}\n', ("keys", "list"),
     f"vaultline.yaml:6: keys.backends.transit.token_file {NUL}"),
]


@pytest.mark.parametrize(("project", "argv", "message"), REFUSED,
                         ids=[m.split(": ", 1)[1][:40] for _, _, m in REFUSED])
def test_a_path_no_file_can_have_is_refused_at_its_line(tmp_path: Path, project: str,
                                                        argv: tuple[str, ...], message: str) -> None:
    environ = master_key_env()
    make_project(tmp_path, {"vaultline.yaml": project, "env/prod/secrets.yaml": ""},
                 environ=environ)
    done = vaultline(tmp_path, environ, *argv)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"vaultline: error: {message.format(root=tmp_path)}\n"


@pytest.mark.parametrize(("target", "kind"), [("/dev/zero", "a device"), ("pipe", "a FIFO")])
def test_an_include_that_is_not_a_file_says_what_it_is(tmp_path: Path, target: str,
                                                       kind: str) -> None:
    environ = master_key_env()
    make_project(tmp_path, {"vaultline.yaml": PROJECT + f"include: {target}\n"}, environ=environ)
    os.mkfifo(tmp_path / "pipe")
    done = vaultline(tmp_path, environ, *RESOLVE)
    assert done.returncode == 2
    assert done.stderr == (f"vaultline: error: vaultline.yaml:4: include {target!r}: {target} "
                           f"is {kind}; include a project file "
                           "(vaultline.yaml or the directory holding one)\n")
