"""``scan --known`` throughput: 1,000 known secret values over a 36 MB tree, against
``grep -F -f`` of the raw values (the floor: one literal automaton, raw forms only).

    python bench/scan_known.py                  # 36 MB, 1,000 values
    python bench/scan_known.py --size-mb 8      # a quick run

vaultline looks for every value's encoded forms too (base64 at three alignments, URL and
JSON escapes: about 7 distinct patterns a value), so it matches ~6,600 literals where grep
matches 1,000. Planted: 60 values, a third raw, a third base64, a third JSON-escaped; grep
finds the raw ones and the JSON-escaped ones that needed no escaping. Timings are wall
clock, best of ``--repeat``, on a shared machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from vaultline.scan.known import KnownScanner, KnownSecret  # noqa: E402
from vaultline.scan.runner import scan_paths  # noqa: E402

WORK = HERE / "_work" / "scan-known"
WORDS = ("def", "return", "value", "config", "import", "class", "self", "data", "user", "items",
         "for", "in", "if", "else", "print", "request", "response", "status", "error", "log")


def _values(rng: random.Random, n: int) -> list[str]:
    alphabet = string.ascii_letters + string.digits + "!#%+-.=@_~"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(14, 40))) for _ in range(n)]


def build(size_mb: float, values: list[str], rng: random.Random) -> tuple[Path, int]:
    out = WORK / f"tree-{size_mb:g}"
    if out.exists():
        shutil.rmtree(out)
    target = int(size_mb * 1e6)
    written = files = 0
    planted = rng.sample(values, 60)
    plants = [v if i % 3 == 0 else base64.b64encode(v.encode()).decode() if i % 3 == 1
              else json.dumps({"k": v})[7:-1] for i, v in enumerate(planted)]
    while written < target:
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 14)))
                 for _ in range(rng.randrange(200, 600))]
        if plants and rng.random() < 0.05:
            lines[rng.randrange(len(lines))] += " " + plants.pop()
        path = out / f"d{files // 100:03d}" / f"f{files:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(lines) + "\n"
        path.write_text(text)
        written += len(text)
        files += 1
    return out, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=36.0)
    parser.add_argument("--values", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    rng = random.Random(36)
    values = _values(rng, args.values)
    tree, size = build(args.size_mb, values, rng)
    scanner = KnownScanner([(KnownSecret(f"K{i}", f"local:app/K{i}"), v) for i, v in enumerate(values)])

    best_vl, found = float("inf"), 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = scan_paths([tree], scanner=scanner, jobs=args.jobs)
        best_vl = min(best_vl, time.perf_counter() - start)
        found = len({(f.path, f.line) for f in result.findings})
    with tempfile.TemporaryDirectory() as tmp:
        patterns = Path(tmp) / "values.txt"  # the benchmark's own throwaway values
        patterns.write_text("\n".join(values) + "\n")
        best_grep, grep_found = float("inf"), 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            done = subprocess.run(["grep", "-rnF", "-f", str(patterns), str(tree)],
                                  capture_output=True, text=True, check=False)
            best_grep = min(best_grep, time.perf_counter() - start)
            grep_found = len(done.stdout.splitlines())
    mb = size / 1e6
    print(f"tree: {mb:.1f} MB, {args.values} known values ({scanner!r}), 60 planted "
          f"(20 raw, 20 base64, 20 JSON-escaped); jobs {args.jobs}; load {os.getloadavg()[0]:.1f}")
    print(f"vaultline --known   {best_vl:6.2f} s  {mb / best_vl:7.1f} MB/s  found {found}/60")
    print(f"grep -F -f (raw)    {best_grep:6.2f} s  {mb / best_grep:7.1f} MB/s  found {grep_found}/60")
    print(f"ratio vaultline/grep time: {best_vl / best_grep:.2f}")


if __name__ == "__main__":
    main()
