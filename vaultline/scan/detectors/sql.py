"""Passwords in SQL: ``CREATE USER … IDENTIFIED BY '…'``, ``CREATE ROLE … WITH PASSWORD
'…'``, ``ALTER USER … PASSWORD '…'``, ``SET PASSWORD … = '…'``.

Migrations, seed scripts and database init files carry these. Hashed forms
(``IDENTIFIED BY PASSWORD '*…'``, ``PASSWORD 'md5…'``, ``'SCRAM-SHA-256$…'``) are not
usable passwords: the first is not matched, the others are dropped by the hash filter.
"""

from __future__ import annotations

from vaultline.scan.detectors._base import rule

_QUOTED = r"(?P<q>['\"])(?P<secret>[^'\"\r\n]{4,128})(?P=q)"

DETECTORS = (
    rule(
        "sql-identified-by",
        "Password in a SQL IDENTIFIED BY clause (CREATE/ALTER USER, GRANT)",
        r"(?i)\bIDENTIFIED[ \t]+(?:WITH[ \t]+['\"]?\w+['\"]?[ \t]+)?BY[ \t]+(?!PASSWORD\b)" + _QUOTED,
        keywords=("identified",),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
    rule(
        "sql-password-clause",
        "Password in a SQL PASSWORD clause (CREATE/ALTER ROLE or USER … PASSWORD '…')",
        r"(?i)\b(?:USER|ROLE|LOGIN|WITH|ENCRYPTED|UNENCRYPTED|SET)\b[^;'\"\r\n]{0,120}?"
        r"\bPASSWORD[ \t]*(?:=[ \t]*|\([ \t]*)?" + _QUOTED,
        # SQL quotes its strings with ': the keyword is the clause itself, not every
        # "password" in code.
        keywords=("password '", "password('", "password ('", "password = '", "password='"),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
)
