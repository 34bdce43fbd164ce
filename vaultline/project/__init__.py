"""The project: what ``vaultline.yaml`` and the environment packs say, read with line numbers.

- :mod:`~vaultline.project.model` — :class:`Project`, its schema, providers and environments,
  loaded and checked (``Project.load``).
- :mod:`~vaultline.project.reference` — ``provider:path#field`` references in ``secrets.yaml``.
- :mod:`~vaultline.project.keypath` — ``Section:Key`` paths and the nested views of them.
- :mod:`~vaultline.project._yaml` — the bounded YAML loader that remembers lines.
- :mod:`~vaultline.project._lines` — mappings that remember their lines, without YAML.
- :mod:`~vaultline.project._packcache` — the parse cache of the packs and vaultline.yaml.
- :mod:`~vaultline.project.pasted` — "this looks like a value, not a reference".
- :mod:`~vaultline.project.scaffold` — ``vaultline init``.
"""
