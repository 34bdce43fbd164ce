"""Issue 2 figure: `vaultline resolve --env dev` on the example project (about 20 keys)
against `python -c "import yaml, sqlite3, cryptography.hazmat.primitives.ciphers.aead"`,
the imports any implementation of this design needs. Target ratio <= 2.0.

    .venv/bin/python bench/cli_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import best_of, load_average, master_key

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nexus-engine"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    vaultline = str(bindir / "vaultline")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "nexus-engine"
        shutil.copytree(EXAMPLE, root)
        env = {**os.environ, "VAULTLINE_MASTER_KEY": master_key(), "NO_COLOR": "1"}
        subprocess.run([vaultline, "init"], cwd=root, env=env, check=True, capture_output=True)
        for key in ("ConnectionStrings:Primary", "AI:OpenAI:ApiKey", "Jwt:SigningKey"):
            subprocess.run([vaultline, "put", key, "--env", "dev"], cwd=root, env=env,
                           input=b"bench-value-0123456789", check=True, capture_output=True)

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
