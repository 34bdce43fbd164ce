"""docs/reference/cli.md and errors.md are exactly what the code produces: they cannot drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from vaultline import errors

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_generator",
                                                  ROOT / "docs/reference/generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


@pytest.mark.parametrize("name", sorted(GENERATOR.PAGES))
def test_the_committed_reference_is_what_the_generator_writes(name: str) -> None:
    committed = (ROOT / "docs/reference" / name).read_text()
    assert committed == GENERATOR.PAGES[name](), \
        f"docs/reference/{name} is out of date: run `{GENERATOR.REGENERATE}`"


def test_the_cli_reference_has_every_command_and_subcommand() -> None:
    text = GENERATOR.render_cli()
    for heading in ("## `vaultline resolve`", "## `vaultline run`", "### `vaultline audit verify`",
                    "### `vaultline keys status`", "### `vaultline override set`",
                    "### `vaultline policy lint`"):
        assert heading in text
    assert "-h, --help" in text


def test_the_errors_reference_has_every_class_with_its_exit_code() -> None:
    text = GENERATOR.render_errors()
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, errors.VaultlineError)]
    assert len(classes) > 20
    for cls in classes:
        assert f"`{cls.__name__}` | {cls.exit_code} | " in text, cls.__name__
    assert "`AuditDamageWarning` | a command found the audit log damaged" in text


def test_check_mode_names_the_stale_file_and_the_command(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert GENERATOR.main([], tmp_path) == 0
    assert GENERATOR.main(["--check"], tmp_path) == 0
    (tmp_path / "errors.md").write_text("# stale\n")
    assert GENERATOR.main(["--check"], tmp_path) == 1
    assert "errors.md out of date: run `python docs/reference/generate.py`" in capsys.readouterr().err
