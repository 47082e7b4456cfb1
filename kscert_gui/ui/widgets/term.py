"""The "Activation term" group shared by the Reissue certificate and Certificate windows."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from kscert_gui.model.schedule import MAX_TERM_DAYS, MIN_TERM_DAYS, RECOMMENDED_TERM_DAYS
from kscert_gui.ui import ids


def tab_to_checked(*buttons: QRadioButton) -> None:
    """Tab reaches only the chosen option of a group (the arrow keys move between them), so
    Tab then Space never switches to another option by accident (DESIGN §8)."""

    def sync() -> None:
        for button in buttons:
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus if button.isChecked()
                                  else Qt.FocusPolicy.ClickFocus)

    for button in buttons:
        button.toggled.connect(sync)
    sync()


class ActivationTermGroup(QGroupBox):
    """**Immediately** / **After this period expires, days** + a number field (1 to 396)."""

    sig_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Activation term", parent)
        self.setObjectName(ids.GROUP_TERM)
        self.immediately = QRadioButton("&Immediately")
        self.immediately.setObjectName(ids.RADIO_IMMEDIATELY)
        self.immediately.setAccessibleName("Immediately")
        self.after_days = QRadioButton("&After this period expires, days")
        self.after_days.setObjectName(ids.RADIO_AFTER_DAYS)
        self.after_days.setAccessibleName("After this period expires, days")
        self.days = QSpinBox()
        self.days.setObjectName(ids.SPIN_DAYS)
        self.days.setAccessibleName("Activation term in days")
        self.days.setRange(MIN_TERM_DAYS, MAX_TERM_DAYS)
        self.days.setValue(RECOMMENDED_TERM_DAYS)
        self.days.setSuffix(" days")
        self._buttons = QButtonGroup(self)
        self._buttons.addButton(self.immediately)
        self._buttons.addButton(self.after_days)
        self.after_days.setChecked(True)
        tab_to_checked(self.immediately, self.after_days)

        layout = QGridLayout(self)
        layout.addWidget(self.immediately, 0, 0, 1, 2)
        layout.addWidget(self.after_days, 1, 0)
        layout.addWidget(self.days, 1, 1)
        layout.setColumnStretch(0, 1)

        self.immediately.toggled.connect(self._changed)
        self.days.valueChanged.connect(self._changed)
        self._sync_enabled()

    def term_days(self) -> int | None:
        """None for Immediately, else N."""
        return None if self.immediately.isChecked() else self.days.value()

    def set_term(self, days: int | None) -> None:
        if days is None:
            self.immediately.setChecked(True)
        else:
            self.after_days.setChecked(True)
            self.days.setValue(days)

    def focus_chain(self) -> list[QWidget]:
        return [self.immediately, self.after_days, self.days]

    def _sync_enabled(self) -> None:
        self.days.setEnabled(self.after_days.isChecked())

    def _changed(self) -> None:
        self._sync_enabled()
        self.sig_changed.emit()
