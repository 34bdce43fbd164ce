"""A realistic, labelled scan corpus and per-family precision/recall for vaultline, gitleaks
and detect-secrets on the same files, in the same run.

    python bench/scan_realistic.py                 # ~1,900 files
    python bench/scan_realistic.py --scale 0.3     # a quick run

The corpus is written from scratch here, from the shapes credentials take in public
documentation and real repositories, without importing anything from vaultline (no
detector, filter or synthetic template): languages and config formats (Go, PHP, Java, C#,
Python, JS/TS, Ruby, Rust, Kotlin, shell, PowerShell, Makefile, Dockerfile, YAML, TOML, INI,
.properties, XML/.config, HCL, JSON with escapes, .http files, SQL), and per family the
look-alikes a scanner must leave alone. A shared pool of hard negatives (lockfiles, hashes,
UUIDs, base64 blobs, data URIs, minified JS, source maps, public keys, test fixtures with
placeholders) is scored as its own family.

Caveat, printed with the figures: the corpus does not import vaultline, but it was written
by the people who wrote vaultline's detectors, from the same idea of what leaks look like;
held-out corpora written by others are the real test.

Scoring: each tool's report is reduced to (file, line); a reported line holding a planted
secret is a true positive, any other reported line a false positive of the family whose
file it is in. Some positives are deliberately out of every tool's reach today (``docker
login -p``, ``redis-cli -a``): recall below 1.0 is expected.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import string
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan import run_detect_secrets, run_gitleaks, run_vaultline  # noqa: E402

WORK = HERE / "_work" / "scan-realistic"
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"
LOWER_DIGITS = string.ascii_lowercase + string.digits
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l".upper()

# Lines, indexes of the lines holding a secret, and the kind of file it belongs in ("" for
# any of the family's).
Snippet = tuple[list[str], list[int], str]
Maker = Callable[[random.Random], Snippet]


class R:
    """Random material for one snippet."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def pw(self, n: int = 18) -> str:
        core = [self.rng.choice(string.ascii_lowercase), self.rng.choice(string.ascii_uppercase),
                self.rng.choice(string.digits), self.rng.choice("!#%*+-.=?@^_~")]
        core += [self.rng.choice(ALNUM + "!#*+-.=@_~") for _ in range(n - 4)]
        self.rng.shuffle(core)
        return "".join(core)

    def uuid(self) -> str:
        h = self.s(HEX, 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{self.rng.choice('89ab')}{h[17:20]}-{h[20:]}"

    def word(self) -> str:
        return self.rng.choice(["orders", "billing", "search", "ledger", "mailer", "auth",
                                "catalog", "reports", "gateway", "ingest", "payments"])

    def pick(self, *items: str) -> str:
        return self.rng.choice(items)


def one(line: str, suffix: str = "") -> Snippet:
    return [line], [0], suffix


def look_alike(line: str) -> Snippet:
    return [line], [], ""


# --- positives by family -------------------------------------------------------------------


def provider(rng: random.Random) -> Snippet:
    r = R(rng)
    token = r.pick(
        "ghp_" + r.s(ALNUM, 36), "github_pat_" + r.s(ALNUM, 22) + "_" + r.s(ALNUM, 59),
        "glpat-" + r.s(B64URL, 20), "xoxb-" + r.s(string.digits, 12) + "-" + r.s(string.digits, 13)
        + "-" + r.s(ALNUM, 24), "sk_live_" + r.s(ALNUM, 32), "rk_live_" + r.s(ALNUM, 32),
        "npm_" + r.s(ALNUM, 36), "AKIA" + r.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        "sk-proj-" + r.s(B64URL, 40) + "T3BlbkFJ" + r.s(B64URL, 40),
        "hf_" + r.s(string.ascii_letters, 34), "dop_v1_" + r.s(HEX, 64),
        "SG." + r.s(B64URL, 22) + "." + r.s(B64URL, 43), "phc_" + r.s(ALNUM, 43),
        "AGE-SECRET-KEY-1" + r.s(BECH32, 58), "glcbt-" + r.s(ALNUM, 2) + "_" + r.s(B64URL, 20),
        "GR1348941" + r.s(B64URL, 20), "xoxa-2-" + r.s(string.digits, 11) + "-" + r.s(ALNUM, 32),
        "sgp_" + r.s(HEX, 16) + "_" + r.s(HEX, 40), "shpat_" + r.s(HEX, 32),
        "pypi-AgEIcHlwaS5vcmc" + r.s(B64URL, 70), "HRKU-AA" + r.s(B64URL, 58),
        "glsa_" + r.s(ALNUM, 32) + "_" + r.s(HEX, 8), "dckr_pat_" + r.s(B64URL, 27),
    )
    name = r.pick("TOKEN", "API_KEY", "CI_TOKEN", "DEPLOY_TOKEN", "ACCESS_KEY")
    return one(r.pick(
        f"export {name}={token}", f"{name.lower()}: {token}", f'    "{name.lower()}": "{token}",',
        f'client = Client(api_key="{token}")', f'const {name} = "{token}"', f"ENV {name}={token}",
        f"  {name}: '{token}'", f"//registry.npmjs.org/:_authToken={token}",
        f'  token = "{token}"', f"# temporary, remove before merge: {token}",
        f"      - {name}={token}",
    ))


def generic(rng: random.Random) -> Snippet:
    r = R(rng)
    value = r.pick(r.pw(), r.pw(22), r.s(ALNUM, 24), r.s(ALNUM, 32), r.s(LOWER_DIGITS, 24),
                   r.s(string.digits, 18), r.s(B64, 40))
    dotted = f"{r.s(ALNUM, 10)}.{r.s(ALNUM, 12)}"
    snake = r.pick("db_password", "api_key", "client_secret", "auth_token", "secret_key",
                   "smtp_password", "access_token", "signing_secret")
    camel = "".join(p.capitalize() if i else p for i, p in enumerate(snake.split("_")))
    upper = snake.upper()
    templates = [
        one(f'var {camel} string = "{value}"', ".go"),
        one(f'\t{camel} := "{value}"', ".go"),
        one(f'${camel} .= "{value}";', ".php"),
        one(f'System.setProperty("{upper}", "{value}");', ".java"),
        one(f"{upper} ::= {value}", "Makefile"),
        one(f'<add key="{camel[0].upper() + camel[1:]}" value="{value}" />', ".config"),
        ([f"<{camel}>", f"    {value}", f"</{camel}>"], [1], ".xml"),
        one(f'{{\\"{snake}\\":\\"{value}\\",\\"region\\":\\"eu-west-1\\"}}', ".log"),
        one(f'  "env": "NODE_ENV=production\\n{upper}={value}\\nPORT=8080",', ".json"),
        one(f"{snake}: {dotted}", ".yaml"),
        one(f"{snake} = {dotted}", ".ini"),
        one(f'{snake} = "{value}"', ".py"),
        one(f"{upper}={value}", ".env"),
        one(f"spring.datasource.password={value}", ".properties"),
        one(f'  {snake}: "{value}"', ".yaml"),
        one(f"    {camel}: '{value}',", ".js"),
        one(f'private static final String {upper} = "{value}";', ".java"),
        one(f'public string {camel[0].upper() + camel[1:]} {{ get; set; }} = "{value}";', ".cs"),
        one(f'let {snake} = "{value}";', ".rs"),
        one(f'val {camel} = "{value}"', ".kt"),
        one(f'$env:{upper} = "{value}"', ".ps1"),
        one(f'  {snake}: "{value}"  # rotate quarterly', ".yml"),
        one(f"      - {upper}={value}", "docker-compose.yml"),
        one(f'{snake} = "{value}"', ".tfvars"),
        one(f"ansible_password: {value}", ".yml"),
        one(f"PW={value}", ".env"),
        one(f'DB_PASS = "{value}"', ".py"),
        one(f'heroku_api_key = "{r.uuid()}"', ".py"),
        one(f"pwd: {r.pw()}", ".yaml"),
    ]
    return rng.choice(templates)


def header(rng: random.Random) -> Snippet:
    r = R(rng)
    bearer = r.pick(r.s(B64URL, 40), r.s(HEX, 40), r.s(ALNUM, 32) + "." + r.s(B64URL, 20))
    basic = base64.b64encode(f"{r.word()}-svc:{r.pw()}".encode()).decode()
    return one(r.pick(
        f'curl -sS -H "Authorization: Bearer {bearer}" https://api.{r.word()}.io/v2/items',
        f'headers = {{"Authorization": "Bearer {bearer}", "Accept": "application/json"}}',
        f"    headers: {{ Authorization: 'Bearer {bearer}' }},",
        f"Authorization: Bearer {bearer}",
        f"Authorization: Basic {basic}",
        f'req.Header.Set("Authorization", "Bearer {bearer}")',
        f'  -H "Authorization: Token {r.s(HEX, 40)}" \\',
        f"curl -H 'Authorization: Basic {basic}' https://nexus.internal/service/rest",
    ))


def cli_flag(rng: random.Random) -> Snippet:
    r = R(rng)
    pw = r.pw(16)
    return one(r.pick(
        f"./manage.py createsuperuser --password '{pw}' --noinput",
        f"deploy --db-password={pw} --env prod",
        f"mysql -uroot -p{r.s(ALNUM, 14)} -h db.internal shop < dump.sql",
        f"mysqldump -u backup -p'{pw}' --all-databases > all.sql",
        f"openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:{r.s(ALNUM, 14)} -out a.p12",
        f"curl -u admin:{r.s(ALNUM, 16)} https://jenkins.internal/job/build/build",
        f"sshpass -p '{pw}' ssh ops@bastion.internal",
        f"vault login -method=userpass username=ci password={r.s(ALNUM, 16)}",
        f"docker login -u ci -p {r.s(ALNUM, 20)} registry.internal",
        f"redis-cli -h cache.internal -a {r.s(ALNUM, 20)} ping",
        f"az login --service-principal -u {r.uuid()} --password {r.s(ALNUM, 34)} --tenant x",
    ))


def sql(rng: random.Random) -> Snippet:
    r = R(rng)
    pw = r.pw(16)
    return one(r.pick(
        f"CREATE USER '{r.word()}'@'%' IDENTIFIED BY '{pw}';",
        f"ALTER USER {r.word()} IDENTIFIED BY '{pw}';",
        f"CREATE ROLE {r.word()} WITH LOGIN PASSWORD '{pw}';",
        f"ALTER ROLE {r.word()} WITH PASSWORD '{pw}' VALID UNTIL 'infinity';",
        f"CREATE USER {r.word()} WITH ENCRYPTED PASSWORD '{pw}';",
        f"GRANT ALL ON shop.* TO 'app'@'localhost' IDENTIFIED BY '{pw}';",
    ))


def setter(rng: random.Random) -> Snippet:
    r = R(rng)
    pw = r.pw(16)
    return one(r.pick(
        f'curl_setopt($ch, CURLOPT_USERPWD, "api:{r.s(ALNUM, 18)}");',
        f'curl_setopt($ch, CURLOPT_PASSWORD, "{pw}");',
        f'dataSource.setPassword("{pw}");',
        f'client.Credentials = new NetworkCredential("svc-mail", "{pw}");',
        f'resp = requests.get(url, auth=("deploy", "{pw}"))',
        f'session.auth = HTTPBasicAuth("ci", "{pw}")',
        f'    .password("{pw}")',
        f'config.setApiKey("{r.s(ALNUM, 32)}");',
    ))


def url(rng: random.Random) -> Snippet:
    r = R(rng)
    pw = r.s(ALNUM, 18)
    return one(r.pick(
        f"DATABASE_URL=postgres://{r.word()}:{pw}@db.internal:5432/{r.word()}",
        f'  url: "mysql://root:{pw}@mysql.internal:3306/shop"',
        f"MONGO_URI=mongodb+srv://svc:{pw}@cluster0.abcde.mongodb.net/prod",
        f"redis_url = 'redis://default:{pw}@cache.internal:6379/0'",
        f"amqp://orders:{pw}@rabbit.internal:5672/",
        f'"ConnectionString": "Server=tcp:sql.internal,1433;Database=app;User ID=app;Password={pw};"',
        f"jdbc:postgresql://db.internal:5432/app?user=app&password={pw}",
    ))


def private_key(rng: random.Random) -> Snippet:
    r = R(rng)
    kind = r.pick("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY")
    body = [r.s(B64, 64) for _ in range(rng.randrange(6, 14))]
    if rng.random() < 0.3:
        joined = "\\n".join(body)
        return one(f'  "private_key": "-----BEGIN {kind}-----\\n{joined}\\n-----END {kind}-----\\n",',
                   ".json")
    return [f"-----BEGIN {kind}-----", *body, f"-----END {kind}-----"], [0], ".pem"


def named_provider(rng: random.Random) -> Snippet:
    r = R(rng)
    return one(r.pick(
        f"SNYK_TOKEN={r.uuid()}", f'HEROKU_API_KEY="{r.uuid()}"', f"SONAR_TOKEN={r.s(HEX, 40)}",
        f"hubspot_api_key: {r.uuid()}", f'FINNHUB_API_KEY = "{r.s(LOWER_DIGITS, 20)}"',
        f'ASANA_CLIENT_SECRET="{r.s(LOWER_DIGITS, 32)}"', f"sendbird_api_token: {r.s(HEX, 40)}",
        f'LINKEDIN_CLIENT_SECRET = "{r.s(ALNUM, 16)}"', f"SUMO_ACCESS_KEY={r.s(ALNUM, 64)}",
        f'DISCORD_CLIENT_SECRET="{r.s(B64URL, 32)}"', f"KUCOIN_API_KEY={r.s(HEX, 24)}",
        f"MESSAGEBIRD_API_KEY={r.s(ALNUM, 25)}", f"squarespace_api_key = '{r.uuid()}'",
    ))


# --- negatives: look-alikes per family, and the shared pool --------------------------------


def provider_neg(rng: random.Random) -> Snippet:
    r = R(rng)
    return look_alike(r.pick(
        "ghp_" + "x" * 36, "sk_live_" + "0123456789abcdefghijklmn", "AKIAIOSFODNN7EXAMPLE",
        f'STRIPE_PUBLISHABLE_KEY = "pk_live_{r.s(ALNUM, 24)}"', "SLACK_TOKEN=xoxb-your-token-here",
        "token: ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", f"# see https://github.com/{r.word()}/ghp_rules",
        "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}", "NPM_TOKEN=${NPM_TOKEN}",
    ))


def generic_neg(rng: random.Random) -> Snippet:
    r = R(rng)
    return look_alike(r.pick(
        'password = os.getenv("DB_PASSWORD")', "password: ${DB_PASSWORD}", 'password: "changeme"',
        'api_key: "<your-api-key>"', 'token = request.headers["X-Token"]', "PASSWORD_MIN_LENGTH = 12",
        f'password_hash = "$2b$12${r.s(B64, 53)}"', "secret: vault:kv/data/app#password",
        'tokenizer = "bert-base-uncased"', 'csrf_token = "{{ csrf_token() }}"',
        f'public_key = "{r.s(B64, 44)}"', f"request_id: {r.uuid()}", "password_file: /run/secrets/db",
        'auth_token = get_token(scope="read")', "const token = process.env.API_TOKEN;",
        f'search_only_api_key: "{r.s(HEX, 32)}"', "secret_name: app-db-credentials",
        'password: "********"', f"tokenCount = {rng.randrange(1, 9999)}",
        'password = ""', "SECRET_KEY = env('SECRET_KEY')", "passwordField.setText(\"\")",
        f'{r.pick("next_token", "page_token")} = "{r.s(B64URL, 32)}"',
        f'checksum_sha256 = "{r.s(HEX, 64)}"', "password: !vault |", 'token_type = "Bearer"',
    ))


def header_neg(rng: random.Random) -> Snippet:
    return look_alike(R(rng).pick(
        "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com", "Authorization: Bearer <token>",
        'headers["Authorization"] = "Bearer " + token', "Authorization: Bearer ${{ secrets.API_TOKEN }}",
        "  -H 'Authorization: Bearer ${ACCESS_TOKEN}' \\",
        'fetch(url, { headers: { Authorization: `Bearer ${t}` } })',
        "WWW-Authenticate: Basic realm=\"staging\"", "Authorization: Basic <base64(user:pass)>",
    ))


def cli_neg(rng: random.Random) -> Snippet:
    return look_alike(R(rng).pick(
        'echo "$REGISTRY_TOKEN" | docker login --password-stdin -u ci registry.internal',
        'deploy --db-password "$DB_PASSWORD"', "docker run -p 8080:80 nginx", "mysql -u root -p shop",
        "vault login -method=github token=${GITHUB_TOKEN}", "openssl rsa -passin env:KEY_PASS -in key.pem",
        "curl -u \"$USER:$PASS\" https://x.internal", "  --password <password>   Password for the admin user",
    ))


def sql_neg(rng: random.Random) -> Snippet:
    r = R(rng)
    return look_alike(r.pick(
        f"CREATE USER 'app'@'%' IDENTIFIED BY PASSWORD '*{r.s(HEX.upper(), 40)}';",
        f"ALTER ROLE app WITH PASSWORD 'md5{r.s(HEX, 32)}';", "CREATE USER app IDENTIFIED BY :password;",
        "ALTER USER app PASSWORD NULL;", "-- rotate the password with ALTER USER ... PASSWORD '...'",
    ))


def setter_neg(rng: random.Random) -> Snippet:
    return look_alike(R(rng).pick(
        'ds.setPassword(System.getenv("DB_PASSWORD"));', "auth=(user, password)",
        "curl_setopt($ch, CURLOPT_USERPWD, $user . ':' . $pass);", 'builder.password("")',
        'client.Credentials = new NetworkCredential(user, Environment.GetEnvironmentVariable("PW"));',
    ))


def url_neg(rng: random.Random) -> Snippet:
    return look_alike(R(rng).pick(
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app", "postgres://app@db.internal/app",
        "https://user:<password>@example.com/repo.git", "redis://localhost:6379/0",
        "mongodb://${MONGO_USER}:${MONGO_PASS}@mongo:27017", "jdbc:postgresql://db:5432/app",
    ))


def key_neg(rng: random.Random) -> Snippet:
    r = R(rng)
    public = [r.s(B64, 64) for _ in range(5)]
    cert = [r.s(B64, 64) for _ in range(8)]
    choices: list[Snippet] = [
        (["-----BEGIN PUBLIC KEY-----", *public, "-----END PUBLIC KEY-----"], [], ""),
        (["-----BEGIN CERTIFICATE-----", *cert, "-----END CERTIFICATE-----"], [], ""),
        ([f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{r.s(B64, 43)} deploy@ci"], [], ""),
        (["-----BEGIN RSA PRIVATE KEY-----", "...", "-----END RSA PRIVATE KEY-----"], [], ""),
    ]
    return rng.choice(choices)


def named_neg(rng: random.Random) -> Snippet:
    r = R(rng)
    return look_alike(r.pick(
        f"SNYK_ORG_ID={r.uuid()}", f"sonar.projectKey={r.word()}-{r.word()}", "HEROKU_APP_NAME=acme-prod",
        f"hubspot_portal_id: {rng.randrange(10**6, 10**8)}", f"discord_channel_id: {r.s(string.digits, 18)}",
        "SNYK_TOKEN: ${{ secrets.SNYK_TOKEN }}",
    ))


def pool_neg(rng: random.Random) -> Snippet:
    r = R(rng)
    return look_alike(r.pick(
        f'      "integrity": "sha512-{r.s(B64, 86)}==",',
        f"github.com/{r.word()}/{r.word()} v1.{rng.randrange(20)}.0 h1:{r.s(B64, 43)}=",
        f'    {{"id": "{r.uuid()}", "status": "ok", "trace": "{r.s(HEX, 32)}"}}',
        f"* {r.s(HEX, 40)} Merge pull request #{rng.randrange(9999)} from {r.word()}/fix",
        f'<img src="data:image/png;base64,{r.s(B64, 120)}=">',
        f'!function(e,t){{var n="{r.s(ALNUM, 40)}",r=e.{r.s(string.ascii_lowercase, 2)}(t);return n+r}}',
        f'{{"version":3,"sources":["app.ts"],"mappings":"{r.s(B64 + ";,", 120)}"}}',
        f"  resolved \"https://registry.yarnpkg.com/{r.word()}/-/{r.word()}-1.2.3.tgz#{r.s(HEX, 40)}\"",
        f'etag: "{r.s(HEX, 32)}"', f"  - sha256:{r.s(HEX, 64)}",
        'password: "test1234"  # fixture', "api_key = 'YOUR_API_KEY'",
        f'file_hash = "{r.s(HEX, 40)}"', f"commit: {r.s(HEX, 40)}",
        f'nonce = "{r.s(B64, 24)}"', f'"{r.word()}": "{r.s(B64, 64)}"',
    ))


FAMILIES: dict[str, tuple[Maker, Maker]] = {
    "provider-prefix": (provider, provider_neg),
    "generic-keyword": (generic, generic_neg),
    "auth-header": (header, header_neg),
    "cli-flag": (cli_flag, cli_neg),
    "sql": (sql, sql_neg),
    "api-setter": (setter, setter_neg),
    "connection-url": (url, url_neg),
    "private-key": (private_key, key_neg),
    "named-provider": (named_provider, named_neg),
}

# Where each family's snippets live, with code around them.
SUFFIXES = {
    "provider-prefix": [".env", ".yml", ".json", ".py", ".ts", ".sh", "Dockerfile", ".tf", ".npmrc"],
    "generic-keyword": [".go", ".php", ".java", "Makefile", ".config", ".xml", ".json", ".yaml",
                        ".ini", ".properties", ".cs", ".rs", ".kt", ".ps1", ".tfvars", ".env", ".py"],
    "auth-header": [".sh", ".py", ".js", ".http", ".md", ".go"],
    "cli-flag": [".sh", "Dockerfile", ".yml", ".md", "Makefile"],
    "sql": [".sql"],
    "api-setter": [".php", ".java", ".cs", ".py"],
    "connection-url": [".env", ".yaml", ".json", ".properties", ".py"],
    "private-key": [".pem", ".json", ".key", ".txt"],
    "named-provider": [".env", ".yaml", ".py", ".sh"],
}
FILLER = [
    "import os", "from typing import Any", "def handler(event, context):", "    return {'ok': True}",
    "package main", 'import "fmt"', "func main() { fmt.Println(\"ready\") }", "<?php", "namespace App;",
    "public class Service {", "}", "server:", "  port: 8080", "logging:", "  level: info",
    "[database]", "host = db.internal", "FROM python:3.12-slim", "RUN pip install -r requirements.txt",
    "#!/usr/bin/env bash", "set -euo pipefail", "SELECT id, name FROM users WHERE active = 1;",
    "resource \"aws_s3_bucket\" \"logs\" {", "  bucket = \"acme-logs\"", "# configuration",
    "const app = express();", "app.listen(3000);", "<configuration>", "</configuration>",
]


def _file(
    rng: random.Random, family: str, snippets: list[Snippet], index: int
) -> tuple[str, str, list[int]]:
    hinted = [hint for _, _, hint in snippets if hint]
    suffix = hinted[0] if hinted else rng.choice(
        SUFFIXES.get(family, [".txt", ".json", ".lock", ".js", ".map", ".md"]))
    name = f"{family}/{index:04d}{'/' + suffix if not suffix.startswith('.') else suffix}"
    lines: list[str] = []
    secret_lines: list[int] = []
    for snippet_lines, secret_at, _ in snippets:
        lines += rng.sample(FILLER, rng.randrange(2, 6))
        secret_lines += [len(lines) + i + 1 for i in secret_at]
        lines += snippet_lines
    lines += rng.sample(FILLER, 2)
    return name, "\n".join(lines) + "\n", secret_lines


def generate(out: Path, scale: float, seed: int) -> dict[str, list[tuple[str, int]]]:
    rng = random.Random(seed)
    files = out / "files"
    labels: dict[str, list[tuple[str, int]]] = defaultdict(list)
    counts = {family: max(4, int(120 * scale)) for family in FAMILIES}
    counts["generic-keyword"] *= 3
    index = 0

    def write(name: str, text: str) -> None:
        path = files / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    for family, (positive, negative) in FAMILIES.items():
        for n in range(counts[family]):
            snippets = [positive(rng)] + [negative(rng) for _ in range(rng.randrange(1, 4))]
            rng.shuffle(snippets)
            name, text, secret_lines = _file(rng, family, snippets, index)
            index += 1
            write(name, text)
            labels[family] += [(name, line) for line in secret_lines]
            if n % 3 == 0:  # a file with look-alikes only
                name, text, _ = _file(rng, family, [negative(rng) for _ in range(3)], index)
                index += 1
                write(name, text)
    for _ in range(int(500 * scale)):
        pool = [pool_neg(rng) for _ in range(rng.randrange(3, 9))]
        name, text, _ = _file(rng, "hard-negatives", pool, index)
        index += 1
        write(name, text)
    labels["hard-negatives"] = []
    (out / "labels.json").write_text(json.dumps(labels))
    return labels


def score(
    found: set[tuple[str, int]], labels: dict[str, list[tuple[str, int]]]
) -> dict[str, tuple[int, int, int]]:
    """Per family: (true positives, false positives, planted)."""
    truth = {(p, line): family for family, items in labels.items() for p, line in items}
    result: dict[str, list[int]] = {f: [0, 0, 0] for f in [*FAMILIES, "hard-negatives"]}
    for family, items in labels.items():
        if family in result:
            result[family][2] = len(items)
    for path, line in found:
        family = path.split("/", 1)[0]
        if family not in result:
            continue
        if (path, line) in truth:
            result[family][0] += 1
        else:
            result[family][1] += 1
    return {f: (v[0], v[1], v[2]) for f, v in result.items()}


def _pr(tp: int, fp: int, planted: int) -> str:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / planted if planted else float("nan")
    return f"{precision:5.2f} {recall:5.2f}" if planted else f"{precision:5.2f}   fp={fp}"


def report(scale: float, seed: int) -> Iterator[str]:
    """Generate the corpus, run the three tools, yield the table's lines (ratio last)."""
    out = WORK / f"corpus-{scale:g}-{seed}"
    if out.exists():
        shutil.rmtree(out)
    labels = generate(out, scale, seed)
    files = out / "files"
    every = sorted(str(p.relative_to(files)) for p in files.rglob("*") if p.is_file())
    runs = {
        "vaultline": run_vaultline(files, os.cpu_count() or 1)[1],
        "gitleaks": run_gitleaks(files)[1],
        "detect-secrets": run_detect_secrets(files, every)[1],
    }
    scores = {tool: score(found, labels) for tool, found in runs.items()}
    planted = sum(len(v) for k, v in labels.items() if k in FAMILIES)
    yield (f"corpus: {len(every)} files, {planted} planted secrets in {len(FAMILIES)} families "
           f"(seed {seed}); each cell is precision recall")
    yield f"{'family':18s} {'planted':>7s}  " + "  ".join(f"{t:>14s}" for t in runs)
    for family in [*FAMILIES, "hard-negatives"]:
        cells = "  ".join(f"{_pr(*scores[t][family]):>14s}" for t in runs)
        yield f"{family:18s} {scores['vaultline'][family][2]:7d}  {cells}"
    f1: dict[str, float] = {}
    for tool in runs:
        tp = sum(v[0] for v in scores[tool].values())
        fp = sum(v[1] for v in scores[tool].values())
        p, r = tp / (tp + fp) if tp + fp else 1.0, tp / planted
        f1[tool] = 2 * p * r / (p + r) if p + r else 0.0
        yield (f"overall {tool:14s} precision {p:.3f} recall {r:.3f} F1 {f1[tool]:.3f} "
               f"(tp {tp}, fp {fp})")
    missed = Counter(path.split("/")[0] for family, items in labels.items() if family in FAMILIES
                     for path, line in items if (path, line) not in runs["vaultline"])
    yield f"vaultline misses by family: {dict(missed.most_common())}"
    yield ("caveat: written by vaultline's authors (no vaultline code imported); the other tools "
           "never saw it, so vaultline's figures here are an upper bound")
    best_other = max(f1["gitleaks"], f1["detect-secrets"])
    yield f"ratio vaultline/best-other F1: {f1['vaultline'] / best_other:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    for line in report(args.scale, args.seed):
        print(line, flush=True)


if __name__ == "__main__":
    main()
