"""Properties → **Distribution points** (DESIGN §7).

The device list of distribution points with **Add** (the *Add distribution
point* window), remove (disables the host as a distribution point, after a
confirmation whose default is No), **Properties** (host Properties with the
*Connection gateway* section), **Check** for a connection gateway (the Check
window on its port for mobile devices: does it serve the certificate it holds,
and is that the main one?) and **Reconnect** for a gateway that serves a
certificate other than the main one. The host's context menu offers the same.
Changes and TLS probes run off the GUI thread; reads are a few rows and stay on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model import gateways as rules
from kscert_gui.services.views import DistributionPointView
from kscert_gui.ui import ids, messages, tasks, text
from kscert_gui.ui.console import Console
from kscert_gui.ui.status_feed import StatusFeed, StatusReading
from kscert_gui.ui.widgets.list_tools import ListTools

HEADERS = (
    "Device",
    "Connection gateway",
    rules.AGENT_PORT_LABEL,
    rules.MOBILE_PORT_LABEL,
    "Mobile certificate held (SHA-256)",
    "Matches the main certificate",
    "Distribution point scope",
)
HELD_COLUMN = 4
MATCH_COLUMN = 5
#: Hex digits of the held certificate's SHA-256 shown in the list (all of it in the tooltip),
#: so that the Matches column stays in view.
SHORT_SHA = 16
REMOVE_TITLE = "Remove distribution point"



def _two_lines(label: str) -> str:
    """A column title broken at its middle space, so that every column fits the page."""
    spaces = [i for i, ch in enumerate(label) if ch == " "]
    if len(label) < 12 or not spaces:
        return label
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return label[:cut] + "\n" + label[cut + 1:]

class DistributionPointsPage(QWidget):
    sig_refreshed = Signal()
    #: A distribution point was added, removed, changed or reconnected.
    sig_changed = Signal()

    def __init__(self, console: Console, feed: StatusFeed, parent: QWidget | None = None) -> (
        None
    ):
        """``feed``: the console's one snapshot feed; this page renders its points."""
        super().__init__(parent)
        self.console = console
        self.feed = feed
        self._select: str | None = None
        self.points: tuple[DistributionPointView, ...] = ()
        self.task: tasks.Task[Any] | None = None
        self.setObjectName(ids.PAGE_DISTRIBUTION_POINTS)
        self.setAccessibleName("Distribution points")
        title = QLabel("<b>Distribution points</b>")
        title.setTextFormat(Qt.TextFormat.RichText)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName(ids.GATEWAYS_TABLE)
        self.table.setAccessibleName("Device list of distribution points")
        for col, label in enumerate(HEADERS):
            header = QTableWidgetItem(_two_lines(label))
            header.setToolTip(label)
            header.setData(Qt.ItemDataRole.AccessibleTextRole, label)
            self.table.setHorizontalHeaderItem(col, header)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        self.add_button = self._button("&Add", ids.BUTTON_ADD_POINT, "Add distribution point")
        self.remove_button = self._button(
            "Re&move", ids.BUTTON_REMOVE_POINT, "Remove the distribution point"
        )
        self.remove_button.setToolTip("Disable the selected host as a distribution point")
        self.properties_button = self._button(
            "&Properties", ids.BUTTON_POINT_PROPERTIES, "Properties of the selected host"
        )
        self.check_button = self._button(
            "&Check", ids.BUTTON_CHECK_GATEWAY, "Check the connection gateway"
        )
        self.check_button.setToolTip(
            "Connect to the gateway's port for mobile devices with TLS and compare the "
            "certificate it serves with the one it holds and with the main certificate"
        )
        self.reconnect_button = self._button(
            "&Reconnect", ids.BUTTON_RECONNECT_GATEWAY, "Reconnect the connection gateway"
        )
        self.reconnect_button.setToolTip(
            "Remove the gateway as a distribution point and add it again, so that it "
            "receives the main certificate"
        )
        self.action_properties = QAction("&Properties", self)
        # Alt+C is the menu's Copy.
        self.action_check = QAction("C&heck", self)
        self.action_reconnect = QAction("&Reconnect", self)
        self.action_remove = QAction("Re&move", self)

        self.stale = QLabel()
        self.stale.setObjectName(ids.LABEL_STALE_GATEWAYS)
        self.stale.setAccessibleName("Connection gateways to reconnect")
        self.stale.setWordWrap(True)
        self.stale.setStyleSheet(f"color: {text.ALERT_COLOR}")
        self.stale.hide()

        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.properties_button,
                       self.check_button, self.reconnect_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.caption)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.stale)

        self.add_button.clicked.connect(self.add)
        self.remove_button.clicked.connect(self.remove)
        self.properties_button.clicked.connect(self.properties)
        self.check_button.clicked.connect(self.check)
        self.reconnect_button.clicked.connect(self.reconnect)
        self.action_properties.triggered.connect(self.properties)
        self.action_check.triggered.connect(self.check)
        self.action_reconnect.triggered.connect(self.reconnect)
        self.action_remove.triggered.connect(self.remove)
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.properties())
        # The host's actions, then Copy (Ctrl+C); right click, Menu key or Shift+F10.
        self.list_tools = ListTools(self.table, title="Distribution points",
                                    entries=self._menu_entries)
        self.feed.show_in(self._on_snapshot)
        if self.feed.latest is not None:
            self._on_snapshot(self.feed.latest)
        else:
            self.feed.request()

    @staticmethod
    def _button(label: str, name: str, accessible: str) -> QPushButton:
        button = QPushButton(label)
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        button.setAutoDefault(False)
        return button

    # --- showing --------------------------------------------------------------------------

    def refresh(self, select: str | None = None) -> None:
        """Show the last snapshot's list and ask for a new one; keep (or move to
        ``select``) the selected host."""
        self._select = select or self.selected_host()
        self.feed.request(again=True)

    def _on_snapshot(self, reading: StatusReading) -> None:
        if reading.snapshot is None:
            self.caption.setText(str(reading.error))
            self.sig_refreshed.emit()
            return
        keep = self._select or self.selected_host()
        self.show_points(reading.snapshot.points)
        if keep is not None and self.select_host(keep):
            # Kept until the host appears: a reading begun before the change lacks it.
            self._select = None
        self._sync_buttons()
        self.sig_refreshed.emit()

    def show_points(self, points: tuple[DistributionPointView, ...]) -> None:
        self.points = points
        gateways = [p for p in points if p.gateway]
        self.caption.setText(
            f"{len(points)} distribution point" + ("" if len(points) == 1 else "s")
            + f", {len(gateways)} acting as connection gateway"
            + ("" if len(gateways) == 1 else "s") + "."
            if points else "No device acts as a distribution point. Click Add to add one."
        )
        self.table.setRowCount(len(points))
        for row, point in enumerate(points):
            for col, value in enumerate(self._cells(point)):
                shown = value
                if col == HELD_COLUMN and len(value) > SHORT_SHA:
                    shown = value[:SHORT_SHA] + "…"
                item = QTableWidgetItem(shown)
                item.setToolTip(value)
                item.setData(Qt.ItemDataRole.AccessibleTextRole, value)
                if col == MATCH_COLUMN and point.stale:
                    item.setForeground(QColor(text.ALERT_COLOR))
                self.table.setItem(row, col, item)
        stale = [p.host for p in points if p.stale]
        self.stale.setText("\n".join(rules.stale_message(host) for host in stale))
        self.stale.setVisible(bool(stale))

    @staticmethod
    def _cells(point: DistributionPointView) -> tuple[str, ...]:
        if point.gateway:
            held = point.sha256 or "(none)"
            matches = "Yes" if point.matches_main else "No"
        else:
            held = matches = "—"
        return (
            point.host,
            "Yes" if point.gateway else "No",
            str(point.agent_port),
            str(point.mobile_port),
            held,
            matches,
            point.scope,
        )

    def selected_host(self) -> str | None:
        point = self.selected_point()
        return point.host if point is not None else None

    def selected_point(self) -> DistributionPointView | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].row()
        return self.points[row] if 0 <= row < len(self.points) else None

    def select_host(self, host: str) -> bool:
        for row, point in enumerate(self.points):
            if point.host == host:
                self.table.selectRow(row)
                return True
        return False

    def _sync_buttons(self) -> None:
        point = self.selected_point()
        writable = not self.console.read_only and not tasks.working_tasks()
        self.add_button.setEnabled(writable)
        self.remove_button.setEnabled(writable and point is not None)
        self.properties_button.setEnabled(point is not None)
        # A probe only reads: it stays available on a read-only store and while a
        # change is running.
        self.check_button.setEnabled(point is not None and point.gateway)
        self.reconnect_button.setEnabled(writable and point is not None and point.stale)
        self.action_properties.setEnabled(self.properties_button.isEnabled())
        self.action_check.setEnabled(self.check_button.isEnabled())
        self.action_reconnect.setEnabled(self.reconnect_button.isEnabled())
        self.action_remove.setEnabled(self.remove_button.isEnabled())

    def _menu_entries(self) -> list[QAction | None]:
        """A host's entries of the context menu (the list's Copy follows them)."""
        self._sync_buttons()
        return [self.action_properties, self.action_check, self.action_reconnect, None,
                self.action_remove]

    def context_menu_actions(self) -> list[QAction]:
        """The actions of a host's context menu (tests, accessibility)."""
        return [self.action_properties, self.action_check, self.action_reconnect,
                self.action_remove]

    # --- actions --------------------------------------------------------------------------

    def add(self) -> None:
        """Add → Add distribution point → the host appears in the list, selected."""
        from kscert_gui.ui.gateways.add_point import AddDistributionPointDialog

        request = AddDistributionPointDialog.ask(self, self.console)
        if request is None:
            return
        console = self.console
        self._run(
            lambda: console.server.points.add_distribution_point(
                request.device, request.scope_group_id),
            request.device,
        )

    def remove(self) -> None:
        point = self.selected_point()
        if point is None:
            return
        what = "connection gateway and distribution point" if point.gateway else (
            "distribution point")
        question = (
            f"Disable {point.host} as a {what}?\n\nThe host disappears from the device list. "
            "Mobile devices that connect through it lose that path until it is added again."
        )
        if not messages.confirm(self, REMOVE_TITLE, question, True):
            return
        console = self.console
        self._run(
            lambda: console.server.points.remove_distribution_point(point.host, confirmed=True),
            None,
        )

    def properties(self) -> None:
        """Host Properties: General and Connection gateway sections."""
        from kscert_gui.ui.gateways.host_properties import HostPropertiesDialog

        point = self.selected_point()
        if point is None:
            return
        settings = HostPropertiesDialog.ask(self, self.console, point)
        # A Reconnect inside the window has changed the store even when it was cancelled.
        self.refresh(point.host)
        if settings is None:
            return
        console = self.console
        self._run(
            lambda: console.server.points.set_connection_gateway(
                settings.host,
                enabled=settings.enabled,
                agent_port=settings.agent_port,
                mobile_port=settings.mobile_port,
            ),
            settings.host,
        )

    def check(self) -> None:
        """The Check window for the selected connection gateway (its port for mobile
        devices), judged against the certificate the gateway holds.
        """
        from kscert_gui.ui.dialogs.check import check_gateway

        point = self.selected_point()
        if point is None or not point.gateway:
            return
        check_gateway(self, self.console, point.host, point.mobile_port, point.sha256)

    def reconnect(self) -> None:
        from kscert_gui.ui.gateways import reconnect as reconnect_flow

        point = self.selected_point()
        if point is None or not point.gateway:
            return
        task = reconnect_flow.reconnect(self, self.console, point.host, self._changed)
        if task is not None:
            self._track(task)

    def _run(self, fn: Callable[[], DistributionPointView], select: str | None) -> None:
        def done(view: DistributionPointView) -> None:
            self._changed(view if select is not None else None)

        def failed(err: BaseException) -> None:
            messages.show_error(self, err)
            self.refresh()

        self._track(tasks.run_in_background(self, fn, done, failed))

    def _track(self, task: tasks.Task[Any]) -> None:
        self.task = task
        task.sig_finished.connect(self._sync_buttons)
        self._sync_buttons()

    def _changed(self, view: DistributionPointView | None) -> None:
        self.refresh(view.host if view is not None else None)
        self.sig_changed.emit()
