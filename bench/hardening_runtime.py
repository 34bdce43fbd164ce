"""Runtime figures: template sandbox escapes and resource bombs refused, reloads on unchanged
ticks, the masker for 5,000 secrets built fresh against loaded from its encrypted cache, the
quick masker a cache miss's first output goes through against the compile, secrets coloured
in pieces masked, and small writes masked with a PEM key among the secrets.

    python bench/hardening.py runtime
"""

from __future__ import annotations

import os
import random
import re
import string
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vaultline.errors import ConfigError
from vaultline.output.render import render_text
from vaultline.redact.cache import MaskerCache
from vaultline.redact.masker import Masker
from vaultline.redact.terminal import TerminalMasker
from vaultline.runtime.watch import Snapshot, Watch

ESCAPES = [
    "{{ ''.__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}", "{{ lipsum.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}", "{{ joiner.__init__.__globals__ }}",
    "{{ V|attr('__class__') }}", "{{ V.format.__self__ }}", "{{ V.__len__ }}",
    "{% include '/etc/passwd' %}", "{% import '/etc/passwd' as p %}",
    "{% extends '/etc/passwd' %}", "{{ self.__init__.__globals__ }}",
    "{{ config }}", "{{ request }}",
]
BOMBS = [
    "{{ 'x' * 10**10 }}", "{{ 2 ** (10**10) }}", "{{ 'x'|center(10**9) }}",
    "{{ '%0999999999d' % 1 }}", "{{ '{:>999999999}'.format(1) }}",
    "{% set ns = namespace(x='x') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}"
    "{% endfor %}{{ ns.x }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{{ 'x' * 200 }}{% endfor %}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
]
SECRET = "postgres://app:s3cret-canary@db/app"
COLOURED = [
    b"url=postgres://app:s3cret-\x1b[01;31m\x1b[Kcanary\x1b[m\x1b[K@db/app\n",
    b"".join(b"\x1b[3%dm%c" % (i % 8, c) for i, c in enumerate(SECRET.encode())) + b"\x1b[0m\n",
    b"- postgres://app:\x1b[31ms3cret\x1b[m-canary@db/app\n",
    b"\x1b]8;;" + SECRET.encode() + b"\x1b\\link\x1b]8;;\x1b\\\n",
]

_SHOWN = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def _bytes_per_second(masker: Masker, data: bytes, size: int) -> float:
    stream = masker.stream()
    started = time.perf_counter()
    for at in range(0, len(data), size):
        stream.feed(data[at : at + size])
    return len(data) / (time.perf_counter() - started)


def figures() -> Iterator[str]:
    refused = 0
    for escape in ESCAPES:
        try:
            render_text(escape, {"V": "secret-value"}, "t.j2")
        except ConfigError:
            refused += 1
    yield f"template sandbox escapes refused: {refused}/{len(ESCAPES)}"

    refused, started = 0, time.perf_counter()
    for bomb in BOMBS:
        try:
            render_text(bomb, {}, "t.j2")
        except ConfigError:
            refused += 1
    yield f"template resource bombs refused under the render limits in " \
          f"{time.perf_counter() - started:.1f} s: {refused}/{len(BOMBS)}"

    masked = 0
    for shown in COLOURED:
        stream = TerminalMasker(Masker([SECRET]))
        out = stream.feed(shown) + stream.flush()
        masked += b"canary" not in _SHOWN.sub(b"", out)  # what the terminal shows
    yield f"secrets coloured in pieces or in a hyperlink masked: {masked}/{len(COLOURED)}"

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=4096).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    text = b"The quick brown fox jumps over the lazy dog " * 100
    short = _bytes_per_second(Masker([SECRET]), text, 1)
    long = _bytes_per_second(Masker([SECRET, pem]), text, 1)
    yield f"masking 1-byte writes: {short / 1000:.0f} KB/s with short secrets, " \
          f"{long / 1000:.0f} KB/s with a 4096-bit RSA PEM key too; ratio pem/short: " \
          f"{long / short:.2f}"

    same = Snapshot({"A": "1"}, {"A": "1"}, ["1"], {"A": "1"})
    watch = Watch(same, lambda: Snapshot({"A": "1"}, {"A": "1"}, ["1"], {"A": "1"}),
                  interval=1, warn=lambda _m: None, audit=lambda _k: None)
    reloads = sum(watch.tick()[0] is not None for _ in range(1000))
    yield f"reloads on 1,000 ticks with nothing changed: {reloads}"

    rnd = random.Random(7)
    secrets = ["".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(24))
               for _ in range(5000)]
    with tempfile.TemporaryDirectory() as tmp:
        cache = MaskerCache(Path(tmp), os.urandom(32), "prod")
        started = time.perf_counter()
        Masker(secrets, cache=cache)
        fresh = time.perf_counter() - started
        started = time.perf_counter()
        Masker(secrets, cache=cache)
        cached = time.perf_counter() - started
    yield f"masker for 5,000 secrets: fresh {fresh * 1000:.0f} ms, from the encrypted cache " \
          f"{cached * 1000:.0f} ms; ratio fresh/cached: {fresh / cached:.1f}"

    # A cache miss: what the first output waits for (the quick masker) against the compile.
    started = time.perf_counter()
    Masker.staged(secrets, None).quick()
    quick = time.perf_counter() - started
    yield f"first output on a cache miss, 5,000 secrets: quick masker {quick * 1000:.0f} ms, " \
          f"Hyperscan compile {fresh * 1000:.0f} ms; ratio compile/quick: {fresh / quick:.1f}"
