"""Lint Vault/OpenBao HCL policies for grants broader than the holder needs.

The policies are parsed by :mod:`.model` and checked by every rule in :mod:`.rules`; rules
such as deny-shadowing look across all the files linted together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from vaultline._limits import read_bounded
from vaultline.errors import PolicyError
from vaultline.findings import Severity
from vaultline.policy.model import Finding, Policy, parse_policy
from vaultline.policy.rules import RULES, Context

# Path segments taken for environment names (cross-environment-glob keeps them apart).
DEFAULT_ENVIRONMENTS = frozenset(
    {
        "dev", "development", "test", "testing", "qa", "staging", "stage", "stg", "uat",
        "preprod", "pre-prod", "prod", "production", "prd", "sandbox", "local", "perf", "demo",
    }
)


def lint_policies(
    policies: Sequence[Policy], environments: Iterable[str] = DEFAULT_ENVIRONMENTS
) -> list[Finding]:
    ctx = Context(list(policies), frozenset(environments))
    findings = [f for _, _, _, check in RULES for f in check(ctx)]
    findings.sort(key=lambda f: (f.file, f.line or 0, f.severity.rank, f.rule))
    return findings


def lint_text(
    text: str,
    file: str = "<policy>",
    role: str | None = None,
    environments: Iterable[str] = DEFAULT_ENVIRONMENTS,
) -> list[Finding]:
    return lint_policies([parse_policy(text, file, role)], environments)


def lint_files(
    paths: Iterable[str | Path],
    role: str | None = None,
    environments: Iterable[str] = DEFAULT_ENVIRONMENTS,
) -> list[Finding]:
    """Lint files together (rules such as deny-shadowing look across them).

    A file that is not valid HCL gives a ``POL000`` finding instead of stopping the run.
    """
    policies: list[Policy] = []
    broken: list[Finding] = []
    for path in paths:
        name = str(path)
        try:
            text = read_bounded(Path(path), what="the policy file",
                                error=_unreadable(name)).decode("utf-8")
        except FileNotFoundError:
            raise PolicyError(f"{name}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
            raise PolicyError(f"{name}: cannot read: {reason}") from None
        try:
            policies.append(parse_policy(text, name, role))
        except PolicyError as exc:
            broken.append(
                Finding("POL000", "parse-error", Severity.ERROR, name, None, None, str(exc),
                        "fix the HCL syntax (bao policy fmt shows where)")
            )
    return broken + lint_policies(policies, environments)


def _unreadable(name: str) -> Callable[[str], PolicyError]:
    return lambda reason: PolicyError(f"{name}: {reason}")


def failing(findings: Iterable[Finding]) -> bool:
    """Lint fails on errors and warnings; info findings are advice."""
    return any(f.severity is not Severity.INFO for f in findings)
