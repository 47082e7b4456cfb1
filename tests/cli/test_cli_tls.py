"""`kscert serve` and `kscert check` end to end, against the real `openssl` (DESIGN §9).

Every server listens on 127.0.0.1, on a port the OS just handed out; every wait is
bounded; every subprocess is stopped in a ``finally``. The store's clock in the
serve tests is a training store's simulation clock (meta ``sim_now``), which the
test moves while ``kscert serve`` runs, to pass the switch time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clikit import write_passfile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tlskit import (
    WAIT,
    client_context,
    free_port,
    raw_server,
    require_openssl,
    s_server,
    serve_cmd,
    serving,
    wait_until,
    write_pair,
)

from kscert_gui.model.clock import FixedClock, iso, parse_instant
from kscert_gui.services import demo
from kscert_gui.services.secrets import PassphraseFileSecretStore
from kscert_gui.services.store import Store

pytestmark = pytest.mark.integration

P12_PASSWORD = "export password for tests"
PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
SIM_START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _openssl() -> None:
    require_openssl()


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    return write_passfile(tmp_path / "store.pass", b"a store passphrase for tls tests")


# --- helpers ------------------------------------------------------------------------------


def kscert(home: Path, passfile: Path, *args: str, stdin: str = "",
           check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "kscert_gui.cli", "--home", str(home),
         "--passphrase-file", str(passfile), *args],
        input=stdin, capture_output=True, text=True, timeout=120,
    )
    assert "Traceback" not in proc.stderr
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def sha256_der(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def exported_sha(home: Path, passfile: Path, tmp: Path, which: str = "--main") -> str:
    out = tmp / f"export{which}.pem"
    out.unlink(missing_ok=True)
    kscert(home, passfile, "export", which, "--format", "pem", "--out", str(out))
    return sha256_der(x509.load_pem_x509_certificates(out.read_bytes())[0])


def s_client_chain(port: int) -> list[str]:
    """SHA-256 of each certificate `openssl s_client -showcerts` shows (leaf first)."""
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
    )
    return [
        sha256_der(x509.load_pem_x509_certificate(block))
        for block in PEM_RE.findall(proc.stdout)
    ]


def s_client_leaf(port: int) -> str | None:
    chain = s_client_chain(port)
    return chain[0] if chain else None


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=WAIT)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
    except ConnectionRefusedError:
        return True
    return False


def set_sim_now(home: Path, at: datetime) -> None:
    with Store.open(home, writable=True, create=False) as store, store.transaction() as conn:
        store.set_meta(conn, "sim_now", iso(at))


def exported_pair(home: Path, passfile: Path, tmp: Path, which: str) -> tuple[Path, Path]:
    p12 = tmp / f"{which.strip('-')}.p12"
    kscert(home, passfile, "export", which, "--with-key", "--format", "p12", "--out", str(p12),
           stdin=P12_PASSWORD + "\n")
    key, cert, _chain = pkcs12.load_key_and_certificates(p12.read_bytes(),
                                                         P12_PASSWORD.encode())
    assert isinstance(key, rsa.RSAPrivateKey) and cert is not None
    return write_pair(tmp, which.strip("-"), key, [cert])


def check(home: Path, passfile: Path, *args: str) -> tuple[int, dict[str, object], str]:
    proc = kscert(home, passfile, "check", *args, "--json", check=False)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def make_chain(tmp: Path) -> tuple[Path, Path, Path, list[x509.Certificate]]:
    """Root CA → intermediate → leaf for 127.0.0.1, built now; files for openssl s_server."""
    now = datetime.now(UTC).replace(microsecond=0)

    def build(subject: str, issuer: x509.Name | None, signer: rsa.RSAPrivateKey | None,
              ca: bool) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = rsa.generate_private_key(65537, 2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("mdm.chain.test")]), critical=False
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
        return key, builder.sign(signer or key, hashes.SHA256())

    root_key, root = build("Test Root CA", None, None, True)
    mid_key, mid = build("Test Intermediate CA", root.subject, root_key, True)
    leaf_key, leaf = build("mdm.chain.test", mid.subject, mid_key, False)
    cert_path, key_path = write_pair(tmp, "leaf", leaf_key, [leaf])
    chain_path = tmp / "chain.pem"
    chain_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM)
                                    for c in (mid, root)))
    return cert_path, key_path, chain_path, [leaf, mid, root]


# --- serve --------------------------------------------------------------------------------


def test_serve_switches_at_the_switch_time_and_gateway_waits_for_reconnect(
    tmp_path: Path, passfile: Path
) -> None:
    home = tmp_path / "store"
    demo.create_demo_store(home, PassphraseFileSecretStore(passfile), FixedClock(SIM_START),
                           pin_clock=True)
    server_port, gw_port = free_port(), free_port()
    with Store.open(home, writable=True, create=False) as store, store.transaction() as conn:
        conn.execute("UPDATE distribution_points SET mobile_port = ? WHERE gateway = 1",
                     (gw_port,))
    old_main = exported_sha(home, passfile, tmp_path)
    rc = kscert(home, passfile, "reissue", "--after-days", "30", "--yes", "--json")
    reserve = json.loads(rc.stdout)["status"]["reserve"]
    switch_at = parse_instant(reserve["switch_at"])
    new_main = exported_sha(home, passfile, tmp_path, "--reserve")
    assert new_main == reserve["sha256"] != old_main

    log = tmp_path / "serve.log"
    with serving(serve_cmd(home, passfile, server_port), log) as proc:
        assert s_client_leaf(server_port) == old_main
        assert s_client_leaf(gw_port) == old_main
        code, data, _err = check(home, passfile, f"127.0.0.1:{server_port}")
        assert (code, data["matches"], data["error"]) == (0, "main", None)

        # A TLS session opened before the switch must survive it.
        ctx = client_context()
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", server_port), WAIT)) as early:
            early.settimeout(0.5)
            set_sim_now(home, switch_at - timedelta(seconds=1))
            time.sleep(1.5)  # three polls: still before the switch
            assert s_client_leaf(server_port) == old_main

            set_sim_now(home, switch_at + timedelta(seconds=1))
            wait_until(lambda: s_client_leaf(server_port) == new_main, "new main served")
            early.sendall(b"after the switch")
            with pytest.raises(TimeoutError):
                early.recv(1)  # no EOF: the session is still open

        assert exported_sha(home, passfile, tmp_path) == new_main
        # 14.2: the gateway keeps the previous certificate until it is reconnected.
        time.sleep(1.5)
        assert s_client_leaf(gw_port) == old_main
        code, data, _err = check(home, passfile, f"127.0.0.1:{gw_port}")
        assert (code, data["matches"]) == (0, None)
        kscert(home, passfile, "gateways", "reconnect", demo.GATEWAY_HOST)
        wait_until(lambda: s_client_leaf(gw_port) == new_main, "gateway serves new main")

        assert stop(proc, signal.SIGTERM) == 0
    text = log.read_text()
    assert "Stopped." in text
    assert "Switch time reached" in text or f"SHA-256 {new_main}" in text
    assert refused(server_port) and refused(gw_port)


def test_serve_real_store_and_sigint(tmp_path: Path, passfile: Path) -> None:
    home = tmp_path / "store"
    kscert(home, passfile, "reissue", "--address", "localhost", "--immediately", "--yes")
    port = free_port()
    log = tmp_path / "serve.log"
    with serving(serve_cmd(home, passfile, port), log) as proc:
        assert s_client_chain(port) == [exported_sha(home, passfile, tmp_path)]
        # The store stays writable for other commands while it is served.
        kscert(home, passfile, "reissue", "--after-days", "30", "--yes")
        assert stop(proc, signal.SIGINT) == 0
    assert "Stopped." in log.read_text()
    assert refused(port)


def test_serve_refusals(tmp_path: Path, passfile: Path) -> None:
    home = tmp_path / "store"
    proc = kscert(home, passfile, "serve", check=False)
    assert proc.returncode == 1 and "no store" in proc.stderr.lower()
    for bad in ("0", "65536", "http"):
        proc = kscert(home, passfile, "serve", "--server-port", bad, check=False)
        assert proc.returncode == 2, bad
    kscert(home, passfile, "reissue", "--address", "localhost", "--immediately", "--yes")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = kscert(home, passfile, "serve", "--server-port", str(port), check=False)
    assert proc.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in proc.stderr


# --- check --------------------------------------------------------------------------------


def test_check_reports_the_chain_openssl_serves(tmp_path: Path, passfile: Path) -> None:
    cert, key, chain, built = make_chain(tmp_path)
    with s_server(tmp_path, cert, key, "-cert_chain", str(chain)) as port:
        expected = s_client_chain(port)
        code, data, err = check(tmp_path / "no-store", passfile, f"127.0.0.1:{port}",
                                "--servername", "mdm.chain.test")
        text = kscert(tmp_path / "no-store", passfile, "check", f"127.0.0.1:{port}").stdout
    assert expected == [sha256_der(c) for c in built]
    assert code == 0, err
    assert set(data) == {"host", "port", "protocol", "cipher", "chain", "matches", "error",
                         "warnings"}
    assert data["warnings"] == []
    assert (data["host"], data["port"], data["error"], data["matches"]) == (
        "127.0.0.1", port, None, None)
    assert data["protocol"] == "TLSv1.3" and data["cipher"]
    chain_json = data["chain"]
    assert isinstance(chain_json, list)
    assert [c["sha256"] for c in chain_json] == expected
    assert chain_json[0]["subject"] == "CN=mdm.chain.test"
    assert chain_json[0]["san"] == ["mdm.chain.test"]
    assert chain_json[1]["subject"] == "CN=Test Intermediate CA"
    assert parse_instant(chain_json[0]["not_after"]) == built[0].not_valid_after_utc
    assert set(chain_json[0]) == {"subject", "issuer", "san", "not_before", "not_after",
                                  "sha256", "key", "signature"}
    assert "Certificate 3 of 3" in text and "not compared" in text


def test_check_matches_main_reserve_or_neither(tmp_path: Path, passfile: Path) -> None:
    home = tmp_path / "store"
    kscert(home, passfile, "reissue", "--address", "localhost", "--immediately", "--yes")
    kscert(home, passfile, "reissue", "--after-days", "30", "--yes")
    for which, verdict in (("--main", "main"), ("--reserve", "reserve")):
        cert, key = exported_pair(home, passfile, tmp_path, which)
        with s_server(tmp_path, cert, key) as port:
            code, data, _err = check(home, passfile, f"127.0.0.1:{port}")
            text = kscert(home, passfile, "check", f"127.0.0.1:{port}").stdout
        assert (code, data["matches"]) == (0, verdict)
        assert f"the store's {verdict} certificate" in text
    cert, key, _chain, _built = make_chain(tmp_path)
    with s_server(tmp_path, cert, key) as port:
        code, data, _err = check(home, passfile, f"127.0.0.1:{port}")
        text = kscert(home, passfile, "check", f"127.0.0.1:{port}").stdout
    assert (code, data["matches"], data["error"]) == (0, None, None)
    assert "MISMATCH" in text


def _say_garbage(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(b"220 mail.example.test ESMTP ready\r\n" * 8)


@pytest.mark.parametrize(
    ("behaviour", "prefix"),
    [
        (lambda conn: None, "timeout:"),
        (lambda conn: conn.close(), "connection closed:"),
        (_say_garbage, "not TLS:"),
    ],
    ids=["silent", "closes", "garbage"],
)
def test_check_failure_reasons(tmp_path: Path, passfile: Path,
                               behaviour: Callable[[socket.socket], None], prefix: str) -> None:
    with raw_server(behaviour) as port:
        start = time.monotonic()
        code, data, err = check(tmp_path / "no-store", passfile, f"127.0.0.1:{port}",
                                "--timeout", "1")
    assert time.monotonic() - start < WAIT
    assert code == 1
    assert isinstance(data["error"], str) and data["error"].startswith(prefix), data
    assert (data["protocol"], data["cipher"], data["chain"], data["matches"],
            data["warnings"]) == (None, None, [], None, [])
    assert data["error"] in err


def test_check_closed_port(tmp_path: Path, passfile: Path) -> None:
    port = free_port()
    code, data, _err = check(tmp_path / "no-store", passfile, f"127.0.0.1:{port}")
    assert code == 1
    assert data["error"] == f"connection refused: nothing listens on 127.0.0.1:{port}"


@pytest.mark.parametrize(
    "endpoint", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "::1:443"]
)
def test_check_usage_errors(tmp_path: Path, passfile: Path, endpoint: str) -> None:
    proc = kscert(tmp_path / "no-store", passfile, "check", endpoint, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("kscert: error:")
