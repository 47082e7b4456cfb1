"""Helpers of the hardening tests: stores, files with known secrets, the CLI in a child,
and the store invariants every fault must leave intact.

Everything is built at run time under ``tmp_path``; nothing reads the real user's
keyring, data or configuration (each child gets HOME and XDG_* in a temporary folder).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from certkit import compliant_certificate
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from kscert_gui import cli
from kscert_gui.model import crypto
from kscert_gui.model.clock import iso
from kscert_gui.services.base import state_of
from kscert_gui.services.secrets import MemorySecretStore, PassphraseFileSecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.store import Store
from kscert_gui.services.views import ReissueRequest

ROOT = Path(__file__).resolve().parents[2]
#: Every child process is bounded; a hang is a failure, never a stuck CI job.
CHILD_TIMEOUT = 120.0
STORE_PASSPHRASE = "hardening store passphrase 7Q"
ADDRESS = "mdm.hardening.example"
#: The training store's simulation clock starts here.
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


# --- environment and the CLI -----------------------------------------------------------------


def isolated_env(tmp: Path) -> dict[str, str]:
    """os.environ with HOME and XDG_* in ``tmp/userhome`` (logs, settings, caches land there)."""
    home = tmp / "userhome"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KSCERT_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        QT_QPA_PLATFORM="offscreen",
        PYTHONDONTWRITEBYTECODE="1",
    )
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    # keyring's environment override must not pick a backend for the child.
    env.pop("PYTHON_KEYRING_BACKEND", None)
    return env


def run_cli(
    args: Sequence[str],
    env: dict[str, str],
    *,
    stdin: str | None = None,
    timeout: float = CHILD_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """``python -m kscert_gui.cli ARGS`` in a child; stdout and stderr captured."""
    return subprocess.run(
        [sys.executable, "-m", "kscert_gui.cli", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


@dataclass(frozen=True)
class InProcess:
    code: int
    out: str
    err: str


def cli_in_process(args: Sequence[str]) -> InProcess:
    """``kscert ARGS`` in this process (the quick path for follow-up commands)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return InProcess(code, out.getvalue(), err.getvalue())


def assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int = 1) -> None:
    """A refusal a person can read: the exit code, one ``kscert: error:`` line, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    assert "kscert: error: " in proc.stderr, proc.stderr
    assert "unexpected error" not in proc.stderr, proc.stderr


def write_passphrase_file(path: Path, text: str = STORE_PASSPHRASE) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


# --- certificates and files with known secrets -------------------------------------------------


@dataclass(frozen=True)
class Identity:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()


def make_identity(
    address: str = "mdm.custom.example",
    *,
    not_before: datetime | None = None,
    days: int = 300,
    key: rsa.RSAPrivateKey | None = None,
) -> Identity:
    """A self-signed certificate that meets every DESIGN §4 rule (issued yesterday)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = (not_before or datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    cert = compliant_certificate(key, address, start, days)
    return Identity(key, cert)


def pkcs12_bytes(ident: Identity, password: bytes | None, *, legacy: bool = False) -> bytes:
    """A PKCS #12 container: modern (PBES2/AES-256) or legacy (3DES, SHA-1 MAC)."""
    if password is None:
        encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    elif legacy:
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(password)
        )
    else:
        encryption = serialization.BestAvailableEncryption(password)
    return pkcs12.serialize_key_and_certificates(b"mobile", ident.key, ident.cert, None,
                                                 encryption)


def key_pem(key: PrivateKeyTypes, password: bytes | None, *, traditional: bool = False) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption()
    )
    fmt = (serialization.PrivateFormat.TraditionalOpenSSL if traditional
           else serialization.PrivateFormat.PKCS8)
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


def secret_forms_of_key(key: PrivateKeyTypes) -> dict[str, bytes]:
    """The ways a private key could leak: PEM, DER, base64 and hex of both encodings,
    and the private exponent's raw bytes and hex (a partial leak)."""
    forms: dict[str, bytes] = {}
    for fmt_name, fmt in (("pkcs8", serialization.PrivateFormat.PKCS8),
                          ("traditional", serialization.PrivateFormat.TraditionalOpenSSL)):
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        der = key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
        b64 = base64.b64encode(der)
        forms[f"{fmt_name}-pem"] = pem
        # One wrapped PEM body line (64 base64 characters) from the middle of the key.
        lines = pem.splitlines()
        forms[f"{fmt_name}-pem-line"] = lines[len(lines) // 2]
        forms[f"{fmt_name}-der"] = der
        forms[f"{fmt_name}-base64"] = b64
        forms[f"{fmt_name}-base64-chunk"] = b64[len(b64) // 2 : len(b64) // 2 + 48]
        forms[f"{fmt_name}-base64url"] = base64.urlsafe_b64encode(der)
        forms[f"{fmt_name}-hex"] = der.hex().encode()
        forms[f"{fmt_name}-HEX"] = der.hex().upper().encode()
    if isinstance(key, rsa.RSAPrivateKey):
        d = key.private_numbers().d
        raw = d.to_bytes((d.bit_length() + 7) // 8, "big")
        forms["d-raw-chunk"] = raw[32:64]
        forms["d-hex-chunk"] = raw[32:64].hex().encode()
        forms["d-decimal-chunk"] = str(d)[20:80].encode()
    return forms


def secret_forms_of_password(name: str, password: bytes) -> dict[str, bytes]:
    """A password as text, UTF-16 (PKCS #12 BMPString), base64 and hex."""
    text = password.decode("utf-8")
    return {
        f"{name}": password,
        f"{name}-utf16le": text.encode("utf-16-le"),
        f"{name}-utf16be": text.encode("utf-16-be"),
        f"{name}-base64": base64.b64encode(password),
        f"{name}-base64url": base64.urlsafe_b64encode(password).rstrip(b"="),
        f"{name}-hex": password.hex().encode(),
        f"{name}-HEX": password.hex().upper().encode(),
    }


def find_secrets(data: bytes, needles: dict[str, bytes]) -> list[str]:
    return [name for name, needle in needles.items() if needle and needle in data]


def files_under(folder: Path) -> Iterator[Path]:
    if not folder.exists():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


# --- stores ------------------------------------------------------------------------------------


def copy_store(template: Path, target: Path) -> Path:
    """A copy of a closed store (modes kept: the database 0600, the folder 0700)."""
    shutil.copytree(template, target)
    return target


def build_real_store(home: Path, passphrase_file: Path) -> None:
    """A real store with a main certificate and a pending reserve (30 days)."""
    secrets = PassphraseFileSecretStore(passphrase_file)
    with AdministrationServer.open(home, secrets) as server:
        server.reissue(ReissueRequest(ADDRESS, None), confirmed=True)
        server.reissue(ReissueRequest(None, 30), confirmed=True)


def build_training_store_due_switch(home: Path, passphrase_file: Path) -> None:
    """A training store whose reserve's switch time is past its simulation clock."""
    secrets = PassphraseFileSecretStore(passphrase_file)
    with AdministrationServer.open(home, secrets) as server:
        with server.store.transaction() as conn:
            server.store.set_meta(conn, "kind", "training")
            server.store.set_meta(conn, "sim_now", iso(T0))
        server.reissue(ReissueRequest(ADDRESS, None), confirmed=True)
        server.reissue(ReissueRequest(None, 30), confirmed=True)
        with server.store.transaction() as conn:
            server.store.set_meta(conn, "sim_now", iso(T0 + timedelta(days=31)))
        assert server.status(T0 + timedelta(days=31)).main is not None


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of a folder (to prove that nothing changed)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files_under(folder)
    }


@dataclass(frozen=True)
class Shape:
    """What a store holds, without ids, hashes or times: the same before and after a
    crash exactly when no half record exists."""

    states: tuple[str, ...]
    audit: tuple[str, ...]
    observed: int


@dataclass(frozen=True)
class Verified:
    shape: Shape
    main_sha256: str
    rows: int


_opened: dict[tuple[bytes, bytes], PrivateKeyTypes] = {}


def _decrypt(blob: bytes, passphrase: bytes) -> PrivateKeyTypes:
    """decrypt_private_key, remembered per blob: copies of one store hold the same blobs,
    and each opening costs a deliberate key derivation."""
    found = _opened.get((blob, passphrase))
    if found is None:
        found = _opened[(blob, passphrase)] = crypto.decrypt_private_key(blob, passphrase)
    return found


def verify_store(home: Path, passphrase: bytes) -> Verified:
    """Open the store (taking the lock: a dead holder's lock must not block) and check it.

    Asserts: the database is intact; every record has a certificate and a private key
    that the passphrase opens and that belongs to it; the stored states agree with
    ``effective_state`` (once the switches not yet observed are applied); each record
    has exactly one creation entry in the audit log and each observed switch one
    ``switch-observed`` entry; the main certificate's key signs what its certificate
    verifies.
    """
    with Store.open(home, writable=True, create=False) as store:
        conn = store.connection
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = store.list_certificates()
        keys: dict[int, PrivateKeyTypes] = {}
        certs: dict[int, x509.Certificate] = {}
        for row in rows:
            assert row.cert_der and row.key_enc, f"record {row.id} is incomplete"
            cert = x509.load_der_x509_certificate(row.cert_der)
            assert cert.fingerprint(hashes.SHA256()).hex() == row.sha256
            key = _decrypt(row.key_enc, passphrase)
            assert crypto.keys_match(cert, key), f"record {row.id}: key does not match"
            keys[row.id], certs[row.id] = key, cert
        at = AdministrationServer(store, MemorySecretStore()).now()
        eff = state_of(rows, at)
        stored = {r.id: r.state for r in rows}
        assert sum(s == "main" for s in stored.values()) <= 1, stored
        assert sum(s == "pending" for s in stored.values()) <= 1, stored
        observed = sorted(r[0] for r in conn.execute("SELECT reserve_id FROM observed_switches"))
        projected = dict(stored)
        for sw in eff.switches:
            if stored[sw.reserve_id] == "pending":
                assert sw.reserve_id not in observed
                projected[sw.reserve_id] = "main"
                if sw.previous_id is not None:
                    projected[sw.previous_id] = "retired"
            else:
                assert sw.reserve_id in observed, (sw, observed)
        expected: dict[int, str] = {}
        expected.update({i: "retired" for i in eff.retired_ids})
        expected.update({i: "cancelled" for i in eff.cancelled_ids})
        if eff.main_id is not None:
            expected[eff.main_id] = "main"
        if eff.reserve_id is not None:
            expected[eff.reserve_id] = "pending"
        assert projected == expected, (stored, projected, expected)
        entries = store.audit_entries()
        created = [e for e in entries if e.action in ("reissue", "import")]
        assert sorted(int(str(e.detail["certificate_id"])) for e in created) == sorted(stored)
        by_id = {r.id: r for r in rows}
        for e in created:
            assert e.detail["sha256"] == by_id[int(str(e.detail["certificate_id"]))].sha256
        switched = sorted(int(str(e.detail["reserve_id"])) for e in entries
                          if e.action == "switch-observed")
        assert switched == observed, (switched, observed)
        assert eff.main_id is not None, "the main certificate is gone"
        main_key, main_cert = keys[eff.main_id], certs[eff.main_id]
        assert isinstance(main_key, rsa.RSAPrivateKey)
        challenge = b"hardening challenge"
        signature = main_key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())
        public = main_cert.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
        shape = Shape(
            states=tuple(stored[i] for i in sorted(stored)),
            audit=tuple(e.action for e in entries),
            observed=len(observed),
        )
        return Verified(shape, by_id[eff.main_id].sha256, len(rows))
