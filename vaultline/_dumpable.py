"""Keeping vaultline's environment, descriptors and memory from other processes of its user.

While a Linux process is "dumpable" (the default), any process of the same user may read its
``/proc/PID/environ`` (the master key, a ``VAULT_TOKEN``), open its ``/proc/PID/fd/N`` (the
terminal or pipe that ``run`` writes masked output to, so a child could write around the
masking) and its memory. ``prctl(PR_SET_DUMPABLE, 0)``, as ssh-agent and gpg-agent do, leaves
them to root (CAP_SYS_PTRACE) alone and also keeps such a memory out of core files. A child
is dumpable again once it executes its program: this changes vaultline's process only.
"""

from __future__ import annotations

import sys

_PR_SET_DUMPABLE = 4


def make_non_dumpable() -> bool:
    """Make this process non-dumpable; False where the platform has no such switch."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        # ctypes' C part: the ctypes package costs milliseconds of start-up for one call.
        import _ctypes
        import os

        class _Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL

        # None: the symbols the interpreter is linked with, libc's among them (ctypes.CDLL(None)).
        libc = _ctypes.dlopen(None, os.RTLD_NOW)  # type: ignore[arg-type]
        prctl = _Function(_ctypes.dlsym(libc, "prctl"))
        return bool(prctl(_PR_SET_DUMPABLE, 0) == 0)
    except (ImportError, AttributeError, OSError):  # a Python built without ctypes
        return False
