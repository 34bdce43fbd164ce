"""moto_server with IAM enforcement that checks Secrets Manager calls against each secret's ARN.

Stock moto 5.2 authorizes Secrets Manager actions against ``Resource: "*"`` only, matches
policy patterns as regular expressions with ``*`` alone (IAM's ``?`` breaks them), and lets
``BatchGetSecretValue`` return every secret. This extends its access check, as AWS documents
IAM: the resource is the secret's ARN; ``*`` matches any run of characters and ``?`` exactly
one, everything else literally (actions case-insensitively); a batch read returns only the
secrets ``GetSecretValue`` allows, the others as ``AccessDeniedException`` errors.

    python tests/integrations/moto_iam_server.py -H 127.0.0.1 -p PORT

Enforcement starts when the test POSTs ``0`` to ``/moto-api/reset-auth`` after its setup.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError
from moto.iam import access_control
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.server import main


def iam_match(pattern: str, string: str) -> re.Match[str] | None:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = 0 if string.startswith("arn:") else re.IGNORECASE  # action names ignore case
    return re.match(f"^{regex}$", string, flags | re.DOTALL)


def _arn(response: SecretsManagerResponse, secret_id: str) -> str:
    backend = secretsmanager_backends[response.current_account][response.region]
    secret = backend.secrets.get(secret_id)
    if secret is not None:
        return str(secret.arn)
    if secret_id.startswith("arn:"):
        return secret_id
    # A secret that does not exist yet (create_secret): its name, without the random suffix.
    return f"arn:aws:secretsmanager:{response.region}:{response.current_account}:secret:{secret_id}"


def _determine_resource(self: SecretsManagerResponse) -> str:
    secret_id = self._get_param("SecretId") or self._get_param("Name")
    return _arn(self, str(secret_id)) if secret_id else "*"


def _enforcing() -> bool:
    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


_batch = SecretsManagerResponse.batch_get_secret_value


def batch_get_secret_value(self: SecretsManagerResponse) -> str:
    ids = self._get_param("SecretIdList", if_none=[])
    if not _enforcing() or not ids:
        return _batch(self)
    allowed, denied = [], []
    for secret_id in ids:
        request = access_control.IAMRequest(
            account_id=self.current_account, method=self.method, path=self.raw_path,
            data=self.data, body=self.raw_body, headers=self.headers, action="GetSecretValue")
        try:
            request.check_action_permitted(_arn(self, secret_id))
            allowed.append(secret_id)
        except AccessDeniedError as exc:
            denied.append({"SecretId": secret_id, "ErrorCode": "AccessDeniedException",
                           "Message": exc.message})
    backend = secretsmanager_backends[self.current_account][self.region]
    values, errors, _ = (backend.batch_get_secret_value(secret_id_list=allowed)
                         if allowed else ([], [], None))
    answer: dict[str, Any] = {"SecretValues": values, "Errors": [*errors, *denied]}
    return json.dumps(answer)


access_control.IAMPolicyStatement._match = staticmethod(iam_match)  # type: ignore[method-assign]
SecretsManagerResponse._determine_resource = _determine_resource  # type: ignore[attr-defined]
SecretsManagerResponse.batch_get_secret_value = batch_get_secret_value  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
