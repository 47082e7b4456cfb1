"""The Add endpoint window: HOST:PORT, a label and a server name, checked as you type.

The rule is the one ``kscert watch add`` applies (services.watch.new_endpoint, no I/O);
an endpoint already watched is refused by the store when the page adds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from kscert_gui.model.errors import UsageError
from kscert_gui.services.watch import new_endpoint
from kscert_gui.ui import ids, text
from kscert_gui.ui.widgets.request_dialog import RequestDialog


@dataclass(frozen=True)
class AddEndpointRequest:
    endpoint: str
    name: str | None
    servername: str | None


class AddEndpointDialog(RequestDialog[AddEndpointRequest]):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(ids.ADD_ENDPOINT_DIALOG)
        self.setWindowTitle("Add endpoint")
        self.setAccessibleName("Add endpoint")
        self.endpoint = QLineEdit()
        self.endpoint.setObjectName(ids.EDIT_WATCH_ENDPOINT)
        self.endpoint.setAccessibleName("Endpoint")
        self.endpoint.setPlaceholderText("mdm.example.com:13292")
        self.name = QLineEdit()
        self.name.setObjectName(ids.EDIT_WATCH_NAME)
        self.name.setAccessibleName("Label")
        self.name.setPlaceholderText("optional")
        self.servername = QLineEdit()
        self.servername.setObjectName(ids.EDIT_WATCH_SERVERNAME)
        self.servername.setAccessibleName("Server name (SNI)")
        self.servername.setPlaceholderText("optional: the host name to ask for")
        self.error = QLabel()
        self.error.setObjectName(ids.LABEL_WATCH_ADD_ERROR)
        self.error.setAccessibleName("Why the endpoint cannot be added")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {text.ALERT_COLOR}")
        form = QFormLayout()
        for caption, field in (("&Endpoint (HOST:PORT):", self.endpoint),
                               ("&Label:", self.name), ("&Server name:", self.servername)):
            label = QLabel(caption)
            label.setBuddy(field)
            form.addRow(label, field)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self._make_buttons())
        for field in (self.endpoint, self.name, self.servername):
            field.textChanged.connect(self._validate)
        self._validate()
        self.resize(460, self.sizeHint().height())

    def _request(self) -> tuple[AddEndpointRequest | None, str]:
        endpoint = self.endpoint.text().strip()
        if not endpoint:
            return None, ""
        name = self.name.text() if self.name.text().strip() else None
        servername = self.servername.text().strip() or None
        try:
            new_endpoint(endpoint, name, servername)
        except UsageError as err:
            return None, err.message
        return AddEndpointRequest(endpoint, name, servername), ""

    def _validate(self) -> None:
        request, problem = self._request()
        self.ok_button.setEnabled(request is not None)
        self.error.setText(problem)
        self.error.setVisible(bool(problem))

    def accept(self) -> None:
        request, _problem = self._request()
        if request is None:
            return
        self._result = request
        super().accept()

    @classmethod
    def ask(cls, parent: QWidget | None) -> AddEndpointRequest | None:
        return cls(parent).run()
