"""The console's QSettings: window geometry and the last folder of the file dialogs.

Never a password, a passphrase, a key or any other secret (DESIGN §10).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "kscert_gui"
APPLICATION = "kscert_gui"


def open_settings() -> QSettings:
    """The user's settings of the console (tests point them at a temporary folder)."""
    return QSettings(ORGANIZATION, APPLICATION)
