"""A structlog processor that masks secret values anywhere in the event dict."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from vaultline.redact.masker import DEFAULT_MASK, Masker, SecretSource


class RedactingProcessor:
    """``(logger, method_name, event_dict) -> event_dict``, masking every string inside.

    Recurses into dicts, lists, tuples and sets, keys included; other objects are left
    as they are, so put it after processors that render exceptions or objects to text
    (``format_exc_info``, ``TimeStamper`` ...) and before the renderer.
    """

    def __init__(self, secrets: Iterable[str] | Masker, mask: str = DEFAULT_MASK):
        self.masker = secrets if isinstance(secrets, Masker) else Masker(secrets, mask)

    @classmethod
    def from_bundle(cls, bundle: SecretSource, mask: str = DEFAULT_MASK) -> RedactingProcessor:
        return cls(bundle.secret_values(), mask)

    def __repr__(self) -> str:
        return f"<RedactingProcessor {self.masker!r}>"

    def __call__(
        self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            value = event_dict[key]
            masked_key = self._redact(key)
            if masked_key != key:
                del event_dict[key]
            event_dict[masked_key] = self._redact(value)
        return event_dict

    def _redact(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.masker.mask_str(value)
        if isinstance(value, bytes | bytearray):
            return self.masker.mask_bytes(bytes(value))
        if isinstance(value, dict):
            return {self._redact(k): self._redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._redact(v) for v in value)
        if isinstance(value, set | frozenset):
            return type(value)(self._redact(v) for v in value)
        return value
