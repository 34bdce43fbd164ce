"""``vaultline run``: the child process, supervised.

- :mod:`~vaultline.runtime.runner` — start the child with the bundle, mask its output, forward
  signals, give it a terminal when there is one.
- :mod:`~vaultline.runtime.pump` — copy the child's output to ours, masked (pipes or pty);
  build the masker while the child runs.
- :mod:`~vaultline.runtime.jobcontrol` — Ctrl-Z stops the child on its pty and vaultline.
- :mod:`~vaultline.runtime.watch` — re-resolve on an interval and reload only on real change.
- :mod:`~vaultline.runtime.childenv` — what the child may inherit from vaultline's environment.
"""
