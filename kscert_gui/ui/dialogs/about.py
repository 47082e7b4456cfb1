"""**Help → About**: the program's version (package metadata), the store and the licence."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLayout,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.services.audit_service import clean
from kscert_gui.ui import ids, resources

DISTRIBUTION = "kscert_gui"


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def licence() -> str:
    try:
        md = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
    for field in ("License-Expression", "License"):
        value = md[field] if field in md else None
        if value:
            return str(value)
    return "unknown"


def about_text(store: Path, *, read_only: bool) -> str:
    mode = " (read-only)" if read_only else ""
    return (
        f"kscert_gui {version()}\n"
        "Certificates console for the mobile Administration Server\n\n"
        f"Store: {clean(str(store))}{mode}\n"
        f"Licence: {licence()}"
    )


class AboutDialog(QDialog):
    def __init__(self, store: Path, *, read_only: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(ids.ABOUT_DIALOG)
        self.setWindowTitle("About kscert_gui")
        self.setAccessibleName("About kscert_gui")
        self.setWindowIcon(resources.icon("kscert-gui"))
        self.label = QLabel(about_text(store, read_only=read_only))
        self.label.setObjectName(ids.LABEL_ABOUT)
        self.label.setAccessibleName("About")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        if close is not None:
            close.setAccessibleName("Close")
        layout = QVBoxLayout(self)
        # As big as its text: nothing to gain from resizing it.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)
        layout.addWidget(self.label)
        layout.addWidget(self.buttons)

    @classmethod
    def show_for(cls, parent: QWidget | None, store: Path, *, read_only: bool) -> None:
        cls(store, read_only=read_only, parent=parent).exec()
