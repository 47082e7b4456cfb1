"""The main window: console tree, a summary of the selected node, and the status bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QBrush, QCloseEvent, QColor, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.services.snapshot import Snapshot
from kscert_gui.services.views import ServerStatus
from kscert_gui.ui import help, ids, resources, tasks, text
from kscert_gui.ui.console import Console, GroupNode
from kscert_gui.ui.properties.window import PropertiesWindow
from kscert_gui.ui.settings import APPLICATION as APPLICATION
from kscert_gui.ui.settings import ORGANIZATION as ORGANIZATION
from kscert_gui.ui.settings import open_settings
from kscert_gui.ui.status_feed import StatusFeed, StatusReading
from kscert_gui.ui.widgets.menu_keys import add_menu_key, exec_menu

if TYPE_CHECKING:
    from kscert_gui.ui.devices.page import DevicesPage
    from kscert_gui.ui.dialogs.audit_log import AuditLogDialog
    from kscert_gui.ui.watch.page import WatchPage

NODE_ROLE = Qt.ItemDataRole.UserRole
REFRESH_MS = 60_000
#: The Watched endpoints page (and so its background checks) starts this long after the
#: window, whether or not its node is opened (start-up stays quick).
WATCH_START_MS = 5_000


class MainWindow(QMainWindow):
    sig_refreshed = Signal()

    def __init__(self, console: Console, settings: QSettings | None = None) -> None:
        super().__init__()
        self.console = console
        self._settings = settings if settings is not None else open_settings()
        self.properties_window: PropertiesWindow | None = None
        self.audit_window: AuditLogDialog | None = None
        self.status: ServerStatus | None = None
        self.snapshot: Snapshot | None = None
        # The one status reading shared with Properties → Certificates (ui/status_feed.py).
        self.status_feed = StatusFeed(console, self)
        self.status_feed.show_in(self._show_status)
        self.setObjectName(ids.MAIN_WINDOW)
        self.setWindowIcon(resources.icon("kscert-gui"))
        # The server's name comes with the first snapshot (no store read here).
        self.setWindowTitle("Administration Server")
        self.setAccessibleName("Administration Server console")

        # Actions
        self.action_properties = QAction("&Properties", self)
        self.action_properties.setObjectName(ids.ACTION_PROPERTIES)
        self.action_properties.setShortcut(QKeySequence("Alt+Return"))
        self.action_properties.triggered.connect(self.open_properties)
        self.action_refresh = QAction("&Refresh", self)
        self.action_refresh.setObjectName(ids.ACTION_REFRESH)
        self.action_refresh.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.action_refresh.triggered.connect(self.refresh_in_background)
        self.action_quit = QAction("&Quit", self)
        self.action_quit.setObjectName(ids.ACTION_QUIT)
        self.action_quit.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        self.action_quit.triggered.connect(self.close)
        menu_file = self.menuBar().addMenu("&File")
        menu_file.addAction(self.action_quit)
        menu_action = self.menuBar().addMenu("&Action")
        menu_action.addAction(self.action_properties)
        menu_action.addAction(self.action_refresh)
        self.action_audit_log = QAction("Audit &log…", self)
        self.action_audit_log.setObjectName(ids.ACTION_AUDIT_LOG)
        self.action_audit_log.triggered.connect(lambda: self.open_audit_log())
        menu_action.addSeparator()
        menu_action.addAction(self.action_audit_log)
        self._build_help_menu()

        # Console tree
        self.tree = QTreeWidget()
        self.tree.setObjectName(ids.CONSOLE_TREE)
        self.tree.setAccessibleName("Console tree")
        self.tree.setHeaderHidden(True)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        add_menu_key(self.tree)  # Shift+F10 as well as the Menu key
        self.server_item = QTreeWidgetItem(["Administration Server"])
        self.server_item.setData(0, NODE_ROLE, ids.NODE_SERVER)
        self.server_item.setIcon(0, resources.icon("server"))
        self.devices_item = QTreeWidgetItem(["Managed devices"])
        self.devices_item.setData(0, NODE_ROLE, ids.NODE_DEVICES)
        self.devices_item.setIcon(0, resources.icon("devices"))
        self.server_item.addChild(self.devices_item)
        # DESIGN §13: what the real servers and gateways serve.
        self.watch_item = QTreeWidgetItem(["Watched endpoints"])
        self.watch_item.setData(0, NODE_ROLE, ids.NODE_WATCH)
        self.watch_item.setIcon(0, resources.icon("certificate"))
        self.server_item.addChild(self.watch_item)
        self.tree.addTopLevelItem(self.server_item)
        # The groups arrive with the first snapshot (no store read on the GUI thread).
        self._groups_shown: tuple[GroupNode, ...] | None = None
        self.tree.expandAll()
        self.tree.setCurrentItem(self.server_item)

        # Summary pane
        self.summary = QLabel()
        self.summary.setObjectName(ids.SUMMARY_PANE)
        self.summary.setAccessibleName("Summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.properties_button = QPushButton("&Properties")
        self.properties_button.setObjectName(ids.SUMMARY_PROPERTIES_BUTTON)
        self.properties_button.setAccessibleName("Properties")
        self.properties_button.clicked.connect(self.open_properties)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.summary, 1)
        right_layout.addWidget(self.properties_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._right_layout = right_layout
        # Built the first time Managed devices or a group is selected (start-up stays quick).
        self.devices_page: DevicesPage | None = None
        self.watch_page: WatchPage | None = None
        self.action_group_properties = QAction("&Properties", self)
        self.action_group_properties.setObjectName(ids.ACTION_GROUP_PROPERTIES)
        self.action_group_properties.triggered.connect(self.open_group_properties)

        splitter = QSplitter()
        splitter.addWidget(self.tree)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 600])
        self.setCentralWidget(splitter)

        # Status bar
        self.valid_to_label = QLabel()
        self.valid_to_label.setObjectName(ids.STATUS_VALID_TO)
        self.valid_to_label.setAccessibleName("Main certificate valid to")
        # Two lines rather than a cut-off word when the counts beside it take room.
        self.valid_to_label.setWordWrap(True)
        self.gateways_label = QLabel()
        self.gateways_label.setObjectName(ids.STATUS_GATEWAYS)
        self.gateways_label.setAccessibleName("Connection gateways to reconnect")
        self.gateways_label.setWordWrap(True)
        self.gateways_label.setStyleSheet(f"color: {text.ALERT_COLOR}; font-weight: bold")
        self.gateways_label.hide()
        # DESIGN §6.1: the lost and blocked devices wherever the main certificate is shown.
        self.connection_label = QLabel()
        self.connection_label.setObjectName(ids.STATUS_CONNECTION)
        self.connection_label.setAccessibleName("Devices that cannot connect")
        self.connection_label.hide()
        self.mode_label = QLabel()
        self.mode_label.setObjectName(ids.STATUS_MODE)
        self.mode_label.setAccessibleName("Store mode")
        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName(ids.BUSY_BAR)
        self.busy_bar.setAccessibleName("Working")
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.statusBar().addWidget(self.valid_to_label, 1)
        self.statusBar().addWidget(self.connection_label)
        self.statusBar().addWidget(self.gateways_label, 1)
        self.statusBar().addPermanentWidget(self.busy_bar)
        self.statusBar().addPermanentWidget(self.mode_label)

        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.tree.currentItemChanged.connect(lambda *_: self._show_summary())

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._periodic_refresh)
        self._timer.start()
        self._watch_start = QTimer(self)
        self._watch_start.setSingleShot(True)
        self._watch_start.timeout.connect(self.ensure_watch_page)
        self._watch_start.start(WATCH_START_MS)

        self.resize(960, 640)
        self._restore_geometry()
        self.status_feed.request()

    # --- tree -----------------------------------------------------------------------------

    def _fill_groups(self, groups: tuple[GroupNode, ...]) -> None:
        children: dict[int | None, list[GroupNode]] = {}
        for g in groups:
            children.setdefault(g.parent_id, []).append(g)
        # The store's root group is the "Managed devices" node itself.
        stack: list[tuple[QTreeWidgetItem, int]] = []
        for root in children.get(None, []):
            if root.name == "Managed devices":
                stack.append((self.devices_item, root.id))
            else:
                item = self._group_item(root)
                self.devices_item.addChild(item)
                stack.append((item, root.id))
        while stack:
            parent, gid = stack.pop()
            for child in children.get(gid, []):
                item = self._group_item(child)
                parent.addChild(item)
                stack.append((item, child.id))

    @staticmethod
    def _group_item(group: GroupNode) -> QTreeWidgetItem:
        item = QTreeWidgetItem([group.name])
        item.setData(0, NODE_ROLE, f"group:{group.id}")
        item.setIcon(0, resources.icon("devices"))
        return item

    def _context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        if item is self.server_item:
            action = self.action_properties
        elif item is not None and self.group_id_of(item) is not None:
            self.tree.setCurrentItem(item)
            action = self.action_group_properties
        else:
            return
        menu = QMenu(self)
        menu.addAction(action)
        exec_menu(menu, self.tree, pos)  # from the keyboard: the first entry selected

    @staticmethod
    def group_id_of(item: QTreeWidgetItem | None) -> int | None:
        """The store id of a group node ('group:<id>'), else None."""
        node = str(item.data(0, NODE_ROLE)) if item is not None else ""
        return int(node.split(":", 1)[1]) if node.startswith("group:") else None

    # --- Managed devices ------------------------------------------------------------------

    def ensure_devices_page(self) -> DevicesPage:
        if self.devices_page is None:
            from kscert_gui.ui.devices.page import DevicesPage

            page = DevicesPage(self.console, self.status_feed)
            page.sig_changed.connect(self._devices_changed)
            self._right_layout.addWidget(page, 4)
            self.devices_page = page
        return self.devices_page

    def open_group_properties(self) -> None:
        gid = self.group_id_of(self.tree.currentItem())
        if gid is None:
            return
        page = self.ensure_devices_page()
        page.show_group(gid)
        page.group_properties()

    def _devices_changed(self) -> None:
        # Groups, forecast, counts: everything comes with the next snapshot.
        self.status_feed.request(again=True)

    def _show_groups(self, groups: tuple[GroupNode, ...]) -> None:
        """Rebuild the groups under Managed devices when they changed; keep the selection."""
        if groups == self._groups_shown:
            return
        self._groups_shown = groups
        selected = self.tree.currentItem()
        current = self.group_id_of(selected)
        reselect = selected is self.devices_item or current is not None
        self.tree.blockSignals(True)
        try:
            self.devices_item.takeChildren()
            self._fill_groups(groups)
            self.tree.expandAll()
            for item in self._group_items() if reselect else ():
                if self.group_id_of(item) == current:
                    self.tree.setCurrentItem(item)
        finally:
            self.tree.blockSignals(False)

    def _group_items(self) -> list[QTreeWidgetItem]:
        out: list[QTreeWidgetItem] = []
        stack = [self.devices_item]
        while stack:
            item = stack.pop()
            out.append(item)
            children = (item.child(i) for i in range(item.childCount()))
            stack.extend(c for c in children if c is not None)
        return out

    def context_menu_actions(self) -> list[QAction]:
        """The actions of the server node's context menu (tests, accessibility)."""
        return [self.action_properties]

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        if item is self.server_item:
            self.open_properties()

    # --- Help, Audit log ------------------------------------------------------------------

    def _build_help_menu(self) -> None:
        menu = self.menuBar().addMenu("&Help")
        menu.setObjectName(ids.MENU_HELP)
        self.help_actions: list[QAction] = []
        for section in help.SECTIONS:
            action = QAction(section.label, self)
            action.setObjectName(ids.ACTION_README)
            action.setToolTip(f"Open the README at “{section.heading}”")
            action.triggered.connect(
                lambda _checked=False, heading=section.heading: self.open_readme(heading))
            menu.addAction(action)
            self.help_actions.append(action)
        menu.addSeparator()
        self.action_about = QAction("&About kscert_gui…", self)
        self.action_about.setObjectName(ids.ACTION_ABOUT)
        self.action_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.action_about.triggered.connect(lambda: self.show_about())
        menu.addAction(self.action_about)

    def open_readme(self, heading: str | None = None) -> QUrl | None:
        """The README at ``heading``, in the desktop's program for it."""
        from kscert_gui.ui import messages

        url = help.readme_url(heading)
        if url is None:
            messages.show_info(self, "Help", "The README is not installed with this copy of "
                               "the program.")
            return None
        if not help.open_url(url):
            messages.show_info(self, "Help", "No program on this computer opens the README "
                               f"({url.toLocalFile()}).")
        return url

    def show_about(self) -> None:
        from kscert_gui.ui.dialogs.about import AboutDialog

        AboutDialog.show_for(self, self.console.server.store.home,
                             read_only=self.console.read_only)

    def open_audit_log(self) -> AuditLogDialog:
        """Open (or raise) the Audit log window; it reads the log in a worker."""
        from kscert_gui.ui.dialogs.audit_log import AuditLogDialog

        window = self.audit_window
        if window is None:
            window = AuditLogDialog(self.console, self.status_feed, self)
            self.audit_window = window
        elif not window.isVisible():
            window.refresh()
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    # --- Properties -----------------------------------------------------------------------

    def open_properties(self) -> PropertiesWindow:
        """Open (or raise) the Properties window on the Certificates section."""
        window = self.properties_window
        reopened = window is not None and not window.isVisible()
        if window is None:
            # Its pages read the store as they are built; their changes reach this window's
            # status bar through the shared status feed.
            window = PropertiesWindow(self.console, self, feed=self.status_feed)
            self.properties_window = window
        window.show()
        if reopened:  # the store or the clock may have moved on since it was closed
            window.reopened()
        window.raise_()
        window.activateWindow()
        return window

    # --- state ----------------------------------------------------------------------------

    def _periodic_refresh(self) -> None:
        """The timer's: one status read in a worker for this window and the Certificates page.

        Not while other work runs (it refreshes when it ends), nor over a read still running.
        """
        if not tasks.active_tasks():
            self.status_feed.request()

    def refresh(self) -> tasks.Task[StatusReading] | None:
        """Read a new snapshot in a worker and show it everywhere (F5)."""
        return self.refresh_in_background()

    def refresh_in_background(self) -> tasks.Task[StatusReading] | None:
        """Read a new snapshot in a worker and show it everywhere (F5).

        Returns:
            The read started, or None when one is running (another follows it).
        """
        return self.status_feed.request(again=True)

    def _show_name(self, name: str) -> None:
        """The window and the tree name the server once ("Administration Server Training")."""
        title = f"Administration Server {name}"
        if self.windowTitle() != title:
            self.setWindowTitle(title)
            self.server_item.setText(0, title)

    def _show_status(self, reading: StatusReading) -> None:
        if reading.status is None:
            self.valid_to_label.setText(str(reading.error))
            self.sig_refreshed.emit()
            return
        self.status = st = reading.status
        assert reading.snapshot is not None
        self._show_name(st.name)
        self.snapshot = reading.snapshot
        self._show_groups(tuple(GroupNode(g.id, g.name, g.parent_id, None)
                                for g in reading.snapshot.groups))
        expiry = text.main_expiry(st)
        if st.main is not None:
            line = f"Valid to: {text.instant(st.main.info.not_after)} — {expiry.text}"
        else:
            line = expiry.text
        self.valid_to_label.setText(line)
        self.valid_to_label.setStyleSheet(
            f"color: {text.ALERT_COLOR}; font-weight: bold" if expiry.alert else ""
        )
        self.valid_to_label.setProperty("alert", expiry.alert)
        lost, blocked = st.fleet.lost, st.fleet.blocked
        parts = []
        if lost:
            parts.append(f"{text.thousands(lost)} of {text.thousands(st.fleet.devices)} "
                         "devices lost the connection")
        if blocked:
            parts.append(f"{text.thousands(blocked)} blocked")
        self.connection_label.setText(" · ".join(parts))
        self.connection_label.setStyleSheet(
            f"color: {text.ALERT_COLOR if lost else text.WARNING_COLOR}; font-weight: bold")
        self.connection_label.setVisible(bool(parts))
        # DESIGN §7: every connection gateway that still serves an old certificate.
        stale = [w.message for w in st.warnings if w.code == "gateway-stale"]
        self.gateways_label.setText("\n".join(stale))
        self.gateways_label.setToolTip("\n".join(stale))
        self.gateways_label.setVisible(bool(stale))
        modes = []
        if st.training:
            modes.append("Training store")
        if self.console.read_only:
            modes.append(
                "Read-only: " + (self.console.read_only_reason or "the store is in use elsewhere")
            )
        self.mode_label.setText(" · ".join(modes))
        self._show_summary()
        self.sig_refreshed.emit()

    def _show_summary(self) -> None:
        st = self.status
        item = self.tree.currentItem()
        node = str(item.data(0, NODE_ROLE)) if item is not None else ids.NODE_SERVER
        if st is None:
            return
        if node == ids.NODE_SERVER:
            lines = [f"Administration Server {st.name}"]
            if st.main is not None:
                lines += [
                    f"Mobile certificate: {st.main.info.subject}",
                    f"Valid to: {text.instant(st.main.info.not_after)}",
                    text.main_expiry(st).text,
                ]
            if st.reserve is not None and st.switch_at is not None:
                line = f"Reserve certificate becomes main at {text.instant(st.switch_at)}"
                # The warning that not every device has it says the count already (and
                # what it means): the count once.
                if any(w.code == "reserve-not-delivered" for w in st.warnings):
                    lines.append(f"{line}.")
                else:
                    lines.append(f"{line}; {text.delivery(st)}")
            # The services write for the command line (ISO 8601 UTC, plain counts).
            lines += [text.localize(w.message) for w in st.warnings]
            lines.append(
                "\nOpen Properties → Administration server connection settings → Certificates "
                "to reissue the certificate or specify another one."
            )
        elif node == ids.NODE_WATCH:
            lines = ["Watched endpoints: the certificates the real Administration Servers and "
                     "connection gateways serve, checked in the background."]
        else:
            lines = [item.text(0) if item is not None else "Managed devices"]
            lines += self._devices_summary(self.group_id_of(item))
        self.summary.setText("\n".join(lines))
        self.properties_button.setVisible(node == ids.NODE_SERVER)
        devices_node = node == ids.NODE_DEVICES or node.startswith("group:")
        if devices_node:
            page = self.ensure_devices_page()
            page.show_group(self.group_id_of(item))
            page.show()
        elif self.devices_page is not None:
            self.devices_page.hide()
        watch_node = node == ids.NODE_WATCH
        if watch_node:
            self.watch_item.setForeground(0, self.devices_item.foreground(0))
            self.watch_item.setToolTip(0, "")
            self.ensure_watch_page().show()
        elif self.watch_page is not None:
            self.watch_page.hide()
        self._right_layout.setStretchFactor(self.summary,
                                            0 if devices_node or watch_node else 1)

    def ensure_watch_page(self) -> WatchPage:
        """The Watched endpoints page, built the first time its node is selected."""
        if self.watch_page is None:
            from kscert_gui.services.watch import watch_list
            from kscert_gui.ui.watch.page import WatchPage

            page = WatchPage(watch_list(self.console.server))
            page.setVisible(self.tree.currentItem() is self.watch_item)
            page.sig_crossed.connect(self._watch_reminder)
            self._right_layout.addWidget(page, 4)
            self.watch_page = page
        return self.watch_page

    def _watch_reminder(self, lines: list[str]) -> None:
        """A background check passed a threshold: the node shows it until it is opened."""
        if self.tree.currentItem() is self.watch_item:
            return
        self.watch_item.setForeground(0, QBrush(QColor(text.ALERT_COLOR)))
        self.watch_item.setToolTip(0, "\n".join(lines))

    def _devices_summary(self, group_id: int | None) -> list[str]:
        """The §6.1 counts of the selected group and its subgroups (or of every device),
        as the snapshot's worker counted them."""
        snap = self.snapshot
        if snap is None:
            return []
        if group_id is not None and snap.group_counts and group_id in snap.group_counts:
            c = snap.group_counts[group_id]
            n, blocked, lost, at_risk, where = (c.devices, c.blocked, c.lost, c.at_risk,
                                               "in this group")
        else:
            f = snap.status.fleet
            n, blocked, lost, at_risk, where = (f.devices, f.blocked, f.lost, f.at_risk,
                                               "in total")
        return [f"{text.thousands(n)} managed mobile devices {where}: "
                f"{text.thousands(n - lost - blocked)} connected, {text.thousands(blocked)} "
                f"blocked, {text.thousands(lost)} lost; {text.thousands(at_risk)} at risk at "
                "the cut-over."]

    # --- geometry -------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self._settings.value("main_window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self._settings.value("main_window/state")
        if state is not None:
            self.restoreState(state)

    def save_geometry(self) -> None:
        self._settings.setValue("main_window/geometry", self.saveGeometry())
        self._settings.setValue("main_window/state", self.saveState())
        self._settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_geometry()
        self._timer.stop()
        self.status_feed.close()  # a read still running is not shown
        if self.properties_window is not None:
            self.properties_window.close()
        if self.audit_window is not None:
            self.audit_window.close()
        # Results of unfinished work are dropped, but the work itself ends before the store
        # closes, so no write is cut in half.
        tasks.drop_results(self)
        tasks.wait_for_all()
        self.console.close()
        super().closeEvent(event)
