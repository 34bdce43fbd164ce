"""A ``logging.Filter`` that masks secret values in log records."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from vaultline.redact.masker import DEFAULT_MASK, Masker, SecretSource

_FORMATTER = logging.Formatter()
# Attributes every record has; anything else came in through `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}


class RedactingFilter(logging.Filter):
    """Masks secret values in a record's message, arguments, traceback, stack and the
    fields given with ``extra=`` (see ``Masker.mask_object``).

    The message is formatted first (``msg % args``) so a secret passed as an argument is
    caught; when anything was masked the record keeps the masked text and no arguments.
    A traceback is rendered and masked into ``exc_text`` and ``exc_info`` is dropped, so
    no formatter can render the unmasked exception again.

    Attach it to handlers: a filter on a logger does not see records from child loggers.
    """

    def __init__(
        self,
        secrets: Iterable[str] | Masker,
        mask: str = DEFAULT_MASK,
        *,
        name: str = "",
    ):
        super().__init__(name)
        self.masker = secrets if isinstance(secrets, Masker) else Masker(secrets, mask)

    @classmethod
    def from_bundle(cls, bundle: SecretSource, mask: str = DEFAULT_MASK) -> RedactingFilter:
        return cls(bundle.secret_values(), mask)

    def filter(self, record: logging.LogRecord) -> bool:
        if not super().filter(record):
            return False
        mask = self.masker.mask_str
        try:
            message = record.getMessage()
        except Exception:
            # A broken format string: logging would report it with the raw arguments.
            message = " ".join([str(record.msg), *map(str, record.args or ())])
            record.msg, record.args = mask(message), None
        else:
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        fields = record.__dict__
        for name in fields.keys() - _STANDARD:
            fields[name] = self.masker.mask_object(fields[name])
        return True
