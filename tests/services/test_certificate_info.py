"""What the console shows of a stored certificate is kept beside its DER (schema 3,
``certificate_info``), so that the console starts without cryptography; older stores and
damaged records are read from the DER as before."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kscert_gui.model import crypto
from kscert_gui.model.certificate import certificate_info
from kscert_gui.model.certinfo import CertificateInfo
from kscert_gui.model.clock import FixedClock
from kscert_gui.services import store as store_module
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.store import Store
from kscert_gui.services.store.certificates import info_record, row_info
from kscert_gui.services.views import ReissueRequest

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_a_reissued_certificate_is_stored_with_its_display_record(tmp_path: Path) -> None:
    with AdministrationServer.open(tmp_path / "s", MemorySecretStore(),
                                   clock=FixedClock(AT)) as server:
        view = server.reissue(ReissueRequest("mdm.example.test", None), confirmed=True)
        (row,) = server.store.list_certificates()
        assert row.info is not None
        parsed = certificate_info(crypto.read_certificates(row.cert_der)[0])
        assert row_info(row) == (parsed, ())
        assert view.info == parsed and server.status().main.info == parsed  # type: ignore[union-attr]


def test_the_record_round_trips_and_a_bad_one_is_refused() -> None:
    issued = crypto.issue_certificate("mdm.example.test", AT)
    info = certificate_info(issued.certificate)
    assert CertificateInfo.from_record(info.to_record()) == info
    bad: object
    for bad in (None, [], {}, {**info.to_record(), "san": "x"},
                {**info.to_record(), "is_ca": "yes"}, {**info.to_record(), "not_after": "soon"}):
        with pytest.raises(ValueError):
            CertificateInfo.from_record(bad)


def _version_2_store_with_a_certificate(home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store as the previous version wrote it: no certificate_info table."""
    issued = crypto.issue_certificate("mdm.example.test", AT)
    info = certificate_info(issued.certificate)
    with monkeypatch.context() as m:
        m.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:2])
        with Store.open(home, writable=True) as store, store.transaction() as conn:
            store.insert_certificate(
                conn, source="issued", cert_der=crypto.export_certificate(issued.certificate,
                                                                          "der"),
                key_enc=b"sealed", sha256=info.sha256, not_before=info.not_before,
                not_after=info.not_after, address="mdm.example.test", created_at=AT,
                term_days=None, state="main", activated_at=AT)
    return info.sha256


def test_an_older_store_is_read_from_der_then_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "store"
    sha = _version_2_store_with_a_certificate(home, monkeypatch)
    clock = FixedClock(AT)
    # Read-only (never migrates): shown from the DER.
    with AdministrationServer.open(home, MemorySecretStore(), writable=False,
                                   clock=clock) as reader:
        (row,) = reader.store.list_certificates()
        assert row.info is None
        main = reader.status().main
        assert main is not None and main.info.sha256 == sha
    # Opened for changes: upgraded, each record given its display record.
    with AdministrationServer.open(home, MemorySecretStore(), clock=clock) as writer:
        (row,) = writer.store.list_certificates()
        assert row.info is not None
        info, chain = row_info(row)
        assert info.sha256 == sha and chain == ()
        assert row.info == info_record(info, ())
    # A copy of the version-2 store is kept, for the previous program (which refuses
    # schema 3): private, consistent, and with the certificate.
    copy = home / store_module.backup_name(2)
    assert copy.stat().st_mode & 0o777 == 0o600
    raw = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
        assert raw.execute("SELECT sha256 FROM certificates").fetchall() == [(sha,)]
    finally:
        raw.close()
    before = copy.read_bytes()
    with AdministrationServer.open(home, MemorySecretStore(), clock=clock):
        pass  # already upgraded: no new copy, the old one untouched
    assert copy.read_bytes() == before
    assert sorted(p.name for p in home.iterdir() if ".bak" in p.name) == [copy.name]


def test_a_damaged_display_record_falls_back_to_the_der(tmp_path: Path) -> None:
    home = tmp_path / "s"
    with AdministrationServer.open(home, MemorySecretStore(), clock=FixedClock(AT)) as server:
        view = server.reissue(ReissueRequest("mdm.example.test", None), confirmed=True)
    raw = sqlite3.connect(home / store_module.DB_NAME)
    with raw:
        raw.execute("UPDATE certificate_info SET info = '{\"certificate\": 1}'")
    raw.close()
    with AdministrationServer.open(home, MemorySecretStore(), writable=False,
                                   clock=FixedClock(AT)) as server:
        main = server.status().main
        assert main is not None and main.info == view.info
