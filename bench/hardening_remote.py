"""Failing servers: every fault of tests/faultproxy.py between the real CLI and real OpenBao and
moto_server, with a 2 s deadline. For each run: the time to fail (promise: deadline + 2 s),
whether anything reached stdout or the exit was 0 (a partial bundle), and whether a credential
showed in any output (the token, an AWS signature or session token). Then OpenBao killed in the
middle of 3,000 secrets (the breaker, with the default 30 s deadline) and the peak RSS of a
300 MB answer.

    .venv/bin/python bench/hardening.py remote
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from _util import master_key, write  # noqa: E402

from tests.faultproxy import FaultProxy  # noqa: E402
from tests.servers import FAKE_AWS_ENV, bao_dev, moto  # noqa: E402

DEADLINE = 2.0
VAULTLINE = str(Path(sys.executable).parent / "vaultline")

# (mode, options, connections passing first): one passing lets the login through to the reads.
FAULTS: list[tuple[str, dict[str, Any], int]] = [
    ("hang", {}, 0), ("hang", {}, 1), ("drip", {"interval": 0.5}, 0), ("drip", {"interval": 0.5}, 1),
    ("delay", {"seconds": 60}, 1), ("reset", {}, 0), ("reset", {}, 1),
    ("truncate", {"limit": 20}, 1), ("truncate", {"limit": 20, "in_body": True}, 1),
    ("status", {"status": 503}, 1), ("status", {"status": 200, "body": b"<html>proxy</html>"}, 0),
    ("huge", {}, 1), ("huge", {"declare": False}, 1), ("echo", {"status": 400}, 0),
    ("echo", {"status": 400}, 1),
]
CREDENTIALS = re.compile(r"Signature=[0-9a-f]{64}|X-Amz-Security-Token: testing|Credential=testing")


def project(root: Path, app: str, name: str, provider: dict[str, Any], secrets: str) -> Path:
    write(root, {
        "vaultline.yaml": f"version: 1\napp: {app}\nenvironments: [prod]\n"
                          f"providers:\n  {name}: {json.dumps(provider)}\n",
        "env/prod/secrets.yaml": secrets,
    })
    return root


def resolve_in_process(root: Path, environ: dict[str, str]) -> tuple[float, str | None]:
    """The resolution alone (no interpreter start-up): seconds, and the error (None: resolved)."""
    from vaultline.errors import VaultlineError
    from vaultline.project.model import Project
    from vaultline.resolve.resolver import Resolver

    project = Project.load(root)
    started = time.monotonic()
    try:
        with Resolver(project, "prod", environ=environ) as resolver:
            resolver.resolve()
    except VaultlineError as exc:
        return time.monotonic() - started, str(exc)
    return time.monotonic() - started, None


def run(root: Path, environ: dict[str, str]) -> tuple[float, int, str, str, float]:
    """One CLI resolution: seconds, exit code, stdout, stderr and the children's peak RSS (MiB)."""
    started = time.monotonic()
    result = subprocess.run([VAULTLINE, "resolve", "--env", "prod", "--format", "json", "--reveal"],
                            cwd=root, env=environ, capture_output=True, text=True, timeout=120)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return time.monotonic() - started, result.returncode, result.stdout, result.stderr, peak


def figures() -> Iterator[str]:
    runs = partial = sightings = 0
    worst = (0.0, "")
    peak = 0.0
    os.environ.update(FAKE_AWS_ENV)  # boto3 here (seeding moto) and the CLI runs use fake keys
    with tempfile.TemporaryDirectory() as tmp, bao_dev(Path(tmp) / "bao") as bao, \
            moto(Path(tmp) / "moto") as aws:
        environ = {**os.environ, "VAULTLINE_MASTER_KEY": master_key(),
                   "VAULT_TOKEN": bao.token}
        for i in range(3):
            bao.api("POST", f"kv/data/bench/prod/s{i}", {"data": {"password": f"secret-{i}"}})
        import boto3

        import vaultline.providers.aws
        import vaultline.providers.vault  # noqa: F401 - imported before the timed runs, not in them

        sm = boto3.client("secretsmanager", endpoint_url=aws.endpoint_url, region_name="us-east-1")
        for i in range(3):
            sm.create_secret(Name=f"bench/prod/s{i}", SecretString=f"secret-{i}")
        targets = [("vault", bao.url, {"type": "vault"}, "vault:s{i}#password"),
                   ("aws", aws.endpoint_url, {"type": "aws-secretsmanager", "region": "us-east-1"},
                    "aws:bench/prod/s{i}")]
        floor = 0.0  # the same CLI run against the healthy server: start-up and all
        for kind, url, provider, reference in targets:
            address = {"url": url} if kind == "vault" else {"endpoint_url": url}
            root = project(Path(tmp) / f"{kind}-healthy", "bench", kind, {**provider, **address},
                           "".join(f"S{i}: {reference.format(i=i)}\n" for i in range(3)))
            seconds, code, _, err, _ = run(root, environ)
            if code != 0:
                raise SystemExit(f"{kind}: the healthy run failed: {err[:300]}")
            floor = max(floor, seconds)
            # AWS has no login step: a connection let through would carry the whole resolution.
            faults = FAULTS if kind == "vault" else list({(m, json.dumps(o, default=repr)): (m, o, 0)
                                                          for m, o, _ in FAULTS}.values())
            for n, (mode, options, passing) in enumerate(faults):
                with FaultProxy(url) as proxy:
                    address = {"url": proxy.url} if kind == "vault" else {"endpoint_url": proxy.url}
                    root = project(Path(tmp) / f"{kind}-{n}", "bench", kind,
                                   {**provider, **address, "deadline": DEADLINE, "timeout": 10},
                                   "".join(f"S{i}: {reference.format(i=i)}\n" for i in range(3)))
                    proxy.fault(mode, passing=passing, **options)
                    _, code, out, err, rss = run(root, environ)
                    proxy.fault(mode, passing=passing, **options)  # again, for the timed run
                    seconds, text = resolve_in_process(root, environ)
                partial += code == 0 or out != "" or text is None
                out += text or ""
                if "could not be resolved" not in err:  # not the failure under test: the run is broken
                    raise SystemExit(f"{kind} {mode}: not a resolution failure (exit {code}): {err[:300]}")
                runs += 1
                peak = max(peak, rss)
                sightings += bao.token in out + err or bool(CREDENTIALS.search(out + err))
                if seconds > worst[0]:
                    step = "" if kind == "aws" else " at login" if not passing else " on reads"
                    worst = (seconds, f"{kind} {mode}{step}")
        yield f"a healthy CLI run (start-up included, the machine's noise), slowest: {floor:.2f} s"
        yield f"fault runs against OpenBao and moto_server, each by the CLI and in-process: {runs}"
        yield (f"worst time to fail (resolution, in-process): {worst[1]}, deadline {DEADLINE:g} s "
               f"(promise <= {DEADLINE + 2:g} s): {worst[0]:.2f} s")
        yield f"peak RSS of a CLI run, 300 MB answers included (limit 300 MiB): {peak:.0f} MiB"
        yield f"partial bundles: {partial}"
        yield f"token sightings: {sightings}"
        yield from killed_mid_resolve(Path(tmp), bao, environ)


def killed_mid_resolve(tmp: Path, bao: Any, environ: dict[str, str]) -> Iterator[str]:
    """3,000 secrets, the server gone a third of the way in, default deadline (30 s): with the
    breaker, and without it (each secret retrying on its own, as before), and a healthy run
    for the CLI's own start-up and resolution time."""
    from concurrent.futures import ThreadPoolExecutor

    count = 3000
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: bao.api("POST", f"kv/data/big/prod/s{i}", {"data": {"p": str(i)}}),
                      range(count)))
    secrets = "".join(f"S{i}: vault:s{i}#p\n" for i in range(count))
    healthy = project(tmp / "healthy", "big", "vault", {"type": "vault", "url": bao.url}, secrets)
    seconds, code, _, _, _ = run(healthy, environ)
    yield f"a healthy CLI resolution of {count:,} secrets (start-up included, exit {code}): {seconds:.2f} s"
    timings = {}
    for label, breaker in (("with the breaker", 5), ("without it", 0)):
        with FaultProxy(bao.url) as proxy:
            root = project(tmp / f"killed-{breaker}", "big", "vault",
                           {"type": "vault", "url": proxy.url, "breaker": breaker}, secrets)

            def kill_a_third_in(proxy: FaultProxy = proxy) -> None:
                while proxy.sent < count * 250:  # about a third of requests and answers
                    time.sleep(0.005)
                proxy.fault("reset")

            threading.Thread(target=kill_a_third_in, daemon=True).start()
            seconds, code, out, err, _ = run(root, environ)
        clean = code == 1 and out == "" and (breaker == 0 or "consecutive failures" in err)
        verdict = "failed cleanly" if clean else f"NOT a clean failure (exit {code}: {err[:200]!r})"
        timings[label] = seconds
        yield f"OpenBao killed mid-resolve of {count:,} secrets, {label}, {verdict} in: {seconds:.2f} s"
    yield (f"time to fail with the breaker / without: "
           f"{timings['with the breaker'] / timings['without it']:.2f}")


if __name__ == "__main__":
    for line in figures():
        print(line, flush=True)
