"""Credentials embedded in URLs and connection strings (``postgres://user:pass@host``)."""

from __future__ import annotations

from vaultline.scan.detectors._base import Detector, rule

# user:password@host, the password being what we report. The user part excludes ":" and
# "@"; the password may contain ":" but not "@", "/" or whitespace (percent-encoded is fine).
_USERINFO = r"[^\s:@/\"'<>`]{1,64}:(?P<secret>[^\s@/\"'<>`]{3,128})@[A-Za-z0-9_.\[\]-]+"
# The prefilter looks for "://user:pass@" shapes once, shared by every URL rule.
_ANCHOR = r"://[^\s:@/\"']{1,64}:[^\s@/\"']{3,128}@"


def _url_rule(rule_id: str, description: str, schemes: str) -> Detector:
    return rule(rule_id, description, rf"(?i)(?<![A-Za-z0-9+.-])(?:{schemes})://{_USERINFO}",
                anchors=(_ANCHOR,))


DETECTORS = (
    _url_rule("postgres-url-password", "PostgreSQL URL with a password",
              r"postgres(?:ql)?(?:\+[a-z0-9]+)?"),
    _url_rule("mysql-url-password", "MySQL / MariaDB URL with a password",
              r"mysql(?:\+[a-z0-9]+)?|mariadb(?:\+[a-z0-9]+)?|jdbc:mysql"),
    _url_rule("mongodb-url-password", "MongoDB URL with a password", r"mongodb(?:\+srv)?"),
    _url_rule("redis-url-password", "Redis URL with a password", r"rediss?"),
    _url_rule("amqp-url-password", "AMQP (RabbitMQ) URL with a password", r"amqps?"),
    _url_rule("http-basic-auth-url", "HTTP(S), FTP, SMTP or LDAP URL with a password",
              r"https?|ftps?|sftp|smtps?|ldaps?"),
    rule(
        "connection-string-password",
        "ADO.NET / ODBC / JDBC connection string with a password",
        r"(?i)(?:server|data source|host|address)\s*=\s*[^;\"'\s]+;[^\"'\r\n]{0,200}?"
        r"(?:password|pwd)\s*=\s*(?P<secret>[^;\"'\s]{4,128})",
        keywords=("password=", "pwd=", "password =", "pwd ="),
    ),
)
