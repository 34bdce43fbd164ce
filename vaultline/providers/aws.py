"""Provider ``aws-secretsmanager``: AWS Secrets Manager (boto3).

    aws: {type: aws-secretsmanager, region: eu-west-1}       # profile, endpoint_url optional

As the AWS CLI does, unset options come from the environment vaultline was given: the region
from ``AWS_REGION``/``AWS_DEFAULT_REGION``, the profile from ``AWS_PROFILE``, the endpoint from
``AWS_ENDPOINT_URL_SECRETS_MANAGER`` then ``AWS_ENDPOINT_URL``, and keys from
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``; without those, boto3's
standard chain (shared config and credentials files, SSO, container and instance roles).
Configuration wins over the environment. ``kms_key`` (a customer-managed key) encrypts the
secrets vaultline creates and is what ``policy generate --provider aws`` grants kms:Decrypt on;
``account_id`` fills the generated ARNs (default ``*``).

A bare ``aws`` reference is named ``{app}/{env}/{key}`` with each key segment lower-camel
(``nexus-engine/prod/connectionStrings/primary``). ``#field`` selects from a JSON
secret; ``@AWSPREVIOUS`` (any staging label) or ``@<version id>`` reads another version.

Current versions are read with ``BatchGetSecretValue`` (20 per call), the rest one by one, all
on a bounded pool of workers sharing one client's connection pool. botocore's own retries are
off: vaultline's policy (``_retry``) retries throttling, 5xx and connection failures, so the
behaviour and the attempt count are the same for every provider.
"""

from __future__ import annotations

import os
import re
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.exceptions
import botocore.parsers

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
from vaultline.providers._http import read_capped
from vaultline.providers._remote import COMMON_OPTIONS, Guard, RemoteSettings, scrub
from vaultline.providers._retry import Transient, call_with_retries
from vaultline.providers.base import Fetched, Provider, ProviderContext, Request
from vaultline.providers.naming import NamingConvention

T = TypeVar("T")

BATCH_SIZE = 20  # BatchGetSecretValue's limit on SecretIdList
CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
PENDING = "AWSPENDING"
# vaultline's stage labels (``REF@current``, ``REF@previous``) are AWS's own stages.
_STAGES = {reference.CURRENT: CURRENT, reference.PREVIOUS: PREVIOUS}
# Version ids are UUIDs (32-64 characters); anything else after '@' is a staging label.
_VERSION_ID = re.compile(r"[0-9a-fA-F-]{32,64}")

_AUTH_CODES = frozenset({"UnrecognizedClientException", "InvalidClientTokenId",
                         "InvalidSignatureException", "ExpiredTokenException", "ExpiredToken",
                         "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken"})
_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})
_THROTTLE_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException",
                             "RequestLimitExceeded", "InternalServiceError", "InternalFailure",
                             "ServiceUnavailable"})


def _code(exc: botocore.exceptions.ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return str(error.get("Code", "")), status


@contextmanager
def translate_botocore(where: str, *, write: bool = False) -> Iterator[None]:
    """botocore errors -> vaultline's tree; throttling, 5xx and connection errors are Transient.

    Messages carry the error code and AWS's message (scrubbed: a proxy may echo the signed
    request), which names the secret, never its value.
    """
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        code, status = _code(exc)
        code = scrub(code)[:80]
        message = scrub(str(exc.response.get("Error", {}).get("Message", "")))
        detail = f"{code}: {message}" if message else code
        if code in _DENIED_CODES or (status == 403 and code not in _AUTH_CODES):
            raise PermissionDeniedError(f"access denied to {where} ({detail})") from None
        if code in _AUTH_CODES or status == 401:
            raise AuthenticationError(f"AWS refused the credentials for {where} ({detail})") from None
        if code == "ResourceNotFoundException" or status == 404:
            raise MissingSecretError(f"nothing at {where} ({detail})") from None
        if code in _THROTTLE_CODES or status == 429 or status >= 500:
            raise Transient(ProviderUnavailableError(f"{where} is unavailable ({detail})")) from None
        raise ProviderError(f"{where}: {detail}") from None
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.ProfileNotFound) as exc:
        raise AuthenticationError(f"no usable AWS credentials for {where} ({scrub(str(exc))})") from None
    except (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ResponseStreamingError,
            botocore.exceptions.IncompleteReadError, botocore.exceptions.ConnectionClosedError) as exc:
        error = ProviderUnavailableError(f"no complete answer from {where} ({type(exc).__name__})")
        if write:  # the write may have happened: do not write it twice
            raise error from None
        raise Transient(error) from None
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionError,
            botocore.exceptions.ConnectTimeoutError) as exc:
        raise Transient(ProviderUnavailableError(
            f"cannot reach {where} ({type(exc).__name__})")) from None
    except RecursionError:
        # botocore's JSON parser, on an answer nested thousands deep: no answer of the service.
        raise ProviderUnavailableError(
            f"{where} did not answer with Secrets Manager's JSON (nested too deeply to read); "
            "is the endpoint right, and is a proxy in between cutting answers short?") from None
    except (botocore.exceptions.BotoCoreError, botocore.parsers.ResponseParserError) as exc:
        # Anything else botocore raises: an unparsable answer (a proxy's page), a bad endpoint.
        raise ProviderUnavailableError(
            f"{where}: {scrub(f'{type(exc).__name__}: {exc}')}; is the endpoint Secrets Manager, "
            "and is a proxy in between cutting answers short?") from None


class _CappedSession:
    """botocore's HTTP session, with each body read by the provider under its cap and deadline."""

    def __init__(self, http: Any, provider: AwsSecretsManagerProvider):
        self._http = http
        self._provider = provider

    def send(self, request: Any) -> Any:
        return self._provider._send(self._http, request)

    def close(self) -> None:
        self._http.close()


class AwsSecretsManagerProvider(Provider):
    type = "aws-secretsmanager"
    default_naming = NamingConvention("{app}/{env}/{key}", "/", "lower-camel")
    options = COMMON_OPTIONS | frozenset({"region", "profile", "endpoint_url", "batch",
                                          "kms_key", "account_id"})
    remote = True
    max_value_bytes = 64 * 1024  # SecretString's limit

    def __init__(self, name: str, options: Mapping[str, Any], context: ProviderContext):
        super().__init__(name, options, context)
        self.settings = RemoteSettings.from_options(options, where=f"provider {name!r}")
        self.region = options.get("region") or context.environ.get("AWS_REGION") or \
            context.environ.get("AWS_DEFAULT_REGION")
        if not self.region:
            raise ConfigError(f"provider {name!r}: set 'region' (or AWS_REGION)")
        self.use_batch = bool(options.get("batch", True))
        environ = context.environ
        self.profile = options.get("profile") or environ.get("AWS_PROFILE") or None
        self.endpoint_url = (options.get("endpoint_url")
                             or environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
                             or environ.get("AWS_ENDPOINT_URL") or None)
        self._client: Any = None
        self._identity: str | None = None
        self._lock = threading.Lock()
        self._guard: Guard | None = None  # the running resolution's guard

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                with translate_botocore(f"AWS profile {self.profile!r}"):
                    session = self._session()
                config = botocore.config.Config(
                    connect_timeout=self.settings.timeout, read_timeout=self.settings.timeout,
                    max_pool_connections=self.settings.max_workers,
                    retries={"total_max_attempts": 1, "mode": "standard"},  # ours, not botocore's
                )
                self._client = session.client("secretsmanager", endpoint_url=self.endpoint_url,
                                              config=config)
                endpoint = self._client._endpoint  # botocore's transport: wrapped, not replaced
                endpoint.http_session = _CappedSession(endpoint.http_session, self)
            return self._client

    def _session(self) -> Any:
        environ = self.context.environ
        keys: dict[str, Any] = {}
        # Keys in the environment vaultline was given; a profile named in config wins.
        if environ.get("AWS_ACCESS_KEY_ID") and not self.config.get("profile"):
            keys = {"aws_access_key_id": environ["AWS_ACCESS_KEY_ID"],
                    "aws_secret_access_key": environ.get("AWS_SECRET_ACCESS_KEY", "")}
            if environ.get("AWS_SESSION_TOKEN"):
                keys["aws_session_token"] = environ["AWS_SESSION_TOKEN"]
        return boto3.session.Session(profile_name=None if keys else self.profile,
                                     region_name=str(self.region), **keys)
    def _send(self, http: Any, request: Any) -> Any:
        """Send ``request`` on botocore's own session, then read the body in pieces under the
        size cap and the resolution's deadline (botocore would read it whole, however big)."""
        streaming, request.stream_output = request.stream_output, True
        try:
            response = http.send(request)
        finally:
            request.stream_output = streaming
        if streaming:  # an operation that streams its output reads it itself
            return response
        guard = self._guard
        sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        if guard is not None:
            guard.track(sock)
        try:
            response._content = read_capped(
                response.raw.stream(64 * 1024), declared=response.headers.get("Content-Length"),
                where=f"Secrets Manager at {urllib.parse.urlsplit(request.url).netloc}",
                cap=self.settings.max_response_bytes, guard=guard)
        except ProviderError:
            response.raw.close()
            raise
        except Exception as exc:  # a cut-short or timed-out body: urllib3's errors, OSError
            if guard is not None:
                guard.check()  # the deadline shut the socket: say that instead
            raise botocore.exceptions.ResponseStreamingError(error=exc) from None
        finally:
            if guard is not None:
                guard.untrack(sock)
        return response

    def _call(self, where: str, operation: str, *, write: bool = False, **params: Any) -> Any:
        """One API call with translation and retries, within the running resolution's deadline
        or, outside one (put, ls, check), its own."""
        if self._guard is None:
            guard = self._guard = self.settings.guard(self.name)
            try:
                return guard.call(lambda: self._call(where, operation, write=write, **params))
            finally:
                guard.close()
                self._guard = None

        def attempt() -> Any:
            with translate_botocore(where, write=write):
                return getattr(self.client, operation)(**params)
        guard = self._guard
        try:
            return call_with_retries(attempt, self.settings.retry,
                                     before_retry=guard.before_retry if guard else None)
        except ProviderError as exc:
            exc.provider = exc.provider or self.name
            raise

    @staticmethod
    def _selector(version: str | None) -> dict[str, Any]:
        """Always name the stage or version: moto (and eventual consistency) can otherwise
        answer a stale version right after a stage moves."""
        if version is None:
            return {"VersionStage": CURRENT}
        if _VERSION_ID.fullmatch(version):
            return {"VersionId": version}
        return {"VersionStage": _STAGES.get(version, version)}

    @staticmethod
    def _fetched(answer: Mapping[str, Any], where: str) -> Fetched:
        if "SecretString" in answer and answer["SecretString"] is not None:
            return Fetched(str(answer["SecretString"]), answer.get("VersionId"))
        raw = answer.get("SecretBinary")
        if isinstance(raw, bytes | bytearray):
            try:
                return Fetched(bytes(raw).decode("utf-8"), answer.get("VersionId"))
            except UnicodeDecodeError:
                pass
        raise ProviderError(f"{where}: the secret is binary, not text; store it as a string")

    # -- reads -----------------------------------------------------------------------------

    def _fetch_one(self, request: Request) -> Fetched:
        path, version = request
        where = path + (f"@{version}" if version else "")
        answer = self._call(where, "get_secret_value", SecretId=path, **self._selector(version))
        return self._fetched(answer, where)

    def _fetch_batch(self, paths: list[str]) -> dict[Request, Fetched | ProviderError]:
        where = f"{len(paths)} secrets (BatchGetSecretValue)"
        answer = self._call(where, "batch_get_secret_value", SecretIdList=paths)
        if "SecretValues" not in answer and "Errors" not in answer:
            # Neither values nor errors: not Secrets Manager's answer (a proxy's page, a body
            # cut short); botocore parses those into nothing rather than failing.
            error = ProviderUnavailableError(
                f"{where} did not answer with Secrets Manager's JSON; is the endpoint right, "
                "and is a proxy in between cutting answers short?", provider=self.name)
            return {(path, None): error for path in paths}
        results: dict[Request, Fetched | ProviderError] = {}
        by_id = {}
        for item in answer.get("SecretValues", []):
            for ident in (item.get("Name"), item.get("ARN")):
                if ident:
                    by_id[ident] = item
        errors = {e.get("SecretId"): e for e in answer.get("Errors", [])}
        for path in paths:
            request = (path, None)
            if path in by_id:
                try:
                    results[request] = self._fetched(by_id[path], path)
                except ProviderError as exc:
                    exc.provider = self.name
                    results[request] = exc
                continue
            error = errors.get(path, {})
            code, message = scrub(error.get("ErrorCode", ""))[:80], scrub(error.get("Message", ""))
            cls: type[ProviderError] = MissingSecretError
            reason = f"nothing at {path} ({code or 'not returned'})"
            if code in _DENIED_CODES:
                cls, reason = PermissionDeniedError, f"access denied to {path} ({code}: {message})"
            elif code and code != "ResourceNotFoundException":
                cls, reason = ProviderError, f"{path}: {code}: {message}"
            results[request] = cls(reason, provider=self.name, reference=path)
        return results

    def fetch_many(self, requests: Iterable[Request]) -> dict[Request, Fetched | ProviderError]:
        wanted = list(dict.fromkeys(requests))
        current = [path for path, version in wanted if version is None] if self.use_batch else []
        batches = [current[i:i + BATCH_SIZE] for i in range(0, len(current), BATCH_SIZE)]
        singles = [r for r in wanted if not (self.use_batch and r[1] is None)]
        jobs: list[tuple[str, Any]] = [("batch", tuple(b)) for b in batches]
        jobs += [("one", r) for r in singles]

        def run(job: tuple[str, Any]) -> Any:
            kind, arg = job
            return self._fetch_batch(list(arg)) if kind == "batch" else self._fetch_one(arg)

        results: dict[Request, Fetched | ProviderError] = {}
        guard = self._guard = self.settings.guard(self.name)
        try:
            outcomes = guard.map(run, jobs, self.settings.max_workers)
        finally:
            guard.close()
            self._guard = None
        for job, outcome in outcomes.items():
            kind, arg = job
            if kind == "one":
                results[arg] = outcome
            elif isinstance(outcome, ProviderError):  # the whole batch call failed
                results.update({(path, None): outcome for path in arg})
            else:
                results.update(outcome)
        return {request: results[request] for request in wanted}

    # -- writes and management -------------------------------------------------------------

    def put(self, path: str, value: str, *, cas: int | None = None) -> str:
        """A new AWSCURRENT version (the old one becomes AWSPREVIOUS); creates the secret if new."""
        if cas is not None:
            raise ConfigError("AWS Secrets Manager has no check-and-set; write without --cas")
        self.check_value_size(path, value)
        try:
            answer = self._call(path, "put_secret_value", write=True, SecretId=path, SecretString=value)
        except ProviderError as exc:
            if not exc.missing:
                raise
            extra = {"KmsKeyId": str(self.config["kms_key"])} if self.config.get("kms_key") else {}
            answer = self._call(path, "create_secret", write=True, Name=path, SecretString=value,
                                **extra)
        return str(answer["VersionId"])

    def put_pending(self, path: str, value: str, token: str) -> str:
        """An AWSPENDING version whose id is ``token`` (a retry with the same token is a no-op);
        creates the secret if new. Returns the version id."""
        try:
            self._call(path, "describe_secret", SecretId=path)
        except ProviderError as exc:
            if not exc.missing:
                raise
            self._call(path, "create_secret", write=True, Name=path, SecretString=value,
                       ClientRequestToken=token)
            return token
        answer = self._call(path, "put_secret_value", write=True, SecretId=path,
                            SecretString=value, ClientRequestToken=token,
                            VersionStages=[PENDING])
        return str(answer["VersionId"])

    def stages(self, path: str) -> dict[str, list[str]]:
        """Version id -> its stage labels."""
        answer = self._call(path, "describe_secret", SecretId=path)
        return {str(k): list(v) for k, v in (answer.get("VersionIdsToStages") or {}).items()}

    def move_stage(self, path: str, stage: str, *, to: str | None, away_from: str | None) -> None:
        """Move ``stage`` from version ``away_from`` to ``to``; AWS refuses the move if
        ``away_from`` no longer holds it (the fence against a concurrent rotation)."""
        params: dict[str, Any] = {"SecretId": path, "VersionStage": stage}
        if to is not None:
            params["MoveToVersionId"] = to
        if away_from is not None:
            params["RemoveFromVersionId"] = away_from
        self._call(path, "update_secret_version_stage", write=True, **params)
    def put_if_unchanged(self, path: str, value: str, read: str | None) -> str:
        """Secrets Manager has no conditional write; fence on the AWSCURRENT stage instead.

        The new version is written under a label of its own (not current), then AWSCURRENT is
        moved to it *from the version read*: AWS refuses that move if another write became
        current meanwhile, and the new version is left unlabelled (so it never applies).
        """
        if read is None:
            try:
                answer = self._call(path, "create_secret", write=True, Name=path,
                                    SecretString=value)
            except ProviderError as exc:
                if "ResourceExists" in exc.reason:
                    raise VersionConflictError(f"{path} was created meanwhile") from None
                raise
            return str(answer["VersionId"])
        label = f"vaultline-{os.urandom(6).hex()}"
        answer = self._call(path, "put_secret_value", write=True, SecretId=path,
                            SecretString=value, VersionStages=[label])
        new = str(answer["VersionId"])
        try:
            self._call(path, "update_secret_version_stage", write=True, SecretId=path,
                       VersionStage=CURRENT, MoveToVersionId=new, RemoveFromVersionId=read)
        except ProviderError as exc:
            if "InvalidParameter" not in exc.reason:
                raise
            raise VersionConflictError(f"{path} changed meanwhile (AWSCURRENT is no longer "
                                       f"version {read})") from None
        finally:
            self._call(path, "update_secret_version_stage", write=True, SecretId=path,
                       VersionStage=label, RemoveFromVersionId=new)
        return new

    def list_paths(self, prefix: str = "") -> list[str]:
        params: dict[str, Any] = {"MaxResults": 100}
        if prefix:
            params["Filters"] = [{"Key": "name", "Values": [prefix]}]
        names: list[str] = []
        while True:
            answer = self._call(f"secrets under {prefix or '/'}", "list_secrets", **params)
            names += [s["Name"] for s in answer.get("SecretList", []) if s["Name"].startswith(prefix)]
            if not answer.get("NextToken"):
                return sorted(names)
            params["NextToken"] = answer["NextToken"]

    def remote_key(self, path: str) -> str:
        return path

    def check(self) -> str:
        self._call("Secrets Manager", "list_secrets", MaxResults=1)
        return f"Secrets Manager in {self.region} reachable; authenticated as {self.identity}"

    @property
    def identity(self) -> str:
        """``aws:<caller ARN>`` from STS (looked up once); ``aws:<profile>`` if STS is unreachable."""
        if self._identity is None:
            try:
                sts = self._session().client(
                    "sts", endpoint_url=self.config.get("endpoint_url") or _sts_endpoint(
                        self.context.environ),
                    config=botocore.config.Config(connect_timeout=self.settings.timeout,
                                                  read_timeout=self.settings.timeout,
                                                  retries={"total_max_attempts": 2}))
                # The identity answer is read under the same cap and deadline as the secrets.
                sts._endpoint.http_session = _CappedSession(sts._endpoint.http_session, self)
                with translate_botocore("STS"):  # every botocore error, a foreign answer too
                    answer = self.settings.guard(self.name).call(sts.get_caller_identity)
                self._identity = f"aws:{answer['Arn']}"
            except (ProviderError, Transient, KeyError, TypeError):
                return f"aws:profile:{self.profile or 'default'}"
        return self._identity

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _sts_endpoint(environ: Mapping[str, str]) -> str | None:
    return environ.get("AWS_ENDPOINT_URL_STS") or environ.get("AWS_ENDPOINT_URL") or None


__all__ = ["AwsSecretsManagerProvider", "translate_botocore"]
