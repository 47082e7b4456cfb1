"""The **Add distribution point** window (DESIGN §7; the seed's reconnect procedure).

*Device to act as a distribution point*: **Select** → **Add device from group**;
*Distribution point scope*: **Select** (a group); OK.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model import gateways as rules
from kscert_gui.model.errors import KscertError
from kscert_gui.services.views import HostDevice, ScopeGroup
from kscert_gui.ui import ids, tasks, text
from kscert_gui.ui.console import Console
from kscert_gui.ui.gateways.pickers import DevicePickerDialog, GroupPickerDialog
from kscert_gui.ui.widgets.request_dialog import RequestDialog

DEVICE_LABEL = "Device to act as a distribution point"
SCOPE_LABEL = "Distribution point scope"
ADD_FROM_GROUP = "Add device from group"


@dataclass(frozen=True)
class AddPointRequest:
    """What the Add distribution point window asks for."""

    device: str
    scope_group_id: int
    scope: str


class AddDistributionPointDialog(RequestDialog[AddPointRequest]):
    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._console = console
        self._device: HostDevice | None = None
        self._scope: ScopeGroup | None = None
        self.setObjectName(ids.ADD_POINT_DIALOG)
        self.setWindowTitle("Add distribution point")
        self.setAccessibleName("Add distribution point")

        self.device_edit = QLineEdit()
        self.device_edit.setObjectName(ids.EDIT_POINT_DEVICE)
        self.device_edit.setAccessibleName(DEVICE_LABEL)
        self.device_edit.setReadOnly(True)
        self.device_edit.setPlaceholderText("click Select")
        self.select_device_button = QPushButton("&Select")
        self.select_device_button.setObjectName(ids.BUTTON_SELECT_DEVICE)
        self.select_device_button.setAccessibleName("Select the device")
        self.select_device_button.setAutoDefault(False)
        self.device_menu = QMenu(self.select_device_button)
        self.add_from_group = QAction(ADD_FROM_GROUP, self)
        self.add_from_group.setObjectName(ids.ACTION_ADD_DEVICE_FROM_GROUP)
        self.device_menu.addAction(self.add_from_group)
        self.select_device_button.setMenu(self.device_menu)

        self.scope_edit = QLineEdit()
        self.scope_edit.setObjectName(ids.EDIT_POINT_SCOPE)
        self.scope_edit.setAccessibleName(SCOPE_LABEL)
        self.scope_edit.setReadOnly(True)
        self.scope_edit.setPlaceholderText("click Select")
        self.select_scope_button = QPushButton("S&elect")
        self.select_scope_button.setObjectName(ids.BUTTON_SELECT_SCOPE)
        self.select_scope_button.setAccessibleName("Select the distribution point scope")
        self.select_scope_button.setAutoDefault(False)

        form = QFormLayout()
        device_row = QHBoxLayout()
        device_row.addWidget(self.device_edit, 1)
        device_row.addWidget(self.select_device_button)
        device_label = QLabel(f"&{DEVICE_LABEL}:")
        device_label.setBuddy(self.select_device_button)
        form.addRow(device_label, device_row)
        scope_row = QHBoxLayout()
        scope_row.addWidget(self.scope_edit, 1)
        scope_row.addWidget(self.select_scope_button)
        scope_label = QLabel("Distribution point s&cope:")
        scope_label.setBuddy(self.select_scope_button)
        form.addRow(scope_label, scope_row)

        self.note = QLabel(
            "To make the host a connection gateway, open its Properties after adding it and "
            "select the Connection gateway check box."
        )
        self.note.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName(ids.LABEL_ADD_POINT_ERROR)
        self.error.setAccessibleName("Problem")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {text.ALERT_COLOR}")

        self._make_buttons()

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self.add_from_group.triggered.connect(self.select_device)
        self.select_scope_button.clicked.connect(self.select_scope)
        self.setMinimumWidth(560)
        self._validate()

    # --- the two Select buttons -----------------------------------------------------------

    def select_device(self) -> None:
        """Select → Add device from group: a device picker over the group tree (the groups
        and the candidate devices are read in a worker first)."""
        points = self._console.server.points

        def picked(found: tuple[tuple[ScopeGroup, ...], tuple[HostDevice, ...]]) -> None:
            device = DevicePickerDialog.ask(self, *found)
            if device is not None:
                self.set_device(device)

        self.task = tasks.run_in_background(
            self, lambda: (points.scope_groups(), points.distribution_point_candidates()),
            picked, passive=True,
        )

    def select_scope(self) -> None:
        points = self._console.server.points

        def picked(groups: tuple[ScopeGroup, ...]) -> None:
            current = self._scope.id if self._scope is not None else (
                self._device.group_id if self._device is not None else None)
            group = GroupPickerDialog.ask(self, groups, current)
            if group is not None:
                self.set_scope(group)

        self.scope_task = tasks.run_in_background(self, points.scope_groups, picked, passive=True)

    def set_device(self, device: HostDevice) -> None:
        self._device = device
        self.device_edit.setText(device.name)
        self._validate()

    def set_scope(self, group: ScopeGroup) -> None:
        self._scope = group
        self.scope_edit.setText(group.path)
        self._validate()

    # --- result ---------------------------------------------------------------------------

    def _validate(self) -> bool:
        problem = ""
        if self._device is None:
            problem = f"Select the device to act as a distribution point ({ADD_FROM_GROUP})."
        elif self._device.is_distribution_point:
            problem = f"{self._device.name} is already a distribution point."
        elif self._scope is None:
            problem = "Select the distribution point scope (a group)."
        if not problem and self._device is not None:
            try:
                rules.check_host_platform(self._device.name, self._device.platform)
            except KscertError as err:
                problem = str(err)
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        self.ok_button.setEnabled(not problem)
        return not problem

    def accept(self) -> None:
        if not self._validate() or self._device is None or self._scope is None:
            return
        self._result = AddPointRequest(self._device.name, self._scope.id, self._scope.path)
        super().accept()

    @classmethod
    def ask(cls, parent: QWidget | None, console: Console) -> AddPointRequest | None:
        return cls(console, parent).run()
