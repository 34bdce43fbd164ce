"""Labelled corpus for `bench/scan.py`: realistic files with planted secrets and hard negatives.

    python bench/scan_corpus.py --size-mb 200 --out bench/_work/scan/corpus-200

writes ``<out>/files/...`` (source, config, env, JSON, logs, docs, lock files) and
``<out>/labels.json``: every planted secret as ``{path, start, end, rule}`` (1-based line
range; PEM blocks and JSON documents span lines) and every hard negative as
``{path, line, kind}``. Secrets come from ``tests.scan.synthetic`` templates: every
rule is planted about equally often. Hard negatives are values no reviewer would call a
leaked secret: placeholders, provider example keys, hashes, UUIDs, base64 blobs, public
keys and certificates, secret references and ciphertexts, environment lookups.
The generator is deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.scan.synthetic import SAMPLES, expand

Rng = random.Random
WORDS = [
    "user",
    "order",
    "invoice",
    "payment",
    "account",
    "session",
    "cache",
    "queue",
    "worker",
    "report",
    "customer",
    "product",
    "inventory",
    "shipment",
    "billing",
    "profile",
    "config",
    "request",
    "response",
    "handler",
    "client",
    "server",
    "event",
    "metric",
    "audit",
    "tenant",
    "region",
    "cluster",
    "service",
    "gateway",
    "router",
    "schema",
    "record",
    "batch",
    "job",
    "task",
]


def ident(rng: Rng) -> str:
    return "_".join(rng.sample(WORDS, rng.choice((1, 2, 2, 3))))


def camel(rng: Rng) -> str:
    parts = rng.sample(WORDS, 2)
    return parts[0] + parts[1].capitalize()


def hexs(rng: Rng, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def uuid(rng: Rng) -> str:
    h = hexs(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def b64(rng: Rng, n: int) -> str:
    return base64.b64encode(rng.randbytes(n)).decode()


# --- filler: ordinary lines per file kind (they mention tokens and passwords, as code does) --


def py_line(rng: Rng) -> str:
    n, m = ident(rng), ident(rng)
    return rng.choice(
        [
            f"def {n}(self, {m}: str) -> dict:",
            f"    {n} = self.{m}.get({m!r})",
            f"    return {{'{n}': {m}, 'count': len({m})}}",
            f"    logger.info('processing {n} %s', {m})",
            f"class {camel(rng).capitalize()}Service:",
            f"    if not {n}:\n        raise ValueError('{n} is required')",
            f"import {rng.choice(['os', 'json', 'logging', 'typing', 'datetime'])}",
            f"from app.{n} import {m}",
            "",
            f"    token = self.auth.refresh_token({m})",
            "    password = request.form.get('password')",
            f"    secret = settings.{n.upper()}_SECRET",
            f"    # TODO: rotate the {n} key before release",
            f"    api_key = os.environ.get('{n.upper()}_API_KEY')",
            f"    {n}_id = uuid.uuid4().hex",
            f"    for {n} in {m}:\n        total += {n}.amount",
            f"    assert response.status_code == {rng.choice([200, 201, 204, 404])}",
        ]
    )


def js_line(rng: Rng) -> str:
    n, m = camel(rng), camel(rng)
    return rng.choice(
        [
            f"export async function {n}({m}) {{",
            f"  const {n} = await fetch(`/api/{m}`);",
            f"  return {{ {n}, {m} }};",
            "}",
            f"import {{ {n} }} from './{m}';",
            f"  const token = await getToken({m});",
            f"  if (!{n}.password) throw new Error('password required');",
            f"  headers.Authorization = `Bearer ${{{m}.accessToken}}`;",
            f"  console.log('{n} loaded', {m}.length);",
            f"  // secret rotation handled by {n}",
            "",
        ]
    )


def go_line(rng: Rng) -> str:
    n, m = camel(rng), camel(rng)
    return rng.choice(
        [
            f"func {n}(ctx context.Context, {m} string) error {{",
            f"\t{n}, err := client.Get(ctx, {m})",
            "\tif err != nil {\n\t\treturn err\n\t}",
            f'\ttoken := os.Getenv("{m.upper()}_TOKEN")',
            f'\tlog.Printf("{n}: %v", {m})',
            "}",
            "",
        ]
    )


def yaml_line(rng: Rng) -> str:
    n = ident(rng)
    return rng.choice(
        [
            f"{n}:",
            f"  replicas: {rng.randint(1, 9)}",
            f"  image: registry.acme.io/{n}:{rng.randint(1, 40)}.{rng.randint(0, 9)}.0",
            f"  {n}_timeout: {rng.randint(1, 120)}s",
            f"  secretName: {n.replace('_', '-')}-credentials",
            "  passwordSecretRef:\n    name: db-credentials\n    key: password",
            f"  tokenRef: {n}-token",
            f"  host: {n.replace('_', '-')}.svc.cluster.local",
            f"  enabled: {rng.choice(['true', 'false'])}",
        ]
    )


def env_line(rng: Rng) -> str:
    n = ident(rng).upper()
    return rng.choice(
        [
            f"{n}_URL=https://{n.lower().replace('_', '-')}.acme.internal",
            f"{n}_TIMEOUT={rng.randint(1, 60)}",
            f"{n}_ENABLED=true",
            f"LOG_LEVEL={rng.choice(['info', 'debug', 'warn'])}",
            f"# {n} settings",
        ]
    )


def log_line(rng: Rng) -> str:
    minute, second = rng.randint(10, 59), rng.randint(10, 59)
    ts = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T1{rng.randint(0, 9)}:{minute}:{second}Z"
    n = ident(rng)
    return rng.choice(
        [
            f"{ts} INFO  {n}: handled request in {rng.randint(1, 900)}ms status=200",
            f"{ts} WARN  {n}: retrying after timeout attempt={rng.randint(1, 5)}",
            f"{ts} DEBUG auth: token refreshed for user={n} expires_in=3600",
            f"{ts} INFO  {n}: request_id={uuid(rng)} trace={hexs(rng, 16)}",
            f'{ts} ERROR {n}: password authentication failed for user "{n}"',
        ]
    )


def md_line(rng: Rng) -> str:
    n = ident(rng)
    return rng.choice(
        [
            f"## {n.replace('_', ' ').title()}",
            f"Set `{n.upper()}_TOKEN` in your environment before running `make {n}`.",
            f"The {n} service reads its password from the secret store at startup.",
            "",
            f"- {n.replace('_', ' ')}: see the runbook",
        ]
    )


PLACEHOLDERS = (
    "changeme", "<your-api-key>", "xxxxxxxxxxxxxxxx", "YOUR_TOKEN_HERE", "replace-me",
    "dummy-password", "TODO",
)
TEMPLATES = (
    "${API_TOKEN}", "{{ .Values.secret }}", "${{ secrets.DEPLOY_TOKEN }}", "%(password)s",
    "$(DB_PASSWORD)",
)


# --- hard negatives: look like secrets to a careless rule, are not secrets ---------------


def negative(kind_rng: Rng, style: str) -> tuple[str, str]:
    rng = kind_rng
    name = rng.choice(["api_key", "token", "password", "secret", "client_secret", "auth_token"])
    q = '"'
    choices: list[tuple[str, Callable[[], str]]] = [
        (
            "placeholder",
            lambda: (
                f"{name} = {q}{rng.choice(PLACEHOLDERS)}{q}"
            ),
        ),
        (
            "template",
            lambda: (
                f"{name}: {rng.choice(TEMPLATES)}"
            ),
        ),
        (
            "example-key",
            lambda: rng.choice(
                [
                    "AWS_ACCESS_KEY_ID=AKIA" + "IOSFODNN7EXAMPLE",
                    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
                    "stripe.api_key = 'sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc'",
                    "ghp_" + "x" * 36,
                    "sk_live_" + "X" * 24,
                    "token: glpat-" + "x" * 20,
                ]
            ),
        ),
        (
            "hash",
            lambda: rng.choice(
                [
                    f'sha256 = "{hexs(rng, 64)}"',
                    f"commit: {hexs(rng, 40)}",
                    f"checksum_md5 = '{hexs(rng, 32)}'",
                    f'  etag: "{hexs(rng, 32)}"',
                    f'expected_hash = "sha256:{hexs(rng, 64)}"',
                    f'password_hash = "$2b$12${b64(rng, 39)[:53]}"',
                ]
            ),
        ),
        (
            "uuid",
            lambda: rng.choice(
                [
                    f'request_id = "{uuid(rng)}"',
                    f'  "tenant_id": "{uuid(rng)}",',
                    f"session_token_id: {uuid(rng)}",
                ]
            ),
        ),
        (
            "base64-blob",
            lambda: rng.choice(
                [
                    f'  "icon": "data:image/png;base64,{b64(rng, 300)}",',
                    f'THUMBNAIL = "{b64(rng, 240)}"',
                    f"  ca.crt: {b64(rng, 600)}",
                ]
            ),
        ),
        (
            "public-key",
            lambda: rng.choice(
                [
                    f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{b64(rng, 250)} deploy@ci",
                    "-----BEGIN PUBLIC KEY-----\n"
                    + "\n".join(b64(rng, 48) for _ in range(5))
                    + "\n-----END PUBLIC KEY-----",
                    "-----BEGIN CERTIFICATE-----\n"
                    + "\n".join(b64(rng, 48) for _ in range(8))
                    + "\n-----END CERTIFICATE-----",
                ]
            ),
        ),
        (
            "reference",
            lambda: rng.choice(
                [
                    f"{name}: vault:kv/data/{ident(rng)}#password",
                    f"  {name}: ENC[AES256_GCM,data:{b64(rng, 24)},iv:{b64(rng, 12)},"
                    f"tag:{b64(rng, 12)},type:str]",
                    f"  {name}: AgB{b64(rng, 200)}",
                ]
            ),
        ),
        (
            "env-lookup",
            lambda: rng.choice(
                [
                    f'{name} = os.environ["{name.upper()}"]',
                    f"const {name} = process.env.{name.upper()};",
                    f'{name} = config.get("{name}")',
                    f"{name}: !env_var {name.upper()}",
                ]
            ),
        ),
    ]
    kind, make = rng.choice(choices)
    return kind, make()


# --- planting positives ---------------------------------------------------------------


def has_context(rule: str) -> bool:
    template = SAMPLES[rule]
    return "\n" in template or '"' in template or "=" in template.split("{")[0] or template[0] == "{"


def plant(rng: Rng, rule: str, style: str) -> str:
    value = expand(SAMPLES[rule], rng)
    if "\n" in value or has_context(rule):
        if rule in ("docker-config-auth", "gcp-service-account") and style == "json":
            return json.dumps(json.loads(value), indent=2)
        return value
    var = rng.choice(["TOKEN", "API_KEY", "CREDENTIAL", "AUTH", "KEY"])
    svc = rule.split("-")[0].upper()
    return {
        "py": rng.choice(
            [
                f'{svc}_{var} = "{value}"',
                f'client = Client(api_key="{value}")',
                f'    headers = {{"Authorization": "Bearer {value}"}}',
            ]
        ),
        "js": rng.choice([f'const {svc.lower()}Key = "{value}";', f"  apiKey: '{value}',"]),
        "go": f'\t{svc.lower()}Token := "{value}"',
        "yaml": rng.choice([f"  {svc.lower()}_{var.lower()}: {value}", f'  token: "{value}"']),
        "env": f"{svc}_{var}={value}",
        "json": f'  "{svc.lower()}_{var.lower()}": "{value}",',
        "log": f"2024-05-01T12:00:00Z DEBUG outbound headers={{'Authorization': 'Bearer {value}'}}",
        "md": f"    export {svc}_{var}={value}",
        "properties": f"{svc.lower()}.{var.lower()}={value}",
    }[style]


KINDS: list[tuple[str, str, Callable[[Rng], str], float]] = [
    # (style, file name pattern, filler, weight)
    ("py", "src/{n}.py", py_line, 0.28),
    ("js", "web/src/{n}.ts", js_line, 0.18),
    ("go", "cmd/{n}/main.go", go_line, 0.1),
    ("yaml", "deploy/{n}.yaml", yaml_line, 0.12),
    ("env", "config/{n}.env", env_line, 0.04),
    ("properties", "config/{n}.properties", env_line, 0.03),
    ("json", "config/{n}.json", yaml_line, 0.05),
    ("log", "logs/{n}.log", log_line, 0.14),
    ("md", "docs/{n}.md", md_line, 0.06),
]


def lock_file(rng: Rng, size: int) -> list[str]:
    lines = ["{", '  "lockfileVersion": 3,', '  "packages": {']
    while sum(map(len, lines)) < size:
        n = ident(rng).replace("_", "-")
        lines += [
            f'    "node_modules/{n}": {{',
            f'      "version": "{rng.randint(1, 9)}.{rng.randint(0, 20)}.0",',
            f'      "resolved": "https://registry.npmjs.org/{n}/-/{n}-1.0.0.tgz",',
            f'      "integrity": "sha512-{b64(rng, 64)}"',
            "    },",
        ]
    return [*lines, "  }", "}"]


def generate(out: Path, size_mb: float, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    files_dir = out / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    # A repository root: scanners treat the corpus as a checkout (and vaultline stops looking
    # for enclosing .gitignore files here).
    subprocess.run(["git", "init", "-q", str(files_dir)], check=True)
    rules = sorted(SAMPLES)
    positives: list[dict[str, object]] = []
    negatives: list[dict[str, object]] = []
    target = int(size_mb * 1024 * 1024)
    written = 0
    index = 0
    rule_cursor = 0
    styles = [k for k in KINDS]
    weights = [k[3] for k in KINDS]
    pools = {style: [filler(rng) for _ in range(4000)] for style, _, filler, _ in KINDS}
    while written < target:
        index += 1
        if index % 97 == 0:
            rel = f"svc-{index % 50:03d}/web/package-lock.json".replace("svc", f"svc{index}")
            lines = lock_file(rng, rng.randint(20_000, 120_000))
            style = "lock"
        else:
            style, pattern, _, _ = rng.choices(styles, weights)[0]
            rel = f"svc-{index % 60:03d}/" + pattern.format(n=f"{ident(rng)}_{index}")
            size = min(int(rng.lognormvariate(9.6, 0.8)), 400_000)
            pool = pools[style]
            lines = []
            length = 0
            while length < size:
                line = rng.choice(pool)
                lines.append(line)
                length += len(line) + 1
            lines = "\n".join(lines).split("\n")
            # About one planted secret per 40 KB and one hard negative per 30 KB.
            placed: list[list[object]] = []  # [start0, length, label], kept current
            jobs = ["+"] * max(0, round(rng.gauss(length / 40_000, 0.7)))
            jobs += ["-"] * max(0, round(rng.gauss(length / 30_000, 0.7)))
            for job in jobs:
                if job == "+":
                    rule = rules[rule_cursor % len(rules)]
                    rule_cursor += 1
                    block = plant(rng, rule, style).split("\n")
                    label: dict[str, object] = {"path": rel, "rule": rule}
                else:
                    kind, text = negative(rng, style)
                    block = text.split("\n")
                    label = {"path": rel, "kind": kind}
                at = _free_offset(rng, len(lines), placed)
                lines[at:at] = block
                for other in placed:
                    if at <= int(other[0]):  # type: ignore[call-overload]
                        other[0] = int(other[0]) + len(block)  # type: ignore[call-overload]
                placed.append([at, len(block), label])
            for start0, size_, label in placed:
                record = {
                    **label,
                    "start": int(start0) + 1,  # type: ignore[call-overload]
                    "end": int(start0) + int(size_),
                }  # type: ignore[call-overload]
                (positives if "rule" in label else negatives).append(record)  # type: ignore[operator]
        path = files_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "\n".join(lines) + "\n"
        path.write_text(data)
        written += len(data.encode())
    labels: dict[str, object] = {"positives": positives, "negatives": negatives}
    labels["bytes"] = written
    labels["files"] = index
    (out / "labels.json").write_text(json.dumps(labels))
    return labels


def _free_offset(rng: Rng, n_lines: int, placed: list[list[object]]) -> int:
    """An insertion point that does not split an earlier multi-line block."""
    while True:
        at = rng.randrange(n_lines + 1)
        if all(not (int(s) < at < int(s) + int(n)) for s, n, _ in placed):  # type: ignore[call-overload]
            return at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(__file__).parent / "_work" / "scan" / f"corpus-{args.size_mb:g}-{args.seed}"
    labels = generate(out, args.size_mb, args.seed)
    print(
        f"{out}: {labels['files']} files, {int(labels['bytes']) / 1e6:.1f} MB, "  # type: ignore[call-overload]
        f"{len(labels['positives'])} secrets, {len(labels['negatives'])} hard negatives"
    )  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
