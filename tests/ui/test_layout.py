"""Layout as a person sees it: every button of the Certificates page in view without
scrolling at the Properties window's smallest size and at 1920 x 1080; the timeline's labels
never overlap or repeat (DESIGN §8; issue: the console as an operator uses it)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from uikit import demo_env, open_certificates, open_window

from kscert_gui.ui.properties.certificates import CertificatesPage
from kscert_gui.ui.properties.window import PropertiesWindow
from kscert_gui.ui.widgets.timeline import CertificateTimeline, TimelineData


def settle(qtbot: QtBot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(30)


def buttons_out_of_view(page: CertificatesPage) -> list[str]:
    viewport = page.scroll_area.viewport()
    out = []
    for button in page.findChildren(QPushButton):
        if not button.isVisibleTo(page) or button.window() is not page.window():
            continue
        rect = QRect(button.mapTo(viewport, QPoint(0, 0)), button.size())
        if not viewport.rect().contains(rect):
            out.append(button.text().replace("&", ""))
    return out


@pytest.mark.parametrize("reserve", [False, True], ids=["no-reserve", "reserve"])
def test_every_button_is_in_view_at_the_smallest_size_and_at_full_hd(
    qtbot: QtBot, tmp_path: Path, reserve: bool
) -> None:
    window = open_window(qtbot, demo_env(tmp_path, reserve=reserve))
    props, page = open_certificates(qtbot, window)
    assert isinstance(props, PropertiesWindow)
    for size in (QSize(1920, 1080), QSize(100, 100), QSize(100, 100)):
        props.resize(size)  # the window keeps its minimum size
        settle(qtbot)
        smallest = size.width() < 200
        if smallest:
            assert props.size() == props.minimumSize() or props.width() == props.minimumWidth()
        assert page.scroll_area.horizontalScrollBar().isHidden() or \
            page.scroll_area.horizontalScrollBar().maximum() == 0
        assert page.scroll_area.verticalScrollBar().value() == 0
        assert buttons_out_of_view(page) == [], (size, props.size())
    # The section names are never cut off.
    sections = props.sections
    item = sections.topLevelItem(0)
    assert item is not None
    assert sections.visualItemRect(item).right() <= sections.viewport().width()
    assert sections.sizeHintForColumn(0) <= sections.viewport().width()


NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CASES = {
    # The case a person saw: a reserve valid from today, the main from yesterday.
    "reserve-from-today": TimelineData(
        today=NOW, main=(NOW - timedelta(days=1), NOW + timedelta(days=396)),
        reserve=(NOW, NOW + timedelta(days=397)), switch_at=NOW + timedelta(days=30)),
    "switch-near-today": TimelineData(
        today=NOW, main=(NOW - timedelta(days=380), NOW + timedelta(days=2)),
        reserve=(NOW - timedelta(days=20), NOW + timedelta(days=377)),
        switch_at=NOW + timedelta(days=1)),
    "no-reserve": TimelineData(today=NOW, main=(NOW - timedelta(days=377),
                                                NOW + timedelta(days=20)), alert=True),
    "expired": TimelineData(today=NOW, main=(NOW - timedelta(days=400),
                                             NOW - timedelta(days=3)), alert=True),
}


@pytest.mark.parametrize("width", [320, 560, 1200])
@pytest.mark.parametrize("case", list(CASES))
def test_timeline_labels_never_overlap_repeat_or_cross_a_line(
    qtbot: QtBot, case: str, width: int
) -> None:
    timeline = CertificateTimeline()
    qtbot.addWidget(timeline)
    timeline.resize(width, timeline.sizeHint().height())
    data = CASES[case]
    timeline.set_data(data)
    labels = timeline.labels()
    texts = [label.text for label in labels]
    assert any(t.startswith("Today ") for t in texts)
    for a, b in itertools.combinations(labels, 2):
        assert not a.rect.intersects(b.rect), (a.text, b.text)
    dates = [t.split(" ")[-1] for t in texts]
    assert len(dates) == len(set(dates)), texts  # no date written twice
    for label in labels:
        assert label.rect.left() >= 0 and label.rect.right() <= width
        assert label.rect.bottom() <= timeline.height()
    # The bars' band (where the Today and Switch lines run) holds no label.
    line = timeline.fontMetrics().height()
    top = line + 8 - 4
    band = QRectF(0, top, width, 2 * (CertificateTimeline.ROW_HEIGHT + 8) + 4)
    assert not any(label.rect.intersects(band) for label in labels), texts
    timeline.grab()  # paints without an error


def test_the_at_risk_list_shows_why_in_view(qtbot: QtBot, tmp_path: Path) -> None:
    from uikit import click

    from kscert_gui.ui.devices.delivery import DeliveryDialog
    from kscert_gui.ui.devices.table_model import COL_REASON

    window = open_window(qtbot, demo_env(tmp_path))
    _props, page = open_certificates(qtbot, window)
    click(page.at_risk_button)
    dialogs = [w for w in QApplication.topLevelWidgets()
               if isinstance(w, DeliveryDialog) and w.isVisible()]
    assert len(dialogs) == 1
    dialog = dialogs[0]
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=60_000)
    settle(qtbot)
    view = dialog.view
    header = view.horizontalHeader()
    x = header.sectionViewportPosition(COL_REASON)
    assert 0 <= x and x + 100 <= view.viewport().width()  # its header and text in view
    assert dialog.model.headerData(COL_REASON, Qt.Orientation.Horizontal) == "Why"
    reason = dialog.model.index(0, COL_REASON).data()
    assert reason and "no reserve certificate is specified" in str(reason)


def test_the_certification_path_shows_names_in_full(qtbot: QtBot, tmp_path: Path) -> None:
    from kscert_gui.ui.dialogs.viewer import CertificateViewer, read_viewer_data

    window = open_window(qtbot, demo_env(tmp_path))
    viewer = CertificateViewer(window.console, read_viewer_data(window.console.server, "main"),
                               window)
    qtbot.addWidget(viewer)
    viewer.show()
    viewer.tabs.setCurrentIndex(2)
    settle(qtbot)
    tree = viewer.path_tree
    item = tree.topLevelItem(0)
    assert item is not None
    needed = tree.fontMetrics().horizontalAdvance(item.text(0))
    assert tree.columnWidth(0) >= needed


def squashed(widgets: list[QWidget]) -> list[str]:
    """The widgets a layout gave less than their own minimum size (cut off, unusable)."""
    out = []
    for widget in widgets:
        hint = widget.minimumSizeHint().expandedTo(widget.minimumSize())
        if widget.isVisible() and (widget.width() < hint.width()
                                   or widget.height() < hint.height()):
            out.append(f"{widget.objectName() or widget.accessibleName()}: {widget.size()} "
                       f"< {hint}")
    return out


def test_managed_devices_stays_usable_at_the_main_windows_smallest_size(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """At the smallest size the main window allows (and at its usual one), the Name filter
    shows its hint in full beside its clear button, and no control of the page is squeezed
    below its own minimum by the wrapped summary lines (the filter showed "D…", the
    simulation controls were cut in half)."""
    from uikit import type_text

    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    qtbot.waitExposed(window)
    window.tree.setCurrentItem(window.devices_item)
    page = window.devices_page
    assert page is not None
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=60_000)
    edit = page.filter_edit
    controls: list[QWidget] = [
        edit, page.group_combo, page.state_combo, page.count, page.view, page.add_button,
        page.import_button, page.group_button, page.delivery_button, page.save_button,
        page.sim_amount, page.sim_unit, page.sim_button, page.reinstall_button, page,
    ]
    for size in (QSize(960, 640), QSize(100, 100), QSize(100, 100)):
        window.resize(size)  # the window keeps its minimum size
        settle(qtbot)
        settle(qtbot)
        if size.width() < 200:
            assert window.size() == window.minimumSize(), (window.size(), window.minimumSize())
        hint = edit.fontMetrics().horizontalAdvance(edit.placeholderText())
        assert edit.width() >= hint + edit.height(), (size, edit.width(), hint)
        assert squashed(controls) == [], (size, window.size())
    # Typed into, with its clear button shown: the same.
    edit.setFocus()
    type_text(edit, "and-001")
    settle(qtbot)
    assert page.model.rowCount() > 0
    assert edit.width() >= edit.fontMetrics().horizontalAdvance("and-001") + edit.height()
    assert squashed(controls) == []


def test_the_delivery_window_at_its_smallest_size_squeezes_nothing(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Made as small as it allows, the delivery window still gives the chart, the Show row,
    the list and Close their room (the chart was drawn under the Show row: the summary's
    wrapped lines took its height)."""
    from uikit import click

    from kscert_gui.ui.devices.delivery import DeliveryDialog

    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    _props, page = open_certificates(qtbot, window)
    click(page.at_risk_button)
    dialog = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, DeliveryDialog) and w.isVisible())
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=60_000)
    close = dialog.buttons.buttons()[0]
    for _ in range(2):
        dialog.resize(100, 100)
        settle(qtbot)
        settle(qtbot)
    assert squashed([dialog.chart, dialog.state, dialog.save_button, dialog.view, close]) == []
    chart = dialog.chart.geometry()
    assert chart.bottom() < dialog.state.geometry().top(), (chart, dialog.state.geometry())
    assert dialog.summary.geometry().bottom() < chart.top()


def test_the_result_of_a_change_is_in_view_where_it_was_made(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After Reissue the line "The certificate is reissued …" is seen without scrolling, at
    the Properties window's usual size (it was below the warnings, out of view)."""
    from uikit import ModalDriver, click, wait_idle

    from kscert_gui.ui import messages
    from kscert_gui.ui.dialogs.reissue import ReissueDialog

    monkeypatch.setattr(messages, "confirm", lambda *_a, **_k: True)
    window = open_window(qtbot, demo_env(tmp_path))
    props, page = open_certificates(qtbot, window)
    settle(qtbot)
    driver = ModalDriver(ReissueDialog, lambda dialog: click(dialog.ok_button))
    click(page.reissue_button)
    driver.check()
    wait_idle(qtbot)
    settle(qtbot)
    label = page.result_label
    assert label.isVisibleTo(page) and label.text().startswith("The certificate is reissued")
    viewport = page.scroll_area.viewport()
    rect = QRect(label.mapTo(viewport, QPoint(0, 0)), label.size())
    assert page.scroll_area.verticalScrollBar().value() == 0
    assert viewport.rect().contains(rect), (rect, viewport.rect(), props.size())


def test_the_certificate_window_at_its_smallest_size_shows_a_file_path(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Made as small as it allows, the Certificate window still shows a usual path in the
    file field (at 339 px wide it showed about 12 characters of it)."""
    from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog

    window = open_window(qtbot, demo_env(tmp_path))
    dialog = OtherCertificateDialog(window.console, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    path = "/home/operator/Downloads/mdm-training.p12"
    dialog.p12_file.set_path(path)
    dialog.resize(100, 100)
    settle(qtbot)
    edit = dialog.p12_file.edit
    needed = edit.fontMetrics().horizontalAdvance(path) + edit.height()  # + clear button
    assert edit.width() >= needed, (dialog.size(), edit.width(), needed)


@pytest.mark.parametrize("reserve", [False, True], ids=["no-reserve", "reserve"])
def test_no_text_of_the_certificates_page_is_cut_off_at_the_smallest_size(
    qtbot: QtBot, tmp_path: Path, reserve: bool
) -> None:
    """At the Properties window's smallest size every wrapped text of the Certificates page
    has the height its lines need (the delivery count beside At-risk devices… lost its
    last line: "1 169 of 1 251 devices / have the reserve")."""
    from PySide6.QtWidgets import QLabel

    window = open_window(qtbot, demo_env(tmp_path, reserve=reserve))
    props, page = open_certificates(qtbot, window)
    for size in (QSize(100, 100), QSize(100, 100)):
        props.resize(size)
        settle(qtbot)
    cut = [f"{label.accessibleName() or label.text()[:30]}: {label.height()} < "
           f"{label.heightForWidth(label.width())}"
           for label in page.findChildren(QLabel)
           if label.isVisibleTo(page) and label.wordWrap() and label.text()
           and label.height() < label.heightForWidth(label.width())]
    assert cut == [], (props.size(), cut)


def test_the_properties_window_is_as_small_again_after_it_was_maximised(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Maximised once (on Distribution points, where the Certificates page keeps its old
    geometry, or on Certificates itself) and restored, the Properties window can be made
    as short as before: its smallest height stayed at ~960 px and ran off a 768/900 px
    screen."""
    from uikit import wait_idle

    from kscert_gui.ui import ids

    window = open_window(qtbot, demo_env(tmp_path))
    props, page = open_certificates(qtbot, window)
    screen = props.screen().availableGeometry().height()
    width = props.width()

    def shortest() -> int:
        props.resize(width, 100)  # the window keeps its minimum size
        settle(qtbot)
        assert props.minimumHeight() <= screen - 40
        assert buttons_out_of_view(page) == [], props.size()
        return props.height()

    def choose(key: str) -> None:
        sections = props.sections
        label = {ids.SECTION_CERTIFICATES: "Certificates",
                 ids.SECTION_DISTRIBUTION_POINTS: "Distribution points"}[key]
        (item,) = sections.findItems(label, Qt.MatchFlag.MatchExactly
                                     | Qt.MatchFlag.MatchRecursive)
        QTest.mouseClick(sections.viewport(), Qt.MouseButton.LeftButton,
                         pos=sections.visualItemRect(item).center())
        assert props.current_section() == key
        wait_idle(qtbot)
        settle(qtbot)

    settle(qtbot)
    before = shortest()
    assert props.minimumHeight() == before
    for section in (ids.SECTION_DISTRIBUTION_POINTS, ids.SECTION_CERTIFICATES):
        choose(section)
        props.showMaximized()
        settle(qtbot)
        assert props.minimumHeight() <= screen - 40
        props.showNormal()
        settle(qtbot)
        choose(ids.SECTION_CERTIFICATES)
        assert props.width() == width
        assert shortest() == before, section
        assert props.minimumHeight() == before, section
