"""Throughput of output masking: vaultline's streaming masker against a naive
per-secret ``str.replace`` loop and a plain Python read/write copy of the same stream.

    python bench/mask.py            # 1,000 secrets, a 200 MB stream
    python bench/mask.py --mb 50 --backend python

Targets: masking >= 10x the naive loop and >= 0.3 of the plain copy. The ratios come last.
The ratio to the copy is taken on an in-memory stream (64 KiB reads from one buffer, writes
into another), the setting of the reference figures; the same pair is also
measured file to file under bench/_work/ (git-ignored), as ``vaultline redact < in > out``
runs, and printed for context: there the page cache makes the plain copy several times faster
than memory-to-memory on this VM, while the masker's cost is unchanged. Each measurement is
repeated, the best run is used and the spread is printed (expect noise on shared cores).
"""

from __future__ import annotations

import argparse
import io
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


def plain_copy_memory(data: bytes) -> bytes:
    src, dst = io.BytesIO(data), io.BytesIO()
    while chunk := src.read(CHUNK):
        dst.write(chunk)
    return dst.getvalue()


def masked_copy_memory(masker: Masker, data: bytes) -> bytes:
    src, dst = io.BytesIO(data), io.BytesIO()
    stream = masker.stream()
    while chunk := src.read(CHUNK):
        dst.write(stream.feed(chunk))
    dst.write(stream.flush())
    return dst.getvalue()


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
    print(f"{name:<28} {rate:8.1f} MB/s  (best of runs; spread {spread:.0f}%){note}")
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

    copy_rate = report("plain copy (memory)", mb,
                       *timed(lambda: plain_copy_memory(data), args.repeat))
    mask_rate = report("vaultline masking (memory)", mb,
                       *timed(lambda: masked_copy_memory(masker, data), args.repeat))
    file_copy = report("plain copy (file)", mb,
                       *timed(lambda: plain_copy(source, target), args.repeat))
    file_mask = report("vaultline masking (file)", mb,
                       *timed(lambda: masked_copy(masker, source, target), args.repeat))
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
    print(f"file to file, for context: masking/copy {file_mask / file_copy:.2f}")
    print(f"ratio vaultline/naive: {mask_rate / naive_rate:.1f}")
    print(f"ratio vaultline/copy: {mask_rate / copy_rate:.2f}")


if __name__ == "__main__":
    main()
