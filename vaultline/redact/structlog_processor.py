"""A structlog processor that masks secret values anywhere in the event dict."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from vaultline.redact.masker import DEFAULT_MASK, Masker, SecretSource


class RedactingProcessor:
    """``(logger, method_name, event_dict) -> event_dict``, masking every secret inside.

    Recurses into dicts, lists, tuples and sets, keys included; any other value whose
    ``str`` or ``repr`` shows a secret (a number, an exception, a dataclass) is replaced by
    its masked text. Put it after processors that render exceptions to text
    (``format_exc_info``) and before the renderer.
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
        mask = self.masker.mask_object
        for key in list(event_dict):
            value = event_dict[key]
            masked_key = mask(key)
            if masked_key != key:
                del event_dict[key]
            event_dict[masked_key] = mask(value)
        return event_dict
