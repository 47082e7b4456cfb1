"""Properties → **Distribution points**: the connection gateways and what each serves.

Read-only for now: adding, removing and reconnecting come with the gateway
issue (DESIGN §7).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.errors import KscertError
from kscert_gui.services.server import GatewayView, ServerStatus
from kscert_gui.ui import ids, text
from kscert_gui.ui.console import Console

HEADERS = (
    "Device",
    "Connection gateway",
    "Port for Network Agents",
    "Port for connecting mobile devices",
    "Mobile certificate held (SHA-256)",
    "Matches the main certificate",
)


class DistributionPointsPage(QWidget):
    sig_refreshed = Signal()

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.setObjectName(ids.PAGE_DISTRIBUTION_POINTS)
        self.setAccessibleName("Distribution points")
        title = QLabel("<b>Distribution points</b>")
        title.setTextFormat(Qt.TextFormat.RichText)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName(ids.GATEWAYS_TABLE)
        self.table.setAccessibleName("Distribution points")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.stale = QLabel()
        self.stale.setWordWrap(True)
        self.stale.setStyleSheet(f"color: {text.ALERT_COLOR}")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.stale)
        self.refresh()

    def refresh(self) -> None:
        try:
            status = self.console.status()
        except KscertError as err:
            self.caption.setText(str(err))
            return
        self.show_status(status)
        self.sig_refreshed.emit()

    def show_status(self, status: ServerStatus) -> None:
        gateways = status.gateways
        self.caption.setText(
            f"{len(gateways)} distribution point" + ("s" if len(gateways) != 1 else "")
            + " acting as connection gateway" + ("s" if len(gateways) != 1 else "") + "."
            if gateways else "No distribution point acts as a connection gateway."
        )
        self.table.setRowCount(len(gateways))
        for row, gw in enumerate(gateways):
            for col, value in enumerate(self._cells(gw)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if col == 5 and not gw.matches_main:
                    item.setForeground(QColor(text.ALERT_COLOR))
                self.table.setItem(row, col, item)
        stale = [g.host for g in gateways if not g.matches_main and status.main is not None]
        self.stale.setText(
            "\n".join(
                f"Connection gateway {host} still serves the previous mobile certificate — "
                "reconnect it." for host in stale
            )
        )
        self.stale.setVisible(bool(stale))

    @staticmethod
    def _cells(gw: GatewayView) -> tuple[str, ...]:
        return (
            gw.host,
            "Yes",
            str(gw.agent_port),
            str(gw.port),
            gw.sha256 or "(none)",
            "Yes" if gw.matches_main else "No",
        )
