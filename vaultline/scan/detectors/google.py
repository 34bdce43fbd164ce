"""Google: API keys, service-account JSON, OAuth client secrets and access tokens, FCM."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule("gcp-api-key", "Google API key",
         START + r"(AIza[0-9A-Za-z_-]{35})" + END, anchors=("AIza[0-9A-Za-z_-]{35}",),
         min_entropy=3.5),
    rule(
        "gcp-service-account",
        "Google service-account key file (its private_key_id identifies the key)",
        # The key material itself is a PEM block the private-key rules also see; this rule
        # names the file for what it is and fingerprints it by its private_key_id.
        r"\"type\"\s*:\s*\"service_account\".{0,2000}?\"private_key_id\"\s*:\s*\"([0-9a-f]{40})\"",
        keywords=('"service_account"',),
        multiline=True,
    ),
    rule("gcp-oauth-client-secret", "Google OAuth client secret",
         START + r"(GOCSPX-[A-Za-z0-9_-]{28})" + END, keywords=("GOCSPX-",), min_entropy=3.5),
    rule("gcp-oauth-access-token", "Google OAuth access token",
         START + r"(ya29\.[0-9A-Za-z_-]{50,})" + END, keywords=("ya29.",), min_entropy=3.5),
    rule("firebase-cloud-messaging-key", "Firebase Cloud Messaging server key",
         START + r"(AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134})" + END,
         keywords=(":APA91b",), min_entropy=3.5),
)
