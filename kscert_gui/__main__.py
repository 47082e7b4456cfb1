"""``python -m kscert_gui``: the console (see :func:`kscert_gui.app.main`)."""

from __future__ import annotations

import sys

from kscert_gui.app import main

if __name__ == "__main__":
    sys.exit(main())
