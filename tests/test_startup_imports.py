"""What the hot paths import, in a fresh interpreter: heavy modules only when they are used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factory import make_project, master_key_env
from vaultline.store import EmbeddedStore


def _modules(code: str, cwd: Path, environ: dict[str, str]) -> set[str]:
    """The modules loaded by ``code`` in a fresh interpreter (`json` is imported after it, to
    write them to a file: `run` hands its standard output to the child)."""
    report = cwd / "modules.json"
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport json, sys\n"
                          f"open({str(report)!r}, 'w').write(json.dumps(sorted(sys.modules)))"],
                         cwd=cwd, env={**os.environ, **environ}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(json.loads(report.read_text()))


def _local_project(root: Path) -> dict[str, str]:
    environ = master_key_env()
    make_project(root, {
        "vaultline.yaml": """
            version: 1
            app: nexus-engine
            environments: [dev, prod]
            defaults:
              Logging:Level: Information
              Api:Timeout: 30
            schema:
              ConnectionStrings:Primary: {secret: true, required: true, format: url}
        """,
        "env/prod/values.yaml": "Logging:Level: Warning\nPorts: [80, 443]\n",
    }, environ=environ)
    with EmbeddedStore.open(root / ".vaultline", environ=environ) as store:
        store.put("nexus-engine/prod/ConnectionStrings/Primary", b"postgres://db/prod")
    return environ


LOAD = ("import vaultline\n"
        "bundle = vaultline.load(env='prod')\n"
        "assert bundle['ConnectionStrings:Primary'] == 'postgres://db/prod', bundle\n")


def test_a_warm_load_imports_no_yaml(tmp_path: Path) -> None:
    environ = _local_project(tmp_path)
    cold = _modules(LOAD, tmp_path, environ)
    assert "yaml" in cold  # the first load parses every file, and caches what it parsed
    warm = _modules(LOAD, tmp_path, environ)
    assert {"yaml", "vaultline.project._yaml", "dataclasses"} & warm == set()


def test_an_edited_project_file_is_parsed_again(tmp_path: Path) -> None:
    environ = _local_project(tmp_path)
    _modules(LOAD, tmp_path, environ)
    project = tmp_path / "vaultline.yaml"
    project.write_text(project.read_text().replace("Timeout: 30", "Timeout: 31"))
    code = LOAD + "assert bundle['Api:Timeout'] == 31, bundle\n"
    assert "yaml" in _modules(code, tmp_path, environ)
    assert "yaml" not in _modules(code, tmp_path, environ)


def test_help_imports_neither_the_store_nor_the_project_model(tmp_path: Path) -> None:
    code = ("import contextlib, io\n"
            "from vaultline.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    assert main(['--help']) == 0\n"
            "assert 'resolve' in out.getvalue()\n")
    loaded = _modules(code, tmp_path, {})
    assert "vaultline.cli.init" in loaded  # --help lists every command: their modules load
    heavy = {"yaml", "vaultline.project.model", "vaultline.store.embedded", "cryptography",
             "sqlite3", "hashlib", "traceback"}
    assert heavy & loaded == set()


@pytest.mark.parametrize("argv", [["resolve", "--env", "prod"],
                                  ["run", "--env", "prod", "--", sys.executable, "-c", "pass"]])
def test_warm_resolve_and_run_import_no_yaml(tmp_path: Path, argv: list[str]) -> None:
    environ = _local_project(tmp_path)
    code = ("import contextlib, io\n"
            "from vaultline.cli import main\n"
            "try:\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            f"        code = main({argv!r})\n"
            "except SystemExit as exc:  # run exits with the child's code\n"
            "    code = exc.code\n"
            "assert code == 0, code\n")
    assert "yaml" in _modules(code, tmp_path, environ)
    warm = _modules(code, tmp_path, environ)
    assert {"yaml", "vaultline.project._yaml"} & warm == set()
    # Templates, the lease book and dataclasses only when used (--render, a dynamic secret).
    assert {"vaultline.output.render", "pickle", "vaultline.resolve.leases",
            "dataclasses"} & warm == set()
