"""The generic rule across languages and config formats, and the filters that weigh the
name and context instead of vetoing alone: ``(text, path, should_flag)`` tables.

Values are built at runtime from a seeded generator, so no literal credential sits here.
"""

from __future__ import annotations

import random
import string

import pytest

from tests.scan.conftest import flagged
from vaultline.scan.engine import Scanner


def _random(n: int, alphabet: str = string.ascii_letters + string.digits, seed: int = 7) -> str:
    rng = random.Random(f"{n}:{alphabet}:{seed}")
    return "".join(rng.choice(alphabet) for _ in range(n))


PW = _random(20)
LOWER_DIGITS = _random(24, string.ascii_lowercase + string.digits)
DIGITS = _random(16, string.digits)
UUID = "6f1c2b9e-0d4a-4c7e-9b3f-2a8d5e7c1f04"

RECALL = [
    (f'var apiToken string = "{PW}"', "main.go"),
    (f'const authToken: string = "{PW}";', "src/client.ts"),
    (f'$apiToken .= "{PW}";', "index.php"),
    (f'System.setProperty("X_API_TOKEN", "{PW}");', "App.java"),
    (f"API_TOKEN ::= {PW}", "Makefile"),
    (f"DB_PASSWORD :::= {PW}", "Makefile"),
    (f'<add key="Password" value="{PW}" />', "Web.config"),
    (f'<add key="ClearTextPassword" value="{PW}" />', "NuGet.Config"),
    (f"<password>\n    {PW}\n</password>", "settings.xml"),
    (f'{{"script": "export A=1\\nX_TOKEN={PW}\\n"}}', "package.json"),
    (f'{{\\"access_token\\":\\"{PW}\\"}}', "fixture.txt"),
    (f"db.password: {PW[:8]}.{PW[8:]}", "application.yaml"),
    (f"password = {PW[:8]}.{PW[8:]}", "settings.ini"),
    (f'HEROKU_API_KEY = "{UUID}"', "deploy.py"),
    (f'auth_token = "{LOWER_DIGITS}"', "config.py"),
    (f'api_token: "{DIGITS}"', "config.yaml"),
    (f'DB_PASS = "{PW}"', "settings.py"),
    (f"SMTP_PW={PW}", ".env"),
    (f'secret_key: |\n  {PW}', "values.yaml"),
    (f'curl -H "Authorization: Bearer {PW}{PW}" https://api.acme.io', "README.md"),
    (f"psql_admin --admin-password={PW}", "run.sh"),
    (f"mysql -uroot -p{PW} -e 'select 1'", "Dockerfile"),
    (f"openssl pkcs12 -export -passout pass:{PW} -out a.p12", "build.sh"),
    (f"curl -u admin:{PW} https://nexus.acme.io/service/rest", "ci.yml"),
    (f"CREATE USER 'app'@'%' IDENTIFIED BY '{PW}';", "init.sql"),
    (f"CREATE ROLE app WITH LOGIN PASSWORD '{PW}';", "V1__roles.sql"),
    (f'curl_setopt($ch, CURLOPT_PASSWORD, "{PW}");', "client.php"),
    (f'var cred = new NetworkCredential("svc", "{PW}");', "Mailer.cs"),
    (f'conn.setPassword("{PW}");', "Db.java"),
    (f"APP_KEY=base64:{PW}{PW}=", ".env"),
    (f'TWITTER_CONSUMER_KEY = "{PW}"', "bot.py"),
    (f'hmac_key: "{PW}"', "config.yaml"),
    ('db_password = "951022231901025955"', "prod.tfvars"),  # random digits, low entropy
    (f'DB_PASS = "%{PW}"', "settings.py"),
    (f'  "env": "A=1\\nAPI_KEY=//{_random(40, string.ascii_letters + string.digits, 3)}\\n",',
     "package.json"),
]

PRECISION = [
    (f'ghp_{"0123456789abcdef" * 2}abcd', "ci.yml"),
    (f'sk_live_{"abcdefg" * 4}', "billing.py"),
    (f'xoxb-{DIGITS[:12]}-{DIGITS[:13]}-{"A" * 6}987654321abcdefghijk', "bot.js"),
    (f'pwdump = "{PW}"', "tool.py"),
    (f'tokenizer_name = "{PW}"', "nlp.py"),
    (f'publicToken = "{PW}"', "app.js"),
    (f'const credentialId = "{PW}";', "webauthn.ts"),
    (f'<meta name="csrf-token" content="{PW}">', "layout.html"),
    (f'ALGOLIA_SEARCH_ONLY_API_KEY = "{PW}"', "search.py"),
    (f'GITHUB_TOKEN = "{PW}"', "release.py"),
    (f'request_id = "{UUID}"', "log.py"),
    (f'image_digest = "{_random(64, "0123456789abcdef")}"', "deploy.py"),
    ("password = config.get('db').password", "app.py"),
    ("password: ${DB_PASSWORD}", "compose.yaml"),
    ("db.password: settings.database.password", "app.yaml"),
    (f'tokenUsage = "{PW}"', "metrics.ts"),
    (f'session_key_prefix = "{PW}"', "cache.py"),
    (f'clientKeyId = "{PW}"', "tls.ts"),
    ("password: %DB_PASSWORD%", "deploy.yml"),
    ('password_path = "/run/secrets/db_password"', "app.py"),
]


@pytest.mark.parametrize(("text", "path"), RECALL, ids=[p for _, p in RECALL])
def test_found_in_real_world_syntax(text: str, path: str) -> None:
    assert flagged(text + "\n", path), text


@pytest.mark.parametrize(("text", "path"), PRECISION, ids=[p for _, p in PRECISION])
def test_not_flagged(text: str, path: str) -> None:
    assert flagged(text + "\n", path) == [], text


def test_encrypted_private_key_is_reported_at_low_severity() -> None:
    body = "\n".join(_random(64, string.ascii_letters + string.digits + "+/", i) for i in range(8))
    plain = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    pkcs8 = f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{body}\n-----END ENCRYPTED PRIVATE KEY-----\n"
    legacy = (
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
        f"DEK-Info: AES-128-CBC,{_random(32, '0123456789ABCDEF')}\n\n{body}\n"
        "-----END RSA PRIVATE KEY-----\n"
    )
    scanner = Scanner()
    assert [(f.rule_id, f.severity) for f in scanner.scan(plain.encode(), "k.pem")] == [
        ("pem-private-key", "high")
    ]
    for text in (pkcs8, legacy):
        assert [(f.rule_id, f.severity) for f in scanner.scan(text.encode(), "k.pem")] == [
            ("pem-encrypted-private-key", "low")
        ]
