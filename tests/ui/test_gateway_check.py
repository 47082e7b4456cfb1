"""**Check** on a connection gateway from Properties → Distribution points (DESIGN §7, §8).

The endpoints are a real ``kscert serve`` listener (services.tls.TlsServer) on
127.0.0.1, serving the test store read-only from a thread that is stopped in a
``finally``; the gateway's port for mobile devices is a free loopback port. The
person confirms the address in the Check window (the console knows the host
name, not where it listens), so the tests type 127.0.0.1 there.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot
from uikit import Env, ModalDriver, click, key, make_env, open_window, wait_idle

from kscert_gui.services import tls
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import ids, messages
from kscert_gui.ui.dialogs.check import CheckDialog
from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.properties.distribution_points import DistributionPointsPage

GATEWAY = "gw-dmz-01"
PLAIN = "dp-office-01"
WAIT_MS = 20_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(env: Env) -> Iterator[tls.TlsServer]:
    """``kscert serve`` on the store (read-only handle, loopback only)."""
    reader = AdministrationServer.open(env.home, env.secrets, writable=False, clock=env.clock)
    srv = tls.TlsServer(reader.endpoints, server_port=free_port(), clock=env.clock,
                        say=lambda _l: None)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    try:
        srv.start()
        thread.start()
        yield srv
    finally:
        srv.stop()
        if thread.is_alive():
            thread.join(timeout=20)
        srv.close()
        reader.close()


def gateway_env(tmp_path: Path, *, version: str) -> tuple[Env, int, str]:
    """A gateway connected with the first certificate, a plain distribution point, then an
    Immediately reissue under server ``version``. Returns the env, the gateway's port for
    mobile devices and the SHA-256 of the certificate it was connected with.
    """
    env = make_env(tmp_path)
    port = free_port()
    with env.server() as server:
        server.fleet.add_device(GATEWAY, "DMZ", "Linux", create_group=True)
        server.fleet.add_device(PLAIN, "DMZ", "Windows")
        first = server.points.add_gateway(GATEWAY, "DMZ", mobile_port=port)
        server.points.add_distribution_point(PLAIN, "DMZ")
        server.points.set_server_version(version)
        server.reissue(ReissueRequest(None, None), confirmed=True)
    assert first.sha256 is not None
    return env, port, first.sha256


def open_points(window: MainWindow) -> DistributionPointsPage:
    props = window.open_properties()
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    page = props.pages.currentWidget()
    assert isinstance(page, DistributionPointsPage)
    return page


def check_from(
    qtbot: QtBot, open_check: Callable[[], None], host: str, port: int
) -> dict[str, object]:
    """Open the Check window with ``open_check``, confirm it is aimed at ``host:port``,
    check 127.0.0.1 on that port, and return what the window showed.
    """
    seen: dict[str, object] = {}

    def look(dialog: CheckDialog) -> None:
        seen["title"] = dialog.windowTitle()
        assert (dialog.host.text(), dialog.port.value()) == (host, port)
        assert dialog.task is None  # nothing is contacted before the person says so
        dialog.host.setText("127.0.0.1")
        click(dialog.check_button)
        assert dialog.task is not None
        if dialog.task.running:
            with qtbot.waitSignal(dialog.task.sig_finished, timeout=WAIT_MS, raising=True):
                pass
        seen["verdict"] = dialog.verdict.text()
        seen["severity"] = dialog.verdict.property("severity")
        seen["rows"] = dialog.chain.rowCount()
        item = dialog.chain.item(0, 3)
        seen["sha256"] = item.text() if item is not None else None
        report = dialog.result_value()
        seen["matches"] = report.matches if report is not None else None
        key(dialog, Qt.Key.Key_Escape)

    driver = ModalDriver(CheckDialog, look)
    open_check()
    driver.check()
    return seen


def from_context_menu(qtbot: QtBot, page: DistributionPointsPage, host: str,
                      label: str) -> Callable[[], None]:
    """Opens the host's context menu and triggers ``label`` (returns when it has run)."""

    def open_check() -> None:
        done: list[bool] = []
        row = [p.host for p in page.points].index(host)
        item = page.table.item(row, 0)
        assert item is not None
        pos = page.table.visualItemRect(item).center()

        def pick() -> None:
            menu = QApplication.activePopupWidget()
            if not isinstance(menu, QMenu):
                QTimer.singleShot(10, pick)
                return
            action = next(a for a in menu.actions() if a.text().replace("&", "") == label)
            assert action.isEnabled()
            menu.close()
            try:
                action.trigger()
            finally:
                done.append(True)

        QTimer.singleShot(0, pick)
        page.table.customContextMenuRequested.emit(pos)
        qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)

    return open_check


def held_phrase(host: str) -> str:
    return f"the certificate connection gateway {host} holds"


def test_check_is_offered_for_connection_gateways_only(qtbot: QtBot, tmp_path: Path) -> None:
    env, _port, _first = gateway_env(tmp_path, version="14.2")
    window = open_window(qtbot, env)
    page = open_points(window)
    button = page.findChild(QWidget, ids.BUTTON_CHECK_GATEWAY)
    assert button is page.check_button
    assert page.check_button.accessibleName() == "Check the connection gateway"
    assert page.check_button.text().replace("&", "") == "Check"
    assert not page.check_button.isEnabled()  # nothing selected
    labels = [a.text().replace("&", "") for a in page.context_menu_actions()]
    assert labels == ["Properties", "Check", "Reconnect", "Remove"]

    page.select_host(PLAIN)
    assert not page.check_button.isEnabled() and not page.action_check.isEnabled()
    page.check()  # nothing to check on a plain distribution point: no window opens
    page.select_host(GATEWAY)
    assert page.check_button.isEnabled() and page.action_check.isEnabled()


def test_check_stays_available_on_a_read_only_store(qtbot: QtBot, tmp_path: Path) -> None:
    env, _port, _first = gateway_env(tmp_path, version="14.2")
    holder = env.server()  # another process holds the store: the console only reads
    try:
        window = open_window(qtbot, env)
        assert window.console.read_only
        page = open_points(window)
        page.select_host(GATEWAY)
        assert not page.reconnect_button.isEnabled() and not page.add_button.isEnabled()
        assert page.check_button.isEnabled() and page.action_check.isEnabled()
    finally:
        holder.close()


def test_check_on_a_stale_gateway_reports_mismatch_until_reconnected(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, port, first = gateway_env(tmp_path, version="14.2")
    window = open_window(qtbot, env)
    main = window.console.server.status().main
    assert main is not None and main.info.sha256 != first
    page = open_points(window)
    page.select_host(GATEWAY)
    assert page.selected_point() is not None and page.selected_point().stale  # type: ignore[union-attr]

    with serving(env) as srv:
        # 14.2: the gateway still serves the certificate it was connected with.
        seen = check_from(qtbot, lambda: click(page.check_button), GATEWAY, port)
        assert seen["title"] == f"Check connection gateway {GATEWAY}"
        assert seen["verdict"] == (
            f"Mismatch: the endpoint serves {held_phrase(GATEWAY)}, which is not the main "
            "certificate: reconnect the gateway."
        )
        assert (seen["severity"], seen["rows"], seen["sha256"], seen["matches"]) == (
            "warning", 1, first, None)

        # Reconnect (remove + add); the running endpoint follows the store.
        monkeypatch.setattr(messages, "confirm", lambda *_a: True)
        monkeypatch.setattr(messages, "show_info", lambda *_a: None)
        click(page.reconnect_button)
        wait_idle(qtbot)
        assert not page.reconnect_button.isEnabled() and page.check_button.isEnabled()
        qtbot.waitUntil(
            lambda: srv.serving().get(f"gateway:{GATEWAY}") == main.info.sha256,
            timeout=WAIT_MS,
        )

        seen = check_from(qtbot, from_context_menu(qtbot, page, GATEWAY, "Check"),
                          GATEWAY, port)
    assert seen["verdict"] == (
        f"The endpoint serves {held_phrase(GATEWAY)}, the main certificate.")
    assert (seen["severity"], seen["rows"], seen["sha256"], seen["matches"]) == (
        "ok", 1, main.info.sha256, "main")


def test_check_on_a_gateway_of_a_later_version_reports_match(
    qtbot: QtBot, tmp_path: Path
) -> None:
    env, port, first = gateway_env(tmp_path, version="15")
    window = open_window(qtbot, env)
    main = window.console.server.status().main
    assert main is not None and main.info.sha256 != first
    page = open_points(window)
    page.select_host(GATEWAY)
    assert not page.reconnect_button.isEnabled()  # delivery is automatic after 14.2

    with serving(env):
        seen = check_from(qtbot, lambda: click(page.check_button), GATEWAY, port)
    assert seen["verdict"] == (
        f"The endpoint serves {held_phrase(GATEWAY)}, the main certificate.")
    assert (seen["severity"], seen["sha256"], seen["matches"]) == ("ok", main.info.sha256, "main")


def test_check_on_a_gateway_that_serves_another_certificate(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """The address typed leads to an endpoint serving something the gateway does not hold
    (here the Administration Server's own port): a plain mismatch.
    """
    env, port, first = gateway_env(tmp_path, version="14.2")
    window = open_window(qtbot, env)
    page = open_points(window)
    page.select_host(GATEWAY)
    with serving(env) as srv:
        server_port = srv.addresses()[tls.SERVER_KEY][1]
        seen: dict[str, object] = {}

        def look(dialog: CheckDialog) -> None:
            assert dialog.port.value() == port
            dialog.host.setText("127.0.0.1")
            dialog.port.setValue(server_port)
            click(dialog.check_button)
            assert dialog.task is not None
            if dialog.task.running:
                with qtbot.waitSignal(dialog.task.sig_finished, timeout=WAIT_MS, raising=True):
                    pass
            seen["verdict"] = dialog.verdict.text()
            seen["severity"] = dialog.verdict.property("severity")
            item = dialog.chain.item(0, 3)
            seen["sha256"] = item.text() if item is not None else None
            key(dialog, Qt.Key.Key_Escape)

        driver = ModalDriver(CheckDialog, look)
        click(page.check_button)
        driver.check()
    assert seen["verdict"] == f"Mismatch: the endpoint does not serve {held_phrase(GATEWAY)}."
    assert seen["severity"] == "warning" and seen["sha256"] != first
