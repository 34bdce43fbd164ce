"""A resolved bundle written out for something else to read.

- :mod:`~vaultline.output.formats` — ``--format`` renderers (dotenv, shell, json, yaml, k8s …).
- :mod:`~vaultline.output.eso` — External Secrets Operator manifests.
- :mod:`~vaultline.output.envexample` — ``.env.example``: the keys, never the values.
- :mod:`~vaultline.output.compose` — docker compose secret files.
- :mod:`~vaultline.output.github` — GitHub Actions masks and ``$GITHUB_ENV``.
- :mod:`~vaultline.output.direnv` — ``.envrc`` lines.
- :mod:`~vaultline.output.render` — sandboxed Jinja2 templates.
"""
