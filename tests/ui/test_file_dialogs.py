"""File dialogs start in the last folder used and remember it (QSettings); no password or
other secret ever reaches QSettings (DESIGN §8, §10; issue 12, defect 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from menukit import FileDialogDriver
from pytestqt.qtbot import QtBot
from uikit import click, isolate_settings, type_text

from kscert_gui.ui.dialogs.export import ExportDialog
from kscert_gui.ui.settings import open_settings
from kscert_gui.ui.widgets import file_dialogs
from kscert_gui.ui.widgets.file_field import FileField

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def test_a_browse_field_starts_in_the_last_folder_and_remembers_it(
    qtbot: QtBot, tmp_path: Path
) -> None:
    isolate_settings(tmp_path)
    first, second = tmp_path / "keys", tmp_path / "certs"
    first.mkdir()
    second.mkdir()
    (second / "server.cer").write_bytes(b"x")
    field = FileField(edit_name="e", button_name="b", accessible="Certificate file",
                      dialog_title="Certificate", name_filter="All files (*)")
    qtbot.addWidget(field)
    file_dialogs.remember(first / "server.pem")
    driver = FileDialogDriver(second / "server.cer")
    click(field.browse)
    driver.check()
    assert driver.directory == first  # not the program's own folder
    assert field.path() == second / "server.cer"
    field.edit.clear()
    again = FileDialogDriver(None)
    click(field.browse)
    again.check()
    assert again.directory == second


def test_a_folder_that_went_away_falls_back_to_home(tmp_path: Path) -> None:
    isolate_settings(tmp_path)
    gone = tmp_path / "gone"
    gone.mkdir()
    file_dialogs.remember(gone / "a.csv")
    gone.rmdir()
    assert file_dialogs.last_folder() == Path.home()


def test_export_starts_in_the_last_folder_and_keeps_no_secret(
    qtbot: QtBot, tmp_path: Path
) -> None:
    isolate_settings(tmp_path)
    folder = tmp_path / "exports"
    folder.mkdir()
    file_dialogs.remember(folder / "old.csv")
    dialog = ExportDialog(key_available=True, default_name="mdm.example.com")
    qtbot.addWidget(dialog)
    assert dialog.file.path() == folder / "mdm.example.com.pem"
    dialog.p12.setChecked(True)
    type_text(dialog.password, "s3cret-Passw0rd")
    type_text(dialog.password_again, "s3cret-Passw0rd")
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    driver = FileDialogDriver(elsewhere / "bundle.p12")
    click(dialog.file.browse)
    driver.check()
    assert driver.directory == folder
    settings = open_settings()
    values = {key: str(settings.value(key)) for key in settings.allKeys()}
    assert values == {file_dialogs.LAST_FOLDER_KEY: str(elsewhere)}
    for path in (tmp_path / "qsettings").rglob("*"):
        if path.is_file():
            assert b"s3cret" not in path.read_bytes()


def test_choosing_the_same_file_again_checks_it_anew(qtbot: QtBot, tmp_path: Path) -> None:
    """A person re-exports the file under the same name and picks it again with Browse:
    the Certificate window checks what the file holds now (it kept the old verdict)."""
    from menukit import wait_for
    from uikit import demo_env, make_certificate, open_window, write_pkcs12

    from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog

    window = open_window(qtbot, demo_env(tmp_path))
    dialog = OtherCertificateDialog(window.console, window)
    qtbot.addWidget(dialog)
    dialog.show()
    path = tmp_path / "server.p12"
    path.write_bytes(b"not a certificate yet")

    def browse_and_check() -> None:
        driver = FileDialogDriver(path)
        click(dialog.p12_file.browse)
        driver.check()
        wait_for(lambda: dialog.is_idle() and dialog.check is not None, 30_000)
        assert dialog.check is not None, dialog.status_label.text()

    browse_and_check()
    assert dialog.check is not None and dialog.check.certificate is None
    write_pkcs12(path, make_certificate("mdm.training.example"), None)
    browse_and_check()
    assert dialog.check is not None and dialog.check.certificate is not None, (
        dialog.status_label.text())
    assert "mdm.training.example" in dialog.status_label.text()


def test_the_export_window_shows_where_the_file_goes(qtbot: QtBot, tmp_path: Path) -> None:
    """The suggested path (the last folder used, the certificate's name) is shown in full:
    the window was so narrow that it read "aining.example.pem"."""
    import tempfile

    isolate_settings(tmp_path)
    with tempfile.TemporaryDirectory(prefix="exports-", dir="/tmp") as folder:
        file_dialogs.remember(Path(folder) / "old.pem")
        dialog = ExportDialog(key_available=True, default_name="mdm.training.example")
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        edit = dialog.file.edit
        assert edit.text() == f"{folder}/mdm.training.example.pem"
        needed = edit.fontMetrics().horizontalAdvance(edit.text())
        assert edit.width() >= needed + edit.height(), (edit.width(), needed)  # + clear button
