"""HashiCorp Vault and OpenBao tokens."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule("vault-service-token", "Vault / OpenBao service token",
         START + r"(hvs\.[A-Za-z0-9_-]{24,})" + END, keywords=("hvs.",), min_entropy=3.5),
    rule("vault-batch-token", "Vault / OpenBao batch token",
         START + r"(hvb\.[A-Za-z0-9_-]{100,})" + END, keywords=("hvb.",), min_entropy=3.5),
    rule(
        "vault-legacy-token",
        "Vault / OpenBao token in the legacy s.<24> format, assigned to a token name",
        r"(?i)(?:vault|bao|openbao)[_.-]?token[\"']?\s*(?:=|:|=>)\s*[\"']?(s\.[A-Za-z0-9]{24})"
        + END,
        keywords=("vault_token", "bao_token", "vault-token", "vaulttoken", "bao-token"),
        min_entropy=3.5,
    ),
)
