"""The ``vaultline`` command line: a thin layer over the Python API.

Subcommands live one module each in this package and are imported only when used,
so ``vaultline resolve`` does not pay for ``vaultline scan``'s imports.
"""

from __future__ import annotations

import sys

from vaultline.cli._app import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
