"""Provider ``vault``: HashiCorp Vault / OpenBao KV v2.

    vault:  {type: vault, url: "http://127.0.0.1:8200", mount: kv, prefix: "{app}/{env}",
             auth: {method: approle, role_id_file: /run/vault/role-id, secret_id_file: ...}}

``vault:db.primary#password`` reads ``kv/data/nexus-engine/prod/db.primary`` (field
``password``); ``@3`` reads version 3.

    pgdyn:  {type: vault, engine: database, url: "http://127.0.0.1:8200"}   # mount: database

``pgdyn:app-dyn#username`` and ``pgdyn:app-dyn#password`` come from ONE lease on
``database/creds/app-dyn`` per resolution; the lease is kept in :data:`vaultline.resolve.leases.LEASES`
(renewed by ``run``, revoked when the process exits). ``url`` may list every node of an HA cluster: requests
go to one node and move to the next when it stops answering.

Options left unset are read from the environment as the ``vault``/``bao`` CLIs read it
(``VAULT_*`` first, then ``BAO_*``): ``url`` from VAULT_ADDR, ``namespace`` (sent as
X-Vault-Namespace) from VAULT_NAMESPACE, ``ca_cert``/``ca_path`` from VAULT_CACERT/VAULT_CAPATH,
``client_cert``/``client_key`` from VAULT_CLIENT_CERT/VAULT_CLIENT_KEY, ``tls_skip_verify`` from
VAULT_SKIP_VERIFY (with a warning: anyone on the path can then read the secrets). Config wins.

Two HTTP paths, on purpose: hvac for login, renewal, writes, listing and checks (rare calls,
where its convenience matters), and a lean pooled keep-alive client (``_http``) for bulk KV
reads, where hvac's per-request overhead would dominate.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

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
from vaultline.project.reference import CURRENT, PREVIOUS
from vaultline.providers._engines import DEFAULT_MOUNTS
from vaultline.providers._http import HttpPool, TLSOptions, capped_session
from vaultline.providers._remote import COMMON_OPTIONS, Guard, RemoteSettings, scrub
from vaultline.providers._retry import Transient, call_with_retries
from vaultline.providers._vault_auth import AuthMethod, Login
from vaultline.providers.base import Fetched, Provider, ProviderContext, Request
from vaultline.providers.naming import NamingConvention
from vaultline.resolve.leases import LEASES, Lease

T = TypeVar("T")

# Statuses a server sends when the request was not processed and may succeed later
# (429: rate limited; 5xx: sealed, standby without a leader, overloaded).
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


def _server_reason(body: Any, status: int, known: Iterable[str] = ()) -> str:
    """The server's own error text, scrubbed: a proxy or a broken server may echo the request."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if errors and isinstance(errors, list):
        text = " ".join(" ".join(str(e).split()) for e in errors)
        return f"{scrub(text.removeprefix('1 error occurred: * '), known)} (HTTP {status})"
    return f"HTTP {status}"


@contextmanager
def translate_hvac(where: str, *, write: bool = False,
                   known: Callable[[], Iterable[str]] = tuple) -> Iterator[None]:
    """hvac/requests errors -> vaultline's tree; retryable ones wrapped in :class:`Transient`.

    A write is retried only when it certainly did not reach the server (connection refused,
    connect timeout, 429, 503): retrying after a read timeout could write a second version.
    Server text is scrubbed of the ``known()`` credentials and anything token-shaped.
    """
    try:
        yield
    except hvac.exceptions.Forbidden as exc:
        raise PermissionDeniedError(f"permission denied at {where}; the token's policies do not "
                                    f"allow this ({_reason(exc, known())})") from None
    except hvac.exceptions.Unauthorized as exc:
        raise AuthenticationError(f"not authenticated at {where} ({_reason(exc, known())})") from None
    except hvac.exceptions.InvalidPath:
        raise MissingSecretError(f"nothing at {where} (HTTP 404)") from None
    except (hvac.exceptions.RateLimitExceeded, hvac.exceptions.VaultDown,
            hvac.exceptions.BadGateway, hvac.exceptions.InternalServerError) as exc:
        error = ProviderUnavailableError(f"{where} is unavailable ({_reason(exc, known())})")
        if write and isinstance(exc, hvac.exceptions.InternalServerError):
            raise error from None
        raise Transient(error) from None
    except hvac.exceptions.InvalidRequest as exc:
        reason = _reason(exc, known())
        if "check-and-set" in reason:
            raise VersionConflictError(f"{where}: check-and-set failed: the current version is "
                                       "not the one given with --cas; 'vaultline secret versions' "
                                       "shows it") from None
        raise ProviderError(f"{where}: request refused ({reason})") from None
    except hvac.exceptions.VaultError as exc:
        raise ProviderError(f"{where}: {_reason(exc, known())}") from None
    except requests.exceptions.SSLError as exc:
        raise ProviderUnavailableError(f"TLS error talking to {where}: {type(exc).__name__}") from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError) as exc:
        error = ProviderUnavailableError(f"cannot reach {where} ({type(exc).__name__})")
        if write and isinstance(exc, requests.exceptions.ReadTimeout |
                                requests.exceptions.ChunkedEncodingError):
            raise error from None  # it may have been written: do not write it twice
        raise Transient(error) from None
    except requests.exceptions.RequestException as exc:
        raise ProviderError(f"{where}: {scrub(f'{type(exc).__name__}: {exc}', known())}") from None
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        # A cut-short, non-JSON or foreign answer (a proxy's HTML page, a load balancer's
        # 200): hvac hands back what it could not parse and the caller's lookup fails;
        # JSON nested too deeply for requests' parser ends in a RecursionError.
        raise _not_vault_json(where, type(exc).__name__) from None


def _parse_bool(text: str | None, name: str) -> bool:
    """As Go's strconv.ParseBool, which the vault CLI applies to VAULT_SKIP_VERIFY."""
    if text is None:
        return False
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ConfigError(f"{name} must be true or false (or 1/0), not {text!r}")


def _not_vault_json(where: str, detail: str, *, provider: str | None = None,
                    reference: str | None = None) -> ProviderUnavailableError:
    return ProviderUnavailableError(
        f"{where} did not answer with Vault's JSON ({detail}); is the address a Vault/OpenBao "
        "server, and is a proxy in between cutting answers short?",
        provider=provider, reference=reference)


_ABSENT = object()
_Kind = type | tuple[type, ...]  # what isinstance() takes


def _is_version_map(versions: Any) -> bool:
    """KV v2 metadata's ``versions``: ``{"3": {created_time, deletion_time, destroyed}}``."""
    return isinstance(versions, Mapping) and all(
        isinstance(k, str) and k.isdigit() and isinstance(v, Mapping) for k, v in versions.items())


def _reason(exc: hvac.exceptions.VaultError, known: Iterable[str] = ()) -> str:
    errors = getattr(exc, "errors", None) or [str(exc).split(", on ")[0]]
    text = " ".join(" ".join(str(e).split()) for e in errors)
    return scrub(text.removeprefix("1 error occurred: * "), known) or type(exc).__name__


class VaultProvider(Provider):
    type = "vault"
    # A bare `vault` reference: the key's segments as a path under the provider's prefix.
    default_naming = NamingConvention("{key}", "/", "identity")
    options = COMMON_OPTIONS | frozenset({
        "url", "mount", "prefix", "namespace", "auth",
        "ca_cert", "ca_path", "client_cert", "client_key", "tls_skip_verify", "engine",
    })
    remote = True

    def __init__(self, name: str, options: Mapping[str, Any], context: ProviderContext):
        super().__init__(name, options, context)
        where = f"provider {name!r}"
        urls = options.get("url") or context.environ.get("VAULT_ADDR") or context.environ.get("BAO_ADDR")
        if not urls:
            raise ConfigError(f"{where}: set 'url' (or VAULT_ADDR / BAO_ADDR)")
        self.addresses = [str(u).rstrip("/") for u in ([urls] if isinstance(urls, str) else urls)]
        if not self.addresses or not all(a.startswith(("http://", "https://")) for a in self.addresses):
            raise ConfigError(f"{where}: 'url' must be an http(s):// address or a list of them")
        self.engine = str(options.get("engine", "kv"))
        self.mount = str(options.get("mount", DEFAULT_MOUNTS.get(self.engine, "kv"))).strip("/")
        try:
            self.prefix = str(options.get("prefix", "{app}/{env}")).format(
                app=context.app, env=context.env).strip("/")
        except (KeyError, IndexError, ValueError):
            raise ConfigError(f"{where}: 'prefix' may only use {{app}} and {{env}}") from None
        self.namespace = options.get("namespace") or self._from_env("NAMESPACE")
        self.settings = RemoteSettings.from_options(options, where=where)
        if "tls_skip_verify" in options:
            skip_verify = bool(options["tls_skip_verify"])
        else:
            skip_verify = _parse_bool(self._from_env("SKIP_VERIFY"), "VAULT_SKIP_VERIFY")
        if skip_verify:
            self.warnings.append(f"{where}: TLS certificate verification is off "
                                 "(tls_skip_verify / VAULT_SKIP_VERIFY): anyone on the network "
                                 "path can read the secrets")
        self.tls = TLSOptions(
            ca_cert=self._file_option("ca_cert") or self._from_env("CACERT"),
            ca_path=self._file_option("ca_path") or self._from_env("CAPATH"),
            client_cert=self._file_option("client_cert") or self._from_env("CLIENT_CERT"),
            client_key=self._file_option("client_key") or self._from_env("CLIENT_KEY"),
            skip_verify=skip_verify,
        )
        self.auth = AuthMethod.parse(options.get("auth"), root=context.root,
                                     environ=context.environ, where=where)
        self._current = 0  # index into addresses: the node answering lately
        self._clients: dict[str, hvac.Client] = {}
        self._pool: HttpPool | None = None
        self._login: Login | None = None
        self._valid_tokens: set[str] = set()
        self._who: dict[str, str] = {}
        self._lock = threading.RLock()
        self._clients_lock = threading.Lock()  # the clients and the pool
        self._guard: Guard | None = None  # the running resolution's (or operation's) guard
        self.leases: dict[str, str] = {}  # role -> lease id handed out (database engine)

    def _file_option(self, name: str) -> str | None:
        value = self.config.get(name)
        return None if value is None else str(self.context.root / str(value))

    def _from_env(self, suffix: str) -> str | None:
        environ = self.context.environ
        return environ.get(f"VAULT_{suffix}") or environ.get(f"BAO_{suffix}") or None

    # -- locations -------------------------------------------------------------------------

    def _full(self, path: str) -> str:
        """The path under the prefix, for a request."""
        if any(part in (".", "..") for part in path.strip("/").split("/")):
            # Relative to the prefix, `..` would reach another app's or environment's secrets
            # (and past what `policy generate` grants for the reference).
            raise ProviderError("a Vault path has no '.' or '..' segments; name the secret "
                                "under the provider's prefix, or configure a provider with "
                                "another prefix", provider=self.name, reference=path)
        return self._under_prefix(path)

    def _under_prefix(self, path: str) -> str:
        path = path.strip("/")
        return f"{self.prefix}/{path}" if self.prefix else path

    def display_path(self, path: str) -> str:
        if self.engine == "database":
            return f"{self.mount}/creds/{path.strip('/')}"
        return f"{self.mount}/data/{self._under_prefix(path)}"

    # -- connections -----------------------------------------------------------------------

    @property
    def address(self) -> str:
        return self.addresses[self._current % len(self.addresses)]

    def _failover(self, _exc: Transient) -> None:
        # Any transient failure moves to the next node: a dead node refuses connections, and
        # a standby that lost its leader answers 5xx until one is elected.
        if len(self.addresses) > 1:
            self._current = (self._current + 1) % len(self.addresses)

    def _client(self, address: str) -> hvac.Client:
        # Not the login lock: a login holds that while its call runs on the guard's thread.
        with self._clients_lock:
            if address not in self._clients:
                session = capped_session(self.settings.max_response_bytes, lambda: self._guard)
                session.verify, session.cert = self.tls.requests_verify, self.tls.requests_cert
                # token="" and cert=(): hvac would otherwise fill them from os.environ
                # (VAULT_TOKEN, ~/.vault-token, VAULT_CLIENT_CERT), not the environment given.
                self._clients[address] = hvac.Client(
                    url=address, token="", namespace=self.namespace,
                    verify=self.tls.requests_verify, cert=self.tls.requests_cert or (),
                    timeout=self.settings.timeout, session=session)
            client = self._clients[address]
        if self._login is not None:
            client.token = self._login.token
        return client

    @property
    def pool(self) -> HttpPool:
        with self._clients_lock:
            if self._pool is None:
                self._pool = HttpPool(max_connections=self.settings.max_workers,
                                      timeout=self.settings.timeout, tls=self.tls,
                                      max_response_bytes=self.settings.max_response_bytes)
            return self._pool

    def _known(self) -> tuple[str, ...]:
        """Credentials in use, scrubbed from any server text before it is shown."""
        login = self._login
        return (login.token,) if login is not None else ()

    def _hvac(self, call: Callable[[hvac.Client], T], where: str, *, write: bool = False) -> T:
        """One hvac call with translation, retries and failover between nodes, within the
        running resolution's deadline or, outside one (put, ls, check), its own."""
        if self._guard is None:
            guard = self._guard = self.settings.guard(self.name)
            try:
                return guard.call(lambda: self._hvac(call, where, write=write))
            finally:
                guard.close()
                self._guard = None

        def attempt() -> T:
            address = self.address
            client = self._client(address)
            # The token the call sent, even one a login is only checking (token auth).
            with translate_hvac(f"{where} on {address}", write=write,
                                known=lambda: (client.token or "", *self._known())):
                result = call(client)
            if isinstance(result, requests.Response) and result.status_code == 200:
                # hvac's answer to a 200 it could not parse: its callers would index into it.
                raise _not_vault_json(f"{where} on {address}", "HTTP 200")
            return result
        guard = self._guard
        try:
            return call_with_retries(attempt, self.settings.retry, on_retry=self._failover,
                                     before_retry=guard.before_retry if guard else None)
        except ProviderError as exc:
            exc.provider = exc.provider or self.name
            raise

    # -- tokens ----------------------------------------------------------------------------

    def _token(self) -> str:
        login = self._login
        if login is not None and not login.due(time.monotonic()):
            return login.token
        with self._login_lock():
            login = self._login
            if login is None:
                self._do_login()
            elif login.due(time.monotonic()):
                self._renew(login)
            assert self._login is not None
            return self._login.token

    @contextmanager
    def _login_lock(self) -> Iterator[None]:
        """The lock one login at a time holds, waited on no longer than the deadline: a login
        left hanging by a silent server must not hold up the next command's error."""
        guard = self._guard
        if not self._lock.acquire(timeout=max(0.0, guard.remaining() if guard else
                                              self.settings.deadline)):
            raise guard.expired_error() if guard else ProviderUnavailableError(
                f"{self.address} is still answering an earlier login", provider=self.name)
        try:
            yield
        finally:
            self._lock.release()

    def _do_login(self) -> None:
        what = f"{self.auth.describe()} login"
        try:
            login = self._hvac(self.auth.login, what)
        except PermissionDeniedError:
            # A login has no policy to deny it: a 403 here is refused credentials.
            raise AuthenticationError(f"{what} refused: the token or credentials are invalid, "
                                      "expired or revoked; log in again or fix them",
                                      provider=self.name) from None
        self._login = login
        self._who = {}

    def _renew(self, login: Login) -> None:
        """Extend the lease; if it cannot be extended (max TTL reached), log in again."""
        if login.renewable:
            try:
                answer = self._hvac(lambda c: c.auth.token.renew_self(), "token renewal")
                auth = self._part(answer, "auth/token/renew-self", "token renewal", "auth",
                                  kind=Mapping)
                self._login = Login(login.token, self._part(auth, "auth/token/renew-self",
                                                            "token renewal", "lease_duration",
                                                            kind=int),
                                    bool(auth.get("renewable")), time.monotonic())
                if not self._login.due(time.monotonic()):
                    return
            except (AuthenticationError, PermissionDeniedError):
                pass
        if self.auth.renews_by_login or not login.renewable:
            self._do_login()

    def _relogin(self, stale: str) -> bool:
        """After a 403 with ``stale``: log in again once if the token itself went bad.

        A 403 means either "this token may not read that" or "this token is no longer valid"
        (expired, revoked). Only the second is cured by a new login, so the token is looked up
        first; the answer is remembered, so a narrow policy denying many paths costs one lookup.
        """
        with self._login_lock():
            if self._login is not None and self._login.token != stale:
                return True  # another worker already replaced it
            if stale in self._valid_tokens:
                return False
            try:
                self._hvac(lambda c: c.adapter.get("/v1/auth/token/lookup-self",
                                                   headers={"X-Vault-Token": stale}), "token lookup")
                self._valid_tokens.add(stale)
                return False  # the token is fine: the denial is real
            except (AuthenticationError, PermissionDeniedError):
                pass
            self._do_login()
            return self._login is not None and self._login.token != stale

    def _part(self, answer: Any, path: str, where: str, *keys: str,
              kind: _Kind = object) -> Any:
        """``answer[keys[0]][keys[1]]...`` of hvac's parsed answer about ``path``, of ``kind``.

        A foreign or cut-short 200 (a proxy's ``{}`` or ``[]``) is an error naming the provider
        and the path, never a KeyError or TypeError from the lookup.
        """
        value = answer
        for key in keys:
            value = value.get(key, _ABSENT) if isinstance(value, Mapping) else _ABSENT
        if value is _ABSENT or isinstance(value, bool) or not isinstance(value, kind):
            raise _not_vault_json(where, f"no {'.'.join(keys)} in the answer",
                                  provider=self.name, reference=path)
        return value

    def _headers(self, token: str) -> dict[str, str]:
        headers = {"X-Vault-Token": token}
        if self.namespace:
            headers["X-Vault-Namespace"] = str(self.namespace)
        return headers

    # -- reads -----------------------------------------------------------------------------

    def fetch_many(self, requests: Iterable[Request]) -> dict[Request, Fetched | ProviderError]:
        wanted = list(dict.fromkeys(requests))
        if not wanted:
            return {}
        if self.engine == "database":
            return self._fetch_credentials(wanted)
        guard = self._guard = self.settings.guard(self.name)
        try:
            try:
                guard.call(self._token)  # log in once, before the workers start
            except ProviderError as exc:
                exc.provider = exc.provider or self.name
                return {request: exc for request in wanted}
            return guard.map(lambda r: self._fetch_one(r, guard), wanted, self.settings.max_workers)
        finally:
            guard.close()
            self._guard = None

    def _fetch_one(self, request: Request, guard: Guard) -> Fetched:
        path, version = request
        if version == CURRENT:
            version = None
        elif version == PREVIOUS:  # the version before the current one (KV v2 metadata)
            current = int((self.metadata(path) or {}).get("current_version") or 0)
            if current < 2:
                raise ProviderError("has no previous version (it was never rotated)",
                                    provider=self.name, reference=path)
            version = str(current - 1)
        if version is not None and not version.isdigit():
            raise ProviderError(f"Vault KV versions are numbers (e.g. @3), not {version!r}",
                                provider=self.name, reference=path)
        query = f"?version={version}" if version else ""
        api_path = f"/v1/{self.mount}/data/{urllib.parse.quote(self._full(path), safe='/')}{query}"
        where = self.display_path(path) + (f"@{version}" if version else "")
        for may_relogin in (True, False):
            token = self._token()
            try:
                return call_with_retries(
                    lambda t=token: self._read(api_path, t, where, guard),  # type: ignore[misc]
                    self.settings.retry, on_retry=self._failover, before_retry=guard.before_retry)
            except PermissionDeniedError as exc:
                if may_relogin and self._relogin(token):
                    continue
                if may_relogin and token not in self._valid_tokens:
                    # The lookup failed too: the token is bad, not the policy narrow.
                    raise AuthenticationError(
                        f"the token was refused at {where}: it is invalid, expired or revoked; "
                        "log in again (or set a valid VAULT_TOKEN)", provider=self.name,
                        reference=path) from None
                exc.provider = self.name
                raise
            except ProviderError as exc:
                exc.provider = self.name
                raise
        raise AssertionError("unreachable")

    def _read(self, api_path: str, token: str, where: str, guard: Guard) -> Fetched:
        address = self.address
        response = self.pool.request("GET", address + api_path, headers=self._headers(token),
                                     describe=address, guard=guard)
        status, body = response.status, response.body
        if status == 200 and isinstance(body, Mapping):
            data = body.get("data") or {}
            metadata = data.get("metadata") or {}
            value = data.get("data")
            if not isinstance(value, Mapping):
                raise ProviderError(f"{where}: not a KV v2 secret (is {self.mount!r} a KV v2 mount?)")
            return Fetched(dict(value), str(metadata.get("version", "")) or None)
        if status == 200:  # a cut-short or foreign answer (a proxy's page): may pass
            raise Transient(ProviderUnavailableError(
                f"{address} did not answer with Vault's JSON (HTTP 200); is a proxy in between "
                "cutting answers short?"))
        if status == 404:
            metadata = ((body or {}).get("data") or {}).get("metadata") or {}
            if metadata.get("destroyed"):
                raise MissingSecretError(f"{where}: version {metadata.get('version')} is destroyed")
            if metadata.get("deletion_time"):
                raise MissingSecretError(f"{where}: version {metadata.get('version')} is deleted")
            raise MissingSecretError(f"nothing at {where}")
        if status == 403:
            raise PermissionDeniedError(f"permission denied reading {where}: the token's policies "
                                        "do not allow it")
        if status == 401:
            raise AuthenticationError(f"not authenticated reading {where}")
        reason = _server_reason(body, status, (token,))
        if status in _TRANSIENT_STATUS:
            raise Transient(ProviderUnavailableError(f"{address} is unavailable: {reason}"),
                            retry_after=response.retry_after)
        raise ProviderError(f"{where}: {reason}")

    # -- dynamic credentials (database engine) --------------------------------------------

    def _fetch_credentials(self, wanted: list[Request]) -> dict[Request, Fetched | ProviderError]:
        """One lease per role, whichever fields are asked for; a live one is reused."""
        results: dict[Request, Fetched | ProviderError] = {}
        by_role: dict[str, Fetched | ProviderError] = {}
        for path, version in wanted:
            role = path.strip("/")
            if version is not None:
                results[(path, version)] = ProviderError(
                    "dynamic credentials have no versions: drop the @version", provider=self.name,
                    reference=path)
                continue
            if role not in by_role:
                try:
                    by_role[role] = self._credentials(role)
                except ProviderError as exc:
                    exc.provider = exc.provider or self.name
                    by_role[role] = exc
            results[(path, version)] = by_role[role]
        return results

    def _credentials(self, role: str) -> Fetched:
        key = (tuple(self.addresses), self.namespace, self.mount, role)
        lease = LEASES.reusable(key)
        if lease is None:
            self._token()
            where = self.display_path(role)
            answer = self._hvac(lambda c: c.secrets.database.generate_credentials(
                name=role, mount_point=self.mount), where)
            try:
                data, lease_id = dict(answer["data"]), str(answer["lease_id"])
                ttl = float(answer.get("lease_duration") or 0)
            except (KeyError, TypeError, ValueError):
                raise ProviderError(f"{where}: not a lease-issuing answer (is {self.mount!r} a "
                                    "database secrets engine?)", provider=self.name) from None
            lease = Lease(lease_id, ttl, bool(answer.get("renewable")), f"{self.name}:{where}",
                          data, self, LEASES.clock(), ttl, final=not answer.get("renewable"))
            LEASES.add(key, lease)
        if role in self.leases:
            return Fetched(lease.data)
        self.leases[role] = lease.lease_id
        self.warnings.append(
            f"{self.name}:{role} is a dynamic credential: it dies with its lease (TTL "
            f"{round(lease.remaining)}s), which is revoked when vaultline exits ('vaultline run' "
            "renews it while the command runs; 'vaultline resolve --keep-lease' leaves it to "
            "its TTL)")
        return Fetched(lease.data)

    def lease_id(self, path: str) -> str | None:
        # The role as referenced, or the path as shown (``database/creds/<role>``).
        role = path.strip("/")
        return self.leases.get(role) or self.leases.get(role.removeprefix(f"{self.mount}/creds/"))

    def renew_lease(self, lease_id: str, increment: int) -> float:
        self._token()
        answer = self._hvac(lambda c: c.sys.renew_lease(lease_id=lease_id, increment=increment),
                            "lease renewal", write=True)
        try:
            return float(answer["lease_duration"])
        except (KeyError, TypeError, ValueError):
            raise _not_vault_json("lease renewal", "no lease_duration") from None

    def revoke_lease(self, lease_id: str) -> None:
        self._token()
        self._hvac(lambda c: c.sys.revoke_lease(lease_id=lease_id), "lease revocation",
                   write=True)

    # -- writes and management -------------------------------------------------------------

    def put(self, path: str, value: str, *, cas: int | None = None) -> str:
        """Write a new version: a JSON object becomes the secret's fields, other text ``value``."""
        self.check_value_size(path, value)
        try:
            parsed = parse_json(value)
        except ValueError:
            parsed = None
        data = parsed if isinstance(parsed, dict) else {"value": value}
        if self.engine != "kv":
            raise ProviderError(f"{self.display_path(path)}: dynamic credentials are issued by "
                                "the server, not written", provider=self.name)
        self._token()
        full, where = self._full(path), self.display_path(path)
        answer = self._hvac(
            lambda c: c.secrets.kv.v2.create_or_update_secret(
                path=full, secret=data, cas=cas, mount_point=self.mount),
            where, write=True)
        return str(self._part(answer, path, where, "data", "version", kind=int))

    def delete_versions(self, path: str, versions: list[int]) -> None:
        """Soft-delete versions (KV v2 ``delete``): reads of them fail until undeleted."""
        self._token()
        full = self._full(path)
        self._hvac(lambda c: c.secrets.kv.v2.delete_secret_versions(
            path=full, versions=versions, mount_point=self.mount),
            self.display_path(path), write=True)

    def list_paths(self, prefix: str = "") -> list[str]:
        """Every secret under the provider's prefix (recursively), relative to that prefix."""
        self._token()
        found: list[str] = []
        pending = [prefix.strip("/")]
        while pending:
            folder = pending.pop()
            full = self._full(folder)

            def list_one(client: hvac.Client, full: str = full) -> Any:
                return client.secrets.kv.v2.list_secrets(path=full, mount_point=self.mount)

            where = f"{self.mount}/metadata/{full}"
            try:
                answer = self._hvac(list_one, where)
            except ProviderError as exc:
                if exc.missing:
                    continue
                raise
            keys = self._part(answer, folder, where, "data", "keys", kind=list)
            if not all(isinstance(key, str) and key.strip("/") for key in keys):
                raise _not_vault_json(where, "data.keys is not a list of names",
                                      provider=self.name, reference=folder)
            for key in keys:
                child = f"{folder}/{key}".strip("/")
                (pending if key.endswith("/") else found).append(child)
        return sorted(found)

    def metadata(self, path: str) -> Mapping[str, Any] | None:
        """KV v2 metadata of a secret (current version, per-version deletion), or None."""
        self._token()
        full = self._full(path)
        where = f"{self.mount}/metadata/{full}"
        try:
            answer = self._hvac(
                lambda c: c.secrets.kv.v2.read_secret_metadata(path=full, mount_point=self.mount),
                where)
        except ProviderError as exc:
            if exc.missing:
                return None
            raise
        data: Mapping[str, Any] = self._part(answer, path, where, "data", kind=Mapping)
        self._part(data, path, where, "current_version", kind=int)
        if not _is_version_map(data.get("versions")):
            raise _not_vault_json(where, "data.versions is not a map of versions",
                                  provider=self.name, reference=path)
        return data

    # -- versions (KV v2 metadata, delete, undelete, destroy) -------------------------------

    def version_rows(self, path: str) -> tuple[int, list[tuple[int, str, str | None, bool]]]:
        """``(current version, [(version, created, deleted or None, destroyed)])``."""
        metadata = self.metadata(path)
        if not metadata:
            raise MissingSecretError(f"nothing at {self.display_path(path)}", provider=self.name)
        rows = []
        for number, info in sorted((metadata.get("versions") or {}).items(),
                                   key=lambda item: int(item[0])):
            rows.append((int(number), str(info.get("created_time") or ""),
                         info.get("deletion_time") or None, bool(info.get("destroyed"))))
        return int(metadata.get("current_version") or 0), rows

    def change_versions(self, action: str, path: str, versions: list[int]) -> None:
        """``delete`` (soft), ``undelete`` or ``destroy`` the given versions of ``path``."""
        self._token()
        full = self._full(path)
        calls = {"delete": "delete_secret_versions", "undelete": "undelete_secret_versions",
                 "destroy": "destroy_secret_versions"}
        self._hvac(lambda c: getattr(c.secrets.kv.v2, calls[action])(
            path=full, versions=versions, mount_point=self.mount),
            f"{self.mount}/{action}/{full}", write=True)

    def remote_key(self, path: str) -> str:
        return self._full(path)

    def check(self) -> str:
        self._token()
        try:
            data = self._lookup_self()
        except PermissionDeniedError:
            # Every token may look itself up: a refusal means the token is bad.
            raise AuthenticationError(f"{self.address} refused the token: it is invalid, "
                                      "expired or revoked; log in again (or set a valid "
                                      "VAULT_TOKEN)", provider=self.name) from None
        self._remember(data)
        ttl = int(data.get("ttl") or 0)
        policies = ", ".join(data.get("policies") or []) or "none"
        return (f"{self.address} reachable; authenticated as {self.identity} "
                f"(policies: {policies}; token ttl {'none' if ttl == 0 else f'{ttl}s'})")

    def _lookup_self(self) -> Mapping[str, Any]:
        """What the server knows of the token in use (policies, ttl, entity, accessor)."""
        answer = self._hvac(lambda c: c.auth.token.lookup_self(), "token lookup")
        data: Mapping[str, Any] = self._part(answer, "auth/token/lookup-self", "token lookup",
                                             "data", kind=Mapping)
        return data

    def _remember(self, data: Mapping[str, Any]) -> None:
        meta = data.get("meta") or {}
        self._who = {
            "name": str(meta.get("role_name") or meta.get("role") or
                        meta.get("service_account_name") or data.get("display_name") or ""),
            "entity": str(data.get("entity_id") or ""),
            # The accessor names a token without being able to use it: it tells apart two
            # people's tokens that have no identity entity (root and other bare tokens).
            "accessor": str(data.get("accessor") or ""),
        }

    @property
    def identity(self) -> str:
        """``vault:<method>:<role or display name> entity=<id>`` (or ``accessor=``): the audit actor."""
        if not self._who and self._login is not None:
            with suppress(ProviderError):
                self._remember(self._lookup_self())
        name = self._who.get("name") or str(self.auth.options.get("role") or "")
        text = f"vault:{self.auth.method}" + (f":{name}" if name else "")
        if self._who.get("entity"):
            return f"{text} entity={self._who['entity']}"
        if self._who.get("accessor"):
            return f"{text} accessor={self._who['accessor']}"
        return text

    def close(self) -> None:
        with self._clients_lock:  # not the login lock: a hung login must not block closing
            if self._pool is not None:
                self._pool.close()
                self._pool = None
            for client in self._clients.values():
                client.adapter.close()
            self._clients.clear()


__all__ = ["VaultProvider", "translate_hvac"]
