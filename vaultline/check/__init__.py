"""``vaultline check``: the gate a project passes before it ships.

- :mod:`~vaultline.check.gate` — each check a plain function yielding findings.
- :mod:`~vaultline.check.validate` — the value formats a schema entry can require.
"""
