"""Repository hygiene: ``.env`` files tracked by git, and a ``.gitignore`` that lets them in.

The rule teams write down: "Never commit .env files or secrets. Add .env* to .gitignore." Both checks are
findings like any other (they fail the scan, can be baselined), with no secret value: the
fingerprint is the rule and the path.
"""

from __future__ import annotations

import re
from pathlib import Path

from vaultline.scan import git
from vaultline.scan.finding import Finding

# .env, .env.local, .env.production, prod.env; not the documented examples.
_ENV_FILE = re.compile(r"(?:^|/)(?:\.env(?:\.[^/]+)?|[^/]+\.env)$")
_ENV_EXAMPLE = re.compile(r"\.(?:example|sample|template|dist|defaults?|tmpl)$|example|sample")
# Names the .gitignore must cover, one per common shape.
_PROBES = (".env", ".env.local", ".env.production")


def check(root: Path) -> list[Finding]:
    if not git.is_repo(root):
        return []
    top = git.repo_root(root)
    findings = [
        Finding(
            rule_id="hygiene-tracked-env-file",
            description="A .env file is tracked by git; remove it (git rm --cached) and rotate "
            "what it held",
            path=path,
            line=1,
            column=1,
            secret=path,
            tags=("hygiene",),
        )
        for path in git.tracked_files(top)
        if _ENV_FILE.search(path) and not _ENV_EXAMPLE.search(path.rsplit("/", 1)[-1])
    ]
    uncovered = [p for p in _PROBES if not git.is_ignored_by_git(top, p)]
    if uncovered:
        findings.append(
            Finding(
                rule_id="hygiene-env-not-ignored",
                description=f".gitignore does not cover {', '.join(uncovered)}; add '.env*' "
                "(and '!.env.example')",
                path=".gitignore",
                line=1,
                column=1,
                secret="env-not-ignored",
                tags=("hygiene",),
            )
        )
    return findings
