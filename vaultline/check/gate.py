"""``vaultline check``: the validation gate. Each check is a plain function yielding findings.

Findings name the check, the key and what is wrong — never a value — so the table is safe to
print in CI logs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vaultline._git import GitError, GitNotInstalled, run_git
from vaultline._limits import read_bounded
from vaultline.check.validate import check_format
from vaultline.errors import ConfigError, ProviderError
from vaultline.findings import Finding as BaseFinding
from vaultline.findings import Severity
from vaultline.output import envexample
from vaultline.resolve.bundle import Bundle
from vaultline.resolve.session import Session


@dataclass(frozen=True)
class Finding(BaseFinding):
    check: str
    severity: Severity
    key: str
    problem: str

    @property
    def message(self) -> str:
        return self.problem


@dataclass
class CheckContext:
    session: Session
    env: str
    bundle: Bundle
    failures: list[ProviderError]

    @property
    def root(self) -> Path:
        return self.session.project.root


Check = Callable[[CheckContext], Iterator[Finding]]


def required_keys(ctx: CheckContext) -> Iterator[Finding]:
    for failure in ctx.failures:
        yield Finding("resolvable", Severity.ERROR, failure.key or "?",
                      f"{failure.reference}: {failure.reason}")


def formats(ctx: CheckContext) -> Iterator[Finding]:
    for key, spec in ctx.session.project.schema.items():
        if spec.format is None or key not in ctx.bundle:
            continue
        for problem in check_format(spec.format, ctx.bundle.resolved(key).value):
            yield Finding(f"format {spec.format}", problem.severity, key, problem.message)


def providers(ctx: CheckContext) -> Iterator[Finding]:
    from vaultline.resolve.resolver import Resolver

    names = sorted({e.value.provider for e in ctx.session.project.pack(ctx.env).secrets.values()})
    with Resolver(ctx.session.project, ctx.env, environ=ctx.session.environ) as resolver:
        for name in names:
            try:
                resolver.provider(name).check()
            except ProviderError as exc:
                yield Finding("provider", Severity.ERROR, name, f"{type(exc).__name__}: {exc.reason}")
            except Exception as exc:  # a provider that cannot even start is a finding too
                yield Finding("provider", Severity.ERROR, name, str(exc))


def overrides(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.session.store is None:
        return
    from datetime import datetime

    from vaultline.resolve.overrides import max_ttl

    environment = ctx.session.project.environment(ctx.env)
    now = ctx.session.clock()
    found, problems = ctx.session.overrides.scan(ctx.env)
    for problem in problems:
        yield Finding("override", Severity.ERROR, ctx.env, problem)
    for item in found:
        if not item.active(now):
            continue
        ttl = datetime.fromisoformat(item.expires) - datetime.fromisoformat(item.created)
        if ttl > max_ttl(environment):
            yield Finding("override", Severity.ERROR, item.key,
                          f"override {item.id} lasts longer than the environment allows")
        if environment.protected and not (item.reason and item.ticket and item.approved_by
                                          and item.approved_by != item.actor):
            yield Finding("override", Severity.ERROR, item.key,
                          f"override {item.id} lacks a reason, a ticket or a second person's "
                          "approval in a protected environment")


def committed_credentials(ctx: CheckContext) -> Iterator[Finding]:
    """The scanner's detectors over the committed files: vaultline.yaml and the pack.

    A finding names the file, line, key and detector; the value is never quoted.
    """
    from vaultline.scan.engine import Scanner

    project = ctx.session.project
    pack = project.pack(ctx.env)
    keys_by_line = {(Path(e.file).resolve(), e.line): e.key
                    for e in (*project.defaults.values(), *pack.values.values(),
                              *pack.secrets.values())}
    directory = project.pack_dir(ctx.env)
    scanner = Scanner()
    for path in (project.file, directory / "values.yaml", directory / "secrets.yaml"):
        try:
            data = read_bounded(path, what="the file", environ=project.environ)
        except (OSError, ConfigError):
            continue  # a pack may leave a file out; loading it already said what was wrong
        shown = str(path.relative_to(project.root))
        for found in scanner.scan(data, shown):
            key = keys_by_line.get((path.resolve(), found.line), f"{shown}:{found.line}")
            yield Finding("committed secret", Severity.ERROR, key,
                          f"{shown}:{found.line}: looks like a credential ({found.rule_id}); "
                          "move it into a provider ('vaultline secret put KEY --env ENV'), leave a "
                          "reference in secrets.yaml, and rotate it: it is in git")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    """None when git is not installed."""
    try:
        return run_git(root, *args)
    except GitNotInstalled:
        return None


def gitignore(ctx: CheckContext) -> Iterator[Finding]:
    try:
        yield from _gitignore(ctx)
    except GitError as exc:  # git could not start, or was stopped for writing nothing
        yield Finding("gitignore", Severity.ERROR, ".gitignore", f"not checked: {exc}")


def _gitignore(ctx: CheckContext) -> Iterator[Finding]:
    inside = _git(ctx.root, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.returncode != 0:
        yield Finding("gitignore", Severity.WARNING, ".gitignore", "not a git work tree; not checked")
        return
    store = ctx.session.project.store_dir
    wanted = {".env": ".env", ".env.local": ".env*",
              str(store / "store.db"): f"{store.name}/"}
    for path, pattern in wanted.items():
        probe = _git(ctx.root, "check-ignore", "-q", "--no-index", path)
        if probe is not None and probe.returncode != 0:
            yield Finding("gitignore", Severity.ERROR, pattern, f".gitignore does not cover {pattern}")
    tracked = _git(ctx.root, "ls-files", "-z", "--", ".env*", "**/.env*")
    for name in (tracked.stdout.decode("utf-8", "surrogateescape").split("\0") if tracked else []):
        if name and not name.endswith((".example", ".sample", ".template")):
            yield Finding("gitignore", Severity.ERROR, name, "a .env file is tracked by git; "
                          "'git rm --cached' it and rotate what it held")


def env_example(ctx: CheckContext) -> Iterator[Finding]:
    path = ctx.root / envexample.FILE_NAME
    if not path.exists():
        yield Finding("env.example", Severity.ERROR, envexample.FILE_NAME,
                      "missing; 'vaultline env example' writes it")
        return
    expected = set(envexample.expected_names(ctx.session.project))
    listed = envexample.listed_names(path)
    for name in sorted(expected - listed):
        yield Finding("env.example", Severity.ERROR, name, "produced by the schema but not listed")
    for name in sorted(listed - expected):
        yield Finding("env.example", Severity.ERROR, name, "listed but no key produces it")


def rotation(ctx: CheckContext) -> Iterator[Finding]:
    """Key rings of this environment (or of none) that the rotation policy says are late."""
    if ctx.session.store is None:
        return
    from vaultline.keys import Due, KeyManager

    with KeyManager.from_project(ctx.session.project, audit=False, clock=ctx.session.clock,
                                 environ=ctx.session.environ) as manager:
        rings = manager.status()
    for ring in rings:
        if ring.record.env not in (None, ctx.env):
            continue
        due_at = ring.status.due_at.date().isoformat() if ring.status.due_at else "?"
        if ring.status.state is Due.OVERDUE:
            yield Finding("rotation", Severity.ERROR, ring.record.name,
                          f"overdue since {due_at}: 'vaultline keys rotate --due'")
        elif ring.status.state is Due.DUE:
            yield Finding("rotation", Severity.WARNING, ring.record.name, f"due since {due_at}")


def secret_rotation(ctx: CheckContext) -> Iterator[Finding]:
    """Rotated secrets (``rotate:``) that are overdue, stuck mid-rotation or out of parity."""
    if ctx.session.store is None or not ctx.session.project.sections.get("rotate"):
        return
    from vaultline.rotate import Rotator

    with Rotator(ctx.session) as rotator:
        rows = rotator.status()
    for row in rows:
        run = f"'vaultline rotate run {row.key} --env {ctx.env}'"
        if row.due == "overdue":
            yield Finding("rotation", Severity.ERROR, row.key, f"overdue since {row.due_at}: {run}")
        elif row.due == "due":
            yield Finding("rotation", Severity.WARNING, row.key,
                          f"due since {row.due_at}" if row.last_rotated else
                          f"never rotated by vaultline: {run}")
        if row.state == "stuck":
            yield Finding("rotation", Severity.ERROR, row.key,
                          f"rotation {row.rotation} is stuck ({row.problem or 'not finished'}): "
                          f"'vaultline rotate resume {row.rotation}' or 'abort'")
        if row.parity is False:
            yield Finding("rotation", Severity.ERROR, row.key, row.problem or "a mirror is out of parity")


CHECKS: dict[str, Check] = {
    "resolvable": required_keys,
    "format": formats,
    "provider": providers,
    "override": overrides,
    "committed secret": committed_credentials,
    "gitignore": gitignore,
    "env.example": env_example,
    "rotation": rotation,
    "secret-rotation": secret_rotation,
}


def run_checks(session: Session, env: str) -> list[Finding]:
    bundle, failures = session.resolve_partial()
    ctx = CheckContext(session, env, bundle, failures)
    findings = [finding for check in CHECKS.values() for finding in check(ctx)]
    return sorted(findings, key=lambda f: (f.severity.rank, f.check, f.key))
