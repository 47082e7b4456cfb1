"""Properties → Administration server connection settings → **Certificates** (DESIGN §8)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.clock import ensure_utc
from kscert_gui.services.server import Which
from kscert_gui.services.views import (
    CertView,
    DistributionPointView,
    ImportCheck,
    ImportRequest,
    ReissuePlan,
    ReissueRequest,
    ServerStatus,
)
from kscert_gui.ui import ids, messages, tasks, text
from kscert_gui.ui.console import Console
from kscert_gui.ui.gateways.reconnect import StaleGatewayNotice
from kscert_gui.ui.passphrase import run_with_passphrase
from kscert_gui.ui.status_feed import StatusFeed, StatusReading
from kscert_gui.ui.widgets.issues import Verdict, VerdictLabels
from kscert_gui.ui.widgets.term import tab_to_checked
from kscert_gui.ui.widgets.timeline import CertificateTimeline, TimelineData

#: Term codes that make the confirmation default to No (destructive).
DESTRUCTIVE = ("immediate-with-devices", "replace-reserve")
DONE_TEXT = "The certificate is reissued for use as the {role}."


def _value_label(name: str, accessible: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setAccessibleName(accessible)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse
        | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    return label


def thumbprint(sha256: str) -> str:
    """A SHA-256 thumbprint in four groups of 16, so that it wraps in a narrow window (the
    tooltip and the viewer have it in one piece)."""
    return " ".join(sha256[i:i + 16] for i in range(0, len(sha256), 16))


def set_instant(label: QLabel, value: datetime | None) -> None:
    """Local time with its offset; UTC in the tooltip (DESIGN §8)."""
    label.setText(text.instant(value) if value is not None else "—")
    label.setToolTip(text.instant_utc(value) if value is not None else "")


def confirmation_text(
    *,
    what: str,
    term_days: int | None,
    switch_at_text: str | None,
    needs: tuple[str, ...],
    devices: int,
    reserve: CertView | None,
    new_address: str | None = None,
    current_address: str | None = None,
) -> str:
    """The question of the confirmation window, naming every consequence."""
    if term_days is None:
        lines = [f"{what} will become the main certificate immediately."]
        if "immediate-with-devices" in needs:
            lines.append(
                f"The connection with all {text.thousands(devices)} managed mobile devices will "
                "be lost: the new certificate is not delivered to them, and the previous "
                "certificate stops being valid. To reconnect them, the endpoint agent must be "
                "reinstalled on each device."
            )
    else:
        when = f" at {switch_at_text}" if switch_at_text else " when the activation term ends"
        lines = [
            f"{what} will be delivered to devices during synchronization as the reserve "
            f"certificate and will become the main certificate{when}."
        ]
    if reserve is not None and ("replace-reserve" in needs or term_days is None):
        lines.append(
            "The pending reserve certificate (valid to "
            f"{text.instant(reserve.info.not_after)}) is cancelled and replaced."
        )
    if new_address is not None:
        lines.append(
            f"Devices connect to {current_address} now; the new certificate is for "
            f"{new_address}, so they will be told to connect to {new_address}."
        )
    lines.append("Do you want to continue?")
    return "\n\n".join(lines)


class CertificatesPage(QWidget):
    """The mobile certificate: options, current and reserve certificates, timeline, warnings."""

    sig_refreshed = Signal()
    #: A reissue, import or cancel succeeded (its status has already gone to the main window
    #: through the shared status feed).
    sig_changed = Signal()

    def __init__(
        self, console: Console, parent: QWidget | None = None, *, feed: StatusFeed | None = None
    ) -> None:
        """``feed``: the status shared with the main window (ui/status_feed.py)."""
        super().__init__(parent)
        self.console = console
        self.status: ServerStatus | None = None
        self.feed = feed if feed is not None else StatusFeed(console, self)
        self._shown: StatusReading | None = None
        self._radio_for: int | None = None
        self.task: tasks.Task[Any] | None = None
        self.setObjectName(ids.PAGE_CERTIFICATES)
        self.setAccessibleName("Certificates")

        title = QLabel("<b>Certificates</b>")
        title.setTextFormat(Qt.TextFormat.RichText)

        # Administration Server authentication by mobile devices
        self.auth_group = QGroupBox("Administration Server authentication by mobile devices")
        self.auth_group.setObjectName(ids.GROUP_MOBILE_AUTH)
        self.radio_issued = QRadioButton("&Certificate issued through Administration Server")
        self.radio_issued.setObjectName(ids.RADIO_ISSUED)
        self.radio_issued.setAccessibleName("Certificate issued through Administration Server")
        self.radio_other = QRadioButton("&Other certificate")
        self.radio_other.setObjectName(ids.RADIO_OTHER)
        self.radio_other.setAccessibleName("Other certificate")
        self._options = QButtonGroup(self)
        self._options.addButton(self.radio_issued)
        self._options.addButton(self.radio_other)
        self.radio_issued.setChecked(True)
        tab_to_checked(self.radio_issued, self.radio_other)
        self.reissue_button = QPushButton("&Reissue")
        self.reissue_button.setObjectName(ids.BUTTON_REISSUE)
        self.reissue_button.setAccessibleName("Reissue")
        self.browse_button = QPushButton("&Browse")
        self.browse_button.setObjectName(ids.BUTTON_BROWSE_OTHER)
        self.browse_button.setAccessibleName("Browse for another certificate")
        for button in (self.reissue_button, self.browse_button):
            button.setAutoDefault(False)
        auth = QGridLayout(self.auth_group)
        auth.addWidget(self.radio_issued, 0, 0)
        auth.addWidget(self.reissue_button, 0, 1)
        auth.addWidget(self.radio_other, 1, 0)
        auth.addWidget(self.browse_button, 1, 1)
        auth.setColumnStretch(0, 1)

        # Current certificate
        self.current_group = QGroupBox("Current certificate")
        self.current_group.setObjectName(ids.GROUP_CURRENT)
        self.subject = _value_label(ids.LABEL_SUBJECT, "Subject")
        self.san = _value_label(ids.LABEL_SAN, "Subject alternative names")
        self.valid_from = _value_label(ids.LABEL_VALID_FROM, "Valid from")
        self.valid_to = _value_label(ids.LABEL_VALID_TO, "Valid to")
        self.days_left = _value_label(ids.LABEL_DAYS_LEFT, "Days left")
        self.sha256 = _value_label(ids.LABEL_SHA256, "SHA-256 thumbprint")
        self.source = _value_label(ids.LABEL_SOURCE, "Source")
        self.connection = _value_label(ids.LABEL_CONNECTION, "Devices connected")
        self.cutover = _value_label(ids.LABEL_CUTOVER, "At the cut-over")
        self.view_button = QPushButton("&View certificate")
        self.view_button.setObjectName(ids.BUTTON_VIEW_CERTIFICATE)
        self.view_button.setAccessibleName("View certificate")
        self.view_button.setAutoDefault(False)
        self.check_button = QPushButton("Chec&k")
        self.check_button.setObjectName(ids.BUTTON_CHECK_ENDPOINT)
        self.check_button.setAccessibleName("Check what the server endpoint serves")
        self.check_button.setToolTip(
            "Connect to the Administration Server's port for mobile devices with TLS and "
            "compare the served certificate with the main certificate"
        )
        self.check_button.setAutoDefault(False)
        current = QFormLayout(self.current_group)
        current.addRow("Subject:", self.subject)
        current.addRow("Subject alternative names:", self.san)
        current.addRow("Valid from:", self.valid_from)
        current.addRow("Valid to:", self.valid_to)
        current.addRow("Days left:", self.days_left)
        current.addRow("SHA-256:", self.sha256)
        current.addRow("Source:", self.source)
        current.addRow("Devices:", self.connection)
        current.addRow("At the cut-over:", self.cutover)
        view_row = QHBoxLayout()
        view_row.addWidget(self.view_button)
        view_row.addWidget(self.check_button)
        view_row.addStretch(1)
        current.addRow(view_row)

        # Reserve certificate
        self.reserve_group = QGroupBox("Reserve certificate")
        self.reserve_group.setObjectName(ids.GROUP_RESERVE)
        self.reserve_subject = _value_label(ids.LABEL_RESERVE_SUBJECT, "Reserve subject")
        self.reserve_from = _value_label(ids.LABEL_RESERVE_VALID_FROM, "Reserve valid from")
        self.reserve_to = _value_label(ids.LABEL_RESERVE_VALID_TO, "Reserve valid to")
        self.switch_at = _value_label(ids.LABEL_SWITCH_AT, "Switch time")
        self.delivery = _value_label(ids.LABEL_DELIVERY, "Delivery to devices")
        self.view_reserve_button = QPushButton("View r&eserve certificate")
        self.view_reserve_button.setObjectName(ids.BUTTON_VIEW_RESERVE)
        self.view_reserve_button.setAccessibleName("View reserve certificate")
        self.cancel_reserve_button = QPushButton("Cancel reserve certificate")
        self.cancel_reserve_button.setObjectName(ids.BUTTON_CANCEL_RESERVE)
        self.cancel_reserve_button.setAccessibleName("Cancel reserve certificate")
        for button in (self.view_reserve_button, self.cancel_reserve_button):
            button.setAutoDefault(False)
        reserve_buttons = QHBoxLayout()
        reserve_buttons.addWidget(self.view_reserve_button)
        reserve_buttons.addWidget(self.cancel_reserve_button)
        reserve_buttons.addStretch(1)
        self.reserve_form = QFormLayout(self.reserve_group)
        self.reserve_form.addRow("Subject:", self.reserve_subject)
        self.reserve_form.addRow("Valid from:", self.reserve_from)
        self.reserve_form.addRow("Valid to:", self.reserve_to)
        self.reserve_form.addRow("Becomes main at:", self.switch_at)
        # DESIGN §6: the delivery count opens the at-risk list (and the delivery chart).
        self.at_risk_button = QPushButton("&At-risk devices…")
        self.at_risk_button.setObjectName(ids.BUTTON_AT_RISK)
        self.at_risk_button.setAccessibleName("Reserve certificate delivery and at-risk devices")
        self.at_risk_button.setAutoDefault(False)
        self.at_risk_button.clicked.connect(self.open_delivery)
        # The count alone in its row, the button at the end of the row below: beside the
        # button the wrapped count lost its last line (a form row does not give a wrapped
        # label beside a button the height of its lines).
        self.reserve_form.addRow("Delivery:", self.delivery)
        reserve_buttons.addWidget(self.at_risk_button)
        self.reserve_form.addRow(reserve_buttons)

        self.timeline = CertificateTimeline()

        # History: the retired and cancelled certificates (DESIGN §8).
        self.history_group = QGroupBox("History")
        self.history_group.setObjectName(ids.GROUP_HISTORY)
        self.history = QTreeWidget()
        self.history.setObjectName(ids.HISTORY_LIST)
        self.history.setAccessibleName("Certificate history")
        self.history.setRootIsDecorated(False)
        self.history.setUniformRowHeights(True)
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.history.setHeaderLabels(
            ["State", "Issued to", "Valid from", "Valid to", "Source", "SHA-256"])
        self.history.setMaximumHeight(140)
        self.history_tools: object | None = None
        history_layout = QVBoxLayout(self.history_group)
        history_layout.addWidget(self.history)

        self.warnings = VerdictLabels(ids.WARNINGS_LIST)
        self.warnings.setAccessibleName("Warnings")
        # DESIGN §7: gateways that still serve an old certificate, each with Reconnect.
        self.gateway_notice = StaleGatewayNotice(console)
        self.gateway_notice.sig_reconnected.connect(self._gateway_reconnected)
        self.result_label = QLabel()
        self.result_label.setAccessibleName("Result")
        self.result_label.setWordWrap(True)
        self.result_label.hide()
        #: What the store looked like after the change the result line tells of.
        self._result_outcome: tuple[object, ...] | None = None

        body = QWidget()
        inner = QVBoxLayout(body)
        inner.addWidget(title)
        inner.addWidget(self.auth_group)
        # Under Reissue and Browse, where the change was asked for: seen without scrolling
        # (below the warnings it was out of view at the window's usual size).
        inner.addWidget(self.result_label)
        inner.addWidget(self.current_group)
        inner.addWidget(self.reserve_group)
        inner.addWidget(self.timeline)
        inner.addWidget(self.warnings)
        inner.addWidget(self.gateway_notice)
        inner.addWidget(self.history_group)
        inner.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Never sideways: the texts wrap, and the page is never narrower than its widest
        # row of buttons, so no button hides behind horizontal scrolling (DESIGN §8).
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(body.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width())
        self.scroll_area = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        chain: list[QWidget] = [
            self.radio_issued, self.reissue_button, self.radio_other, self.browse_button,
            self.view_button, self.check_button, self.view_reserve_button,
            self.cancel_reserve_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

        self.radio_issued.toggled.connect(self._sync_buttons)
        self.reissue_button.clicked.connect(self.reissue)
        self.browse_button.clicked.connect(self.other_certificate)
        self.view_button.clicked.connect(lambda: self.view_certificate("main"))
        self.view_reserve_button.clicked.connect(lambda: self.view_certificate("reserve"))
        self.check_button.clicked.connect(self.check_endpoint)
        self.cancel_reserve_button.clicked.connect(self.cancel_reserve)
        self.feed.show_in(self._on_status)
        if self.feed.latest is not None:
            self.apply(self.feed.latest)  # the main window's reading: no second read
        else:
            self.feed.request()

    # --- showing the state ----------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Work is running (a status read does not count: it changes nothing)."""
        return bool(tasks.working_tasks())

    def refresh(self) -> tasks.Task[StatusReading] | None:
        """Show the feed's last snapshot at once and ask it for a new one (off the GUI
        thread); it reaches this page and the main window through ``sig_status``."""
        latest = self.feed.latest
        if latest is not None and latest is not self._shown:
            self.apply(latest)
        return self.feed.request(again=True)

    @property
    def shown(self) -> StatusReading | None:
        """The reading on the page now."""
        return self._shown

    def _on_status(self, reading: StatusReading) -> None:
        # While the Properties window is closed nothing is shown; reopening reads again.
        # A change's own reading is on the page already (_done_text shows it at once).
        if self.window().isVisible() and reading is not self._shown:
            self.apply(reading)

    def apply(self, reading: StatusReading) -> None:
        """Show a status reading (or its error)."""
        self._shown = reading
        if self._result_outcome is not None and _outcome(reading) != self._result_outcome:
            # The store moved on since the change (Advance, Reinstall agent, a gateway
            # reconnected elsewhere, another process): the line told of an older state. A
            # refresh that finds it unchanged keeps the line.
            self.clear_result()
        if reading.status is None:
            self.warnings.set_verdicts([Verdict("error", "status", str(reading.error))])
            self.sig_refreshed.emit()
            return
        self.status = reading.status
        self._show(reading.status)
        self.sig_refreshed.emit()

    def _show(self, st: ServerStatus) -> None:
        main = st.main
        expiry = text.main_expiry(st)
        alert_style = f"color: {text.ALERT_COLOR}; font-weight: bold" if expiry.alert else ""
        if main is not None:
            info = main.info
            self.subject.setText(info.subject)
            self.san.setText(", ".join(info.san) or "(none)")
            set_instant(self.valid_from, info.not_before)
            set_instant(self.valid_to, info.not_after)
            self.sha256.setText(thumbprint(info.sha256))
            self.sha256.setToolTip(info.sha256)
            self.source.setText(
                "Issued through Administration Server" if main.source == "issued"
                else "Other certificate"
            )
            if main.id != self._radio_for:
                # Only for a new main certificate: a refresh never changes what a person
                # chose (DESIGN §8).
                self._radio_for = main.id
                (self.radio_other if main.source == "custom" else self.radio_issued).setChecked(
                    True)
        else:
            for label in (self.subject, self.san, self.valid_from, self.sha256, self.source):
                label.setText("—")
            self.valid_to.setText("No certificate")
        self.days_left.setText(text.days_left(st).text)
        self.days_left.setStyleSheet(alert_style)
        self.valid_to.setStyleSheet(alert_style)
        self.days_left.setProperty("alert", expiry.alert)
        for label, verdict in ((self.connection, text.connection(st)),
                               (self.cutover, text.cutover(st))):
            label.setText(verdict.text)
            label.setStyleSheet(f"color: {text.ALERT_COLOR}; font-weight: bold"
                                if verdict.alert else "")
            label.setProperty("alert", verdict.alert)
        self.view_button.setEnabled(main is not None)

        reserve = st.reserve
        if reserve is not None:
            self.reserve_group.setTitle("Reserve certificate")
            self.reserve_subject.setText(reserve.info.subject)
            self.reserve_subject.setToolTip("")
            set_instant(self.reserve_from, reserve.info.not_before)
            set_instant(self.reserve_to, reserve.info.not_after)
            set_instant(self.switch_at, st.switch_at)
            self.delivery.setText(text.delivery(st))
        else:
            self.reserve_group.setTitle("Reserve certificate: not specified")
            # One line (the window's smallest height shows every button): the advice is in
            # the tooltip, and in the expiry warning when it is due.
            self.reserve_subject.setText("None: reissue with a delayed activation term")
            self.reserve_subject.setToolTip(
                "Reissue the certificate with a delayed activation term (After this period "
                "expires, days) no later than 30 days before the current certificate expires."
            )
            for label in (self.reserve_from, self.reserve_to, self.switch_at, self.delivery):
                label.setText("—")
        self.view_reserve_button.setEnabled(reserve is not None)
        self.at_risk_button.setEnabled(st.fleet.devices > 0)

        self.timeline.set_data(
            TimelineData(
                today=st.at,
                main=(main.info.not_before, main.info.not_after) if main else None,
                reserve=(reserve.info.not_before, reserve.info.not_after) if reserve else None,
                switch_at=st.switch_at,
                alert=expiry.alert,
            )
        )
        self.warnings.set_verdicts(
            [
                Verdict("error" if w.code in ("expired", "no-certificate") else "warning",
                        w.code, text.localize(w.message))
                for w in st.warnings
                # Stale gateways are told once, below, each with its Reconnect button.
                if w.code != "gateway-stale"
            ]
        )
        self.gateway_notice.show_status(st)
        self._show_history(st)
        self._sync_buttons()

    def _show_history(self, st: ServerStatus) -> None:
        """Retired and cancelled certificates, newest first (DESIGN §8)."""
        self.history.clear()
        for view in st.history:
            info = view.info
            item = QTreeWidgetItem([
                "Retired" if view.state == "retired" else "Cancelled",
                info.common_name or info.subject,
                text.instant(info.not_before),
                text.instant(info.not_after),
                "Issued through Administration Server" if view.source == "issued"
                else "Other certificate",
                info.sha256,
            ])
            item.setToolTip(2, text.instant_utc(info.not_before))
            item.setToolTip(3, text.instant_utc(info.not_after))
            self.history.addTopLevelItem(item)
        self.history_group.setTitle(
            f"History ({len(st.history)})" if st.history else "History: none yet")
        if st.history and self.history_tools is None:
            # Copy (Ctrl+C), the context menu (Shift+F10, the Menu key): loaded with the
            # first history row, so that start-up does not pay for it.
            from kscert_gui.ui.widgets.list_tools import ListTools

            self.history_tools = ListTools(self.history, title="Certificate history")
        self.history.setVisible(bool(st.history))

    def clear_result(self) -> None:
        """The last success line belongs to the last change: gone when the window reopens."""
        self.result_label.clear()
        self.result_label.hide()
        self._result_outcome = None

    def _sync_buttons(self) -> None:
        writable = not self.console.read_only and not self.busy
        self.reissue_button.setEnabled(writable and self.radio_issued.isChecked())
        self.browse_button.setEnabled(writable and self.radio_other.isChecked())
        has_reserve = self.status is not None and self.status.reserve is not None
        self.cancel_reserve_button.setEnabled(writable and has_reserve)
        self.radio_issued.setEnabled(not self.console.read_only)
        self.radio_other.setEnabled(not self.console.read_only)

    # --- actions --------------------------------------------------------------------------

    def reissue(self) -> None:
        """Reissue → Reissue certificate window → confirmation → background reissue."""
        # Dialog modules are imported on first use: they are not needed to show the page,
        # and start-up time is measured (bench/startup.py).
        from kscert_gui.ui.dialogs.reissue import ReissueDialog

        latest = self.feed.latest
        if latest is None or latest.snapshot is None:
            return  # the buttons come on with the first snapshot
        # The window validates against the snapshot's term context and asks the
        # confirmation itself: No returns to it with everything entered kept (DESIGN §5).
        request = ReissueDialog.ask(self, latest.snapshot.term, confirm=self._confirm_reissue,
                                    clock=self.console.server.clock)
        if request is None:
            return
        console = self.console
        self._start(lambda: console.server.reissue(request, confirmed=True))

    def _confirm_reissue(self, request: ReissueRequest, plan: ReissuePlan) -> bool:
        st = self.status
        question = confirmation_text(
            what=f"A new certificate for {plan.address}",
            term_days=request.term_days,
            switch_at_text=text.instant(plan.switch_at) if plan.switch_at else None,
            needs=plan.needs_confirmation,
            devices=st.fleet.devices - st.fleet.lost if st else 0,
            reserve=st.reserve if st else None,
        )
        default_no = any(code in plan.needs_confirmation for code in DESTRUCTIVE)
        return messages.confirm(self, "Reissue certificate", question, default_no)

    def other_certificate(self) -> None:
        """Browse → Certificate window → confirmation → background import."""
        from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog

        current = self._current_address()
        # The window asks the confirmation itself: No returns to it with the files and
        # passwords kept (DESIGN §5).
        request = OtherCertificateDialog.ask(
            self, self.console, confirm=self._confirm_import, current_address=current)
        if request is None:
            return
        self._import(request)

    def _current_address(self) -> str | None:
        """The address devices connect to now: the main certificate's (from the snapshot)."""
        latest = self.feed.latest
        term = latest.snapshot.term if latest is not None and latest.snapshot else None
        return term.old_address if term is not None and term.main is not None else None

    def _confirm_import(self, request: ImportRequest, check: ImportCheck) -> bool:
        from kscert_gui.ui.dialogs.other_certificate import address_change

        st = self.status
        subject = check.certificate.subject if check.certificate else "The certificate"
        current = self._current_address()
        switch_at = self._switch_now(request.term_days) or check.switch_at
        question = confirmation_text(
            what=f"The certificate {subject}",
            term_days=request.term_days,
            switch_at_text=text.instant(switch_at) if switch_at else None,
            needs=check.needs_confirmation,
            devices=st.fleet.devices - st.fleet.lost if st else 0,
            reserve=st.reserve if st else None,
            new_address=address_change(check, current),
            current_address=current,
        )
        default_no = any(code in check.needs_confirmation for code in DESTRUCTIVE)
        return messages.confirm(self, "Certificate", question, default_no)

    def _switch_now(self, term_days: int | None) -> datetime | None:
        """When a reserve made now, as OK is pressed, would become main: the snapshot's term
        context moved on by the real time since it was read (the check that gave the window
        its switch time ran when the files were chosen)."""
        latest = self.feed.latest
        if term_days is None or latest is None or latest.snapshot is None:
            return None
        now = ensure_utc(self.console.server.clock())
        return latest.snapshot.term.as_of(now).planned_switch(term_days)

    def _import(self, request: ImportRequest) -> None:
        console = self.console
        # The server reads and checks the files again as it installs them.
        self._start(lambda: console.server.import_certificate(
            request, confirmed=True, acknowledge_warnings=True))

    def cancel_reserve(self) -> None:
        st = self.status
        if st is None or st.reserve is None:
            return
        question = (
            f"Cancel the reserve certificate {st.reserve.info.subject} (valid to "
            f"{text.instant(st.reserve.info.not_after)})? Devices that already received it "
            "keep using the current certificate until it expires."
        )
        if not messages.confirm(self, "Cancel reserve certificate", question, True):
            return
        self._track(run_with_passphrase(
            self, self.console, self.feed.after(self.console.server.cancel_reserve),
            self._cancelled))

    def _cancelled(self, done: tuple[CertView, StatusReading]) -> None:
        self._done_text("The reserve certificate is cancelled.", done[1])

    def open_delivery(self) -> QWidget:
        """The delivery count, chart and at-risk list (ui/devices/delivery.py)."""
        from kscert_gui.ui.devices.delivery import DeliveryDialog

        return DeliveryDialog.open_for(self, self.feed)

    def view_certificate(self, which: Which) -> None:
        from kscert_gui.ui.dialogs.viewer import CertificateViewer

        CertificateViewer.show_for(self, self.console, which)

    def check_endpoint(self) -> None:
        """Check: what does the server's port for mobile devices serve (off the GUI thread)?"""
        from kscert_gui.ui.dialogs.check import check_server

        latest = self.feed.latest
        main = latest.status.main if latest is not None and latest.status is not None else None
        check_server(self, self.console, main.address if main is not None else "")

    def _gateway_reconnected(self, view: DistributionPointView) -> None:
        message = f"Connection gateway {view.host} now holds the main certificate."
        # The snapshot it leaves, read off the GUI thread, is the change's own: the line
        # stays with it (a later reading hides it).
        tasks.run_in_background(self, self.feed.read,
                                lambda reading: self._done_text(message, reading),
                                passive=True)

    def _start(self, fn: Callable[[], CertView]) -> None:
        pending_before = self.status.reserve if self.status is not None else None

        def done(result: tuple[CertView, StatusReading]) -> None:
            view, reading = result
            # The first certificate of a store becomes the main one whatever the term.
            role = "reserve certificate" if view.state == "pending" else (
                "Administration Server certificate"
            )
            line = DONE_TEXT.format(role=role)
            if pending_before is not None and pending_before.id != view.id:
                line += (" The reserve certificate that was pending (valid to "
                         f"{text.instant(pending_before.info.not_after)}) is cancelled.")
            self._done_text(line, reading)

        def failed(err: BaseException) -> None:
            messages.show_error(self, err)
            self.feed.request(again=True)

        self.result_label.hide()
        # The status after the change is read in the same worker, so it comes with the result.
        self._track(run_with_passphrase(self, self.console, self.feed.after(fn), done, failed))

    def _track(self, task: tasks.Task[Any]) -> None:
        """Keep the task for tests and keep change buttons off while work runs."""
        self.task = task
        task.sig_finished.connect(self._sync_buttons)
        self._sync_buttons()

    def _done_text(self, message: str, reading: StatusReading) -> None:
        """A change succeeded: show its status, ``reading``, and the line that says so; the
        line stays until a later reading arrives (a change made elsewhere)."""
        if self.feed.offer(reading) and reading is not self._shown:
            self.apply(reading)  # the Properties window was closed meanwhile
        self.result_label.setText(message)
        self.result_label.show()
        self._result_outcome = _outcome(reading)
        self.sig_changed.emit()


def _outcome(reading: StatusReading) -> tuple[object, ...]:
    """What a change leaves that the result line speaks of: the certificates and their
    states, the gateways and the §6.1 counts (not the instant of the reading)."""
    st = reading.status
    if st is None:
        return ("error",)

    def cert(view: CertView | None) -> tuple[object, ...] | None:
        return None if view is None else (view.id, view.state)

    return (cert(st.main), cert(st.reserve), st.switch_at,
            tuple(cert(v) for v in st.history),
            tuple((g.host, g.sha256) for g in st.gateways), st.fleet.counts)
