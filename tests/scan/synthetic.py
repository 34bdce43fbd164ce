"""Synthetic secrets for tests and the benchmark corpus: one template per rule.

Templates keep real-looking credentials out of the repository (push protection, scanners):
``expand("ghp_{A36}", rng)`` builds a fresh random token at runtime. Placeholders:

    {A36} letters+digits  {L34} letters  {l8} lowercase  {a43} lowercase+digits
    {h32} lowercase hex   {U16} A-Z2-7   {d10} digits    {b40} base64  {s43} base64url
    {P20} password (letters, digits, symbols)   {uuid}   {jwt}   {dockerauth}
    {pem:LABEL}  a PEM block ``-----BEGIN LABEL-----`` … ``-----END LABEL-----``
    {putty}  a PuTTY key file    {bech58} 58 bech32 characters (upper case)
"""

from __future__ import annotations

import base64
import json
import random
import re
import string

_ALPHABETS = {
    "A": string.ascii_letters + string.digits,
    "L": string.ascii_letters,
    "l": string.ascii_lowercase,
    "a": string.ascii_lowercase + string.digits,
    "h": "0123456789abcdef",
    "U": string.ascii_uppercase + "234567",
    "d": string.digits,
    "b": string.ascii_letters + string.digits + "+/",
    "s": string.ascii_letters + string.digits + "-_",
    "P": string.ascii_letters + string.digits + "!#%&*+-.=?@^_~",
}
_TOKEN = re.compile(r"\{([ALlahUdbsP])(\d+)\}|\{(uuid|jwt|dockerauth|putty|bech58)\}|\{pem:([^}]+)\}")


def _random(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _password(rng: random.Random, n: int) -> str:
    # Guarantee the classes a generated password has, so every sample is a clear positive.
    core = [rng.choice(string.ascii_lowercase), rng.choice(string.ascii_uppercase),
            rng.choice(string.digits), rng.choice("!#%&*+-.=?@^_~")]
    core += [rng.choice(_ALPHABETS["P"]) for _ in range(n - 4)]
    rng.shuffle(core)
    return "".join(core)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _special(name: str, rng: random.Random) -> str:
    if name == "uuid":
        h = _random(rng, _ALPHABETS["h"], 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    if name == "jwt":
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps({"sub": _random(rng, _ALPHABETS["a"], 12),
                                      "iat": rng.randrange(1_600_000_000, 1_800_000_000)}).encode())
        return f"{header}.{payload}.{_random(rng, _ALPHABETS['s'], 43)}"
    if name == "dockerauth":
        user_pass = f"deploy:{_random(rng, _ALPHABETS['A'], 20)}"
        return base64.b64encode(user_pass.encode()).decode()
    if name == "bech58":
        return _random(rng, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
    body = "\n".join(_random(rng, _ALPHABETS["b"], 64) for _ in range(6))
    return (
        "PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: deploy\n"
        f"Public-Lines: 2\n{_random(rng, _ALPHABETS['b'], 64)}\n{_random(rng, _ALPHABETS['b'], 40)}\n"
        f"Private-Lines: 6\n{body}\nPrivate-MAC: {_random(rng, _ALPHABETS['h'], 64)}"
    )


def _pem(label: str, rng: random.Random) -> str:
    lines = [_random(rng, _ALPHABETS["b"], 64) for _ in range(12)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def expand(template: str, rng: random.Random) -> str:
    def one(m: re.Match[str]) -> str:
        kind, count, special, pem = m.groups()
        if pem:
            return _pem(pem, rng)
        if special:
            return _special(special, rng)
        if kind == "P":
            return _password(rng, int(count))
        return _random(rng, _ALPHABETS[kind], int(count))

    return _TOKEN.sub(one, template)


# One template per rule id: the secret in the minimal context its rule needs.
SAMPLES: dict[str, str] = {
    "aws-access-key-id": "AKIA{U16}",
    "aws-secret-access-key": 'aws_secret_access_key = "{b40}"',
    "aws-session-token": "aws_session_token = {b160}",
    "aws-mws-key": "amzn.mws.{h8}-{h4}-{h4}-{h4}-{h12}",
    "github-pat": "ghp_{A36}",
    "github-oauth-token": "gho_{A36}",
    "github-app-token": "ghs_{A36}",
    "github-refresh-token": "ghr_{A36}",
    "github-fine-grained-pat": "github_pat_{A22}_{A59}",
    "gitlab-pat": "glpat-{s20}",
    "gitlab-pipeline-trigger-token": "glptt-{h40}",
    "gitlab-runner-token": "glrt-{s20}",
    "gitlab-deploy-token": "gldt-{s20}",
    "gitlab-feed-token": "glft-{s20}",
    "slack-bot-token": "xoxb-{d12}-{d13}-{A24}",
    "slack-user-token": "xoxp-{d12}-{d12}-{d13}-{h32}",
    "slack-app-token": "xapp-1-A{U10}-{d13}-{h64}",
    "slack-webhook-url": "https://hooks.slack.com/services/T{U10}/B{U10}/{A24}",
    "stripe-secret-key": "sk_live_{A32}",
    "stripe-restricted-key": "rk_live_{A32}",
    "stripe-webhook-secret": "whsec_{A32}",
    "square-access-token": "sq0atp-{s22}",
    "square-oauth-secret": "sq0csp-{s43}",
    "braintree-access-token": "access_token$production${a16}${h32}",
    "shopify-access-token": "shpat_{h32}",
    "shopify-shared-secret": "shpss_{h32}",
    "shippo-api-token": "shippo_live_{h40}",
    "gcp-api-key": "AIza{s35}",
    "gcp-service-account": '{"type": "service_account", "project_id": "acme-prod", '
    '"private_key_id": "{h40}", "client_email": "ci@acme-prod.iam.gserviceaccount.com"}',
    "gcp-oauth-client-secret": "GOCSPX-{s28}",
    "gcp-oauth-access-token": "ya29.{s80}",
    "firebase-cloud-messaging-key": "AAAA{s7}:APA91b{s134}",
    "azure-storage-connection-string": "DefaultEndpointsProtocol=https;AccountName=acmestore;"
    "AccountKey={b86}==;EndpointSuffix=core.windows.net",
    "azure-cosmosdb-connection-string": "AccountEndpoint=https://acme.documents.azure.com:443/;"
    "AccountKey={b86}==;",
    "azure-storage-account-key": 'AZURE_STORAGE_KEY="{b86}=="',
    "azure-service-bus-connection-string": "Endpoint=sb://acme-bus.servicebus.windows.net/;"
    "SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={b43}=",
    "azure-ad-client-secret": "{A3}8Q~{A34}",
    "azure-sas-token": "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&sp=r"
    "&se=2030-01-01T00:00:00Z&sig={A43}%3D",
    "openai-api-key": "sk-proj-{s40}T3BlbkFJ{s40}",
    "anthropic-api-key": "sk-ant-api03-{s93}AA",
    "anthropic-admin-key": "sk-ant-admin01-{s93}AA",
    "huggingface-token": "hf_{L34}",
    "groq-api-key": "gsk_{A52}",
    "replicate-api-token": "r8_{A37}",
    "perplexity-api-key": "pplx-{A48}",
    "npm-access-token": "npm_{A36}",
    "pypi-upload-token": "pypi-AgEIcHlwaS5vcmc{s70}",
    "rubygems-api-key": "rubygems_{h48}",
    "nuget-api-key": "oy2{a43}",
    "clojars-api-token": "CLOJARS_{a60}",
    "dockerhub-pat": "dckr_pat_{s27}",
    "pulumi-access-token": "pul-{h40}",
    "terraform-cloud-token": "{A14}.atlasv1.{s67}",
    "docker-config-auth": '{"auths": {"registry.acme.io": {"auth": "{dockerauth}"}}}',
    "vault-service-token": "hvs.{s90}",
    "vault-batch-token": "hvb.{s120}",
    "vault-legacy-token": "VAULT_TOKEN=s.{A24}",
    "twilio-api-key": "SK{h32}",
    "twilio-auth-token": 'TWILIO_AUTH_TOKEN="{h32}"',
    "sendgrid-api-key": "SG.{s22}.{s43}",
    "mailgun-api-key": "key-{h32}",
    "mailchimp-api-key": "{h32}-us14",
    "telegram-bot-token": "{d10}:AA{s33}",
    "discord-webhook-url": "https://discord.com/api/webhooks/{d18}/{s68}",
    "teams-webhook-url": "https://acme.webhook.office.com/webhookb2/{uuid}@{uuid}"
    "/IncomingWebhook/{h32}/{uuid}",
    "pem-rsa-private-key": "{pem:RSA PRIVATE KEY}",
    "pem-ec-private-key": "{pem:EC PRIVATE KEY}",
    "pem-private-key": "{pem:PRIVATE KEY}",
    "openssh-private-key": "{pem:OPENSSH PRIVATE KEY}",
    "pgp-private-key-block": "{pem:PGP PRIVATE KEY BLOCK}",
    "putty-private-key": "{putty}",
    "age-secret-key": "AGE-SECRET-KEY-1{bech58}",
    "jwt": "{jwt}",
    "postgres-url-password": "postgresql://app_user:{A16}@db.acme.internal:5432/app",
    "mysql-url-password": "mysql://root:{A16}@mysql.acme.internal:3306/shop",
    "mongodb-url-password": "mongodb+srv://svc:{A16}@cluster0.acme.mongodb.net/prod",
    "redis-url-password": "redis://default:{A20}@cache.acme.internal:6379/0",
    "amqp-url-password": "amqp://orders:{A16}@rabbit.acme.internal:5672/",
    "http-basic-auth-url": "https://deploy:{A16}@artifacts.acme.io/repo",
    "connection-string-password": "Server=tcp:sql.acme.net,1433;Database=app;User ID=app;"
    "Password={A16};Encrypt=true",
    "datadog-api-key": "DD_API_KEY={h32}",
    "newrelic-user-api-key": "NRAK-{U27}",
    "newrelic-license-key": "{h36}NRAL",
    "sentry-auth-token": "sntrys_{A60}",
    "heroku-api-key": "HRKU-AA{s58}",
    "digitalocean-pat": "dop_v1_{h64}",
    "digitalocean-oauth-token": "doo_v1_{h64}",
    "linear-api-key": "lin_api_{A40}",
    "notion-integration-token": "ntn_{d11}{A35}",
    "figma-pat": "figd_{s40}",
    "doppler-token": "dp.pt.{A43}",
    "grafana-service-account-token": "glsa_{A32}_{h8}",
    "grafana-cloud-token": "glc_{A80}",
    "atlassian-api-token": "ATATT3{s186}",
    "planetscale-token": "pscale_tkn_{s43}",
    "postman-api-key": "PMAK-{h24}-{h34}",
    "databricks-token": "dapi{h32}",
    "flyio-token": "fo1_{s43}",
    "supabase-access-token": "sbp_{h40}",
    "mapbox-secret-token": "sk.eyJ{s60}.{s22}",
    "dynatrace-api-token": "dt0c01.{U24}.{U64}",
    "easypost-api-key": "EZAK{a54}",
    "prefect-api-key": "pnu_{A36}",
    "readme-api-key": "rdme_{a70}",
    "onepassword-service-account-token": "ops_eyJ{b260}",
    "okta-api-token": 'OKTA_API_TOKEN="00{s40}"',
    "generic-secret": 'DB_PASSWORD="{P20}"',
    "pem-encrypted-private-key": "{pem:ENCRYPTED PRIVATE KEY}",
    "gitlab-ci-build-token": "glcbt-{A2}_{s20}",
    "gitlab-oauth-app-secret": "gloas-{s64}",
    "gitlab-runner-registration-token": "GR1348941{s20}",
    "gitlab-incoming-mail-token": "glimt-{s25}",
    "gitlab-scim-token": "glsoat-{s20}",
    "gitlab-feature-flag-token": "glffct-{s20}",
    "gitlab-agent-token": "glagent-{s50}",
    "slack-legacy-token": "xoxa-2-{d12}-{d12}-{A32}",
    "discord-bot-token": "M{A23}.{s6}.{s27}",
    "discord-client-secret": 'DISCORD_CLIENT_SECRET="{s32}"',
    "messagebird-api-key": "MESSAGEBIRD_API_KEY={A25}",
    "sendbird-api-token": 'sendbird_api_token: "{h40}"',
    "posthog-api-key": "phc_{A43}",
    "cloudflare-api-token": "cfat_{s40}",
    "cloudflare-global-api-key": "CLOUDFLARE_API_KEY={h37}",
    "sourcegraph-access-token": "sgp_{h16}_{h40}",
    "settlemint-token": "sm_pat_{A16}",
    "sonar-token": "squ_{h40}",
    "sonar-named-token": "SONAR_TOKEN={h40}",
    "hubspot-private-app-token": "pat-na1-{uuid}",
    "hubspot-api-key": 'HUBSPOT_API_KEY="{uuid}"',
    "snyk-api-token": "SNYK_TOKEN={uuid}",
    "squarespace-access-token": 'squarespace_api_key = "{uuid}"',
    "finnhub-api-key": "FINNHUB_API_KEY={a20}",
    "asana-client-secret": 'ASANA_CLIENT_SECRET="{a32}"',
    "asana-pat": "1/{d16}:{h32}",
    "kucoin-api-key": "KUCOIN_API_KEY={h24}",
    "linkedin-client-secret": 'LINKEDIN_CLIENT_SECRET="{A16}"',
    "sumologic-access-key": "SUMO_ACCESS_KEY={A64}",
    "http-bearer-token": 'curl -H "Authorization: Bearer {s40}" https://api.acme.io/v1',
    "http-basic-auth-header": "Authorization: Basic {dockerauth}",
    "http-ntlm-negotiate-header": "Authorization: NTLM TlRMTVNTUAAD{b80}",
    "cli-password-flag": "./deploy.sh --db-password '{P16}' --host db",
    "mysql-password-flag": "mysql -u root -p'{P14}' shop < dump.sql",
    "openssl-pass-argument": "openssl rsa -in key.pem -passin pass:{P14} -out plain.pem",
    "cli-user-password": "curl -sS -u deploy:{P16} https://artifacts.acme.io/upload",
    "cli-login-password": "docker login -u ci -p {A20} registry.acme.io",
    "sshpass-password": "sshpass -p '{P14}' ssh ops@bastion",
    "sql-identified-by": "CREATE USER 'app'@'%' IDENTIFIED BY '{P16}';",
    "sql-password-clause": "CREATE ROLE app WITH LOGIN PASSWORD '{P16}';",
    "curl-option-password": 'curl_setopt($ch, CURLOPT_USERPWD, "deploy:{A16}");',
    "setter-password": 'ds.setPassword("{P16}");',
    "basic-auth-argument": 'requests.get(url, auth=("deploy", "{P16}"))',
}
