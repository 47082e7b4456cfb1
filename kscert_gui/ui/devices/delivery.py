"""The reserve certificate delivery window: count, chart, and the at-risk list (DESIGN §6).

Opened from the Certificates page (the delivery count) and from the device list.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.connection import DEVICE_STATES, FleetCounts, from_epoch
from kscert_gui.model.fleet import STATE_TEXT
from kscert_gui.services.snapshot import GroupCounts, Snapshot
from kscert_gui.services.views import DeviceTable
from kscert_gui.ui import ids, text
from kscert_gui.ui.devices.chart import ChartData, DeliveryChart
from kscert_gui.ui.devices.table_model import COL_REASON, DeviceTableModel
from kscert_gui.ui.status_feed import StatusFeed, StatusReading
from kscert_gui.ui.widgets.list_tools import ListTools
from kscert_gui.ui.widgets.min_height import follow_width

ROW_HEIGHT = 22
COLUMN_WIDTHS = (170, 100, 120, 240, 80, 190, 360)  # in the order of table_model.COLUMNS


def make_device_view(model: DeviceTableModel, name: str, accessible: str) -> QTableView:
    """A QTableView set up for very long lists: fixed row heights, no content sizing."""
    view = QTableView()
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setModel(model)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.setAlternatingRowColors(True)
    vertical = view.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(ROW_HEIGHT)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    for column, width in enumerate(COLUMN_WIDTHS[: model.columnCount()]):
        view.setColumnWidth(column, width)
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    return view


def summary_text(table: DeviceTable, group: GroupCounts | None = None) -> str:
    """The §6.1 counts in words: the connection now, then the cut-over; of the devices of
    ``group`` (a group with its subgroups, as the snapshot counted them) when given, else
    of every device."""
    c: FleetCounts | GroupCounts = table.counts if group is None else group
    total = text.thousands(c.devices)
    where = "" if group is None else " in this group"
    now = (f"{text.thousands(c.connected)} of {total} mobile devices{where} are connected"
           + (f", {text.thousands(c.blocked)} blocked" if c.blocked else "")
           + (f", {text.thousands(c.lost)} lost the connection" if c.lost else "") + ".")
    situation = table.situation
    cut = situation.cutover_s
    if cut is None:
        return now + " No certificate is valid: the devices cannot connect."
    kind = "expiry" if situation.reserve_id is None else "switch"
    return f"{now} {text.cutover_of(c, kind, from_epoch(cut)).text}."


def chart_data(snapshot: Snapshot) -> ChartData | None:
    table = snapshot.devices
    window = table.window
    if window is None:
        return None
    # The curve was worked out in the snapshot's worker (100 000 devices).
    return ChartData(snapshot.curve, table.counts.devices, table.at, window.switch_at)


class DeliveryDialog(QDialog):
    """Delivery count, the delivery chart and the devices of one state (at risk first)."""

    sig_loaded = Signal()

    def __init__(self, feed: StatusFeed, parent: QWidget | None = None) -> None:
        """``feed``: the console's one snapshot feed; this window renders its device table."""
        super().__init__(parent)
        self.feed = feed
        self.setObjectName(ids.DELIVERY_DIALOG)
        self.setWindowTitle("Reserve certificate delivery")
        self.setAccessibleName("Reserve certificate delivery")

        self.summary = QLabel("Loading the devices…")
        self.summary.setObjectName(ids.LABEL_DELIVERY_SUMMARY)
        self.summary.setAccessibleName("Delivery summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.chart = DeliveryChart()
        self.state = QComboBox()
        self.state.setObjectName(ids.COMBO_DELIVERY_STATE)
        self.state.setAccessibleName("Show devices")
        for code in DEVICE_STATES:
            self.state.addItem(f"Devices {STATE_TEXT[code]}", code)
        self.state.addItem("All devices", None)
        self.state.setCurrentIndex(DEVICE_STATES.index("at-risk"))
        #: The person chose what to show (the window no longer chooses it for them).
        self.state_chosen = False
        self._automatic: str = "at-risk"  # what the window chose itself
        self.count = QLabel()
        self.count.setAccessibleName("Devices shown")
        self.model = DeviceTableModel(with_reason=True, parent=self)
        self.model.set_filter(state="at-risk")
        self.view = make_device_view(self.model, ids.AT_RISK_TABLE, "At-risk devices")
        # "Why" right after the name, where it is read (it was the last of seven columns,
        # beyond the window's right edge); the full text is in its tooltip.
        header = self.view.horizontalHeader()
        header.moveSection(header.visualIndex(COL_REASON), 1)
        self.view.setColumnWidth(COL_REASON, 380)
        self.list_tools = ListTools(self.view, title="At-risk devices",
                                    csv_name="at-risk-devices")
        self.save_button = QPushButton("Save as &CSV…")
        self.save_button.setObjectName(ids.BUTTON_SAVE_AT_RISK_CSV)
        self.save_button.setAccessibleName("Save the devices shown as CSV")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(lambda: self.list_tools.save_csv())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        if close is not None:
            close.setAccessibleName("Close")

        show = QLabel("&Show:")
        show.setBuddy(self.state)
        row = QHBoxLayout()
        row.addWidget(show)
        row.addWidget(self.state)
        row.addWidget(self.count, 1)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)

        self.state.currentIndexChanged.connect(self._on_state)
        # Only a person's choice (mouse or keyboard), not the window's own.
        self.state.activated.connect(self._on_chosen)
        self.model.sig_filtered.connect(
            lambda n: self._show_count(n)
        )
        self.resize(1000, 640)
        # However small it is made, the summary's wrapped lines leave the chart, the Show
        # row and the list their room (the chart was drawn under the Show row).
        follow_width(self)
        self.feed.show_in(self._on_snapshot)
        if self.feed.latest is not None:
            self._on_snapshot(self.feed.latest)
        else:
            self.reload()

    def _show_count(self, shown: int) -> None:
        self.count.setText(text.count(shown, "device"))
        self.save_button.setEnabled(shown > 0)

    def reload(self) -> None:
        """Ask the feed for a new snapshot; it arrives through ``sig_status``."""
        self.feed.request(again=True)

    def _on_snapshot(self, reading: StatusReading) -> None:
        if reading.snapshot is None:
            self.summary.setText(f"The devices could not be read: {reading.error}")
            return
        self._loaded(reading.snapshot)

    def _loaded(self, snapshot: Snapshot) -> None:
        table = snapshot.devices
        self.summary.setText(summary_text(table))
        self.chart.set_data(chart_data(snapshot))
        if not self.state_chosen and self.state.currentData() == self._automatic:
            # At risk while there are such devices, else the lost ones (all are lost after
            # an Immediately change), and back to at risk once devices are at risk again
            # (after Reinstall agent it showed "Devices lost", none, beside 1 250 at risk).
            counts = table.counts
            automatic = "at-risk" if counts.at_risk else "lost" if counts.lost else None
            if automatic is not None and automatic != self._automatic:
                self._automatic = automatic
                self.state.setCurrentIndex(DEVICE_STATES.index(automatic))
        self.model.set_table(table, snapshot.name_order, snapshot.state_order)
        self.sig_loaded.emit()

    def _on_chosen(self, _index: int) -> None:
        self.state_chosen = True

    def _on_state(self, _index: int) -> None:
        self.model.set_filter(state=self.state.currentData())

    @classmethod
    def open_for(cls, parent: QWidget | None, feed: StatusFeed) -> DeliveryDialog:
        dialog = cls(feed, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog
