"""Amazon Web Services: access key ids, secret access keys, session tokens, MWS keys."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule(
        "aws-access-key-id",
        "AWS access key id (long-term AKIA, temporary ASIA, and the other IAM prefixes)",
        START + r"((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16})" + END,
        anchors=("A(?:KI|SI|BI|CC|GP|ID|RO|IP|NP|NV|PK)A[A-Z2-7]{16}",),
        min_entropy=3.0,
    ),
    rule(
        "aws-secret-access-key",
        "AWS secret access key assigned to an aws_secret_access_key-like name",
        r"(?i)(?:aws)?[_.-]?secret[_.-]?(?:access)?[_.-]?key(?:[_.-]?id)?[\"']?\s*(?:=|:|=>|:=)\s*"
        r"[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        keywords=("secret_access_key", "secretaccesskey", "secret-access-key", "aws_secret"),
        min_entropy=4.0,
    ),
    rule(
        "aws-session-token",
        "AWS session token (STS) assigned to aws_session_token",
        r"(?i)aws[_.-]?session[_.-]?token[\"']?\s*(?:=|:|=>)\s*[\"']?([A-Za-z0-9/+=]{100,})",
        keywords=("session_token", "sessiontoken"),
        min_entropy=4.0,
    ),
    rule(
        "aws-mws-key",
        "Amazon Marketplace Web Service auth token",
        r"(amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
        keywords=("amzn.mws.",),
    ),
)
