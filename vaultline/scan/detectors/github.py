"""GitHub tokens: classic PATs, OAuth, app, refresh and fine-grained tokens."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule("github-pat", "GitHub personal access token (classic)",
         START + r"(ghp_[A-Za-z0-9]{36})" + END, keywords=("ghp_",), min_entropy=3.5),
    rule("github-oauth-token", "GitHub OAuth access token",
         START + r"(gho_[A-Za-z0-9]{36})" + END, keywords=("gho_",), min_entropy=3.5),
    rule("github-app-token", "GitHub App user-to-server or server-to-server token",
         START + r"((?:ghu|ghs)_[A-Za-z0-9]{36})" + END, keywords=("ghu_", "ghs_"),
         min_entropy=3.5),
    rule("github-refresh-token", "GitHub refresh token",
         START + r"(ghr_[A-Za-z0-9]{36,76})" + END, keywords=("ghr_",), min_entropy=3.5),
    rule("github-fine-grained-pat", "GitHub fine-grained personal access token",
         START + r"(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + END,
         keywords=("github_pat_",), min_entropy=3.5),
)
