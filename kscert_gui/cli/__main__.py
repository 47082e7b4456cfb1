"""``python -m kscert_gui.cli ARGS``: the `kscert` command."""

from __future__ import annotations

from kscert_gui.cli.program import run

if __name__ == "__main__":
    run()
