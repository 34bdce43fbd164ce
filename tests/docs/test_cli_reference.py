"""docs/reference/cli.md is exactly what the click app prints, so the reference cannot drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "docs/reference/generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_cli_reference_is_what_the_generator_writes() -> None:
    generator = _generator()
    committed = (ROOT / "docs/reference/cli.md").read_text()
    assert committed == generator.render(), f"docs/reference/cli.md is stale: run `{generator.REGENERATE}`"


def test_the_reference_has_every_command_and_subcommand() -> None:
    text = _generator().render()
    for heading in ("## `vaultline resolve`", "### `vaultline audit verify`", "### `vaultline keys status`",
                    "### `vaultline override set`", "### `vaultline policy lint`"):
        assert heading in text
    assert "-h, --help" in text


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    generator = _generator()
    generator.TARGET = tmp_path / "cli.md"
    generator.TARGET.write_text("# stale\n")
    assert generator.main(["--check"]) == 1
    generator.TARGET.write_text(generator.render())
    assert generator.main(["--check"]) == 0
