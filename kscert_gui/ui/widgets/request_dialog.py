"""The modal window that answers with a request: OK gives ``R``, Cancel or Esc gives None.

Every window of the console that collects input for one change (Reissue certificate,
Certificate, Export, Add distribution point, host Properties, the pickers, Add device,
group Properties) has the same OK/Cancel row, the same result and the same way to be
asked; they share it here.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QWidget

from kscert_gui.ui import ids

R = TypeVar("R")


class RequestDialog(QDialog, Generic[R]):
    """A QDialog with an OK/Cancel row whose answer is ``result_value()``.

    Subclasses call :meth:`_make_buttons` once while building, set ``self._result`` in
    their ``accept`` before calling ``super().accept()``, and are asked with :meth:`run`.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._result: R | None = None
        self.buttons = QDialogButtonBox()

    def _make_buttons(self) -> QDialogButtonBox:
        """The OK/Cancel row (named for tests and screen readers), wired to accept/reject."""
        self.buttons.setStandardButtons(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.setObjectName(ids.DIALOG_BUTTONS)
        self.ok_button.setAccessibleName("OK")
        self.cancel_button.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        return self.buttons

    @property
    def ok_button(self) -> QPushButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None, "_make_buttons() was not called"
        return button

    @property
    def cancel_button(self) -> QPushButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        assert button is not None, "_make_buttons() was not called"
        return button

    def grow_to_fit(self) -> None:
        """Grow (never shrink) to the height the contents need at the current width, so a
        message line that appears never squashes the fields (word-wrapped texts need more
        height than the layout's minimum size says)."""
        layout = self.layout()
        if layout is None or not self.isVisible():
            return
        layout.activate()
        needed = (layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth()
                  else layout.totalSizeHint().height())
        if needed > self.height():
            self.resize(self.width(), needed)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:
            self.grow_to_fit()
        return handled

    def result_value(self) -> R | None:
        """The request of an accepted window; None after Cancel, Esc or closing it."""
        return self._result if self.result() == QDialog.DialogCode.Accepted else None

    def reject(self) -> None:
        self._result = None
        super().reject()

    def run(self) -> R | None:
        """Show the window modally; its answer. The window is deleted afterwards."""
        try:
            self.exec()
            return self.result_value()
        finally:
            self.deleteLater()
