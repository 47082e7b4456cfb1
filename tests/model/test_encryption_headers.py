"""Encryption headers of private keys made elsewhere (issue 13): whatever the DEK-Info
line of a traditional PEM key or the IV of a PKCS #8 key says, reading it gives a key or
a typed error, never a library panic (a short DEK-Info IV made cryptography abort with
an exception that is not an Exception, and a Rust backtrace on stderr)."""

from __future__ import annotations

import functools
import re

import derkit
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from kscert_gui.model import crypto
from kscert_gui.model.errors import KscertError, WrongPasswordError

PASSWORD = b"header password"
EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True, database=None)


@functools.cache
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


@functools.cache
def traditional() -> bytes:
    return key().private_bytes(serialization.Encoding.PEM,
                               serialization.PrivateFormat.TraditionalOpenSSL,
                               serialization.BestAvailableEncryption(PASSWORD))


@functools.cache
def pkcs8_der() -> bytes:
    return key().private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                               serialization.BestAvailableEncryption(PASSWORD))


def answer(data: bytes, password: bytes | None) -> str:
    """'key', or the kind of typed error; anything else fails the test."""
    try:
        crypto.read_private_key(data, password)
    except WrongPasswordError:
        return "wrong-password"
    except crypto.UnsupportedEncryptionError:
        return "cannot-decrypt"
    except KscertError:
        return "unreadable"
    return "key"


@EXAMPLES
@given(
    cipher=st.one_of(
        st.sampled_from(["AES-128-CBC", "AES-256-CBC", "DES-EDE3-CBC", "AES-192-CBC",
                         "aes-256-cbc", ""]),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", max_size=20),
    ),
    iv=st.one_of(st.text(alphabet="0123456789ABCDEF", max_size=40),
                 st.text(alphabet="0123456789ABCDEFXYZ ,", max_size=40)),
    comma=st.booleans(),
    password=st.sampled_from([PASSWORD, None, b"wrong"]),
)
def test_any_dek_info_header(cipher: str, iv: str, comma: bool, password: bytes | None) -> None:
    header = f"DEK-Info: {cipher}{',' if comma else ''}{iv}".encode()
    data = re.sub(rb"DEK-Info: [^\n]*", header, traditional())
    verdict = answer(data, password)
    good_cipher = cipher in ("AES-128-CBC", "AES-256-CBC", "DES-EDE3-CBC")
    needed = 8 if cipher == "DES-EDE3-CBC" else 16
    try:
        good_iv = comma and len(bytes.fromhex(iv)) >= needed
    except ValueError:
        good_iv = False
    if not (good_cipher and good_iv):
        assert verdict in ("cannot-decrypt", "unreadable")


@EXAMPLES
@given(size=st.integers(min_value=0, max_value=40),
       password=st.sampled_from([PASSWORD, None, b"wrong"]))
def test_any_pkcs8_iv_size(size: int, password: bytes | None) -> None:
    verdict = answer(derkit.with_pbes2_iv(pkcs8_der(), size), password)
    if size != 16:
        assert verdict == "cannot-decrypt"
    else:
        assert verdict in ("key", "wrong-password", "unreadable")


def test_a_library_panic_is_an_unreadable_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence, should a header slip past the check: the panic the short
    IV causes becomes an unreadable file, not the end of the program."""
    monkeypatch.setattr(crypto, "_dek_info_problem", lambda data: None)
    found = re.search(rb"DEK-Info: [A-Z0-9-]+,([0-9A-F]+)", traditional())
    assert found is not None
    short = traditional().replace(found.group(1), found.group(1)[:-4])
    with pytest.raises(crypto.UnreadableError, match="library failed"):
        crypto.read_private_key(short, PASSWORD)


def test_every_dek_info_line_is_checked() -> None:
    found = re.search(rb"DEK-Info: [A-Z0-9-]+,([0-9A-F]+)\n", traditional())
    assert found is not None
    short = found.group(0).replace(found.group(1), found.group(1)[:-4])
    twice = traditional().replace(found.group(0), found.group(0) + short)
    assert answer(twice, PASSWORD) == "cannot-decrypt"
    lower = traditional().replace(b"DEK-Info:", b"dek-info:").replace(found.group(1),
                                                                     found.group(1)[:-4])
    assert answer(lower, PASSWORD) == "cannot-decrypt"
