"""Real TLS endpoints: the probe behind ``kscert check`` and the listeners of ``kscert serve``.

Probe (DESIGN §9 check): connect, complete a TLS handshake without judging trust
(the point is to see what *is* served), and report protocol, cipher and the whole
chain the server sent; when no handshake happens, say why in words a person
understands (refused, timeout, not TLS, a named handshake alert, ...). The whole
probe is bounded by its timeout (a non-blocking handshake against one deadline, so
a server that trickles bytes cannot stretch it). A server that refuses today's
defaults gets a second, permissive attempt (TLS 1.0+, every suite), so that what
it does serve is reported, with warnings: weak protocol or cipher, a client
certificate asked for (seen in the handshake messages, TLS 1.2 and 1.3 alike), a
served certificate expired or not yet valid.

Serve (DESIGN §9 serve): one listening socket per endpoint — the Administration
Server's port for mobile devices and each connection gateway's — all driven by one
``selectors`` loop with non-blocking handshakes, so a client that connects and
says nothing never holds anybody else up. Every endpoint owns a pre-built
:class:`ssl.SSLContext` that each new connection is wrapped with; a context is
replaced by a plain attribute assignment, so a change never touches connections
in progress. TLS 1.2 and 1.3 with AEAD suites and forward secrecy only (Mozilla
"intermediate"). Under pressure: a listener hands a connection over only once its
ClientHello is there (Linux), each endpoint holds at most its share of the
open-files limit (``MAX_CONNECTIONS_PER_ENDPOINT`` at most) and the connection idle
longest gives way to a new one; when descriptors run out anyway, accepting pauses
with a growing back-off instead of spinning on a readable listener. Which
certificate to serve comes from the store:

- a refresher thread polls the store (read-only) every ``poll_interval`` seconds
  and builds a context only when an endpoint's certificate changes (this is when
  the private key is decrypted);
- while a reserve is pending, the server endpoint also holds the reserve's context
  and its switch time; each accept compares the clock with that instant, so the
  new certificate is served from the switch second on, without a restart.

Key material reaches OpenSSL without touching the disk where the platform allows
(a Linux ``memfd``); elsewhere it goes through a 0600 file in a 0700 temporary
directory, encrypted with a one-time password, and deleted right after loading.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import queue
import secrets
import selectors
import shutil
import socket
import ssl
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from kscert_gui.model.certificate import certificate_info
from kscert_gui.model.certinfo import CertificateInfo
from kscert_gui.model.errors import KscertError, NotFoundError, UsageError

if TYPE_CHECKING:
    from kscert_gui.services.views import EndpointPlan, ServedMaterial

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
#: A client that has not finished its handshake by then is dropped (a mobile network's
#: round trips fit many times; a client that connects and says nothing does not hold a
#: slot for long).
HANDSHAKE_TIMEOUT = 5.0
IDLE_TIMEOUT = 60.0
#: Connections one endpoint holds at most; past it, the one idle longest is dropped.
MAX_CONNECTIONS_PER_ENDPOINT = 1000
#: File descriptors kept for everything but connections: the listeners, the store, the
#: selector, the memory files a new context is loaded from.
FD_RESERVE = 32
#: After "too many open files" the listeners pause this long at first, doubling up to
#: ``ACCEPT_BACKOFF_MAX`` while it lasts (a readable listener nobody can accept from
#: would otherwise spin the loop at 100 % CPU).
ACCEPT_BACKOFF_MIN = 0.05
ACCEPT_BACKOFF_MAX = 1.0
POLL_INTERVAL = 0.5
#: The longest host name DNS can carry (RFC 1035), dots included, none at the end.
MAX_HOST_NAME = 253
_READ_CHUNK = 16384
_R = TypeVar("_R")
_MAX_READS_PER_EVENT = 64

# OpenSSL names a received alert "<VERSION>_ALERT_<NAME>", except for a few TLS
# extension alerts that it names "TLSV1_<NAME>".
_ALERT_PREFIXES = ("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_", "SSL_ALERT_")
_TLSV1_ALERTS = frozenset(
    {
        "UNRECOGNIZED_NAME",
        "UNSUPPORTED_EXTENSION",
        "CERTIFICATE_UNOBTAINABLE",
        "BAD_CERTIFICATE_STATUS_RESPONSE",
        "BAD_CERTIFICATE_HASH_VALUE",
    }
)

# OpenSSL reasons meaning "the bytes that came back are not a TLS record".
_NOT_TLS_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "PACKET_LENGTH_TOO_LONG",
        "HTTP_REQUEST",
        "HTTPS_PROXY_REQUEST",
        "UNKNOWN_PROTOCOL",
        "RECORD_LAYER_FAILURE",
        "UNEXPECTED_RECORD",
        "BAD_RECORD_TYPE",
        "RECORD_LENGTH_MISMATCH",
        "LENGTH_TOO_SHORT",
        "BAD_PACKET_LENGTH",
        "UNEXPECTED_MESSAGE",
        "LENGTH_MISMATCH",
        "BAD_PACKET",
    }
)


# --- addresses ------------------------------------------------------------------------------


def parse_endpoint(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` → (host, port).

    Raises:
        UsageError: no port, a port that is not a number in 1-65535, an empty host,
            or an IPv6 address without brackets.
    """
    raw = text.strip()
    if "://" in raw or "/" in raw:
        raise UsageError(
            f"'{text}' is not HOST:PORT: give the host and port only, without a scheme "
            "(https://) or a path."
        )
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise UsageError(f"'{text}' is not HOST:PORT (an IPv6 address is written [ADDR]:PORT).")
        port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"'{host}' in '{text}' is not an IPv6 address.") from None
    else:
        host, sep, port_text = raw.rpartition(":")
        if not sep:
            raise UsageError(f"'{text}' is not HOST:PORT: the port is missing.")
        if ":" in host:
            raise UsageError(
                f"'{text}' is ambiguous: write an IPv6 address in brackets, [ADDR]:PORT."
            )
    if not host:
        raise UsageError(f"'{text}' is not HOST:PORT: the host is missing.")
    if not raw.startswith("["):
        problem = host_problem(host)
        if problem is not None:
            raise UsageError(f"'{text}' is not HOST:PORT: {problem}.")
    return host, parse_port(port_text, what=f"the port in '{text}'")


def host_problem(host: str) -> str | None:
    """Why ``host`` cannot be looked up as a host name or IP address, or None.

    Catches what the resolver would otherwise fail on with an encoding error (an
    empty label, a label over 63 characters) or look up in vain (spaces, control
    characters, an IPv4 address with a number over 255).
    """
    if _is_ip(host):
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in host):
        return f"'{host}' holds spaces or control characters"
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        return f"'{host}' looks like an IP address but is not a valid one"
    try:
        encoded = host.encode("idna")
    except UnicodeError:
        return (f"'{host}' is not a valid host name (an empty label, two dots in a row, or "
                "a part longer than 63 characters)")
    if len(encoded.rstrip(b".")) > MAX_HOST_NAME:
        return (f"'{host[:40]}...' is {len(encoded.rstrip(b'.'))} characters long; a host "
                f"name has at most {MAX_HOST_NAME}")
    return None


def parse_port(text: str, *, what: str = "the port") -> int:
    """A TCP port 1-65535 given by a person (the digits 0-9 only).

    Raises:
        UsageError: not a whole number, or out of range.
    """
    what = what[:1].upper() + what[1:]
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
        raise UsageError(f"{what} is not a number: '{text}'.")
    port = int(digits, 10)
    if not 1 <= port <= 65535:
        raise UsageError(f"{what} is out of range: {port} (a port is 1 to 65535).")
    return port


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- probe --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeWarning:
    """Something a person should know about what was served (the session still came about).

    Codes: ``weak-protocol`` (TLS 1.0/1.1), ``weak-cipher`` (CBC, SHA-1 or no forward
    secrecy), ``client-certificate`` (the server asks for one), ``expired`` and
    ``not-yet-valid`` (a served certificate, at the time of the check).
    """

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        """One of ``kscert check --json``'s ``warnings`` (the shape of ``status --json``'s)."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class ProbeResult:
    """What an endpoint served (``error`` None), or why no TLS session came about."""

    host: str
    port: int
    protocol: str | None
    cipher: str | None
    chain: tuple[CertificateInfo, ...]
    error: str | None
    chain_der: tuple[bytes, ...] = field(default=(), repr=False)
    warnings: tuple[ProbeWarning, ...] = ()

    @property
    def served(self) -> bool:
        return self.error is None

    @property
    def leaf(self) -> CertificateInfo | None:
        return self.chain[0] if self.chain else None

    def to_json(self, matches: str | None) -> dict[str, object]:
        """The document of ``kscert check --json`` (DESIGN §9; its shape is a contract)."""
        return {
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "cipher": self.cipher,
            "chain": [c.to_json() for c in self.chain],
            "matches": matches,
            "error": self.error,
            "warnings": [w.to_json() for w in self.warnings],
        }


#: A permissive second attempt: what old servers still offer (TLS 1.0/1.1, CBC with
#: SHA-1, RSA key exchange), so that ``check`` reports what *is* served and flags it.
_PERMISSIVE_CIPHERS = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"
#: OpenSSL 3 refuses a server without the secure renegotiation extension (RFC 5746).
_OP_LEGACY_SERVER_CONNECT = 0x4
_HANDSHAKE = 22  # TLS content type
_SERVER_HELLO = 2  # TLS handshake message types
_CERTIFICATE_REQUEST = 13
_LEGACY_VERSIONS = {b"\x03\x00": "SSLv3", b"\x03\x01": "TLSv1", b"\x03\x02": "TLSv1.1",
                    b"\x03\x03": "TLSv1.2"}


def _probe_context(*, permissive: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # A probe reports what is served, trusted or not: the verdict is the caller's.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if permissive:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "TLSv1 is deprecated"
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.set_ciphers(_PERMISSIVE_CIPHERS)
        ctx.options |= _OP_LEGACY_SERVER_CONNECT
    return ctx


class _ChainCertificate(Protocol):
    def public_bytes(self, format: int = ..., /) -> bytes | str: ...


def _peer_chain_der(sock: ssl.SSLSocket) -> list[bytes]:
    """Every certificate the server sent, leaf first, as DER (also after a failed
    handshake, once the server's Certificate message was read)."""
    getter: object = getattr(sock, "get_unverified_chain", None)  # Python ≥ 3.13
    if getter is None:
        sslobj: object = getattr(sock, "_sslobj", None)  # Python 3.10 to 3.12: private
        getter = getattr(sslobj, "get_unverified_chain", None)
    certs: object = None
    if callable(getter):
        with contextlib.suppress(ssl.SSLError, ValueError, AttributeError):
            certs = getter()
    if isinstance(certs, list) and certs:
        import _ssl

        out: list[bytes] = []
        for cert in certs:
            if isinstance(cert, bytes):
                out.append(cert)
            else:
                typed: _ChainCertificate = cert
                der = typed.public_bytes(_ssl.ENCODING_DER)
                out.append(der if isinstance(der, bytes) else der.encode("ascii"))
        return out
    with contextlib.suppress(ssl.SSLError, ValueError, AttributeError):
        leaf = sock.getpeercert(binary_form=True)
        if leaf:
            return [leaf]
    return []


def describe_ssl_error(err: ssl.SSLError) -> str:
    """A sentence for a failed handshake: a named alert, not TLS, or OpenSSL's reason."""
    reason = (err.reason or "").upper()
    if isinstance(err, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
        return _closed_reason()
    alert = _alert_name(reason)
    if alert is not None:
        return f"handshake alert: {alert} (the server refused the TLS handshake)"
    if reason in _NOT_TLS_REASONS:
        return (
            "not TLS: the server answered with data that is not a TLS handshake "
            f"({reason.lower().replace('_', ' ')})"
        )
    if reason in ("UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE"):
        return "handshake failed: the server offers no protocol version in common (TLS 1.2+)"
    if reason == "NO_SHARED_CIPHER" or reason == "NO_CIPHERS_AVAILABLE":
        return "handshake failed: no cipher in common with the server"
    if reason == "EXCESSIVE_MESSAGE_SIZE":
        return ("handshake failed: the server sent a handshake message too large to accept "
                "(a certificate chain over 100 KiB?)")
    detail = reason.lower().replace("_", " ") if reason else str(err)
    return f"handshake failed: {detail}"


def _alert_name(reason: str) -> str | None:
    """The TLS alert an OpenSSL reason reports receiving ("SSLV3_ALERT_HANDSHAKE_FAILURE")."""
    for prefix in _ALERT_PREFIXES:
        if reason.startswith(prefix):
            return reason[len(prefix):].lower().replace("_", " ")
    if reason.startswith("TLSV1_") and reason[6:] in _TLSV1_ALERTS:
        return reason[6:].lower().replace("_", " ")
    return None


def _closed_reason() -> str:
    return (
        "connection closed: the server closed the connection during the TLS handshake "
        "(not a TLS endpoint, or it refused this client)"
    )


@dataclass
class _Attempt:
    """One TLS handshake and what it showed, completed or not."""

    error: str | None = None
    #: A permissive retry may get further (not for a timeout, refusal or non-TLS bytes).
    retry: bool = False
    protocol: str | None = None
    cipher: str | None = None
    ders: list[bytes] = field(default_factory=list)
    cert_requested: bool = False


def _handshake_within(tls: ssl.SSLSocket, deadline: float) -> None:
    """The handshake on a non-blocking socket, bounded by ``deadline`` as a whole (a
    server that trickles bytes cannot keep it going past it).

    Raises:
        TimeoutError: the deadline passed.
        ssl.SSLError, OSError: the handshake failed.
    """
    with selectors.DefaultSelector() as sel:
        sel.register(tls, selectors.EVENT_READ)
        while True:
            try:
                tls.do_handshake()
                return
            except ssl.SSLWantReadError:
                events = selectors.EVENT_READ
            except ssl.SSLWantWriteError:
                events = selectors.EVENT_WRITE
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sel.modify(tls, events)
            if not sel.select(left):
                raise TimeoutError


def _attempt(
    host: str, port: int, sni: str | None, deadline: float, timeout: float, *,
    permissive: bool,
) -> _Attempt:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    left = deadline - time.monotonic()
    if left <= 0:
        return _Attempt(error=f"timeout: no answer from {where} within {timeout:g} s")
    try:
        raw = socket.create_connection((host, port), timeout=left)
    except socket.gaierror as err:
        return _Attempt(error=f"cannot resolve {host}: {err.strerror or err}")
    except UnicodeError:
        # The resolver's IDNA encoding: an empty label or one over 63 characters.
        return _Attempt(error=f"cannot resolve {host}: it is not a valid host name")
    except ConnectionRefusedError:
        return _Attempt(error=f"connection refused: nothing listens on {where}")
    except TimeoutError:
        return _Attempt(
            error=f"timeout: {where} did not accept the connection within {timeout:g} s")
    except OSError as err:
        return _Attempt(error=f"network error: {err.strerror or err}")
    seen = _Attempt()

    def watch(_conn: object, direction: str, _version: object, content_type: object,
              msg_type: object, data: bytes) -> None:
        if direction != "read" or content_type != _HANDSHAKE:
            return
        if msg_type == _CERTIFICATE_REQUEST:
            seen.cert_requested = True
        elif msg_type == _SERVER_HELLO and seen.protocol is None and len(data) >= 6:
            # The version field (legacy: TLS 1.3 writes 1.2 here and says 1.3 in an
            # extension, which its TLS_* suites tell apart below).
            seen.protocol = _LEGACY_VERSIONS.get(data[4:6])

    ctx = _probe_context(permissive=permissive)
    # The message callback is CPython's (private, since 3.8): it is how a client learns
    # that the server asked for a certificate, on TLS 1.2 as on 1.3.
    with contextlib.suppress(AttributeError, TypeError):
        setattr(ctx, "_msg_callback", watch)  # noqa: B010  (not in the typed API)
    with contextlib.closing(raw):
        raw.setblocking(False)
        try:
            tls = ctx.wrap_socket(raw, server_hostname=sni, do_handshake_on_connect=False)
        except (ValueError, UnicodeError):
            return _Attempt(error=f"the server name '{sni}' cannot be sent as SNI")
        with tls:
            try:
                _handshake_within(tls, deadline)
            except TimeoutError:
                seen.error = (
                    f"timeout: {where} accepted the connection but sent no TLS answer "
                    f"within {timeout:g} s (not a TLS endpoint?)"
                )
            except ssl.SSLError as err:
                seen.error = describe_ssl_error(err)
                reason = (err.reason or "").upper()
                seen.retry = reason not in _NOT_TLS_REASONS
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                seen.error = _closed_reason()
                seen.retry = True
            except OSError as err:
                seen.error = f"network error: {err.strerror or err}"
            else:
                seen.protocol = tls.version() or seen.protocol
            seen.ders = _peer_chain_der(tls)
            cipher = tls.cipher()
            seen.cipher = cipher[0] if cipher else None
            if seen.error is not None and (seen.cipher or "").startswith("TLS_"):
                seen.protocol = "TLSv1.3"
    return seen


_CIPHER_INFO: dict[str, tuple[bool, bool, str | None]] = {}


def _cipher_traits(name: str) -> tuple[bool, bool, str | None]:
    """(forward secrecy, AEAD, MAC digest) of an OpenSSL cipher name."""
    if not _CIPHER_INFO:
        ctx = _probe_context(permissive=True)
        for c in ctx.get_ciphers():
            fs = c["kea"] in ("kx-ecdhe", "kx-dhe", "kx-any", "kx-ecdhe-psk", "kx-dhe-psk")
            _CIPHER_INFO[c["name"]] = (fs, c["aead"], c["digest"])
    known = _CIPHER_INFO.get(name)
    if known is not None:
        return known
    fs = name.startswith(("TLS_", "ECDHE-", "DHE-", "EDH-"))
    aead = any(word in name for word in ("GCM", "CHACHA20", "CCM"))
    return fs, aead, ("sha1" if name.endswith("-SHA") else None)


def _tls_warnings(protocol: str | None, cipher: str | None,
                  permissive: bool) -> list[ProbeWarning]:
    out: list[ProbeWarning] = []
    why = (" (served only to a permissive second attempt: a client with today's defaults is "
           "refused)" if permissive else "")
    old = {"SSLv3": "SSL 3.0", "TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1"}.get(protocol or "")
    if old is not None:
        out.append(ProbeWarning(
            "weak-protocol", f"weak protocol: {old} is obsolete; offer TLS 1.2 and TLS 1.3{why}",
        ))
    if cipher is not None:
        fs, aead, digest = _cipher_traits(cipher)
        problems = []
        if not fs:
            problems.append("RSA key exchange (no forward secrecy)")
        if not aead:
            problems.append("CBC mode" + (" with SHA-1" if digest == "sha1" else ""))
        if problems:
            out.append(ProbeWarning(
                "weak-cipher",
                f"weak cipher {cipher}: {' and '.join(problems)}; offer AEAD suites with "
                f"forward secrecy (ECDHE with AES-GCM or ChaCha20-Poly1305){why}",
            ))
    return out


def _validity_warnings(chain: tuple[CertificateInfo, ...], at: datetime) -> list[ProbeWarning]:
    from kscert_gui.model.clock import iso

    out: list[ProbeWarning] = []
    for n, cert in enumerate(chain):
        which = "the served certificate" if n == 0 else f"certificate {n + 1} of the chain"
        if cert.not_after < at:
            out.append(ProbeWarning(
                "expired", f"{which} expired on {iso(cert.not_after)}: clients refuse it"))
        elif cert.not_before > at:
            out.append(ProbeWarning(
                "not-yet-valid",
                f"{which} is not valid before {iso(cert.not_before)}: clients refuse it "
                "until then"))
    return out


def _read_chain(ders: list[bytes]) -> tuple[CertificateInfo, ...] | str:
    """The served certificates, or why one of them cannot be read."""
    chain: list[CertificateInfo] = []
    for n, der in enumerate(ders):
        try:
            chain.append(certificate_info(x509.load_der_x509_certificate(der)))
        except Exception as err:  # cryptography raises more than ValueError (DESIGN §4)
            detail = str(err).strip() or type(err).__name__
            if isinstance(err, x509.DuplicateExtension):
                detail = f"an extension appears twice ({detail})"
            return (f"the server sent a certificate that cannot be read (certificate "
                    f"{n + 1} of {len(ders)}: {detail[:200]})")
    return tuple(chain)


def probe(
    host: str,
    port: int,
    *,
    servername: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], datetime] | None = None,
) -> ProbeResult:
    """Connect to ``host:port``, do a TLS handshake, and report what was served.

    Never raises for network or TLS trouble: that is the result's ``error``. The whole
    probe, a permissive second attempt included, ends within ``timeout``.
    ``servername`` is the SNI name; by default the host when it is a name. ``clock``
    (default: the system clock) is the instant served certificates are judged at.
    """
    from kscert_gui.model.clock import system_clock

    deadline = time.monotonic() + timeout
    sni = servername or (None if _is_ip(host) else host)
    first = _attempt(host, port, sni, deadline, timeout, permissive=False)
    got, permissive = first, False
    if first.error is not None and first.retry and not (first.cert_requested and first.ders):
        second = _attempt(host, port, sni, deadline, timeout, permissive=True)
        if second.error is None or (second.cert_requested and second.ders):
            got, permissive = second, True

    def failed(reason: str) -> ProbeResult:
        return ProbeResult(host, port, got.protocol if got.ders else None,
                           got.cipher if got.ders else None, (), reason)

    if got.error is not None and not (got.cert_requested and got.ders):
        return ProbeResult(host, port, None, None, (), got.error)
    read = _read_chain(got.ders)
    if isinstance(read, str):
        return failed(read)
    if not read:
        return failed("the server completed the handshake without a certificate")
    notes = _tls_warnings(got.protocol, got.cipher, permissive)
    if got.cert_requested:
        notes.append(ProbeWarning(
            "client-certificate",
            "the server asks for a client certificate"
            + (" and ended the handshake when none was given" if got.error else "")
            + "; clients without one are refused",
        ))
    notes += _validity_warnings(read, (clock or system_clock)())
    return ProbeResult(
        host=host,
        port=port,
        protocol=got.protocol,
        cipher=got.cipher,
        chain=read,
        error=None,
        chain_der=tuple(got.ders),
        warnings=tuple(notes),
    )


# --- contexts -----------------------------------------------------------------------------


def _memfd_available() -> bool:
    return hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir()


@contextlib.contextmanager
def _memory_files(cert_pem: bytes, key_pem: bytes) -> Iterator[tuple[str, str, None]]:
    """Linux: the PEM texts as anonymous memory files, named through /proc/self/fd."""
    fds: list[int] = []
    try:
        for name, data in (("kscert-chain", cert_pem), ("kscert-key", key_pem)):
            fd = os.memfd_create(name, os.MFD_CLOEXEC)
            fds.append(fd)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        yield f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}", None
    finally:
        for fd in fds:
            os.close(fd)


@contextlib.contextmanager
def _private_files(
    cert_pem: bytes, key: PrivateKeyTypes
) -> Iterator[tuple[str, str, bytes]]:
    """Elsewhere: a 0700 directory with 0600 files, the key under a one-time password."""
    one_time = secrets.token_hex(32).encode("ascii")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(one_time),
    )
    folder = tempfile.mkdtemp(prefix="kscert-tls-")  # created 0700
    try:
        paths = []
        for name, data in (("chain.pem", cert_pem), ("key.pem", key_pem)):
            path = os.path.join(folder, name)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0),
                         0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            paths.append(path)
        yield paths[0], paths[1], one_time
    finally:
        shutil.rmtree(folder, ignore_errors=True)


#: TLS 1.2 suites of Mozilla's "intermediate" configuration: AEAD with forward secrecy
#: only (ECDHE; no DHE, which needs parameters nobody here manages). TLS 1.3's suites
#: are all of that kind already.
SERVER_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
#: Key exchange groups (Mozilla "intermediate"): X25519, P-256, P-384.
SERVER_GROUPS = "X25519:P-256:P-384"
_SSL_CTRL_SET_GROUPS_LIST = 92


def set_groups(ctx: ssl.SSLContext, groups: str = SERVER_GROUPS) -> bool:
    """Limit the key exchange groups of ``ctx``; False where this Python cannot.

    Python 3.15 has ``SSLContext.set_groups``. Before it, the standard library sets one
    curve only (``set_ecdh_curve``), so the call goes to the OpenSSL that the ``_ssl``
    module is linked with, on the ``SSL_CTX`` the context wraps, after checking that the
    pointer found is that context (its options read back the same).
    """
    setter = getattr(ctx, "set_groups", None)
    if callable(setter):
        try:
            setter(groups)
        except (ssl.SSLError, ValueError):
            return False
        return True
    try:
        import _ssl
        import ctypes

        lib = ctypes.CDLL(getattr(_ssl, "__file__", None))
        get_options = lib.SSL_CTX_get_options
        get_options.restype, get_options.argtypes = ctypes.c_uint64, [ctypes.c_void_p]
        ctrl = lib.SSL_CTX_ctrl
        ctrl.restype = ctypes.c_long
        ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p]
        # CPython's context object: the object header, then the SSL_CTX pointer.
        pointer = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
        if not pointer or get_options(pointer) != ctx.options:
            return False
        return bool(ctrl(pointer, _SSL_CTRL_SET_GROUPS_LIST, 0, groups.encode("ascii")) == 1)
    except (OSError, AttributeError, ValueError, TypeError):
        return False


def server_context(material: ServedMaterial, *, use_memfd: bool | None = None) -> ssl.SSLContext:
    """A server-side TLS context serving ``material``'s certificate with its chain:
    TLS 1.2 and 1.3, AEAD suites with forward secrecy, no renegotiation."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(SERVER_CIPHERS)
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    if not set_groups(ctx):
        log.info("key exchange groups left to OpenSSL's defaults")
    cert_pem = b"".join(
        c.public_bytes(serialization.Encoding.PEM)
        for c in (material.certificate, *material.chain)
    )
    memfd = _memfd_available() if use_memfd is None else use_memfd
    try:
        if memfd:
            key_pem = bytearray(
                material.private_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            try:
                with _memory_files(cert_pem, bytes(key_pem)) as (cert_path, key_path, _pw):
                    ctx.load_cert_chain(cert_path, key_path)
            finally:
                key_pem[:] = bytes(len(key_pem))
        else:
            with _private_files(cert_pem, material.private_key) as (cert_path, key_path, pw):
                ctx.load_cert_chain(cert_path, key_path, password=pw)
    except ssl.SSLError as err:
        # The reason names an OpenSSL check, never key material.
        raise KscertError(
            f"The certificate {material.sha256} cannot be served: {err.reason or err}"
        ) from None
    return ctx


# --- serve --------------------------------------------------------------------------------


class EndpointSource(Protocol):
    """What the listeners need from the facade (read-only)."""

    def endpoint_plan(self, at: datetime | None = None) -> EndpointPlan: ...

    def served_material(self, cert_id: int) -> ServedMaterial: ...


SERVER_KEY = "server"


@dataclass(frozen=True)
class _Spec:
    """What one endpoint should be: port, current context, and a pending next one."""

    key: str  # SERVER_KEY or "gateway:<host>"
    label: str
    port: int
    sha256: str
    context: ssl.SSLContext
    next_sha256: str | None = None
    next_context: ssl.SSLContext | None = None
    next_at: datetime | None = None


@dataclass(eq=False)
class _Listener:
    spec: _Spec
    sock: socket.socket
    sha256: str
    context: ssl.SSLContext
    #: This endpoint's connections, the one idle longest first.
    conns: OrderedDict[_Conn, None] = field(default_factory=OrderedDict)


@dataclass(eq=False)
class _Conn:
    sock: ssl.SSLSocket
    listener: _Listener
    deadline: float
    active: float  # last time the client got anywhere (monotonic)
    handshaking: bool = True
    events: int = selectors.EVENT_READ  # what the selector waits for


class _Wake:
    """Marker for the wake-up socket in the selector."""


class TlsServer:
    """The endpoints of ``kscert serve``. ``start()``, then ``serve_forever()`` until ``stop()``.

    Args:
        source: the facade (read-only store).
        bind: the address every endpoint listens on.
        server_port: the Administration Server's port for mobile devices.
        clock: the real clock for exact switches (None for a training store, whose
            simulation clock only moves in the store and is followed by the poll).
        poll_interval: seconds between store polls.
        say: where the lines for the operator go (started, switched, refused...).
    """

    def __init__(
        self,
        source: EndpointSource,
        *,
        bind: str = "127.0.0.1",
        server_port: int = 13292,
        clock: Callable[[], datetime] | None = None,
        poll_interval: float = POLL_INTERVAL,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self._source = source
        self._bind = bind
        self._server_port = server_port
        self._clock = clock
        self._poll_interval = poll_interval
        self._say = say or (lambda line: log.info("%s", line))
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, _Wake())
        self._listeners: dict[str, _Listener] = {}
        self._conns: set[_Conn] = set()
        self._ready: set[_Conn] = set()
        self._updates: queue.SimpleQueue[list[_Spec]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._contexts: dict[int, ssl.SSLContext] = {}
        self._refresher: threading.Thread | None = None
        self._complained: set[tuple[str, int, str]] = set()
        self._closed = False
        self._next_expiry = 0.0
        self._fd_budget = _fd_budget()
        self._backoff = 0.0
        self._resume_at: float | None = None  # listeners paused until then (fds ran out)

    # --- public ---------------------------------------------------------------------------

    def addresses(self) -> dict[str, tuple[str, int]]:
        """(address, port) each endpoint listens on, by key (``server``, ``gateway:<host>``)."""
        out: dict[str, tuple[str, int]] = {}
        for key, lst in self._listeners.items():
            name = lst.sock.getsockname()
            out[key] = (str(name[0]), int(name[1]))
        return out

    def serving(self) -> dict[str, str]:
        """SHA-256 of the certificate each endpoint serves to its next handshake."""
        return {key: lst.sha256 for key, lst in self._listeners.items()}

    def start(self) -> None:
        """Read the store, build the contexts, listen, and start polling.

        Raises:
            NotFoundError: the store has no main certificate.
            KscertError: the server port cannot be listened on, or a key cannot be opened.
        """
        specs = self._specs()
        if not any(s.key == SERVER_KEY for s in specs):
            raise NotFoundError(
                "There is no main certificate to serve: reissue one or import another "
                "certificate first."
            )
        self._apply(specs, initial=True)
        self._refresher = threading.Thread(
            target=self._poll_store, name="kscert-serve-refresh", daemon=True
        )
        self._refresher.start()

    def stop(self) -> None:
        """Ask the loop to end (from any thread or a signal handler)."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def serve_forever(self) -> None:
        """Run the loop until :meth:`stop`; then close every socket."""
        try:
            while not self._stopping.is_set():
                timeout = 0.0 if self._ready else self._poll_interval
                if self._resume_at is not None:
                    timeout = min(timeout, max(0.0, self._resume_at - time.monotonic()))
                # New clients first: their handshake is what a client waits for, while
                # the connections' events are mostly closes that can wait a moment.
                ready: list[_Conn] = []
                for key, _mask in self._selector.select(timeout):
                    data = key.data
                    if isinstance(data, _Conn):
                        ready.append(data)
                    elif isinstance(data, _Listener):
                        self._accept(data)
                    elif isinstance(data, _Wake):
                        self._drain_wake()
                for conn in ready:
                    if conn in self._conns:  # not dropped meanwhile
                        self._service(conn)
                if self._ready:
                    for conn in list(self._ready):
                        self._ready.discard(conn)
                        if conn in self._conns:
                            self._read(conn)
                if self._resume_at is not None and time.monotonic() >= self._resume_at:
                    self._resume_accepting()
                self._expire()
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        for conn in list(self._conns):
            self._drop(conn)
        for lst in list(self._listeners.values()):
            self._close_listener(lst)
        self._listeners.clear()
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(self._wake_r)
        self._wake_r.close()
        self._wake_w.close()
        self._selector.close()
        if self._refresher is not None and self._refresher is not threading.current_thread():
            self._refresher.join(timeout=5)

    # --- store → specs --------------------------------------------------------------------

    def _context(self, cert_id: int, cache: dict[int, ssl.SSLContext]) -> ssl.SSLContext:
        ctx = self._contexts.get(cert_id) or cache.get(cert_id)
        if ctx is None:
            ctx = server_context(self._source.served_material(cert_id))
        cache[cert_id] = ctx
        return ctx

    def _specs(self) -> list[_Spec]:
        """The endpoints the store asks for now, with their contexts (built only when new)."""
        plan = self._source.endpoint_plan()
        used: dict[int, ssl.SSLContext] = {}
        specs: list[_Spec] = []
        if plan.server is not None:
            s = plan.server
            specs.append(
                _Spec(
                    key=SERVER_KEY,
                    label="the Administration Server",
                    port=self._server_port,
                    sha256=s.sha256,
                    context=self._context(s.cert_id, used),
                    next_sha256=s.next_sha256,
                    next_context=(
                        self._context(s.next_id, used) if s.next_id is not None else None
                    ),
                    next_at=s.next_at,
                )
            )
        for gw in plan.gateways:
            if gw.cert is None:
                self._complain_once(
                    f"gateway:{gw.host}", gw.port, "none",
                    f"Connection gateway {gw.host} holds no mobile certificate; its port "
                    f"{gw.port} is not served.",
                )
                continue
            c = gw.cert
            specs.append(
                _Spec(
                    key=f"gateway:{gw.host}",
                    label=f"connection gateway {gw.host}",
                    port=gw.port,
                    sha256=c.sha256,
                    context=self._context(c.cert_id, used),
                    next_sha256=c.next_sha256,
                    next_context=(
                        self._context(c.next_id, used) if c.next_id is not None else None
                    ),
                    next_at=c.next_at,
                )
            )
        self._contexts = used
        return specs

    def _poll_store(self) -> None:
        while not self._stopping.wait(self._poll_interval):
            try:
                specs = self._specs()
            except KscertError as err:
                self._complain_once("store", 0, err.message, f"Cannot read the store: {err}")
                continue
            except Exception as err:  # a poll must never end the endpoints
                log.exception("store poll failed")
                self._complain_once("store", 0, type(err).__name__,
                                    f"Cannot read the store ({type(err).__name__}).")
                continue
            self._updates.put(specs)
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\0")

    def _complain_once(self, key: str, port: int, what: str, line: str) -> None:
        mark = (key, port, what)
        if mark not in self._complained:
            self._complained.add(mark)
            self._say(line)

    # --- loop thread: listeners -----------------------------------------------------------

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while self._wake_r.recv(4096):
                pass
        latest: list[_Spec] | None = None
        while True:
            try:
                latest = self._updates.get_nowait()
            except queue.Empty:
                break
        if latest is not None:
            self._apply(latest, initial=False)

    def _apply(self, specs: list[_Spec], *, initial: bool) -> None:
        wanted: dict[str, _Spec] = {}
        taken: dict[int, str] = {}
        for spec in sorted(specs, key=lambda s: s.key != SERVER_KEY):
            owner = taken.get(spec.port)
            if owner is not None:
                self._complain_once(
                    spec.key, spec.port, "conflict",
                    f"Not serving {spec.label}: port {spec.port} is already used by "
                    f"{wanted[owner].label}.",
                )
                continue
            taken[spec.port] = spec.key
            wanted[spec.key] = spec
        for key in list(self._listeners):
            lst = self._listeners[key]
            if key not in wanted or wanted[key].port != lst.spec.port:
                self._close_listener(lst)
                del self._listeners[key]
                if key not in wanted:
                    self._say(f"Stopped serving {lst.spec.label} on port {lst.spec.port}.")
        for key, spec in wanted.items():
            lst_or_none = self._listeners.get(key)
            if lst_or_none is None:
                try:
                    sock = self._listen(spec.port)
                except (OSError, UnicodeError) as err:
                    reason = getattr(err, "strerror", None) or str(err)
                    if isinstance(err, PermissionError) and spec.port < 1024:
                        reason += (" (ports below 1024 need administrator rights; choose a "
                                   "port from 1024 up)")
                    line = (f"Cannot listen on {_host_port(self._bind, spec.port)} for "
                            f"{spec.label}: {reason}")
                    if initial and key == SERVER_KEY:
                        raise KscertError(line + ".") from None
                    self._complain_once(key, spec.port, "listen", line + ".")
                    continue
                lst = _Listener(spec, sock, spec.sha256, spec.context)
                self._listeners[key] = lst
                if self._resume_at is None:
                    self._selector.register(sock, selectors.EVENT_READ, lst)
                self._promote(lst)
                host, port = sock.getsockname()[:2]
                self._say(
                    f"Serving {spec.label} on {_host_port(str(host), int(port))} "
                    f"(certificate SHA-256 {lst.sha256})."
                )
            else:
                lst = lst_or_none
                before = lst.sha256
                lst.spec = spec
                lst.sha256, lst.context = spec.sha256, spec.context
                self._promote(lst)
                if lst.sha256 != before:
                    self._say(f"Now serving {spec.label} with certificate SHA-256 {lst.sha256}.")

    def _listen(self, port: int) -> socket.socket:
        infos = socket.getaddrinfo(self._bind, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        family, _type, _proto, _name, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            defer = getattr(socket, "TCP_DEFER_ACCEPT", None)
            if defer is not None:
                # Linux: a connection is handed over once its ClientHello has arrived:
                # the first handshake step never waits (one wake-up less per handshake),
                # and a client that connects and says nothing holds no descriptor of
                # ours (the kernel keeps it, then lets it through for the handshake
                # timeout to end).
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, defer, int(HANDSHAKE_TIMEOUT))
            sock.listen(512)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    def _close_listener(self, lst: _Listener) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(lst.sock)
        lst.sock.close()

    def _promote(self, lst: _Listener) -> None:
        """From the switch time on, the next context is the one served (no restart)."""
        spec = lst.spec
        if (
            spec.next_context is None
            or spec.next_at is None
            or self._clock is None
            or self._clock() < spec.next_at
        ):
            return
        if lst.sha256 != spec.next_sha256:
            lst.context = spec.next_context
            lst.sha256 = spec.next_sha256 or lst.sha256
            self._say(
                f"Switch time reached: now serving {spec.label} with certificate SHA-256 "
                f"{lst.sha256}."
            )

    # --- loop thread: connections ---------------------------------------------------------

    def _accept(self, lst: _Listener) -> None:
        for _ in range(64):
            try:
                raw, _addr = lst.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                if err.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return  # the client went away before accept (ECONNABORTED, ...)
                # Out of descriptors: the connection idle longest makes room; with none
                # to drop, stop accepting for a while instead of spinning on a readable
                # listener.
                if self._drop_idlest(None):
                    continue
                self._pause_accepting(err)
                return
            self._backoff = 0.0
            self._promote(lst)
            raw.setblocking(False)
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                tls = lst.context.wrap_socket(
                    raw, server_side=True, do_handshake_on_connect=False
                )
            except (OSError, ValueError):
                raw.close()
                continue
            now = time.monotonic()
            conn = _Conn(tls, lst, now + HANDSHAKE_TIMEOUT, now)
            self._conns.add(conn)
            lst.conns[conn] = None
            # The first handshake step at once (the ClientHello is usually there): the
            # answer goes out before any bookkeeping, which then overlaps the client's
            # own work.
            self._handshake(conn)
            if conn not in self._conns:
                continue  # not TLS, or refused
            self._selector.register(tls, conn.events, conn)
            # Caps: this endpoint's share, then all of them: idle connections, not new
            # clients, give way.
            if len(lst.conns) > self._endpoint_cap():
                self._drop_idlest(lst)
            if len(self._conns) > self._fd_budget:
                self._drop_idlest(None)

    def _endpoint_cap(self) -> int:
        share = self._fd_budget // max(1, len(self._listeners))
        return max(1, min(MAX_CONNECTIONS_PER_ENDPOINT, share))

    def _drop_idlest(self, lst: _Listener | None) -> bool:
        """Drop the connection idle longest, of ``lst`` or of every endpoint."""
        pools = [lst] if lst is not None else list(self._listeners.values())
        best: _Conn | None = None
        for pool in pools:
            head = next(iter(pool.conns), None)
            if head is not None and (best is None or head.active < best.active):
                best = head
        if best is None and lst is None and self._conns:
            # Only connections of an endpoint no longer served are left.
            best = min(self._conns, key=lambda c: c.active)
        if best is None:
            return False
        self._drop(best)
        return True

    def _pause_accepting(self, err: OSError) -> None:
        self._backoff = min(ACCEPT_BACKOFF_MAX, max(ACCEPT_BACKOFF_MIN, self._backoff * 2))
        self._resume_at = time.monotonic() + self._backoff
        for lst in self._listeners.values():
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(lst.sock)
        self._complain_once("accept", err.errno or 0, "accept",
                            f"Cannot accept connections for now: {err.strerror}; "
                            "new clients wait until descriptors are free again.")

    def _resume_accepting(self) -> None:
        self._resume_at = None
        for lst in self._listeners.values():
            with contextlib.suppress(KeyError, ValueError):
                self._selector.register(lst.sock, selectors.EVENT_READ, lst)

    def _service(self, conn: _Conn) -> None:
        if conn.handshaking:
            self._handshake(conn)
        else:
            self._read(conn)

    def _want(self, conn: _Conn, events: int) -> None:
        if conn.events != events:
            conn.events = events
            with contextlib.suppress(KeyError, ValueError):  # KeyError: not registered yet
                self._selector.modify(conn.sock, events, conn)

    def _step(self, conn: _Conn, op: Callable[[], _R]) -> tuple[bool, _R | None]:
        """One non-blocking TLS operation: (True, its result), or (False, None) after
        waiting for the event it needs (want read / want write) or dropping the
        connection (it failed)."""
        try:
            return True, op()
        except ssl.SSLWantReadError:
            self._want(conn, selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            self._want(conn, selectors.EVENT_WRITE)
        except (ssl.SSLError, OSError, ValueError):
            self._drop(conn)
        return False, None

    def _touch(self, conn: _Conn) -> None:
        conn.active = time.monotonic()
        with contextlib.suppress(KeyError):
            conn.listener.conns.move_to_end(conn)

    def _handshake(self, conn: _Conn) -> None:
        done, _ = self._step(conn, conn.sock.do_handshake)
        if not done:
            if conn in self._conns:
                self._touch(conn)
            return
        conn.handshaking = False
        self._touch(conn)
        conn.deadline = conn.active + IDLE_TIMEOUT
        self._want(conn, selectors.EVENT_READ)
        if conn.sock.pending():
            self._read(conn)  # data came with the client's last handshake message

    def _read(self, conn: _Conn) -> None:
        """Read and discard what the client sends (the mobile protocol is not spoken here)."""
        for _ in range(_MAX_READS_PER_EVENT):
            done, data = self._step(conn, lambda: conn.sock.recv(_READ_CHUNK))
            if not done:
                return
            if not data:
                self._drop(conn)
                return
            self._touch(conn)
            conn.deadline = conn.active + IDLE_TIMEOUT
        self._ready.add(conn)  # more may be buffered: continue on the next turn

    def _expire(self) -> None:
        now = time.monotonic()
        if now < self._next_expiry:
            return
        self._next_expiry = now + 0.5
        self._fd_budget = _fd_budget()  # follows a limit changed while running
        for conn in [c for c in self._conns if c.deadline < now]:
            self._drop(conn)

    def _drop(self, conn: _Conn) -> None:
        self._conns.discard(conn)
        self._ready.discard(conn)
        conn.listener.conns.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        with contextlib.suppress(OSError):
            conn.sock.close()


def _host_port(host: str, port: int) -> str:
    """``host:port``, an IPv6 address in brackets (``[::1]:13292``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _fd_budget() -> int:
    """How many connections the open-files limit leaves room for (all endpoints)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return MAX_CONNECTIONS_PER_ENDPOINT * 4
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return MAX_CONNECTIONS_PER_ENDPOINT * 4
    return max(4, soft - FD_RESERVE)
