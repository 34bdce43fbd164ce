"""The ``vaultline`` command line: a thin layer over the Python API.

Subcommands live one module each in this package and are imported only when used,
so ``vaultline resolve`` does not pay for ``vaultline scan``'s imports.
"""

from __future__ import annotations

import atexit
import gc
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run one ``vaultline`` command and return its exit status (the console script).

    A command owns its process, so the cyclic garbage collector is paused for all of it:
    start-up alone (the imports, click's command tree) allocates enough for dozens of
    collections that find nothing, and a resolution makes a few hundred thousand records
    without a reference cycle. The caller's setting is restored on return. At exit the heap
    is frozen, so the interpreter's last collection does not walk all of it once more
    (commands close what they write themselves). ``run`` collects again while it supervises.
    """
    enabled = gc.isenabled()
    gc.disable()
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    try:
        from vaultline.cli._app import main as run_command

        return run_command(argv)
    finally:
        (gc.enable if enabled else gc.disable)()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
