"""Throughput of output masking (issue 3): vaultline's streaming masker against a naive
per-secret ``str.replace`` loop and a plain Python read/write copy of the same stream.

    python bench/mask.py            # 1,000 secrets, a 200 MB stream
    python bench/mask.py --mb 50 --backend python

Targets: masking >= 10x the naive loop and >= 0.3 of the plain copy. The ratios come last.
The stream is generated under bench/_work/ (git-ignored) and every contender reads it from
that file and writes to a file beside it, in 64 KiB chunks, as ``vaultline redact < in > out``
would. Each measurement is repeated, the best run is used and the spread is printed (the
machine's cores are shared, so expect noise).
"""

from __future__ import annotations

import argparse
import os
import random
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vaultline.redact import Masker

CHUNK = 64 * 1024
WORK = Path(__file__).parent / "_work"
ALPHABET = string.ascii_letters + string.digits + "_-+/=.:"
# Random bytes mapped onto log-like text: letters, digits, spaces, some punctuation, newlines.
_TEXT = (string.ascii_lowercase * 5 + string.digits * 2 + " " * 30 + "=:,.\n\n").encode()
TEXT_TABLE = bytes(_TEXT[i % len(_TEXT)] for i in range(256))


def make_secrets(count: int, rnd: random.Random) -> list[str]:
    secrets: set[str] = set()
    while len(secrets) < count:
        secrets.add("".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(8, 40))))
    return sorted(secrets)


def make_stream(size: int, secrets: list[str], every: int, rnd: random.Random) -> bytes:
    text = os.urandom(size).translate(TEXT_TABLE)
    pieces: list[bytes] = []
    pos = 0
    encoded = [s.encode() for s in secrets]
    while pos < size:
        step = rnd.randint(every // 2, every + every // 2)
        pieces.append(text[pos : pos + step])
        pieces.append(b" token=" + rnd.choice(encoded) + b"\n")
        pos += step
    return b"".join(pieces)[:size]


def timed(func: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best and worst wall time over `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times), max(times)


def plain_copy(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)


def masked_copy(masker: Masker, source: Path, target: Path) -> None:
    stream = masker.stream()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(stream.feed(chunk))
        dst.write(stream.flush())


def naive(secrets: list[str], text: str) -> str:
    for secret in secrets:
        text = text.replace(secret, "********")
    return text


def report(name: str, mb: float, best: float, worst: float, note: str = "") -> float:
    rate = mb / best
    spread = (worst - best) / best * 100
    print(f"{name:<20} {rate:10.1f} MB/s  (best of runs; spread {spread:.0f}%){note}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200, help="stream size in MB (default 200)")
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--every", type=int, default=8192, help="mean bytes between secrets")
    parser.add_argument("--naive-mb", type=float, default=2, help="slice for the naive loop")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["auto", "hyperscan", "python"], default="auto")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rnd = random.Random(args.seed)
    secrets = make_secrets(args.secrets, rnd)
    size = int(args.mb * 1_000_000)
    data = make_stream(size, secrets, args.every, rnd)
    mb = len(data) / 1_000_000
    WORK.mkdir(exist_ok=True)
    source, target = WORK / "mask-stream.bin", WORK / "mask-out.bin"
    source.write_bytes(data)

    started = time.perf_counter()
    masker = Masker(secrets, backend=args.backend)
    build = time.perf_counter() - started
    print(
        f"{len(secrets)} secrets ({masker!r}), built in {build:.2f} s; stream {mb:.0f} MB, "
        f"a secret every ~{args.every} bytes, {CHUNK // 1024} KiB chunks"
    )

    # Correctness on a sample before timing anything.
    sample = masker.mask_bytes(data[:1_000_000])
    assert not any(s.encode() in sample for s in secrets), "a secret survived masking"

    copy_rate = report("plain copy", mb, *timed(lambda: plain_copy(source, target), args.repeat))
    mask_rate = report(
        "vaultline masking", mb, *timed(lambda: masked_copy(masker, source, target), args.repeat)
    )
    masked = target.read_bytes()
    assert len(masked) > 0.9 * len(data) and not any(s.encode() in masked[:1_000_000] for s in secrets)
    source.unlink()
    target.unlink()
    naive_size = min(int(args.naive_mb * 1_000_000), len(data))
    text = data[:naive_size].decode()
    naive_rate = report(
        "naive str.replace",
        naive_size / 1_000_000,
        *timed(lambda: naive(secrets, text), 1),
        note=f"  [on a {naive_size / 1_000_000:g} MB slice, raw values only]",
    )
    print(f"ratio vaultline/naive: {mask_rate / naive_rate:.1f}")
    print(f"ratio vaultline/copy: {mask_rate / copy_rate:.2f}")


if __name__ == "__main__":
    main()
