"""pyca's public test vectors (the ``cryptography_vectors`` package) through ``kscert
inspect`` in this process: files nobody on this project wrote (issue 13).

Every file under ``x509/`` goes in as ``--cert``, every file under ``pkcs12/`` as
``--pkcs12`` (with and without a password) and every PEM/DER key under ``asymmetric/``
as ``--key`` with a certificate (with and without a password); so do the system's CA
certificates (``/etc/ssl/certs``, where there are any) and its bundle. Each run must
print one JSON document with findings, never "unexpected error"; then a table asserts
the verdicts on the files issue 13 names.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cryptography_vectors
import pytest
from certkit import compliant_certificate
from clikit import Run, write_passfile
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kscert_gui.cli import program
from kscert_gui.model.lint import ALL_CODES

VECTORS = Path(cryptography_vectors.__file__).parent
#: The password pyca's own tests give most encrypted vectors (others: the table below).
VECTOR_PASSWORD = "password"
KEY_SUFFIXES = (".pem", ".der", ".key")

# Library notes on odd files (BER, attribute lengths, DH): kscert silences them (package
# __init__); pytest records them again per test.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FINDING_FIELDS = {"code", "severity", "rule_set", "message", "fix"}
SYSTEM_CERTS = Path("/etc/ssl/certs")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    # Building the parser costs ten times what one inspect does: build it once. Each
    # run still goes through main(), with its exit codes and its catch-all.
    monkeypatch.setattr(program, "build_parser", functools.cache(program.build_parser))
    return Run(tmp_path / "store", write_passfile(tmp_path / "pass"), monkeypatch, capsys)


@pytest.fixture(scope="module")
def good_cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A certificate that meets every rule, for the key files (their verdict is then
    about the key: key-mismatch, unreadable, wrong-password...)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = compliant_certificate(key, "mdm.example.com", datetime.now(UTC), 300)
    path = tmp_path_factory.mktemp("corpus") / "good.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _files(folder: str, suffixes: tuple[str, ...] = ()) -> list[Path]:
    return sorted(
        p for p in (VECTORS / folder).rglob("*")
        if p.is_file() and (not suffixes or p.suffix in suffixes)
    )


@dataclass(frozen=True)
class Job:
    args: tuple[str, ...]
    stdin: str = ""

    @property
    def name(self) -> str:
        return " ".join(a.replace(str(VECTORS) + "/", "") for a in self.args)


def corpus(good_cert: Path) -> Iterator[Job]:
    pw = ("--password-stdin",)
    for path in _files("x509"):
        yield Job(("inspect", "--cert", str(path)))
    for path in _files("pkcs12"):
        yield Job(("inspect", "--pkcs12", str(path)))
        yield Job(("inspect", "--pkcs12", str(path), *pw), "cryptography\n")
    for path in _files("asymmetric", KEY_SUFFIXES):
        pair = ("inspect", "--key", str(path), "--cert", str(good_cert))
        yield Job(pair)
        yield Job((*pair, *pw), VECTOR_PASSWORD + "\n")
    for path in [*sorted(SYSTEM_CERTS.glob("*.pem")), SYSTEM_CERTS / "ca-certificates.crt"]:
        if path.is_file():
            yield Job(("inspect", "--cert", str(path)))


def _problem(rc: int, out: str, err: str) -> str | None:
    """What is wrong with one answer of ``inspect --json``, or None."""
    if "unexpected error" in out + err or "Traceback" in out + err:
        return f"crashed: {err.strip()[:200]}"
    try:
        data = json.loads(out)
    except ValueError:
        return f"no JSON (rc {rc}): {err.strip()[:200]}"
    if "error" in data or not isinstance(data.get("findings"), list):
        return f"not an inspect document: {out[:200]}"
    findings: list[dict[str, Any]] = data["findings"]
    if not findings:
        return "no finding"
    for f in findings:
        if set(f) != FINDING_FIELDS or f["code"] not in ALL_CODES or not f["message"]:
            return f"malformed finding {f}"
    codes = {f["code"] for f in findings}
    expected_rc = 2 if "unreadable" in codes else (1 if not data["ok"] else 0)
    if rc != expected_rc:
        return f"exit code {rc}, expected {expected_rc} for {sorted(codes)}"
    if data["ok"] == any(f["severity"] == "error" for f in findings):
        return f"ok={data['ok']} does not follow the findings {sorted(codes)}"
    return None


def test_every_vector_gets_findings_never_a_crash(run: Run, good_cert: Path) -> None:
    jobs = list(corpus(good_cert))
    failures: list[str] = []
    for job in jobs:
        rc, out, err = run(*job.args, "--json", stdin=job.stdin)
        problem = _problem(rc, out, err)
        if problem is not None:
            failures.append(f"{job.name}: {problem}")
    files = len({job.args[2] for job in jobs if job.args[2].startswith(str(VECTORS))})
    sys.stderr.write(f"corpus: {len(jobs)} runs over {files} vector files and the system's "
                     f"CA certificates, "
                     f"{len(jobs) - len(failures)} clean answers\n")
    assert files > 1900, "the cryptography_vectors package is not the full corpus"
    assert not failures, f"{len(failures)} of {len(jobs)} runs:\n" + "\n".join(failures[:40])


# --- verdicts on the files issue 13 names -------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """``kscert inspect`` on one vector: the codes expected (and not), a phrase of the
    first finding with that code, and what the certificate object says."""

    kind: str  # "cert", "pkcs12" or "key" (the key with the good certificate)
    path: str
    code: str
    says: tuple[str, ...] = ()
    password: str | None = None
    absent: tuple[str, ...] = ()
    key: str | None = None
    signature: str | None = None


VERDICTS = [
    # Crashed with "unexpected error" before; a named part now.
    Verdict("cert", "x509/custom/two_basic_constraints.pem", "unreadable",
            ("basicConstraints extension appears twice",)),
    Verdict("cert", "x509/san_x400address.der", "unreadable",
            ("subjectAltName extension", "x400Address")),
    Verdict("cert", "x509/san_edipartyname.der", "unreadable",
            ("subjectAltName extension", "ediPartyName")),
    Verdict("cert", "x509/custom/rsa_pss_cert_no_sig_params.der", "unreadable",
            ("signature algorithm (rsassaPss)", "parameters")),
    # One malformed extension or name: unreadable, and which one.
    Verdict("cert", "x509/custom/malformed-san.pem", "unreadable",
            ("subjectAltName extension is malformed",)),
    Verdict("cert", "x509/custom/nc_invalid_ip_netmask.pem", "unreadable",
            ("nameConstraints extension",)),
    Verdict("cert", "x509/wosign-bc-invalid.pem", "unreadable", ("basicConstraints",)),
    Verdict("cert", "x509/custom/invalid-sct-version.der", "unreadable",
            ("signedCertificateTimestampList",)),
    Verdict("cert", "x509/custom/invalid_utf8_common_name.pem", "unreadable",
            ("subject name",)),
    Verdict("cert", "x509/badasn1time.pem", "unreadable", ("validity dates",)),
    # Weak signatures in every form, the hash by name.
    Verdict("cert", "x509/v1_cert.pem", "weak-signature", ("MD5",), signature="md5"),
    Verdict("cert", "x509/verisign_md2_root.pem", "weak-signature",
            ("MD2", "md2WithRSAEncryption"), signature="md2WithRSAEncryption"),
    Verdict("cert", "x509/custom/alternate-rsa-sha1-oid.der", "weak-signature",
            ("SHA-1", "sha1WithRSA (OIW, 1.3.14.3.2.29)"),
            signature="sha1WithRSA (OIW, 1.3.14.3.2.29)"),
    Verdict("cert", "x509/ee-pss-sha1-cert.pem", "weak-signature",
            ("SHA-1", "rsassaPss with SHA-1"), signature="rsassaPss with SHA-1"),
    Verdict("cert", "x509/custom/rsa_pss_cert.pem", "missing-san", absent=("weak-signature",),
            signature="rsassaPss with SHA-256"),
    # Key types the library does not know: non-rsa-key, not unreadable.
    Verdict("cert", "x509/e-trust.ru.der", "non-rsa-key", ("a GOST R 34.10-2001 key",),
            absent=("unreadable",), key="GOST R 34.10-2001"),
    Verdict("cert", "x509/custom/unsupported_subject_public_key_info.pem", "non-rsa-key",
            ("1.3.6.1.4.1.8432.1.1.2",), absent=("unreadable",)),
    Verdict("cert", "x509/custom/ec_no_named_curve.pem", "non-rsa-key",
            ("has an EC secp256r1 key",)),
    Verdict("cert", "x509/ed25519/root-ed25519.pem", "non-rsa-key", ("has an Ed25519 key",)),
    # Encryption no password opens: unreadable, never wrong-password, with the right one.
    Verdict("key", "asymmetric/PKCS8/enc-unknown-algorithm.pem", "unreadable",
            ("cannot read", "cipher"), "password", ("wrong-password",)),
    Verdict("key", "asymmetric/PKCS8/enc-unknown-kdf.pem", "unreadable",
            ("cannot read", "key derivation"), "password", ("wrong-password",)),
    Verdict("key", "asymmetric/PKCS8/enc-unknown-pbkdf2-prf.pem", "unreadable",
            ("cannot read", "PRF"), "password", ("wrong-password",)),
    Verdict("key", "asymmetric/PKCS8/enc-unknown-kdf.pem", "unreadable",
            ("key derivation",), None, ("wrong-password",)),
    Verdict("key", "asymmetric/PKCS8/rsa-rc2-cbc-effective-key-length.pem", "unreadable",
            ("RC2",), "password", ("wrong-password",)),
    Verdict("key", "asymmetric/PKCS8/enc-rsa-pkcs8-pbkdf2-0iter.pem", "unreadable",
            ("iterations",), "foobar", ("wrong-password",)),
    Verdict("key", "asymmetric/Traditional_OpenSSL_Serialization/key1-short-iv.pem",
            "unreadable", ("IV",), "123456", ("wrong-password",)),
    Verdict("key", "asymmetric/Traditional_OpenSSL_Serialization/key1-malformed-iv.pem",
            "unreadable", ("IV",), "123456", ("wrong-password",)),
    Verdict("key", "asymmetric/Traditional_OpenSSL_Serialization/key1-malformed-dek-info.pem",
            "unreadable", ("DEK-Info",), "123456", ("wrong-password",)),
    # ... while a wrong password still is one.
    Verdict("key", "asymmetric/PKCS8/enc-rsa-pkcs8.pem", "wrong-password", (), "not foobar"),
    Verdict("key", "asymmetric/Traditional_OpenSSL_Serialization/key1.pem", "wrong-password",
            (), "654321"),
    # An unprotected container given a password opens.
    Verdict("pkcs12", "pkcs12/no-password.p12", "non-rsa-key", (), "cryptography",
            ("wrong-password",)),
]


@pytest.mark.parametrize("verdict", VERDICTS, ids=lambda v: f"{v.path}-{v.code}")
def test_verdict_on_a_named_vector(run: Run, good_cert: Path, verdict: Verdict) -> None:
    path = str(VECTORS / verdict.path)
    args = {
        "cert": ["--cert", path],
        "pkcs12": ["--pkcs12", path],
        "key": ["--key", path, "--cert", str(good_cert)],
    }[verdict.kind]
    if verdict.password is not None:
        args.append("--password-stdin")
    rc, out, _err = run("inspect", *args, "--json",
                        stdin="" if verdict.password is None else verdict.password + "\n")
    data = json.loads(out)
    codes = [f["code"] for f in data["findings"]]
    assert verdict.code in codes, codes
    assert not set(verdict.absent) & set(codes), codes
    message = next(f["message"] for f in data["findings"] if f["code"] == verdict.code)
    for phrase in verdict.says:
        assert phrase in message
    assert rc == (2 if "unreadable" in codes else 1)
    cert = data["certificate"]
    if verdict.key is not None:
        assert cert["key"] == verdict.key
    if verdict.signature is not None:
        assert cert["signature"].startswith(verdict.signature)
    if verdict.kind == "pkcs12" and verdict.password is not None:
        assert data["notes"] and "not protected by a password" in data["notes"][0]
