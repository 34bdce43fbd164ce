"""Files vaultline reads, attacked through the real CLI: the parse cache replaced by a FIFO
or a link to /dev/zero, aliased text, ignore files and templates that are not files. Each
case is bounded in time and memory (tests/hostile.py measures the child)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import hostile
from tests.hostile import Case

_RESOLVE = ("resolve", "--env", "prod")


def _cache_slots(replace: str) -> Callable[[Path], None]:
    """Warm the cache with a real resolve, then replace every cache file."""
    def make(root: Path) -> None:
        environ = {**os.environ, "VAULTLINE_MASTER_KEY": _key(root)}
        subprocess.run([hostile.VAULTLINE, "env", "example", "-o", "-"], cwd=root, env=environ,
                       capture_output=True, check=True, timeout=60)
        slots = sorted((root / ".vaultline" / "cache").glob("*.json"))
        assert len(slots) >= 3  # vaultline.yaml and both packs
        for slot in slots:
            slot.unlink()
            if replace == "fifo":
                os.mkfifo(slot)
            else:
                slot.symlink_to(replace)
    return make


def _key(root: Path) -> str:
    return (root / "master.key").read_text()


def _with_secret(step: Callable[[Path], None]) -> Callable[[Path], None]:
    """``step``, in a project whose secret is stored (so a command gets past resolving)."""
    def make(root: Path) -> None:
        environ = {**os.environ, "VAULTLINE_MASTER_KEY": _key(root)}
        subprocess.run([hostile.VAULTLINE, "secret", "put", "ConnectionStrings:Primary",
                        "--env", "prod"], cwd=root, env=environ, input=b"v4lue-xyz",
                       capture_output=True, check=True, timeout=60)
        step(root)
    return make


def _aliased_text(times: int) -> Callable[[Path], None]:
    long = "x" * 100_000
    return hostile._write("env/prod/values.yaml", f"Big: &a {long}\nMany: ["
                          + ", ".join(["*a"] * times) + "]\n")


def _ignore(kind: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / "sub").mkdir()
        (root / "sub" / "a.txt").write_text("hello\n")
        if kind == "fifo":
            os.mkfifo(root / "sub" / ".gitignore")
        else:
            (root / "sub" / ".gitignore").symlink_to(kind)
    return make


def _include_lattice(levels: int) -> Callable[[Path], None]:
    """Two files per level, each including both of the next level: 2**levels paths."""
    def make(root: Path) -> None:
        (root / "vaultline.yaml").write_text(
            (root / "vaultline.yaml").read_text() + "include: [a0.yaml, b0.yaml]\n")
        for i in range(levels):
            below = f"include: [a{i + 1}.yaml, b{i + 1}.yaml]\n" if i + 1 < levels else ""
            for name in ("a", "b"):
                (root / f"{name}{i}.yaml").write_text(below + f"defaults: {{{name.upper()}{i}: v}}\n")
    return make


def _include_chain(length: int) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / "vaultline.yaml").write_text(
            (root / "vaultline.yaml").read_text() + "include: i0.yaml\n")
        for i in range(length):
            below = f"include: i{i + 1}.yaml\n" if i + 1 < length else ""
            (root / f"i{i}.yaml").write_text(below)
    return make


CASES: list[Case] = [
    Case("a policy holding a 1 MB path", hostile._write(
        "p.hcl", 'path "' + "a" * 1_000_000 + '" { capabilities = ["read"] }\n'),
        ("policy", "lint", "p.hcl"), 1, ""),  # a POL000 parse-error finding
    Case("a policy nested 50,000 blocks deep", hostile._write(
        "p.hcl", 'path "a" ' + "{ x " * 50_000 + "}" * 50_000 + "\n"),
        ("policy", "lint", "p.hcl"), 1, ""),
    Case("a manifest of four million empty documents",
         hostile._write("k8s.yaml", "---\n" * 4_000_000), ("inventory", "k8s.yaml"), 0, ""),
    Case("a templated manifest of 300,000 documents",
         hostile._write("k8s.yaml", "---\nkind: Secret\nmetadata: {name: '{{ x }}'}\n" * 300_000),
         ("inventory", "k8s.yaml", "--format", "json"), 0, ""),
    Case("includes in a lattice of 50 files", _include_lattice(25), ("env", "example", "-o", "-"),
         0, ""),
    Case("a chain of 3,000 includes", _include_chain(3000), ("env", "example", "-o", "-"), 2,
         "i31.yaml:1: includes are nested more than 32 files deep"),
    # A cache file is a miss, parsed again from the committed file: same output as cold.
    Case("parse cache files are FIFOs", _cache_slots("fifo"), ("env", "example", "-o", "-"), 0,
         ""),
    Case("parse cache files link to /dev/zero", _cache_slots("/dev/zero"),
         ("env", "example", "-o", "-"), 0, ""),
    Case("a long string aliased 5,000 times", _aliased_text(5000), _RESOLVE, 2,
         "env/prod/values.yaml:1: invalid YAML: aliases (*name) expand the document by more "
         "than 1 MiB of text; write the values out"),
    Case("a .gitignore in the tree is a FIFO", _ignore("fifo"), ("scan", "sub"), 2,
         "sub/.gitignore: not a regular file (a FIFO)"),
    Case("a .gitignore in the tree links to /dev/zero", _ignore("/dev/zero"), ("scan", "sub"),
         2, "sub/.gitignore: not a regular file (a device)"),
    Case("a template is a FIFO", _with_secret(hostile._fifo("t.j2")), ("render", "t.j2", "-o", "out",
                                                         "--env", "prod"), 2,
         "t.j2: not a regular file (a FIFO)"),
    Case("an imported baseline is a FIFO", hostile._fifo(".gitleaksignore"),
         ("scan", "vaultline.yaml", "--import-baseline", ".gitleaksignore"), 2, "(a FIFO)"),
    Case("an imported baseline links to /dev/zero", hostile._link("b.json", "/dev/zero"),
         ("scan", "vaultline.yaml", "--import-baseline", "b.json"), 2, "(a device)"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_read(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "project"
    environ = hostile.prepare(root, case)
    (root / "master.key").write_text(environ["VAULTLINE_MASTER_KEY"])
    outcome = hostile.run_case(case, root, environ)
    assert "Traceback" not in outcome.stderr
    assert outcome.code == case.code, outcome.stderr
    assert case.message in outcome.stderr
    if case.code == 2:
        assert outcome.stderr.startswith("vaultline: error: ")
        assert outcome.stderr.count("\n") == 0, outcome.stderr
    assert outcome.cpu_seconds < hostile.TIME_LIMIT
    assert outcome.seconds < 6 * hostile.TIME_LIMIT
    assert outcome.peak_kib < hostile.RSS_LIMIT_KIB


def test_a_replaced_cache_gives_the_fresh_parse(tmp_path: Path) -> None:
    """What a command prints with its cache files turned into FIFOs is what it prints cold."""
    root = tmp_path / "project"
    environ = hostile.prepare(root)
    (root / "master.key").write_text(environ["VAULTLINE_MASTER_KEY"])
    cold = subprocess.run([hostile.VAULTLINE, "env", "example", "-o", "-"], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=60)
    _cache_slots("fifo")(root)
    warm = subprocess.run([hostile.VAULTLINE, "env", "example", "-o", "-"], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=30)
    assert cold.returncode == warm.returncode == 0, warm.stderr
    assert warm.stdout == cold.stdout and "CONNECTIONSTRINGS__PRIMARY=" in warm.stdout


def test_a_few_aliased_strings_still_load(tmp_path: Path) -> None:
    """A certificate shared by anchor between a few keys is far below the text limit."""
    root = tmp_path / "project"
    environ = hostile.prepare(root)
    pem = "-----BEGIN CERTIFICATE-----\\n" + "A" * 4000 + "\\n-----END CERTIFICATE-----"
    (root / "env/prod/values.yaml").write_text(
        f'Ca: &ca "{pem}"\n' + "".join(f"Svc{i}:Ca: *ca\n" for i in range(20)))
    done = subprocess.run([hostile.VAULTLINE, "secret", "put", "ConnectionStrings:Primary",
                           "--env", "prod"], cwd=root, env=environ, input="v", text=True,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([hostile.VAULTLINE, "resolve", "--env", "prod", "--format", "json"],
                          cwd=root, env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"Svc19"' in done.stdout and done.stdout.count("A" * 4000) == 21


def test_a_cache_written_under_older_limits_is_not_used(tmp_path: Path) -> None:
    """A cache file says what an earlier parse gave; when the parser's rules tighten (here
    the aliased-text limit), an authenticated file written before must be a miss, or a hit
    would accept what a fresh parse refuses."""
    import hashlib
    import json

    from tests.factory import make_project, master_key_env
    from vaultline.errors import ConfigError
    from vaultline.project import _packcache
    from vaultline.project.model import Project

    environ = master_key_env()
    make_project(tmp_path, environ=environ)
    long = "x" * 100_000
    values = tmp_path / "env" / "prod" / "values.yaml"
    values.write_text(f"Big: &a {long}\nMany: [" + ", ".join(["*a"] * 20) + "]\n")
    cache = tmp_path / ".vaultline" / "cache"
    key = _packcache._cache_key(cache, environ)
    assert key is not None
    slot = _packcache._slot(values, cache)
    # What the previous cache format held for this file: the rows its parse gave.
    payload = json.dumps({"v": 1, "digest": hashlib.sha256(values.read_bytes()).hexdigest(),
                          "rows": [["Big", long, 1], ["Many", [long] * 20, 2]]}).encode()
    _packcache._write(cache, slot, payload, key)
    with pytest.raises(ConfigError, match="expand the document by more than 1 MiB of text"):
        Project.load(tmp_path, environ=environ).pack("prod")


def test_a_file_included_twice_stays_below_both_includers(tmp_path: Path) -> None:
    """shared.yaml sits below a.yaml and b.yaml, which both include it: a.yaml's value wins
    over shared.yaml's even though b.yaml, included after a.yaml, includes shared.yaml too."""
    from tests.factory import make_project, master_key_env
    from vaultline.project.model import Project

    environ = master_key_env()
    make_project(tmp_path, {
        "vaultline.yaml": "version: 1\napp: x\nenvironments: [prod]\ninclude: [a.yaml, b.yaml]\n",
        "a.yaml": "include: shared.yaml\ndefaults: {Level: from-a}\n",
        "b.yaml": "include: shared.yaml\n",
        "shared.yaml": "defaults: {Level: from-shared, Other: shared}\n",
    }, environ=environ)
    project = Project.load(tmp_path, environ=environ)
    assert project.defaults["Level"].value == "from-a"
    assert project.defaults["Other"].value == "shared"
    assert [p.name for p in project.included_files] == ["shared.yaml", "a.yaml", "b.yaml"]


@pytest.mark.parametrize(("text", "message"), [
    ('path "' + "a" * 300_000 + '" { capabilities = ["read"] }\n', "larger than 256 KiB"),
    ('path "a" ' + "{ x " * 20_000 + "}" * 20_000 + "\n", "more than 10000 blocks and lists"),
])
def test_an_oversized_policy_is_refused_before_the_parser(text: str, message: str) -> None:
    from vaultline.errors import PolicyError
    from vaultline.policy.model import parse_policy

    with pytest.raises(PolicyError, match=message):
        parse_policy(text, "p.hcl")


@pytest.mark.parametrize("depth", [900, 5000])
def test_a_policy_nested_past_the_parser_says_so_through_lint(tmp_path: Path, depth: int) -> None:
    """Within the block limit, but deeper than the parser recurses: the finding says what is
    wrong with the file, not which Python exception the parser raised."""
    policy = tmp_path / "deep.hcl"
    policy.write_text('path "x" { capabilities = ' + "[" * depth + "]" * depth + " }\n")
    done = subprocess.run([hostile.VAULTLINE, "policy", "lint", str(policy), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    [finding] = json.loads(done.stdout)["findings"]
    assert finding["rule"] == "POL000" and "Recursion" not in finding["message"]
    assert finding["message"] == (f"{policy}: nested too deeply to read (lists or blocks within "
                                  "each other, hundreds of levels); a Vault policy nests a few")
