"""Provider ``azure-keyvault``: Azure Key Vault secrets (azure-keyvault-secrets + azure-identity).

    akv: {type: azure-keyvault, vault_url: "https://nexus.vault.azure.net"}

Authentication is ``DefaultAzureCredential``: Managed Identity first on Azure, a service
principal from ``AZURE_CLIENT_ID``/``AZURE_TENANT_ID``/``AZURE_CLIENT_SECRET`` in CI, the Azure
CLI login on a workstation. Code may pass its own ``credential`` object in the options.

A bare ``akv`` reference is named ``{app}--{env}--{key}`` with lower-kebab segments
(``nexus-engine--prod--connectionstrings--primary``). Key Vault only accepts names
of letters, digits and dashes up to 127 characters; anything else is refused before a request.
``@<version id>`` reads an older version.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from vaultline._limits import parse_json
from vaultline.errors import (
    AuthenticationError,
    ConfigError,
    MissingSecretError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
    VersionConflictError,
)
from vaultline.project import reference
from vaultline.providers._http import capped_session
from vaultline.providers._remote import COMMON_OPTIONS, Guard, RemoteSettings, scrub
from vaultline.providers._retry import Transient, call_with_retries
from vaultline.providers.base import Fetched, Provider, ProviderContext, Request
from vaultline.providers.naming import NamingConvention

T = TypeVar("T")

NAME_RULE = re.compile(r"[0-9A-Za-z-]{1,127}")
SCOPE = "https://vault.azure.net/.default"


def validate_name(name: str) -> str:
    if not NAME_RULE.fullmatch(name):
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c == "-"))})
        why = (f"{len(name)} characters, more than 127" if len(name) > 127 else
               "empty" if not name else f"it contains {' '.join(repr(c) for c in bad)}")
        raise ConfigError(f"Azure Key Vault secret name {name[:60]!r} is not valid ({why}); "
                          "names are 1-127 letters, digits and dashes — adjust the reference or "
                          "the provider's naming template")
    return name


def _credential_failure(message: str) -> str:
    """What stopped DefaultAzureCredential's chain, out of its summary of every credential
    tried: the chain ends at the first one that failed for real (an identity endpoint that
    refused or flooded), which is the last listed; when every one was merely unavailable,
    the whole summary is the story."""
    tried = [line.strip() for line in message[:64 * 1024].splitlines() if line.startswith("\t")]
    if tried and "unavailable" not in tried[-1].lower():
        return tried[-1]
    return message


@contextmanager
def translate_azure(where: str, *, write: bool = False) -> Iterator[None]:
    """azure-core errors -> vaultline's tree; throttling, 5xx and connection errors are Transient.

    Server text is scrubbed: a proxy or a broken server may echo the bearer token back.
    """
    try:
        yield
    except ClientAuthenticationError as exc:
        # Raised both for a 401 from the vault and for a credential that found no identity.
        reason = scrub(_credential_failure(str(exc.message or exc)))
        raise AuthenticationError(f"Azure refused or could not get credentials for {where} "
                                  f"({reason})") from None
    except ResourceNotFoundError:
        raise MissingSecretError(f"nothing at {where} (404)") from None
    except DecodeError:
        raise ProviderUnavailableError(
            f"{where} did not answer with Key Vault's JSON; is a proxy in between cutting "
            "answers short?") from None
    except RecursionError:
        # azure-core's JSON parser, on an answer nested thousands deep.
        raise ProviderUnavailableError(
            f"{where} did not answer with Key Vault's JSON (nested too deeply to read); is a "
            "proxy in between cutting answers short?") from None
    except HttpResponseError as exc:
        status = int(exc.status_code or 0)
        code = scrub(str(getattr(exc.error, "code", None) or exc.reason or ""))[:80]
        if status == 403:
            raise PermissionDeniedError(f"access denied to {where} ({code}); grant the identity "
                                        "'get'/'set' on secrets") from None
        if status == 429 or status >= 500:
            error = ProviderUnavailableError(f"{where} is unavailable (HTTP {status} {code})")
            if write and status not in (429, 503):
                raise error from None
            headers = getattr(exc.response, "headers", None) or {}
            retry_after = headers.get("Retry-After")
            raise Transient(error, retry_after=float(retry_after) if retry_after and
                            retry_after.isdigit() else None) from None
        raise ProviderError(f"{where}: HTTP {status} {code}") from None
    except ServiceRequestError as exc:  # the request never reached the vault
        raise Transient(ProviderUnavailableError(f"cannot reach {where} ({type(exc).__name__})")) from None
    except ServiceResponseError as exc:  # sent, but no (complete) answer: maybe applied
        error = ProviderUnavailableError(f"no answer from {where} ({type(exc).__name__})")
        if write:
            raise error from None
        raise Transient(error) from None
    except AzureError as exc:  # anything else azure-core raises
        raise ProviderError(f"{where}: {scrub(f'{type(exc).__name__}: {exc.message}')}") from None


def _token_subject(token: str) -> str | None:
    """Who an access token speaks for (upn, app id or object id); the token is not verified
    here — Key Vault does that — this only names the caller for the audit log."""
    try:
        payload = token.split(".")[1]
        claims = parse_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    for claim in ("upn", "unique_name", "appid", "azp", "oid", "sub"):
        if claims.get(claim):
            return str(claims[claim])
    return None


class AzureKeyVaultProvider(Provider):
    type = "azure-keyvault"
    default_naming = NamingConvention("{app}--{env}--{key}", "--", "lower-kebab")
    options = COMMON_OPTIONS | frozenset({"vault_url", "credential", "connection_verify",
                                          "verify_challenge_resource",
                                          # role scopes for `policy generate --provider azure`
                                          "subscription_id", "resource_group"})
    remote = True
    max_value_bytes = 25 * 1024  # Key Vault's secret value limit

    def __init__(self, name: str, options: Mapping[str, Any], context: ProviderContext):
        super().__init__(name, options, context)
        where = f"provider {name!r}"
        self.vault_url = str(options.get("vault_url") or "").rstrip("/")
        if not self.vault_url.startswith("https://"):
            raise ConfigError(f"{where}: 'vault_url' must be the vault's https:// address, e.g. "
                              "https://nexus.vault.azure.net")
        self.settings = RemoteSettings.from_options(options, where=where)
        self._credential = options.get("credential")
        self._own_credential = False  # DefaultAzureCredential, made here: closed here too
        self._client: Any = None
        self._identity: str | None = None
        self._lock = threading.Lock()
        self._guard: Guard | None = None  # the running resolution's guard

    @property
    def credential(self) -> Any:
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            # Token requests (Managed Identity, a service principal, workload identity) go
            # through a transport of their own with the same cap and deadline as the vault's:
            # the identity endpoint is a server too, and may answer without end.
            self._credential = DefaultAzureCredential(transport=self._transport(verify=True))
            self._own_credential = True
        return self._credential

    def _transport(self, *, verify: bool | str) -> Any:
        """An azure-core transport whose session reads bodies under the size cap and the
        resolution's deadline; pooled for the worker count, so every worker keeps its
        connection."""
        import requests.adapters
        from azure.core.pipeline.transport import RequestsTransport

        session = capped_session(self.settings.max_response_bytes, lambda: self._guard)
        adapter = requests.adapters.HTTPAdapter(pool_connections=1,
                                                pool_maxsize=self.settings.max_workers)
        session.mount("https://", adapter)
        return RequestsTransport(session=session, session_owner=True,
                                 connection_timeout=self.settings.timeout,
                                 read_timeout=self.settings.timeout, connection_verify=verify)

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from azure.keyvault.secrets import SecretClient

                verify = self.config.get("connection_verify", True)
                if isinstance(verify, str):
                    verify = str(self.context.root / verify)
                self._client = SecretClient(
                    self.vault_url, self.credential, transport=self._transport(verify=verify),
                    retry_total=0,  # vaultline's policy retries, not azure-core's
                    connection_verify=verify,
                    verify_challenge_resource=bool(self.config.get("verify_challenge_resource", True)),
                )
            return self._client

    def _call(self, where: str, call: Callable[[Any], T], *, write: bool = False) -> T:
        """``call(client)`` with translation and retries; pagers must be walked inside ``call``
        (they are lazy, so their requests happen there)."""
        if self._guard is None:  # outside a resolution (put, ls, check): a deadline of its own
            guard = self._guard = self.settings.guard(self.name)
            try:
                return guard.call(lambda: self._call(where, call, write=write))
            finally:
                guard.close()
                self._guard = None

        def attempt() -> T:
            with translate_azure(where, write=write):
                return call(self.client)
        guard = self._guard
        try:
            return call_with_retries(attempt, self.settings.retry,
                                     before_retry=guard.before_retry if guard else None)
        except ProviderError as exc:
            exc.provider = exc.provider or self.name
            raise

    def display_path(self, path: str) -> str:
        return f"{self.vault_url}/secrets/{path}"

    # -- reads -----------------------------------------------------------------------------

    def _fetch_one(self, request: Request) -> Fetched:
        name, version = request
        try:
            validate_name(name)
        except ConfigError as exc:
            raise ProviderError(exc.message, provider=self.name, reference=name) from None
        if version == reference.CURRENT:
            version = None
        elif version == reference.PREVIOUS:  # the version made before the newest
            made = self.versions(name)
            if len(made) < 2:
                raise ProviderError("has no previous version (it was never rotated)",
                                    provider=self.name, reference=name)
            version = made[-2]
        where = f"secret {name}" + (f" version {version}" if version else "")
        secret = self._call(where, lambda c: c.get_secret(name, version))
        if secret.value is None:
            raise ProviderError(f"{where} has no value", provider=self.name)
        return Fetched(str(secret.value), secret.properties.version)

    def fetch_many(self, requests: Iterable[Request]) -> dict[Request, Fetched | ProviderError]:
        guard = self._guard = self.settings.guard(self.name)
        try:
            return guard.map(self._fetch_one, requests, self.settings.max_workers)
        finally:
            guard.close()
            self._guard = None

    def versions(self, path: str) -> list[str]:
        """Every version id of a secret, oldest first (values are not read)."""
        validate_name(path)
        found = self._call(f"versions of {path}",
                           lambda c: list(c.list_properties_of_secret_versions(path)))
        ordered = sorted(found, key=lambda p: (p.created_on is None, p.created_on))
        return [str(p.version) for p in ordered]

    # -- writes and management -------------------------------------------------------------

    def put(self, path: str, value: str, *, cas: int | None = None) -> str:
        if cas is not None:
            raise ConfigError("Azure Key Vault has no check-and-set; write without --cas")
        validate_name(path)
        self.check_value_size(path, value)
        secret = self._call(f"secret {path}", lambda c: c.set_secret(path, value), write=True)
        return str(secret.properties.version)

    def put_if_unchanged(self, path: str, value: str, read: str | None) -> str:
        """Key Vault has no conditional write: write, then check the version history. If
        another write landed between the version read and ours, its value is written again
        as the newest (so it is not lost under ours) and the conflict raised: the caller then
        re-applies its change on top of it."""
        validate_name(path)
        before = self.versions(path) if read is not None else []
        if before[-1:] != ([read] if read is not None else []):
            raise VersionConflictError(f"{path} changed meanwhile")
        written = self.put(path, value)
        history = self.versions(path)
        ours = history.index(written)
        if ours != len(before):  # someone else's version(s) sit between ours and the read one
            self.put(path, str(self.fetch(path, history[ours - 1]).value))
            raise VersionConflictError(f"{path} changed meanwhile")
        return written

    def list_paths(self, prefix: str = "") -> list[str]:
        found = self._call("secrets", lambda c: list(c.list_properties_of_secrets()))
        return sorted(p.name for p in found if p.name and p.name.startswith(prefix))

    def remote_key(self, path: str) -> str:
        return path

    def check(self) -> str:
        self._call("secrets", lambda c: next(iter(c.list_properties_of_secrets()), None))
        return f"{self.vault_url} reachable; authenticated as {self.identity}"

    @property
    def identity(self) -> str:
        """``azure:<upn, app id or object id>`` from the credential's access token."""
        if self._identity is None:
            try:
                guard = self.settings.guard(self.name)  # a credential may ask the network
                token = guard.call(lambda: self.credential.get_token(SCOPE).token)
            except Exception:  # any credential failure: the audit still needs an actor
                return "azure:unauthenticated"
            self._identity = f"azure:{_token_subject(token) or 'unknown'}"
        return self._identity

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._own_credential and self._credential is not None:
                self._credential.close()
                self._credential, self._own_credential = None, False


__all__ = ["AzureKeyVaultProvider", "translate_azure", "validate_name"]
