"""GitLab tokens: personal, pipeline trigger, runner, deploy and feed tokens."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule("gitlab-pat", "GitLab personal, project or group access token",
         START + r"(glpat-[A-Za-z0-9_-]{20}(?:\.[A-Za-z0-9]{2}\.[a-z0-9]{9})?)" + END,
         keywords=("glpat-",), min_entropy=3.0),
    rule("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token",
         START + r"(glptt-[0-9a-f]{40})" + END, keywords=("glptt-",), min_entropy=3.0),
    rule("gitlab-runner-token", "GitLab runner authentication token",
         START + r"(glrt-[A-Za-z0-9_-]{20})" + END, keywords=("glrt-",), min_entropy=3.0),
    rule("gitlab-deploy-token", "GitLab deploy token",
         START + r"(gldt-[A-Za-z0-9_-]{20})" + END, keywords=("gldt-",), min_entropy=3.0),
    rule("gitlab-feed-token", "GitLab feed token",
         START + r"(glft-[A-Za-z0-9_-]{20})" + END, keywords=("glft-",), min_entropy=3.0),
)
