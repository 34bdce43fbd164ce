"""`make demo` runs examples/demo.sh: the README's first command, so it is run here too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_masks_and_verifies_its_audit(tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)  # vaultline's console script sits beside it
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("VAULTLINE_") and key != "NO_COLOR"}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", TMPDIR=str(tmp_path))
    done = subprocess.run(["bash", str(ROOT / "examples" / "demo.sh")], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "connecting to ********\n" in out  # the child's output, masked
    run_section = out.split("$ vaultline run", 1)[1].split("$ vaultline check", 1)[0]
    assert "s3cret-demo" not in run_section and "sk-demo-" not in run_section
    assert "prod: all checks passed" in out and "chain and checkpoint intact" in out
    assert "\x1b" not in out  # bold only on a terminal
    assert list(tmp_path.iterdir()) == []  # its work directory is gone
