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
from collections.abc import Callable
from types import FrameType
from typing import Any

_NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
          "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPWR")

#: Every such signal this platform has, real-time ones included.
ENDING: tuple[int, ...] = (
    *(getattr(signal, name) for name in _NAMES if hasattr(signal, name)),
    *(range(signal.SIGRTMIN, signal.SIGRTMAX + 1) if hasattr(signal, "SIGRTMIN") else ()),
)
#: What a terminal sends its whole foreground process group (Ctrl-C, Ctrl-\).
FROM_TERMINAL = (signal.SIGINT, signal.SIGQUIT)


def install(handler: Callable[[int, FrameType | None], Any], *,
            only_default: bool = False) -> dict[int, Any]:
    """`handler` for every signal of :data:`ENDING` (with `only_default`, only those still
    at their default action); returns what each had before. A signal this process may not
    catch is left as it is: valgrind, for one, keeps a real-time signal for itself."""
    previous: dict[int, Any] = {}
    for signum in ENDING:
        if only_default and signal.getsignal(signum) is not signal.SIG_DFL:
            continue
        try:
            previous[signum] = signal.signal(signum, handler)
        except OSError:  # EINVAL: reserved by the platform or a tool running us
            continue
    return previous
