"""Provider ``aws-secretsmanager``: AWS Secrets Manager (boto3).

    aws: {type: aws-secretsmanager, region: eu-west-1}       # profile, endpoint_url optional

A bare ``aws`` reference is named ``{app}/{env}/{key}`` with each key segment lower-camel
(``nexus-engine/prod/connectionStrings/primary``, seed 000). ``#field`` selects from a JSON
secret; ``@AWSPREVIOUS`` (any staging label) or ``@<version id>`` reads another version.

Current versions are read with ``BatchGetSecretValue`` (20 per call), the rest one by one, all
on a bounded pool of workers sharing one client's connection pool. botocore's own retries are
off: vaultline's policy (``_retry``) retries throttling, 5xx and connection failures, so the
behaviour and the attempt count are the same for every provider.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.exceptions

from vaultline.errors import (
    AuthenticationError,
    ConfigError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
)
from vaultline.naming import NamingConvention
from vaultline.providers._remote import COMMON_OPTIONS, RemoteSettings, bounded_map
from vaultline.providers._retry import Transient, call_with_retries
from vaultline.providers.base import Fetched, Provider, ProviderContext, Request

T = TypeVar("T")

BATCH_SIZE = 20  # BatchGetSecretValue's limit on SecretIdList
CURRENT = "AWSCURRENT"
# Version ids are UUIDs (32-64 characters); anything else after '@' is a staging label.
_VERSION_ID = re.compile(r"^[0-9a-fA-F-]{32,64}$")

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

    Messages carry the error code and AWS's message, which names the secret, never its value.
    """
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        code, status = _code(exc)
        message = str(exc.response.get("Error", {}).get("Message", ""))[:200]
        detail = f"{code}: {message}" if message else code
        if code in _DENIED_CODES or (status == 403 and code not in _AUTH_CODES):
            raise PermissionDeniedError(f"access denied to {where} ({detail})") from None
        if code in _AUTH_CODES or status == 401:
            raise AuthenticationError(f"AWS refused the credentials for {where} ({detail})") from None
        if code == "ResourceNotFoundException" or status == 404:
            raise ProviderError(f"nothing at {where} ({detail})") from None
        if code in _THROTTLE_CODES or status == 429 or status >= 500:
            raise Transient(ProviderUnavailableError(f"{where} is unavailable ({detail})")) from None
        raise ProviderError(f"{where}: {detail}") from None
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.ProfileNotFound) as exc:
        raise AuthenticationError(f"no usable AWS credentials for {where} ({exc})") from None
    except botocore.exceptions.ReadTimeoutError as exc:
        error = ProviderUnavailableError(f"timed out talking to {where} ({type(exc).__name__})")
        if write:  # the write may have happened: do not write it twice
            raise error from None
        raise Transient(error) from None
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionError,
            botocore.exceptions.ConnectTimeoutError) as exc:
        raise Transient(ProviderUnavailableError(
            f"cannot reach {where} ({type(exc).__name__})")) from None


class AwsSecretsManagerProvider(Provider):
    type = "aws-secretsmanager"
    default_naming = NamingConvention("{app}/{env}/{key}", "/", "lower-camel")
    options = COMMON_OPTIONS | frozenset({"region", "profile", "endpoint_url", "batch"})
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
        self._client: Any = None
        self._identity: str | None = None
        self._lock = threading.Lock()
        self.calls = 0  # API calls made, for the benchmark's request counts

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                with translate_botocore(f"AWS profile {self.config.get('profile')!r}"):
                    session = boto3.session.Session(profile_name=self.config.get("profile"),
                                                    region_name=str(self.region))
                config = botocore.config.Config(
                    connect_timeout=self.settings.timeout, read_timeout=self.settings.timeout,
                    max_pool_connections=self.settings.max_workers,
                    retries={"total_max_attempts": 1, "mode": "standard"},  # ours, not botocore's
                )
                self._client = session.client("secretsmanager",
                                              endpoint_url=self.config.get("endpoint_url"),
                                              config=config)
            return self._client

    def _call(self, where: str, operation: str, *, write: bool = False, **params: Any) -> Any:
        def attempt() -> Any:
            self.calls += 1
            with translate_botocore(where, write=write):
                return getattr(self.client, operation)(**params)
        try:
            return call_with_retries(attempt, self.settings.retry)
        except ProviderError as exc:
            exc.provider = exc.provider or self.name
            raise

    @staticmethod
    def _selector(version: str | None) -> dict[str, Any]:
        """Always name the stage or version: moto (and eventual consistency) can otherwise
        answer a stale version right after a stage moves."""
        if version is None:
            return {"VersionStage": CURRENT}
        if _VERSION_ID.match(version):
            return {"VersionId": version}
        return {"VersionStage": version}

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

    def fetch(self, path: str, version: str | None = None) -> Fetched:
        result = self.fetch_many([(path, version)])[(path, version)]
        if isinstance(result, ProviderError):
            raise result
        return result

    def _fetch_one(self, request: Request) -> Fetched:
        path, version = request
        where = path + (f"@{version}" if version else "")
        answer = self._call(where, "get_secret_value", SecretId=path, **self._selector(version))
        return self._fetched(answer, where)

    def _fetch_batch(self, paths: list[str]) -> dict[Request, Fetched | ProviderError]:
        where = f"{len(paths)} secrets (BatchGetSecretValue)"
        answer = self._call(where, "batch_get_secret_value", SecretIdList=paths)
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
            code, message = error.get("ErrorCode", ""), str(error.get("Message", ""))[:200]
            cls: type[ProviderError] = ProviderError
            reason = f"nothing at {path} ({code or 'not returned'})"
            if code in _DENIED_CODES:
                cls, reason = PermissionDeniedError, f"access denied to {path} ({code}: {message})"
            elif code and code != "ResourceNotFoundException":
                reason = f"{path}: {code}: {message}"
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
        for job, outcome in bounded_map(run, jobs, self.settings.max_workers).items():
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
            if not exc.reason.startswith("nothing at"):
                raise
            answer = self._call(path, "create_secret", write=True, Name=path, SecretString=value)
        return str(answer["VersionId"])

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
                sts = boto3.session.Session(profile_name=self.config.get("profile"),
                                            region_name=str(self.region)).client(
                    "sts", endpoint_url=self.config.get("endpoint_url"),
                    config=botocore.config.Config(connect_timeout=self.settings.timeout,
                                                  read_timeout=self.settings.timeout,
                                                  retries={"total_max_attempts": 2}))
                self._identity = f"aws:{sts.get_caller_identity()['Arn']}"
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, KeyError):
                return f"aws:profile:{self.config.get('profile') or 'default'}"
        return self._identity

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


__all__ = ["AwsSecretsManagerProvider", "translate_botocore"]
