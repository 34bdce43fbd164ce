"""GitLab tokens: personal, pipeline trigger, runner, deploy and feed tokens."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule("gitlab-pat", "GitLab personal, project or group access token",
         START + r"(glpat-[A-Za-z0-9_-]{20,300}(?:\.[A-Za-z0-9]{2}\.[a-z0-9]{7,9})?)" + END,
         keywords=("glpat-",), min_entropy=3.0),
    rule("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token",
         START + r"(glptt-[0-9a-f]{40})" + END, keywords=("glptt-",), min_entropy=3.0),
    rule("gitlab-runner-token", "GitLab runner authentication token",
         START + r"(glrt-[A-Za-z0-9_-]{20})" + END, keywords=("glrt-",), min_entropy=3.0),
    rule("gitlab-deploy-token", "GitLab deploy token",
         START + r"(gldt-[A-Za-z0-9_-]{20})" + END, keywords=("gldt-",), min_entropy=3.0),
    rule("gitlab-feed-token", "GitLab feed token",
         START + r"(glft-[A-Za-z0-9_-]{20})" + END, keywords=("glft-",), min_entropy=3.0),
    rule("gitlab-ci-build-token", "GitLab CI/CD job token",
         START + r"(glcbt-[0-9A-Za-z]{1,5}_[0-9A-Za-z_-]{20})" + END, keywords=("glcbt-",),
         min_entropy=3.0),
    rule("gitlab-oauth-app-secret", "GitLab OAuth application secret",
         START + r"(gloas-[0-9A-Za-z_-]{64})" + END, keywords=("gloas-",), min_entropy=3.5),
    rule("gitlab-runner-registration-token", "GitLab runner registration token",
         START + r"(GR1348941[0-9A-Za-z_-]{20})" + END, keywords=("GR1348941",),
         min_entropy=3.0),
    rule("gitlab-incoming-mail-token", "GitLab incoming mail token",
         START + r"(glimt-[0-9A-Za-z_-]{25})" + END, keywords=("glimt-",), min_entropy=3.0),
    rule("gitlab-scim-token", "GitLab SCIM OAuth token",
         START + r"(glsoat-[0-9A-Za-z_-]{20})" + END, keywords=("glsoat-",), min_entropy=3.0),
    rule("gitlab-feature-flag-token", "GitLab feature flags client token",
         START + r"(glffct-[0-9A-Za-z_-]{20})" + END, keywords=("glffct-",), min_entropy=3.0),
    rule("gitlab-agent-token", "GitLab agent for Kubernetes token",
         START + r"(glagent-[0-9A-Za-z_-]{50})" + END, keywords=("glagent-",), min_entropy=3.5),
)
