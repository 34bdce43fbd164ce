"""Every error vaultline raises, in one tree.

    VaultlineError                 base; ``exit_code`` is what the CLI exits with
    ├── ConfigError                vaultline.yaml, an environment pack or a reference is wrong (2)
    │   └── MissingExtraError      an optional dependency is not installed (2)
    ├── MasterKeyError             no master key, or the wrong one (2)
    ├── LoosePermissionsError      a key file or store readable by group or others (2)
    ├── StoreError                 the embedded store refused an operation (1)
    │   ├── SecretNotFoundError    nothing at that path/version
    │   ├── VersionConflictError   check-and-set failed
    │   ├── IntegrityError         a ciphertext or record was tampered with
    │   └── ReservedPathError      a path in vaultline's own namespace (``_vaultline/``) (2)
    ├── ProviderError              a provider failed for one reference (1)
    │   ├── MissingSecretError     nothing at that reference: the only failure an optional
    │   │                          secret may be skipped for
    │   ├── AuthenticationError    not logged in, or credentials refused
    │   ├── PermissionDeniedError  logged in, but not allowed
    │   └── ProviderUnavailableError  could not reach the provider
    ├── ResolutionError            one or more keys could not be resolved (1); lists them all
    ├── AuditError                 the audit log could not be written or read (1)
    ├── OverrideError              a break-glass override was refused (2)
    ├── ScanError                  a scan could not run: bad baseline, git failure (2)
    ├── KeyManagementError         a key ring operation was refused (1)
    │   ├── KeyUsageError          asked wrongly: ring name, algorithm, backend, purpose (2)
    │   └── VerificationError      a token, webhook signature or blob did not verify (1)
    ├── InventoryError             a manifests tree could not be inventoried (2)
    ├── PolicyError                a Vault policy file could not be read or linted (2)
    ├── RotationError              a secret rotation was refused or a step of it failed (1)
    └── CommandNotFoundError       `run` could not find the command to start (127)
        └── CommandNotExecutableError  found, but not executable (126)

Warnings (``warnings.warn``; the CLI prints ``vaultline: warning: ...``):

    VaultlineWarning
    └── AuditDamageWarning         a command found the audit log damaged and recorded it

Messages never contain secret values: they name the file, line, key, reference or
provider, and say what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence


class VaultlineError(Exception):
    """Base of every vaultline error."""

    exit_code: int = 1


class ConfigError(VaultlineError):
    """A project file, environment pack or reference is invalid.

    ``where`` is ``FILE`` or ``FILE:LINE`` and prefixes the message.
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        self.message = message
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}" if file else message)


class MissingExtraError(ConfigError):
    """A provider or feature needs an optional dependency."""

    def __init__(self, feature: str, extra: str):
        super().__init__(f"{feature} needs an extra: pip install 'vaultline[{extra}]'")


class MasterKeyError(VaultlineError):
    exit_code = 2


class LoosePermissionsError(VaultlineError):
    """A master key file or store that group or others can read: refused until chmod 600."""

    exit_code = 2


class StoreError(VaultlineError):
    pass


class SecretNotFoundError(StoreError):
    pass


class VersionConflictError(StoreError):
    pass


class IntegrityError(StoreError):
    pass


class ReservedPathError(StoreError):
    """A secret path that names vaultline's own records; no user-level operation reaches them."""

    exit_code = 2


class ProviderError(VaultlineError):
    """A provider failed to read or write one reference.

    Carries the provider name, the key (when resolving) and the reference so that a
    failing resolution can be reported row by row; never the value. ``missing`` says the
    provider answered that nothing is there *and* ``vaultline secret put`` cures it: true of a
    :class:`MissingSecretError` unless its provider is one vaultline cannot write (an unset
    variable, a missing file), and kept when the resolver re-raises one for its key.
    """

    def __init__(
        self,
        reason: str,
        *,
        provider: str | None = None,
        reference: str | None = None,
        key: str | None = None,
        missing: bool | None = None,
    ):
        self.reason = reason
        self.missing = isinstance(self, MissingSecretError) if missing is None else missing
        self.provider = provider
        self.reference = reference
        self.key = key
        parts = [p for p in (provider and f"provider {provider!r}", reference) if p]
        super().__init__(f"{' '.join(parts)}: {reason}" if parts else reason)


class MissingSecretError(ProviderError):
    """The provider answered, and holds nothing at the reference (or that version)."""


class AuthenticationError(ProviderError):
    pass


class PermissionDeniedError(ProviderError):
    pass


class ProviderUnavailableError(ProviderError):
    pass


class ResolutionError(VaultlineError):
    """Resolution is all-or-nothing: this lists every key that failed."""

    def __init__(self, failures: Sequence[ProviderError]):
        self.failures = list(failures)
        lines = [
            f"  {f.key or '?'}: {f.reference or '?'}: {f.reason}" for f in self.failures
        ]
        noun = "key" if len(self.failures) == 1 else "keys"
        # Suggest `put` only when a secret is actually absent, not for an unset variable,
        # an unreachable server or a denial.
        hint = (" (store missing secrets with 'vaultline secret put KEY --env ENV')"
                if any(f.missing for f in self.failures) else "")
        super().__init__(
            f"{len(self.failures)} {noun} could not be resolved; nothing was output{hint}\n"
            + "\n".join(lines)
        )


class AuditError(VaultlineError):
    pass


class VaultlineWarning(UserWarning):
    """Base of the warnings vaultline emits; the CLI prints each as one line on stderr."""


class AuditDamageWarning(VaultlineWarning):
    """The audit log was found damaged (cut, edited, checkpoint removed); work went on."""


class OverrideError(VaultlineError):
    exit_code = 2


class KeyManagementError(VaultlineError):
    pass


class KeyUsageError(KeyManagementError):
    """The request itself is wrong (an invalid name, an algorithm that does not fit): usage."""

    exit_code = 2


class VerificationError(KeyManagementError):
    """A JWT or webhook signature is invalid, expired, or signed by an unknown/retired key."""


class InventoryError(VaultlineError):
    """The path to inventory does not exist or cannot be read."""

    exit_code = 2


class PolicyError(VaultlineError):
    """A policy file cannot be read, or an option given to the linter is invalid."""

    exit_code = 2


class RotationError(VaultlineError):
    """A rotation was refused (grace guard, one already running) or one of its steps failed."""


class CommandNotFoundError(VaultlineError):
    """The command given to ``vaultline run`` does not exist; exits like a shell would."""

    exit_code = 127

    def __init__(self, command: str, message: str | None = None):
        self.command = command
        super().__init__(message or f"{command}: command not found; check the spelling and PATH")


class CommandNotExecutableError(CommandNotFoundError):
    exit_code = 126

    def __init__(self, command: str, reason: str = "permission denied; is it executable?"):
        super().__init__(command, f"{command}: {reason}")


class ScanError(VaultlineError):
    """A scan could not run (unreadable or newer baseline, git failure); not a finding."""

    exit_code = 2
