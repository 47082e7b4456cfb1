"""The Check window (TLS endpoint) and the Check button of the Certificates page.

The endpoint is a real TLS listener (services.tls.TlsServer) on 127.0.0.1 serving
the test store read-only, in a thread that is stopped in a ``finally``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from uikit import Env, ModalDriver, click, key, make_env, open_certificates, open_window

from kscert_gui.services import tls
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import ids
from kscert_gui.ui.console import Console
from kscert_gui.ui.dialogs.check import CheckDialog, check_gateway

WAIT_MS = 20_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def endpoint(env: Env) -> Iterator[int]:
    """The store's endpoints, served from a read-only handle; yields the server port."""
    reader = AdministrationServer.open(env.home, env.secrets, writable=False, clock=env.clock)
    srv = tls.TlsServer(reader.endpoints, server_port=free_port(), clock=env.clock,
                        say=lambda _l: None)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    try:
        srv.start()
        thread.start()
        yield srv.addresses()[tls.SERVER_KEY][1]
    finally:
        srv.stop()
        if thread.is_alive():
            thread.join(timeout=20)
        srv.close()
        reader.close()


def run(qtbot: QtBot, dialog: CheckDialog) -> None:
    with qtbot.waitSignal(dialog.check_button.clicked, timeout=WAIT_MS):
        click(dialog.check_button)
    assert dialog.task is not None
    if dialog.task.running:
        with qtbot.waitSignal(dialog.task.sig_finished, timeout=WAIT_MS, raising=True):
            pass


def test_check_button_shows_served_chain_and_main_verdict(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    window = open_window(qtbot, env)
    _props, page = open_certificates(qtbot, window)
    assert page.check_button.objectName() == ids.BUTTON_CHECK_ENDPOINT
    main_sha = page.sha256.toolTip()
    seen: dict[str, object] = {}

    with endpoint(env) as port:

        def look(dialog: CheckDialog) -> None:
            assert dialog.host.text() == "mdm.example.com"  # the connection address
            assert dialog.port.value() == 13292
            dialog.host.setText("127.0.0.1")
            dialog.port.setValue(port)
            run(qtbot, dialog)
            seen["verdict"] = dialog.verdict.text()
            seen["severity"] = dialog.verdict.property("severity")
            seen["rows"] = dialog.chain.rowCount()
            item = dialog.chain.item(0, 3)
            seen["sha"] = item.text() if item is not None else None
            seen["session"] = dialog.session.text()
            report = dialog.result_value()
            seen["matches"] = report.matches if report else None
            key(dialog, Qt.Key.Key_Escape)

        driver = ModalDriver(CheckDialog, look)
        click(page.check_button)
        driver.check()

    assert seen["verdict"] == (
        "The endpoint serves the main certificate of the Administration Server."
    )
    assert (seen["severity"], seen["rows"], seen["sha"], seen["matches"]) == (
        "ok", 1, main_sha, "main")
    assert str(seen["session"]).startswith("TLSv1.3, ")


def test_gateway_check_reports_mismatch_and_failures(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    with AdministrationServer.open(env.home, env.secrets, clock=env.clock) as server:
        old = server.certificate_row("main")
        reserve = server.reissue(ReissueRequest(None, 30), confirmed=True)
        gw_port = free_port()
        with server.store.transaction() as conn:  # a 14.2 gateway holding the current main
            gid = conn.execute("INSERT INTO groups(name) VALUES ('Gateways')").lastrowid
            dev = conn.execute(
                "INSERT INTO devices(name, group_id, platform) VALUES ('gw-1', ?, 'Linux')",
                (gid,),
            ).lastrowid
            conn.execute(
                "INSERT INTO distribution_points(device_id, scope_group_id, gateway, "
                "mobile_port, held_cert_id) VALUES (?, ?, 1, ?, ?)",
                (dev, gid, gw_port, old.id),
            )
    console = Console(AdministrationServer.open(env.home, env.secrets, writable=False,
                                                clock=env.clock))
    try:
        with endpoint(env) as port:
            # The gateway is expected to hold the reserve; the endpoint serves the main one.
            dialog = CheckDialog(console, "127.0.0.1", port, title="Check gateway",
                                 expected_sha256=reserve.info.sha256,
                                 expected_label="the certificate gw-1 holds")
            qtbot.addWidget(dialog)
            run(qtbot, dialog)
            assert dialog.verdict.text() == (
                "Mismatch: the endpoint does not serve the certificate gw-1 holds."
            )
            assert dialog.verdict.property("severity") == "warning"
            assert dialog.chain.rowCount() == 1

            stale = CheckDialog(console, "127.0.0.1", gw_port, expected_sha256=old.sha256,
                                expected_label="the certificate gw-1 holds")
            qtbot.addWidget(stale)
            env.clock.at = env.clock.at + timedelta(days=31)  # the reserve is main now;
            # the gateway (14.2) still serves the certificate it holds.
            run(qtbot, stale)
            assert "not the main certificate: reconnect the gateway" in stale.verdict.text()

        closed = CheckDialog(console, "127.0.0.1", free_port())
        qtbot.addWidget(closed)
        run(qtbot, closed)
        assert closed.verdict.text().startswith(
            "No TLS certificate was served: connection refused")
        assert closed.verdict.property("severity") == "error"
        assert closed.chain.rowCount() == 0
        assert closed.check_button.isEnabled()

        empty = CheckDialog(console, "", 13292)
        qtbot.addWidget(empty)
        click(empty.check_button)
        assert empty.task is None and empty.verdict.text() == "Enter the address to check."
    finally:
        console.close()


def test_check_gateway_entry_point_opens_the_window(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    window = open_window(qtbot, env)
    seen: list[tuple[str, str, int]] = []

    def look(dialog: CheckDialog) -> None:
        seen.append((dialog.windowTitle(), dialog.host.text(), dialog.port.value()))
        assert dialog.task is None  # nothing is contacted before the person says so
        key(dialog, Qt.Key.Key_Escape)

    driver = ModalDriver(CheckDialog, look)
    assert check_gateway(window, window.console, "gw-dmz-01", 14292, None) is None
    driver.check()
    assert seen == [("Check connection gateway gw-dmz-01", "gw-dmz-01", 14292)]


def test_the_check_window_shows_the_probe_warnings(qtbot: QtBot, tmp_path: Path) -> None:
    # A main certificate that expired long ago (issued 400 days before the pinned now):
    # the server still serves it, and the window must say it is expired, as kscert check
    # does, not only whether it is the main certificate.
    env = make_env(tmp_path, main_age_days=800)
    with endpoint(env) as port, AdministrationServer.open(
            env.home, env.secrets, writable=False, clock=env.clock) as server:
        dialog = CheckDialog(Console(server), "127.0.0.1", port)
        qtbot.addWidget(dialog)
        dialog.servername.setText("mdm.example.com")
        run(qtbot, dialog)
        report = dialog.result_value()
        assert report is not None and report.probe.chain
        assert any(w.code == "expired" for w in report.probe.warnings)
        assert "Warning:" in dialog.verdict.text()
        assert dialog.verdict.property("severity") in ("warning", "error")
