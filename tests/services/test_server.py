"""The AdministrationServer facade: reissue, import, cancel, export, switches, secrets."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import keyring
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from kscert_gui import cli
from kscert_gui.model.clock import FixedClock
from kscert_gui.model.errors import (
    ConfirmationRequiredError,
    NotFoundError,
    RefusedError,
    SecretStoreError,
    StoreError,
)
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissueRequest

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def server(tmp_path: Path, clock: FixedClock) -> Any:
    srv = AdministrationServer.open(tmp_path / "store", MemorySecretStore(), clock=clock)
    yield srv
    srv.close()


def _add_mobile_devices(server: AdministrationServer, n: int, sync_hours: float | None = None,
                        last_sync: datetime = T0) -> None:
    with server.store.transaction() as conn:
        gid = conn.execute(
            "INSERT INTO groups(name, parent_id, sync_hours) VALUES ('Phones', NULL, ?)",
            (sync_hours,),
        ).lastrowid
        conn.executemany(
            "INSERT INTO devices(name, group_id, platform, last_sync) VALUES (?, ?, 'Android', ?)",
            [(f"phone-{i}", gid, last_sync.strftime("%Y-%m-%dT%H:%M:%SZ")) for i in range(n)],
        )


def test_switch_is_observed_and_audited_once(server: AdministrationServer,
                                             clock: FixedClock) -> None:
    first = server.reissue(ReissueRequest("mdm.example.test", None))
    reserve = server.reissue(ReissueRequest(None, 30))
    assert reserve.state == "pending"
    clock.advance(30 * DAY - timedelta(seconds=1))
    st = server.status()
    assert st.main is not None and st.main.id == first.id
    assert not [e for e in server.store.audit_entries() if e.action == "switch-observed"]
    clock.advance(timedelta(seconds=1))
    st = server.status()
    assert st.main is not None and st.main.id == reserve.id
    server.status()
    server.status()
    switches = [e for e in server.store.audit_entries() if e.action == "switch-observed"]
    assert len(switches) == 1
    row = server.store.get_certificate(reserve.id)
    assert row is not None and row.state == "main" and row.activated_at == T0 + 30 * DAY
    old = server.store.get_certificate(first.id)
    assert old is not None and old.state == "retired"


def test_what_if_status_records_nothing(server: AdministrationServer) -> None:
    server.reissue(ReissueRequest("mdm.example.test", None))
    server.reissue(ReissueRequest(None, 30))
    before = server.store.audit_entries()
    st = server.status(T0 + 40 * DAY)
    assert st.reserve is None and st.main is not None and st.main.source == "issued"
    assert server.store.audit_entries() == before


def test_every_action_is_in_the_audit_log(server: AdministrationServer) -> None:
    server.reissue(ReissueRequest("mdm.example.test", None))
    server.reissue(ReissueRequest(None, 45))
    server.cancel_reserve()
    actions = [e.action for e in server.store.audit_entries()]
    assert actions == ["reissue", "reissue", "cancel-reserve"]
    assert server.status().reserve is None


def test_cancel_without_reserve_is_a_clear_error(server: AdministrationServer) -> None:
    with pytest.raises(NotFoundError, match="no reserve"):
        server.cancel_reserve()


def test_replacing_a_pending_reserve_needs_confirmation(server: AdministrationServer) -> None:
    server.reissue(ReissueRequest("mdm.example.test", None))
    r1 = server.reissue(ReissueRequest(None, 60))
    with pytest.raises(ConfirmationRequiredError, match="already pending"):
        server.reissue(ReissueRequest(None, 30))
    assert server.status().reserve is not None
    r2 = server.reissue(ReissueRequest(None, 30), confirmed=True)
    st = server.status()
    assert st.reserve is not None and st.reserve.id == r2.id
    assert [h.id for h in st.history if h.state == "cancelled"] == [r1.id]


def test_immediately_with_devices_needs_confirmation(server: AdministrationServer) -> None:
    server.reissue(ReissueRequest("mdm.example.test", None))
    _add_mobile_devices(server, 3)
    main = server.status().main
    with pytest.raises(ConfirmationRequiredError, match="connection"):
        server.reissue(ReissueRequest(None, None))
    assert server.status().main == main
    server.reissue(ReissueRequest(None, None), confirmed=True)
    assert server.status().main != main


def test_term_not_above_sync_period_is_refused(server: AdministrationServer) -> None:
    server.reissue(ReissueRequest("mdm.example.test", None))
    _add_mobile_devices(server, 2, sync_hours=72)
    with pytest.raises(RefusedError, match="Phones"):
        server.reissue(ReissueRequest(None, 3))
    assert server.status().reserve is None
    server.reissue(ReissueRequest(None, 4))
    assert server.status().reserve is not None


def test_failure_inside_the_write_leaves_the_previous_state(
    server: AdministrationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.reissue(ReissueRequest("mdm.example.test", None))
    before = server.store.list_certificates()

    def boom(*_a: object, **_k: object) -> None:
        raise OSError("disk full (injected)")

    monkeypatch.setattr(server.store, "audit", boom)
    with pytest.raises(OSError, match="injected"):
        server.reissue(ReissueRequest(None, None))
    monkeypatch.undo()
    assert server.store.list_certificates() == before


def test_wrong_passphrase_never_encrypts_new_keys(tmp_path: Path, clock: FixedClock) -> None:
    good = MemorySecretStore()
    with AdministrationServer.open(tmp_path / "s", good, clock=clock) as srv:
        srv.reissue(ReissueRequest("mdm.example.test", None))
        store_id = srv.store.store_id
    bad = MemorySecretStore()
    bad.set_passphrase(store_id, b"not the passphrase")
    with AdministrationServer.open(tmp_path / "s", bad, clock=clock) as srv:
        with pytest.raises(SecretStoreError, match="does not open"):
            srv.reissue(ReissueRequest(None, 30))
        assert len(srv.store.list_certificates()) == 1
        assert not srv.verify_passphrase(b"not the passphrase")


def test_passphrase_is_checked_once_per_session(
    tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check runs on a worker; it must not re-open (and RSA-check) each new key."""
    from kscert_gui.model import crypto

    opened: list[bytes] = []
    real = crypto.passphrase_opens

    def counting(blob: bytes, passphrase: bytes) -> bool:
        opened.append(blob)
        return real(blob, passphrase)

    monkeypatch.setattr(crypto, "passphrase_opens", counting)
    secrets = MemorySecretStore()
    with AdministrationServer.open(tmp_path / "s", secrets, clock=clock) as srv:
        srv.reissue(ReissueRequest("mdm.example.test", None))
        srv.reissue(ReissueRequest(None, 30), confirmed=True)
        srv.reissue(ReissueRequest(None, 30), confirmed=True)
        assert opened == []  # each new key was sealed with the passphrase just checked
    with AdministrationServer.open(tmp_path / "s", secrets, clock=clock) as srv:
        srv.reissue(ReissueRequest(None, 30), confirmed=True)
        srv.reissue(ReissueRequest(None, 30), confirmed=True)
        assert len(opened) == 1


def test_missing_keyring_entry_is_a_clear_error(tmp_path: Path, clock: FixedClock) -> None:
    with AdministrationServer.open(tmp_path / "s", MemorySecretStore(), clock=clock) as srv:
        srv.reissue(ReissueRequest("mdm.example.test", None))
    with AdministrationServer.open(tmp_path / "s", MemorySecretStore(), clock=clock) as srv:
        with pytest.raises(SecretStoreError, match="holds no passphrase"):
            srv.export("main", "p12", password=b"pw")


def test_read_only_server_refuses_changes(tmp_path: Path, clock: FixedClock) -> None:
    with AdministrationServer.open(tmp_path / "s", MemorySecretStore(), clock=clock) as srv:
        srv.reissue(ReissueRequest("mdm.example.test", None))
    with AdministrationServer.open(tmp_path / "s", MemorySecretStore(), clock=clock,
                                   writable=False) as ro:
        assert ro.read_only
        assert ro.status().main is not None
        with pytest.raises(StoreError):
            ro.reissue(ReissueRequest(None, 30))


@pytest.mark.integration
@pytest.mark.parametrize("legacy", [False, True])
def test_pkcs12_export_opens_with_openssl(server: AdministrationServer, tmp_path: Path,
                                          legacy: bool) -> None:
    view = server.reissue(ReissueRequest("mdm.example.test", None))
    data = server.export("main", "p12", password=b"export pw", legacy=legacy)
    key, cert, _extra = pkcs12.load_key_and_certificates(data, b"export pw")
    assert cert is not None and key is not None
    assert cert.public_bytes(serialization.Encoding.DER) == server.export("main", "der")
    path = tmp_path / "out.p12"
    path.write_bytes(data)
    cmd = ["openssl", "pkcs12", "-in", str(path), "-passin", "pass:export pw", "-nokeys"]
    if legacy:
        cmd.insert(2, "-legacy")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    served = x509.load_pem_x509_certificate(out[out.index("-----BEGIN"):].encode())
    assert hashlib.sha256(served.public_bytes(serialization.Encoding.DER)).hexdigest() == (
        view.info.sha256
    )


# --- the CLI against a real Secret Service -------------------------------------------------


@pytest.mark.integration
def test_cli_keeps_the_store_passphrase_in_the_real_keyring(
    secret_service: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "store"
    monkeypatch.delenv("KSCERT_PASSPHRASE_FILE", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(["--home", str(home), "reissue", "--address", "mdm.example.test",
                     "--immediately"]) == 0
    assert cli.main(["--home", str(home), "reissue", "--after-days", "30", "--yes"]) == 0
    capsys.readouterr()
    assert cli.main(["--home", str(home), "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reserve"] is not None
    with AdministrationServer.open(home, MemorySecretStore(), writable=False) as srv:
        store_id = srv.store.store_id
    secret = keyring.get_password("kscert_gui", store_id)
    assert secret
    # The passphrase is in the keyring, never in the store directory.
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes()
    out = tmp_path / "main.p12"
    monkeypatch.setattr(sys, "stdin", io.StringIO("p12 password\n"))
    assert cli.main(["--home", str(home), "export", "--main", "--with-key", "--format", "p12",
                     "--out", str(out)]) == 0
    key, cert, _ = pkcs12.load_key_and_certificates(out.read_bytes(), b"p12 password")
    assert key is not None and cert is not None
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_passphrase_file_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    home = tmp_path / "store"
    missing = tmp_path / "missing.pass"
    rc = cli.main(["--home", str(home), "--passphrase-file", str(missing), "reissue",
                   "--address", "mdm.example.test", "--immediately"])
    err = capsys.readouterr().err
    assert rc == 1 and "missing.pass" in err and "Traceback" not in err
    loose = tmp_path / "loose.pass"
    loose.write_text("secret words\n")
    os.chmod(loose, 0o644)
    rc = cli.main(["--home", str(home), "--passphrase-file", str(loose), "reissue",
                   "--address", "mdm.example.test", "--immediately"])
    err = capsys.readouterr().err
    assert rc == 1 and "600" in err and "secret words" not in err
    # Nothing was stored: not a certificate, not even the empty store the command began.
    assert not home.exists()
