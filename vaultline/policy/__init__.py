"""Vault/OpenBao policies: ``model`` parses HCL into path rules, ``rules`` holds the lint
checks and ``lint`` runs them over files; ``generate`` writes least-privilege policies from an
environment's references."""

from vaultline.policy.lint import lint_files, lint_text
from vaultline.policy.model import Finding, PathRule, Policy, parse_policy

__all__ = ["Finding", "PathRule", "Policy", "lint_files", "lint_text", "parse_policy"]
