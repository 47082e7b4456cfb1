"""The **Add device** window: a device added by hand (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from kscert_gui.model.fleet import PLATFORMS
from kscert_gui.services.device_csv import check_name
from kscert_gui.ui import ids, text
from kscert_gui.ui.widgets.request_dialog import RequestDialog


@dataclass(frozen=True)
class AddDeviceRequest:
    name: str
    group: str  # path
    platform: str


class AddDeviceDialog(RequestDialog[AddDeviceRequest]):
    def __init__(self, group_paths: list[str], current: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(ids.ADD_DEVICE_DIALOG)
        self.setWindowTitle("Add device")
        self.setAccessibleName("Add device")
        self.name = QLineEdit()
        self.name.setObjectName(ids.EDIT_DEVICE_NAME)
        self.name.setAccessibleName("Device name")
        self.name.setMaxLength(255)
        self.group = QComboBox()
        self.group.setObjectName(ids.COMBO_ADD_DEVICE_GROUP)
        self.group.setAccessibleName("Group")
        self.group.addItems(group_paths)
        if current is not None and current in group_paths:
            self.group.setCurrentText(current)
        self.platform = QComboBox()
        self.platform.setObjectName(ids.COMBO_ADD_DEVICE_PLATFORM)
        self.platform.setAccessibleName("Platform")
        self.platform.addItems(list(PLATFORMS))
        self.error = QLabel()
        self.error.setObjectName(ids.LABEL_ADD_DEVICE_ERROR)
        self.error.setAccessibleName("Error")
        self.error.setStyleSheet(f"color: {text.ALERT_COLOR}")
        self._make_buttons()
        form = QFormLayout(self)
        for caption, widget in (("&Name:", self.name), ("&Group:", self.group),
                                ("&Platform:", self.platform)):
            label = QLabel(caption)
            label.setBuddy(widget)
            form.addRow(label, widget)
        form.addRow(self.error)
        form.addRow(self.buttons)
        self.name.textChanged.connect(self._validate)
        self._validate()

    def _validate(self) -> None:
        problem = check_name(self.name.text().strip()) if self.group.count() else "no group"
        self.ok_button.setEnabled(problem is None)
        self.error.setText("" if problem is None or not self.name.text() else problem)

    def accept(self) -> None:
        if check_name(self.name.text().strip()) is not None or not self.group.count():
            return
        self._result = AddDeviceRequest(
            self.name.text().strip(), self.group.currentText(), self.platform.currentText()
        )
        super().accept()

    @classmethod
    def ask(cls, parent: QWidget | None, group_paths: list[str],
            current: str | None = None) -> AddDeviceRequest | None:
        return cls(group_paths, current, parent).run()
