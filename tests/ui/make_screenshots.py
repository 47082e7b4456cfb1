"""Write the README screenshots into docs/screenshots/ (run once by hand, not a test).

    Xvfb :55 -screen 0 1600x1200x24 &
    DISPLAY=:55 openbox &
    DISPLAY=:55 QT_QPA_PLATFORM=xcb .venv/bin/python tests/ui/make_screenshots.py

With a window manager the shots are taken from the screen (ImageMagick's ``import``) around
each window's frame, so its title bar shows; without ``import`` they fall back to
``QWidget.grab`` (the window's contents only).

Shows, on a fresh demo store: the Certificates page, the Reissue certificate window and the
Certificate window (with a PKCS #12 container built at run time and its findings listed);
then, after a reissue with a 30-day term and two simulated days, the Certificates page with
the reserve, the Distribution points section and the Managed devices list.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication, QWidget

sys.path.insert(0, str(Path(__file__).resolve().parent))

from uikit import isolate_settings, make_certificate, write_pkcs12

from kscert_gui.model.clock import system_clock
from kscert_gui.services import demo
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import ids
from kscert_gui.ui.console import Console
from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog
from kscert_gui.ui.dialogs.reissue import ReissueDialog
from kscert_gui.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"


def shoot(app: QApplication, widget: QWidget, name: str) -> None:
    """Save ``widget``'s window as it is on the screen, frame and title included."""
    import shutil
    import subprocess
    import time

    widget.raise_()
    widget.activateWindow()
    for _ in range(10):
        app.processEvents()
        time.sleep(0.05)
    frame = widget.frameGeometry()
    target = str(OUT / name)
    if shutil.which("import") and frame.width() > widget.width():
        subprocess.run(["import", "-window", "root", "-crop",
                        f"{frame.width()}x{frame.height()}+{frame.x()}+{frame.y()}",
                        "+repage", target], check=True, timeout=30)
    else:
        widget.grab().save(target)


def settle(app: QApplication, widget: QWidget) -> None:
    """Show ``widget`` and let it lay out and paint (a script, not widget code)."""
    widget.show()
    for _ in range(20):
        app.processEvents()


def refreshed(window: MainWindow) -> None:
    """Ask for a new snapshot and wait until the views have it."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    window.status_feed.sig_status.connect(loop.quit)
    if window.refresh() is not None or window.status_feed.task is not None:
        loop.exec()
    window.status_feed.sig_status.disconnect(loop.quit)


def main() -> int:
    app = QApplication.instance() or QApplication(["kscert-gui"])
    assert isinstance(app, QApplication)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kscert-shots-") as tmp:
        root = Path(tmp)
        isolate_settings(root)
        secrets = MemorySecretStore()
        demo.create_demo_store(root / "demo", secrets, system_clock)
        from kscert_gui.app import open_console

        console: Console = open_console(root / "demo", secrets, system_clock)
        window = MainWindow(console)
        window.status_feed.wait_for_first()
        settle(app, window)
        props = window.open_properties()
        props.resize(1080, 1000)
        settle(app, props)
        shoot(app, props, "certificates-page.png")

        reissue = ReissueDialog(console, props)
        reissue.change.setChecked(True)
        reissue.address.setText("mdm.example.com")
        reissue.term.days.setValue(21)
        settle(app, reissue)
        shoot(app, reissue, "reissue-certificate.png")
        reissue.close()

        now = console.server.status().at
        made = make_certificate("mdm.example.com", not_before=now - timedelta(days=1), days=380)
        p12 = write_pkcs12(root / "server.p12", made, b"demo")
        other = OtherCertificateDialog(console, props)
        other.p12_file.set_path(p12)
        other.p12_password.setText("demo")
        other.term.days.setValue(45)
        settle(app, other)
        while not other.is_idle():  # the live check runs after a short pause
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        settle(app, other)
        shoot(app, other, "certificate-window.png")
        other.close()
        props.close()

        # A reserve with 30 days, two simulated days later: delivery under way.
        console.server.reissue(ReissueRequest(address=None, term_days=30), confirmed=True)
        console.server.fleet.simulate_advance(timedelta(days=2))
        refreshed(window)
        props = window.open_properties()
        props.resize(1080, 1000)
        settle(app, props)
        shoot(app, props, "certificates-page-reserve.png")

        # Wide enough for every column of the list (at 1 080 pixels the scope column is
        # behind the horizontal scroll bar).
        props.resize(1200, 620)
        props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
        settle(app, props)
        shoot(app, props, "distribution-points.png")
        props.close()

        window.resize(1180, 760)
        window.tree.setCurrentItem(window.devices_item)
        settle(app, window)
        shoot(app, window, "managed-devices.png")
        window.close()
    for name in SHOTS:
        print(OUT / name)
    return 0


SHOTS = (
    "certificates-page.png", "reissue-certificate.png", "certificate-window.png",
    "certificates-page-reserve.png", "distribution-points.png", "managed-devices.png",
)


if __name__ == "__main__":
    sys.exit(main())
