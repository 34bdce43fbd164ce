"""The hardening figures: leaks, tamper verdicts, crash safety, policy bypasses, hostile input
and failing servers, one line each with the count or ratio last.

    python bench/hardening.py            # every area
    python bench/hardening.py audit      # one area (the suffix of a bench/hardening_*.py)

Each area lives in its own ``bench/hardening_<area>.py`` with a ``figures()`` generator that
yields printed lines; this script runs them in turn so one command prints the whole table.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def areas() -> list[str]:
    return sorted(path.stem.removeprefix("hardening_") for path in HERE.glob("hardening_*.py"))


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    chosen = argv or areas()
    for area in chosen:
        module = importlib.import_module(f"hardening_{area}")
        start = time.perf_counter()
        for line in module.figures():
            print(f"{area}: {line}", flush=True)
        print(f"{area}: done in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
