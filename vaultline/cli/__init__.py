"""The ``vaultline`` command line: a thin layer over the Python API.

Subcommands live one module each in this package and are imported only when used,
so ``vaultline resolve`` does not pay for ``vaultline scan``'s imports.
"""

from __future__ import annotations

import atexit
import gc
import sys

__all__ = ["main"]


#: The collector's thresholds while a command runs. Python's default collects the young
#: generation every 700 allocations; start-up alone (the imports, click's command tree) and a
#: resolution (a few hundred thousand records) then run hundreds of collections that find
#: nothing. Every 100,000 it runs a few: almost all of the gain of pausing it, while cyclic
#: garbage that hostile input can make in bulk (YAML aliases in thousands of manifests) is
#: still collected.
COMMAND_THRESHOLDS = (100_000, 20, 100)


def main(argv: list[str] | None = None) -> int:
    """Run one ``vaultline`` command and return its exit status (the console script).

    The command owns its process, so the collector runs at :data:`COMMAND_THRESHOLDS`; the
    caller's thresholds are restored on return. At exit the heap is frozen, so the
    interpreter's last collection does not walk all of it once more (commands close what
    they write themselves).

    Before any command reads a key or starts a child, the process is made non-dumpable
    (``vaultline._dumpable``): a child (``run``'s command, a ``rotate`` generator, git) then
    cannot read the master key from ``/proc/$PPID/environ`` or write around the masking
    through ``/proc/$PPID/fd/1``.
    """
    from vaultline._dumpable import make_non_dumpable

    make_non_dumpable()
    thresholds = gc.get_threshold()
    gc.set_threshold(*COMMAND_THRESHOLDS)
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    try:
        from vaultline.cli._app import main as run_command

        return run_command(argv)
    finally:
        gc.set_threshold(*thresholds)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
