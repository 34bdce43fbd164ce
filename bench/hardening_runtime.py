"""Runtime figures: template sandbox escapes refused, reloads on unchanged ticks, and the
masker for 5,000 secrets built fresh against loaded from its encrypted cache, and the quick
masker a cache miss's first output goes through against the compile.

    python bench/hardening.py runtime
"""

from __future__ import annotations

import os
import random
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


def figures() -> Iterator[str]:
    refused = 0
    for escape in ESCAPES:
        try:
            render_text(escape, {"V": "secret-value"}, "t.j2")
        except ConfigError:
            refused += 1
    yield f"template sandbox escapes refused: {refused}/{len(ESCAPES)}"

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
