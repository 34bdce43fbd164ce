"""One severity scale and one base for every kind of finding a command reports.

``check``, ``policy lint``, ``inventory``, ``scan`` and ``audit report`` each locate a problem
their own way (a key, a policy line, a manifest, a file position, an audit sequence number),
but every finding has a :class:`Severity`, a one-line ``message`` and a ``to_dict()`` for
``--format json``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar


class Severity(StrEnum):
    """How much a finding matters; :attr:`rank` orders them, most severe first.

    A scan rates a credential ``high`` (usable as found) or ``low`` (needs something more,
    such as the passphrase of an encrypted key): they rank with ``error`` and ``warning``.
    """

    ERROR = "error"
    HIGH = "high"
    WARNING = "warning"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.HIGH: 0, Severity.WARNING: 1, Severity.LOW: 1,
         Severity.INFO: 2}


class Finding:
    """Base of the finding dataclasses: ``to_dict()`` is their fields in declaration order
    (or ``_json_fields``'s), with tuples and lists as lists and the severity as its string."""

    __slots__ = ()

    # The order of the keys in to_dict(), when it is not the fields' order.
    _json_fields: ClassVar[tuple[str, ...] | None] = None

    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Any]]

        @property
        def severity(self) -> Severity: ...

        @property
        def message(self) -> str: ...

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import fields  # here: loading a project imports Severity, not this

        names = self._json_fields or tuple(f.name for f in fields(self))
        return {name: _plain(getattr(self, name)) for name in names}


def _plain(value: Any) -> Any:
    if isinstance(value, Severity):
        return value.value
    if isinstance(value, tuple | list):
        return list(value)
    return value
