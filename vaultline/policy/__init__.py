"""Vault/OpenBao policies: lint existing HCL for over-broad grants (``lint``); generation
from an environment's references lives in ``generate``."""

from vaultline.policy.lint import Finding, PathRule, Policy, lint_files, lint_text, parse_policy

__all__ = ["Finding", "PathRule", "Policy", "lint_files", "lint_text", "parse_policy"]
