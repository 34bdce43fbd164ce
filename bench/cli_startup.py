"""`vaultline resolve --env dev` on the example project (about 20 keys)
against `python -c "import yaml, sqlite3, cryptography.hazmat.primitives.ciphers.aead"`,
the imports any implementation of this design needs. Target ratio <= 2.0.

vaultline's bytecode is written first, as a normal `pip install` does (see _util.byte_compile).

    .venv/bin/python bench/cli_startup.py [--runs 20]
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

        def ours() -> None:
            subprocess.run([vaultline, "resolve", "--env", "dev"], cwd=root, env=env,
                           check=True, stdout=subprocess.DEVNULL)

        def baseline() -> None:
            subprocess.run([sys.executable, "-c",
                            "import yaml, sqlite3, cryptography.hazmat.primitives.ciphers.aead"],
                           check=True)

        ours()
        baseline()
        base_best, base_median = best_of(baseline, args.runs)
        ours_best, ours_median = best_of(ours, args.runs)
    print(f"runs: {args.runs}   load average: {load_average()}")
    print(f"python -c 'import yaml, sqlite3, aead': best {base_best * 1000:6.1f} ms  "
          f"median {base_median * 1000:6.1f} ms")
    print(f"vaultline resolve --env dev:           best {ours_best * 1000:6.1f} ms  "
          f"median {ours_median * 1000:6.1f} ms")
    print(f"ratio vaultline/python-imports: {ours_best / base_best:.2f}")


if __name__ == "__main__":
    main()
