"""Connection addresses (DESIGN §3): what a certificate's name may be.

No cryptography here: the Reissue window validates an address as it is typed.
"""

from __future__ import annotations

import ipaddress
import re

from kscert_gui.model.errors import ValidationError

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def normalize_address(text: str) -> str:
    """Validate a connection address and return its canonical form.

    An IPv4/IPv6 literal comes back compressed (``str(ip_address)``); a host name
    comes back as its lowercase IDNA A-label form without a trailing dot.

    Raises:
        ValidationError: the text is neither an IP address nor a valid host name
            (empty, spaces, scheme, path, port, wildcard, bad label, too long).
    """
    raw = text.strip()
    if not raw:
        raise ValidationError("The connection address is empty: enter a host name or IP address.")

    def bad(reason: str) -> ValidationError:
        return ValidationError(f"'{raw}' is not a valid connection address: {reason}.")

    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        pass
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            raise bad("an IPv6 zone index (%...) cannot be part of a certificate")
        return str(ip)
    if any(ch.isspace() for ch in raw):
        raise bad("it contains spaces")
    if "://" in raw or "/" in raw:
        raise bad("give the host name only, without a scheme (http://) or a path")
    if "*" in raw:
        raise bad("wildcards are not allowed in a connection address")
    if ":" in raw or "[" in raw or "]" in raw:
        raise bad("give the host name only, without a port number")
    name = raw[:-1] if raw.endswith(".") else raw
    labels = name.split(".")
    out: list[str] = []
    for label in labels:
        if not label:
            raise bad("it has an empty label (two dots in a row, or a leading dot)")
        if label.isascii():
            ascii_label = label.lower()
        else:
            from encodings import idna  # rare: not imported at every start of the console

            try:
                ascii_label = idna.ToASCII(label).decode("ascii").lower()
            except UnicodeError:
                raise bad(f"the label '{label}' cannot be converted to IDNA form") from None
        if len(ascii_label) > 63:
            raise bad(f"the label '{label}' is longer than 63 characters")
        if not _LABEL.match(ascii_label):
            raise bad(
                f"the label '{label}' may hold only letters, digits and '-', "
                "and may not start or end with '-'"
            )
        out.append(ascii_label)
    if out[-1].isdigit():
        raise bad("it looks like an IP address but is not a valid one")
    result = ".".join(out)
    if len(result) > 253:
        raise bad(f"a host name may have at most 253 characters, this one has {len(result)}")
    return result
