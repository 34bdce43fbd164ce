"""The signals a person or a tool may send to end a process, which vaultline handles itself.

Left at its default action, each would end vaultline on the spot: no exit hook (dynamic
credentials left unrevoked), the ``run --files`` directory left behind, the child orphaned
with its secrets, and for SIGQUIT a core file of a memory that holds the master key. ``run``
forwards them to its child and ends when the child does; before a child runs they end
vaultline through its exit hook. Faults (SIGSEGV ...) and job control (SIGTSTP, SIGCONT,
SIGWINCH, SIGCHLD) are not among them.
"""

from __future__ import annotations

import signal

_NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
          "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPWR")

#: Every such signal this platform has, real-time ones included.
ENDING: tuple[int, ...] = (
    *(getattr(signal, name) for name in _NAMES if hasattr(signal, name)),
    *(range(signal.SIGRTMIN, signal.SIGRTMAX + 1) if hasattr(signal, "SIGRTMIN") else ()),
)
#: What a terminal sends its whole foreground process group (Ctrl-C, Ctrl-\).
FROM_TERMINAL = (signal.SIGINT, signal.SIGQUIT)
