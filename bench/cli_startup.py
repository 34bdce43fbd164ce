"""`vaultline resolve --env dev` on the example project (about 20 keys)
against `python -c "import yaml, sqlite3, cryptography.hazmat.primitives.ciphers.aead"`,
the imports any implementation of this design needs. Target ratio <= 2.0 (wall clock, best
of runs that take turns, so a burst of noise on the shared machine hits both sides).
``--instructions`` also counts each side's instructions with callgrind, which the machine's
noise does not change.

vaultline's bytecode is written first, as a normal `pip install` does (see _util.byte_compile).

    .venv/bin/python bench/cli_startup.py [--runs 20] [--instructions]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import example_project, instructions, interleaved, load_average

BASELINE = [sys.executable, "-c", "import yaml, sqlite3, cryptography.hazmat.primitives.ciphers.aead"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions with callgrind (slow; free of noise)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, env, vaultline = example_project(Path(tmp))
        ours_command = [vaultline, "resolve", "--env", "dev"]

        def ours() -> None:
            subprocess.run(ours_command, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)

        def baseline() -> None:
            subprocess.run(BASELINE, check=True)

        ours()
        baseline()
        times = interleaved({"baseline": baseline, "ours": ours}, args.runs)
        counts = ((instructions(BASELINE), instructions(ours_command, cwd=root, env=env))
                  if args.instructions else None)
    (base_best, base_median), (ours_best, ours_median) = times["baseline"], times["ours"]
    print(f"runs: {args.runs}   load average: {load_average()}")
    print(f"python -c 'import yaml, sqlite3, aead': best {base_best * 1000:6.1f} ms  "
          f"median {base_median * 1000:6.1f} ms")
    print(f"vaultline resolve --env dev:           best {ours_best * 1000:6.1f} ms  "
          f"median {ours_median * 1000:6.1f} ms")
    if counts is not None:
        print(f"instructions (callgrind): imports {counts[0] / 1e6:.0f} M, vaultline "
              f"{counts[1] / 1e6:.0f} M, ratio {counts[1] / counts[0]:.2f}")
    print(f"ratio vaultline/python-imports: {ours_best / base_best:.2f}")


if __name__ == "__main__":
    main()
