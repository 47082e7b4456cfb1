"""**Reconnect** a connection gateway (DESIGN §7, the seed's 14.2 procedure in one action).

The facade removes the distribution point, adds it again with the same scope and
ticks Connection gateway with the same ports; the gateway then holds the main
certificate, which is shown to the person. Used by the Distribution points
section, host Properties and the Certificates page's stale-gateway notice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from kscert_gui.model import gateways as rules
from kscert_gui.services.views import DistributionPointView, ServerStatus
from kscert_gui.ui import ids, messages, tasks, text
from kscert_gui.ui.console import Console

TITLE = "Reconnect connection gateway"


def question(host: str) -> str:
    return (
        f"Reconnect the connection gateway {host}?\n\n"
        "It is removed as a distribution point and added again with the same scope, with "
        "the Connection gateway check box selected and the same port numbers. It then "
        "receives the current main mobile certificate."
    )


def held_text(view: DistributionPointView) -> str:
    """The certificate a gateway holds, in a few lines."""
    if not view.gateway:
        return "Not a connection gateway."
    if view.held is None:
        return "No mobile certificate (the server has none yet)."
    info = view.held.info
    verdict = "the main certificate" if view.matches_main else (
        "NOT the main certificate: reconnect the gateway")
    return (
        f"{info.subject}, valid to {text.instant(info.not_after)}\n"
        f"SHA-256: {info.sha256}\n"
        f"This is {verdict}."
    )


def delivered_text(view: DistributionPointView) -> str:
    return (
        f"The new mobile certificate is delivered to the connection gateway {view.host}.\n\n"
        f"{held_text(view)}\n\n"
        "To check it, run: openssl s_client -connect "
        f"{view.host}:{view.mobile_port} -showcerts"
    )


def reconnect(
    parent: QWidget,
    console: Console,
    host: str,
    on_done: Callable[[DistributionPointView], None],
) -> tasks.Task[DistributionPointView] | None:
    """Ask, reconnect off the GUI thread, then show the certificate the gateway now holds."""
    if not messages.confirm(parent, TITLE, question(host), False):
        return None

    def done(view: DistributionPointView) -> None:
        on_done(view)
        messages.show_info(parent, TITLE, delivered_text(view))

    points = console.server.points
    return tasks.run_in_background(parent, lambda: points.reconnect_gateway(host), done)


class StaleGatewayNotice(QWidget):
    """One line and a **Reconnect** button per gateway that serves an old certificate."""

    #: A gateway was reconnected (its new state).
    sig_reconnected = Signal(object)

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.setObjectName(ids.STALE_GATEWAY_NOTICE)
        self.setAccessibleName("Connection gateways that need a reconnect")
        self.task: tasks.Task[Any] | None = None
        self.buttons: dict[str, QPushButton] = {}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setColumnStretch(0, 1)
        self.hide()

    def show_status(self, status: ServerStatus) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.buttons = {}
        stale = [g for g in status.gateways if status.main is not None and not g.matches_main]
        for row, gw in enumerate(stale):
            label = QLabel(rules.stale_message(gw.host))
            label.setWordWrap(True)
            label.setStyleSheet(f"color: {text.ALERT_COLOR}")
            button = QPushButton("Reconnect")
            button.setObjectName(ids.BUTTON_RECONNECT_GATEWAY)
            button.setAccessibleName(f"Reconnect connection gateway {gw.host}")
            button.setAutoDefault(False)
            button.setEnabled(not self.console.read_only)
            button.clicked.connect(lambda _=False, host=gw.host: self.reconnect(host))
            self._grid.addWidget(label, row, 0)
            self._grid.addWidget(button, row, 1)
            self.buttons[gw.host] = button
        self.setVisible(bool(stale))

    def reconnect(self, host: str) -> None:
        self.task = reconnect(self, self.console, host, self.sig_reconnected.emit)
