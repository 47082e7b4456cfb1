"""The **Help** menu: the README's sections and **About** (DESIGN §8).

The README is opened with the desktop's program for it (``QDesktopServices.openUrl`` on
the file, with the section's anchor). A source checkout has it at the top of the tree; a
wheel installs it under ``<prefix>/share/doc/kscert_gui`` (pyproject data-files).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

README_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "README.md",
    Path(sys.prefix) / "share" / "doc" / "kscert_gui" / "README.md",
)


@dataclass(frozen=True)
class Section:
    """A Help menu entry: its label (with a mnemonic) and the README heading it opens."""

    label: str
    heading: str


#: The README's headings that a person of the console looks for (tests check that each
#: is a heading of the README).
SECTIONS = (
    Section("&Quick start", "Quick start"),
    Section("The &console", "The console"),
    Section("&Managed devices and the cut-over forecast",
            "Managed devices, the connection and the cut-over forecast"),
    Section("&Distribution points and connection gateways",
            "Distribution points and connection gateways"),
    Section("Decisions that &protect the devices", "Decisions that protect the devices"),
    Section("&Storage and secrets", "Storage and secrets"),
    Section("The command &line", "The command line"),
)


def anchor(heading: str) -> str:
    """The anchor a Markdown renderer gives ``heading`` (GitHub's rule): lower case,
    punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def readme_path() -> Path | None:
    """The README installed with this copy of the program, if any."""
    return next((p for p in README_CANDIDATES if p.is_file()), None)


def readme_url(heading: str | None = None) -> QUrl | None:
    """The README as a file URL, at the section ``heading``; None when not installed."""
    path = readme_path()
    if path is None:
        return None
    url = QUrl.fromLocalFile(str(path))
    if heading:
        url.setFragment(anchor(heading))
    return url


def open_url(url: QUrl) -> bool:
    """Open ``url`` with the desktop's program (tests replace this function)."""
    return QDesktopServices.openUrl(url)
