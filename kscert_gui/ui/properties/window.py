"""The **Properties** window of the Administration Server, with its **Sections** pane."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.ui import ids, resources
from kscert_gui.ui.console import Console
from kscert_gui.ui.properties.certificates import CertificatesPage
from kscert_gui.ui.status_feed import StatusFeed, StatusReading

if TYPE_CHECKING:
    from kscert_gui.ui.properties.distribution_points import DistributionPointsPage

CONNECTION_SETTINGS = "Administration server connection settings"
CERTIFICATES = "Certificates"
DISTRIBUTION_POINTS = "Distribution points"
SECTION_ROLE = Qt.ItemDataRole.UserRole


class PropertiesWindow(QDialog):
    """Sections pane on the left, the chosen section's page on the right."""

    sig_changed = Signal()

    def __init__(
        self, console: Console, parent: QWidget | None = None, *, feed: StatusFeed | None = None
    ) -> None:
        """``feed``: the main window's, so that one status read serves both windows."""
        super().__init__(parent)
        self.console = console
        self.feed = feed if feed is not None else StatusFeed(console, self)
        self.setObjectName(ids.PROPERTIES_WINDOW)
        # Named from the snapshot (the server's name is in the store: no read here).
        self.setWindowTitle("Properties: Administration Server")
        self.feed.show_in(self._show_name)
        if self.feed.latest is not None:
            self._show_name(self.feed.latest)
        self.setAccessibleName("Administration Server properties")

        self.sections = QTreeWidget()
        self.sections.setObjectName(ids.SECTIONS_PANE)
        self.sections.setAccessibleName("Sections")
        self.sections.setHeaderLabel("Sections")
        self.sections.setRootIsDecorated(True)
        self._items: dict[str, QTreeWidgetItem] = {}
        connection = self._section(None, CONNECTION_SETTINGS, ids.SECTION_CONNECTION)
        connection.setIcon(0, resources.icon("server"))
        certificates = self._section(connection, CERTIFICATES, ids.SECTION_CERTIFICATES)
        certificates.setIcon(0, resources.icon("certificate"))
        points = self._section(None, DISTRIBUTION_POINTS, ids.SECTION_DISTRIBUTION_POINTS)
        points.setIcon(0, resources.icon("devices"))
        self.sections.expandAll()
        # As wide as its longest section name ("Administration server connection
        # settings" is never cut off), and no wider.
        self.sections.resizeColumnToContents(0)
        sections_width = (self.sections.sizeHintForColumn(0) + self.sections.indentation()
                          + 2 * self.sections.frameWidth() + 8)
        self.sections.setMinimumWidth(sections_width)

        self.certificates_page = CertificatesPage(console, feed=self.feed)
        # Built when its section is first chosen (start-up shows Certificates only).
        self._points_page: DistributionPointsPage | None = None
        self.pages = QStackedWidget()
        self.pages.setObjectName(ids.PROPERTIES_PAGES)
        self.pages.addWidget(self.certificates_page)

        splitter = QSplitter()
        splitter.addWidget(self.sections)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([sections_width, 1080 - sections_width])

        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName(ids.BUSY_BAR)
        self.busy_bar.setAccessibleName("Working")
        self.busy_bar.setMaximumWidth(200)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.mode = QLabel()
        if console.read_only:
            self.mode.setText(
                "Read-only: " + (console.read_only_reason or "the store is in use elsewhere.")
            )
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.setObjectName(ids.PROPERTIES_BUTTONS)
        self.buttons.rejected.connect(self.reject)
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        if close is not None:
            close.setAccessibleName("Close")
            close.setAutoDefault(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.busy_bar)
        bottom.addWidget(self.mode, 1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

        self.sections.currentItemChanged.connect(self._on_section)
        # Back on the Certificates page: measured at the window's size now.
        self.pages.currentChanged.connect(lambda _index: QTimer.singleShot(0, self._fit_height))
        self.certificates_page.sig_changed.connect(self._on_changed)
        self.certificates_page.sig_refreshed.connect(self._fit_height)
        self.select_section(ids.SECTION_CERTIFICATES)
        self.resize(1080, 760)

    @property
    def distribution_points_page(self) -> DistributionPointsPage:
        """The Distribution points section (built, and read, on first use)."""
        if self._points_page is None:
            from kscert_gui.ui.properties.distribution_points import DistributionPointsPage

            page = DistributionPointsPage(self.console, self.feed)
            page.sig_changed.connect(self._on_points_changed)
            self.pages.addWidget(page)
            self._points_page = page
        return self._points_page

    def _section(
        self, parent: QTreeWidgetItem | None, label: str, key: str
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem([label])
        item.setData(0, SECTION_ROLE, key)
        if parent is None:
            self.sections.addTopLevelItem(item)
        else:
            parent.addChild(item)
        self._items[key] = item
        return item

    def select_section(self, key: str) -> None:
        self.sections.setCurrentItem(self._items[key])

    def current_section(self) -> str:
        item = self.sections.currentItem()
        return str(item.data(0, SECTION_ROLE)) if item is not None else ""

    def _on_section(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is None:
            return
        page: QWidget = self.certificates_page  # also for the connection settings section
        if str(current.data(0, SECTION_ROLE)) == ids.SECTION_DISTRIBUTION_POINTS:
            page = self.distribution_points_page  # it shows the feed's last snapshot
        self.pages.setCurrentWidget(page)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._fit_height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            QTimer.singleShot(0, self._fit_height)  # narrower: texts wrap onto more lines

    def _fit_height(self) -> None:
        """The smallest height shows every button of the Certificates page without
        scrolling (down to the reserve certificate's; the warnings and history below
        may scroll). Computed at the width the window has, since texts wrap.

        The page's scroll area gets the content's height as its minimum and the window's
        layout adds the rest, so the window's minimum follows what the content needs at
        this width, lower again when it needs less (after a maximised window is restored),
        not from the height the window has. It never exceeds the screen's available
        height less 40 pixels."""
        page = self.certificates_page
        # A hidden page keeps the geometry it had when it was last shown: nothing to
        # measure (its minimum stays; it is measured again when it is chosen).
        if not self.isVisible() or self.pages.currentWidget() is not page:
            return
        scroll = page.scroll_area
        body = scroll.widget()
        # The layouts first, at the width the window has now (resizes are applied lazily).
        for layout in (self.layout(), page.layout(), body.layout() if body else None):
            if layout is not None:
                layout.activate()
        needed = page.reserve_group.geometry().bottom() + 12
        # What the window has besides the page's scroll area (the sections pane is beside
        # it): measured on the page shown now, so it is the same at any window height.
        chrome = self.height() - scroll.height()
        screen = self.screen().availableGeometry().height() if self.screen() else 1000
        height = max(0, min(needed, screen - 40 - chrome))
        if scroll.minimumHeight() != height:
            scroll.setMinimumHeight(height)  # the window's layout passes it on

    def _show_name(self, reading: StatusReading) -> None:
        st = reading.status
        if st is not None:
            name = st.name
            self.setWindowTitle(f"Properties: Administration Server {name}")

    def refresh(self) -> None:
        """Ask for a new snapshot; every section built so far shows it when it arrives."""
        self.certificates_page.refresh()

    def reopened(self) -> None:
        """Shown again after it was closed: the last snapshot at once, a new one from the
        shared feed's worker (it may take long on a large fleet)."""
        self.certificates_page.clear_result()
        latest = self.feed.latest
        if latest is not None and latest is not self.certificates_page.shown:
            self.certificates_page.apply(latest)
        self.feed.request(again=True)

    def _on_changed(self) -> None:
        self.sig_changed.emit()

    def _on_points_changed(self) -> None:
        # Gateways changed: the status (stale-gateway warnings) is read off the GUI thread.
        self.feed.request(again=True)
        self.sig_changed.emit()
