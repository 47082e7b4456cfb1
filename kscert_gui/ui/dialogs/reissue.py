"""The **Reissue certificate** window (DESIGN §3, §5, §8)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.clock import Clock, ensure_utc, system_clock
from kscert_gui.model.errors import KscertError
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissuePlan, ReissueRequest, TermContext
from kscert_gui.ui import ids, text
from kscert_gui.ui.console import Console, as_console
from kscert_gui.ui.widgets.issues import Verdict, VerdictLabels
from kscert_gui.ui.widgets.request_dialog import RequestDialog
from kscert_gui.ui.widgets.term import ActivationTermGroup, tab_to_checked

KEY_SIZES = (2048, 3072, 4096)

#: Syntax only (letters of any script for IDNA names, digits, dots, hyphens, IPv6 colons);
#: whether it is a real host name or IP address is the model's call.
ADDRESS_SYNTAX = r"[\w.\-:\[\]%]*"


#: The confirmation asked on OK: True goes on, False returns to the window.
Confirm = Callable[[ReissueRequest, ReissuePlan], bool]


class ReissueDialog(RequestDialog[ReissueRequest]):
    """Connection address + Activation term; live validation through ``plan_reissue``."""

    def __init__(
        self, context: TermContext | Console | AdministrationServer,
        parent: QWidget | None = None,
        *,
        confirm: Confirm | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``context``: the snapshot's term context (a console or server is read once, for
        scripts and tests); every edit is validated against it without a store read.
        ``confirm``: asked on OK with the request and its plan; False keeps the window open
        with everything entered (No on the confirmation returns here).
        ``clock``: the real clock (the server's; default the system's): on OK the context
        is moved on by the time that passed since it was read."""
        super().__init__(parent)
        self._confirm = confirm
        if not isinstance(context, TermContext):
            server = as_console(context).server
            clock = clock or server.clock
            context = server.term_context()
        self._clock: Clock = clock or system_clock
        self._context = context
        self._plan: ReissuePlan | None = None
        self.setObjectName(ids.REISSUE_DIALOG)
        self.setWindowTitle("Reissue certificate")
        self.setAccessibleName("Reissue certificate")

        old_address = self._old_address()

        # Connection address
        self.address_group = QGroupBox("Connection address")
        self.address_group.setObjectName(ids.GROUP_ADDRESS)
        self.use_old = QRadioButton("&Use old connection address")
        self.use_old.setObjectName(ids.RADIO_OLD_ADDRESS)
        self.use_old.setAccessibleName("Use old connection address")
        self.use_old.setToolTip(old_address)
        self.change = QRadioButton("C&hange connection address to")
        self.change.setObjectName(ids.RADIO_NEW_ADDRESS)
        self.change.setAccessibleName("Change connection address to")
        self.address = QLineEdit()
        self.address.setObjectName(ids.EDIT_ADDRESS)
        self.address.setAccessibleName("New connection address")
        self.address.setPlaceholderText("host name or IP address")
        option = QRegularExpression.PatternOption.UseUnicodePropertiesOption
        self.address.setValidator(
            QRegularExpressionValidator(QRegularExpression(ADDRESS_SYNTAX, option), self)
        )
        self.old_address_label = QLabel(old_address)
        self.old_address_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.old_address_label.setAccessibleName("Old connection address")
        self._address_buttons = QButtonGroup(self)
        self._address_buttons.addButton(self.use_old)
        self._address_buttons.addButton(self.change)
        self.use_old.setChecked(True)
        tab_to_checked(self.use_old, self.change)
        self.address_error = QLabel()
        self.address_error.setObjectName(ids.LABEL_ADDRESS_ERROR)
        self.address_error.setWordWrap(True)
        self.address_error.setStyleSheet(f"color: {text.ALERT_COLOR}")
        self.address_error.setAccessibleName("Address problem")
        self.address_error.hide()
        grid = QGridLayout(self.address_group)
        grid.addWidget(self.use_old, 0, 0)
        grid.addWidget(self.old_address_label, 0, 1)
        grid.addWidget(self.change, 1, 0)
        grid.addWidget(self.address, 1, 1)
        grid.addWidget(self.address_error, 2, 0, 1, 2)
        grid.setColumnStretch(1, 1)

        # Key length (DESIGN §3 option)
        self.key_size = QComboBox()
        self.key_size.setObjectName(ids.COMBO_KEY_SIZE)
        self.key_size.setAccessibleName("Key length")
        for bits in KEY_SIZES:
            self.key_size.addItem(f"RSA {bits} bits", bits)
        key_form = QFormLayout()
        key_label = QLabel("&Key length:")
        key_label.setBuddy(self.key_size)
        key_form.addRow(key_label, self.key_size)

        # Activation term
        self.term = ActivationTermGroup()

        self.issues = VerdictLabels(ids.TERM_ISSUES)
        self.switch_note = QLabel()
        self.switch_note.setWordWrap(True)
        self.switch_note.setAccessibleName("Switch time")
        self.switch_note.hide()

        self._make_buttons()

        layout = QVBoxLayout(self)
        layout.addWidget(self.address_group)
        layout.addLayout(key_form)
        layout.addWidget(self.term)
        layout.addWidget(self.issues)
        layout.addWidget(self.switch_note)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        chain: list[QWidget] = [
            self.use_old, self.change, self.address, self.key_size, *self.term.focus_chain(),
            self.ok_button, self.cancel_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

        self.use_old.toggled.connect(self._on_changed)
        self.address.textChanged.connect(self._on_changed)
        self.term.sig_changed.connect(self._on_changed)
        self.key_size.currentIndexChanged.connect(self._on_changed)
        self.setMinimumWidth(520)
        self._on_changed()

    # --- API ------------------------------------------------------------------------------

    @property
    def plan(self) -> ReissuePlan | None:
        """The last successful validation (None while the input is not acceptable)."""
        return self._plan

    def request(self) -> ReissueRequest:
        address = self.address.text().strip() if self.change.isChecked() else None
        bits = self.key_size.currentData()
        return ReissueRequest(
            address=address,
            term_days=self.term.term_days(),
            key_size=int(bits) if bits is not None else 2048,
        )

    @classmethod
    def ask(
        cls, parent: QWidget | None, context: TermContext | Console | AdministrationServer,
        *, confirm: Confirm | None = None, clock: Clock | None = None,
    ) -> ReissueRequest | None:
        return cls(context, parent, confirm=confirm, clock=clock).run()

    def accept(self) -> None:
        # The switch time the confirmation names is the one of now: a store's clock that
        # runs with real time has moved on since the snapshot was read (no store read).
        self._context = self._context.as_of(ensure_utc(self._clock()))
        if not self._validate() or self._plan is None:
            return
        request = self.request()
        if self._confirm is not None and not self._confirm(request, self._plan):
            return  # No: back to this window, nothing lost
        self._result = request
        super().accept()

    # --- validation -----------------------------------------------------------------------

    def _old_address(self) -> str:
        return self._context.old_address

    def _on_changed(self) -> None:
        self.address.setEnabled(self.change.isChecked())
        self._validate()

    def _validate(self) -> bool:
        """Ask the model; fill the inline messages; return whether OK may be pressed."""
        self._plan = None
        self.address_error.hide()
        if self.change.isChecked() and not self.address.text().strip():
            self._show_address_error("Enter the new connection address (a host name or an IP "
                                     "address).")
            self.issues.set_verdicts([])
            self.switch_note.hide()
            return False
        try:
            plan = self._context.plan_reissue(self.request())
        except KscertError as err:
            self._show_address_error(str(err))
            self.issues.set_verdicts([])
            self.switch_note.hide()
            return False
        self._plan = plan
        self.issues.set_verdicts([Verdict.of_issue(i) for i in plan.issues])
        if plan.switch_at is not None:
            self.switch_note.setText(
                f"The new certificate is delivered to devices as the reserve certificate and "
                f"becomes the main certificate at {text.instant(plan.switch_at)}."
            )
            self.switch_note.show()
        else:
            self.switch_note.hide()
        self.ok_button.setEnabled(not plan.blocked)
        return not plan.blocked

    def _show_address_error(self, message: str) -> None:
        self.address_error.setText(message)
        self.address_error.show()
        self.ok_button.setEnabled(False)
