"""Small helpers shared by the benchmark scripts (timing, a throw-away project)."""

from __future__ import annotations

import base64
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def best_of(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, float]:
    """(best, median) wall seconds of ``repeat`` runs: best for the ratio, median for noise."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int = 5) -> dict[str, tuple[float, float]]:
    """``best_of`` for several functions, taking turns: a burst of machine noise then hits
    every contender in a round instead of one of them for all its runs."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def instructions(command: list[str], *, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> int:
    """Instructions `command`'s own process executes, counted by callgrind (valgrind): the same
    for the same work whatever else the machine is doing, unlike wall time on a shared VM.
    A child it forks reports the parent's count at the fork again; only the first is taken."""
    import re
    import subprocess

    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           *command], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def byte_compile() -> None:
    """Write vaultline's .pyc files, as `pip install` does for a normal (non-editable) install.

    An editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every module
    on every start, while the baseline's libraries load from their installed bytecode.
    """
    import compileall

    import vaultline

    compileall.compile_dir(str(Path(vaultline.__file__).parent), quiet=1)


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nexus-engine"


def example_project(tmp: Path) -> tuple[Path, dict[str, str], str]:
    """The nexus-engine example with a store and dev's three secrets: (root, env, vaultline)."""
    import shutil
    import subprocess
    import sys

    vaultline = str(Path(sys.executable).parent / "vaultline")
    byte_compile()
    root = tmp / "nexus-engine"
    shutil.copytree(EXAMPLE, root)
    env = {**os.environ, "VAULTLINE_MASTER_KEY": master_key(), "NO_COLOR": "1"}
    subprocess.run([vaultline, "init"], cwd=root, env=env, check=True, capture_output=True)
    for key in ("ConnectionStrings:Primary", "AI:OpenAI:ApiKey", "Jwt:SigningKey"):
        subprocess.run([vaultline, "secret", "put", key, "--env", "dev"], cwd=root, env=env,
                       input=b"bench-value-0123456789", check=True, capture_output=True)
    return root, env, vaultline
