"""Host **Properties** of a distribution point, with the **Connection gateway** section.

Sections pane: *General* and *Connection gateway*. The Connection gateway section
has the **Connection gateway** check box and the two port numbers (port for
Network Agents, default 13000; port for connecting mobile devices, default
13292): a QValidator for the syntax (digits only), the model's ``check_ports``
for their meaning (1 to 65535 and distinct); its verdict enables OK and fills
the inline message. The section also shows the mobile certificate the gateway
holds and offers **Reconnect** when it differs from the main certificate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model import gateways as rules
from kscert_gui.model.errors import KscertError
from kscert_gui.services.views import DistributionPointView
from kscert_gui.ui import ids, tasks, text
from kscert_gui.ui.console import Console
from kscert_gui.ui.gateways import reconnect as reconnect_flow
from kscert_gui.ui.widgets.request_dialog import RequestDialog

GENERAL = "General"
CONNECTION_GATEWAY = "Connection gateway"
#: Syntax only: up to five digits. Range and distinctness are the model's call.
PORT_SYNTAX = r"\d{0,5}"


@dataclass(frozen=True)
class GatewaySettings:
    """What the host Properties window asks for."""

    host: str
    enabled: bool
    agent_port: int
    mobile_port: int


def _value(accessible: str) -> QLabel:
    label = QLabel()
    label.setAccessibleName(accessible)
    label.setWordWrap(True)
    return label


class HostPropertiesDialog(RequestDialog[GatewaySettings]):
    def __init__(
        self, console: Console, view: DistributionPointView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._console = console
        self.view = view
        self.task: tasks.Task[Any] | None = None
        self.setObjectName(ids.HOST_PROPERTIES)
        self.setWindowTitle(f"Properties: {view.host}")
        self.setAccessibleName(f"Properties of {view.host}")

        self.sections = QListWidget()
        self.sections.setObjectName(ids.HOST_SECTIONS)
        self.sections.setAccessibleName("Sections")
        self.sections.addItems([GENERAL, CONNECTION_GATEWAY])
        self.sections.setMaximumWidth(200)

        # General
        self.general_page = QWidget()
        self.general_page.setObjectName(ids.HOST_PAGE_GENERAL)
        self.general_page.setAccessibleName(GENERAL)
        general = QFormLayout(self.general_page)
        general.addRow("Device:", QLabel(view.host))
        general.addRow("Platform:", QLabel(view.platform))
        general.addRow("Group:", QLabel(view.group))
        general.addRow("Distribution point scope:", QLabel(view.scope))

        # Connection gateway
        self.gateway_page = QWidget()
        self.gateway_page.setObjectName(ids.HOST_PAGE_GATEWAY)
        self.gateway_page.setAccessibleName(CONNECTION_GATEWAY)
        self.gateway_check = QCheckBox("&Connection gateway")
        self.gateway_check.setObjectName(ids.CHECK_CONNECTION_GATEWAY)
        self.gateway_check.setAccessibleName("Connection gateway")
        self.gateway_check.setChecked(view.gateway)
        syntax = QRegularExpression(PORT_SYNTAX)
        self.agent_port = QLineEdit(str(view.agent_port))
        self.agent_port.setObjectName(ids.EDIT_AGENT_PORT)
        self.agent_port.setAccessibleName(rules.AGENT_PORT_LABEL)
        self.agent_port.setValidator(QRegularExpressionValidator(syntax, self))
        self.agent_port.setPlaceholderText(str(rules.DEFAULT_AGENT_PORT))
        self.mobile_port = QLineEdit(str(view.mobile_port))
        self.mobile_port.setObjectName(ids.EDIT_MOBILE_PORT)
        self.mobile_port.setAccessibleName(rules.MOBILE_PORT_LABEL)
        self.mobile_port.setValidator(QRegularExpressionValidator(syntax, self))
        self.mobile_port.setPlaceholderText(str(rules.DEFAULT_MOBILE_PORT))
        self.port_error = QLabel()
        self.port_error.setObjectName(ids.LABEL_PORT_ERROR)
        self.port_error.setAccessibleName("Port problem")
        self.port_error.setWordWrap(True)
        self.port_error.setStyleSheet(f"color: {text.ALERT_COLOR}")
        self.held = _value("Mobile certificate held")
        self.held.setObjectName(ids.LABEL_HELD_CERTIFICATE)
        self.reconnect_button = QPushButton("&Reconnect")
        self.reconnect_button.setObjectName(ids.BUTTON_HOST_RECONNECT)
        self.reconnect_button.setAccessibleName("Reconnect the connection gateway")
        self.reconnect_button.setAutoDefault(False)
        gateway = QFormLayout(self.gateway_page)
        gateway.addRow(self.gateway_check)
        agent_label = QLabel(f"Port for &Network Agents (default {rules.DEFAULT_AGENT_PORT}):")
        agent_label.setBuddy(self.agent_port)
        gateway.addRow(agent_label, self.agent_port)
        mobile_label = QLabel(
            f"Port for connecting &mobile devices (default {rules.DEFAULT_MOBILE_PORT}):"
        )
        mobile_label.setBuddy(self.mobile_port)
        gateway.addRow(mobile_label, self.mobile_port)
        gateway.addRow(self.port_error)
        gateway.addRow("Mobile certificate held:", self.held)
        reconnect_row = QHBoxLayout()
        reconnect_row.addWidget(self.reconnect_button)
        reconnect_row.addStretch(1)
        gateway.addRow(reconnect_row)

        self.pages = QStackedWidget()
        self.pages.setObjectName(ids.HOST_PAGES)
        self.pages.addWidget(self.general_page)
        self.pages.addWidget(self.gateway_page)

        self._make_buttons()

        body = QHBoxLayout()
        body.addWidget(self.sections)
        body.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        chain: list[QWidget] = [
            self.sections, self.gateway_check, self.agent_port, self.mobile_port,
            self.reconnect_button, self.ok_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

        self.sections.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.gateway_check.toggled.connect(self._validate)
        self.agent_port.textChanged.connect(self._validate)
        self.mobile_port.textChanged.connect(self._validate)
        self.reconnect_button.clicked.connect(self.reconnect)
        self.sections.setCurrentRow(0)
        self.setMinimumWidth(640)
        self._show_held(view)
        self._validate()

    def select_section(self, label: str) -> None:
        """Select a section of the Sections pane by its label."""
        row = [self.sections.item(i).text() for i in range(self.sections.count())].index(label)
        self.sections.setCurrentRow(row)

    # --- validation -----------------------------------------------------------------------

    def settings(self) -> GatewaySettings:
        """The fields as a request; ValidationError when a port is not acceptable."""
        agent = rules.parse_port(self.agent_port.text(), rules.AGENT_PORT_LABEL)
        mobile = rules.parse_port(self.mobile_port.text(), rules.MOBILE_PORT_LABEL)
        rules.check_ports(agent, mobile)
        return GatewaySettings(self.view.host, self.gateway_check.isChecked(), agent, mobile)

    def _validate(self) -> bool:
        enabled = self.gateway_check.isChecked()
        self.agent_port.setEnabled(enabled)
        self.mobile_port.setEnabled(enabled)
        try:
            self.settings()
        except KscertError as err:
            self.port_error.setText(str(err))
            self.port_error.show()
            self.ok_button.setEnabled(False)
            return False
        self.port_error.setText("")
        self.port_error.hide()
        self.ok_button.setEnabled(not self._console.read_only)
        return True

    def accept(self) -> None:
        if not self._validate():
            return
        self._result = self.settings()
        super().accept()

    # --- held certificate and Reconnect ---------------------------------------------------

    def _show_held(self, view: DistributionPointView) -> None:
        self.view = view
        self.held.setText(reconnect_flow.held_text(view))
        self.held.setStyleSheet(f"color: {text.ALERT_COLOR}" if view.stale else "")
        self.reconnect_button.setEnabled(view.stale and not self._console.read_only)
        self.reconnect_button.setVisible(view.gateway)

    def reconnect(self) -> None:
        self.task = reconnect_flow.reconnect(self, self._console, self.view.host,
                                             self._show_held)

    @classmethod
    def ask(
        cls, parent: QWidget | None, console: Console, view: DistributionPointView
    ) -> GatewaySettings | None:
        return cls(console, view, parent).run()
