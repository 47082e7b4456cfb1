"""DESIGN §10: when the keyring is unusable, the console asks for the store passphrase and
keeps it in memory only; cancelling leaves the store unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from uikit import ModalDriver, click, isolate_settings, make_env, open_certificates, wait_idle

from kscert_gui.app import build_main_window
from kscert_gui.model.errors import SecretStoreError
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.ui import messages
from kscert_gui.ui import passphrase as passphrase_module
from kscert_gui.ui.dialogs.reissue import ReissueDialog
from kscert_gui.ui.main_window import MainWindow

# The offscreen platform cannot raise windows or propagate size hints; that is not a bug.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


class UnusableKeyring:
    """Behaves like a keyring without a usable backend."""

    description = "OS keyring"

    def get_passphrase(self, store_id: str) -> bytes | None:
        raise SecretStoreError("No usable keyring backend was found.")

    def set_passphrase(self, store_id: str, passphrase: bytes) -> None:
        raise SecretStoreError("No usable keyring backend was found.")

    def delete_passphrase(self, store_id: str) -> None:
        raise SecretStoreError("No usable keyring backend was found.")


def reissue_through_page(qtbot: QtBot, window: MainWindow) -> None:
    _props, page = open_certificates(qtbot, window)

    def fill(dialog: ReissueDialog) -> None:
        dialog.term.set_term(60)
        click(dialog.ok_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    wait_idle(qtbot)


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "cancelled"])
def test_unusable_keyring_asks_for_passphrase(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: bool
) -> None:
    env = make_env(tmp_path, main_age_days=300)
    isolate_settings(tmp_path)
    window = build_main_window(env.home, secrets=UnusableKeyring(), clock=env.clock)
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    store_id = window.console.server.store.store_id
    real = env.secrets.get_passphrase(store_id)
    assert real is not None
    prompts: list[str] = []
    errors: list[BaseException] = []

    def ask(parent: QWidget | None, reason: str) -> bytes | None:
        prompts.append(reason)
        return real if typed else None

    monkeypatch.setattr(passphrase_module, "ask_passphrase", ask)
    monkeypatch.setattr(messages, "confirm", lambda *a: True)
    monkeypatch.setattr(messages, "show_error", lambda parent, err: errors.append(err))
    reissue_through_page(qtbot, window)

    assert len(prompts) == 1 and "keyring" in prompts[0]
    st = window.console.server.status()
    if typed:
        assert errors == []
        assert st.reserve is not None and st.reserve.term_days == 60
        assert isinstance(window.console.secrets, MemorySecretStore)
        assert window.console.passphrase_prompted
        # The kept passphrase opens the new key: a PKCS #12 export needs it.
        assert window.console.server.export("reserve", "p12", password=b"x", legacy=False)
    else:
        assert [type(e) for e in errors] == [SecretStoreError]
        assert st.reserve is None
