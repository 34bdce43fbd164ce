"""Resolution: layering a project's sources into one bundle for an environment.

- :mod:`~vaultline.resolve.api` — ``vaultline.load``, the front door.
- :mod:`~vaultline.resolve.session` — :class:`Session`: overrides applied, every read and
  write audited; secret operations (put, get, versions, rollback) and break-glass overrides.
- :mod:`~vaultline.resolve.resolver` — :class:`Resolver`, the low-level unaudited layering
  (defaults → pack → providers), returning typed read records.
- :mod:`~vaultline.resolve.bundle` — the read-only :class:`Bundle` and its value types.
- :mod:`~vaultline.resolve.overrides` — time-bounded, two-person break-glass records.
- :mod:`~vaultline.resolve.snapshot` — the encrypted offline snapshot for ``--offline``.
- :mod:`~vaultline.resolve.target` — ``KEY --env E`` or a reference, down to a provider path.
- :mod:`~vaultline.resolve.versioning` — versions, soft delete, undelete, rollback.
- :mod:`~vaultline.resolve.leases` — leases on dynamic credentials: renewed, revoked.
- :mod:`~vaultline.resolve.diff` — two environments compared without showing a secret.
"""
