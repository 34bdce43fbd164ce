"""The rotate: section: every mistake is one clear error naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factory import write
from vaultline.errors import ConfigError
from vaultline.project.model import Project
from vaultline.rotate import config
from vaultline.rotate.config import Strategy

HEAD = """
    version: 1
    app: nexus-engine
    environments: [prod]
    rotate:
"""


def _load(tmp_path: Path, body: str) -> config.RotateConfig:
    write(tmp_path, {"vaultline.yaml": HEAD + body})
    return config.load(Project.load(tmp_path))


def test_a_full_section_parses(tmp_path: Path) -> None:
    specs = _load(tmp_path, """
      ConnectionStrings:Primary:
        class: db-credentials
        strategy: alternating-users
        target: {type: postgres, admin: local:shared/pg-admin, users: [app_a, app_b], grace: 1h}
        mirrors: [local:mirror/primary]
      Api:WebhookToken: {class: api-key, strategy: dual, generate: token:32}
    """).specs
    primary = specs["ConnectionStrings:Primary"]
    assert primary.strategy is Strategy.ALTERNATING_USERS and primary.target is not None
    assert primary.target.users == ("app_a", "app_b") and primary.grace is not None
    assert primary.grace.total_seconds() == 3600 and str(primary.mirrors[0]) == "local:mirror/primary"
    assert specs["Api:WebhookToken"].generator.kind == "token"


@pytest.mark.parametrize("body, message, line", [
    ("      A:B: {class: api-key, strategy: triple}\n", "strategy 'triple' is not one of", 5),
    ("      A:B: {strategy: dual}\n", "'class' is required", 5),
    ("      A:B: {class: api-key, strategy: dual, colour: red}\n", "unknown field 'colour'", 5),
    ("      A:B: {class: db, strategy: alternating-users}\n", "needs a target", 5),
    ("      A:B: {class: db, strategy: alternating-users, target: {type: postgres, admin: local:x, "
     "users: [a]}}\n", "exactly two roles", 5),
    ("      A:B: {class: db, strategy: single-user, target: {type: mysql, admin: local:x}}\n",
     "not supported", 5),
    ("      A:B: {class: api-key, strategy: dual, generate: 'password:3'}\n", "generate", 5),
    ("      A:B: {class: api-key, strategy: dual, mirrors: [nowhere:x]}\n", "unknown provider", 5),
])
def test_mistakes_name_the_line(tmp_path: Path, body: str, message: str, line: int) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        _load(tmp_path, body)
    assert caught.value.line == line and str(caught.value.file).endswith("vaultline.yaml")


def test_an_unknown_key_names_the_rotated_ones(tmp_path: Path) -> None:
    rotate = _load(tmp_path, "      Api:Token: {class: api-key, strategy: dual}\n")
    with pytest.raises(ConfigError, match="rotated keys: Api:Token"):
        rotate.spec("Api:Other")
