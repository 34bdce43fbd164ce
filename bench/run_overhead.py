"""`vaultline run --env dev -- true` against `vaultline resolve --env dev` on the
example project: what starting a child with the bundle (and masking its output) adds to a
resolution. Target ratio <= 1.3.

    .venv/bin/python bench/run_overhead.py [--runs 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import best_of, example_project, load_average


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, env, vaultline = example_project(Path(tmp))

        def command(*args: str) -> None:
            subprocess.run([vaultline, *args], cwd=root, env=env, check=True,
                           stdout=subprocess.DEVNULL)

        def resolve() -> None:
            command("resolve", "--env", "dev")

        def run_true() -> None:
            command("run", "--env", "dev", "--", "true")

        resolve()
        run_true()
        resolve_best, resolve_median = best_of(resolve, args.runs)
        run_best, run_median = best_of(run_true, args.runs)
    print(f"runs: {args.runs}   load average: {load_average()}")
    print(f"vaultline resolve --env dev:        best {resolve_best * 1000:6.1f} ms  "
          f"median {resolve_median * 1000:6.1f} ms")
    print(f"vaultline run --env dev -- true:    best {run_best * 1000:6.1f} ms  "
          f"median {run_median * 1000:6.1f} ms  (masking on)")
    print(f"ratio run/resolve: {run_best / resolve_best:.2f}")


if __name__ == "__main__":
    main()
