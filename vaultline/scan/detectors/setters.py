"""Credentials handed to an API setter or constructor rather than assigned to a name:
``curl_setopt($ch, CURLOPT_USERPWD, "user:pass")``, ``setPassword("…")``,
``new NetworkCredential("user", "…")``, ``auth=("user", "…")``, ``setBasicAuth("u", "…")``.
"""

from __future__ import annotations

from vaultline.scan.detectors._base import rule

_QUOTED = r"(?P<q>['\"])(?P<secret>[^'\"\r\n]{4,200})(?P=q)"
_ARG = r"(?:[ \t]*(?:@|[rbu])?['\"][^'\"\r\n]{1,128}['\"][ \t]*,)"

DETECTORS = (
    rule(
        "curl-option-password",
        "Password or token given to libcurl (CURLOPT_PASSWORD, CURLOPT_USERPWD, …)",
        r"CURLOPT_(?:PASSWORD|PROXYPASSWORD|KEYPASSWD|SSLKEYPASSWD|SSLCERTPASSWD|"
        r"TLSAUTH_PASSWORD|PROXY_TLSAUTH_PASSWORD|XOAUTH2_BEARER)\b[ \t]*,[ \t]*" + _QUOTED,
        r"CURLOPT_(?:USERPWD|PROXYUSERPWD)\b[ \t]*,[ \t]*(?P<q>['\"])[^:'\"\r\n]{1,64}:"
        r"(?P<secret>[^'\"\r\n]{4,128})(?P=q)",
        keywords=("CURLOPT_",),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
    rule(
        "setter-password",
        "Password, token or secret passed to a setter (setPassword(\"…\"), .apiKey(\"…\"))",
        r"(?<![A-Za-z0-9_])(?:set|with)?_?(?:Password|Passwd|Passphrase|ApiKey|ApiToken|"
        r"AccessToken|AuthToken|ClientSecret|SecretKey|Secret|Token|password|passwd|passphrase|"
        r"apiKey|api_key|apiToken|api_token|accessToken|access_token|authToken|auth_token|"
        r"clientSecret|client_secret|secretKey|secret_key|secret|token)[ \t]*\([ \t]*" + _QUOTED
        + r"[ \t]*\)",
        keywords=tuple(
            f"{word}({quote}" for word in ("password", "passwd", "passphrase", "key", "token",
                                           "secret") for quote in ("'", '"')
        ),
        min_entropy=3.0,
        priority=1,
        free_form=True,
    ),
    rule(
        "basic-auth-argument",
        "user and password given together (NetworkCredential, HTTPBasicAuth, auth=(…), …)",
        r"(?:NetworkCredential|PasswordAuthentication|UsernamePasswordCredentials|"
        r"HTTPBasicAuth|HTTPDigestAuth|BasicAuth|basic_auth|basicAuth|setBasicAuth|"
        r"withBasicAuth|auth)[ \t]*(?:=[ \t]*\(|\(|=>[ \t]*\[|:[ \t]*\[|=[ \t]*\[)" + _ARG
        + r"[ \t]*" + _QUOTED,
        keywords=("networkcredential", "passwordauthentication", "usernamepasswordcredentials",
                  "basicauth", "basic_auth", "digestauth", "auth=(", "auth = (", "auth=[",
                  "auth: [", "auth => [", "auth=> ["),
        min_entropy=2.5,
        priority=1,
        free_form=True,
    ),
)
