"""What the console shows of certificates and findings: plain frozen dataclasses.

Nothing here imports cryptography (about 50 ms at start-up): the windows, the snapshot
and the store's records use these types; :func:`kscert_gui.model.certificate.certificate_info`
builds them from cryptography objects.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from kscert_gui.model.clock import iso, parse_instant
from kscert_gui.model.errors import KscertError

Severity = Literal["error", "warning"]
RuleSet = Literal["server", "apple", "file"]


@dataclass(frozen=True)
class Finding:
    """One result of the requirements check (DESIGN §4). ``code`` is a contract."""

    code: str
    severity: Severity
    rule_set: RuleSet
    message: str
    fix: str

    def to_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "rule_set": self.rule_set,
            "message": self.message,
            "fix": self.fix,
        }


def quoted(text: str) -> str:
    """``text`` from a file (a name, a SAN entry) fit to quote in a finding's message: control
    and invisible format characters and line separators (Unicode Cc, Cf, Zl, Zp) written
    as \\xNN / \\uNNNN, so that no message can move a terminal's cursor, start a line
    of its own or reorder what is shown, wherever it is printed."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(
                f"\\x{code:02x}" if code < 0x100
                else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class CertificateInfo:
    """What the console shows of one certificate. Built only from public data."""

    subject: str
    issuer: str
    common_name: str
    san: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    sha256: str
    serial: str
    key: str
    signature: str
    is_ca: bool
    self_signed: bool
    purposes: tuple[str, ...] = field(default=())

    def days_left(self, at: datetime) -> int:
        """Whole days until ``not_after`` (negative once expired)."""
        return int((self.not_after - at).total_seconds() // 86400)

    def to_json(self) -> dict[str, Any]:
        """The ``certificate`` object of ``kscert inspect --json`` (DESIGN §9)."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "san": list(self.san),
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after),
            "sha256": self.sha256,
            "key": self.key,
            "signature": self.signature,
        }

    def to_record(self) -> dict[str, Any]:
        """Every field as JSON values (stored beside the DER, so that showing a stored
        certificate needs no parser: DESIGN §10, the start-up path imports no
        cryptography)."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "common_name": self.common_name,
            "san": list(self.san),
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after),
            "sha256": self.sha256,
            "serial": self.serial,
            "key": self.key,
            "signature": self.signature,
            "is_ca": self.is_ca,
            "self_signed": self.self_signed,
            "purposes": list(self.purposes),
        }

    @classmethod
    def from_record(cls, record: object) -> CertificateInfo:
        """The inverse of :meth:`to_record`.

        Raises:
            ValueError: ``record`` is not such a document (a damaged store).
        """
        if not isinstance(record, dict):
            raise ValueError("a certificate record is not an object")

        def text(key: str) -> str:
            value = record.get(key)
            if not isinstance(value, str):
                raise ValueError(f"a certificate record has no text {key!r}")
            return value

        def texts(key: str) -> tuple[str, ...]:
            value = record.get(key)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"a certificate record has no list {key!r}")
            return tuple(value)

        def instant(key: str) -> datetime:
            try:
                return parse_instant(text(key))
            except KscertError as err:
                raise ValueError(f"a certificate record has no instant {key!r}") from err

        def flag(key: str) -> bool:
            value = record.get(key)
            if not isinstance(value, bool):
                raise ValueError(f"a certificate record has no flag {key!r}")
            return value

        return cls(
            subject=text("subject"),
            issuer=text("issuer"),
            common_name=text("common_name"),
            san=texts("san"),
            not_before=instant("not_before"),
            not_after=instant("not_after"),
            sha256=text("sha256"),
            serial=text("serial"),
            key=text("key"),
            signature=text("signature"),
            is_ca=flag("is_ca"),
            self_signed=flag("self_signed"),
            purposes=texts("purposes"),
        )


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
