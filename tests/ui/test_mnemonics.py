"""No mnemonic is used twice within one window (issue 12: Alt+A was both the Action menu
and Add device…): the main window with its menus and the page shown, the Properties
window with each section, and each dialog a person can reach."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from menukit import wait_for
from mnemonics import conflicts, mnemonic, twice, window_labels
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot
from uikit import ModalDriver, click, demo_env, open_window, wait_idle

from kscert_gui.ui import ids
from kscert_gui.ui.devices.add_device import AddDeviceDialog
from kscert_gui.ui.devices.delivery import DeliveryDialog
from kscert_gui.ui.devices.group_properties import GroupPropertiesDialog
from kscert_gui.ui.dialogs.about import AboutDialog

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def test_mnemonic_parsing() -> None:
    assert mnemonic("Add d&evice…") == "e"
    assert mnemonic("R&&D &notes") == "n"
    assert mnemonic("Close") is None
    assert twice(["&Action", "&Add device…", "&Help"]) == {"a": ["&Action", "&Add device…"]}


def on_modal(cls: type[QDialog], opener: Callable[[], None]) -> dict[str, list[str]]:
    """Open a modal window with ``opener``, note its conflicts, close it."""
    found: dict[str, list[str]] = {}

    def look(dialog: QDialog) -> None:
        found.update(twice(window_labels(dialog)))
        dialog.reject()

    driver = ModalDriver(cls, look)
    opener()
    driver.check()
    return found


def test_no_mnemonic_twice_in_the_main_window_and_its_dialogs(
    qtbot: QtBot, tmp_path: Path
) -> None:
    env = demo_env(tmp_path)  # a training store: the simulation clock is shown too
    window = open_window(qtbot, env)
    window.show()
    qtbot.waitExposed(window)
    problems: dict[str, object] = {}
    # The server node (summary, Properties button).
    window.tree.setCurrentItem(window.server_item)
    problems["main window, server"] = conflicts(window)
    # Managed devices: the device list and its buttons.
    window.tree.setCurrentItem(window.devices_item)
    page = window.devices_page
    assert page is not None
    wait_idle(qtbot)
    qtbot.waitUntil(lambda: page.sim_group.isVisible())
    assert "Add d&evice…" in window_labels(window) and "&Action" in window_labels(window)
    problems["main window, devices"] = conflicts(window)
    # The label of before (Alt+A twice) is seen as a conflict.
    page.add_button.setText("&Add device…")
    assert conflicts(window) == {ids.MAIN_WINDOW: {"a": ["&Action", "&Add device…"]}}
    page.add_button.setText("Add d&evice…")
    problems["Add device"] = on_modal(AddDeviceDialog, lambda: click(page.add_button))
    group = window.devices_item.child(0)
    assert group is not None
    window.tree.setCurrentItem(group)
    wait_idle(qtbot)
    problems["Group properties"] = on_modal(GroupPropertiesDialog,
                                            lambda: click(page.group_button))
    click(page.delivery_button)
    delivery = next(w for w in QApplication.topLevelWidgets()
                    if isinstance(w, DeliveryDialog) and w.isVisible())
    problems["Delivery"] = twice(window_labels(delivery))
    delivery.close()
    window.action_audit_log.trigger()
    audit = window.audit_window
    assert audit is not None
    wait_idle(qtbot)
    problems["Audit log"] = twice(window_labels(audit))
    audit.close()
    problems["About"] = on_modal(AboutDialog, window.action_about.trigger)
    assert not any(problems.values()), problems


def test_no_mnemonic_twice_in_the_properties_window(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    props = window.open_properties()
    qtbot.waitExposed(props)
    wait_idle(qtbot)
    problems: dict[str, object] = {}
    problems["Certificates"] = conflicts(props)
    from kscert_gui.ui.dialogs.export import ExportDialog
    from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog
    from kscert_gui.ui.dialogs.reissue import ReissueDialog
    from kscert_gui.ui.dialogs.viewer import CertificateViewer

    certificates = props.certificates_page
    problems["Reissue"] = on_modal(ReissueDialog, lambda: click(certificates.reissue_button))
    certificates.radio_other.setChecked(True)  # Browse is for Other certificate
    problems["Certificate"] = on_modal(OtherCertificateDialog,
                                       lambda: click(certificates.browse_button))
    viewer_found: dict[str, object] = {}

    def in_viewer(viewer: CertificateViewer) -> None:
        viewer_found["Certificate viewer"] = twice(window_labels(viewer))
        viewer_found["Export"] = on_modal(ExportDialog, lambda: click(viewer.export_button))
        viewer.reject()

    driver = ModalDriver(CertificateViewer, in_viewer)
    click(certificates.view_button)
    driver.check()
    problems.update(viewer_found)
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    points = props.distribution_points_page
    wait_idle(qtbot)
    wait_for(lambda: points.table.rowCount() > 0)
    assert points.table.rowCount() > 0
    points.table.selectRow(0)
    problems["Distribution points"] = conflicts(props)
    from kscert_gui.ui.gateways.add_point import AddDistributionPointDialog
    from kscert_gui.ui.gateways.host_properties import HostPropertiesDialog

    problems["Add distribution point"] = on_modal(AddDistributionPointDialog,
                                                  lambda: click(points.add_button))
    problems["Host properties"] = on_modal(HostPropertiesDialog,
                                           lambda: click(points.properties_button))
    assert not any(problems.values()), problems

