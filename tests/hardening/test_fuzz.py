"""Hostile input (issue 7): every importer answers with findings or a typed error, fast.

Importers: ``inputs.load_pkcs12_file``, ``inputs.load_x509_files``,
``inputs.load_certificate_file``, ``crypto.read_pkcs12``, ``crypto.read_private_key``,
``crypto.read_certificates``, ``crypto.read_certificate_only``, ``lint.check`` and
``CertificateInfo.from_x509`` on whatever certificate they return, and the device CSV
reader ``device_csv.read_device_csv``.

Input families: real files built at run time (PKCS #12 modern AES-256, legacy 3DES,
legacy RC2-40 from the openssl command line, no password, certificate only, with a
chain; PEM and DER certificates, PEM and DER bundles; PKCS #8 keys encrypted and plain
in PEM and DER, traditional OpenSSL keys encrypted and plain, an EC key) mutated by
truncation, byte flips, insertions, deletions, splices and huge ASN.1 lengths; deeply
nested SEQUENCE headers (definite and indefinite lengths); random PEM armour around
random or mutated bodies; password-hashing iteration bombs; CSV files mutated and
generated (delimiters, quotes, BOM, NUL, long fields, bad dates, random bytes).

Only findings or :class:`KscertError` subclasses may come out, and each input is
answered within 2 s. The number of examples comes from ``KSCERT_FUZZ_EXAMPLES``
(total over the fuzz tests; default 300, the full run is 10 000 or more).
"""

from __future__ import annotations

import base64
import functools
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from certkit import pem_armour as armoured
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hardkit import Identity, isolated_env, key_pem, make_identity, pkcs12_bytes, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kscert_gui.model import crypto, lint
from kscert_gui.model.certificate import certificate_info
from kscert_gui.model.errors import KscertError
from kscert_gui.services import device_csv, inputs

#: Total examples over the fuzz tests of this module (the full run: 10 000 or more).
EXAMPLES = int(os.environ.get("KSCERT_FUZZ_EXAMPLES", "300"))
FUZZ_TESTS = 7
PER_TEST = max(-(-EXAMPLES // FUZZ_TESTS), 10)  # rounded up: the total is at least EXAMPLES
#: DESIGN/issue 7: each input is answered within this time.
ANSWER_SECONDS = 2.0
PASSWORD = b"fuzz password"
AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

FUZZ = settings(
    max_examples=PER_TEST,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

T = TypeVar("T")


# --- seeds: real files, built at run time ------------------------------------------------------


@functools.cache
def identities() -> tuple[Identity, Identity]:
    """A CA and a leaf it signed (both meet DESIGN §4 as far as a chain allows)."""
    ca = make_identity("fuzz-ca.example", not_before=AT - timedelta(days=5))
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mdm.fuzz.example")])
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.cert.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(AT - timedelta(days=1))
        .not_valid_after(AT + timedelta(days=200))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("mdm.fuzz.example")]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return ca, Identity(leaf_key, leaf_cert)


def _openssl_rc2_p12(ident: Identity) -> bytes | None:
    """A legacy RC2-40 container from the openssl command line (what old tools export)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "k.pem").write_bytes(key_pem(ident.key, None))
        (folder / "c.pem").write_bytes(ident.cert.public_bytes(serialization.Encoding.PEM))
        for extra in (["-legacy"], []):
            proc = subprocess.run(
                [openssl, "pkcs12", "-export", *extra, "-certpbe", "PBE-SHA1-RC2-40",
                 "-keypbe", "PBE-SHA1-3DES", "-inkey", str(folder / "k.pem"), "-in",
                 str(folder / "c.pem"), "-out", str(folder / "o.p12"), "-passout",
                 "pass:" + PASSWORD.decode()],
                capture_output=True, timeout=60,
            )
            if proc.returncode == 0:
                return (folder / "o.p12").read_bytes()
    return None


@functools.cache
def seeds() -> dict[str, bytes]:
    ca, leaf = identities()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = serialization.Encoding.PEM
    der = serialization.Encoding.DER
    out: dict[str, bytes] = {
        "p12-modern": pkcs12_bytes(leaf, PASSWORD),
        "p12-legacy-3des": pkcs12_bytes(leaf, PASSWORD, legacy=True),
        "p12-no-password": pkcs12_bytes(leaf, None),
        "p12-cert-only": pkcs12.serialize_key_and_certificates(
            b"c", None, None, [leaf.cert], serialization.BestAvailableEncryption(PASSWORD)),
        "p12-with-chain": pkcs12.serialize_key_and_certificates(
            b"c", leaf.key, leaf.cert, [ca.cert], serialization.BestAvailableEncryption(PASSWORD)),
        "cert-pem": leaf.cert.public_bytes(pem),
        "cert-der": leaf.cert.public_bytes(der),
        "bundle-pem": leaf.cert.public_bytes(pem) + ca.cert.public_bytes(pem),
        "bundle-der": leaf.cert.public_bytes(der) + ca.cert.public_bytes(der),
        "key-pkcs8-pem-encrypted": key_pem(leaf.key, PASSWORD),
        "key-pkcs8-pem": key_pem(leaf.key, None),
        "key-pkcs8-der-encrypted": leaf.key.private_bytes(
            der, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD)),
        "key-pkcs8-der": leaf.key.private_bytes(
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        "key-traditional-pem": key_pem(leaf.key, None, traditional=True),
        "key-traditional-pem-encrypted": key_pem(leaf.key, PASSWORD, traditional=True),
        "key-ec-pem": key_pem(ec_key, None),
    }
    rc2 = _openssl_rc2_p12(leaf)
    if rc2 is not None:
        out["p12-legacy-rc2-openssl"] = rc2
    return out


# --- mutations ---------------------------------------------------------------------------------

_HUGE_LENGTHS = (b"\x84\xff\xff\xff\xff", b"\x88" + b"\xff" * 8, b"\xff", b"\x80",
                 b"\x84\x7f\xff\xff\xff", b"\x83\x01\x00\x00")


@st.composite
def mutated(draw: st.DrawFn, names: tuple[str, ...]) -> bytes:
    """A seed file with 1 to 4 mutations: truncation, byte flips, insertion, deletion,
    a splice from another seed, a huge ASN.1 length at a header."""
    all_seeds = seeds()
    data = bytearray(all_seeds[draw(st.sampled_from(names))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(
            ["truncate", "flip", "insert", "delete", "splice", "huge-length", "flip-many"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[pos:]
        elif kind == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "flip-many" and data:
            for p in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=16)):
                data[p] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif kind == "splice":
            other = all_seeds[draw(st.sampled_from(sorted(all_seeds)))]
            start = draw(st.integers(0, len(other) - 1))
            data[pos : pos + draw(st.integers(0, 256))] = other[start : start + 256]
        elif kind == "huge-length":
            # Overwrite the length octets of the TLV header at ``pos`` (or at the start).
            at = pos if draw(st.booleans()) else 0
            data[at + 1 : at + 2] = draw(st.sampled_from(_HUGE_LENGTHS))
        if not data:
            break
    return bytes(data)


def _der_header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes([tag, length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    """Deeply nested SEQUENCE (or SET / [0]) headers around a seed or nothing."""
    depth = draw(st.sampled_from([2, 16, 64, 256, 1024, 10_000, 100_000]))
    tag = draw(st.sampled_from([0x30, 0x31, 0xA0, 0x24]))
    core = draw(st.sampled_from([b"", b"\x05\x00", seeds()["cert-der"][:64]]))
    style = draw(st.sampled_from(["definite", "indefinite", "lying"]))
    if style == "indefinite":
        return bytes([tag, 0x80]) * depth + core + b"\x00\x00" * depth
    if style == "lying":
        # Every header claims the maximum length; nothing behind it.
        return (bytes([tag]) + b"\x84\x7f\xff\xff\xff") * depth + core
    data = core
    for _ in range(depth):
        data = _der_header(tag, len(data)) + data
    return data


_LABELS = ("CERTIFICATE", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY",
           "EC PRIVATE KEY", "PKCS12", "X509 CRL", "TRUSTED CERTIFICATE", "PUBLIC KEY", "")


@st.composite
def pem_armour(draw: st.DrawFn) -> bytes:
    """One or more PEM blocks: random labels, bodies, headers, broken END lines."""
    blocks: list[bytes] = []
    for _ in range(draw(st.integers(1, 3))):
        label = draw(st.sampled_from(_LABELS) | st.text(max_size=20)).encode("utf-8", "replace")
        source = draw(st.sampled_from(["seed", "mutated", "random", "not-base64"]))
        if source == "seed":
            body = base64.encodebytes(seeds()[draw(st.sampled_from(sorted(seeds())))])
        elif source == "mutated":
            body = base64.encodebytes(draw(mutated(tuple(sorted(seeds())))))
        elif source == "random":
            body = base64.encodebytes(draw(st.binary(max_size=512)))
        else:
            body = draw(st.binary(max_size=256))
        headers = draw(st.sampled_from([
            b"",
            b"Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n",
            b"Proc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,zz\n\n", b"Junk: header\n\n",
        ]))
        end_label = label if draw(st.booleans()) else b"OTHER"
        block = b"-----BEGIN " + label + b"-----\n" + headers + body
        if draw(st.integers(0, 4)):
            block += b"-----END " + end_label + b"-----\n"
        if draw(st.booleans()):
            block = block.replace(b"\n", b"\r\n")
        blocks.append(block)
    return draw(st.binary(max_size=16)) + b"".join(blocks)


def any_input() -> st.SearchStrategy[bytes]:
    names = tuple(sorted(seeds()))
    return st.one_of(
        mutated(names), nested(), pem_armour(), st.binary(max_size=2048),
        st.sampled_from(sorted(seeds().values())),
    )


# --- the oracle --------------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> T:
    """Call ``fn``; only a KscertError may come out, within ANSWER_SECONDS."""
    start = time.perf_counter()
    try:
        return fn()
    finally:
        elapsed = time.perf_counter() - start
        assert elapsed < ANSWER_SECONDS, f"answered in {elapsed:.2f} s"


def check_material(material: crypto.Material) -> None:
    """Findings of known codes; a certificate it returns can be described and checked."""
    assert isinstance(material, crypto.Material)
    for finding in material.findings:
        assert finding.code in lint.ALL_CODES, finding
        assert finding.message and finding.fix
    for cert in [material.certificate, *material.chain]:
        if cert is not None:
            timed(lambda c=cert: certificate_info(c).to_json())  # type: ignore[misc]
    if material.certificate is not None:
        for address in (None, "mdm.fuzz.example", "192.0.2.1"):
            findings = timed(lambda a=address: lint.check(  # type: ignore[misc]
                material, AT, a, AT + timedelta(days=30)))
            assert all(f.code in lint.ALL_CODES for f in findings)


def expect_typed(fn: Callable[[], Any]) -> Any:
    try:
        return timed(fn)
    except KscertError as err:
        assert err.message and "Traceback" not in err.message
        return None


class Count:
    def __init__(self) -> None:
        self.n = 0


def run_counted(body: Callable[[Count], None]) -> int:
    count = Count()
    body(count)
    assert count.n >= PER_TEST, f"only {count.n} examples ran"
    return count.n


# --- the fuzz tests ----------------------------------------------------------------------------


def test_fuzz_pkcs12_readers(tmp_path: Path) -> None:
    target = tmp_path / "input.p12"

    @FUZZ
    @given(data=st.one_of(mutated(tuple(n for n in sorted(seeds()) if n.startswith("p12"))),
                          any_input()),
           password=st.sampled_from([PASSWORD, None, b"", b"wrong", "pässwörd".encode()]))
    def run(count: Count, data: bytes, password: bytes | None) -> None:
        count.n += 1
        check_material(timed(lambda: crypto.read_pkcs12(data, password)))
        target.write_bytes(data)
        check_material(timed(lambda: inputs.load_pkcs12_file(target, password)))

    run_counted(lambda c: run(c))


def test_fuzz_private_key_readers(tmp_path: Path) -> None:
    key_file, cert_file = tmp_path / "input.key", tmp_path / "input.cer"
    cert_file.write_bytes(seeds()["cert-der"])

    @FUZZ
    @given(data=st.one_of(mutated(tuple(n for n in sorted(seeds()) if n.startswith("key"))),
                          any_input()),
           password=st.sampled_from([PASSWORD, None, b"", b"wrong"]))
    def run(count: Count, data: bytes, password: bytes | None) -> None:
        count.n += 1
        expect_typed(lambda: crypto.read_private_key(data, password))
        key_file.write_bytes(data)
        check_material(timed(lambda: inputs.load_x509_files(key_file, password, cert_file)))

    run_counted(lambda c: run(c))


def test_fuzz_certificate_readers(tmp_path: Path) -> None:
    target = tmp_path / "input.cer"

    @FUZZ
    @given(data=st.one_of(
        mutated(tuple(n for n in sorted(seeds()) if n.startswith(("cert", "bundle")))),
        any_input()))
    def run(count: Count, data: bytes) -> None:
        count.n += 1
        certs = timed(lambda: crypto.read_certificates(data))
        assert isinstance(certs, list)
        check_material(timed(lambda: crypto.read_certificate_only(data)))
        target.write_bytes(data)
        check_material(timed(lambda: inputs.load_certificate_file(target)))

    run_counted(lambda c: run(c))


def test_fuzz_key_and_certificate_pair(tmp_path: Path) -> None:
    key_file, cert_file = tmp_path / "pair.pem", tmp_path / "pair.crt"

    @FUZZ
    @given(key=any_input(), cert=any_input(),
           password=st.sampled_from([PASSWORD, None, b"wrong"]))
    def run(count: Count, key: bytes, cert: bytes, password: bytes | None) -> None:
        count.n += 1
        key_file.write_bytes(key)
        cert_file.write_bytes(cert)
        check_material(timed(lambda: inputs.load_x509_files(key_file, password, cert_file)))
        check_material(timed(lambda: crypto.read_x509_pair(key, password, cert)))

    run_counted(lambda c: run(c))


def test_fuzz_structure_bombs() -> None:
    """Deep nesting and lying lengths, straight into every reader."""

    @FUZZ
    @given(data=st.one_of(nested(), pem_armour()),
           password=st.sampled_from([PASSWORD, None]))
    def run(count: Count, data: bytes, password: bytes | None) -> None:
        count.n += 1
        check_material(timed(lambda: crypto.read_pkcs12(data, password)))
        expect_typed(lambda: crypto.read_private_key(data, password))
        check_material(timed(lambda: crypto.read_certificate_only(data)))

    run_counted(lambda c: run(c))


def test_fuzz_lint_on_mutated_certificates() -> None:
    """Certificates that still parse after a mutation (odd extensions, bad signatures,
    strange names) go through the whole requirements check."""
    cert_seeds = ("cert-der", "bundle-der")

    @FUZZ
    @given(data=mutated(cert_seeds))
    def run(count: Count, data: bytes) -> None:
        count.n += 1
        certs = timed(lambda: crypto.read_certificates(data))
        _ca, leaf = identities()
        for cert in certs:
            check_material(crypto.Material(certificate=cert, private_key=leaf.key))
            check_material(crypto.Material(certificate=cert, chain=tuple(certs)))

    run_counted(lambda c: run(c))


# --- the device CSV reader ---------------------------------------------------------------------

_VALID_CSV = (
    "name,group,platform,last synchronization\n"
    "phone-1,Field staff/North,iOS,2026-03-01T09:30:00Z\n"
    "phone-2,Field staff,Android,01.03.2026 09:30:00\n"
    "host-1,Servers,Windows,\n"
)


@st.composite
def csv_input(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["mutated", "generated", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=4096))
    if kind == "mutated":
        data = bytearray(_VALID_CSV.encode())
        for _ in range(draw(st.integers(1, 6))):
            pos = draw(st.integers(0, max(len(data) - 1, 0)))
            op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
            if op == "flip" and data:
                data[pos] = draw(st.integers(0, 255))
            elif op == "insert":
                data[pos:pos] = draw(st.sampled_from(
                    [b'"', b"\x00", b"\r", b";", b"\t", b"\xef\xbb\xbf", b",,,,", b"\n\n",
                     b'"a""b"', "é".encode(), b"\xff\xfe", b"x" * 70_000]))
            elif op == "delete":
                del data[pos : pos + draw(st.integers(1, 20))]
            else:
                del data[pos:]
        return bytes(data)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.permutations(["name", "group", "platform", "last synchronization",
                                   "extra"]))
    field = st.one_of(
        st.text(max_size=40),
        st.sampled_from(["iOS", "Android", "Windows", "Linux", "macOS", "toaster", "",
                         "2026-03-01T09:30:00Z", "2026-02-30T00:00:00", "31.12.9999 23:59:59",
                         "99.99.2026 99:99:99", "1970-01-01", "Managed devices/../x",
                         "/", "a" * 300, '"quoted, field"', "\x00"]),
    )
    rows = draw(st.lists(st.lists(field, min_size=0, max_size=7), max_size=30))
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    bom = "\ufeff" if draw(st.booleans()) else ""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return (bom + newline.join(lines)).encode(draw(st.sampled_from(["utf-8", "utf-16",
                                                                     "latin-1"])), "replace")


def test_fuzz_device_csv(tmp_path: Path) -> None:
    target = tmp_path / "devices.csv"

    @FUZZ
    @given(data=csv_input())
    def run(count: Count, data: bytes) -> None:
        count.n += 1
        target.write_bytes(data)
        parsed = expect_typed(lambda: device_csv.read_device_csv(target, AT))
        if parsed is not None:
            assert isinstance(parsed, device_csv.ParsedCsv)

    run_counted(lambda c: run(c))


# --- iteration bombs (found by this suite; fixed in crypto) ------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    return _der_header(tag, len(content)) + content


def _rewrite_iterations(data: bytes, start: int, end: int, count: int, only_last: bool) -> bytes:
    """Re-encode DER with every iteration count (the INTEGER after a salt) set to ``count``;
    with ``only_last``, only the top level's last one (the PKCS #12 MacData)."""
    items = crypto._children(data, start, end)
    out = b""
    for i, (tag, s, e) in enumerate(items):
        previous = items[i - 1][0] if i else None
        if tag == 0x02 and previous == 0x04:
            out += _tlv(0x02, count.to_bytes((count.bit_length() + 8) // 8, "big"))
        elif tag & 0x20 and not (only_last and i != len(items) - 1):
            out += _tlv(tag, _rewrite_iterations(data, s, e, count, False))
        elif tag == 0x04 and not only_last and e > s and data[s] == 0x30:
            try:
                out += _tlv(tag, _rewrite_iterations(data, s, e, count, False))
            except ValueError:
                out += _tlv(tag, data[s:e])
        else:
            out += _tlv(tag, data[s:e])
    return out


@pytest.mark.parametrize("count", [10_000_000, 2**31 - 1])
@pytest.mark.parametrize("seed", ["p12-modern", "p12-legacy-3des", "p12-no-password"])
@pytest.mark.parametrize("only_mac", [True, False], ids=["mac", "all"])
def test_pkcs12_iteration_bomb_is_refused_fast(seed: str, count: int, only_mac: bool) -> None:
    """OpenSSL runs whatever MAC and PBKDF2 iteration count a file names: 2^31 - 1 took
    minutes per password candidate before the check came first."""
    data = seeds()[seed]
    tag, start, end = crypto._tlv(data, 0)
    bomb = _tlv(tag, _rewrite_iterations(data, start, end, count, only_mac))
    assert bomb != data
    for password in (PASSWORD, None, b"wrong"):
        material = timed(lambda p=password: crypto.read_pkcs12(bomb, p))  # type: ignore[misc]
        assert [f.code for f in material.findings] == ["unreadable"]
        assert "iterations" in material.findings[0].message


@pytest.mark.parametrize("seed", ["key-pkcs8-pem-encrypted", "key-pkcs8-der-encrypted"])
def test_pkcs8_iteration_bomb_is_refused_fast(seed: str) -> None:
    data = seeds()[seed]
    der = data if not data.startswith(b"-----") else base64.b64decode(
        b"".join(data.splitlines()[1:-1]))
    tag, start, end = crypto._tlv(der, 0)
    bomb = _tlv(tag, _rewrite_iterations(der, start, end, 2**31 - 1, False))
    if data.startswith(b"-----"):
        bomb = armoured("ENCRYPTED PRIVATE KEY", base64.encodebytes(bomb))
    for password in (PASSWORD, b"wrong"):
        with pytest.raises(crypto.UnreadableError, match="iterations"):
            timed(lambda p=password: crypto.read_private_key(bomb, p))  # type: ignore[misc]
    # Without a password nothing is derived: it is simply an encrypted key.
    with pytest.raises(KscertError):
        timed(lambda: crypto.read_private_key(bomb, None))


def test_ordinary_iteration_counts_still_open() -> None:
    """The bound leaves real files alone: the program's own exports (100 000 rounds) and
    the seeds open with their password."""
    _ca, leaf = identities()
    own = crypto.export_pkcs12(leaf.cert, leaf.key, [], PASSWORD)
    assert timed(lambda: crypto.read_pkcs12(own, PASSWORD)).private_key is not None
    for name in ("p12-modern", "p12-legacy-3des", "p12-with-chain"):
        material = timed(lambda n=name: crypto.read_pkcs12(seeds()[n], PASSWORD))  # type: ignore[misc]
        assert material.private_key is not None, (name, material.findings)
    for name in ("key-pkcs8-pem-encrypted", "key-pkcs8-der-encrypted",
                 "key-traditional-pem-encrypted"):
        assert timed(lambda n=name: crypto.read_private_key(seeds()[n], PASSWORD))  # type: ignore[misc]


def _damaged_name(der: bytes) -> bytes:
    issuer_cn = b"\x0c" + bytes([len(b"fuzz-ca.example")]) + b"fuzz-ca.example"
    assert der.count(issuer_cn) == 1
    return der.replace(issuer_cn, b"\x00" + issuer_cn[1:])


def _version_2(der: bytes) -> bytes:
    version = b"\xa0\x03\x02\x01\x02"
    assert der.count(version) == 1
    return der.replace(version, b"\xa0\x03\x02\x01\x01")


@pytest.mark.parametrize("damage", [_damaged_name, _version_2], ids=["name", "version"])
def test_certificates_that_break_late_are_unreadable(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    """Found by this suite: cryptography loads a certificate with a damaged name and
    raises only when the name is first read (ValueError), and refuses a v2 certificate
    with InvalidVersion, which is not a ValueError; either way ``kscert inspect`` died
    with an unexpected error."""
    der = seeds()["cert-der"]
    ca, _leaf = identities()
    damaged = damage(der)
    assert crypto.read_certificates(damaged) == []
    material = crypto.read_certificate_only(damaged)
    assert [f.code for f in material.findings] == ["unreadable"]
    target = tmp_path / "damaged.cer"
    target.write_bytes(damaged)
    proc = run_cli(["inspect", "--cert", str(target), "--json"], isolated_env(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr
    assert ca.cert.subject.rfc4514_string()  # the undamaged issuer still reads
