"""Per-family ``(line, should_flag)`` tables: every rule's true cases and its near misses.

True cases are synthetic secrets built at runtime (``conftest.secret``) placed in the kinds
of lines they appear in; false cases are the look-alikes each family must not flag.
"""

from __future__ import annotations

import importlib

import pytest

from tests.scan.conftest import flagged, secret
from tests.scan.synthetic import SAMPLES
from vaultline.scan.detectors import all_detectors, by_rule_id
from vaultline.scan.engine import Scanner


def _true(rule_id: str) -> list[tuple[str, str, bool]]:
    """The sample bare, quoted in code, and in YAML (unless it already carries context)."""
    value = secret(rule_id)
    if "\n" in value or '"' in value or "=" in SAMPLES[rule_id].split("{")[0]:
        return [(rule_id, value, True), (rule_id, secret(rule_id, 1), True)]
    return [
        (rule_id, f'client = Client(key="{value}")', True),
        (rule_id, f"  credential: {secret(rule_id, 1)}", True),
    ]


def _family(module: str) -> list[str]:
    family = importlib.import_module(f"vaultline.scan.detectors.{module}")
    return [d.rule_id for d in family.DETECTORS]


def _table(module: str, false_cases: list[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    rows = [row for rule_id in _family(module) for row in _true(rule_id)]
    return rows + [(rule_id, line, False) for rule_id, line in false_cases]


AKIA = "AKIA"
TABLES: dict[str, list[tuple[str, str, bool]]] = {
    "aws": _table("aws", [
        ("aws-access-key-id", AKIA + "IOSFODNN7" + "EXAMPLE"),
        ("aws-access-key-id", AKIA + "1234567890"),  # too short
        ("aws-access-key-id", "X" + AKIA + "QZ3XK7PLM2NW4RT6ABC"),  # inside a longer word
        ("aws-secret-access-key", 'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY'
         + 'EXAMPLEKEY"'),
        ("aws-secret-access-key", "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}"),
        ("aws-secret-access-key", 'aws_secret_access_key = "' + "a" * 40 + '"'),
        ("aws-session-token", "aws_session_token = os.environ['AWS_SESSION_TOKEN']"),
        ("aws-mws-key", "amzn.mws.not-a-uuid"),
    ]),
    "github": _table("github", [
        ("github-pat", "ghp_" + "x" * 36),
        ("github-pat", "ghp_short"),
        ("github-pat", "prefix_ghp_" + "A1b2" * 9 + "tail"),
        ("github-oauth-token", "gho_" + "0" * 36),
        ("github-fine-grained-pat", "github_pat_" + "<your-token-here>"),
    ]),
    "gitlab": _table("gitlab", [
        ("gitlab-pat", "glpat-xxxxxxxxxxxxxxxxxxxx"),
        ("gitlab-pat", "glpat-" + "${GITLAB_TOKEN}"),
        ("gitlab-pipeline-trigger-token", "glptt-" + "0" * 40),
        ("gitlab-runner-token", "glrt-short"),
    ]),
    "slack": _table("slack", [
        ("slack-bot-token", "xoxb-your-bot-token-here"),
        ("slack-bot-token", "xoxb-123-456-abc"),
        ("slack-webhook-url", "https://hooks.slack.com/services/T000/B000/XXXX"),
        ("slack-user-token", "xoxp-" + "1" * 10),
    ]),
    "payments": _table("payments", [
        ("stripe-secret-key", "sk_live_" + "x" * 24),
        ("stripe-secret-key", "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"),  # Stripe docs key
        ("stripe-secret-key", "sk_live_${STRIPE_KEY}"),
        ("stripe-webhook-secret", "whsec_..."),
        ("shopify-access-token", "shpat_" + "0" * 32),
    ]),
    "google": _table("google", [
        ("gcp-api-key", "AIza" + "x" * 35),
        ("gcp-api-key", "AIzaSy..."),
        ("gcp-service-account", '{"type": "service_account", "private_key_id": "<id>"}'),
        ("gcp-oauth-access-token", "ya29.short"),
    ]),
    "azure": _table("azure", [
        ("azure-storage-connection-string",
         "DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=<key>"),
        ("azure-storage-connection-string", "UseDevelopmentStorage=true"),
        ("azure-storage-account-key", 'AZURE_STORAGE_KEY="' + "A" * 86 + '=="'),
        ("azure-ad-client-secret", "abc8Q~short"),
        ("azure-sas-token", "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&sig=<sig>"),
    ]),
    "ai": _table("ai", [
        ("openai-api-key", "sk-" + "x" * 48),
        ("openai-api-key", "OPENAI_API_KEY=sk-..."),
        ("anthropic-api-key", "sk-ant-api03-" + "<your-key>"),
        ("huggingface-token", "hf_hub_download(repo_id)"),
        ("huggingface-token", "hf_" + "a" * 34),
    ]),
    "packages": _table("packages", [
        ("npm-access-token", "npm_" + "0" * 36),
        ("npm-access-token", "npm_config_registry=https://registry.npmjs.org"),
        ("pypi-upload-token", "pypi-token-goes-here"),
        ("nuget-api-key", "oy2" + "a" * 43),
        ("dockerhub-pat", "dckr_pat_" + "x" * 27),
    ]),
    "docker": _table("docker", [
        ("docker-config-auth", '{"auths": {"registry.acme.io": {"auth": ""}}}'),
        ("docker-config-auth", '{"auths": {"r.io": {"auth": "bm90LWEtY3JlZGVudGlhbA=="}}}'),
        ("docker-config-auth", '{"auths": {"r.io": {"auth": "${DOCKER_AUTH}"}}}'),
    ]),
    "hashicorp": _table("hashicorp", [
        ("vault-service-token", "hvs.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ("vault-service-token", "hvs.short"),
        ("vault-legacy-token", "VAULT_TOKEN=s.short"),
        ("vault-legacy-token", "VAULT_TOKEN=${VAULT_TOKEN}"),
    ]),
    "comms": _table("comms", [
        ("twilio-api-key", "SK" + "0" * 32),
        ("twilio-api-key", "TASK" + "1234"),
        ("twilio-auth-token", 'TWILIO_AUTH_TOKEN="your_auth_token"'),
        ("sendgrid-api-key", "SG.xxxxx.yyyyy"),
        ("mailgun-api-key", "key-" + "0" * 32),
        ("telegram-bot-token", "123:AA-short"),
        ("discord-webhook-url", "https://discord.com/api/webhooks/<id>/<token>"),
    ]),
    "keys": _table("keys", [
        ("pem-rsa-private-key", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----"),
        ("pem-private-key", 'if line.startswith("-----BEGIN PRIVATE KEY-----"):'),
        ("openssh-private-key", "-----BEGIN OPENSSH PRIVATE KEY-----\n<your key>\n"
         "-----END OPENSSH PRIVATE KEY-----"),
        ("pem-rsa-private-key", "-----BEGIN PUBLIC KEY-----\n" + "MIIBIjANBgkqhkiG9w0BAQEF" * 4
         + "\n-----END PUBLIC KEY-----"),
        ("age-secret-key", "AGE-SECRET-KEY-1..."),
    ]),
    "jwt": _table("jwt", [
        # base64 JSON that is not a JOSE header ({"foo": ...}), shaped like a JWT
        ("jwt", "eyJmb28iOiAiYmFyIn0.eyJzdWIiOiAiMTIzNCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"),
        ("jwt", "eyJhbGciOi..."),
    ]),
    "urls": _table("urls", [
        ("postgres-url-password", "postgres://user:${DB_PASSWORD}@db:5432/app"),
        ("postgres-url-password", "postgresql://user:password@localhost/app"),
        ("postgres-url-password", "postgres://localhost:5432/app"),
        ("mysql-url-password", "mysql://root:<password>@localhost/db"),
        ("redis-url-password", "redis://:changeme@localhost:6379"),
        ("http-basic-auth-url", "https://user:pass@example.com"),
        ("connection-string-password", "Server=db;Database=app;Password={{ .Values.password }};"),
    ]),
    "saas": _table("saas", [
        ("datadog-api-key", "DD_API_KEY=${DATADOG_API_KEY}"),
        ("datadog-api-key", "DD_API_KEY=" + "0" * 32),
        ("heroku-api-key", "heroku_api_key: 00000000-0000-0000-0000-000000000000"),
        ("linear-api-key", "lin_api_" + "x" * 40),
        ("databricks-token", "dapi" + "0" * 32),
        ("okta-api-token", "OKTA_API_TOKEN=00" + "x" * 40),
    ]),
    "headers": _table("headers", [
        ("http-bearer-token", "curl -H 'Authorization: Bearer $TOKEN' https://api.acme.io"),
        ("http-bearer-token", 'headers["Authorization"] = "Bearer " + token'),
        ("http-bearer-token", "Authorization: Bearer <token>"),
        ("http-basic-auth-header", "Authorization: Basic " + "QWxhZGRpbg=="),  # no colon
        ("http-ntlm-negotiate-header", "WWW-Authenticate: NTLM"),
    ]),
    "cli_flags": _table("cli_flags", [
        ("cli-password-flag", "docker login --password-stdin < token.txt"),
        ("cli-password-flag", 'vault login --token "$VAULT_TOKEN"'),
        ("cli-password-flag", "deploy --password ${{ secrets.DB_PASSWORD }}"),
        ("cli-password-flag", "  --password <password>   the database password"),
        ("mysql-password-flag", "mysql -u root -p shop"),
        ("mysql-password-flag", 'mysql -u root -p"$MYSQL_PWD" shop'),
        ("openssl-pass-argument", "openssl rsa -passin env:KEY_PASS -in k.pem"),
        ("cli-user-password", "curl -u \"$USER:$PASS\" https://x.io"),
        ("sshpass-password", 'sshpass -p "$SSHPASS" ssh ops@host'),
        ("cli-login-password", "docker run -p 8080:80 nginx"),
        ("cli-login-password", 'echo "$T" | docker login --password-stdin -u ci ghcr.io'),
    ]),
    "sql": _table("sql", [
        ("sql-identified-by", "CREATE USER 'app'@'%' IDENTIFIED BY PASSWORD '*" + "A1" * 20 + "';"),
        ("sql-identified-by", "CREATE USER app IDENTIFIED BY :password;"),
        ("sql-password-clause", "ALTER ROLE app WITH PASSWORD 'md5" + "3f" * 16 + "';"),
        ("sql-password-clause", "ALTER USER app PASSWORD NULL;"),
    ]),
    "setters": _table("setters", [
        ("setter-password", "ds.setPassword(System.getenv(\"DB_PASSWORD\"));"),
        ("setter-password", 'builder.token("")'),
        ("curl-option-password", "curl_setopt($ch, CURLOPT_USERPWD, $user . ':' . $pass);"),
        ("basic-auth-argument", "auth=(user, password)"),
        ("basic-auth-argument", 'auth=("deploy", os.environ["DEPLOY_PASSWORD"])'),
    ]),
    "generic": _table("generic", [
        ("generic-secret", 'password = "changeme"'),
        ("generic-secret", "password = os.environ['DB_PASSWORD']"),
        ("generic-secret", "DB_PASSWORD=${DB_PASSWORD}"),
        ("generic-secret", 'token: "{{ .Values.token }}"'),
        ("generic-secret", 'api_key = "<your-api-key>"'),
        ("generic-secret", 'password_file = "/run/secrets/db_password"'),
        ("generic-secret", "token = request.headers.get('Authorization')"),
        ("generic-secret", 'secret_sha256 = "' + "3f" * 32 + '"'),
        ("generic-secret", 'request_token = "123e4567-e89b-42d3-a456-426614174000"'),
        ("generic-secret", 'password = "password123"'),
        ("generic-secret", 'PASSWORD_MIN_LENGTH = "12"'),
        ("generic-secret", "secret: vault:kv/app/prod#db_password"),
        ("generic-secret", 'secret_key = "xxxxxxxxxxxxxxxxxxxxxxxx"'),
        ("generic-secret", 'token = "abcdefghijklmnop"'),
        ("generic-secret", 'pwdump = "Xk9mQ2vLp7wR4zT1"'),
        ("generic-secret", 'tokenizer = "Xk9mQ2vLp7wR4zT1"'),
        ("generic-secret", 'publicToken = "Xk9mQ2vLp7wR4zT1"'),
        ("generic-secret", 'credentialId = "Xk9mQ2vLp7wR4zT1"'),
        ("generic-secret", '<meta name="csrf-token" content="Xk9mQ2vLp7wR4zT1">'),
        ("generic-secret", 'csrf_token = "Xk9mQ2vLp7wR4zT1"'),
        ("generic-secret", 'ALGOLIA_SEARCH_API_KEY = "Xk9mQ2vLp7wR4zT1"'),
        ("generic-secret", 'GITHUB_TOKEN = "Xk9mQ2vLp7wR4zT1"'),
        ("generic-secret", 'PASS = "examplepass"'),
        ("generic-secret", "pw = compute_pw(user)"),
    ]),
}


def _rows() -> list[object]:
    return [
        pytest.param(rule_id, line, should_flag, id=f"{family}:{rule_id}:{i}:{should_flag}")
        for family, rows in TABLES.items()
        for i, (rule_id, line, should_flag) in enumerate(rows)
    ]


@pytest.mark.parametrize(("rule_id", "line", "should_flag"), _rows())
def test_detector_table(rule_id: str, line: str, should_flag: bool) -> None:
    assert (rule_id in flagged(line + "\n")) is should_flag


FALLBACK = Scanner(use_hyperscan=False)


@pytest.mark.parametrize(("rule_id", "line", "should_flag"), _rows())
def test_regex_prefilter_agrees_with_hyperscan(rule_id: str, line: str, should_flag: bool) -> None:
    assert flagged(line + "\n") == flagged(line + "\n", scanner=FALLBACK)


def test_registry_has_at_least_60_provider_rules_each_in_a_table() -> None:
    provider = [d for d in all_detectors() if d.rule_id != "generic-secret"]
    assert len(provider) >= 60
    tabled = {rule_id for rows in TABLES.values() for rule_id, _, flag in rows if flag}
    assert set(by_rule_id()) <= tabled
    assert all(d.keywords or d.anchors for d in all_detectors())


def test_generic_accepts_common_assignment_shapes() -> None:
    pw = secret("generic-secret").split('"')[1]
    for line, path in [
        (f'DB_PASSWORD="{pw}"', ".env.production"),
        (f"db_password: {pw}", "config/app.yaml"),
        (f'"apiKey": "{pw}"', "config.json"),
        (f"spring.datasource.password={pw}", "application.properties"),
        (f'const clientSecret = "{pw}";', "src/auth.ts"),
        (f"<password>{pw}</password>", "settings.xml"),
        (f'Password: "{pw}",', "main.go"),
    ]:
        assert flagged(line + "\n", path) == ["generic-secret"], line


def test_provider_rule_outranks_generic_on_the_same_secret() -> None:
    assert flagged(f'GITHUB_TOKEN = "{secret("github-pat")}"\n') == ["github-pat"]
