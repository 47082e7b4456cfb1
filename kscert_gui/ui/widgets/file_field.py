"""A path field with a **Browse** button that opens a file dialog filtered by extension
(in the last folder used: :mod:`kscert_gui.ui.widgets.file_dialogs`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

from kscert_gui.ui.widgets import file_dialogs

#: A usual path: the field shows one like it in full however small its window is made
#: (the Certificate window, at its smallest, showed about 12 characters of a path).
USUAL_PATH = "/home/operator/Downloads/mdm.training.example.p12"


class FileField(QWidget):
    """``edit`` holds the path; ``browse`` opens QFileDialog with ``name_filter``."""

    sig_changed = Signal()

    def __init__(
        self,
        *,
        edit_name: str,
        button_name: str,
        accessible: str,
        dialog_title: str,
        name_filter: str,
        save: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._dialog_title = dialog_title
        self._filter = name_filter
        self._save = save
        self.edit = QLineEdit()
        self.edit.setObjectName(edit_name)
        self.edit.setAccessibleName(accessible)
        self.edit.setClearButtonEnabled(True)
        self.edit.setMinimumWidth(self.edit.fontMetrics().horizontalAdvance(USUAL_PATH)
                                  + 2 * self.edit.sizeHint().height())  # + clear button
        self.browse = QPushButton("Browse")
        self.browse.setObjectName(button_name)
        self.browse.setAccessibleName(f"Browse for {accessible.lower()}")
        self.browse.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)
        self.setFocusProxy(self.edit)
        self.edit.textChanged.connect(self.sig_changed)
        self.browse.clicked.connect(self._browse)

    def set_filter(self, name_filter: str) -> None:
        self._filter = name_filter

    def path(self) -> Path | None:
        raw = self.edit.text().strip()
        return Path(raw).expanduser() if raw else None

    def set_path(self, path: Path | str) -> None:
        self.edit.setText(str(path))

    def _browse(self) -> None:
        """The file dialog starts at the path typed, else in the last folder used."""
        start = self.edit.text().strip()
        if self._save:
            chosen = file_dialogs.save_file(self, self._dialog_title, self._filter,
                                            start=start)
        else:
            chosen = file_dialogs.open_file(self, self._dialog_title, self._filter, start)
        if chosen is None:
            return
        if str(chosen) == self.edit.text():
            # The same file again: it may hold something else now (exported anew), so
            # whatever reads it reads it again.
            self.sig_changed.emit()
        else:
            self.edit.setText(str(chosen))
