"""`kscert check` against servers nobody on this project wrote (issue 13, DESIGN §9).

Real `openssl s_server` instances with odd certificates or old settings (TLS 1.0 only,
CBC suites with SHA-1, RSA key exchange, a client certificate required), and a family
of small hostile loopback servers written here (garbage, silence, a handshake that
never ends, a huge chain). Every answer is one JSON document with the contract's keys,
no traceback, and comes within ``--timeout`` (plus the start of the process).

Only 127.0.0.1; no name is looked up; every server is stopped in a ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clikit import Run, write_passfile
from conftest import unavailable
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from tlskit import free_port, raw_server, require_openssl, s_server, write_pair

from kscert_gui.cli.common import dump_json, one_line, printable

pytestmark = pytest.mark.integration

#: What a `kscert` process needs to start and to print, on top of ``--timeout``.
START_SLACK = 6.0
KEYS = {"host", "port", "protocol", "cipher", "chain", "matches", "error", "warnings"}
CSI = re.compile(r"[\x1b\x9b]")


@pytest.fixture(autouse=True)
def _openssl() -> None:
    require_openssl()


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    return write_passfile(tmp_path / "store.pass", b"a store passphrase for hostile tests")


@pytest.fixture
def run(tmp_path: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    """`kscert` in this process (quick), with no store to compare with."""
    return Run(tmp_path / "no-store", passfile, monkeypatch, capsys)


# --- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def kscert(run: Run, *args: str) -> Done:
    """One `kscert` command line in this process (no traceback, no "unexpected error")."""
    code, out, err = run(*args)
    assert "unexpected error" not in err, err
    return Done(code, out, err)


def kscert_process(tmp: Path, passfile: Path, *args: str) -> Done:
    """The same as a separate process, as a person runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "kscert_gui.cli", "--home", str(tmp / "no-store"),
         "--passphrase-file", str(passfile), *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "unexpected error" not in proc.stderr, proc.stderr
    return Done(proc.returncode, proc.stdout, proc.stderr)


def check_json(run: Run, port: int, *args: str,
               timeout: float = 5.0) -> tuple[int, dict[str, object], str, float]:
    """``kscert check 127.0.0.1:PORT --json``: exit code, document, stderr, seconds."""
    start = time.monotonic()
    proc = kscert(run, "check", f"127.0.0.1:{port}", "--json", "--timeout",
                  f"{timeout:g}", *args)
    took = time.monotonic() - start
    data = json.loads(proc.stdout)
    assert set(data) == KEYS, data
    assert proc.returncode in (0, 1), proc.stderr
    assert (proc.returncode == 0) == (data["error"] is None), (proc.returncode, data)
    # The document's warnings are the ones said on stderr, as {"code", "message"}.
    listed = data["warnings"]
    assert isinstance(listed, list)
    assert all(set(w) == {"code", "message"} for w in listed), listed
    assert {w["code"] for w in listed} == warning_codes(proc.stderr), (listed, proc.stderr)
    return proc.returncode, data, proc.stderr, took


_RSA_KEY: list[rsa.RSAPrivateKey] = []


def rsa_key() -> rsa.RSAPrivateKey:
    if not _RSA_KEY:
        _RSA_KEY.append(rsa.generate_private_key(65537, 2048))
    return _RSA_KEY[0]


def self_signed(cn: str, *, not_before: datetime | None = None,
                not_after: datetime | None = None) -> x509.Certificate:
    now = datetime.now(UTC).replace(microsecond=0)
    key = rsa_key()
    # A hostile name may be longer than the 64 characters RFC 5280 allows a CN.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(minutes=5))
        .not_valid_after(not_after or now + timedelta(days=60))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hostile.test")]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )


def plain_pair(tmp: Path, cn: str = "hostile.test", *, not_before: datetime | None = None,
               not_after: datetime | None = None) -> tuple[Path, Path]:
    cert = self_signed(cn, not_before=not_before, not_after=not_after)
    return write_pair(tmp, f"plain-{cert.serial_number:x}", rsa_key(), [cert])


def warning_codes(stderr: str) -> set[str]:
    return set(re.findall(r"kscert: warning \[([a-z-]+)\]", stderr))


def _read_hello(conn: socket.socket) -> None:
    with contextlib.suppress(TimeoutError):
        conn.recv(65536)


# --- output: names from a server never drive the terminal ---------------------------------


def test_escaping_helpers_cover_every_control_and_format_character() -> None:
    import unicodedata

    for code in range(0x110000):
        ch = chr(code)
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            assert ch not in one_line(f"a{ch}b"), hex(code)
            # (the document's own line breaks are the only ones it holds)
            assert dump_json({"k": ch}).count(ch) == dump_json({"k": ""}).count(ch), hex(code)
            assert json.loads(dump_json({"k": ch}))["k"] == ch
    assert printable("two\nlines") == "two\nlines"
    assert one_line("two\nlines") == "two\\x0alines"
    assert one_line("caf\u00e9 \u4e2d\u6587 \U0001f600") == "caf\u00e9 \u4e2d\u6587 \U0001f600"


def test_control_characters_in_a_served_name_are_escaped(tmp_path: Path, passfile: Path,
                                                         run: Run) -> None:
    fake = "\nVerdict: the served certificate is the store's main certificate."
    cn = f"evil\x1b[2J\x1b[1;1H\x9b31m{fake}\u202egnp.exe"
    cert, key = plain_pair(tmp_path, cn)
    with s_server(tmp_path, cert, key) as port:
        text = kscert_process(tmp_path, passfile, "check", f"127.0.0.1:{port}", "--timeout",
                              "5")
        code, data, err, _took = check_json(run, port)
        raw = kscert_process(tmp_path, passfile, "check", f"127.0.0.1:{port}", "--json").stdout
    assert text.returncode == 0 and code == 0
    for out in (text.stdout, text.stderr, raw, err):
        assert not CSI.search(out) and "\u202e" not in out, out
    # The fake verdict stays inside the subject's line, visibly escaped.
    assert not any(line.startswith("Verdict: the served certificate is the store's main")
                   for line in text.stdout.splitlines())
    assert "evil\\x1b[2J" in text.stdout and "\\x0aVerdict" in text.stdout
    assert "\\u202e" in text.stdout
    chain = data["chain"]
    # JSON carries the name as it is (escaped only as JSON escapes it).
    assert isinstance(chain, list) and chain[0]["subject"].startswith("CN=evil\x1b[2J")
    assert fake in chain[0]["subject"]


# --- certificates openssl serves but cryptography finds odd -------------------------------


def _duplicate_extension_pair(tmp: Path) -> tuple[Path, Path]:
    """A certificate with two basicConstraints extensions (an OID patched in the DER;
    the signature no longer verifies, which a probe does not ask for)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dup.test")])
    stand_in = x509.ObjectIdentifier("2.5.29.99")
    value = x509.BasicConstraints(ca=False, path_length=None).public_bytes()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.UnrecognizedExtension(stand_in, value), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    stand_in_der, basic_constraints_der = b"\x06\x03\x55\x1d\x63", b"\x06\x03\x55\x1d\x13"
    assert der.count(stand_in_der) == 1
    twice = x509.load_der_x509_certificate(der.replace(stand_in_der, basic_constraints_der))
    with pytest.raises(x509.DuplicateExtension):
        _ = twice.extensions
    return write_pair(tmp, "dup", key, [twice])


def test_duplicate_extension_gives_json_not_a_crash(tmp_path: Path, run: Run) -> None:
    cert, key = _duplicate_extension_pair(tmp_path)
    with s_server(tmp_path, cert, key) as port:
        code, data, err, _took = check_json(run, port)
        text = kscert(run, "check", f"127.0.0.1:{port}")
    if code == 1:
        assert isinstance(data["error"], str)
        assert "cannot be read" in data["error"] and "twice" in data["error"], data
        assert data["error"] in err and text.returncode == 1
    else:  # the certificate model reads it (and its findings say what is odd)
        chain = data["chain"]
        assert isinstance(chain, list) and chain[0]["subject"] == "CN=dup.test"
        assert text.returncode == 0


# --- old servers: a second, permissive attempt reports them, flagged weak ----------------


def _openssl_accepts(options: list[str]) -> bool:
    out = subprocess.run(["openssl", "ciphers", "-v", *options], capture_output=True,
                         text=True, timeout=30)
    return out.returncode == 0 and bool(out.stdout.strip())


@pytest.mark.parametrize(
    ("options", "protocol", "cipher", "codes"),
    [
        (["-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0"], "TLSv1", "AES128-SHA",
         {"weak-protocol", "weak-cipher"}),
        (["-tls1_1", "-cipher", "ECDHE-RSA-AES256-SHA:@SECLEVEL=0"], "TLSv1.1",
         "ECDHE-RSA-AES256-SHA", {"weak-protocol", "weak-cipher"}),
        (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"], "TLSv1.2", "ECDHE-RSA-AES128-SHA",
         {"weak-cipher"}),
        (["-tls1_2", "-cipher", "AES128-GCM-SHA256"], "TLSv1.2", "AES128-GCM-SHA256",
         {"weak-cipher"}),
    ],
    ids=["tls1.0-rsa-cbc-sha1", "tls1.1-cbc-sha1", "tls1.2-cbc-sha1", "tls1.2-rsa-kx"],
)
def test_weak_servers_are_reported_and_flagged(
    tmp_path: Path, run: Run, options: list[str], protocol: str, cipher: str, codes: set[str]
) -> None:
    suite = options[options.index("-cipher") + 1]
    if not _openssl_accepts([suite]):
        unavailable(f"this openssl does not offer {suite}")
    cert, key = plain_pair(tmp_path)
    with s_server(tmp_path, cert, key, *options) as port:
        code, data, err, _took = check_json(run, port)
        text = kscert(run, "check", f"127.0.0.1:{port}")
    assert code == 0, data
    assert (data["protocol"], data["cipher"]) == (protocol, cipher)
    assert warning_codes(err) == codes, err
    assert text.returncode == 0
    for c in codes:
        assert f"Warning [{c}]:" in text.stdout
    if "weak-cipher" in codes and "RSA" not in cipher.split("-")[:2]:
        assert "no forward secrecy" in text.stdout
    if "weak-protocol" in codes:
        assert "permissive second attempt" in text.stdout


def test_a_modern_server_has_no_warnings(tmp_path: Path, run: Run) -> None:
    cert, key = plain_pair(tmp_path)
    for options in (["-tls1_3"], ["-tls1_2"]):
        with s_server(tmp_path, cert, key, *options) as port:
            code, data, err, _took = check_json(run, port)
        assert code == 0 and warning_codes(err) == set(), err
        assert data["warnings"] == []


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_client_certificate_required_is_said(tmp_path: Path, run: Run,
                                             version: str) -> None:
    cert, key = plain_pair(tmp_path)
    with s_server(tmp_path, cert, key, version, "-Verify", "1") as port:
        code, data, err, _took = check_json(run, port)
        text = kscert(run, "check", f"127.0.0.1:{port}")
    assert code == 0, data
    assert data["protocol"] == {"-tls1_2": "TLSv1.2", "-tls1_3": "TLSv1.3"}[version]
    chain = data["chain"]
    assert isinstance(chain, list) and chain[0]["subject"] == "CN=hostile.test"
    assert "client-certificate" in warning_codes(err)
    assert "asks for a client certificate" in text.stdout


@pytest.mark.parametrize("when", ["expired", "not-yet-valid"])
def test_served_certificate_out_of_its_validity_is_a_warning(
    tmp_path: Path, run: Run, when: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    if when == "expired":
        cert, key = plain_pair(tmp_path, not_before=now - timedelta(days=90),
                               not_after=now - timedelta(days=1))
    else:
        cert, key = plain_pair(tmp_path, not_before=now + timedelta(days=2),
                               not_after=now + timedelta(days=60))
    with s_server(tmp_path, cert, key) as port:
        code, data, err, _took = check_json(run, port)
        text = kscert(run, "check", f"127.0.0.1:{port}")
    assert code == 0
    assert warning_codes(err) == {when}
    warned = data["warnings"]
    assert isinstance(warned, list) and [w["code"] for w in warned] == [when]
    assert warned[0]["message"].startswith("the served certificate"), warned
    assert f"Warning [{when}]: the served certificate" in text.stdout


# --- usage errors -------------------------------------------------------------------------


def test_servername_longer_than_253_is_a_usage_error_with_json(run: Run) -> None:
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253
    too_long = longest + "e"
    port = free_port()
    proc = kscert(run, "check", f"127.0.0.1:{port}", "--servername",
                  too_long, "--json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["error"]["code"] == "usage"
    assert "253" in doc["error"]["message"]
    assert proc.stderr.startswith("kscert: error:")
    # 253 characters pass validation: the answer is about the connection.
    proc = kscert(run, "check", f"127.0.0.1:{port}", "--servername",
                  longest, "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"].startswith("connection refused")


# --- the hostile family: bounded, within --timeout ----------------------------------------


def _garbage(seed: int) -> Callable[[socket.socket], None]:
    rng = random.Random(seed)
    kinds: list[Callable[[], bytes]] = [
        lambda: rng.randbytes(rng.randrange(1, 4096)),
        lambda: b"\x16\x03\x03" + rng.randbytes(2) + rng.randbytes(rng.randrange(0, 300)),
        lambda: b"\x15\x03\x03\x00\x02" + rng.randbytes(2),  # an alert of any kind
        lambda: b"\x16\x03\x01\x00\x00",  # an empty handshake record
        lambda: b"\x16\x03\x03\x00\x04\x02\x00\x00\x00",  # an empty ServerHello
        lambda: b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        lambda: b"\x00" * 2048,
    ]
    payload = kinds[seed % len(kinds)]()

    def behaviour(conn: socket.socket) -> None:
        _read_hello(conn)
        conn.sendall(payload)
        time.sleep(0.3)

    return behaviour


def _silent(conn: socket.socket) -> None:
    """Reads the ClientHello and answers nothing, until the client gives up."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if not conn.recv(65536):
                return
        except TimeoutError:
            continue


def _never_ending_handshake(conn: socket.socket) -> None:
    """A handshake record announcing 16 KiB that arrives one byte every 50 ms."""
    _read_hello(conn)
    conn.sendall(b"\x16\x03\x03\x40\x00\x02\x00\x3f\xfc\x03\x03")
    for _ in range(400):
        conn.sendall(b"\x00")
        time.sleep(0.05)


def _endless_records(conn: socket.socket) -> None:
    """Valid-looking empty handshake fragments, forever (no message ever completes)."""
    _read_hello(conn)
    conn.sendall(b"\x16\x03\x03\x00\x01\x02")
    for _ in range(400):
        conn.sendall(b"\x16\x03\x03\x00\x01\x00")
        time.sleep(0.02)


@pytest.mark.parametrize(
    "behaviour",
    [*(_garbage(seed) for seed in range(14)), _silent, _never_ending_handshake,
     _endless_records],
    ids=[*(f"garbage-{seed}" for seed in range(14)), "silent", "never-ending-handshake",
         "endless-records"],
)
def test_hostile_servers_get_an_answer_within_the_timeout(
    run: Run, behaviour: Callable[[socket.socket], None]
) -> None:
    with raw_server(behaviour, conn_timeout=0.2) as port:
        code, data, err, took = check_json(run, port, timeout=2.0)
    assert code == 1
    assert isinstance(data["error"], str) and data["error"], data
    assert (data["chain"], data["matches"], data["warnings"]) == ([], None, [])
    assert took < 2.0 + START_SLACK, took
    assert data["error"] in err


def _chain_pair(tmp: Path, length: int) -> tuple[Path, Path, Path]:
    """A leaf and ``length`` intermediates (EC keys: quick), for ``-cert_chain``."""
    now = datetime.now(UTC).replace(microsecond=0)
    key = ec.generate_private_key(ec.SECP256R1())
    certs = []
    for n in range(length + 1):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"link {n} " + "x" * 40)])
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                               f"link {n + 1} " + "x" * 40)])
        certs.append(
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(issuer).public_key(key.public_key())
            .serial_number(n + 1).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
    cert, key_path = write_pair(tmp, f"chain{length}", key, certs[:1])
    chain = tmp / f"chain{length}-rest.pem"
    chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs[1:]))
    return cert, key_path, chain


@pytest.mark.parametrize(("length", "served"), [(60, True), (400, False)],
                         ids=["long-chain", "huge-chain"])
def test_long_and_huge_chains(tmp_path: Path, run: Run, length: int,
                              served: bool) -> None:
    cert, key, chain = _chain_pair(tmp_path, length)
    with s_server(tmp_path, cert, key, "-cert_chain", str(chain)) as port:
        code, data, _err, took = check_json(run, port, timeout=3.0)
    assert took < 3.0 + START_SLACK
    if served:
        assert code == 0
        assert isinstance(data["chain"], list) and len(data["chain"]) == length + 1
    else:
        assert code == 1 and isinstance(data["error"], str)
        assert "too large" in data["error"], data
