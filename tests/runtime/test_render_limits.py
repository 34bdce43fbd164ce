"""A hostile template through the real CLI ends in one clear error, quickly and in bounded
memory: the sandbox refuses internals, the render limits refuse work (tests/hostile.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import hostile

# The project's one secret from the process environment, so nothing needs storing first.
_PROJECT = {
    "vaultline.yaml": "version: 1\napp: nexus-engine\nenvironments: [prod]\n"
                      "providers:\n  proc: {type: env}\n",
    "env/prod/secrets.yaml": "Db:Password: proc:CANARY_PASSWORD\n",
}
CANARY = "s3cret-canary-password"


def _template(text: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for name, content in _PROJECT.items():
            (root / name).write_text(content)
        (root / "app.conf.j2").write_text(f"password={{{{ Db.Password }}}}\n{text}\n")
    return make


def _fifo_template(root: Path) -> None:
    _template("")(root)
    (root / "app.conf.j2").unlink()
    os.mkfifo(root / "app.conf.j2")


_RENDER = ("render", "app.conf.j2", "-o", "out.conf", "--env", "prod")
_MEMORY = "app.conf.j2:2: the template needs more than 256 MiB of memory"
_CPU = "app.conf.j2:2: the template used more than 3s of CPU"
_OUTPUT = "app.conf.j2: the template's output is larger than 16 MiB"
CASES = [
    hostile.Case("string times ten billion", _template("{{ 'x' * 10**10 }}"), _RENDER, 2, _MEMORY),
    hostile.Case("a power of ten billion bits", _template("{{ 2 ** (10**10) }}"), _RENDER, 2,
                 "app.conf.j2"),
    hostile.Case("centred in a billion", _template("{{ 'x'|center(10**9) }}"), _RENDER, 2, _MEMORY),
    hostile.Case("format width", _template("{{ '%0999999999d' % 1 }}"), _RENDER, 2, _MEMORY),
    hostile.Case("str.format width", _template("{{ '{:>999999999}'.format(1) }}"), _RENDER, 2,
                 _MEMORY),
    hostile.Case("doubled in a loop", _template(
        "{% set ns = namespace(x='x') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}"
        "{% endfor %}{{ ns.x|length }}"), _RENDER, 2, _MEMORY),
    hostile.Case("nested ranges", _template(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
        _RENDER, 2, _CPU),
    hostile.Case("output from a loop", _template(
        "{% for i in range(100000) %}{{ 'x' * 200 }}{% endfor %}"), _RENDER, 2, _OUTPUT),
    hostile.Case("output in one-number pieces", _template(
        "{% for i in range(20000) %}{% for j in range(1000) %}{{ j }}{% endfor %}{% endfor %}"),
        _RENDER, 2, _OUTPUT),
    hostile.Case("recursive macro", _template(
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), _RENDER, 2,
        "app.conf.j2:2: template failed: RecursionError"),
    hostile.Case("template is a FIFO", _fifo_template, _RENDER, 2,
                 "app.conf.j2: not a regular file (a FIFO)"),
    hostile.Case("run --render of a FIFO", _fifo_template,
                 ("run", "--env", "prod", "--render", "app.conf.j2:out.conf", "--", "true"), 2,
                 "app.conf.j2: not a regular file (a FIFO)"),
    hostile.Case("run --render of a bomb", _template("{{ 'x' * 10**10 }}"),
                 ("run", "--env", "prod", "--render", "app.conf.j2:out.conf", "--", "true"), 2,
                 _MEMORY),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_template(case: hostile.Case, tmp_path: Path) -> None:
    root = tmp_path / "project"
    environ = {**hostile.prepare(root), "CANARY_PASSWORD": CANARY}
    outcome = hostile.run_case(case, root, environ)
    assert "Traceback" not in outcome.stderr
    assert outcome.code == case.code, outcome.stderr
    assert case.message in outcome.stderr
    assert outcome.stderr.startswith("vaultline: error: ")
    assert len(outcome.stderr.splitlines()) == 1
    assert CANARY not in outcome.stderr
    assert not (root / "out.conf").exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".out.conf")] == []
    assert not list(root.glob("core*"))  # a render stopped for its CPU dumps no bundle
    assert outcome.cpu_seconds < hostile.TIME_LIMIT
    assert outcome.seconds < 6 * hostile.TIME_LIMIT
    assert outcome.peak_kib < hostile.RSS_LIMIT_KIB


def test_a_template_within_the_limits_renders(tmp_path: Path) -> None:
    root = tmp_path / "project"
    environ = {**hostile.prepare(root), "CANARY_PASSWORD": CANARY}
    case = hostile.Case("ordinary", _template("{% for i in range(3) %}{{ i }}{% endfor %}"),
                        _RENDER, 0, "")
    outcome = hostile.run_case(case, root, environ)
    assert outcome.code == 0, outcome.stderr
    assert (root / "out.conf").read_text() == f"password={CANARY}\n012\n"
