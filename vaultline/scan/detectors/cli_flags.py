"""Passwords on command lines: ``--password X``, ``-pX`` to MySQL, ``pass:X`` to OpenSSL,
``curl -u user:pass``, ``sshpass -p X``.

Scripts, CI files, Dockerfiles, READMEs and shell history carry these. The value after the
flag is free-form (a password has no shape), so the free-form filters judge it: ``$VAR``,
``${VAR}``, ``%VAR%``, ``<password>`` and ``"$(cat file)"`` are not secrets.
"""

from __future__ import annotations

from vaultline.scan.detectors._base import rule

# A value: quoted (any characters but the quote) or bare (no whitespace or quotes).
_VALUE = r"(?:(?P<q>[\"'])(?P<secret>[^\"'\r\n]{4,128})(?P=q)|(?P<bare>[^\s\"'`|;&<>]{4,128}))"
_VALUE_BARE_ONLY = r"(?P<secret>[^\s\"'`|;&<>]{4,128})"


DETECTORS = (
    rule(
        "cli-password-flag",
        "Password, token or secret passed as a command-line flag",
        r"(?<![\w-])--(?:[a-z]+-)?(?:password|passwd|passphrase|pass|token|api-key|apikey|"
        r"secret|client-secret|secret-key|access-key|auth-token|access-token|bearer-token)"
        r"(?:=|[ \t]+)" + _VALUE,
        keywords=("-password", "-passwd", "-passphrase", "-pass ", "-pass=", "-token",
                  "-api-key", "-apikey", "-secret", "-access-key", "-auth-token",
                  "-access-token", "-bearer-token"),
        ignorecase=True,
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
    rule(
        "mysql-password-flag",
        "MySQL / MariaDB password given as -pPASSWORD on the command line",
        r"(?<![\w-])(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|mysqlimport|mysqlsh)"
        r"(?:[ \t]+[^\s|;&]+){0,8}?[ \t]+-p(?:(?P<q>[\"'])(?P<secret>[^\"'\r\n]{4,128})(?P=q)|"
        r"(?P<bare>[^\s\"'`|;&<>]{4,128}))",
        keywords=("mysql", "mariadb"),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
    rule(
        "openssl-pass-argument",
        "Password given to OpenSSL as -passin/-passout/-pass pass:…",
        r"(?<![\w-])-(?:passin|passout|pass|password|k)[ \t]+[\"']?pass:" + _VALUE_BARE_ONLY,
        keywords=("pass:",),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
    rule(
        "cli-user-password",
        "user:password given to curl, wget or httpie (-u / --user)",
        r"(?<![\w-])(?:curl|wget|http|https|httpie)\b[^\r\n]{0,300}?[ \t](?:-u|--user|"
        r"--http-user|-a|--auth)[ \t=]+[\"']?[^\s:\"'@]{1,64}:(?P<secret>[^\s\"'@]{4,128})",
        keywords=("curl", "wget", "httpie", "http -a", "http --auth"),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
    rule(
        "cli-login-password",
        "Password given to a registry or database client login (docker login -p, redis-cli -a)",
        r"(?<![\w-])(?:(?:docker|podman|nerdctl|buildah|skopeo|helm[ \t]+registry|oras)[ \t]+login"
        r"(?:[ \t]+[^\s|;&]+){0,6}?[ \t]+(?:-p|--password)|redis-cli(?:[ \t]+[^\s|;&]+){0,6}?"
        r"[ \t]+-a)[ \t]+" + _VALUE,
        keywords=("login", "redis-cli"),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
    rule(
        "sshpass-password",
        "Password given to sshpass -p",
        r"(?<![\w-])sshpass[ \t]+-p[ \t]*" + _VALUE,
        keywords=("sshpass",),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
)
