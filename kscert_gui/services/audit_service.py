"""The audit log as people read it (the console's **Audit log** window, DESIGN §8).

The store's audit repository holds each action with its details as a JSON object; this
module turns them into one line of details per entry, newest first. Secrets never get
into the audit log (the repository refuses such keys); a key that names one is skipped
here as well, and control characters in what was recorded (a device name from a file,
a server's answer) are replaced, so that nothing read from the store can move a
person's cursor or forge a line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kscert_gui.services.store.audit import names_secret

if TYPE_CHECKING:
    from kscert_gui.services.server import AdministrationServer

#: The window shows the latest entries; an audit log of years is read in a second.
DEFAULT_LIMIT = 10_000
#: A list recorded in an entry (the names of re-enrolled devices) is cut after this many.
LIST_ITEMS = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry, ready to show: ``details`` is one line."""

    id: int
    at: datetime
    action: str
    details: str


@dataclass(frozen=True)
class AuditReading:
    """The latest entries, newest first; ``more``: older entries were left out."""

    records: tuple[AuditRecord, ...]
    more: bool


def clean(value: str) -> str:
    """``value`` without control characters (each becomes U+FFFD)."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", value)


def action_text(action: str) -> str:
    """'distribution-point-added' → 'Distribution point added'."""
    words = clean(action).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


#: How a whole number is written (the windows pass their style, "1 250").
NumberStyle = Callable[[int], str]


def _value(value: object, number: NumberStyle) -> str:
    if isinstance(value, Mapping):
        return "(" + details_text(value, number) + ")"
    if isinstance(value, list | tuple):
        shown = ", ".join(_value(v, number) for v in value[:LIST_ITEMS])
        more = f", … ({number(len(value))} in all)" if len(value) > LIST_ITEMS else ""
        return shown + more
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return number(value)
    return clean(str(value))


def details_text(detail: Mapping[str, object], number: NumberStyle = str) -> str:
    """'certificate id: 3; sha256: ab12…' — every key but those naming a secret."""
    parts = [
        f"{clean(str(key)).replace('_', ' ')}: {_value(value, number)}"
        for key, value in detail.items()
        if not names_secret(str(key))
    ]
    return "; ".join(parts)


def read_audit_log(
    server: AdministrationServer, limit: int = DEFAULT_LIMIT, number: NumberStyle = str
) -> AuditReading:
    """The latest ``limit`` audit entries, newest first (a store read: call it in a worker).
    ``number`` writes the whole numbers of the details."""
    entries = server.store.audit_entries(limit + 1)
    more = len(entries) > limit
    newest = list(reversed(entries))[:limit]
    return AuditReading(
        tuple(AuditRecord(e.id, e.at, action_text(e.action),
                          details_text(e.detail, number))
              for e in newest),
        more,
    )
