"""The direnv figure: what `.envrc` runs when a shell enters the project —
`vaultline resolve --env dev --format shell --reveal` on the example project (three secrets in
the embedded store, about 20 keys) — in ms, against `python -c pass`, the floor of any Python
command. The two take turns so machine noise hits both; the ratio is printed last.

    .venv/bin/python bench/direnv.py [--runs 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import example_project, interleaved, load_average


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, env, vaultline = example_project(Path(tmp))
        command = [vaultline, "resolve", "--env", "dev", "--format", "shell", "--reveal"]

        def ours() -> None:
            subprocess.run(command, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)

        def floor() -> None:
            subprocess.run([sys.executable, "-c", "pass"], check=True)

        ours()
        floor()
        times = interleaved({"floor": floor, "ours": ours}, args.runs)
    (floor_best, floor_median), (ours_best, ours_median) = times["floor"], times["ours"]
    print(f"runs: {args.runs}   load average: {load_average()}")
    print(f"python -c pass:                         best {floor_best * 1000:6.1f} ms  "
          f"median {floor_median * 1000:6.1f} ms")
    print(f"vaultline resolve --format shell:       best {ours_best * 1000:6.1f} ms  "
          f"median {ours_median * 1000:6.1f} ms")
    print(f"ratio vaultline/python-floor: {ours_best / floor_best:.2f}")


if __name__ == "__main__":
    main()
