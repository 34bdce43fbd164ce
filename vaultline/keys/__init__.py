"""Key rings for signing (JWT, webhooks) and encryption (envelope, streamed files).

    from vaultline.keys import KeyManager
    with KeyManager.from_project(Project.load(".")) as keys:
        ring = keys.create("api-tokens", purpose="signing", alg="EdDSA")
        token = ring.sign_jwt({"sub": "svc-a", "exp": ...})
        claims = ring.verify_jwt(token, audience="api")
        ring.rotate()                           # new primary; the old one verifies during grace
        blob = keys.ring("payloads").encrypt(b"...", context={"tenant": "t1"})

Backends (chosen per ring): ``local`` (embedded store), ``transit`` (OpenBao/Vault), ``kms``
(AWS KMS). Lifecycle and rotation policy: ``manager.py``, ``lifecycle.py``, ``policy.py``.
"""

from vaultline.keys.manager import KeyManager, RingStatus
from vaultline.keys.model import ALGORITHMS, KeyVersion, Purpose, RingRecord, State
from vaultline.keys.policy import Due, RotationPolicy, Rule, Status
from vaultline.keys.ring import KeyRing
from vaultline.keys.settings import KeySettings

__all__ = [
    "ALGORITHMS", "Due", "KeyManager", "KeyRing", "KeySettings", "KeyVersion", "Purpose",
    "RingRecord", "RingStatus", "RotationPolicy", "Rule", "State", "Status",
]
