"""A group's **Properties** window with its **Synchronization settings** page (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.errors import KscertError
from kscert_gui.model.fleet import MAX_SYNC_HOURS, MIN_SYNC_HOURS, check_sync_hours
from kscert_gui.services.views import GroupSettings
from kscert_gui.ui import ids, text
from kscert_gui.ui.widgets.request_dialog import RequestDialog

GENERAL = "General"
SYNC_SETTINGS = "Synchronization settings"


@dataclass(frozen=True)
class GroupSyncRequest:
    """Set ``group_id``'s period to ``hours`` (None: inherit from the parent group)."""

    group_id: int
    hours: float | None


def hours_text(hours: float) -> str:
    if hours >= 24 and hours % 24 == 0:
        return text.days(int(hours // 24)) if hours != 24 else "24 hours"
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


class GroupPropertiesDialog(RequestDialog[GroupSyncRequest]):
    """Sections: General, Synchronization settings. OK returns a :class:`GroupSyncRequest`."""

    def __init__(self, settings: GroupSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setObjectName(ids.GROUP_PROPERTIES_DIALOG)
        self.setWindowTitle(f"Properties: {settings.name}")
        self.setAccessibleName(f"Properties of group {settings.name}")

        self.sections = QListWidget()
        self.sections.setObjectName(ids.GROUP_SECTIONS)
        self.sections.setAccessibleName("Sections")
        self.sections.setMaximumWidth(200)
        for label in (GENERAL, SYNC_SETTINGS):
            QListWidgetItem(label, self.sections)

        # General
        general = QWidget()
        general.setObjectName(ids.PAGE_GROUP_GENERAL)
        general.setAccessibleName(GENERAL)
        form = QFormLayout(general)
        for caption, value in (
            ("Name:", settings.name),
            ("Path:", settings.path),
            ("Devices in the group:", text.thousands(settings.devices)),
        ):
            value_label = QLabel(value)
            value_label.setTextFormat(Qt.TextFormat.PlainText)
            value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value_label.setAccessibleName(caption.rstrip(":"))
            form.addRow(caption, value_label)

        # Synchronization settings
        sync = QWidget()
        sync.setObjectName(ids.PAGE_SYNC_SETTINGS)
        sync.setAccessibleName(SYNC_SETTINGS)
        self.inherit = QCheckBox(
            f"&Inherit from parent group ({hours_text(settings.inherited_hours)})"
        )
        self.inherit.setObjectName(ids.CHECK_INHERIT_SYNC)
        self.inherit.setAccessibleName("Inherit the synchronization period from the parent group")
        self.hours = QDoubleSpinBox()
        self.hours.setObjectName(ids.SPIN_SYNC_HOURS)
        self.hours.setAccessibleName("Synchronization period, hours")
        self.hours.setDecimals(2)
        self.hours.setRange(0.0, MAX_SYNC_HOURS * 10)  # out-of-range values get a message
        self.hours.setSingleStep(1.0)
        self.hours.setSuffix(" h")
        hours_label = QLabel("Synchronization &period, hours:")
        hours_label.setBuddy(self.hours)
        self.effective = QLabel()
        self.effective.setObjectName(ids.LABEL_SYNC_EFFECTIVE)
        self.effective.setAccessibleName("Effective synchronization period")
        self.effective.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName(ids.LABEL_SYNC_ERROR)
        self.error.setAccessibleName("Synchronization period error")
        self.error.setStyleSheet(f"color: {text.ALERT_COLOR}")
        self.error.setWordWrap(True)
        explain = QLabel(
            "Managed mobile devices of this group synchronize with the Administration Server "
            "once per period. The activation term of a reserve certificate must be longer "
            "than the longest period of the groups that hold mobile devices; a device not "
            "seen for more than three periods is at risk."
        )
        explain.setWordWrap(True)
        sync_form = QFormLayout(sync)
        sync_form.addRow(explain)
        sync_form.addRow(self.inherit)
        sync_form.addRow(hours_label, self.hours)
        sync_form.addRow(self.effective)
        sync_form.addRow(self.error)

        self.pages = QStackedWidget()
        self.pages.addWidget(general)
        self.pages.addWidget(sync)
        self.sync_page = sync

        self._make_buttons()
        self.buttons.setObjectName(ids.GROUP_PROPERTIES_BUTTONS)

        body = QHBoxLayout()
        body.addWidget(self.sections)
        body.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        self.sections.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.inherit.toggled.connect(self._validate)
        self.hours.valueChanged.connect(self._validate)
        self.inherit.setChecked(settings.sync_hours is None)
        self.hours.setValue(
            settings.sync_hours if settings.sync_hours is not None else settings.effective_hours
        )
        self.sections.setCurrentRow(1)
        self._validate()
        self.resize(640, 360)

    def _hours(self) -> float | None:
        """The chosen period (None: inherit); KscertError if the value is not allowed."""
        if self.inherit.isChecked():
            return None
        return check_sync_hours(self.hours.value())

    def _validate(self) -> None:
        self.hours.setEnabled(not self.inherit.isChecked())
        try:
            hours = self._hours()
        except KscertError as err:
            self.error.setText(str(err))
            self.ok_button.setEnabled(False)
            self.effective.setText("")
            return
        self.error.setText("")
        self.ok_button.setEnabled(True)
        effective = self.settings.inherited_hours if hours is None else hours
        self.effective.setText(
            f"Devices of this group synchronize every {hours_text(effective)}"
            + (" (inherited)." if hours is None else ".")
            + f" Not seen for more than {hours_text(effective * 3)}: at risk."
        )

    def accept(self) -> None:
        try:
            hours = self._hours()
        except KscertError:
            return
        self._result = GroupSyncRequest(self.settings.id, hours)
        super().accept()


__all__ = ["MIN_SYNC_HOURS", "GroupPropertiesDialog", "GroupSyncRequest"]
