"""The **Managed devices** page of the console: device list, filters, actions, simulation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.connection import DEVICE_STATES
from kscert_gui.model.fleet import STATE_TEXT
from kscert_gui.services.fleet_service import DeviceImportError
from kscert_gui.services.snapshot import GroupCounts
from kscert_gui.services.views import (
    DeviceImportReport,
    DeviceTable,
    GroupSettings,
    SimulationReport,
)
from kscert_gui.ui import ids, messages, tasks, text
from kscert_gui.ui.console import Console
from kscert_gui.ui.devices.delivery import (
    ROW_HEIGHT,
    DeliveryDialog,
    make_device_view,
    summary_text,
)
from kscert_gui.ui.devices.table_model import DeviceTableModel
from kscert_gui.ui.status_feed import StatusFeed, StatusReading
from kscert_gui.ui.widgets import file_dialogs
from kscert_gui.ui.widgets.list_tools import ListTools
from kscert_gui.ui.widgets.min_height import follow_width

SIM_UNITS = (("hours", 1), ("days", 24))
MAX_SIM_HOURS = 400 * 24


def subgroups(table: DeviceTable, group_id: int) -> set[int]:
    """The group and every group below it."""
    prefix = table.paths[group_id]
    return {gid for gid, path in table.paths.items()
            if path == prefix or path.startswith(prefix + "/")}


class DevicesPage(QWidget):
    """Devices of all groups (or of one group and its subgroups), filterable and sortable."""

    sig_loaded = Signal()
    #: A change was saved (device added, import, period, simulation): others refresh.
    sig_changed = Signal()

    def __init__(self, console: Console, feed: StatusFeed, parent: QWidget | None = None) -> (
        None
    ):
        """``feed``: the console's one snapshot feed; this page renders its device table."""
        super().__init__(parent)
        self.console = console
        self.feed = feed
        self.task: tasks.Task[Any] | None = None
        self.table: DeviceTable | None = None
        self._group_id: int | None = None
        #: The snapshot's counts per group (its subgroups included).
        self._group_counts: Mapping[int, GroupCounts] | None = None
        self.setObjectName(ids.PAGE_DEVICES)
        self.setAccessibleName("Managed devices")

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName(ids.EDIT_DEVICE_FILTER)
        self.filter_edit.setAccessibleName("Filter by device name")
        self.filter_edit.setPlaceholderText("Device name contains…")
        self.filter_edit.setClearButtonEnabled(True)
        # Its hint in full beside the clear button, however small the window: the window's
        # minimum width follows (it was squashed to "D…" at the window's usual size).
        metrics = self.filter_edit.fontMetrics()
        self.filter_edit.setMinimumWidth(
            metrics.horizontalAdvance(self.filter_edit.placeholderText())
            + 2 * self.filter_edit.sizeHint().height())
        self.group_combo = QComboBox()
        self.group_combo.setObjectName(ids.COMBO_DEVICE_GROUP)
        self.group_combo.setAccessibleName("Filter by group")
        self.group_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.state_combo = QComboBox()
        self.state_combo.setObjectName(ids.COMBO_DEVICE_STATE)
        self.state_combo.setAccessibleName("Filter by reserve certificate state")
        self.state_combo.addItem("All states", None)
        for code in DEVICE_STATES:
            self.state_combo.addItem(STATE_TEXT[code], code)
        self.count = QLabel()
        self.count.setObjectName(ids.LABEL_DEVICE_COUNT)
        self.count.setAccessibleName("Devices shown")
        self.delivery = QLabel()
        self.delivery.setAccessibleName("Reserve certificate delivery")
        self.delivery.setWordWrap(True)
        self.delivery.setTextFormat(Qt.TextFormat.PlainText)

        # Alt+A is the Action menu of the main window.
        self.add_button = self._button("Add d&evice…", ids.BUTTON_ADD_DEVICE, "Add device")
        self.import_button = self._button("&Import from CSV…", ids.BUTTON_IMPORT_DEVICES,
                                          "Import devices from a CSV file")
        self.group_button = self._button("&Group properties…", ids.BUTTON_GROUP_PROPERTIES,
                                         "Group properties")
        self.delivery_button = self._button("&Delivery and at-risk devices…",
                                            ids.BUTTON_DELIVERY,
                                            "Reserve certificate delivery and at-risk devices")
        self.reinstall_button = self._button("Reins&tall agent…", ids.BUTTON_REINSTALL_AGENT,
                                             "Reinstall the agent")
        self.reinstall_button.setToolTip(
            "Training stores: re-enroll the selected devices, or every lost device, as if "
            "the endpoint agent had been reinstalled on each.")

        self.model = DeviceTableModel(parent=self)
        self.view = make_device_view(self.model, ids.DEVICES_TABLE, "Devices")
        self.view.setMinimumHeight(6 * ROW_HEIGHT)  # the header and a few rows, at least
        # Ctrl+C, the context menu (also Shift+F10 and the Menu key), Save as CSV.
        self.list_tools = ListTools(self.view, title="Devices", csv_name="devices")
        self.save_button = self._button("Save as &CSV…", ids.BUTTON_SAVE_DEVICES_CSV,
                                        "Save the device list as CSV")
        self.save_button.setToolTip("Save the devices shown, as the list shows them, to a "
                                    "CSV file")

        # Simulation clock (training stores)
        self.sim_group = QGroupBox("Simulation clock (training store)")
        self.sim_group.setObjectName(ids.GROUP_SIMULATION)
        self.sim_clock = QLabel()
        self.sim_clock.setObjectName(ids.LABEL_SIMULATION_CLOCK)
        self.sim_clock.setAccessibleName("Simulation clock")
        self.sim_amount = QSpinBox()
        self.sim_amount.setObjectName(ids.SPIN_SIMULATION)
        self.sim_amount.setAccessibleName("Advance by")
        self.sim_amount.setRange(1, 400)
        self.sim_amount.setValue(1)
        self.sim_unit = QComboBox()
        self.sim_unit.setObjectName(ids.COMBO_SIMULATION_UNIT)
        self.sim_unit.setAccessibleName("Unit")
        for label, hours in SIM_UNITS:
            self.sim_unit.addItem(label, hours)
        self.sim_unit.setCurrentIndex(1)
        self.sim_button = self._button("Ad&vance", ids.BUTTON_SIMULATE,
                                       "Advance the simulation clock")
        advance = QLabel("Advance &by:")
        advance.setBuddy(self.sim_amount)
        sim = QHBoxLayout(self.sim_group)
        sim.addWidget(self.sim_clock, 1)
        sim.addWidget(advance)
        sim.addWidget(self.sim_amount)
        sim.addWidget(self.sim_unit)
        sim.addWidget(self.sim_button)
        sim.addWidget(self.reinstall_button)
        self.sim_group.setVisible(False)  # shown once a snapshot says it is a training store

        filters = QHBoxLayout()
        name_label = QLabel("&Name:")
        name_label.setBuddy(self.filter_edit)
        group_label = QLabel("G&roup:")
        group_label.setBuddy(self.group_combo)
        state_label = QLabel("&State:")
        state_label.setBuddy(self.state_combo)
        filters.addWidget(name_label)
        filters.addWidget(self.filter_edit, 1)  # the room left goes to the name filter
        for widget in (group_label, self.group_combo, state_label, self.state_combo):
            filters.addWidget(widget)
        actions = QHBoxLayout()
        for button in (self.add_button, self.import_button, self.group_button,
                       self.delivery_button, self.save_button):
            actions.addWidget(button)
        actions.addStretch(1)
        # "71 of 1 251 devices" at the top right, beside the summary (the filter row keeps
        # its room for the filters: the window's minimum width is the widest row's).
        header = QHBoxLayout()
        header.addWidget(self.delivery, 1)
        header.addWidget(self.count, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addLayout(actions)
        layout.addWidget(self.sim_group)

        self.filter_edit.textChanged.connect(lambda t: self.model.set_filter(text=t))
        self.group_combo.currentIndexChanged.connect(self._on_group)
        self.state_combo.currentIndexChanged.connect(
            lambda _i: self.model.set_filter(state=self.state_combo.currentData())
        )
        self.model.sig_filtered.connect(self._show_count)
        self.add_button.clicked.connect(self.add_device)
        # clicked(bool) must not reach import_csv's ``path`` argument.
        self.import_button.clicked.connect(lambda: self.import_csv())
        self.reinstall_button.clicked.connect(self.reinstall)
        self.group_button.clicked.connect(self.group_properties)
        self.delivery_button.clicked.connect(self.open_delivery)
        self.save_button.clicked.connect(lambda: self.list_tools.save_csv())
        self.sim_button.clicked.connect(self.simulate)
        self.feed.show_in(self._on_snapshot)
        # Never squeezed below what the wrapped summary leaves the filters, the list and
        # the simulation controls (at the window's smallest height they were cut in half).
        follow_width(self)
        self._sync_buttons()
        if self.feed.latest is not None:
            self._on_snapshot(self.feed.latest)
        else:
            self.reload()

    def hasHeightForWidth(self) -> bool:
        """False: the page's minimum height follows its width instead (``follow_width``)."""
        return False

    def _button(self, label: str, name: str, accessible: str) -> QPushButton:
        button = QPushButton(label)
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        button.setAutoDefault(False)
        return button

    # --- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        """Ask the feed for a new snapshot (read off the GUI thread)."""
        if self.table is None:
            self.count.setText("Loading…")
        self.feed.request(again=True)

    def _on_snapshot(self, reading: StatusReading) -> None:
        if reading.snapshot is None:
            self.count.setText(str(reading.error))
            return
        snap = reading.snapshot
        self._group_counts = snap.group_counts
        self._loaded(snap.devices, training=snap.status.training, name_order=snap.name_order)

    def _loaded(self, table: DeviceTable, *, training: bool,
                name_order: tuple[int, ...] = ()) -> None:
        self.table = table
        self._fill_groups(table)
        self.model.set_table(table, name_order)
        self._show_summary()
        self.sim_group.setVisible(training)
        if training:
            self.sim_clock.setText(f"Now: {text.instant(table.at)}")
        self._sync_buttons()
        self.sig_loaded.emit()

    def _fill_groups(self, table: DeviceTable) -> None:
        self.group_combo.blockSignals(True)
        try:
            self.group_combo.clear()
            self.group_combo.addItem("All groups", None)
            for gid, path in sorted(table.paths.items(), key=lambda kv: kv[1].casefold()):
                self.group_combo.addItem(path, gid)
            index = self.group_combo.findData(self._group_id) if self._group_id else 0
            self.group_combo.setCurrentIndex(max(0, index))
        finally:
            self.group_combo.blockSignals(False)
        self._apply_group()

    def show_group(self, group_id: int | None) -> None:
        """Show the devices of ``group_id`` and its subgroups (None: every device)."""
        if group_id == self._group_id and self.group_combo.count():
            return
        self._group_id = group_id
        index = self.group_combo.findData(group_id) if group_id is not None else 0
        if index >= 0 and index != self.group_combo.currentIndex():
            self.group_combo.setCurrentIndex(index)  # → _on_group
        else:
            self._apply_group()
        self._sync_buttons()

    def _on_group(self, _index: int) -> None:
        self._group_id = self.group_combo.currentData()
        self._apply_group()
        self._sync_buttons()

    def _apply_group(self) -> None:
        if self.table is None:
            return
        gid = self._group_id
        self.model.set_filter(groups=None if gid is None or gid not in self.table.paths
                              else subgroups(self.table, gid))
        self._show_summary()

    def _show_summary(self) -> None:
        """The counts of the group shown (with its subgroups), else of every device."""
        if self.table is None:
            return
        counts = self._group_counts or {}
        gid = self._group_id
        group = counts.get(gid) if gid is not None else None
        self.delivery.setText(summary_text(self.table, group))

    def _show_count(self, shown: int) -> None:
        self.save_button.setEnabled(shown > 0)
        total = len(self.table) if self.table is not None else 0
        self.count.setText(f"{text.thousands(shown)} of {text.thousands(total)} devices")

    def _sync_buttons(self) -> None:
        writable = not self.console.read_only
        self.add_button.setEnabled(writable and self.table is not None)
        self.import_button.setEnabled(writable)
        self.group_button.setEnabled(self._group_id is not None)
        busy = self.task is not None and self.task.running
        self.sim_button.setEnabled(writable and not busy)
        self.reinstall_button.setEnabled(writable and not busy and self.table is not None)

    def _track(self, task: tasks.Task[Any]) -> None:
        self.task = task
        task.sig_finished.connect(lambda *_: self._sync_buttons())
        self._sync_buttons()

    # --- actions --------------------------------------------------------------------------

    def _changed(self) -> None:
        # The main window asks the feed for the snapshot that every view then shows.
        self.sig_changed.emit()

    def group_properties(self) -> None:
        from kscert_gui.ui.devices.group_properties import GroupPropertiesDialog

        group_id = self._group_id
        if group_id is None:
            return
        fleet = self.console.server.fleet

        def opened(settings: list[GroupSettings]) -> None:
            request = GroupPropertiesDialog(settings[0], self).run()
            if request is None:
                return
            self._track(tasks.run_in_background(
                self, lambda: fleet.set_group_sync(request.group_id, request.hours),
                lambda _settings: self._changed(),
            ))

        # The group's settings are read in a worker; the dialog opens with them.
        self._track(tasks.run_in_background(
            self, lambda: fleet.group_settings(group_id), opened, passive=True))

    def add_device(self) -> None:
        from kscert_gui.ui.devices.add_device import AddDeviceDialog

        if self.table is None:
            return
        paths = sorted(self.table.paths.values(), key=str.casefold)
        current = self.table.paths.get(self._group_id) if self._group_id else None
        request = AddDeviceDialog.ask(self, paths, current)
        if request is None:
            return
        self._track(tasks.run_in_background(
            self,
            lambda: self.console.server.fleet.add_device(
                request.name, request.group, request.platform),
            lambda _view: self._changed(),
        ))

    def import_csv(self, path: Path | None = None) -> None:
        if path is None:
            # In the folder used last (DESIGN §8).
            path = file_dialogs.open_file(self, "Import devices",
                                          "CSV files (*.csv *.txt);;All files (*)")
            if path is None:
                return
        self.start_import(path, skip_bad_rows=False)

    def start_import(self, path: Path, *, skip_bad_rows: bool) -> None:
        def failed(err: BaseException) -> None:
            if isinstance(err, DeviceImportError) and err.report.rows and not skip_bad_rows:
                report = err.report
                question = (
                    f"{text.count(report.error_count, 'row')} of {path.name} "
                    f"{'is' if report.error_count == 1 else 'are'} bad, so nothing was "
                    "imported:\n\n"
                    + "\n".join(str(e) for e in report.errors[:10])
                    + ("\n…" if report.error_count > 10 else "")
                    + f"\n\nImport the {text.count(report.rows, 'good row')} and skip the "
                    + ("bad one?" if report.error_count == 1 else "bad ones?")
                )
                if messages.confirm(self, "Import devices", question, default_no=True):
                    self.start_import(path, skip_bad_rows=True)
                return
            messages.show_error(self, err)

        self._track(tasks.run_in_background(
            self,
            lambda: self.console.server.fleet.import_devices(path, skip_bad_rows=skip_bad_rows),
            self._imported, failed,
        ))

    def _imported(self, report: DeviceImportReport) -> None:
        self._changed()
        lines = [f"{text.count(report.rows, 'device')} imported: "
                 f"{text.thousands(report.added)} added, {text.thousands(report.updated)} "
                 f"updated, {text.count(report.groups_created, 'group')} created."]
        if report.error_count:
            lines.append(f"{text.count(report.error_count, 'bad row')} skipped:")
            lines += [str(e) for e in report.errors[:10]]
        messages.show_info(self, "Import devices", "\n".join(lines))

    def open_delivery(self) -> DeliveryDialog:
        return DeliveryDialog.open_for(self, self.feed)

    def selected_names(self) -> list[str]:
        table = self.table
        selection = self.view.selectionModel()
        if table is None or selection is None:
            return []
        return [table.names[self.model.table_row(i.row())] for i in selection.selectedRows()]

    def reinstall(self) -> None:
        """Reinstall agent (training stores): the selected devices, else every lost one."""
        table = self.table
        if table is None:
            return
        names = [n for n in self.selected_names()
                 if table.connection(table.names.index(n)) is not None]
        if names:
            question = (f"Reinstall the agent on {text.count(len(names), 'selected device')}? "
                        "They enroll again now and receive the current certificates.")
        else:
            lost = table.counts.lost
            if not lost:
                messages.show_info(self, "Reinstall agent",
                                   "No device has lost the connection. Select the devices to "
                                   "re-enroll in the list.")
                return
            question = (f"Reinstall the agent on all {text.thousands(lost)} devices that lost "
                        "the connection? They enroll again now and receive the current "
                        "certificates.")
        if not messages.confirm(self, "Reinstall agent", question, default_no=True):
            return
        server = self.console.server
        self._track(tasks.run_in_background(
            self, lambda: server.fleet.reinstall_agent(names, lost=not names),
            lambda report: self._reinstalled(len(report.names)),
        ))

    def _reinstalled(self, count: int) -> None:
        self._changed()
        messages.show_info(self, "Reinstall agent",
                           f"The agent was reinstalled on {text.count(count, 'device')}.")

    def simulate(self) -> None:
        hours = self.sim_amount.value() * int(self.sim_unit.currentData())
        delta = timedelta(hours=min(hours, MAX_SIM_HOURS))
        self._track(tasks.run_in_background(
            self, lambda: self.console.server.fleet.simulate_advance(delta), self._simulated,
        ))

    def _simulated(self, report: SimulationReport) -> None:
        self._changed()
        self.sim_clock.setText(f"Now: {text.instant(report.end)}")
