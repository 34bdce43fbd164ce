"""What masking a realistic environment costs: patterns per secret, and the time to compute
them and to build the masker, for a mix of the values an environment holds.

    python bench/mask_forms.py                 # 10,000 secrets
    python bench/mask_forms.py --secrets 1000 --backend ahocorasick

The mix (seeded): API tokens with a vendor prefix, AWS-style secret keys (base64 letters),
hex keys, generated passwords with symbols (``!@#$%^&*()-_=+[]{};:'",.<>/?~``), database URLs
with such a password, JWTs, service-account JSON documents holding a PEM key, and PEM keys.
Every encoded form is derived from a value, so the pattern count is what the value's
characters and length ask for: a plain token costs the fewest.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import time
from collections import Counter
from collections.abc import Callable

from vaultline.redact import Masker
from vaultline.redact.masker import _patterns

ALNUM = string.ascii_letters + string.digits
SYMBOLS = "!@#$%^&*()-_=+[]{};:'\",.<>/?~"


def _chars(rnd: random.Random, alphabet: str, low: int, high: int) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(low, high)))


def _b64(rnd: random.Random, count: int) -> str:
    return base64.b64encode(rnd.randbytes(count)).decode()


def _password(rnd: random.Random) -> str:
    return _chars(rnd, ALNUM * 3 + SYMBOLS, 16, 24)


def _pem(rnd: random.Random) -> str:
    body = _b64(rnd, rnd.choice([48, 1190]))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


def _jwt(rnd: random.Random) -> str:
    def part(count: int) -> str:
        return base64.urlsafe_b64encode(rnd.randbytes(count)).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{part(rnd.randint(60, 200))}.{part(rnd.choice([32, 256]))}"


KINDS: dict[str, tuple[float, Callable[[random.Random], str]]] = {
    "api token": (0.30, lambda r: rnd_prefix(r) + _chars(r, ALNUM, 32, 40)),
    "aws secret key": (0.10, lambda r: _b64(r, 30)),
    "hex key": (0.10, lambda r: r.randbytes(32).hex()),
    "password": (0.20, _password),
    "database url": (0.10, lambda r: f"postgres://app:{_password(r)}@db-{r.randint(1, 99)}:5432/app"),
    "jwt": (0.10, _jwt),
    "json document": (0.05, lambda r: json.dumps({
        "type": "service_account", "project_id": f"proj-{r.randint(1, 10**6)}",
        "private_key_id": r.randbytes(20).hex(), "private_key": _pem(r),
        "client_email": f"svc-{r.randint(1, 10**6)}@proj.iam.example.com"}, indent=2)),
    "pem key": (0.05, _pem),
}


def rnd_prefix(rnd: random.Random) -> str:
    return rnd.choice(["sk-", "ghp_", "xoxb-", "glpat-", "sk_live_", ""])


def make_secrets(count: int, seed: int) -> dict[str, str]:
    """`count` distinct values, each with its kind."""
    rnd = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[name][0] for name in names]
    values: dict[str, str] = {}
    while len(values) < count:
        kind = rnd.choices(names, weights)[0]
        values.setdefault(KINDS[kind][1](rnd), kind)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=["auto", "hyperscan", "ahocorasick", "python"],
                        default="auto")
    args = parser.parse_args()

    values = make_secrets(args.secrets, args.seed)
    secrets = list(values)
    for kind, count in Counter(values.values()).most_common():
        of_kind = [value for value, k in values.items() if k == kind]
        print(f"{count:>6} {kind:<15} {len(_patterns(of_kind)) / count:6.2f} patterns each")
    started = time.perf_counter()
    patterns = _patterns(secrets)
    forms = time.perf_counter() - started
    started = time.perf_counter()
    masker = Masker(secrets, backend=args.backend)
    build = time.perf_counter() - started
    print(f"forms computed in {forms:.2f} s; {masker!r} built in {build:.2f} s")
    print(f"patterns: {len(patterns)} ({len(patterns) / len(secrets):.2f} per secret)")


if __name__ == "__main__":
    main()
